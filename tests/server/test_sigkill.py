"""A client killed (SIGKILL) while applying a page resumes and converges after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core.store.db import open_database
from tests.server.harness import Replica, ServerUnderTest, build_program, normalise, replica_rows

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def test_killed_while_applying_a_page_converges_after_restart(server: ServerUnderTest, tmp_path: Path) -> None:
    user = f"coord_{uuid.uuid4().hex[:8]}"
    maker = Replica(tmp_path / "maker.sqlite", server, user, None)
    prog = build_program(maker.ctx)
    pid = prog["program"].id
    maker.program_id = pid
    server.add_user(user, "coordinator", pid)
    maker.sign_in()
    maker.sync()
    maker.close()

    path = tmp_path / "victim.sqlite"
    open_database(path).engine.dispose()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-W", "ignore", str(Path(__file__).with_name("sigkill_child.py")),
                              server.db_url, str(path), user, pid], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT, env=env)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "APPLYING", child.stderr.read() if child.stderr else line
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    # Exactly the first page survived: its rows and its cursor, nothing of the second page.
    victim = Replica(path, server, user, pid)
    try:
        assert victim.sync_client.cursor() == 20
        assert len(replica_rows(path)) == 20
        victim.sign_in()
        victim.sync()
        assert normalise(victim.rows()) == normalise(server.rows(pid))
    finally:
        victim.close()
