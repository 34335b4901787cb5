"""The unit of work every write service runs in.

A write service is a function `fn(work, ...)` run by `ServiceContext.write(...)`: one SQLAlchemy
session, one transaction. Every row it inserts, updates or tombstones is recorded as a `RowChange`
(before and after images). At the end, in the same transaction, an audit event (hash-chained) and
one outbox record per row change are appended; then it commits. The caller gets a `ChangeSet`:
which people and dates changed (so views refresh only those) and the row changes, whose inverse
undoes the edit exactly (`core.services.undo`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConflictError, DatabaseError, SchedulerError
from core.store import models as m
from core.store.db import session_factory
from core.store.models import new_id

T = TypeVar("T")
GENESIS_HASH = "0" * 64


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row_image(obj: Any) -> dict[str, Any]:
    """A JSON-able dict of the mapped columns of an ORM object."""
    mapper = inspect(obj).mapper
    return {c.key: _jsonable(getattr(obj, c.key)) for c in mapper.column_attrs}


@dataclass(frozen=True)
class RowChange:
    table: str
    row_id: str
    before: dict[str, Any] | None  # None = the row did not exist
    after: dict[str, Any] | None

    def inverse(self) -> RowChange:
        return RowChange(self.table, self.row_id, self.after, self.before)


@dataclass(frozen=True)
class ChangeSet:
    """What an edit changed: people x dates touched, and the row changes (for undo)."""

    action: str
    people: frozenset[str] = frozenset()
    dates: frozenset[dt.date] = frozenset()
    tables: frozenset[str] = frozenset()
    rows: tuple[RowChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.rows

    def inverse_rows(self) -> tuple[RowChange, ...]:
        return tuple(r.inverse() for r in reversed(self.rows))


@dataclass(frozen=True)
class Result(Generic[T]):
    value: T
    changes: ChangeSet


class HybridClock:
    """Hybrid logical clock for ordering and display of ops (never to decide a conflict)."""

    def __init__(self, node: str, now_ms: Callable[[], int]) -> None:
        self.node = node
        self._now_ms = now_ms
        self.physical = 0
        self.counter = 0

    def tick(self) -> str:
        now = self._now_ms()
        if now > self.physical:
            self.physical, self.counter = now, 0
        else:
            self.counter += 1
        return f"{self.physical:015d}-{self.counter:05d}-{self.node}"

    def observe(self, stamp: str) -> None:
        phys, counter, _node = stamp.split("-", 2)
        p, c = int(phys), int(counter)
        if p > self.physical or (p == self.physical and c > self.counter):
            self.physical, self.counter = p, c


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class ServiceContext:
    """Everything a service needs: the database, who acts, and the clock. Passed explicitly."""

    engine: Engine
    actor: str = "coordinator"
    clock: Callable[[], dt.datetime] = _utcnow
    node: str = "local"
    _factory: sessionmaker[Session] | None = field(default=None, repr=False)
    _hlc: HybridClock | None = field(default=None, repr=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._factory is None:
            self._factory = session_factory(self.engine)
        return self._factory

    @property
    def hlc(self) -> HybridClock:
        if self._hlc is None:
            self._hlc = HybridClock(self.node, lambda: int(self.clock().timestamp() * 1000))
        return self._hlc

    def today(self) -> dt.date:
        return self.clock().date()

    def read(self, fn: Callable[[Session], T]) -> T:
        """Run a read-only function in its own session."""
        with self.sessions() as session:
            return fn(session)

    def write(
        self,
        action: str,
        fn: Callable[[Work], T],
        *,
        reason: str | None = None,
        entity: str = "",
        entity_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> Result[T]:
        """Run `fn` in one transaction, with audit and outbox, and return its value + ChangeSet."""
        session = self.sessions()
        try:
            session.connection(execution_options={"sqlite_immediate": True})
            work = Work(session, self)
            value = fn(work)
            session.flush()
            changes = work.change_set(action)
            append_audit(
                session, self, action=action, entity=entity or _main_table(changes),
                entity_id=entity_id, reason=reason,
                detail={"rows": len(changes.rows), **(detail or {})},
            )
            append_outbox_many(session, self, changes.rows)
            session.commit()
            return Result(value, changes)
        except SchedulerError:
            session.rollback()
            raise
        except IntegrityError as exc:
            session.rollback()
            raise ConflictError(_integrity_message(exc)) from exc
        except OperationalError as exc:
            session.rollback()
            raise translate_operational(exc) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def _main_table(changes: ChangeSet) -> str:
    return changes.rows[0].table if changes.rows else ""


def _integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    if "uq_assignment_person_slot" in text or "assignment.person_id, assignment.date, assignment.slot" in text:
        return "That person already has an activity in that slot (one activity per person per slot)."
    if "UNIQUE" in text:
        return "That would create a duplicate of an existing entry; nothing was changed."
    if "FOREIGN KEY" in text:
        return "That refers to something that does not exist; nothing was changed."
    if "CHECK" in text:
        return "A value is outside what is allowed; nothing was changed."
    return "The change conflicts with existing data; nothing was changed."


def translate_operational(exc: OperationalError | sqlite3.OperationalError) -> DatabaseError:
    text = str(getattr(exc, "orig", None) or exc)
    if "full" in text:
        return DatabaseError("The disk is full (or the database reached its size limit); the change was not saved.")
    if "locked" in text or "busy" in text:
        return DatabaseError("The database is busy in another window or program; try again in a moment.")
    if "readonly" in text or "read-only" in text:
        return DatabaseError("The database file is read-only; the change was not saved.")
    return DatabaseError(f"The database could not save the change ({text}).")


class Work:
    """The recording session handed to a write service."""

    def __init__(self, session: Session, ctx: ServiceContext) -> None:
        self.session = session
        self.ctx = ctx
        self._rows: list[RowChange] = []
        self._people: set[str] = set()
        self._dates: set[dt.date] = set()

    # ------------------------------------------------------------------------------ recording
    def touch(self, person_id: str | None = None, date: dt.date | None = None) -> None:
        if person_id:
            self._people.add(person_id)
        if date:
            self._dates.add(date)

    def _note(self, obj: Any, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        table = obj.__tablename__
        row_id = str(getattr(obj, "id", None) or getattr(obj, "seq", ""))
        self._rows.append(RowChange(table, row_id, before, after))
        pid = getattr(obj, "person_id", None)
        day = getattr(obj, "date", None)
        self.touch(pid, day if isinstance(day, dt.date) else None)
        if isinstance(obj, m.Absence | m.Person):
            self.touch(obj.person_id if isinstance(obj, m.Absence) else obj.id)

    def add(self, obj: T) -> T:
        self.session.add(obj)
        self.session.flush()
        self._note(obj, None, row_image(obj))
        return obj

    def set(self, obj: Any, **values: Any) -> Any:
        before = row_image(obj)
        changed = False
        for k, v in values.items():
            if getattr(obj, k) != v:
                setattr(obj, k, v)
                changed = True
        if changed:  # no flush here: the unit of work flushes once (and before each query)
            self._note(obj, before, row_image(obj))
        return obj

    def tombstone(self, obj: Any) -> None:
        """Delete: synced rows get `deleted = True` (SYNC.md), never a hard delete."""
        self.set(obj, deleted=True)

    def record_external(self, obj: Any, before: dict[str, Any] | None) -> None:
        """Record a change made to `obj` directly (bulk paths)."""
        self._note(obj, before, row_image(obj))

    def change_set(self, action: str) -> ChangeSet:
        return ChangeSet(
            action=action,
            people=frozenset(self._people),
            dates=frozenset(self._dates),
            tables=frozenset(r.table for r in self._rows),
            rows=tuple(self._rows),
        )


# ------------------------------------------------------------------------------------ audit log
def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def audit_payload(ev: m.AuditEvent) -> dict[str, Any]:
    at = ev.at if ev.at.tzinfo else ev.at.replace(tzinfo=dt.UTC)
    return {
        "seq": ev.seq, "at": at.astimezone(dt.UTC).isoformat(), "actor": ev.actor, "action": ev.action,
        "entity": ev.entity, "entity_id": ev.entity_id, "detail": ev.detail, "reason": ev.reason,
    }


def audit_hash(prev_hash: str, ev: m.AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _canonical(audit_payload(ev))).encode()).hexdigest()


def append_audit(
    session: Session,
    ctx: ServiceContext,
    *,
    action: str,
    entity: str,
    entity_id: str | None,
    reason: str | None,
    detail: dict[str, Any],
) -> m.AuditEvent:
    last = session.execute(select(m.AuditEvent.seq, m.AuditEvent.hash).order_by(m.AuditEvent.seq.desc()).limit(1)).first()
    prev_hash = last[1] if last else GENESIS_HASH
    seq = (last[0] + 1) if last else 1
    ev = m.AuditEvent(
        seq=seq, at=ctx.clock(), actor=ctx.actor, action=action, entity=entity, entity_id=entity_id,
        detail=detail, reason=reason, prev_hash=prev_hash, hash="",
    )
    ev.hash = audit_hash(prev_hash, ev)
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_bad_seq: int | None
    message: str


def verify_chain(session: Session) -> ChainReport:
    """Recompute the audit hash chain; report the first event that does not verify."""
    prev = GENESIS_HASH
    n = 0
    for ev in session.scalars(select(m.AuditEvent).order_by(m.AuditEvent.seq)):
        n += 1
        if ev.prev_hash != prev or audit_hash(prev, ev) != ev.hash:
            return ChainReport(False, n, ev.seq, f"The audit log was altered at event {ev.seq} ({ev.action}).")
        prev = ev.hash
    return ChainReport(True, n, None, f"The audit log verifies ({n} events).")


# ---------------------------------------------------------------------------------------- outbox
def outbox_row(ctx: ServiceContext, rc: RowChange) -> dict[str, Any] | None:
    """The outbox record (as column values) for one row change; None for tables that do not sync."""
    if rc.table not in SYNCED_TABLES:
        return None
    if rc.before is None:
        op, fields, previous, base = "insert", dict(rc.after or {}), {}, 0
    elif rc.after is None:
        op, fields, previous, base = "delete", {}, dict(rc.before), int(rc.before.get("version", 0))
    else:
        keys = [k for k in rc.after if rc.after.get(k) != rc.before.get(k)]
        op = "delete" if rc.after.get("deleted") and not rc.before.get("deleted") else "update"
        fields = {k: rc.after[k] for k in keys}
        previous = {k: rc.before.get(k) for k in keys}
        base = int(rc.before.get("version", 0))
    return {
        "op_id": new_id(), "table_name": rc.table, "row_id": rc.row_id, "op": op, "base_version": base,
        "fields": fields, "previous": previous, "hlc": ctx.hlc.tick(), "created_at": ctx.clock(),
        "status": "pending",
    }


def append_outbox(session: Session, ctx: ServiceContext, rc: RowChange) -> None:
    append_outbox_many(session, ctx, (rc,))


def append_outbox_many(session: Session, ctx: ServiceContext, changes: Sequence[RowChange]) -> None:
    """One outbox record per row change, written with one multi-row INSERT (a large import or
    undo writes tens of thousands)."""
    rows = [r for r in (outbox_row(ctx, rc) for rc in changes) if r is not None]
    if rows:
        session.execute(insert(m.OutboxRecord), rows)


SYNCED_TABLES = frozenset(
    t.name for t in m.Base.metadata.sorted_tables if "version" in t.c and "deleted" in t.c
)
