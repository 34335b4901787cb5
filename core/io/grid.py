"""The schedule of one academic year as plain data, read through the services.

Excel, ICS, CSV and the PDF renderer all start from `YearData` (who, what, when) and `BlockGrid`
(one block laid out as the grid people know: rows grouped PGY-3 -> PGY-1 then faculty, two
columns per day, a faculty call row and a resident call row). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar import days
from core.errors import NotFoundError
from core.services.base import ServiceContext
from core.services.catalog import list_activities
from core.services.people import list_people
from core.services.programs import academic_years, get_program
from core.services.records import (
    AcademicYearRecord,
    ActivityRecord,
    AssignmentRecord,
    BlockRecord,
    CallRecord,
    PersonRecord,
    ProgramRecord,
)
from core.store import models as m

CALL_TYPE_LABELS = {"in_house": "in-house", "home": "home call", "backup": "backup"}


@dataclass(frozen=True)
class YearData:
    """Everything an export needs about one academic year of one program."""

    program: ProgramRecord
    year: AcademicYearRecord
    people: tuple[PersonRecord, ...]  # residents PGY high -> low, then faculty, then staff
    activities: tuple[ActivityRecord, ...]
    assignments: tuple[AssignmentRecord, ...]
    calls: tuple[CallRecord, ...]
    holidays: dict[dt.date, str]
    person_by_id: dict[str, PersonRecord] = field(repr=False)
    activity_by_id: dict[str, ActivityRecord] = field(repr=False)

    def assignments_between(self, start: dt.date, end: dt.date) -> tuple[AssignmentRecord, ...]:
        """The assignments of [start, end] (they are kept sorted by date)."""
        dates = [a.date for a in self.assignments] if self._dates is None else self._dates
        object.__setattr__(self, "_dates", dates)
        return self.assignments[bisect_left(dates, start):bisect_right(dates, end)]

    _dates: list[dt.date] | None = field(default=None, repr=False, compare=False)

    def block(self, number: int) -> BlockRecord:
        for b in self.year.blocks:
            if b.number == number:
                return b
        numbers = ", ".join(str(b.number) for b in self.year.blocks)
        raise NotFoundError(f"Academic year {self.year.start_year} has no block {number} (blocks: {numbers}).",
                            field="block")


def group_label(person: PersonRecord) -> str:
    """The row group a person belongs to in the grid: 'PGY-3', 'Faculty', 'Staff'."""
    if person.kind == "resident":
        return f"PGY-{person.pgy}" if person.pgy else "Resident"
    return person.kind.capitalize()


def people_in_grid_order(people: list[PersonRecord]) -> tuple[PersonRecord, ...]:
    order = {"resident": 0, "faculty": 1, "staff": 2}
    return tuple(sorted(people, key=lambda p: (order[p.kind], -(p.pgy or 0), p.name.casefold())))


def _holidays(ctx: ServiceContext, program_id: str, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    def run(s: Session) -> dict[dt.date, str]:
        rows = s.execute(select(m.Holiday.date, m.Holiday.name).where(
            m.Holiday.program_id == program_id, m.Holiday.date >= start, m.Holiday.date <= end,
            m.Holiday.deleted.is_(False)))
        return {d: n for d, n in rows}

    return ctx.read(run)


def _schedule_rows(ctx: ServiceContext, first: dt.date, last: dt.date,
                   person_ids: set[str]) -> tuple[tuple[AssignmentRecord, ...], tuple[CallRecord, ...]]:
    """Assignments and calls as frozen records, read as plain columns (a year of ORM objects is slow)."""

    def run(s: Session) -> tuple[tuple[AssignmentRecord, ...], tuple[CallRecord, ...]]:
        a = m.Assignment
        rows = s.execute(select(a.id, a.person_id, a.date, a.slot, a.activity_id, a.rotation_id, a.source, a.locked,
                                a.note).where(a.date >= first, a.date <= last, a.deleted.is_(False))
                         .order_by(a.date, a.slot))
        assignments = tuple(AssignmentRecord(*r) for r in rows if r[1] in person_ids)
        c = m.CallAssignment
        crows = s.execute(select(c.id, c.person_id, c.date, c.call_type, c.service, c.hours_worked).where(
            c.date >= first, c.date <= last, c.deleted.is_(False)).order_by(c.date))
        return assignments, tuple(CallRecord(*r) for r in crows if r[1] in person_ids)

    return ctx.read(run)


def load_year(ctx: ServiceContext, start_year: int | None = None, *, start: dt.date | None = None,
              end: dt.date | None = None) -> YearData:
    """The database's program and one of its academic years (the latest when none is named).

    `start`/`end` limit the assignments and calls read to those dates (within the year).
    """
    program = get_program(ctx)
    years = academic_years(ctx, program.id)
    if not years:
        raise NotFoundError(f"{program.name} has no academic year yet.", field="academic_year")
    if start_year is None:
        year = years[-1]
    else:
        found = [y for y in years if y.start_year == start_year]
        if not found:
            have = ", ".join(str(y.start_year) for y in years)
            raise NotFoundError(f"{program.name} has no academic year {start_year} (it has {have}).",
                                field="academic_year")
        year = found[0]
    people = [p for p in list_people(ctx, program.id, year.start_year)
              if p.kind != "resident" or p.pgy is not None]
    ordered = people_in_grid_order(people)
    acts = tuple(list_activities(ctx, program.id, include_archived=True))
    person_ids = {p.id for p in ordered}
    first, last = max(year.start, start or year.start), min(year.end, end or year.end)
    assignments, calls = _schedule_rows(ctx, first, last, person_ids)
    return YearData(
        program=program, year=year, people=ordered, activities=acts, assignments=assignments, calls=calls,
        holidays=_holidays(ctx, program.id, year.start, year.end),
        person_by_id={p.id: p for p in ordered}, activity_by_id={a.id: a for a in acts},
    )


# ------------------------------------------------------------------------------------ block grid
@dataclass(frozen=True)
class CallEntry:
    person_id: str
    name: str
    call_type: str
    service: str
    hours_worked: float | None

    def label(self) -> str:
        """'Dr Lee', or 'Dr Lee (home call, OB, 3.5 h)' when the call is not a plain in-house call."""
        extras = []
        if self.call_type != "in_house":
            extras.append(CALL_TYPE_LABELS[self.call_type])
        if self.service:
            extras.append(self.service)
        if self.hours_worked is not None:
            extras.append(f"{self.hours_worked:g} h")
        return f"{self.name} ({', '.join(extras)})" if extras else self.name


@dataclass(frozen=True)
class GridRow:
    person: PersonRecord
    group: str
    cells: tuple[str | None, ...]  # activity id per column (2 per day), None = empty


@dataclass(frozen=True)
class BlockGrid:
    """One block as the grid: people x (day, AM/PM), with the two call rows."""

    program: ProgramRecord
    academic_year: int
    block: BlockRecord
    dates: tuple[dt.date, ...]
    holidays: dict[dt.date, str]
    rows: tuple[GridRow, ...]
    faculty_calls: tuple[tuple[CallEntry, ...], ...]  # per day
    resident_calls: tuple[tuple[CallEntry, ...], ...]  # per day
    activities: dict[str, ActivityRecord]


def block_grid(data: YearData, block: BlockRecord, people: tuple[PersonRecord, ...] | None = None) -> BlockGrid:
    """Lay one block (or any date range given as a block record) out as the grid."""
    dates = tuple(days(block.start, block.end))
    col = {d: i for i, d in enumerate(dates)}
    chosen = data.people if people is None else people
    cells: dict[str, list[str | None]] = {p.id: [None] * (2 * len(dates)) for p in chosen}
    for a in data.assignments_between(block.start, block.end):
        i = col.get(a.date)
        row = cells.get(a.person_id)
        if i is not None and row is not None:
            row[2 * i + a.slot] = a.activity_id
    fac: list[list[CallEntry]] = [[] for _ in dates]
    res: list[list[CallEntry]] = [[] for _ in dates]
    for c in data.calls:
        i = col.get(c.date)
        p = data.person_by_id.get(c.person_id)
        if i is None or p is None:
            continue
        entry = CallEntry(p.id, p.name, c.call_type, c.service, c.hours_worked)
        (res if p.kind == "resident" else fac)[i].append(entry)
    sort = lambda e: (e.name.casefold(), e.service)  # noqa: E731
    return BlockGrid(
        program=data.program, academic_year=data.year.start_year, block=block, dates=dates,
        holidays={d: n for d, n in data.holidays.items() if block.start <= d <= block.end},
        rows=tuple(GridRow(p, group_label(p), tuple(cells[p.id])) for p in chosen),
        faculty_calls=tuple(tuple(sorted(x, key=sort)) for x in fac),
        resident_calls=tuple(tuple(sorted(x, key=sort)) for x in res),
        activities=data.activity_by_id,
    )


def contrasting_text(colour: str) -> str:
    """Black or white, whichever reads better on `colour` (#rrggbb)."""
    try:
        r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    except ValueError:
        return "#000000"
    return "#000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#ffffff"
