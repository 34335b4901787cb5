"""Column generation's pricing: the DP pricer against the one-person CP-SAT model, on Curtois & Qu instances.

    .venv/bin/python tests/perf/bench_pricing.py [--instances 8,9,12] [--cg-seconds 30]

Two measures per instance, both compared with CP-SAT in the same run (the machine is shared: the ratio is
the figure to read):

* pricing alone: every person priced once, on the same random prices (uniform 0-100, seed 0), by the DP
  (where ``pattern_dp`` gives one) and by CP-SAT, one thread; the least reduced costs must agree;
* column generation alone from a one-pass person-by-person start, two workers, for ``--cg-seconds``: the
  time to converge (or the LP and bound when it does not), with the DP and with CP-SAT pricing.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from bench_curtois import BENCH, instances  # the folder and the "1-3,8" parser (this folder is on the path)

from core.solver import colgen, curtois
from core.solver.roster import _Built, person_by_person


def pricing_alone(n: int) -> str:
    """The pricing-alone table row of Instance ``n``."""
    timed = pricing_times(n)
    if isinstance(timed, str):
        return f"| {n} | DEFECT: {timed} | | | |"
    people, everybody, dp_time, cp_time = timed
    ratio = cp_time / dp_time if dp_time else float("nan")
    return f"| {n} | {people} of {everybody} | {dp_time:.2f} s | {cp_time:.2f} s | {ratio:.1f} |"


def pricing_times(n: int) -> tuple[int, int, float, float] | str:
    """Every person of Instance ``n`` that the DP can price, priced once by the DP and by CP-SAT (one thread,
    the same random prices): (people priced, people, DP seconds, CP-SAT seconds), or what disagreed."""
    model = curtois.to_roster_model(curtois.read_instance(BENCH / f"Instance{n}.txt"))
    terms = [(c.day, c.shift) for c in model.cover if c.optimum is not None and (c.under_weight or c.over_weight)]
    index = {t: k for k, t in enumerate(terms)}
    rng = random.Random(0)
    duals = [rng.uniform(0, 100) for _ in terms]
    dp_time = cp_time = 0.0
    people = 0
    for pi in range(len(model.people)):
        dp = colgen._Pricer(model, pi, index, exact_dp=True)
        if dp.dp is None:
            continue
        cp = colgen._Pricer(model, pi, index, exact_dp=False)
        people += 1
        t = time.perf_counter()
        rc_dp, _exact, _cols = dp.price(duals, 0.0, None, 10.0, None)
        dp_time += time.perf_counter() - t
        t = time.perf_counter()
        rc_cp, exact, _cols = cp.price(duals, 0.0, None, 10.0, None)
        cp_time += time.perf_counter() - t
        if rc_dp is None or rc_cp is None or not exact or abs(rc_dp - rc_cp) > 0.001 * len(index) + 1e-3:
            return f"person {pi}: DP {rc_dp}, CP-SAT {rc_cp} (exact {exact})"
    return people, len(model.people), dp_time, cp_time


def cg_alone(n: int, seconds: float, exact_dp: bool) -> str:
    model = curtois.to_roster_model(curtois.read_instance(BENCH / f"Instance{n}.txt"))
    start = person_by_person(model, passes=1, deadline=time.monotonic() + 10, seed=0)
    if start is None:
        return "no start"
    start = _Built(model).canonical(start)
    t0 = time.monotonic()
    result = colgen.column_generation(model, start, deadline=t0 + seconds, workers=2, exact_dp=exact_dp)
    spent = time.monotonic() - t0
    lp = "-" if result.lp_value is None else f"{result.lp_value:.1f}"
    if result.converged:
        return f"converged in {spent:.1f} s, {result.iterations} rounds (LP {lp}, bound {result.lower_bound})"
    return f"not converged in {spent:.1f} s, {result.iterations} rounds: LP {lp}, bound {result.lower_bound}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="8,9,12")
    parser.add_argument("--cg-seconds", type=float, default=30.0)
    args = parser.parse_args()
    if not BENCH.is_dir():
        print(f"The benchmark folder {BENCH} does not exist.", file=sys.stderr)
        return 2
    chosen = instances(args.instances)
    print("| Instance | people priced by the DP | DP | CP-SAT | CP-SAT / DP |")
    print("|---|---|---|---|---|")
    for n in chosen:
        print(pricing_alone(n), flush=True)
    print()
    print(f"| Instance | column generation alone, {args.cg_seconds:g} s, DP pricing | CP-SAT pricing |")
    print("|---|---|---|")
    for n in chosen:
        print(f"| {n} | {cg_alone(n, args.cg_seconds, True)} | {cg_alone(n, args.cg_seconds, False)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
