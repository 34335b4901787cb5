"""Crash safety: a writer killed with SIGKILL mid-loop never loses an acknowledged write and never
leaves a damaged file (WAL + synchronous=FULL from the one engine factory)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.store.db import open_database, quick_check, session_factory
from core.store.models import Program

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX-only")

# Each row is its own committed unit of work; its id is printed only after the commit returned.
WRITER = r"""
import sys
from core.store.db import make_engine, session_factory, unit_of_work
from core.store.models import Program
factory = session_factory(make_engine(sys.argv[1]))
n = 0
print("ready", flush=True)
while True:
    n += 1
    with unit_of_work(factory) as s:
        p = Program(name=f"row {n}", settings={"pad": "x" * (n % 700)})
        s.add(p)
        s.flush()
        row_id = p.id
    print(row_id, flush=True)
"""

ROUNDS = 20


def _kill_mid_loop(path: Path, rng: random.Random) -> list[str]:
    """Start the writer, let it run for a random moment, SIGKILL it; the acknowledged ids."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            bufsize=1)
    assert proc.stdout is not None
    acknowledged: list[str] = []
    assert proc.stdout.readline().strip() == "ready"
    target = rng.randint(1, 60)
    while len(acknowledged) < target:
        line = proc.stdout.readline()
        assert line, "the writer died on its own"
        acknowledged.append(line.strip())
    time.sleep(rng.uniform(0, 0.05))  # land somewhere inside a later transaction
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # Whatever it printed before dying was acknowledged too.
    acknowledged.extend(line.strip() for line in proc.stdout if line.strip())
    proc.stdout.close()
    return acknowledged


@pytest.mark.slow
def test_sigkill_mid_loop_loses_no_acknowledged_write(db_path: Path) -> None:
    rng = random.Random(20261127)
    every_ack: set[str] = set()
    for round_ in range(ROUNDS):
        every_ack.update(_kill_mid_loop(db_path, rng))
        assert quick_check(db_path) == [], f"round {round_}: damaged after SIGKILL"
        opened = open_database(db_path)  # opens clean (integrity check, no migration needed)
        try:
            with session_factory(opened.engine)() as s:
                stored = set(s.scalars(Program.__table__.select().with_only_columns(Program.id)))
        finally:
            opened.engine.dispose()
        missing = every_ack - stored
        assert not missing, f"round {round_}: {len(missing)} acknowledged write(s) lost"
    assert len(every_ack) >= ROUNDS
