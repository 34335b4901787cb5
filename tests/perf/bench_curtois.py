"""Curtois & Qu Instances 1-12 with the general roster solver: a markdown table for docs/performance.md.

    .venv/bin/python tests/perf/bench_curtois.py --time-limit 60 [--workers 2] [--instances 1-12] [--no-baseline]
        [--seeds 0-7] [--dive-free-max 10,20] [--stats] [--no-speed-probe]

``--seeds`` solves each instance once per seed (the solver's ``seed``; default 0 only) and ends with a
count per instance of the runs within 1 % and 5 % of the best known: one 60 s run is a sample. The
under-cover column is the evaluator's penalty for shifts short, the part of the objective that tells a miss's
cause (a shift short weighs 100 on Instances 8 and 12).
``--dive-free-max`` runs each seed once per value of ``core.solver.roster._DIVE_FREE_MAX`` (the most people
the column-generation dive leaves free; the code's value when not given), the values interleaved so that
each comparison is made in the same stretch of machine load.

Each roster is re-scored by the independent evaluator (core.solver.curtois.evaluate); a row with hard
violations or a score that differs from the solver's objective is marked as a defect.

The machine this runs on is usually shared, so absolute figures are noisy. Each instance is therefore
also solved, right after the solver under test and with the same time limit, by the plain baseline of
BEST_KNOWN.md: the same Boolean model solved by one CP-SAT search with 8 workers (greedy start as hint,
no neighbourhood search), i.e. ``solve(..., workers=8, lns=False)``. The "baseline" column is that
objective and its gap, measured in the same minute of load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = (REPO / ".." / "shared" / "benchdata" / "curtois").resolve()
sys.path.insert(0, str(REPO))

from core.solver import curtois, roster  # noqa: E402
from core.solver.roster import solve  # noqa: E402


def instances(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def speed_probe() -> str:
    """The machine's speed for this solver: Instance 12's 60 people priced once at fixed prices, one thread,
    by the DP and by one-person CP-SAT models (``bench_pricing.pricing_times``). The 60 s runs' phases end at
    fixed shares of the time, so a slower machine gives each phase less work: compare these seconds before
    comparing two runs' objectives. Session 8's machine: DP 0.54 s, CP-SAT 3.25 s; session 10's: 0.19, 1.56."""
    if not (BENCH / "Instance12.txt").is_file():  # bench_pricing reads the default folder
        return "skipped (no Instance12.txt)"
    from bench_pricing import pricing_times  # this folder is on the path; it imports this module

    timed = pricing_times(12)
    if isinstance(timed, str):
        return f"DEFECT: {timed}"
    _people, _everybody, dp_time, cp_time = timed
    return f"Instance 12 priced once on one thread: DP {dp_time:.2f} s, CP-SAT {cp_time:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--instances", default="1-12")
    parser.add_argument("--folder", type=Path, default=BENCH)
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain 8-worker CP-SAT column")
    parser.add_argument("--seeds", default="0", help="solver seeds, e.g. 0-7: each instance once per seed")
    parser.add_argument("--dive-free-max", default=str(roster._DIVE_FREE_MAX),
                        help="values of roster._DIVE_FREE_MAX to compare, e.g. 10,20")
    parser.add_argument("--no-speed-probe", action="store_true", help="skip the machine's speed probe")
    parser.add_argument("--stats", action="store_true", help="print each run's solver stats to stderr")
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"The benchmark folder {args.folder} does not exist.", file=sys.stderr)
        return 2
    from ortools import __version__ as ortools_version  # type: ignore[attr-defined]

    print(f"Curtois & Qu, {args.time_limit:g} s per instance, {args.workers} workers, "
          f"{os.cpu_count()} cores ({cpu_model()}), OR-Tools {ortools_version}, "
          f"{time.strftime('%Y-%m-%d')}, load average at start {os.getloadavg()[0]:.1f}", flush=True)
    if not args.no_speed_probe:
        print(f"Speed probe: {speed_probe()}", flush=True)
    print()
    seeds = instances(args.seeds)
    free_max = [int(v) for v in args.dive_free_max.split(",")]
    # (instance, free max) -> (best known, the objectives re-scored ok)
    found: dict[tuple[int, int], tuple[int, list[int]]] = {}
    print("| Instance | seed | dive free max | objective | best bound | BKS | gap to BKS | first feasible | status "
          "| evaluator | under-cover | load | baseline (plain CP-SAT, 8 workers) | baseline gap | load |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    runs = [(n, seed, f) for n in instances(args.instances) for seed in seeds for f in free_max]
    for n, seed, free in runs:
        roster._DIVE_FREE_MAX = free
        path = args.folder / f"Instance{n}.txt"
        inst = curtois.read_instance(path)
        result = solve(curtois.to_roster_model(inst), time_limit=args.time_limit, workers=args.workers, seed=seed)
        bks = curtois.best_known(path)
        if args.stats:
            print(f"stats {n} seed {seed}: {json.dumps(result.stats, default=str)}", file=sys.stderr, flush=True)
        load = os.getloadavg()[0]
        if args.no_baseline:
            base_cells = "- | - | -"
        else:
            base = solve(curtois.to_roster_model(inst), time_limit=args.time_limit, workers=8, lns=False)
            base_load = os.getloadavg()[0]
            if base.assignment is None or base.objective is None:
                base_cells = f"none ({base.status}) | - | {base_load:.1f}"
            else:
                bev = curtois.evaluate(inst, base.assignment)
                bok = "" if not bev.hard and bev.penalty == base.objective else " DEFECT"
                bgap = f"{100 * (base.objective - bks) / bks:.2f} %" if bks else "-"
                base_cells = (f"{base.objective}{bok} ({base.status}, {base.wall_time:.0f} s) | {bgap} "
                              f"| {base_load:.1f}")
        if result.assignment is None or result.objective is None:
            print(f"| {n} | {seed} | {free} | none | {result.best_bound} | {bks} | - | - | {result.status} | - | - "
                  f"| {load:.1f} | {base_cells} |", flush=True)
            continue
        ev = curtois.evaluate(inst, result.assignment)
        ok = "ok" if not ev.hard and ev.penalty == result.objective else f"DEFECT {ev.penalty} {dict(ev.counts)}"
        gap = f"{100 * (result.objective - bks) / bks:.2f} %" if bks else "-"
        if bks and ok == "ok":
            found.setdefault((n, free), (bks, []))[1].append(result.objective)
        first = f"{result.time_to_first_feasible:.2f} s" if result.time_to_first_feasible is not None else "-"
        print(f"| {n} | {seed} | {free} | {result.objective} | {result.best_bound} | {bks} | {gap} | {first} "
              f"| {result.status} ({result.wall_time:.1f} s) | {ok} | {ev.under_cover_penalty} | {load:.1f} "
              f"| {base_cells} |", flush=True)
    if len(seeds) > 1:
        print()
        for (n, free), (bks, values) in found.items():  # in integers: 4,242 is within 5 % of 4,040
            one = sum(100 * v <= 101 * bks for v in values)
            five = sum(100 * v <= 105 * bks for v in values)
            print(f"Instance {n}, dive free max {free}: within 1 % in {one} of {len(seeds)} runs, within 5 % in "
                  f"{five} of {len(seeds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
