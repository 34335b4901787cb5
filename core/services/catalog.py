"""Activities, rotations (with their weekly pattern) and coverage requirements."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, ValidationError
from core.services.base import Result, ServiceContext, Work
from core.services.records import ActivityRecord, RequirementRecord, RotationRecord
from core.store import models as m

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
ACTIVITY_FIELDS = {
    "code", "name", "colour", "category", "am_start", "am_minutes", "pm_start", "pm_minutes",
    "needs_supervision", "provides_supervision", "counts_clinic_capacity", "is_procedure",
    "is_night_float", "eligible_kinds", "eligible_pgy", "required_credential", "shed_priority",
}


def _reject_unknown(values: dict[str, Any], allowed: set[str], what: str) -> None:
    """Refuse fields a service does not know, naming them (nothing is changed)."""
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError(f"Unknown {what} field(s): {', '.join(unknown)}.", field=unknown[0])


def _check_activity(v: dict[str, Any]) -> None:
    code = str(v.get("code", "")).strip()
    if not code or len(code) > 16 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", code):
        raise ValidationError("An activity code is 1-16 letters, digits or _+-/ (e.g. C, FMIT, NF).", field="code")
    if not str(v.get("name", "")).strip():
        raise ValidationError("An activity needs a name.", field="name")
    if not COLOUR.match(str(v.get("colour", "#cccccc"))):
        raise ValidationError("A colour is written #rrggbb, e.g. #4f81bd.", field="colour")
    if v.get("category") not in m.ACTIVITY_CATEGORIES:
        raise ValidationError(f"The category must be one of {', '.join(m.ACTIVITY_CATEGORIES)}.", field="category")
    for slot in ("am", "pm"):
        start, minutes = int(v.get(f"{slot}_start", 0)), int(v.get(f"{slot}_minutes", 0))
        if not 0 <= start < 1440:
            raise ValidationError(f"The {slot.upper()} start time must be within the day (00:00-23:59).", field=f"{slot}_start")
        if not 0 <= minutes <= 28 * 60:
            raise ValidationError(f"The {slot.upper()} duty length must be between 0 and 28 hours.", field=f"{slot}_minutes")
    kinds = v.get("eligible_kinds", ["resident", "faculty"])
    if not set(kinds) <= {"resident", "faculty", "staff"}:
        raise ValidationError("Eligible kinds are resident, faculty, staff.", field="eligible_kinds")
    if any(not (isinstance(p, int) and 1 <= p <= 8) for p in v.get("eligible_pgy", [])):
        raise ValidationError("Eligible PGY levels are whole numbers from 1 to 8.", field="eligible_pgy")
    if not 1 <= int(v.get("shed_priority", 4)) <= 7:
        raise ValidationError("The sacrifice category is from 1 (patient safety) to 7 (optional education).", field="shed_priority")


def _activity(session: Session, activity_id: str) -> m.Activity:
    a = session.get(m.Activity, activity_id)
    if a is None or a.deleted:
        raise NotFoundError("That activity does not exist.", field="activity_id")
    return a


def create_activity(ctx: ServiceContext, program_id: str, **values: Any) -> Result[ActivityRecord]:
    _reject_unknown(values, ACTIVITY_FIELDS, "activity")
    _check_activity(values)

    def run(work: Work) -> ActivityRecord:
        dup = work.session.scalars(select(m.Activity).where(
            m.Activity.program_id == program_id, m.Activity.code == values["code"])).first()
        if dup is not None:
            raise ValidationError(f"An activity with code {values['code']} already exists.", field="code")
        return ActivityRecord.of(work.add(m.Activity(program_id=program_id, **values)))

    return ctx.write("create_activity", run, entity="activity")


def update_activity(ctx: ServiceContext, activity_id: str, **values: Any) -> Result[ActivityRecord]:
    _reject_unknown(values, ACTIVITY_FIELDS, "activity")

    def run(work: Work) -> ActivityRecord:
        a = _activity(work.session, activity_id)
        merged = {**{k: getattr(a, k) for k in ACTIVITY_FIELDS}, **values}
        _check_activity(merged)
        if "code" in values and values["code"] != a.code:
            dup = work.session.scalars(select(m.Activity).where(
                m.Activity.program_id == a.program_id, m.Activity.code == values["code"])).first()
            if dup is not None:
                raise ValidationError(f"An activity with code {values['code']} already exists.", field="code")
        work.set(a, **values)
        return ActivityRecord.of(a)

    return ctx.write("update_activity", run, entity="activity", entity_id=activity_id)


def archive_activity(ctx: ServiceContext, activity_id: str, archived: bool = True) -> Result[None]:
    def run(work: Work) -> None:
        work.set(_activity(work.session, activity_id), archived=archived)

    return ctx.write("archive_activity", run, entity="activity", entity_id=activity_id)


def list_activities(ctx: ServiceContext, program_id: str, *, include_archived: bool = False) -> list[ActivityRecord]:
    def run(s: Session) -> list[ActivityRecord]:
        q = select(m.Activity).where(m.Activity.program_id == program_id, m.Activity.deleted.is_(False))
        if not include_archived:
            q = q.where(m.Activity.archived.is_(False))
        return [ActivityRecord.of(a) for a in s.scalars(q.order_by(m.Activity.code))]

    return ctx.read(run)


# --------------------------------------------------------------------------------------- rotations
ROTATION_FIELDS = {"code", "name", "min_residents", "max_residents", "eligible_pgy", "leave_allowed",
                   "includes_weekends", "colour"}


def _check_rotation(v: dict[str, Any]) -> None:
    if not str(v.get("code", "")).strip():
        raise ValidationError("A rotation needs a code.", field="code")
    if not str(v.get("name", "")).strip():
        raise ValidationError("A rotation needs a name.", field="name")
    lo, hi = int(v.get("min_residents", 0)), int(v.get("max_residents", 99))
    if lo < 0 or hi < lo:
        raise ValidationError("The rotation's capacity needs 0 <= minimum <= maximum.", field="max_residents")
    if not COLOUR.match(str(v.get("colour", "#dddddd"))):
        raise ValidationError("A colour is written #rrggbb.", field="colour")


def _set_pattern(work: Work, rot: m.Rotation, pattern: dict[tuple[int, int], str]) -> None:
    for (wd, slot), aid in pattern.items():
        if not (0 <= wd <= 6 and slot in (0, 1)):
            raise ValidationError("A pattern cell is a weekday 0-6 (Monday = 0) and a slot AM/PM.", field="pattern")
        _activity(work.session, aid)
    current = {(e.weekday, e.slot): e for e in rot.pattern if not e.deleted}
    for key, entry in current.items():
        if key not in pattern:
            work.tombstone(entry)
        elif entry.activity_id != pattern[key]:
            work.set(entry, activity_id=pattern[key])
    dead = {(e.weekday, e.slot): e for e in rot.pattern if e.deleted}
    for key, aid in pattern.items():
        if key in current:
            continue
        if key in dead:
            work.set(dead[key], activity_id=aid, deleted=False)
        else:
            entry = m.RotationPatternEntry(rotation_id=rot.id, weekday=key[0], slot=key[1], activity_id=aid)
            rot.pattern.append(entry)
            work.add(entry)


def create_rotation(
    ctx: ServiceContext, program_id: str, *, pattern: dict[tuple[int, int], str] | None = None, **values: Any
) -> Result[RotationRecord]:
    _reject_unknown(values, ROTATION_FIELDS, "rotation")
    _check_rotation(values)

    def run(work: Work) -> RotationRecord:
        if work.session.scalars(select(m.Rotation).where(
                m.Rotation.program_id == program_id, m.Rotation.code == values["code"])).first():
            raise ValidationError(f"A rotation with code {values['code']} already exists.", field="code")
        rot = work.add(m.Rotation(program_id=program_id, **values))
        _set_pattern(work, rot, pattern or {})
        return RotationRecord.of(rot)

    return ctx.write("create_rotation", run, entity="rotation")


def update_rotation(
    ctx: ServiceContext, rotation_id: str, *, pattern: dict[tuple[int, int], str] | None = None, **values: Any
) -> Result[RotationRecord]:
    _reject_unknown(values, ROTATION_FIELDS, "rotation")

    def run(work: Work) -> RotationRecord:
        rot = work.session.get(m.Rotation, rotation_id)
        if rot is None or rot.deleted:
            raise NotFoundError("That rotation does not exist.", field="rotation_id")
        _check_rotation({**{k: getattr(rot, k) for k in ROTATION_FIELDS}, **values})
        work.set(rot, **values)
        if pattern is not None:
            _set_pattern(work, rot, pattern)
        return RotationRecord.of(rot)

    return ctx.write("update_rotation", run, entity="rotation", entity_id=rotation_id)


def archive_rotation(ctx: ServiceContext, rotation_id: str, archived: bool = True) -> Result[None]:
    def run(work: Work) -> None:
        rot = work.session.get(m.Rotation, rotation_id)
        if rot is None or rot.deleted:
            raise NotFoundError("That rotation does not exist.", field="rotation_id")
        work.set(rot, archived=archived)

    return ctx.write("archive_rotation", run, entity="rotation", entity_id=rotation_id)


def list_rotations(ctx: ServiceContext, program_id: str, *, include_archived: bool = False) -> list[RotationRecord]:
    def run(s: Session) -> list[RotationRecord]:
        q = select(m.Rotation).where(m.Rotation.program_id == program_id, m.Rotation.deleted.is_(False))
        if not include_archived:
            q = q.where(m.Rotation.archived.is_(False))
        return [RotationRecord.of(r) for r in s.scalars(q.order_by(m.Rotation.code))]

    return ctx.read(run)


# ------------------------------------------------------------------------------------ requirements
def _check_requirement(weekday: int | None, date: dt.date | None, slot: int, lo: int, opt: int, hi: int) -> None:
    if (weekday is None) == (date is None) and weekday is not None:
        raise ValidationError("A requirement applies to a weekday or to one date, not both.", field="weekday")
    if weekday is not None and not 0 <= weekday <= 6:
        raise ValidationError("The weekday is 0-6 (Monday = 0).", field="weekday")
    if slot not in (0, 1):
        raise ValidationError("The slot is AM (0) or PM (1).", field="slot")
    if not 0 <= lo <= opt <= hi:
        raise ValidationError("A requirement needs 0 <= minimum <= optimum <= maximum.", field="min_count")


def create_requirement(
    ctx: ServiceContext, program_id: str, activity_id: str, *, slot: int, min_count: int, optimum: int,
    max_count: int, weekday: int | None = None, date: dt.date | None = None, qualification: str | None = None,
) -> Result[RequirementRecord]:
    _check_requirement(weekday, date, slot, min_count, optimum, max_count)

    def run(work: Work) -> RequirementRecord:
        _activity(work.session, activity_id)
        row = work.add(m.CoverageRequirement(
            program_id=program_id, activity_id=activity_id, weekday=weekday, date=date, slot=slot,
            min_count=min_count, optimum=optimum, max_count=max_count, qualification=qualification))
        return RequirementRecord.of(row)

    return ctx.write("create_requirement", run, entity="coverage_requirement")


def update_requirement(ctx: ServiceContext, requirement_id: str, **values: Any) -> Result[RequirementRecord]:
    allowed = {"slot", "min_count", "optimum", "max_count", "weekday", "date", "qualification", "activity_id"}
    _reject_unknown(values, allowed, "requirement")

    def run(work: Work) -> RequirementRecord:
        r = work.session.get(m.CoverageRequirement, requirement_id)
        if r is None or r.deleted:
            raise NotFoundError("That requirement does not exist.", field="requirement_id")
        merged = {k: getattr(r, k) for k in allowed} | values
        _check_requirement(merged["weekday"], merged["date"], merged["slot"], merged["min_count"],
                           merged["optimum"], merged["max_count"])
        work.set(r, **values)
        return RequirementRecord.of(r)

    return ctx.write("update_requirement", run, entity="coverage_requirement", entity_id=requirement_id)


def delete_requirement(ctx: ServiceContext, requirement_id: str) -> Result[None]:
    def run(work: Work) -> None:
        r = work.session.get(m.CoverageRequirement, requirement_id)
        if r is None or r.deleted:
            raise NotFoundError("That requirement does not exist.", field="requirement_id")
        work.tombstone(r)

    return ctx.write("delete_requirement", run, entity="coverage_requirement", entity_id=requirement_id)


def list_requirements(ctx: ServiceContext, program_id: str) -> list[RequirementRecord]:
    def run(s: Session) -> list[RequirementRecord]:
        q = select(m.CoverageRequirement).where(
            m.CoverageRequirement.program_id == program_id, m.CoverageRequirement.deleted.is_(False))
        return [RequirementRecord.of(r) for r in s.scalars(q)]

    return ctx.read(run)
