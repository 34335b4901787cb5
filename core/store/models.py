"""The domain store: SQLAlchemy 2 typed models.

Every synced table carries a client-made UUID primary key (`id`), the server `version` it was last
seen at, and a `deleted` tombstone instead of hard deletes (SYNC.md). ORM objects never leave
`core`: services convert them to frozen dataclasses.

Times of day are stored as minutes after local midnight; durations in minutes. Dates are
`datetime.date`. Slots are 0 = AM, 1 = PM.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 2
"""The application schema version; bumped with every Alembic migration."""


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class SyncedMixin:
    """Columns every synced row has (SYNC.md)."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


# ----------------------------------------------------------------------------------------- program
class Program(SyncedMixin, Base):
    __tablename__ = "program"
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AcademicYear(SyncedMixin, Base):
    __tablename__ = "academic_year"
    __table_args__ = (UniqueConstraint("program_id", "start_year"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    start_year: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    block_layout: Mapped[str] = mapped_column(String(32))  # "13x28" | "block0_thursday"
    blocks: Mapped[list[Block]] = relationship(back_populates="academic_year", order_by="Block.number")


class Block(SyncedMixin, Base):
    __tablename__ = "block"
    __table_args__ = (
        UniqueConstraint("academic_year_id", "number"),
        CheckConstraint("end_date >= start_date", name="block_dates_ordered"),
    )
    academic_year_id: Mapped[str] = mapped_column(ForeignKey("academic_year.id"))
    number: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    academic_year: Mapped[AcademicYear] = relationship(back_populates="blocks")


class Holiday(SyncedMixin, Base):
    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("program_id", "date"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100))
    clinic_closed: Mapped[bool] = mapped_column(Boolean, default=True)


# ------------------------------------------------------------------------------------------ people
class Person(SyncedMixin, Base):
    __tablename__ = "person"
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # resident | faculty | staff
    faculty_role: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # pd | apd | core | adjunct | specialist (faculty only)
    clinic_cap_per_week: Mapped[int | None] = mapped_column(Integer, nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_key: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        CheckConstraint("kind in ('resident','faculty','staff')", name="person_kind"),
        Index("ix_person_program", "program_id"),
    )


class ResidentYear(SyncedMixin, Base):
    """A resident's PGY level in one academic year."""

    __tablename__ = "resident_year"
    __table_args__ = (
        UniqueConstraint("person_id", "academic_year_id"),
        CheckConstraint("pgy between 1 and 8", name="pgy_range"),
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    academic_year_id: Mapped[str] = mapped_column(ForeignKey("academic_year.id"))
    pgy: Mapped[int] = mapped_column(Integer)


class Qualification(SyncedMixin, Base):
    """A credential a person holds (e.g. 'procedures', 'obstetrics', 'icu'), with valid dates."""

    __tablename__ = "qualification"
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    what: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


# -------------------------------------------------------------------------------- what is scheduled
ACTIVITY_CATEGORIES = (
    "clinic", "inpatient", "procedure", "didactics", "supervision", "administration",
    "night", "research", "elective", "off", "leave", "postcall",
)


class Activity(SyncedMixin, Base):
    """What a person does in one slot. Duty span per slot as wall-clock start and length."""

    __tablename__ = "activity"
    __table_args__ = (UniqueConstraint("program_id", "code"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    colour: Mapped[str] = mapped_column(String(9), default="#cccccc")
    category: Mapped[str] = mapped_column(String(32))
    # Duty span in each slot: start = minutes after local midnight of the slot's date; length in
    # minutes of wall-clock time (converted to elapsed time in the program's zone). 0 = no duty.
    am_start: Mapped[int] = mapped_column(Integer, default=0)
    am_minutes: Mapped[int] = mapped_column(Integer, default=0)
    pm_start: Mapped[int] = mapped_column(Integer, default=0)
    pm_minutes: Mapped[int] = mapped_column(Integer, default=0)
    needs_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    provides_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    counts_clinic_capacity: Mapped[bool] = mapped_column(Boolean, default=False)
    is_procedure: Mapped[bool] = mapped_column(Boolean, default=False)
    is_night_float: Mapped[bool] = mapped_column(Boolean, default=False)
    # Who may hold it (QUAL): kinds ["resident","faculty"], PGY levels, a required credential.
    eligible_kinds: Mapped[list[Any]] = mapped_column(JSON, default=lambda: ["resident", "faculty"])
    eligible_pgy: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty = any
    required_credential: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SHED sacrifice category: 1 patient safety .. 7 optional education.
    shed_priority: Mapped[int] = mapped_column(Integer, default=4)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class Rotation(SyncedMixin, Base):
    __tablename__ = "rotation"
    __table_args__ = (UniqueConstraint("program_id", "code"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    min_residents: Mapped[int] = mapped_column(Integer, default=0)
    max_residents: Mapped[int] = mapped_column(Integer, default=99)
    eligible_pgy: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty = any
    leave_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    includes_weekends: Mapped[bool] = mapped_column(Boolean, default=False)
    colour: Mapped[str] = mapped_column(String(9), default="#dddddd")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    pattern: Mapped[list[RotationPatternEntry]] = relationship(
        back_populates="rotation", cascade="all, delete-orphan"
    )


class RotationPatternEntry(SyncedMixin, Base):
    """One cell of a rotation's weekly pattern: weekday (Monday = 0) x slot -> activity."""

    __tablename__ = "rotation_pattern"
    __table_args__ = (
        UniqueConstraint("rotation_id", "weekday", "slot"),
        CheckConstraint("weekday between 0 and 6 and slot in (0, 1)", name="pattern_cell"),
    )
    rotation_id: Mapped[str] = mapped_column(ForeignKey("rotation.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(Integer)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activity.id"))
    rotation: Mapped[Rotation] = relationship(back_populates="pattern")


class RotationAssignment(SyncedMixin, Base):
    """A resident's rotation for a block (half = 0) or a half-block (half = 1 or 2)."""

    __tablename__ = "rotation_assignment"
    __table_args__ = (
        UniqueConstraint("person_id", "block_id", "half"),
        CheckConstraint("half in (0, 1, 2)", name="rotation_half"),
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    block_id: Mapped[str] = mapped_column(ForeignKey("block.id"))
    half: Mapped[int] = mapped_column(Integer, default=0)
    rotation_id: Mapped[str] = mapped_column(ForeignKey("rotation.id"))


ASSIGNMENT_SOURCES = ("preload", "manual", "generated", "template")


class Assignment(SyncedMixin, Base):
    """Person x date x slot -> activity. One activity per person per slot, by a unique key."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("person_id", "date", "slot", name="uq_assignment_person_slot"),
        CheckConstraint("slot in (0, 1)", name="assignment_slot"),
        CheckConstraint(
            "source in ('preload','manual','generated','template')", name="assignment_source"
        ),
        Index("ix_assignment_date", "date"),
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    slot: Mapped[int] = mapped_column(Integer)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activity.id"))
    rotation_id: Mapped[str | None] = mapped_column(ForeignKey("rotation.id"), nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


CALL_TYPES = ("in_house", "home", "backup")


class CallAssignment(SyncedMixin, Base):
    """Overnight call attached to the date on which it starts. One call per person per night."""

    __tablename__ = "call_assignment"
    __table_args__ = (
        UniqueConstraint("person_id", "date", name="uq_call_person_date"),
        CheckConstraint("call_type in ('in_house','home','backup')", name="call_type"),
        Index("ix_call_date", "date"),
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    call_type: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(32), default="")  # "" = the program's call pool
    hours_worked: Mapped[float | None] = mapped_column(Float, nullable=True)  # home call, after the fact
    source: Mapped[str] = mapped_column(String(16), default="manual")


ABSENCE_TYPES = (
    "vacation", "conference", "sick", "parental", "bereavement", "military", "personal", "other",
)
ABSENCE_STATES = ("pending", "approved", "denied", "cancelled")


class Absence(SyncedMixin, Base):
    __tablename__ = "absence"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="absence_dates_ordered"),
        CheckConstraint(
            "status in ('pending','approved','denied','cancelled')", name="absence_status"
        ),
        Index("ix_absence_person_dates", "person_id", "start_date", "end_date"),
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    type: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    blocking: Mapped[bool] = mapped_column(Boolean, default=True)
    counts_away: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CoverageRequirement(SyncedMixin, Base):
    """How many people an activity needs in a slot (on a weekday, or on one date)."""

    __tablename__ = "coverage_requirement"
    __table_args__ = (CheckConstraint("min_count <= optimum and optimum <= max_count", name="cov_order"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    activity_id: Mapped[str] = mapped_column(ForeignKey("activity.id"))
    weekday: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None with date = one date
    date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    slot: Mapped[int] = mapped_column(Integer)
    min_count: Mapped[int] = mapped_column(Integer, default=0)
    optimum: Mapped[int] = mapped_column(Integer, default=0)
    max_count: Mapped[int] = mapped_column(Integer, default=99)
    qualification: Mapped[str | None] = mapped_column(String(64), nullable=True)


class CallRequirement(SyncedMixin, Base):
    """A call pool: how many of whom are on call each night (e.g. one faculty, one resident)."""

    __tablename__ = "call_requirement"
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    service: Mapped[str] = mapped_column(String(32), default="")
    call_type: Mapped[str] = mapped_column(String(16), default="in_house")
    kind: Mapped[str] = mapped_column(String(16), default="resident")
    eligible_pgy: Mapped[list[Any]] = mapped_column(JSON, default=list)
    per_night: Mapped[int] = mapped_column(Integer, default=1)


class RuleSet(SyncedMixin, Base):
    """A versioned set of rule numbers (RULES.md). The highest active version is in force."""

    __tablename__ = "rule_set"
    __table_args__ = (UniqueConstraint("program_id", "number"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    number: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exceptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rule -> reason
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


# ---------------------------------------------------------------------------------- change control
class AuditEvent(Base):
    """Append-only audit log. `hash` = sha256(prev_hash + canonical JSON of the row)."""

    __tablename__ = "audit_event"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxRecord(Base):
    """One local change waiting to be pushed to the sync server (SYNC.md)."""

    __tablename__ = "sync_outbox"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    op_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(16))  # insert | update | delete
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    previous: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    hlc: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|conflict|rejected


class SyncState(Base):
    """Key/value state of the sync client (cursor, server URL, HLC)."""

    __tablename__ = "sync_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SyncConflict(Base):
    """A local op the server did not apply (a conflict or a rejection), kept until resolved.

    Both versions are kept: the local fields (and the values they replaced) and the server's row,
    with who changed it and when, so the Conflicts panel can show them side by side (SYNC.md).
    """

    __tablename__ = "sync_conflict"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    op_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # conflict | rejected
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    op: Mapped[str] = mapped_column(String(16))
    local_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    local_previous: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    local_hlc: Mapped[str] = mapped_column(String(64), default="")
    server_row: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    server_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    server_actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    server_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution: Mapped[str | None] = mapped_column(String(16), nullable=True)  # mine | theirs | dismissed


class Draft(SyncedMixin, Base):
    """A generated or bulk-edited schedule awaiting publication (change control)."""

    __tablename__ = "draft"
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    kind: Mapped[str] = mapped_column(String(32))  # generate | import | fallback
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|published|discarded
    base_revision: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PublishedVersion(Base):
    """Every publication is kept: the changes it made, for diff and rollback."""

    __tablename__ = "published_version"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    label: Mapped[str] = mapped_column(String(200))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Meta(Base):
    """Application metadata: schema version, creation time."""

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# ------------------------------------------------------------------------------------------- swaps
SWAP_KINDS = ("trade", "giveaway", "pool", "open_shift")
SWAP_STATES = (
    "requested", "accepted", "approved", "executed", "declined", "cancelled", "expired", "rolled_back",
)


class SwapRequest(SyncedMixin, Base):
    """A swap of one of the four kinds (DOMAIN.md). Items say which slots and calls move."""

    __tablename__ = "swap_request"
    __table_args__ = (Index("ix_swap_status", "status"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requester_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    counterpart_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    executed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    executed_changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SwapItem(SyncedMixin, Base):
    """One slot or call night that moves in a swap. side 'give' = from requester, 'take' = back."""

    __tablename__ = "swap_item"
    swap_id: Mapped[str] = mapped_column(ForeignKey("swap_request.id"), index=True)
    side: Mapped[str] = mapped_column(String(8))  # give | take
    item_kind: Mapped[str] = mapped_column(String(8))  # slot | call
    date: Mapped[dt.date] = mapped_column(Date)
    slot: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Notification(Base):
    """An in-app notice for a person (or for coordinators when person_id is NULL)."""

    __tablename__ = "notification"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    read: Mapped[bool] = mapped_column(Boolean, default=False)
