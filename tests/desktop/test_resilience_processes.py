"""The resilience page's background processes (analyses of a large program, charts) are forked by
the niced fork server, never spawned by this process: a spawned child ran its interpreter start-up
at the GUI's priority until it was niced (docs/performance.md, the event-loop probe)."""

from __future__ import annotations

import _posixsubprocess
import os
import sys

import pytest

from core.resilience.common import process_context, start_process_launcher
from core.resilience.isolated import run_isolated

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the fork server is used where the platform has it")


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every fork-and-exec this process makes from now on (multiprocessing's spawn makes one)."""
    start_process_launcher()  # its one fork happens before the count
    made: list[object] = []
    plain = _posixsubprocess.fork_exec

    def counted(*args: object) -> object:
        made.append(args[0])
        return plain(*args)

    monkeypatch.setattr(_posixsubprocess, "fork_exec", counted)
    return made


def test_background_processes_use_the_fork_server() -> None:
    assert process_context().get_start_method() == "forkserver"


def test_an_isolated_analysis_is_started_without_forking_this_process(forks: list[object]) -> None:
    from resilience_helpers import synthetic_program  # noqa: PLC0415

    result = run_isolated("util", synthetic_program(6, 4, 7))
    assert result.person_week.shape[0] == 10
    assert forks == []


def test_the_chart_process_is_started_without_forking_this_process(forks: list[object]) -> None:
    from desktop.views.resilience_charts import ChartProcess

    charts = ChartProcess()
    try:
        parent = charts.call(os.getppid)
    finally:
        charts.shutdown()
    assert forks == []
    assert parent != os.getpid()  # the fork server's child, not ours
