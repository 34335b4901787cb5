"""`rsched generate` and Ctrl-C: the first one stops the search and keeps the best schedule found so
far as a draft; during the model build it stops the build and says that no schedule was found. The
interrupt is a real SIGINT sent to this process at a chosen point of the run (a hook), so each test
knows where the run was when it came."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import core.services.drafts as drafts
import core.solver.residency as residency
from core.cli import main
from core.store import models as m

CLOCK = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def program_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from core.services.base import ServiceContext
    from core.store.db import open_database
    from desktop.sample import create_sample_program

    path = tmp_path_factory.mktemp("generate-cli") / "program.sqlite"
    opened = open_database(path)
    try:
        create_sample_program(ServiceContext(opened.engine, actor="fixture", clock=lambda: CLOCK),
                              around=dt.date(2026, 7, 1), residents_per_pgy=2, faculty=3, blocks_around=0)
    finally:
        opened.engine.dispose()
    return path


@pytest.fixture
def program(program_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "program.sqlite"
    dest.write_bytes(program_template.read_bytes())
    return dest


@pytest.fixture
def seen_cancel(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Callable[[], bool]]]:
    """The `cancelled` function the CLI hands to generate_draft, once it was called."""
    real = drafts.generate_draft
    out: list[Callable[[], bool]] = []

    def spy(*args: Any, **kw: Any) -> Any:
        out.append(kw["cancelled"])
        return real(*args, **kw)

    monkeypatch.setattr(drafts, "generate_draft", spy)
    yield out


def _interrupt_and_wait(cancelled: Callable[[], bool]) -> None:
    """Send Ctrl-C to this process and wait until the CLI has turned it into a cancel."""
    assert threading.current_thread() is not threading.main_thread()
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.monotonic() + 30
    while not cancelled() and time.monotonic() < deadline:
        time.sleep(0.01)


def _drafts(path: Path) -> int:
    from core.store.db import open_database

    opened = open_database(path, create=False)
    try:
        with opened.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(m.Draft)).scalar() or 0)
    finally:
        opened.engine.dispose()


def test_ctrl_c_during_the_model_build_stops_it_and_says_no_schedule_was_found(
        program: Path, seen_cancel: list[Callable[[], bool]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real_slot_rules = residency._Built._build_slot_rules
    parts: list[str] = []

    def slot_rules(self: Any) -> None:
        parts.append("slot rules")
        _interrupt_and_wait(seen_cancel[0])
        real_slot_rules(self)

    def objective(self: Any) -> None:
        parts.append("objective")

    monkeypatch.setattr(residency._Built, "_build_slot_rules", slot_rules)
    monkeypatch.setattr(residency._Built, "_build_objective", objective)
    rc = main(["generate", "--db", str(program), "--block", "1", "--year", "2026", "--time-limit", "30"])
    err = capsys.readouterr().err
    assert parts == ["slot rules"]  # the build stopped before its objective
    assert rc == 2
    assert "Stopping; keeping the best schedule found so far" in err
    assert "No schedule was found for this block before it was cancelled." in err
    assert _drafts(program) == 0


def test_ctrl_c_during_the_search_keeps_the_best_schedule_as_a_draft(
        program: Path, seen_cancel: list[Callable[[], bool]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real_report = residency._Collector._report
    reported: list[int] = []

    def report(self: Any) -> None:
        real_report(self)
        if not reported:  # the first schedule: Ctrl-C now
            reported.append(self.objective)
            _interrupt_and_wait(seen_cancel[0])

    monkeypatch.setattr(residency._Collector, "_report", report)
    rc = main(["generate", "--db", str(program), "--block", "1", "--year", "2026", "--time-limit", "60", "--json"])
    out = capsys.readouterr()
    assert rc == 0
    assert "Stopping; keeping the best schedule found so far" in out.err
    import json

    report_json = json.loads(out.out)
    assert report_json["cancelled"] is True and report_json["objective"] is not None
    assert report_json["objective"] <= reported[0]
    assert _drafts(program) == 1
