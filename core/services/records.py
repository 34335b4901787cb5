"""Frozen records the services return. ORM objects never leave `core`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.store import models as m


@dataclass(frozen=True)
class ProgramRecord:
    id: str
    name: str
    time_zone: str
    settings: dict[str, object]

    @classmethod
    def of(cls, row: m.Program) -> ProgramRecord:
        return cls(row.id, row.name, row.time_zone, dict(row.settings or {}))


@dataclass(frozen=True)
class BlockRecord:
    id: str
    number: int
    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, row: m.Block) -> BlockRecord:
        return cls(row.id, row.number, row.start_date, row.end_date)


@dataclass(frozen=True)
class AcademicYearRecord:
    id: str
    start_year: int
    start: dt.date
    end: dt.date
    layout: str
    blocks: tuple[BlockRecord, ...]


@dataclass(frozen=True)
class PersonRecord:
    id: str
    name: str
    kind: str
    pgy: int | None
    faculty_role: str | None
    clinic_cap_per_week: int | None
    email: str | None
    archived: bool

    @classmethod
    def of(cls, row: m.Person, pgy: int | None = None) -> PersonRecord:
        return cls(row.id, row.name, row.kind, pgy, row.faculty_role, row.clinic_cap_per_week, row.email, row.archived)


@dataclass(frozen=True)
class ActivityRecord:
    id: str
    code: str
    name: str
    colour: str
    category: str
    am_start: int
    am_minutes: int
    pm_start: int
    pm_minutes: int
    needs_supervision: bool
    provides_supervision: bool
    counts_clinic_capacity: bool
    is_procedure: bool
    is_night_float: bool
    eligible_kinds: tuple[str, ...]
    eligible_pgy: tuple[int, ...]
    required_credential: str | None
    shed_priority: int
    archived: bool

    @classmethod
    def of(cls, a: m.Activity) -> ActivityRecord:
        return cls(
            a.id, a.code, a.name, a.colour, a.category, a.am_start, a.am_minutes, a.pm_start, a.pm_minutes,
            a.needs_supervision, a.provides_supervision, a.counts_clinic_capacity, a.is_procedure,
            a.is_night_float, tuple(a.eligible_kinds or ()), tuple(a.eligible_pgy or ()),
            a.required_credential, a.shed_priority, a.archived,
        )


@dataclass(frozen=True)
class RotationRecord:
    id: str
    code: str
    name: str
    min_residents: int
    max_residents: int
    eligible_pgy: tuple[int, ...]
    leave_allowed: bool
    includes_weekends: bool
    colour: str
    archived: bool
    pattern: dict[tuple[int, int], str]  # (weekday, slot) -> activity id

    @classmethod
    def of(cls, r: m.Rotation) -> RotationRecord:
        return cls(
            r.id, r.code, r.name, r.min_residents, r.max_residents, tuple(r.eligible_pgy or ()),
            r.leave_allowed, r.includes_weekends, r.colour, r.archived,
            {(e.weekday, e.slot): e.activity_id for e in r.pattern if not e.deleted},
        )


@dataclass(frozen=True)
class RequirementRecord:
    id: str
    activity_id: str
    weekday: int | None
    date: dt.date | None
    slot: int
    min_count: int
    optimum: int
    max_count: int
    qualification: str | None

    @classmethod
    def of(cls, r: m.CoverageRequirement) -> RequirementRecord:
        return cls(r.id, r.activity_id, r.weekday, r.date, r.slot, r.min_count, r.optimum, r.max_count, r.qualification)


@dataclass(frozen=True)
class AssignmentRecord:
    id: str
    person_id: str
    date: dt.date
    slot: int
    activity_id: str
    rotation_id: str | None
    source: str
    locked: bool
    note: str | None

    @classmethod
    def of(cls, a: m.Assignment) -> AssignmentRecord:
        return cls(a.id, a.person_id, a.date, a.slot, a.activity_id, a.rotation_id, a.source, a.locked, a.note)


@dataclass(frozen=True)
class CallRecord:
    id: str
    person_id: str
    date: dt.date
    call_type: str
    service: str
    hours_worked: float | None

    @classmethod
    def of(cls, c: m.CallAssignment) -> CallRecord:
        return cls(c.id, c.person_id, c.date, c.call_type, c.service, c.hours_worked)


@dataclass(frozen=True)
class AbsenceRecord:
    id: str
    person_id: str
    type: str
    start: dt.date
    end: dt.date
    status: str
    blocking: bool
    counts_away: bool
    note: str | None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def of(cls, a: m.Absence) -> AbsenceRecord:
        return cls(a.id, a.person_id, a.type, a.start_date, a.end_date, a.status, a.blocking, a.counts_away, a.note)


@dataclass(frozen=True)
class RuleSetRecord:
    id: str
    number: int
    values: dict[str, object]
    exceptions: dict[str, object]
    created_at: dt.datetime
    note: str | None

    @classmethod
    def of(cls, r: m.RuleSet) -> RuleSetRecord:
        return cls(r.id, r.number, dict(r.values), dict(r.exceptions or {}), r.created_at, r.note)
