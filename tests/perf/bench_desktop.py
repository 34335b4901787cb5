"""Desktop benchmarks (not collected by pytest; figures go into docs/performance.md "## Desktop").

    .venv/bin/python tests/perf/bench_desktop.py [--typical FILE] [--large FILE] [--runs N]

Measures, on the real main window (Qt offscreen platform unless a display is set):
1. cold start to an interactive window: a fresh process from launch until the first block of the
   program is loaded, shown in the grid and the event loop has returned (typical and large demo);
2. repaint of the large program's block grid (a synchronous repaint of the grid's viewport);
3. one cell edit end to end: ProgramSession.assign -> assign_slots on the writer -> check_change ->
   patched snapshot -> dataChanged -> repaint of the grid;
4. the longest stall of the GUI event loop while the large program loads (a 2 ms timer records the
   largest gap between its ticks, from start() until the block is on screen).

Without --typical/--large the demos are built into a temporary folder first (core.demo).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC)  # block 3 of the demo year (Aug 26 - Sep 22)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    return env


# ------------------------------------------------------------------------------------ child: start
def child_start(db: Path, launched: float) -> None:
    """Runs in a fresh process: start the window on `db`, report seconds since `launched`."""
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    from desktop.app import AppContext
    from desktop.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="rsched-bench-"))
    ctx = AppContext.create(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), clock=lambda: NOW,
                            default_db=tmp / "none.sqlite")
    window = MainWindow(ctx)
    window.show()
    shown = time.time() - launched
    cpu_shown = time.thread_time()  # CPU of the GUI thread (this thread) so far
    marks: dict[str, float] = {}

    def interactive() -> None:
        marks["interactive"] = time.time() - launched
        marks["gui_cpu"] = time.thread_time() - cpu_shown
        marks["cpu"] = time.process_time()
        app.quit()

    def loaded(_b: object) -> None:
        window.schedule_page().view.viewport().repaint()
        marks["loaded"] = time.time() - launched
        QTimer.singleShot(0, interactive)

    window.session.block_loaded.connect(loaded)
    window.start(db)
    app.exec()
    print(f"RESULT shown={shown:.3f} loaded={marks['loaded']:.3f} interactive={marks['interactive']:.3f} "
          f"gui_cpu={marks['gui_cpu']:.3f} cpu={marks['cpu']:.3f}")
    window.close()
    ctx.shutdown()


def compile_sources() -> None:
    """Byte-compile the program's own packages, as installing it does (pip compiles a wheel's
    modules; the PyInstaller bundle holds bytecode). Without this, a checkout run with
    PYTHONDONTWRITEBYTECODE=1 (as this machine's shells are) compiles core/ and desktop/ from
    source at every start, which is not what a coordinator's program does (--from-source keeps it)."""
    import compileall

    for package in ("core", "desktop", "resources"):
        if (ROOT / package).is_dir():
            compileall.compile_dir(str(ROOT / package), quiet=1)


def cold_start(db: Path, runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        copy = Path(tempfile.mkdtemp(prefix="rsched-bench-")) / "program.sqlite"
        shutil.copy(db, copy)
        launched = time.time()
        run = subprocess.run([sys.executable, __file__, "--child-start", str(copy), str(launched)],
                             capture_output=True, text=True, env=_env(), timeout=300)
        line = next(x for x in run.stdout.splitlines() if x.startswith("RESULT"))
        out.append({k: float(v) for k, v in (p.split("=") for p in line.split()[1:])})
    return out


# ------------------------------------------------------------------------------ in process: large
def in_process(db: Path, edits: int, repaints: int) -> dict[str, object]:
    os.environ.update(_env())
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    copy = Path(tempfile.mkdtemp(prefix="rsched-bench-")) / "program.sqlite"
    shutil.copy(db, copy)
    # Warm the imports as a running program would have them (the stall probe measures loading).
    import core.rules.engine  # noqa: F401
    import core.services.schedule  # noqa: F401
    from desktop.app import AppContext
    from desktop.main_window import MainWindow

    ctx = AppContext.create(settings=QSettings(str(copy.with_suffix(".ini")), QSettings.Format.IniFormat),
                            clock=lambda: NOW, default_db=copy.with_name("none.sqlite"))
    window = MainWindow(ctx)
    window.resize(1400, 860)
    window.show()
    app.processEvents()

    # 4. stall probe during the load
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(tick)
    timer.start()
    t0 = time.perf_counter()
    c0 = time.thread_time()
    profiler = None
    if os.environ.get("BENCH_PROFILE_LOAD"):
        import cProfile

        profiler = cProfile.Profile()  # profiles this (the GUI) thread only
        profiler.enable()
    window.start(copy)
    while window.session.block is None:
        app.processEvents()
        time.sleep(0.0005)
        if time.perf_counter() - t0 > 300:
            raise RuntimeError("the program did not load")
    page = window.schedule_page()
    page.view.viewport().repaint()
    app.processEvents()
    load_s = time.perf_counter() - t0
    load_gui_cpu = time.thread_time() - c0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE_LOAD"])
    timer.stop()
    stall_ms = max(gaps) if gaps else 0.0

    # 2. repaint of the grid
    vp = page.view.viewport()
    times = []
    cpu_times = []
    for _ in range(repaints):
        t, c = time.perf_counter(), time.thread_time()
        vp.repaint()
        times.append((time.perf_counter() - t) * 1000)
        cpu_times.append((time.thread_time() - c) * 1000)

    # 3. one cell edit end to end
    session = window.session
    block = session.block
    snap = block.snapshot
    res = [p for p in snap.people if p.kind == "resident"]
    codes = [a for a in snap.activities if a.code in ("LEC", "ADM", "C", "W")]
    edit_ms = []
    edit_cpu = []
    for i in range(edits):
        person = res[i % len(res)]
        day = NOW.date() + dt.timedelta(days=8 + i % 10)  # past the 7-day freeze horizon, same block
        act = codes[i % len(codes)]
        done: list[bool] = []

        def mark(*_a: object, d: list[bool] = done) -> None:
            d.append(True)

        session.slots_changed.connect(mark)  # connected after the grid's own slot: fires after it
        t, c = time.perf_counter(), time.thread_time()
        session.assign([(person.id, day, 1, act.id)])
        while not done:
            app.processEvents()
            if not done:
                time.sleep(0.0002)  # wait for the writer without burning the GUI thread's CPU
        vp.repaint()
        edit_ms.append((time.perf_counter() - t) * 1000)
        edit_cpu.append((time.thread_time() - c) * 1000)
        session.slots_changed.disconnect(mark)
    people = snap.n_people
    window.close()
    ctx.shutdown()
    return {"load_s": load_s, "load_gui_cpu": load_gui_cpu, "stall_ms": stall_ms, "repaint_ms": times,
            "repaint_cpu_ms": cpu_times, "edit_ms": edit_ms, "edit_cpu_ms": edit_cpu, "people": people,
            "columns": 2 * block.n_days, "gaps_over_50": sorted((g for g in gaps if g > 50), reverse=True)[:8]}


def _demo(size: str, folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from core.demo import create_demo
    from core.store.db import open_database

    path = folder / f"demo-{size}.sqlite"
    opened = open_database(path)
    create_demo(opened.engine, size=size, year=2026)
    opened.engine.dispose()
    return path


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "--child-start":
        child_start(Path(sys.argv[2]), float(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description="Desktop benchmarks")
    parser.add_argument("--typical", type=Path)
    parser.add_argument("--large", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-cold", action="store_true", help="only the in-process measures (2-4)")
    parser.add_argument("--only-cold", action="store_true", help="only the cold starts (1)")
    parser.add_argument("--from-source", action="store_true",
                        help="cold starts without byte-compiling core/ and desktop/ first (a checkout with "
                        "PYTHONDONTWRITEBYTECODE=1 then compiles them at every start)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rsched-bench-demos-"))
    typical = args.typical or _demo("typical", folder)
    large = args.large or _demo("large", folder)

    if not args.skip_cold:
        if args.from_source:
            print("cold starts from source: core/ and desktop/ are not byte-compiled beforehand")
        else:
            compile_sources()
            print("cold starts with core/ and desktop/ byte-compiled, as an installed program has them")
    for name, db in (() if args.skip_cold else (("typical", typical), ("large", large))):
        rs = cold_start(db, args.runs)
        inter = [r["interactive"] for r in rs]
        gcpu = [r["gui_cpu"] for r in rs]
        print(f"cold start {name}: window shown median {statistics.median(r['shown'] for r in rs):.2f} s; "
              f"interactive with the block median {statistics.median(inter):.2f} s "
              f"(min {min(inter):.2f}, max {max(inter):.2f}, {len(rs)} runs); GUI-thread CPU from shown to "
              f"interactive median {statistics.median(gcpu):.3f} s (min {min(gcpu):.3f}); process CPU median "
              f"{statistics.median(r['cpu'] for r in rs):.2f} s")
    if args.only_cold:
        return 0
    r = in_process(large, edits=15, repaints=30)
    rep, rep_cpu = r["repaint_ms"], r["repaint_cpu_ms"]
    ed, ed_cpu = r["edit_ms"], r["edit_cpu_ms"]
    assert isinstance(rep, list) and isinstance(ed, list) and isinstance(rep_cpu, list) and isinstance(ed_cpu, list)
    print(f"large grid ({r['people']} people + 2 call rows x {r['columns']} columns, 1400x860 window): "
          f"repaint median {statistics.median(rep):.1f} ms (min {min(rep):.1f}, max {max(rep):.1f}); GUI CPU "
          f"median {statistics.median(rep_cpu):.1f} ms (min {min(rep_cpu):.1f}) ({len(rep)} repaints)")
    print(f"one cell edit end to end (large): median {statistics.median(ed):.1f} ms (min {min(ed):.1f}, "
          f"max {max(ed):.1f}); GUI CPU median {statistics.median(ed_cpu):.1f} ms (min {min(ed_cpu):.1f}) "
          f"({len(ed)} edits)")
    print(f"load of the large program in process: {r['load_s']:.2f} s, GUI-thread CPU {r['load_gui_cpu']:.3f} s; "
          f"longest event-loop stall {r['stall_ms']:.1f} ms (gaps over 50 ms: "
          f"{', '.join(f'{g:.0f}' for g in r['gaps_over_50']) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
