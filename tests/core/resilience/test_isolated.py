"""`run_isolated`: an analysis in a spawned process gives the in-process answer, relays progress,
reports the child's errors and stops on a cancel."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from resilience_helpers import synthetic_program

from core import resilience
from core.errors import Cancelled
from core.resilience.common import BACKGROUND_NICE, CACHE, background_priority
from core.resilience.isolated import run_isolated


def test_isolated_result_equals_in_process_result_and_progress_is_relayed() -> None:
    snap = synthetic_program(6, 4, 7)
    seen: list[float] = []
    got = run_isolated("util", snap, progress=lambda f, m="": seen.append(f))
    CACHE.clear()
    want = resilience.run("util", snap)
    assert np.array_equal(got.person_week, want.person_week, equal_nan=True)
    assert np.array_equal(got.person_level, want.person_level)
    assert seen and seen[-1] == 1.0


def test_isolated_error_is_raised_in_the_parent() -> None:
    with pytest.raises(KeyError):
        run_isolated("no-such-analysis", synthetic_program(2, 1, 7))


def test_isolated_cancel_terminates_the_child() -> None:
    snap = synthetic_program(150, 60, 28)
    started = threading.Event()
    pids_before = set(_children())

    def progress(f: float, m: str = "") -> None:
        started.set()

    with pytest.raises(Cancelled):
        run_isolated("n2", snap, progress=progress, cancelled=started.is_set)
    assert set(_children()) <= pids_before  # the child was terminated and reaped


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no process priorities on this platform")
def test_background_priority_nices_another_process_to_ten_once() -> None:
    """A parent nices the child it spawned (its start-up then runs niced); the child doing so again
    leaves it at 10, not 20."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        want = max(BACKGROUND_NICE, ours)  # a child inherits our niceness
        background_priority(child.pid)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == want
        background_priority(child.pid)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == want
        assert os.getpriority(os.PRIO_PROCESS, 0) == ours  # the caller keeps its own
    finally:
        child.kill()
        child.wait()


def _children() -> list[int]:
    import multiprocessing

    return [p.pid for p in multiprocessing.active_children() if p.pid is not None and p.pid != os.getpid()]
