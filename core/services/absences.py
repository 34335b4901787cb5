"""Absences: request (pending) -> approved / denied / cancelled; time away from the program.

Approving a blocking absence empties the person's slots on its days (they become the program's
leave activity when one exists) and removes their calls on those nights; the result lists what
was emptied so a coordinator can find cover.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar import academic_year_bounds, academic_year_of
from core.errors import NotFoundError, ValidationError
from core.services.base import Result, ServiceContext, Work
from core.services.people import get_person
from core.services.records import AbsenceRecord
from core.services.schedule import put_call, put_slot
from core.snapshot import active_rule_set
from core.store import models as m

TRANSITIONS = {
    "pending": {"approved", "denied", "cancelled"},
    "approved": {"cancelled"},
    "denied": set(),
    "cancelled": set(),
}


@dataclass(frozen=True)
class AwayProjection:
    """Days away from the program in the academic year, with and without this request."""

    academic_year: int
    approved_days: int
    pending_days: int
    with_request: int
    limit: int
    warn_at: int

    @property
    def over_limit(self) -> bool:
        return self.with_request > self.limit

    @property
    def warning(self) -> bool:
        return self.with_request >= self.warn_at

    def sentence(self) -> str:
        s = f"{self.with_request} of {self.limit} days away in AY {self.academic_year} with this request"
        if self.over_limit:
            return s + " (over the limit)."
        if self.warning:
            return s + f" (warning at {self.warn_at})."
        return s + "."


@dataclass(frozen=True)
class EmptiedSlot:
    person_id: str
    date: dt.date
    slot: int | None  # None = the call of that night
    activity_id: str | None
    call_type: str | None


@dataclass(frozen=True)
class ApprovalOutcome:
    absence: AbsenceRecord
    emptied: tuple[EmptiedSlot, ...]


def _absence(session: Session, absence_id: str) -> m.Absence:
    a = session.get(m.Absence, absence_id)
    if a is None or a.deleted:
        raise NotFoundError("That absence does not exist.", field="absence_id")
    return a


def away_days(session: Session, person_id: str, start_year: int, *, statuses: tuple[str, ...]) -> int:
    first, last = academic_year_bounds(start_year)
    total = 0
    for ab in session.scalars(select(m.Absence).where(
            m.Absence.person_id == person_id, m.Absence.counts_away.is_(True), m.Absence.status.in_(statuses),
            m.Absence.start_date <= last, m.Absence.end_date >= first, m.Absence.deleted.is_(False))):
        total += (min(last, ab.end_date) - max(first, ab.start_date)).days + 1
    return total


def project_away(session: Session, person_id: str, start: dt.date, end: dt.date, counts_away: bool = True) -> AwayProjection:
    person = get_person(session, person_id)
    ay = academic_year_of(start)
    _n, rules = active_rule_set(session, person.program_id)
    approved = away_days(session, person_id, ay, statuses=("approved",))
    pending = away_days(session, person_id, ay, statuses=("pending",))
    first, last = academic_year_bounds(ay)
    extra = (min(last, end) - max(first, start)).days + 1 if counts_away else 0
    return AwayProjection(ay, approved, pending, approved + pending + extra,
                          rules.max_away_days_per_year, rules.warn_away_days_per_year)


def away_projection(ctx: ServiceContext, person_id: str, start: dt.date, end: dt.date) -> AwayProjection:
    return ctx.read(lambda s: project_away(s, person_id, start, end))


def request_absence(
    ctx: ServiceContext, person_id: str, type: str, start: dt.date, end: dt.date, *,
    blocking: bool = True, counts_away: bool | None = None, note: str | None = None,
) -> Result[AbsenceRecord]:
    if type not in m.ABSENCE_TYPES:
        raise ValidationError(f"The absence type must be one of {', '.join(m.ABSENCE_TYPES)}.", field="type")
    if end < start:
        raise ValidationError("An absence cannot end before it starts.", field="end")
    if (end - start).days > 366:
        raise ValidationError("An absence longer than a year cannot be entered at once.", field="end")
    away = counts_away if counts_away is not None else type not in ("conference", "military")

    def run(work: Work) -> AbsenceRecord:
        get_person(work.session, person_id)
        overlap = work.session.scalars(select(m.Absence).where(
            m.Absence.person_id == person_id, m.Absence.status.in_(("pending", "approved")),
            m.Absence.start_date <= end, m.Absence.end_date >= start, m.Absence.deleted.is_(False))).first()
        if overlap is not None:
            raise ValidationError(
                f"This overlaps another {overlap.status} absence ({overlap.start_date:%b %d}-{overlap.end_date:%b %d}).",
                field="start")
        row = work.add(m.Absence(person_id=person_id, type=type, start_date=start, end_date=end, status="pending",
                                 blocking=blocking, counts_away=away, note=note))
        who = get_person(work.session, person_id).name
        _notify(work, None, "absence_request", f"{who} requests {type} {start:%b %d}-{end:%b %d}.", row.id)
        return AbsenceRecord.of(row)

    return ctx.write("request_absence", run, entity="absence")


def _transition(work: Work, ab: m.Absence, new: str) -> None:
    if new not in TRANSITIONS[ab.status]:
        raise ValidationError(f"An absence that is {ab.status} cannot become {new}.", field="status")
    work.set(ab, status=new)
    _notify(work, ab.person_id, f"absence_{new}",
            f"Your {ab.type} {ab.start_date:%b %d}-{ab.end_date:%b %d} was {new}.", ab.id)


def _notify(work: Work, person_id: str | None, kind: str, text: str, ref: str) -> None:
    """An in-app notice (person_id None = the coordinators' queue), in the same transaction."""
    work.session.add(m.Notification(person_id=person_id, kind=kind, text=text, ref=ref, created_at=work.ctx.clock()))


def approve_absence(ctx: ServiceContext, absence_id: str, *, reason: str | None = None) -> Result[ApprovalOutcome]:
    def run(work: Work) -> ApprovalOutcome:
        ab = _absence(work.session, absence_id)
        _transition(work, ab, "approved")
        emptied: list[EmptiedSlot] = []
        if ab.blocking:
            person = get_person(work.session, ab.person_id)
            leave = work.session.scalars(select(m.Activity).where(
                m.Activity.program_id == person.program_id, m.Activity.category == "leave",
                m.Activity.deleted.is_(False), m.Activity.archived.is_(False)).order_by(m.Activity.code)).first()
            for a in work.session.scalars(select(m.Assignment).where(
                    m.Assignment.person_id == ab.person_id, m.Assignment.date >= ab.start_date,
                    m.Assignment.date <= ab.end_date, m.Assignment.deleted.is_(False))):
                if leave is not None and a.activity_id == leave.id:
                    continue
                emptied.append(EmptiedSlot(a.person_id, a.date, a.slot, a.activity_id, None))
            for c in work.session.scalars(select(m.CallAssignment).where(
                    m.CallAssignment.person_id == ab.person_id, m.CallAssignment.date >= ab.start_date,
                    m.CallAssignment.date <= ab.end_date, m.CallAssignment.deleted.is_(False))):
                emptied.append(EmptiedSlot(c.person_id, c.date, None, None, c.call_type))
            for e in emptied:
                if e.slot is None:
                    put_call(work, e.person_id, e.date, None)
                else:
                    put_slot(work, e.person_id, e.date, e.slot, leave.id if leave else None, source="manual",
                             note=f"absence {ab.type}")
            d = ab.start_date
            while d <= ab.end_date:  # leave shows on days that had nothing assigned too
                for slot in (0, 1):
                    if leave is not None:
                        put_slot(work, ab.person_id, d, slot, leave.id, source="manual", note=f"absence {ab.type}",
                                 overwrite_hand=False)
                d += dt.timedelta(days=1)
        work.touch(ab.person_id)
        return ApprovalOutcome(AbsenceRecord.of(ab), tuple(emptied))

    return ctx.write("approve_absence", run, entity="absence", entity_id=absence_id, reason=reason)


def deny_absence(ctx: ServiceContext, absence_id: str, *, reason: str | None = None) -> Result[AbsenceRecord]:
    def run(work: Work) -> AbsenceRecord:
        ab = _absence(work.session, absence_id)
        _transition(work, ab, "denied")
        return AbsenceRecord.of(ab)

    return ctx.write("deny_absence", run, entity="absence", entity_id=absence_id, reason=reason)


def cancel_absence(ctx: ServiceContext, absence_id: str, *, reason: str | None = None) -> Result[AbsenceRecord]:
    """Cancel a pending or approved absence. Slots it emptied stay as they are (leave shows, to re-plan)."""

    def run(work: Work) -> AbsenceRecord:
        ab = _absence(work.session, absence_id)
        _transition(work, ab, "cancelled")
        return AbsenceRecord.of(ab)

    return ctx.write("cancel_absence", run, entity="absence", entity_id=absence_id, reason=reason)


def list_absences(
    ctx: ServiceContext, *, person_id: str | None = None, start: dt.date | None = None, end: dt.date | None = None,
    statuses: tuple[str, ...] | None = None,
) -> list[AbsenceRecord]:
    def run(s: Session) -> list[AbsenceRecord]:
        q = select(m.Absence).where(m.Absence.deleted.is_(False))
        if person_id:
            q = q.where(m.Absence.person_id == person_id)
        if start:
            q = q.where(m.Absence.end_date >= start)
        if end:
            q = q.where(m.Absence.start_date <= end)
        if statuses:
            q = q.where(m.Absence.status.in_(statuses))
        return [AbsenceRecord.of(a) for a in s.scalars(q.order_by(m.Absence.start_date))]

    return ctx.read(run)
