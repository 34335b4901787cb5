"""`rsched validate`: check a program's schedule against every rule of RULES.md.

    rsched validate --db FILE [--from DATE --to DATE] [--person NAME|ID] [--json] [--program NAME|ID]

A readable table by default; `--json` prints every violation and the counts by rule and severity.
Exit status 0 when the check ran (violations or not), 2 on bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

from core.commands import add_db_argument, open_existing
from core.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.rules.engine import ValidationResult


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check the schedule against the duty-hour and program rules",
        description="Checks every rule of the rule set in force (duty hours, supervision, capacity, "
        "coverage, qualifications, absences, time away, faculty rules). Exit status 0 when the "
        "check ran, violations or not; 2 on bad input.",
    )
    add_db_argument(p)
    p.add_argument("--from", dest="date_from", metavar="DATE", help="first day to report (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="last day to report (YYYY-MM-DD)")
    p.add_argument("--person", metavar="NAME|ID", help="report one person only")
    p.add_argument("--program", metavar="NAME|ID", help="the program, when the file holds several")
    p.add_argument("--json", action="store_true", help="print every violation and the counts as JSON")
    p.set_defaults(func=cmd_validate)


def _date(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"The {what} date {text!r} is not a date like 2026-07-01.", field=what) from None


def _program(session: Session, wanted: str | None) -> Any:
    from sqlalchemy import select

    from core.store import models as m

    programs = list(session.scalars(select(m.Program).where(m.Program.deleted.is_(False)).order_by(m.Program.name)))
    if not programs:
        raise NotFoundError("The database holds no program yet.")
    if wanted is None:
        if len(programs) > 1:
            names = ", ".join(p.name for p in programs)
            raise ValidationError(f"The database holds several programs ({names}); choose one with --program.")
        return programs[0]
    for p in programs:
        if wanted in (p.id, p.name) or p.name.casefold() == wanted.casefold():
            return p
    raise NotFoundError(f"No program called {wanted!r} in this database.")


def _default_range(session: Session, program_id: str) -> tuple[dt.date, dt.date]:
    """The academic year holding today, else the latest one set up, else the assignments' dates."""
    from sqlalchemy import func, select

    from core.calendar import academic_year_bounds, academic_year_of
    from core.store import models as m

    years = sorted(
        session.scalars(
            select(m.AcademicYear.start_year).where(
                m.AcademicYear.program_id == program_id, m.AcademicYear.deleted.is_(False)
            )
        ).all()
    )
    today_ay = academic_year_of(dt.date.today())
    if years:
        return academic_year_bounds(today_ay if today_ay in years else years[-1])
    first, last = session.execute(
        select(func.min(m.Assignment.date), func.max(m.Assignment.date)).where(m.Assignment.deleted.is_(False))
    ).one()
    if first is None:
        return academic_year_bounds(today_ay)
    return first, last


def _person(snapshot: Any, wanted: str) -> str:
    for p in snapshot.people:
        if p.id == wanted:
            return str(p.id)
    exact = [p for p in snapshot.people if p.name.casefold() == wanted.casefold()]
    found = exact or [p for p in snapshot.people if wanted.casefold() in p.name.casefold()]
    if not found:
        raise NotFoundError(f"No one called {wanted!r} is in the schedule for those dates.")
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:5])
        raise ValidationError(f"{wanted!r} matches several people ({names}); give more of the name or the id.")
    return str(found[0].id)


def run_validate(
    session: Session,
    *,
    program: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    person: str | None = None,
) -> tuple[ValidationResult, dt.date, dt.date]:
    """Validate a program in the database over [start, end]; windows get a margin inside the same
    academic year so the first and last days are judged on whole windows."""
    from core.calendar import academic_year_bounds, academic_year_of
    from core.rules.engine import validate
    from core.snapshot import active_rule_set, build_snapshot

    prog = _program(session, program)
    if start is None or end is None:
        d0, d1 = _default_range(session, prog.id)
        start = start or (d0 if end is None or d0 <= end else academic_year_bounds(academic_year_of(end))[0])
        end = end or max(d1, start)
    if end < start:
        raise ValidationError("The --to date is before the --from date.", field="to")
    ay_first, ay_last = academic_year_bounds(academic_year_of(start))
    if end > ay_last:
        raise ValidationError(
            f"Check one academic year at a time: {start.isoformat()} - {end.isoformat()} runs past "
            f"{ay_last.isoformat()}."
        , field="to")
    _, rules = active_rule_set(session, prog.id)
    margin = dt.timedelta(days=rules.window_days - 1)
    snap = build_snapshot(session, prog.id, max(ay_first, start - margin), min(ay_last, end + margin))
    person_ids = [_person(snap, person)] if person else None
    return validate(snap, person_ids=person_ids, start=start, end=end), start, end


def _table(result: ValidationResult, start: dt.date, end: dt.date) -> str:
    lines = [f"Rule set {result.rule_set_number}, {start.isoformat()} - {end.isoformat()}: "
             f"{len(result.violations)} violation{'s' if len(result.violations) != 1 else ''} "
             f"({', '.join(f'{n} {s}' for s, n in result.counts_by_severity.items())})"]
    if result.violations:
        lines.append("")
        lines.append(f"{'SEVERITY':<9} {'RULE':<5} {'WHO / WHERE':<24} {'VALUE':>7} {'LIMIT':>7}  WHAT")
        for v in result.violations:
            who = v.person_name or (f"{v.day.isoformat()} {('AM', 'PM')[v.slot or 0]}" if v.day else "")
            if v.activity_code and not v.person_name:
                who = f"{who} {v.activity_code}"
            lines.append(f"{v.severity:<9} {v.rule:<5} {who[:24]:<24} {v.value:>7.1f} {v.limit:>7.1f}  {v.message}")
        lines.append("")
        lines.append("By rule: " + ", ".join(f"{r} {n}" for r, n in result.counts_by_rule.items()))
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace) -> int:
    from core.store.db import session_factory

    start = _date(args.date_from, "from")
    end = _date(args.date_to, "to")
    opened = open_existing(args)
    try:
        with session_factory(opened.engine)() as session:
            result, start, end = run_validate(session, program=args.program, start=start, end=end,
                                              person=args.person)
    finally:
        opened.engine.dispose()
    if args.json:
        data = {"from": start.isoformat(), "to": end.isoformat(), **result.to_dict()}
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_table(result, start, end))
    return 0
