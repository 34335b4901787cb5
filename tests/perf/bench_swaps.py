"""Benchmark: ranking candidates for an open call night, and checking a week swap, on the large demo.

    .venv/bin/python tests/perf/bench_swaps.py [--db FILE] [--repeat N] [--reference]

Not collected by pytest. Builds the large demo (or reuses --db), posts an open in-house call night
and two week trades about two months into the year (it writes these requests into --db: give it a
copy of a shared database), then times `rank_candidates` and `check_swap`
(best and median of N, wall and CPU time of this thread). Issue #5 targets: ranking < 200 ms,
week-swap check < 50 ms. The clock is pinned to the start of the academic year so the shifts are
in the future and outside the freeze horizon.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from core.demo import create_demo
from core.services import swaps
from core.services.base import ServiceContext
from core.snapshot import CALL_IN_HOUSE, build_snapshot
from core.store import models as m
from core.store.db import open_database, session_factory


def timed(fn, repeat):  # type: ignore[no-untyped-def]
    walls, cpus, value = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.thread_time()
        value = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.thread_time() - c)
    return value, walls, cpus


def fmt(xs):  # type: ignore[no-untyped-def]
    return f"best {min(xs) * 1000:.1f} ms, median {statistics.median(xs) * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reference", action="store_true",
                    help="also time the reference path (snapshots of everybody), alternated, as a same-run ratio")
    args = ap.parse_args()
    path = args.db or Path(tempfile.mkdtemp()) / "large.sqlite"
    fresh = not path.exists()
    opened = open_database(path)
    if fresh:
        create_demo(opened.engine, size="large", year=2026, seed=1)
    ctx = ServiceContext(opened.engine, actor="bench", clock=lambda: dt.datetime(2026, 7, 1, 8, tzinfo=dt.UTC))
    with session_factory(opened.engine)() as s:
        program_id = s.scalars(select(m.Program.id)).one()
        night = dt.date(2026, 9, 10)
        snap = build_snapshot(s, program_id, night, night)
        holders = [snap.people[p].id for p in range(snap.n_people) if snap.call[p, 0] == CALL_IN_HOUSE
                   and snap.people[p].kind == "resident"]
        week = dt.date(2026, 9, 14)  # a Monday
        wsnap = build_snapshot(s, program_id, week, week + dt.timedelta(days=6))
        residents = [p for p in range(wsnap.n_people) if wsnap.people[p].kind == "resident"]
    open_call = swaps.request_swap(ctx, "open_shift", holders[0], [swaps.ShiftItem(night)]).value
    a, b = wsnap.people[residents[0]].id, wsnap.people[residents[1]].id
    give = swaps.week_shift(ctx, a, week)
    take = swaps.week_shift(ctx, b, week + dt.timedelta(days=7))
    trade = swaps.request_swap(ctx, "trade", a, give, take=take, counterpart_id=b).value
    # the same with an intern (supervision counts PGY-1s apart): the head counts of the slots change,
    # so the slot rules read everybody on those days too
    c = next(wsnap.people[p].id for p in residents if wsnap.people[p].pgy == 1)
    mixed = swaps.request_swap(ctx, "trade", a, give, take=swaps.week_shift(ctx, c, week + dt.timedelta(days=7)),
                               counterpart_id=c).value
    ranked, walls, cpus = timed(lambda: swaps.rank_candidates(ctx, open_call.id), args.repeat)
    print(f"rank candidates, open in-house call night (large demo, {len(ranked)} shown): wall {fmt(walls)}; cpu {fmt(cpus)}")
    check, walls, cpus = timed(lambda: swaps.check_swap(ctx, trade.id), args.repeat)
    print(f"check a week trade ({len(give)} + {len(take)} items, {len(check.problems)} problems): wall {fmt(walls)}; cpu {fmt(cpus)}")
    check, walls, cpus = timed(lambda: swaps.check_swap(ctx, mixed.id), args.repeat)
    print(f"check a week trade with a PGY-1 ({len(check.problems)} problems): wall {fmt(walls)}; cpu {fmt(cpus)}")
    if args.reference:
        # The same answers from snapshots of everybody (the reference path the tests compare with).
        def reference_check(swap_id: str, counterpart: str) -> swaps.SwapCheck:
            return ctx.read(lambda s: swaps.check_swap_in(s, ctx, swaps._swap(s, swap_id), counterpart, split=False))

        for label, fast, ref in (
            ("rank", lambda: swaps.rank_candidates(ctx, open_call.id), lambda: swaps.rank_candidates(ctx, open_call.id, split=False)),
            ("week check", lambda: swaps.check_swap(ctx, trade.id), lambda: reference_check(trade.id, b)),
            ("week check with a PGY-1", lambda: swaps.check_swap(ctx, mixed.id), lambda: reference_check(mixed.id, c)),
        ):
            f_cpu, r_cpu = [], []
            for _ in range(args.repeat):  # alternated, so both see the same load
                f_cpu += timed(fast, 1)[2]
                r_cpu += timed(ref, 1)[2]
            ratio = statistics.median(f_cpu) / statistics.median(r_cpu)
            print(f"{label}: cpu median {statistics.median(f_cpu) * 1000:.1f} ms vs reference path "
                  f"{statistics.median(r_cpu) * 1000:.1f} ms (ratio {ratio:.2f})")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
