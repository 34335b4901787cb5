"""Benchmark: demo generation (typical, large), database sizes, and the snapshot of a full year.

    .venv/bin/python tests/perf/bench_demo.py [--repeat N] [--sizes typical,large] [--baseline GIT_REF]
        [--reuse-db FOLDER]

Not collected by pytest (the file is named bench_*). Prints wall-clock and CPU time (process time for
the generation; the measuring thread's time for the snapshot): on a shared machine the CPU time is
the steadier figure. With --baseline (default HEAD), `build_snapshot` of that git commit
(core/snapshot.py, loaded as a separate module) is measured in the same run, interleaved call by
call with the current one; the ratio baseline / current is printed and the two snapshots are
checked to be identical (arrays and revision). --reuse-db keeps the generated databases in FOLDER
and skips generation when they are there. Copy the figures into docs/performance.md
("## Demo program and snapshot") with the machine and the load average printed at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from core.demo import create_demo
from core.snapshot import build_snapshot
from core.store.db import open_database


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def thread_timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.thread_time()
    value = fn()
    return value, time.perf_counter() - wall, time.thread_time() - cpu


def load_baseline(ref: str):  # type: ignore[no-untyped-def]
    """`build_snapshot` of git commit `ref` (core/snapshot.py as a module of its own)."""
    root = Path(__file__).resolve().parents[2]
    text = subprocess.run(["git", "show", f"{ref}:core/snapshot.py"], cwd=root, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="bench_demo_baseline_")) / "baseline_snapshot.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("baseline_snapshot", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_snapshot"] = mod
    spec.loader.exec_module(mod)
    return mod.build_snapshot


SNAPSHOT_ARRAYS = ("codes", "source", "locked", "call", "call_hours", "absent", "away", "pending_absence",
                   "req_min", "req_opt", "req_max", "holiday", "clinic_closed", "utc_offset")


def same_snapshot(a, b) -> bool:  # type: ignore[no-untyped-def]
    return (a.revision == b.revision
            and all(np.array_equal(getattr(a, n), getattr(b, n), equal_nan=n == "call_hours") for n in SNAPSHOT_ARRAYS)
            and repr((a.people, a.activities, a.credentials, a.call_pools, a.blocks, a.rules))
            == repr((b.people, b.activities, b.credentials, b.call_pools, b.blocks, b.rules)))


def file_size(path: Path) -> int:
    """The database file plus its WAL, after a checkpoint (what a user's disk holds)."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def bench(size: str, repeat: int, folder: Path, baseline, reuse: bool) -> None:  # type: ignore[no-untyped-def]
    gen_wall, gen_cpu = [], []
    path = folder / f"{size}-0.sqlite"
    meta = folder / f"{size}.meta"
    if reuse and path.exists() and meta.exists():
        summary = pickle.loads(meta.read_bytes())
        print(f"{size}: reusing {path}")
    else:
        for i in range(repeat):
            path = folder / f"{size}-{i}.sqlite"
            opened = open_database(path)
            engine = opened.engine
            summary, wall, cpu = timed(lambda: create_demo(engine, size=size, seed=0))  # noqa: B023
            opened.engine.dispose()
            gen_wall.append(wall)
            gen_cpu.append(cpu)
        meta.write_bytes(pickle.dumps(summary))
        print(f"{size}: {summary.residents} residents + {summary.faculty} faculty, "
              f"{summary.assignments} assignments, {summary.calls} calls")
        print(f"  generation: median wall {statistics.median(gen_wall):.2f} s, "
              f"median CPU {statistics.median(gen_cpu):.2f} s over {repeat} run(s)")
    print(f"  database size: {file_size(path) / 1e6:.1f} MB")
    builders = {"current": build_snapshot}
    if baseline is not None:
        builders["baseline"] = baseline
    walls: dict[str, list[float]] = {n: [] for n in builders}
    cpus: dict[str, list[float]] = {n: [] for n in builders}
    opened = open_database(path)
    try:
        with Session(opened.engine) as session:
            snaps = {n: b(session, summary.program_id, summary.start, summary.end)  # warm the page cache
                     for n, b in builders.items()}
            for _ in range(max(5, repeat)):
                for name, builder in builders.items():
                    snap, wall, cpu = thread_timed(
                        lambda: builder(session, summary.program_id, summary.start, summary.end)  # noqa: B023
                    )
                    walls[name].append(wall)
                    cpus[name].append(cpu)
    finally:
        opened.engine.dispose()
    for name in builders:
        print(f"  [{name}] snapshot of the full year ({snap.n_people} people x {snap.n_slots} slots): "
              f"median wall {1000 * statistics.median(walls[name]):.0f} ms, best {1000 * min(walls[name]):.0f} ms; "
              f"median CPU {1000 * statistics.median(cpus[name]):.0f} ms, best {1000 * min(cpus[name]):.0f} ms")
    if baseline is not None:
        print(f"  ratio baseline/current (medians): wall "
              f"{statistics.median(walls['baseline']) / statistics.median(walls['current']):.2f}x, CPU "
              f"{statistics.median(cpus['baseline']) / statistics.median(cpus['current']):.2f}x; "
              f"identical snapshots: {same_snapshot(snaps['baseline'], snaps['current'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="typical,large")
    parser.add_argument("--baseline", default="HEAD", help="git ref of core/snapshot.py to compare with ('' = none)")
    parser.add_argument("--reuse-db", default="", help="folder keeping the generated databases between runs")
    args = parser.parse_args()
    baseline = load_baseline(args.baseline) if args.baseline else None
    if args.reuse_db:
        folder = Path(args.reuse_db)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes.split(","):
            bench(size, args.repeat, folder, baseline, True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.sizes.split(","):
                bench(size, args.repeat, Path(tmp), baseline, False)
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()
