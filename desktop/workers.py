"""The one background worker: a QRunnable with a separate signals object, progress and cancel.

A task is a plain function `fn(*, progress, cancelled) -> result` (the shape of core's compute
functions, see core/progress.py). The worker runs it on a pool thread and reports through
`WorkerSignals` (queued to the GUI thread):

- `started` once, when the function begins;
- `progress(fraction, message)` throttled to steps of at least 1 %;
- exactly one of `finished(result)` or `failed(exception)`, unless the task was cancelled: a
  cancelled task emits neither (a `Cancelled` raised by the function is swallowed, and a result
  that arrives after cancel() is dropped).

`WorkerManager` runs at most one task per kind ("starting a task cancels the previous one of that
kind") and waits for its pools on shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from core.errors import Cancelled
from core.progress import Throttled

log = logging.getLogger(__name__)

Task = Callable[..., Any]


class WorkerSignals(QObject):
    """Signals of one worker. A QRunnable is not a QObject, hence this separate object."""

    started = Signal()
    progress = Signal(float, str)
    finished = Signal(object)
    failed = Signal(object)


class Worker(QRunnable):
    """Runs `fn(*args, progress=..., cancelled=..., **kwargs)` on a pool thread."""

    def __init__(self, fn: Task, *args: Any, kind: str = "", **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the manager keeps a reference until it is done
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.kind = kind
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.on_writer = False

    # ----------------------------------------------------------------------------- control
    def cancel(self) -> None:
        """Ask the task to stop; no finished/failed signal is emitted after this."""
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    # ------------------------------------------------------------------------------- run
    def _progress(self, fraction: float, message: str = "") -> None:
        if not self._cancel.is_set():
            self.signals.progress.emit(float(fraction), message)

    def run(self) -> None:
        try:
            if self._cancel.is_set():
                return
            self.signals.started.emit()
            try:
                result = self.fn(*self.args, progress=Throttled(self._progress, 0.01),
                                 cancelled=self._cancel.is_set, **self.kwargs)
            except Cancelled:
                return
            except Exception as exc:  # noqa: BLE001 - reported to the GUI, which words it
                if not self._cancel.is_set():
                    log.debug("worker %s failed", self.kind, exc_info=True)
                    self.signals.failed.emit(exc)
                return
            if not self._cancel.is_set():
                self.signals.finished.emit(result)
        finally:
            self._done.set()


class WorkerManager(QObject):
    """Starts workers on the right pool; one running task per kind; waits for all on shutdown."""

    def __init__(self, analysis_pool: QThreadPool, writer_pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.analysis_pool = analysis_pool
        self.writer_pool = writer_pool
        self._by_kind: dict[str, Worker] = {}
        self._all: set[Worker] = set()
        self._closed = False

    def start(
        self,
        kind: str,
        fn: Task,
        *args: Any,
        on_finished: Callable[[Any], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        writer: bool = False,
        **kwargs: Any,
    ) -> Worker:
        """Run `fn` in the background; a previous task of the same `kind` is cancelled first.

        `writer=True` puts it on the one-thread writer pool (database writes, in order). Writes
        are never cancelled by a newer write: give each its own kind (or "" for no replacement).
        """
        if self._closed:
            raise RuntimeError("The program is closing; no new background work starts.")
        if kind and kind in self._by_kind:
            self._by_kind.pop(kind).cancel()
        worker = Worker(fn, *args, kind=kind, **kwargs)
        worker.on_writer = writer
        if on_finished is not None:
            worker.signals.finished.connect(on_finished)
        if on_failed is not None:
            worker.signals.failed.connect(on_failed)
        if on_progress is not None:
            worker.signals.progress.connect(on_progress)
        worker.signals.finished.connect(lambda _r, w=worker: self._forget(w))
        worker.signals.failed.connect(lambda _e, w=worker: self._forget(w))
        if kind:
            self._by_kind[kind] = worker
        self._all.add(worker)
        (self.writer_pool if writer else self.analysis_pool).start(worker)
        return worker

    def _forget(self, worker: Worker) -> None:
        self._all.discard(worker)
        if self._by_kind.get(worker.kind) is worker:
            del self._by_kind[worker.kind]

    def running(self, kind: str) -> Worker | None:
        w = self._by_kind.get(kind)
        return w if w is not None and not w.done else None

    def cancel(self, kind: str) -> None:
        w = self._by_kind.pop(kind, None)
        if w is not None:
            w.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel analyses, let queued writes finish, and wait for both pools."""
        self._closed = True
        for w in list(self._all):
            # Writes are not cancelled on shutdown: an edit the user made must be saved.
            if not w.on_writer:
                w.cancel()
        ok_w = self.writer_pool.waitForDone(timeout_ms)
        ok_a = self.analysis_pool.waitForDone(timeout_ms)
        self._all = {w for w in self._all if not w.done}
        return ok_w and ok_a
