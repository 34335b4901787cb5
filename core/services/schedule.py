"""Editing the schedule: slots, rotations for a block, calls. Every edit is undoable.

Generation and templates never overwrite `preload` or `manual` assignments; a hand edit may, and
records itself as `manual` (locked). Edits to dates inside the freeze horizon need a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar import days
from core.errors import NotFoundError, ValidationError
from core.services.base import Result, ServiceContext, Work
from core.services.people import get_person
from core.services.records import AssignmentRecord, CallRecord
from core.snapshot import active_rule_set
from core.store import models as m

HAND_SOURCES = ("preload", "manual")


class ReasonRequired(ValidationError):
    """The edit touches the freeze horizon and needs a reason."""


@dataclass(frozen=True)
class SlotEdit:
    """Put `activity_id` in (person, date, slot); None clears the slot."""

    person_id: str
    date: dt.date
    slot: int
    activity_id: str | None


def _check_freeze(work: Work, program_id: str, dates: Iterable[dt.date], reason: str | None) -> None:
    if reason and reason.strip():
        return
    _n, rules = active_rule_set(work.session, program_id)
    today = work.ctx.today()
    limit = today + dt.timedelta(days=rules.freeze_days)
    touched = sorted(d for d in set(dates) if d < limit)
    if touched:
        raise ReasonRequired(
            f"{touched[0]:%b %d} is inside the {rules.freeze_days}-day freeze horizon; give a reason for the change.",
            field="reason",
        )


def _existing_assignment(session: Session, person_id: str, day: dt.date, slot: int) -> m.Assignment | None:
    return session.scalars(
        select(m.Assignment).where(m.Assignment.person_id == person_id, m.Assignment.date == day, m.Assignment.slot == slot)
    ).first()


def put_slot(
    work: Work,
    person_id: str,
    day: dt.date,
    slot: int,
    activity_id: str | None,
    *,
    source: str,
    rotation_id: str | None = None,
    locked: bool | None = None,
    note: str | None = None,
    overwrite_hand: bool = True,
) -> bool:
    """Set or clear one slot inside a unit of work. Returns whether anything changed."""
    row = _existing_assignment(work.session, person_id, day, slot)
    lock = source in HAND_SOURCES if locked is None else locked
    if row is not None and not row.deleted and not overwrite_hand and row.source in HAND_SOURCES:
        return False
    if activity_id is None:
        if row is None or row.deleted:
            return False
        work.tombstone(row)
        return True
    if row is None:
        work.add(m.Assignment(person_id=person_id, date=day, slot=slot, activity_id=activity_id,
                              rotation_id=rotation_id, source=source, locked=lock, note=note))
        return True
    before = (row.deleted, row.activity_id, row.rotation_id, row.source, row.locked, row.note)
    after = (False, activity_id, rotation_id, source, lock, note)
    if before == after:
        return False
    work.set(row, deleted=False, activity_id=activity_id, rotation_id=rotation_id, source=source, locked=lock, note=note)
    return True


def _validate_edits(session: Session, edits: Sequence[SlotEdit]) -> str:
    if not edits:
        raise ValidationError("Choose at least one slot.", field="edits")
    seen: set[tuple[str, dt.date, int]] = set()
    programs: set[str] = set()
    people: dict[str, m.Person] = {}
    for e in edits:
        if e.slot not in (0, 1):
            raise ValidationError("A slot is AM (0) or PM (1).", field="slot")
        key = (e.person_id, e.date, e.slot)
        if key in seen:
            raise ValidationError("The same slot appears twice in one edit.", field="edits")
        seen.add(key)
        if e.person_id not in people:
            people[e.person_id] = get_person(session, e.person_id)
        programs.add(people[e.person_id].program_id)
        if e.activity_id is not None:
            a = session.get(m.Activity, e.activity_id)
            if a is None or a.deleted:
                raise NotFoundError("That activity does not exist.", field="activity_id")
            if a.archived:
                raise ValidationError(f"Activity {a.code} is archived; restore it before assigning it.", field="activity_id")
    return programs.pop()


def assign_slots(
    ctx: ServiceContext,
    edits: Sequence[SlotEdit],
    *,
    reason: str | None = None,
    source: str = "manual",
) -> Result[list[AssignmentRecord]]:
    """Assign or clear many slots at once (one undoable edit)."""
    if source not in m.ASSIGNMENT_SOURCES:
        raise ValidationError(f"Unknown source {source!r}.", field="source")

    def run(work: Work) -> list[AssignmentRecord]:
        program_id = _validate_edits(work.session, edits)
        _check_freeze(work, program_id, (e.date for e in edits), reason)
        for e in edits:
            put_slot(work, e.person_id, e.date, e.slot, e.activity_id, source=source,
                     note=reason if reason else None)
        out = []
        for e in edits:
            row = _existing_assignment(work.session, e.person_id, e.date, e.slot)
            if row is not None and not row.deleted:
                out.append(AssignmentRecord.of(row))
        return out

    return ctx.write("assign_slots", run, entity="assignment", reason=reason, detail={"slots": len(edits)})


def clear_slots(
    ctx: ServiceContext, slots: Sequence[tuple[str, dt.date, int]], *, reason: str | None = None
) -> Result[list[AssignmentRecord]]:
    return assign_slots(ctx, [SlotEdit(p, d, s, None) for p, d, s in slots], reason=reason)


def set_rotation(
    ctx: ServiceContext,
    person_id: str,
    block_id: str,
    rotation_id: str,
    *,
    half: int = 0,
    reason: str | None = None,
) -> Result[int]:
    """Give a resident a rotation for a block (half 0) or a half-block (1 = days 1-14, 2 = days 15-end).

    Fills the slots from the rotation's weekly pattern as source=template; never over preload or
    manual assignments. Returns how many slots changed.
    """
    if half not in (0, 1, 2):
        raise ValidationError("Half is 0 (whole block), 1 (days 1-14) or 2 (days 15 to the end).", field="half")

    def run(work: Work) -> int:
        person = get_person(work.session, person_id)
        if person.kind != "resident":
            raise ValidationError(f"{person.name} is not a resident; rotations are for residents.", field="person_id")
        block = work.session.get(m.Block, block_id)
        if block is None or block.deleted:
            raise NotFoundError("That block does not exist.", field="block_id")
        rot = work.session.get(m.Rotation, rotation_id)
        if rot is None or rot.deleted or rot.archived:
            raise NotFoundError("That rotation does not exist or is archived.", field="rotation_id")
        year = block.academic_year
        ry = work.session.scalars(select(m.ResidentYear).where(
            m.ResidentYear.person_id == person_id, m.ResidentYear.academic_year_id == year.id)).first()
        if rot.eligible_pgy and (ry is None or ry.pgy not in rot.eligible_pgy):
            levels = ", ".join(f"PGY-{p}" for p in rot.eligible_pgy)
            raise ValidationError(f"{rot.name} is for {levels}; {person.name} is not eligible.", field="rotation_id")
        start, end = block.start_date, block.end_date
        if half == 1:
            end = min(end, start + dt.timedelta(days=13))
        elif half == 2:
            start = start + dt.timedelta(days=14)
        if start > end:
            raise ValidationError("That block has no second half.", field="half")
        _check_freeze(work, person.program_id, days(start, end), reason)
        # Whole block replaces halves and vice versa.
        for ra in work.session.scalars(select(m.RotationAssignment).where(
                m.RotationAssignment.person_id == person_id, m.RotationAssignment.block_id == block_id,
                m.RotationAssignment.deleted.is_(False))):
            if half == 0 or ra.half in (0, half):
                work.tombstone(ra)
        existing = work.session.scalars(select(m.RotationAssignment).where(
            m.RotationAssignment.person_id == person_id, m.RotationAssignment.block_id == block_id,
            m.RotationAssignment.half == half)).first()
        if existing is None:
            work.add(m.RotationAssignment(person_id=person_id, block_id=block_id, half=half, rotation_id=rotation_id))
        else:
            work.set(existing, rotation_id=rotation_id, deleted=False)
        pattern = {(e.weekday, e.slot): e.activity_id for e in rot.pattern if not e.deleted}
        blocked = _absent_days(work.session, person_id, start, end)
        changed = 0
        for day in days(start, end):
            for slot in (0, 1):
                aid = pattern.get((day.weekday(), slot))
                if day in blocked:
                    continue
                changed += put_slot(work, person_id, day, slot, aid, source="template", rotation_id=rotation_id,
                                    locked=False, overwrite_hand=False)
        return changed

    return ctx.write("set_rotation", run, entity="rotation_assignment", reason=reason)


def _absent_days(session: Session, person_id: str, start: dt.date, end: dt.date) -> set[dt.date]:
    out: set[dt.date] = set()
    for ab in session.scalars(select(m.Absence).where(
            m.Absence.person_id == person_id, m.Absence.status == "approved", m.Absence.blocking.is_(True),
            m.Absence.start_date <= end, m.Absence.end_date >= start, m.Absence.deleted.is_(False))):
        out.update(days(max(start, ab.start_date), min(end, ab.end_date)))
    return out


# -------------------------------------------------------------------------------------------- calls
def put_call(
    work: Work, person_id: str, day: dt.date, call_type: str | None, *, service: str = "",
    hours_worked: float | None = None, source: str = "manual",
) -> bool:
    row = work.session.scalars(select(m.CallAssignment).where(
        m.CallAssignment.person_id == person_id, m.CallAssignment.date == day)).first()
    if call_type is None:
        if row is None or row.deleted:
            return False
        work.tombstone(row)
        return True
    if call_type not in m.CALL_TYPES:
        raise ValidationError("A call is in_house, home or backup.", field="call_type")
    if hours_worked is not None and not 0 <= hours_worked <= 24:
        raise ValidationError("Hours worked on call are between 0 and 24.", field="hours_worked")
    if row is None:
        work.add(m.CallAssignment(person_id=person_id, date=day, call_type=call_type, service=service,
                                  hours_worked=hours_worked, source=source))
        return True
    before = (row.deleted, row.call_type, row.service, row.hours_worked)
    if before == (False, call_type, service, hours_worked):
        return False
    work.set(row, deleted=False, call_type=call_type, service=service, hours_worked=hours_worked, source=source)
    return True


@dataclass(frozen=True)
class CallEdit:
    person_id: str
    date: dt.date
    call_type: str | None  # None clears
    service: str = ""
    hours_worked: float | None = None


def set_calls(ctx: ServiceContext, edits: Sequence[CallEdit], *, reason: str | None = None) -> Result[list[CallRecord]]:
    """Assign, change or clear overnight calls (one undoable edit)."""
    if not edits:
        raise ValidationError("Choose at least one call night.", field="edits")

    def run(work: Work) -> list[CallRecord]:
        program_id = ""
        for e in edits:
            program_id = get_person(work.session, e.person_id).program_id
        _check_freeze(work, program_id, (e.date for e in edits), reason)
        for e in edits:
            put_call(work, e.person_id, e.date, e.call_type, service=e.service, hours_worked=e.hours_worked)
        rows = work.session.scalars(select(m.CallAssignment).where(
            m.CallAssignment.person_id.in_({e.person_id for e in edits}),
            m.CallAssignment.date.in_({e.date for e in edits}), m.CallAssignment.deleted.is_(False)))
        return [CallRecord.of(r) for r in rows]

    return ctx.write("set_calls", run, entity="call_assignment", reason=reason)


# ---------------------------------------------------------------------------------------- queries
def assignments_between(ctx: ServiceContext, start: dt.date, end: dt.date, person_id: str | None = None) -> list[AssignmentRecord]:
    def run(s: Session) -> list[AssignmentRecord]:
        q = select(m.Assignment).where(m.Assignment.date >= start, m.Assignment.date <= end, m.Assignment.deleted.is_(False))
        if person_id:
            q = q.where(m.Assignment.person_id == person_id)
        return [AssignmentRecord.of(a) for a in s.scalars(q.order_by(m.Assignment.date, m.Assignment.slot))]

    return ctx.read(run)


def calls_between(ctx: ServiceContext, start: dt.date, end: dt.date) -> list[CallRecord]:
    def run(s: Session) -> list[CallRecord]:
        q = select(m.CallAssignment).where(
            m.CallAssignment.date >= start, m.CallAssignment.date <= end, m.CallAssignment.deleted.is_(False))
        return [CallRecord.of(c) for c in s.scalars(q.order_by(m.CallAssignment.date))]

    return ctx.read(run)
