"""The resilience page's charts, drawn from plain data, and the process that draws them.

A chart is `(kind, data)`: `kind` one of `PAINTERS`, `data` a dict of numbers, numpy arrays and
strings (picklable, a few KB). `render_rgba` draws it with matplotlib's Agg backend and returns the
image; `save` writes it as PNG or PDF (by the file name).

Drawing one chart of the large program is 100-170 ms of CPU in matplotlib, much of it in long C
calls that hold the GIL: drawn on a thread of the desktop's process, the GUI thread waits for it
(the event-loop probe, docs/performance.md). `ChartProcess` draws them in one niced
process instead, kept for the life of the program (matplotlib is imported there once); the caller's
thread only waits on a pipe. This module imports no Qt: the process does not load PySide6.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from core.resilience.common import background_priority

FIGSIZE = (7, 4)  # inches
DPI = 90


def _nk(fig: Any, d: dict[str, Any]) -> None:
    import numpy as np

    ax = fig.add_subplot()
    data = np.ma.masked_invalid(d["day_k"])
    im = ax.imshow(np.clip(data, -1, 3), aspect="auto", cmap="RdYlGn", vmin=-1, vmax=3, interpolation="nearest")
    ax.set_yticks(range(len(d["services"])), labels=d["services"])
    ax.set_xlabel("day")
    ax.set_title("N+k per service and day (worst slot)")
    fig.colorbar(im, ax=ax, label="k")


def _util(fig: Any, d: dict[str, Any]) -> None:
    import numpy as np

    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(d["person_week"]), aspect="auto", cmap="YlOrRd", vmin=0, vmax=1.0,
                   interpolation="nearest")
    ax.set_xticks(range(len(d["week_starts"])), labels=[w[5:] for w in d["week_starts"]])
    ax.set_ylabel("person")
    ax.set_title("Utilization per person and week")
    fig.colorbar(im, ax=ax, label="u")


def _spc(fig: Any, d: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    hours, hit = d["hours"], d["hit"]
    x = range(len(hours))
    ax.plot(x, hours, marker="o")
    c, s = d["centre"], d["sigma"]
    for k, style in ((0, "-"), (1, ":"), (2, "--"), (3, "-.")):
        ax.axhline(c + k * s, linestyle=style, color="grey", linewidth=0.8)
        if k:
            ax.axhline(c - k * s, linestyle=style, color="grey", linewidth=0.8)
    ax.plot([t for t in x if hit[t]], hours[hit], "rx", markersize=10)
    ax.axhline(d["limit"], color="red", linewidth=1)
    ax.set_title(f"{d['name']}: weekly duty hours (P(week > {d['limit']:.0f} h) = {d['p_over_limit']:.1%})")


def _lorenz(fig: Any, d: dict[str, Any]) -> None:
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    for klass, gini, x, y in d["curves"]:
        ax.plot(x, y, label=f"{klass} (G = {gini:.2f})")
    ax.set_title(f"Lorenz curves: {d['metric']}")
    ax.legend(loc="upper left")


PAINTERS = {"nk": _nk, "util": _util, "spc": _spc, "lorenz": _lorenz}


def _figure(kind: str, data: dict[str, Any]) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    PAINTERS[kind](fig, data)
    return fig


def render_rgba(kind: str, data: dict[str, Any]) -> tuple[bytes, int, int]:
    """The chart as (RGBA8888 pixels, width, height)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(_figure(kind, data))
    canvas.draw()
    w, h = canvas.get_width_height()
    return bytes(canvas.buffer_rgba()), w, h


def save(kind: str, data: dict[str, Any], path: str) -> None:
    """Write the chart to `path`; the format follows its suffix (.png, .pdf, .svg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure(kind, data)
    FigureCanvasAgg(fig)
    fig.savefig(path)


def _start_process() -> None:
    """The chart process's initializer: a lower CPU priority, then matplotlib loaded."""
    background_priority()
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def _ready() -> bool:
    return True


class ChartProcess:
    """One niced process (forked by the fork server, else spawned) that draws charts, started on first use and reused.

    `submit(fn, *args)` returns a `Future`; if the process died (killed, out of memory), the next
    submit starts a new one. `shutdown()` ends it (a later submit starts it again).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._niced = False

    def _executor(self) -> ProcessPoolExecutor:
        from core.resilience.common import process_context

        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=process_context(),
                                             initializer=_start_process)
            self._niced = False
        return self._pool

    def _submit(self, fn: Any, *args: Any) -> Future[Any]:
        future = self._executor().submit(fn, *args)  # the first submit spawns the process
        if not self._niced:  # niced from its first import on (its initializer does so too)
            self._niced = True
            for pid in list(getattr(self._pool, "_processes", None) or ()):
                background_priority(pid)
        return future

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        with self._lock:
            try:
                return self._submit(fn, *args)
            except BrokenProcessPool:  # the process died (killed, out of memory): a new one
                assert self._pool is not None
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                return self._submit(fn, *args)

    def warm(self) -> None:
        """Start the process (and its matplotlib import) now, without waiting for it."""
        self.submit(_ready)

    def call(self, fn: Any, *args: Any, timeout: float | None = 120.0) -> Any:
        """`fn(*args)` in the process; waits for the answer (the GIL is free meanwhile)."""
        try:
            return self.submit(fn, *args).result(timeout)
        except BrokenProcessPool:  # it died while drawing this one: once more in a new process
            return self.submit(fn, *args).result(timeout)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


CHARTS = ChartProcess()  # the desktop's one chart process
