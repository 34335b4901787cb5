"""Event-loop probe of the resilience page on the large program (not collected by pytest).

    .venv/bin/python tests/perf/bench_resilience_probe.py [--runs 1] [--idle 5] [--no-warm]
        [--charts process|thread|both] [--explain MS]

What it measures (RESILIENCE.md: "the GUI's event loop never stalls more than 50 ms while any of
these runs"): a 5 ms QTimer on the GUI thread of an offscreen ResilienceView; the worst gap between
two ticks (wall clock) and the GUI thread's own CPU time per tick, from `set_snapshot` of the large
synthetic program (150 residents + 60 faculty, 28 days; the same program as the slow probe test in
tests/desktop/test_resilience_view.py) until every analysis is ready and every chart is drawn.
Also the worst gap less the time the GUI thread spent in it runnable but waiting for a CPU (Linux
schedstat): the stall this process made (its own work, the GIL), without the other processes'.

Same-run baseline: the same timer for `--idle` seconds with nothing running, first; its worst gap
is what the machine itself adds (other processes on the CPU), to read the figure against.

As in `pytest tests/desktop/test_resilience_view.py -m slow -s` (where the typical-program tests
run first), one complete run on the typical program comes first (`--no-warm` skips it), so the
libraries the analyses import once per process (OR-Tools, matplotlib) are already loaded.

`--explain MS` lists each gap over MS ms with the GUI thread's own work in it, the time it was
runnable but waited for a CPU (the machine's other processes, or our children), and the workers and
garbage collections under way; the rest of a gap is time the GUI thread waited for the GIL.

`--start` chooses how the analysis processes are started: by the niced fork server
(`core.resilience.common.process_context`, the default) or spawned and niced after their start (the
way before); `both` measures the two in each run (the chart process, started once, stays as it is).

`--charts` chooses where the charts are drawn: in the chart process (`process`, the view's
default), on the view's chart thread in this process (`thread`, the way before), or `both`: each
run measures the process way and then the thread way, a same-run A/B on the same machine load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "resilience"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--no-warm", action="store_true")
    ap.add_argument("--explain", type=float, default=0.0, metavar="MS",
                    help="list every gap over MS ms with the workers and garbage collections under way")
    ap.add_argument("--charts", choices=("process", "thread", "both"), default="process",
                    help="where the charts are drawn (both: each run measures the two, process first)")
    ap.add_argument("--start", choices=("forkserver", "spawn", "both"), default="forkserver",
                    help="how the analysis processes are started (both: each run measures the two, fork server first)")
    args = ap.parse_args()
    ways = ("process", "thread") if args.charts == "both" else (args.charts,)
    starts = ("forkserver", "spawn") if args.start == "both" else (args.start,)

    import numpy as np
    from helpers import synthetic_program
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from desktop.app import guard_none_refcount

    guard_none_refcount()
    from core.resilience.common import CACHE
    from desktop.views.resilience import READY, RUN_ORDER, ResilienceView
    from desktop.workers import Worker

    # what ran when: (start, end, label) of each worker run and each garbage collection
    spans: list[tuple[float, float, str]] = []
    if args.explain:
        import gc
        import threading

        plain_run = Worker.run

        def traced_run(self: Worker) -> None:
            t = time.perf_counter()
            try:
                plain_run(self)
            finally:
                spans.append((t, time.perf_counter(), self.kind or "task"))

        Worker.run = traced_run  # type: ignore[method-assign]
        gc_start = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                gc_start[0] = time.perf_counter()
            else:
                spans.append((gc_start[0], time.perf_counter(),
                              f"gc{info['generation']} on {threading.current_thread().name}"))

        gc.callbacks.append(on_gc)

        # the suspects for a gap the GUI thread spends blocked on the GIL: starting a process (the
        # spawn pickles the snapshot and forks) and receiving an answer (unpickling it)
        import multiprocessing.connection
        import multiprocessing.process

        def traced(owner: type, name: str, label: str, least: float) -> None:
            plain = getattr(owner, name)

            def call(*a: object, **k: object) -> object:
                t, c = time.perf_counter(), time.thread_time()
                try:
                    return plain(*a, **k)
                finally:
                    t1 = time.perf_counter()
                    if t1 - t >= least:
                        spans.append((t, t1, f"{label} (its thread's CPU {(time.thread_time() - c) * 1000:.0f} ms)"))

            setattr(owner, name, call)

        traced(multiprocessing.process.BaseProcess, "start", "process start", 0.0)
        traced(multiprocessing.connection.Connection, "recv", "pipe recv", 0.002)

    def cpu_wait() -> float:
        """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat; 0 elsewhere).

        In a gap, the rest (gap - own work - this) is time the thread was not runnable: blocked on
        the GIL (or a lock), or asleep."""
        try:
            with open("/proc/thread-self/schedstat") as f:
                return int(f.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def charts_done(v: ResilienceView) -> bool:
        return all(p.chart is not None for p in (v.nk_chart, v.util_chart, v.spc_chart, v.equity_chart))

    def run(snap: object, measure: bool, way: str) -> tuple[float, float, float, int, float, float]:
        view = ResilienceView(chart_process=way == "process")
        view.show()
        wall: list[float] = []
        cpu: list[float] = []
        queued: list[float] = []  # the GUI thread's time runnable but off the CPU, per tick
        last = [time.perf_counter(), time.thread_time(), cpu_wait()]

        ends: list[float] = []

        def tick() -> None:
            now, c = time.perf_counter(), time.thread_time()
            ends.append(now)
            wall.append(now - last[0])
            cpu.append(c - last[1])
            last[0], last[1] = now, c
            q = cpu_wait()
            queued.append(q - last[2])
            last[2] = q

        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(tick)
        timer.start()
        t0 = time.perf_counter()
        view.set_snapshot(snap)
        while not (all(view.states[a] == READY for a in RUN_ORDER) and charts_done(view)):
            app.processEvents()
            time.sleep(0.001)
            if time.perf_counter() - t0 > 1200:
                raise SystemExit("the analyses did not finish within 20 minutes")
        timer.stop()
        took = time.perf_counter() - t0
        view.shutdown()
        view.workers.shutdown(20_000)
        CACHE.clear()
        if measure and args.explain:
            for end, gap, work, q in zip(ends, wall, cpu, queued, strict=True):
                if gap * 1000 > args.explain:
                    under = sorted({f"{lab} {(min(b, end) - max(a, end - gap)) * 1000:.0f} ms"
                                    for a, b, lab in spans if a < end and b > end - gap})
                    print(f"  gap {gap * 1000:.0f} ms at +{end - t0:.1f} s (GUI thread {work * 1000:.1f} ms, "
                          f"waiting for a CPU {q * 1000:.0f} ms): "
                          + (", ".join(under) or "no worker or collection under way"))
        w = np.array(wall)
        own = w - np.array(queued)  # what is left of each gap when its wait for a CPU is taken out
        return float(w.max()), float(np.percentile(w, 99)), float(max(cpu)), len(w), took, float(own.max())

    def idle(seconds: float) -> tuple[float, float]:
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(tick)
        timer.start()
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        g = np.array(gaps)
        return float(g.max()), float(np.percentile(g, 99))

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    if args.idle > 0:
        worst, p99 = idle(args.idle)
        print(f"baseline (nothing running, {args.idle:.0f} s): worst gap {worst * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    if not args.no_warm:
        for way in ways:
            run(synthetic_program(18, 13, 28), False, way)
    large = synthetic_program(150, 60, 28)
    import core.resilience.common as common

    with_server = common.process_context
    for i in range(args.runs):
        for way, start in [(w, st) for w in ways for st in starts]:
            common.process_context = (  # type: ignore[assignment]
                with_server if start == "forkserver" else lambda: __import__("multiprocessing").get_context("spawn"))
            worst, p99, cpu, ticks, took, own = run(large, True, way)
            print(f"large program, charts drawn in the {way}, analyses started by {start}, run {i + 1}: "
                  f"worst wall gap {worst * 1000:.0f} ms "
                  f"(target < 50 ms), p99 {p99 * 1000:.0f} ms, worst gap less its wait for a CPU "
                  f"{own * 1000:.0f} ms, "
                  f"worst GUI-thread work per tick {cpu * 1000:.1f} ms, {ticks} ticks over {took:.1f} s; "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
