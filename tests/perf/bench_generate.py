"""Benchmark of the residency generator (core.solver.residency) on the demo programs.

    .venv/bin/python tests/perf/bench_generate.py [--size typical|large] [--block N] [--time-limit S]
        [--db DEMO.sqlite]

Builds the demo program (AY 2026) in a temporary database, loads block N (snapshot with a 28-day margin,
rotation targets, year-to-date call counts) and generates it with 2 solver threads. `--db` uses a copy of
a demo database made before (`rsched demo --size ... --db FILE`) instead of building one. Prints the time to
the first schedule, the objective and bound over time (when the gap first falls under 1 %), the final
status, the compliance engine's counts on the result, whether every preload/manual cell is unchanged,
and the cancel latency of a second run stopped 1 s after its first schedule.

    .venv/bin/python tests/perf/bench_generate.py --size large --db COPY --cancel-during-build
    .venv/bin/python tests/perf/bench_generate.py --size large --db COPY --cancel-at 0.5,2,4,6

`--cancel-during-build` builds the model once alone (wall and CPU time, and the longest stretch
between two of the build's cancel checks), then runs `generate` and cancels it at 10, 30, 50, 70 and
90 % of that build time; `--cancel-at` cancels at the given seconds after `generate` was called
instead. Each line gives the time from the cancel to `generate` returning (end to end: the poll,
the stop, the compliance check of a schedule found), where the run was, and what it returned.

    .venv/bin/python tests/perf/bench_generate.py --db DEMO.sqlite --cli-sigint 4,8,20

runs `rsched generate --time-limit 60` on a fresh copy of the database for each number and sends it
SIGINT (Ctrl-C) that many seconds after its start; prints how long the process took to end after it
(the stop, the draft saved or "no schedule found", the exit) and the last line it printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import select


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="typical", choices=("typical", "large"))
    ap.add_argument("--block", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--db", type=Path, default=None, help="an existing demo database (copied, not changed)")
    ap.add_argument("--cancel-during-build", action="store_true",
                    help="only measure cancels during the model build (see the module's docstring)")
    ap.add_argument("--cancel-at", default="", metavar="S,S,...",
                    help="only measure cancels this many seconds after generate() starts")
    ap.add_argument("--cli-sigint", default="", metavar="S,S,...",
                    help="only measure Ctrl-C on `rsched generate` this many seconds after its start")
    args = ap.parse_args()
    if args.cli_sigint:
        cli_sigint(args)
        return

    from core.demo import create_demo
    from core.services.base import ServiceContext
    from core.snapshot import SOURCE_MANUAL, SOURCE_PRELOAD
    from core.solver.residency import generate, load_problem
    from core.store.db import open_database
    from core.store.models import Program

    model = subprocess.run(["sh", "-c", "lscpu | grep 'Model name'"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {model}; load average {open('/proc/loadavg').read().split()[:3]}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.db is not None:
            shutil.copyfile(args.db, Path(tmp) / "demo.sqlite")
            opened = open_database(Path(tmp) / "demo.sqlite", create=False)
            ctx = ServiceContext(opened.engine)
            program_id = ctx.read(lambda s: s.scalars(select(Program.id)).one())
            print(f"demo database {args.db}")
        else:
            opened = open_database(Path(tmp) / "demo.sqlite")
            t = time.monotonic()
            summary = create_demo(opened.engine, size=args.size)
            print(f"demo {args.size}: {summary.residents} residents + {summary.faculty} faculty "
                  f"({time.monotonic() - t:.1f} s to build)")
            ctx = ServiceContext(opened.engine)
            program_id = summary.program_id
        t = time.monotonic()
        problem = ctx.read(lambda s: load_problem(s, program_id, args.block, year=2026))
        print(f"load block {args.block}: {time.monotonic() - t:.2f} s ({problem.label})")
        if args.cancel_during_build or args.cancel_at:
            cancel_latencies(problem, args)
            opened.engine.dispose()
            return
        trace: list[tuple[float, int, int]] = []
        r = generate(problem, time_limit=args.time_limit, workers=2,
                     progress=lambda o, b, e: trace.append((e, o, b)))
        within = next((e for e, o, b in trace if o > 0 and (o - b) / o <= 0.01), None)
        snap = problem.snapshot
        hand = (snap.source == SOURCE_PRELOAD) | (snap.source == SOURCE_MANUAL)
        kept = bool((r.codes[hand] == snap.codes[hand]).all()) if r.codes is not None else None
        first = "none" if r.time_to_first is None else f"{r.time_to_first:.2f} s"
        print(f"first schedule: {first} (model build {r.stats['build_seconds']} s, "
              f"{r.stats['cells']} free cells, {r.stats['calls']} call variables)")
        gap = "-" if r.gap is None else f"{100 * r.gap:.2f} %"
        print(f"final: {r.status} objective {r.objective} bound {r.bound} gap {gap} after {r.wall_time:.1f} s; "
              f"within 1 % at: {within}; phases {r.stats.get('phases')}, start {r.stats.get('start')!r}")
        print(f"terms: {r.terms}; engine: {r.counts_by_severity()}; hand cells unchanged: {kept}; "
              f"unfilled {len(r.unfilled)}; changes {len(r.changes)} cells + {len(r.call_changes)} calls")
        print(f"solver status: {r.stats['solver_status']}")
        if not r.found:
            opened.engine.dispose()
            return
        for e, o, b in trace[:: max(1, len(trace) // 12)]:
            print(f"  {e:7.2f} s  objective {o:>12}  bound {b:>10}")

        flag = threading.Event()
        asked: list[float] = []

        def cancelled() -> bool:
            if flag.is_set() and not asked:
                time.sleep(0)
            return bool(asked)

        def progress(o: int, b: int, e: float) -> None:
            if not flag.is_set():
                flag.set()
                threading.Timer(1.0, lambda: asked.append(time.monotonic())).start()

        r2 = generate(problem, time_limit=120, workers=2, progress=progress, cancelled=cancelled)
        latency = r2.stats["cancel_latency"]
        print(f"cancel: cancelled={r2.cancelled} found={r2.found} objective {r2.objective}; solver stopped "
              f"{'-' if latency is None else f'{latency:.3f}'} s after the cancel was seen")
        print(f"load average at the end {open('/proc/loadavg').read().split()[:3]}")
        opened.engine.dispose()


def cli_sigint(args: argparse.Namespace) -> None:
    """Ctrl-C on `rsched generate` at chosen moments: how long the process takes to end after it."""
    import signal
    import sys

    if args.db is None:
        raise SystemExit("--cli-sigint needs --db (a demo database, copied for each run)")
    print(f"load average {open('/proc/loadavg').read().split()[:3]}")
    rsched = str(Path(sys.executable).with_name("rsched"))
    for at in (float(x) for x in args.cli_sigint.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "demo.sqlite"
            shutil.copyfile(args.db, db)
            t0 = time.monotonic()
            proc = subprocess.Popen(
                [rsched, "generate", "--db", str(db), "--block", str(args.block), "--year", "2026",
                 "--time-limit", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell's & ignores it
            lines: list[tuple[float, str]] = []

            def read(proc: subprocess.Popen[str] = proc, lines: list[tuple[float, str]] = lines) -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append((time.monotonic(), line.rstrip()))

            reader = threading.Thread(target=read)
            reader.start()
            time.sleep(at)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait()
            ended = time.monotonic()
            reader.join()
            after = [(t, line) for t, line in lines if t >= sent and line and not line.startswith("Stopping")]
            said = f"{after[0][0] - sent:.3f} s later: {after[0][1][:90]!r}" if after else "nothing"
            print(f"  SIGINT {sent - t0:.2f} s after the start: first line {said}; the process ended "
                  f"{ended - sent:.3f} s after the SIGINT, exit {proc.returncode}")
    print(f"load average at the end {open('/proc/loadavg').read().split()[:3]}")


def cancel_latencies(problem: object, args: argparse.Namespace) -> None:
    """Cancel `generate` at chosen moments; print how long each cancel took to return."""
    import core.solver.residency as residency

    real_check = residency._Built.check
    checks: list[float] = []

    def timed_check(self: object) -> None:
        checks.append(time.monotonic())
        real_check(self)  # type: ignore[arg-type]

    residency._Built.check = timed_check  # type: ignore[method-assign]
    t, c = time.monotonic(), time.process_time()
    residency._Built(problem, residency.Weights())  # type: ignore[arg-type]
    build_wall, build_cpu = time.monotonic() - t, time.process_time() - c
    residency._Built.check = real_check  # type: ignore[method-assign]
    gaps = [b - a for a, b in zip([t, *checks], [*checks, t + build_wall], strict=True)]
    print(f"model build alone: {build_wall:.2f} s wall, {build_cpu:.2f} s CPU; {len(checks)} cancel checks, "
          f"longest stretch between two {1000 * max(gaps):.0f} ms (median {1000 * sorted(gaps)[len(gaps) // 2]:.1f} ms)")
    if args.cancel_at:
        moments = [float(x) for x in args.cancel_at.split(",")]
    else:
        moments = [round(f * build_wall, 2) for f in (0.1, 0.3, 0.5, 0.7, 0.9)]
    worst = 0.0
    for at in moments:
        t0 = time.monotonic()
        asked = t0 + at
        said_yes: list[float] = []

        def cancelled(asked: float = asked, said_yes: list[float] = said_yes) -> bool:
            if time.monotonic() < asked:
                return False
            if not said_yes:
                said_yes.append(time.monotonic())
            return True

        r = residency.generate(problem, time_limit=120, workers=2, cancelled=cancelled)  # type: ignore[arg-type]
        back = time.monotonic()
        latency = back - max(asked, t0)
        polled = f"{said_yes[0] - asked:.3f} s" if said_yes else "-"
        worst = max(worst, latency)
        where = r.stats.get("stopped_in") or "/".join(r.stats.get("phases") or ["before the search"])
        got = f"schedule, objective {r.objective}" if r.found else "no schedule found yet"
        stopped = r.stats.get("cancel_latency")
        stopped_s = "-" if stopped is None else f"{stopped:.3f} s"
        print(f"  cancel at {at:5.2f} s: returned {latency:.3f} s later (first polled after {polled}, "
              f"search stopped {stopped_s} after that) "
              f"(stopped in: {where}; {got}; cancelled={r.cancelled})")
    print(f"longest cancel-to-return: {worst:.3f} s; load average {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
