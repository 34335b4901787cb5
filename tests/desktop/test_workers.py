from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThreadPool

from core.errors import Cancelled, ValidationError
from desktop.workers import Worker, WorkerManager


@pytest.fixture
def manager(qapp):
    analysis, writer = QThreadPool(), QThreadPool()
    writer.setMaxThreadCount(1)
    m = WorkerManager(analysis, writer)
    yield m
    m.shutdown()


def test_worker_reports_started_throttled_progress_and_result(qtbot, manager):
    seen: list[float] = []

    def task(*, progress, cancelled):
        for i in range(1001):
            progress(i / 1000, "step")
        return 42

    results = []
    manager.start("t", task, on_progress=lambda f, _m: seen.append(f), on_finished=results.append)
    qtbot.waitUntil(lambda: results == [42], timeout=5000)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert len(seen) <= 102  # steps of at least 1 %, plus the final 1.0
    assert all(b - a >= 0.01 - 1e-9 for a, b in zip(seen[:-1], seen[1:-1]))


def test_worker_failure_is_reported(qtbot, manager):
    def task(*, progress, cancelled):
        raise ValidationError("bad input")

    errors = []
    manager.start("t", task, on_failed=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 1, timeout=5000)
    assert str(errors[0]) == "bad input"


def test_cancelled_worker_emits_no_finished(qtbot, qapp):
    gate = threading.Event()
    results = []

    def task(*, progress, cancelled):
        gate.wait(5)
        if cancelled():
            raise Cancelled("stop")
        return "done"

    w = Worker(task)
    w.signals.finished.connect(results.append)
    w.signals.failed.connect(results.append)
    pool = QThreadPool()
    pool.start(w)
    w.cancel()
    gate.set()
    assert w.wait(5)
    pool.waitForDone(5000)
    qapp.processEvents()
    assert results == []


def test_result_after_cancel_is_dropped(qtbot, qapp):
    gate = threading.Event()
    results = []

    def task(*, progress, cancelled):
        gate.wait(5)
        return "ignores the cancel flag"

    w = Worker(task)
    w.signals.finished.connect(results.append)
    pool = QThreadPool()
    pool.start(w)
    w.cancel()
    gate.set()
    pool.waitForDone(5000)
    qapp.processEvents()
    assert results == []


def test_starting_a_task_cancels_the_previous_one_of_its_kind(qtbot, manager):
    gate = threading.Event()
    finished = []

    def slow(*, progress, cancelled):
        gate.wait(5)
        if cancelled():
            raise Cancelled("replaced")
        return "old"

    def fast(*, progress, cancelled):
        return "new"

    first = manager.start("block", slow, on_finished=finished.append)
    second = manager.start("block", fast, on_finished=finished.append)
    assert first.cancelled() and not second.cancelled()
    gate.set()
    qtbot.waitUntil(lambda: finished == ["new"], timeout=5000)
    first.wait(5)
    qtbot.wait(50)
    assert finished == ["new"]
    other = manager.start("other", fast, on_finished=finished.append)
    assert not second.cancelled() and not other.cancelled()


def test_shutdown_waits_for_writes_and_refuses_new_work(qtbot, manager):
    written = []

    def write(*, progress, cancelled):
        threading.Event().wait(0.2)
        written.append(True)
        return True

    manager.start("", write, writer=True)
    assert manager.shutdown()
    assert written == [True]
    with pytest.raises(RuntimeError):
        manager.start("x", write)


def test_worker_emits_started_then_finished(qtbot, qapp):
    order = []
    w = Worker(lambda *, progress, cancelled: order.append("ran") or "r")
    w.signals.started.connect(lambda: order.append("started"))
    w.signals.finished.connect(lambda r: order.append(f"finished:{r}"))
    pool = QThreadPool()
    pool.start(w)
    qtbot.waitUntil(lambda: "finished:r" in order, timeout=5000)
    assert order == ["ran", "started", "finished:r"] or order == ["started", "ran", "finished:r"]
    assert order.index("started") < order.index("finished:r")


def test_none_refcount_guard_survives_many_void_qt_calls(qapp):
    import sys

    from PySide6.QtGui import QImage, QPainter

    from desktop.app import guard_none_refcount

    guard_none_refcount()
    img = QImage(8, 8, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    before = sys.getrefcount(None)
    for _ in range(50_000):  # more than None's natural count: aborted the process before the guard
        p.save()
        p.restore()
    p.end()
    assert sys.getrefcount(None) > 0 and before > 100_000
