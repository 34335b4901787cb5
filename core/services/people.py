"""People: residents (PGY per academic year), faculty, staff; credentials."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, ValidationError
from core.services.base import Result, ServiceContext, Work
from core.services.records import PersonRecord
from core.store import models as m

FACULTY_ROLES = ("pd", "apd", "core", "adjunct", "specialist")
KINDS = ("resident", "faculty", "staff")


def _year(session: Session, program_id: str, start_year: int) -> m.AcademicYear:
    year = session.scalars(
        select(m.AcademicYear).where(m.AcademicYear.program_id == program_id, m.AcademicYear.start_year == start_year)
    ).first()
    if year is None:
        raise NotFoundError(f"Academic year {start_year} does not exist in this program.", field="academic_year")
    return year


def _check_person_fields(kind: str, pgy: int | None, faculty_role: str | None, cap: int | None, name: str) -> None:
    if not name.strip():
        raise ValidationError("A person needs a name.", field="name")
    if kind not in KINDS:
        raise ValidationError(f"Kind must be one of {', '.join(KINDS)}.", field="kind")
    if kind == "resident" and (pgy is None or not 1 <= pgy <= 8):
        raise ValidationError("A resident needs a PGY level from 1 to 8.", field="pgy")
    if kind != "resident" and pgy is not None:
        raise ValidationError("Only residents have a PGY level.", field="pgy")
    if faculty_role is not None and (kind != "faculty" or faculty_role not in FACULTY_ROLES):
        raise ValidationError(f"A faculty role is one of {', '.join(FACULTY_ROLES)} (faculty only).", field="faculty_role")
    if cap is not None and not 0 <= cap <= 10:
        raise ValidationError("The weekly clinic cap is a number of half-days from 0 to 10.", field="clinic_cap_per_week")


def get_person(session: Session, person_id: str) -> m.Person:
    p = session.get(m.Person, person_id)
    if p is None or p.deleted:
        raise NotFoundError("That person does not exist.", field="person_id")
    return p


def create_person(
    ctx: ServiceContext,
    program_id: str,
    name: str,
    kind: str,
    *,
    academic_year: int | None = None,
    pgy: int | None = None,
    faculty_role: str | None = None,
    clinic_cap_per_week: int | None = None,
    email: str | None = None,
) -> Result[PersonRecord]:
    _check_person_fields(kind, pgy, faculty_role, clinic_cap_per_week, name)

    def run(work: Work) -> PersonRecord:
        person = work.add(
            m.Person(program_id=program_id, name=name.strip(), kind=kind, faculty_role=faculty_role,
                     clinic_cap_per_week=clinic_cap_per_week, email=email)
        )
        if kind == "resident":
            if academic_year is None:
                raise ValidationError("A resident needs the academic year of their PGY level.", field="academic_year")
            year = _year(work.session, program_id, academic_year)
            work.add(m.ResidentYear(person_id=person.id, academic_year_id=year.id, pgy=pgy))
        return PersonRecord.of(person, pgy)

    return ctx.write("create_person", run, entity="person")


def update_person(
    ctx: ServiceContext,
    person_id: str,
    *,
    name: str | None = None,
    faculty_role: str | None = None,
    clinic_cap_per_week: int | None = None,
    email: str | None = None,
) -> Result[PersonRecord]:
    def run(work: Work) -> PersonRecord:
        p = get_person(work.session, person_id)
        new_name = p.name if name is None else name
        role = p.faculty_role if faculty_role is None else faculty_role
        cap = p.clinic_cap_per_week if clinic_cap_per_week is None else clinic_cap_per_week
        _check_person_fields(p.kind, 1 if p.kind == "resident" else None, role, cap, new_name)
        work.set(p, name=new_name.strip(), faculty_role=role, clinic_cap_per_week=cap,
                 email=p.email if email is None else email)
        return PersonRecord.of(p)

    return ctx.write("update_person", run, entity="person", entity_id=person_id)


def set_pgy(ctx: ServiceContext, person_id: str, academic_year: int, pgy: int) -> Result[None]:
    if not 1 <= pgy <= 8:
        raise ValidationError("A PGY level is from 1 to 8.", field="pgy")

    def run(work: Work) -> None:
        p = get_person(work.session, person_id)
        if p.kind != "resident":
            raise ValidationError(f"{p.name} is not a resident.", field="person_id")
        year = _year(work.session, p.program_id, academic_year)
        row = work.session.scalars(
            select(m.ResidentYear).where(m.ResidentYear.person_id == p.id, m.ResidentYear.academic_year_id == year.id)
        ).first()
        if row is None:
            work.add(m.ResidentYear(person_id=p.id, academic_year_id=year.id, pgy=pgy))
        else:
            work.set(row, pgy=pgy, deleted=False)

    return ctx.write("set_pgy", run, entity="person", entity_id=person_id)


def archive_person(ctx: ServiceContext, person_id: str, archived: bool = True) -> Result[None]:
    """Archive (hide from new scheduling, keep history) or restore a person."""

    def run(work: Work) -> None:
        work.set(get_person(work.session, person_id), archived=archived)

    return ctx.write("archive_person" if archived else "restore_person", run, entity="person", entity_id=person_id)


def add_credential(
    ctx: ServiceContext, person_id: str, what: str, valid_from: dt.date | None = None, valid_to: dt.date | None = None
) -> Result[str]:
    if not what.strip():
        raise ValidationError("A credential needs a name.", field="what")
    if valid_from and valid_to and valid_to < valid_from:
        raise ValidationError("A credential cannot end before it starts.", field="valid_to")

    def run(work: Work) -> str:
        get_person(work.session, person_id)
        return work.add(m.Qualification(person_id=person_id, what=what.strip(), valid_from=valid_from, valid_to=valid_to)).id

    return ctx.write("add_credential", run, entity="qualification")


def list_people(ctx: ServiceContext, program_id: str, academic_year: int, *, include_archived: bool = False) -> list[PersonRecord]:
    def run(s: Session) -> list[PersonRecord]:
        year = s.scalars(
            select(m.AcademicYear).where(m.AcademicYear.program_id == program_id, m.AcademicYear.start_year == academic_year)
        ).first()
        pgy: dict[str, int] = {}
        if year is not None:
            pgy = {r.person_id: r.pgy for r in s.scalars(select(m.ResidentYear).where(
                m.ResidentYear.academic_year_id == year.id, m.ResidentYear.deleted.is_(False)))}
        q = select(m.Person).where(m.Person.program_id == program_id, m.Person.deleted.is_(False))
        if not include_archived:
            q = q.where(m.Person.archived.is_(False))
        out = [PersonRecord.of(p, pgy.get(p.id)) for p in s.scalars(q)]
        order = {"resident": 0, "faculty": 1, "staff": 2}
        return sorted(out, key=lambda r: (order[r.kind], -(r.pgy or 0), r.name))

    return ctx.read(run)
