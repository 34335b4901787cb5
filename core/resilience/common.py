"""What every analysis shares: status levels, the result cache, JSON conversion, progress helpers.

Results are cached by (analysis, snapshot revision, parameters): the same schedule asked the same
question gets the same frozen object back without recomputing. An edit produces a snapshot with a
new revision, so its results are computed afresh; the desktop marks older results stale.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from core.progress import CancelledFn, ProgressFn, check

T = TypeVar("T")

LEVELS = ("GREEN", "YELLOW", "ORANGE", "RED", "BLACK")
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}
# UTIL bands (RESILIENCE.md): GREEN < 0.70 <= YELLOW < 0.80 <= ORANGE < 0.90 <= RED < 0.95 <= BLACK.
UTIL_BOUNDS = (0.70, 0.80, 0.90, 0.95)


class Level(enum.IntEnum):
    GREEN = 0
    YELLOW = 1
    ORANGE = 2
    RED = 3
    BLACK = 4


def util_level(u: float) -> Level:
    """The UTIL band of a utilization (NaN counts as GREEN: nothing to carry)."""
    if not np.isfinite(u):
        return Level.GREEN
    return Level(int(np.searchsorted(np.array(UTIL_BOUNDS), u, side="right")))


def util_levels(u: Any) -> Any:
    """Vectorized `util_level`: an int8 array of Level values."""
    arr = np.nan_to_num(np.asarray(u, dtype=np.float64), nan=0.0)
    return np.searchsorted(np.array(UTIL_BOUNDS), arr, side="right").astype(np.int8)


def frozen_array(a: Any, dtype: Any = None) -> Any:
    """A read-only copy of `a` (results are shared across threads)."""
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def to_jsonable(obj: Any) -> Any:
    """Plain JSON data from results: dataclasses, numpy arrays and scalars, dates, enums."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            return [to_jsonable(x) for x in obj.tolist()] if obj.ndim else to_jsonable(float(obj))
        return obj.tolist()
    if isinstance(obj, enum.Enum):
        return obj.name
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, list) and obj and isinstance(obj[0], list | float):
        return [to_jsonable(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(x) for x in obj]
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    return obj


BACKGROUND_NICE = 10


def background_priority(pid: int = 0) -> None:
    """Lower a process's CPU priority to nice 10 (this process by default; one that is already
    nicer keeps its niceness): the spawned analysis, N-2, repair and chart processes yield the CPU
    to the program that started them (on a 2-core machine a desktop's GUI thread otherwise waits
    for a time slice behind them).

    On Linux this sets the niceness of one thread, the one whose id is `pid` (a process's main
    thread): call it before the process starts threads, which inherit it. A parent calls it with
    the pid of a child it has just spawned, so the child's start-up (its imports, a second or so
    of CPU) already runs niced; the child calls it again itself (other platforms)."""
    import os

    try:
        if os.getpriority(os.PRIO_PROCESS, pid) < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, pid, BACKGROUND_NICE)
    except (AttributeError, OSError):  # no priorities on this platform, or not allowed: run as is
        pass


def process_context() -> Any:
    """The multiprocessing context a desktop's background processes are started with: "forkserver"
    where the platform has it (Linux, macOS; not in a frozen bundle), else "spawn".

    Why: a spawned child runs its interpreter start-up at the parent's priority until the parent
    nices it, which `Process.start` allows only after the child has read its pickle (0.4-0.8 s
    after the exec, measured): that CPU competed with a GUI thread at nice 0. The fork server is
    niced once (`start_process_launcher`) and the processes it forks are niced from their first
    instruction; the parent only writes to a socket and a pipe. (Checked and ruled out as a GIL
    holder here: the vfork of a spawn; CPython 3.11.7 releases the GIL around it, another
    thread's 0.5 ms ticks run during it.)"""
    import multiprocessing
    import sys

    if not getattr(sys, "frozen", False) and "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def start_process_launcher() -> None:
    """Start the fork server of `process_context` now (once per process; a no-op with "spawn"),
    niced, so its one fork of this process happens at a quiet moment rather than under a running
    analysis, and the processes it forks run niced from their first instruction."""
    if process_context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    forkserver.ensure_running()
    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if pid:
        background_priority(pid)


# ------------------------------------------------------------------------------------------ cache
class ResultCache:
    """A small thread-safe LRU of results keyed by (analysis id, revision, parameters)."""

    def __init__(self, size: int = 96) -> None:
        self._size = size
        self._data: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


CACHE = ResultCache()


_IN_FLIGHT: dict[tuple[Any, ...], threading.Event] = {}
_IN_FLIGHT_LOCK = threading.Lock()


def cached(analysis: str, revision: str, params: Any, compute: Callable[[], T], progress: ProgressFn,
           cancelled: CancelledFn | None = None) -> T:
    """Return the cached result of `analysis` for (revision, params), computing it once.

    Single flight: when another thread is computing the same key (FALLBACK asks for N-1 and N-2
    while their own workers compute them), wait for its result instead of computing it a second
    time, polling `cancelled` every 0.05 s; if that computation fails or is cancelled, compute here.
    """
    key = (analysis, revision, params)
    while True:
        hit = CACHE.get(key)
        if hit is not None:
            progress(1.0, "cached")
            return hit  # type: ignore[no-any-return]
        with _IN_FLIGHT_LOCK:
            running = _IN_FLIGHT.get(key)
            if running is None:
                mine = _IN_FLIGHT[key] = threading.Event()
        if running is None:
            break
        while not running.wait(0.05):
            if cancelled is not None:
                check(cancelled)
    try:
        value = compute()
        CACHE.put(key, value)
        return value
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.pop(key, None)
        mine.set()


class Steps:
    """Progress over a known number of steps with a cancel check at each one."""

    def __init__(self, total: int, progress: ProgressFn, cancelled: CancelledFn, lo: float = 0.0,
                 hi: float = 1.0) -> None:
        self.total = max(total, 1)
        self.progress, self.cancelled, self.lo, self.hi = progress, cancelled, lo, hi
        self.done = 0

    def step(self, message: str = "", n: int = 1) -> None:
        check(self.cancelled)
        self.done += n
        self.progress(self.lo + (self.hi - self.lo) * min(self.done / self.total, 1.0), message)


def person_names(snapshot: Any) -> tuple[str, ...]:
    return tuple(p.name for p in snapshot.people)


def activity_codes(snapshot: Any) -> tuple[str, ...]:
    return tuple(a.code for a in snapshot.activities)
