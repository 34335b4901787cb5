"""Benchmark: full-year xlsx export and import of the demo's typical program (issue #8).

    .venv/bin/python tests/perf/bench_io.py [--size typical|large] [--repeat 3]

Prints the median wall time of each step; figures go into docs/performance.md by hand
("## Import and export"). Targets: export < 3 s, import < 5 s (typical program).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.demo import create_demo  # noqa: E402
from core.io.excel import export_year  # noqa: E402
from core.io.grid import load_year  # noqa: E402
from core.io.ics import export_feed  # noqa: E402
from core.io.staging import apply_import, stage_workbook  # noqa: E402
from core.services.base import ServiceContext  # noqa: E402
from core.store.db import open_database  # noqa: E402


class Span(float):
    """A wall time in seconds that also carries the CPU time this process spent (`.cpu`)."""

    cpu: float

    def __add__(self, other: float) -> Span:  # type: ignore[override]
        out = Span(float(self) + float(other))
        out.cpu = self.cpu + getattr(other, "cpu", 0.0)
        return out


def timed(fn):  # type: ignore[no-untyped-def]
    t, c = time.perf_counter(), time.process_time()
    value = fn()
    wall = Span(time.perf_counter() - t)
    wall.cpu = time.process_time() - c
    return wall, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="typical", choices=("typical", "large"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-io-"))
    try:
        src = work / "src.sqlite"
        opened = open_database(src)
        create_demo(opened.engine, size=args.size)
        with opened.engine.connect() as con:
            con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        ctx = ServiceContext(opened.engine, actor="bench")
        results: dict[str, list[float]] = {}
        payload = b""
        for _ in range(args.repeat):
            t_load, data = timed(lambda: load_year(ctx))
            t_write, payload = timed(lambda: export_year(data))  # noqa: B023
            results.setdefault("export: read the year", []).append(t_load)
            results.setdefault("export: write the workbook", []).append(t_write)
            results.setdefault("export: total", []).append(t_load + t_write)
        cells = sum(1 for _ in data.assignments)
        for _ in range(args.repeat):
            t_stage, staged = timed(lambda: stage_workbook(ctx, payload, file_name="year.xlsx"))
            t_apply, _r = timed(lambda: apply_import(ctx, staged, reason="bench"))  # noqa: B023
            assert staged.change_count == 0 and not staged.unmatched
            results.setdefault("re-import unchanged year: stage + preview", []).append(t_stage)
            results.setdefault("re-import unchanged year: total", []).append(t_stage + t_apply)
        for i in range(args.repeat):
            dst = work / f"dst{i}.sqlite"
            ctx.engine.dispose()
            shutil.copyfile(src, dst)
            dopen = open_database(dst)
            with dopen.engine.begin() as con:
                con.exec_driver_sql("DELETE FROM assignment")
                con.exec_driver_sql("DELETE FROM call_assignment")
            dctx = ServiceContext(dopen.engine, actor="bench")
            t_stage, staged = timed(lambda: stage_workbook(dctx, payload, file_name="year.xlsx"))  # noqa: B023
            t_apply, _r = timed(lambda: apply_import(dctx, staged, reason="bench"))  # noqa: B023
            results.setdefault("import year into empty schedule: stage", []).append(t_stage)
            results.setdefault("import year into empty schedule: apply", []).append(t_apply)
            results.setdefault("import year into empty schedule: total", []).append(t_stage + t_apply)
            dopen.engine.dispose()
        person = data.people[0].id
        for _ in range(args.repeat):
            t, _r = timed(lambda: export_feed(ctx, data, None, person_id=person))
            results.setdefault("ICS feed, one person, full year", []).append(t)
        print(f"size={args.size} assignments={cells} calls={len(data.calls)} xlsx={len(payload) // 1024} KB "
              f"repeat={args.repeat}")
        for name, values in results.items():
            cpu_text = f"cpu {statistics.median(v.cpu for v in values):6.2f} s"  # type: ignore[attr-defined]
            print(f"  {name:48s} wall median {statistics.median(values):6.2f} s  {cpu_text}   (wall min "
                  f"{min(values):.2f}, max {max(values):.2f})")
        ctx.engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
