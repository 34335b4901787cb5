"""Benchmark: demo generation (typical, large), database sizes, and the snapshot of a full year.

    .venv/bin/python tests/perf/bench_demo.py [--repeat N] [--sizes typical,large]

Not collected by pytest (the file is named bench_*). Prints wall-clock and CPU (process) time: on a
shared machine the CPU time is the steadier figure. Copy the figures into docs/performance.md
("## Demo program and snapshot") with the machine and the load average printed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session

from core.demo import create_demo
from core.snapshot import build_snapshot
from core.store.db import open_database


def timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def file_size(path: Path) -> int:
    """The database file plus its WAL, after a checkpoint (what a user's disk holds)."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def bench(size: str, repeat: int, folder: Path) -> None:
    gen_wall, gen_cpu = [], []
    path = folder / f"{size}-0.sqlite"
    for i in range(repeat):
        path = folder / f"{size}-{i}.sqlite"
        opened = open_database(path)
        engine = opened.engine
        summary, wall, cpu = timed(lambda: create_demo(engine, size=size, seed=0))  # noqa: B023
        opened.engine.dispose()
        gen_wall.append(wall)
        gen_cpu.append(cpu)
    print(f"{size}: {summary.residents} residents + {summary.faculty} faculty, "
          f"{summary.assignments} assignments, {summary.calls} calls")
    print(f"  generation: median wall {statistics.median(gen_wall):.2f} s, "
          f"median CPU {statistics.median(gen_cpu):.2f} s over {repeat} run(s)")
    print(f"  database size: {file_size(path) / 1e6:.1f} MB")
    opened = open_database(path)
    try:
        with Session(opened.engine) as session:
            build_snapshot(session, summary.program_id, summary.start, summary.end)  # warm the page cache
            walls, cpus = [], []
            for _ in range(max(5, repeat)):
                snap, wall, cpu = timed(
                    lambda: build_snapshot(session, summary.program_id, summary.start, summary.end)
                )
                walls.append(wall)
                cpus.append(cpu)
    finally:
        opened.engine.dispose()
    print(f"  snapshot of the full year ({snap.n_people} people x {snap.n_slots} slots): "
          f"median wall {1000 * statistics.median(walls):.0f} ms, best {1000 * min(walls):.0f} ms; "
          f"median CPU {1000 * statistics.median(cpus):.0f} ms, best {1000 * min(cpus):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="typical,large")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            bench(size, args.repeat, Path(tmp))
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; cpus: {os.cpu_count()}")


if __name__ == "__main__":
    main()
