"""The people the column-generation dive leaves free: how well the cover-first search covers over them.

    .venv/bin/python tests/perf/bench_dive_free.py [--instance 12] [--seeds 0-7] [--free 20,10] [--seconds 16]

For each seed and each number of people left free: ``roster.solve`` (60 s limit, 2 workers) runs up to
the end of its dive, which is stopped there; then the cover-first search of ``_people_cover`` runs alone
over the people the dive left free (the cell model with everybody else fixed, the under-cover alone as
objective, 2 workers) for ``--seconds``. Printed per run: the dive's roster (its under-cover with the
free people on their heaviest patterns), the shifts short after 4 s of the search (about its time in a
60 s run) and at its end, and the search's own bound. The values of ``--free`` run one after the other for
each seed, so each comparison is made in the same stretch of machine load. Uses the solver's private
parts: it is a probe for docs/performance.md, not an interface.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench_curtois import BENCH, instances  # the folder and the "1-3,8" parser (this folder is on the path)
from ortools.sat.python import cp_model

from core.solver import curtois, roster


class _Log(cp_model.CpSolverSolutionCallback):
    def __init__(self) -> None:
        super().__init__()
        self.start = time.monotonic()
        self.found: list[tuple[float, int]] = []

    def on_solution_callback(self) -> None:
        self.found.append((time.monotonic() - self.start, int(self.objective_value)))


def dive_roster(model: roster.RosterModel, seed: int, free_max: int) -> tuple[Any, set[int]]:
    """The roster and the people left free where the solve's dive ends."""
    caught: dict[str, Any] = {}
    original = roster._people_cover

    def catch(built: Any, shared: Any, rows: Any, free: Any, *args: Any, **kwargs: Any) -> None:
        caught.update(rows=rows, free=set(free))
        shared.halt()

    roster._people_cover = catch  # type: ignore[assignment]
    roster._DIVE_FREE_MAX = free_max
    try:
        roster.solve(model, time_limit=60.0, workers=2, seed=seed)
    finally:
        roster._people_cover = original  # type: ignore[assignment]
    if "rows" not in caught:
        raise SystemExit("The solve took no dive on this instance (too small, or the LP failed).")
    return caught["rows"], caught["free"]


def cover_first(model: roster.RosterModel, rows: Any, free: set[int], seconds: float) -> str:
    built = roster._Built(model)
    shared = roster._Shared(time.monotonic(), lambda *_a: None)
    values = roster._complete(built, shared, built.hint_pairs(rows), 5.0, {})
    if values is None:
        return "the dive's roster breaks a rule"
    unit = max((w for w, _vi in built.under_terms), default=1)
    cp = built.cp.clone()
    cells = {(pi, d) for pi in free for d in range(model.horizon)}
    roster._fix_cells(cp.proto, roster._cell_vars(built), values, cells)
    roster._set_hint(cp.proto, enumerate(values))
    roster._under_objective(built, cp)
    solver = roster._params(seconds, 2)
    solver.parameters.linearization_level = 2
    log = _Log()
    solver.solve(cp, log)
    at4 = min((o for t, o in log.found if t <= 4.0), default=None)
    end = min((o for _t, o in log.found), default=None)

    def short(v: int | None) -> str:
        return "-" if v is None else f"{v / unit:g}"

    return (f"{short(roster._under(built, values))} | {short(at4)} | {short(end)} | "
            f"{short(int(solver.best_objective_bound))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=int, default=12)
    parser.add_argument("--seeds", default="0-7")
    parser.add_argument("--free", default="20,10", help="values of roster._DIVE_FREE_MAX, e.g. 20,10")
    parser.add_argument("--seconds", type=float, default=16.0)
    args = parser.parse_args()
    model = curtois.to_roster_model(curtois.read_instance(BENCH / f"Instance{args.instance}.txt"))
    print(f"Instance {args.instance}, {len(model.people)} people; the cover-first search {args.seconds:g} s "
          f"(shifts short)")
    print()
    print("| seed | left free | dive's roster | after 4 s | at the end | search's bound |")
    print("|---|---|---|---|---|---|")
    for seed in instances(args.seeds):
        for free_max in (int(v) for v in args.free.split(",")):
            rows, free = dive_roster(model, seed, free_max)
            print(f"| {seed} | {len(free)} | {cover_first(model, rows, free, args.seconds)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
