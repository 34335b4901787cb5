"""Programs, academic years and rule sets."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar import BLOCK_LAYOUTS, academic_year_bounds, academic_year_holidays, make_blocks
from core.errors import NotFoundError, ValidationError
from core.rules.ruleset import RuleValues, validate_values
from core.services.base import Result, ServiceContext, Work
from core.services.records import (
    AcademicYearRecord,
    BlockRecord,
    ProgramRecord,
    RuleSetRecord,
)
from core.store import models as m


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{name!r} is not a known time zone (e.g. America/New_York).", field="time_zone") from exc


def add_academic_year(work: Work, program_id: str, start_year: int, layout: str) -> m.AcademicYear:
    if layout not in BLOCK_LAYOUTS:
        raise ValidationError(f"Unknown block layout {layout!r}; choose {' or '.join(BLOCK_LAYOUTS)}.", field="layout")
    if not 1990 <= start_year <= 2200:
        raise ValidationError("The academic year must be a year between 1990 and 2200.", field="start_year")
    exists = work.session.scalars(
        select(m.AcademicYear).where(m.AcademicYear.program_id == program_id, m.AcademicYear.start_year == start_year)
    ).first()
    if exists is not None:
        raise ValidationError(f"Academic year {start_year} already exists in this program.", field="start_year")
    first, last = academic_year_bounds(start_year)
    year = work.add(
        m.AcademicYear(program_id=program_id, start_year=start_year, start_date=first, end_date=last, block_layout=layout)
    )
    for b in make_blocks(start_year, layout):
        work.add(m.Block(academic_year_id=year.id, number=b.number, start_date=b.start, end_date=b.end))
    existing = set(
        work.session.scalars(
            select(m.Holiday.date).where(m.Holiday.program_id == program_id, m.Holiday.date >= first, m.Holiday.date <= last)
        )
    )
    for day, name in academic_year_holidays(start_year).items():
        if day not in existing:
            work.add(m.Holiday(program_id=program_id, date=day, name=name, clinic_closed=True))
    return year


def create_program(
    ctx: ServiceContext,
    name: str,
    *,
    start_year: int,
    layout: str = "13x28",
    time_zone: str = "America/New_York",
) -> Result[ProgramRecord]:
    """A new program with its first academic year, blocks, holidays and the default rule set."""
    name = name.strip()
    if not name:
        raise ValidationError("The program needs a name.", field="name")
    _check_zone(time_zone)

    def run(work: Work) -> ProgramRecord:
        program = work.add(m.Program(name=name, time_zone=time_zone, settings={}))
        add_academic_year(work, program.id, start_year, layout)
        work.add(
            m.RuleSet(program_id=program.id, number=1, values=RuleValues().to_dict(), exceptions={},
                      created_at=work.ctx.clock(), note="ACGME defaults")
        )
        return ProgramRecord.of(program)

    return ctx.write("create_program", run, entity="program")


def only_program(session: Session) -> m.Program:
    program = session.scalars(select(m.Program).where(m.Program.deleted.is_(False)).limit(1)).first()
    if program is None:
        raise NotFoundError("This database holds no program yet; create one or build the demo.")
    return program


def get_program(ctx: ServiceContext) -> ProgramRecord:
    return ctx.read(lambda s: ProgramRecord.of(only_program(s)))


def academic_years(ctx: ServiceContext, program_id: str) -> list[AcademicYearRecord]:
    def run(s: Session) -> list[AcademicYearRecord]:
        out = []
        for y in s.scalars(
            select(m.AcademicYear).where(m.AcademicYear.program_id == program_id, m.AcademicYear.deleted.is_(False))
            .order_by(m.AcademicYear.start_year)
        ):
            blocks = tuple(BlockRecord.of(b) for b in y.blocks if not b.deleted)
            out.append(AcademicYearRecord(y.id, y.start_year, y.start_date, y.end_date, y.block_layout, blocks))
        return out

    return ctx.read(run)


def block_containing(ctx: ServiceContext, program_id: str, day: dt.date) -> BlockRecord | None:
    def run(s: Session) -> BlockRecord | None:
        row = s.scalars(
            select(m.Block).join(m.AcademicYear).where(
                m.AcademicYear.program_id == program_id, m.Block.start_date <= day, m.Block.end_date >= day,
                m.Block.deleted.is_(False),
            )
        ).first()
        return BlockRecord.of(row) if row else None

    return ctx.read(run)


def current_rule_set(ctx: ServiceContext, program_id: str) -> RuleSetRecord | None:
    def run(s: Session) -> RuleSetRecord | None:
        row = s.scalars(
            select(m.RuleSet).where(m.RuleSet.program_id == program_id, m.RuleSet.deleted.is_(False))
            .order_by(m.RuleSet.number.desc()).limit(1)
        ).first()
        return RuleSetRecord.of(row) if row else None

    return ctx.read(run)


def new_rule_set(
    ctx: ServiceContext,
    program_id: str,
    values: dict[str, object],
    *,
    exceptions: dict[str, str] | None = None,
    note: str | None = None,
) -> Result[RuleSetRecord]:
    """A new version of the rule set. Looser than the ACGME floor only with a written exception."""
    rv = RuleValues.from_dict(dict(values))
    exc = {k: v for k, v in (exceptions or {}).items() if v}
    validate_values(rv, exc)

    def run(work: Work) -> RuleSetRecord:
        last = work.session.scalars(
            select(m.RuleSet.number).where(m.RuleSet.program_id == program_id).order_by(m.RuleSet.number.desc()).limit(1)
        ).first()
        row = work.add(
            m.RuleSet(program_id=program_id, number=(last or 0) + 1, values=rv.to_dict(), exceptions=exc,
                      created_at=work.ctx.clock(), note=note)
        )
        return RuleSetRecord.of(row)

    return ctx.write("new_rule_set", run, entity="rule_set", reason=note)
