"""`rsched roster-bench`: solve a Curtois & Qu benchmark instance with the general roster solver.

    rsched roster-bench FILE --time-limit S [--workers N] [--json] [--out ROSTER]

Reads the instance, maps it onto the general roster model, solves it, re-scores the roster with the
independent evaluator (0 hard violations and the same score as the solver, or exit status 1), and prints
the objective, the best bound, the time to the first feasible roster and the gap to the best-known value
(from BEST_KNOWN.md next to FILE, column "[A] BKS", else a built-in table). ``--out`` writes the roster:
one line per employee in file order, the id then one tab-separated entry per day (shift id or ``-``).
Exit status 0 on success, 1 when no verified roster was found, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from core.errors import ValidationError


def register(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "roster-bench",
        help="solve a Curtois & Qu nurse-rostering benchmark instance and score it",
        description="Solves a Curtois & Qu instance (schedulingbenchmarks.org) with the program's roster "
        "solver, re-scores the roster with an independent evaluator and reports the gap to the "
        "best-known value.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the instance file (InstanceN.txt)")
    p.add_argument("--time-limit", type=float, required=True, metavar="S", help="seconds to search")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="solver threads (default: the number of CPU cores)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.add_argument("--out", type=Path, metavar="ROSTER", help="write the roster to this file")
    p.set_defaults(func=cmd_roster_bench)
    return p


def cmd_roster_bench(args: argparse.Namespace) -> int:
    from core.solver import curtois
    from core.solver.roster import solve

    if args.time_limit is None or not args.time_limit > 0:
        raise ValidationError("The time limit must be a positive number of seconds.")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValidationError("The number of workers must be at least 1.")
    if args.out is not None and args.out.is_dir():
        raise ValidationError(f"{args.out} is a folder; --out needs a file name.")
    instance = curtois.read_instance(args.file)
    model = curtois.to_roster_model(instance)
    result = solve(model, time_limit=args.time_limit, workers=workers)
    bks = curtois.best_known(args.file)

    report: dict[str, Any] = {
        "instance": args.file.name,
        "status": result.status,
        "objective": result.objective,
        "best_bound": result.best_bound,
        "time_to_first_feasible": None if result.time_to_first_feasible is None
        else round(result.time_to_first_feasible, 3),
        "wall_time": round(result.wall_time, 3),
        "best_known": bks,
        "gap_to_best_known": None,
        "workers": workers,
        "time_limit": args.time_limit,
    }
    if result.assignment is None or result.objective is None:
        report["error"] = f"no feasible roster found ({result.status})"
        _print(report, args.json)
        print(f"No feasible roster was found for {args.file.name} within {args.time_limit:g} s.",
              file=sys.stderr)
        return 1
    evaluation = curtois.evaluate(instance, result.assignment)
    report["evaluator_penalty"] = evaluation.penalty
    report["hard_violations"] = len(evaluation.hard)
    if bks:
        report["gap_to_best_known"] = round((result.objective - bks) / bks, 6)
    if args.out is not None:
        try:
            args.out.write_text(curtois.format_roster(instance, result.assignment), encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"The roster could not be written to {args.out} ({exc.strerror}).") from None
    _print(report, args.json)
    if evaluation.hard:
        kinds = ", ".join(f"{k} x{n}" for k, n in sorted(evaluation.counts.items()))
        print(f"The roster breaks hard rules ({kinds}); this is a solver defect.", file=sys.stderr)
        return 1
    if evaluation.penalty != result.objective:
        print(f"The evaluator scores the roster {evaluation.penalty}, the solver {result.objective}; "
              "this is a solver defect.", file=sys.stderr)
        return 1
    return 0


def _print(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, sort_keys=True))
        return
    gap = report["gap_to_best_known"]
    first = report["time_to_first_feasible"]
    lines = [
        f"instance            {report['instance']}",
        f"status              {report['status']}",
        f"objective           {report['objective']}",
        f"best bound          {report['best_bound']}",
        f"first feasible      {'-' if first is None else f'{first:.2f} s'}",
        f"best known          {report['best_known'] if report['best_known'] is not None else '-'}",
        f"gap to best known   {'-' if gap is None else f'{100 * gap:.2f} %'}",
        f"wall time           {report['wall_time']:.2f} s ({report['workers']} workers)",
    ]
    if "evaluator_penalty" in report:
        lines.append(f"evaluator           {report['evaluator_penalty']} "
                     f"({report['hard_violations']} hard violations)")
    print("\n".join(lines))
