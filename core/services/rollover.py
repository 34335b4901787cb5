"""Academic-year rollover: a new year from the current one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.errors import NotFoundError
from core.services.base import Result, ServiceContext, Work
from core.services.programs import add_academic_year
from core.store import models as m


@dataclass(frozen=True)
class RolloverOutcome:
    new_year: int
    promoted: int
    graduated: tuple[str, ...]  # names


def rollover(ctx: ServiceContext, program_id: str, from_year: int, *, final_pgy: int | None = None) -> Result[RolloverOutcome]:
    """Create academic year `from_year + 1` with the same block layout.

    Residents move up one PGY level; those at the program's final level (`final_pgy`, default the
    program setting `program_years`, else the highest level present) graduate: they get no level in
    the new year and are archived. People, rotations, activities, requirements and the rule set are
    program-wide and so carry over; year-to-date counters are computed per academic year and so
    restart by construction.
    """

    def run(work: Work) -> RolloverOutcome:
        program = work.session.get(m.Program, program_id)
        if program is None:
            raise NotFoundError("That program does not exist.", field="program_id")
        old = work.session.scalars(select(m.AcademicYear).where(
            m.AcademicYear.program_id == program_id, m.AcademicYear.start_year == from_year)).first()
        if old is None:
            raise NotFoundError(f"Academic year {from_year} does not exist in this program.", field="from_year")
        new = add_academic_year(work, program_id, from_year + 1, old.block_layout)
        levels = list(work.session.scalars(select(m.ResidentYear).where(
            m.ResidentYear.academic_year_id == old.id, m.ResidentYear.deleted.is_(False))))
        last = final_pgy or int((program.settings or {}).get("program_years", 0)) or max((r.pgy for r in levels), default=0)
        promoted, graduated = 0, []
        for ry in levels:
            person = work.session.get(m.Person, ry.person_id)
            if person is None or person.deleted or person.archived:
                continue
            if ry.pgy >= last:
                graduated.append(person.name)
                work.set(person, archived=True)
            else:
                work.add(m.ResidentYear(person_id=ry.person_id, academic_year_id=new.id, pgy=ry.pgy + 1))
                promoted += 1
        return RolloverOutcome(from_year + 1, promoted, tuple(sorted(graduated)))

    return ctx.write("rollover", run, entity="academic_year", detail={"from_year": from_year})
