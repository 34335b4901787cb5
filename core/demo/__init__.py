"""The demo program: a complete, realistic academic year written into a program database.

`create_demo(session_or_engine, size='typical'|'large', year=2026, seed=0)` writes a program with its
calendar, activities, rotations, people, a full year of assignments and calls, absences,
requirements and a rule set; it mostly keeps the rules of RULES.md and breaks a few on purpose
(`DELIBERATE_VIOLATIONS`, described in docs/demo.md). The same seed gives the same database, row for
row. A bulk creation: no audit events or outbox records are written (see docs/demo.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.demo.build import SIZES, DemoBuilder, write
from core.demo.plan import DeliberateViolation, deliberate_violations
from core.errors import ValidationError
from core.progress import ProgressFn, noop
from core.store import models as m

__all__ = [
    "DELIBERATE_VIOLATIONS", "SIZES", "DeliberateViolation", "DemoSummary", "create_demo",
    "deliberate_violations",
]

DELIBERATE_VIOLATIONS: tuple[DeliberateViolation, ...] = deliberate_violations(2026)
"""The violations planted in a demo of AY 2026 (any seed, either size)."""


@dataclass(frozen=True)
class DemoSummary:
    program_id: str
    program_name: str
    size: str
    year: int
    seed: int
    start: dt.date
    end: dt.date
    residents: int
    faculty: int
    assignments: int
    calls: int
    absences: int
    unfilled_resident_calls: int
    deliberate: tuple[DeliberateViolation, ...]


def create_demo(
    session_or_engine: Session | Engine,
    *,
    size: str = "typical",
    year: int = 2026,
    seed: int = 0,
    name: str | None = None,
    progress: ProgressFn = noop,
) -> DemoSummary:
    """Write the demo program into an already-migrated database.

    Given an engine, the program is written in one transaction and committed. Given a session, the
    rows are added to it and flushed; the caller commits (or rolls back).
    """
    if size not in SIZES:
        raise ValidationError(f"The demo size must be typical or large, not {size!r}.", field="size")
    if not 1900 < year < 2200:
        raise ValidationError(f"{year} is not a plausible academic year.", field="year")
    builder = DemoBuilder(size, year, seed, name, progress)
    builder.run()
    if isinstance(session_or_engine, Session):
        count = write(builder, session_or_engine, progress)
        session_or_engine.flush()
    else:
        with Session(session_or_engine) as session, session.begin():
            count = write(builder, session, progress)
    progress(1.0, "Done")
    return DemoSummary(
        program_id=builder.program_id, program_name=builder.name, size=size, year=year, seed=seed,
        start=builder.first, end=builder.last, residents=len(builder.residents),
        faculty=len(builder.faculty), assignments=count,
        calls=len(builder.rows.get("call_assignment", [])), absences=len(builder.rows.get("absence", [])),
        unfilled_resident_calls=builder.call_short, deliberate=deliberate_violations(year),
    )


def program_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(m.Program)) or 0)
