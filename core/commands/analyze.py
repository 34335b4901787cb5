"""`rsched analyze`: resilience analyses of one rotation block (RESILIENCE.md).

    rsched analyze --db FILE --block N --what util,nk,n1,n2 [--year 2026] [--program NAME|ID] [--json]

Prints a short summary per analysis, or every result as JSON (`--json`). The analyses read a
snapshot of the block; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.commands import add_db_argument, open_existing
from core.errors import NotFoundError, ValidationError

DEFAULT_WHAT = "defense,util,nk,n1,spc,equity,hubs"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="resilience analyses of a block (N-1/N-2 refill, utilization, N+k, fairness, ...)",
        description="Runs resilience analyses on one rotation block. Analyses: "
        "util, nk, n1, n2, fallback, recovery, shed, spc, equity, defense, lechatelier, homeostasis, "
        "burnout, erlang, hubs, or 'all'.",
    )
    add_db_argument(p)
    p.add_argument("--block", type=int, required=True, metavar="N", help="the block number")
    p.add_argument("--year", type=int, metavar="YYYY", help="academic year (default: the current or latest)")
    p.add_argument("--program", metavar="NAME|ID", help="the program, when the file holds several")
    p.add_argument("--what", default=DEFAULT_WHAT, metavar="LIST", help=f"comma-separated (default {DEFAULT_WHAT})")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_analyze)


def _analyses(text: str) -> list[str]:
    from core.resilience import ANALYSES

    wanted = [w.strip().lower() for w in text.split(",") if w.strip()]
    if wanted == ["all"]:
        return list(ANALYSES)
    unknown = [w for w in wanted if w not in ANALYSES]
    if unknown:
        raise ValidationError(f"Unknown analysis {', '.join(unknown)}; choose from {', '.join(ANALYSES)}.",
                              field="what")
    return wanted


def block_snapshot(session: Any, program: str | None, block: int, year: int | None) -> Any:
    """The snapshot of block `block` of the academic year `year` (default: current or latest)."""
    from sqlalchemy import select

    from core.calendar import academic_year_of
    from core.commands.validate import _program
    from core.snapshot import build_snapshot
    from core.store import models as m

    prog = _program(session, program)
    years = {y.start_year: y for y in session.scalars(
        select(m.AcademicYear).where(m.AcademicYear.program_id == prog.id, m.AcademicYear.deleted.is_(False)))}
    if not years:
        raise NotFoundError("This program has no academic year with blocks yet.")
    import datetime as dt

    if year is None:
        today = academic_year_of(dt.date.today())
        year = today if today in years else max(years)
    if year not in years:
        raise NotFoundError(f"The program has no academic year {year}.")
    row = session.scalars(select(m.Block).where(m.Block.academic_year_id == years[year].id,
                                                m.Block.number == block)).first()
    if row is None:
        raise NotFoundError(f"Academic year {year} has no block {block}.")
    return build_snapshot(session, prog.id, row.start_date, row.end_date)


def summary(name: str, result: Any) -> str:
    """One or a few lines a coordinator reads."""
    if name == "defense":
        return f"DEFENSE  {result.level.name}: {result.reason}"
    if name == "util":
        code, u, lvl = result.busiest_service
        return f"UTIL     busiest service {code} {u:.0%} ({lvl.name}); people above 90 %: " \
               f"{int((result.person >= 0.9).sum())}"
    if name == "nk":
        return f"NK       slots healthy {result.counts['healthy']}, warning {result.counts['warning']}, " \
               f"critical {result.counts['critical']}, short {result.counts['short']}"
    if name == "n1":
        spof = ", ".join(f"{p.name} ({p.unfilled})" for p in result.single_points_of_failure[:8])
        return f"N1       pass ratio {result.pass_ratio:.0%}; single points of failure: {spof or 'none'}"
    if name == "n2":
        top = "; ".join(f"{a} + {b} ({u})" for a, b, u in result.fatal_pairs(5))
        return f"N2       {result.n_fatal} fatal pairs of {result.n_pairs}; worst: {top or 'none'}"
    if name == "fallback":
        return "FALLBACK " + "; ".join(f"{' + '.join(f.removed)}: {f.n_changes} changes, {f.unfilled} unfilled"
                                       for f in result.fallbacks)
    if name == "recovery":
        return f"RECOVERY distance {result.distance}, restored {result.restored}"
    if name == "shed":
        return f"SHED     {result.freed} half-days cut, level {result.level_name}"
    if name == "spc":
        return f"SPC      {len(result.alarm_list())} alarms, {result.rule1_count} beyond 3 sigma"
    if name == "equity":
        worst = max(result.table, key=lambda r: r.gini, default=None)
        return "EQUITY   " + (f"worst Gini {worst.gini:.2f} ({worst.klass} {worst.metric})" if worst else "no data")
    if name == "lechatelier":
        return f"LECHATELIER {result.state}: coverage {result.coverage:.0%}"
    if name == "homeostasis":
        return f"HOMEOSTASIS {len(result.actions)} corrective actions suggested"
    if name == "burnout":
        top = ", ".join(f"{n} {t:.0f}" for n, t, _ in result.ranking[:5])
        return f"BURNOUT  highest burden: {top}"
    if name == "erlang":
        return f"ERLANG   P(wait) {result.p_wait:.2f} with {result.servers}; needed {result.servers_needed}"
    if name == "hubs":
        return "HUBS     " + ", ".join(f"{h.name} ({h.n1_unfilled})" for h in result.hubs[:8])
    return f"{name}: done"


def cmd_analyze(args: argparse.Namespace) -> int:
    from core import resilience
    from core.resilience.common import to_jsonable
    from core.store.db import session_factory

    names = _analyses(args.what)
    opened = open_existing(args)
    try:
        with session_factory(opened.engine)() as session:
            snap = block_snapshot(session, args.program, args.block, args.year)
    finally:
        opened.engine.dispose()
    results = {name: resilience.run(name, snap) for name in names}
    if args.json:
        data = {"block": args.block, "from": snap.start.isoformat(), "to": snap.end.isoformat(),
                "revision": snap.revision, "results": {k: to_jsonable(v) for k, v in results.items()}}
        json.dump(data, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(f"Block {args.block}: {snap.start.isoformat()} - {snap.end.isoformat()}, {snap.n_people} people")
        for name, res in results.items():
            print(summary(name, res))
    return 0
