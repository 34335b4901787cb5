"""The duty-hour hard rules on the server (SYNC.md: "the server runs the same domain checks as the
client ... hard rules").

Before a push's assignment and call ops are accepted, core's compliance engine checks them against
the server's copy of the program: `core.rules.engine.check_change` on a snapshot built from the
server's rows (in an in-memory SQLite database with core's schema). An op is refused when the
change would *add* a critical violation of a duty-hour rule (`DUTY_RULES`) for a person it touches;
a violation that was already there does not block an unrelated edit.

What the snapshot holds: every row of the program's small tables (people, years, activities, rule
settings ...) as the batch leaves them, and the assignments, calls and absences of the people the
batch touches over their touched dates +- `MARGIN_DAYS` (every rolling window that contains a touched
day lies inside), as they were before the batch. Slot-level rules (supervision, coverage) need
everybody in the slot and are left to the client, as before.

A batch is checked as one change (one snapshot, one `check_change`). When that adds critical
violations, the ops of the person concerned whose day lies in the violation's span (+- one day) are
refused with the rule's sentence and the batch is run again without them; a single op (the usual
interactive edit) is therefore judged exactly.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool
from sqlalchemy.schema import CreateIndex, CreateTable

from core.rules.engine import ProposedChange, check_change
from core.snapshot import build_snapshot
from core.store import models as m
from core.sync.rows import TABLES, RowError, decode_row
from server import models as sm

log = logging.getLogger(__name__)

DUTY_RULES = frozenset({"H80", "Q3", "C24", "R14", "ABS"})
MARGIN_DAYS = 35
PER_PERSON = ("assignment", "call_assignment", "absence")
CHECKED = ("assignment", "call_assignment")


def _day(value: Any) -> dt.date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def duty_refusals(session: Session, program_id: str, changes: list[dict[str, Any]],
                  before: dict[tuple[str, str], dict[str, Any] | None],
                  final: dict[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
    """Op id -> the rule's sentence, for the ops that add a critical duty-hour violation.

    `changes`: the batch's accepted changes (table_name, row_id, data, op_id) in order;
    `before`: the images of the touched rows before the batch (None = new);
    `final`: every row image the batch wrote (table, row id) -> data, as the batch leaves it.
    """
    touched = [c for c in changes if c["table_name"] in CHECKED]
    if not touched:
        return {}
    people: set[str] = set()
    days: list[dt.date] = []
    for c in touched:
        for image in (c["data"], before.get((c["table_name"], c["row_id"]))):
            if image:
                people.add(str(image.get("person_id")))
                d = _day(image.get("date"))
                if d:
                    days.append(d)
    if not days:
        return {}
    start = min(days) - dt.timedelta(days=MARGIN_DAYS)
    end = max(days) + dt.timedelta(days=MARGIN_DAYS)
    try:
        return _check(session, program_id, touched, before, final, people, start, end)
    except Exception:  # noqa: BLE001 - the checker must never stop a sync; the client checks too
        log.exception("duty-hour check skipped for a push to program %s", program_id)
        return {}


_scratch_lock = threading.Lock()
_scratch_engine: Engine | None = None


def _scratch() -> Engine:
    """The in-memory SQLite engine the checks build their snapshots in (one for the process).

    Each thread gets its own connection, hence its own database (SingletonThreadPool), with core's
    schema made when it connects; a check writes its rows in a transaction it rolls back. One engine
    means SQLAlchemy compiles the inserts and the snapshot's queries once, not once per push.
    """
    global _scratch_engine
    with _scratch_lock:
        if _scratch_engine is None:
            engine = create_engine("sqlite://", poolclass=SingletonThreadPool, pool_size=16)
            tables = [t for t in m.Base.metadata.sorted_tables if t.name in TABLES]
            ddl = [str(CreateTable(t).compile(dialect=engine.dialect)) for t in tables]
            ddl += [str(CreateIndex(i).compile(dialect=engine.dialect)) for t in tables for i in t.indexes]

            @event.listens_for(engine, "connect")
            def _schema(dbapi_connection: Any, _record: Any) -> None:
                cur = dbapi_connection.cursor()
                for statement in ddl:
                    cur.execute(statement)
                cur.execute("PRAGMA foreign_keys = OFF")
                cur.close()

            _scratch_engine = engine
        return _scratch_engine


def _load(session: Session, program_id: str, people: set[str], start: dt.date,
          end: dt.date) -> dict[tuple[str, str], dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    small = [t for t in TABLES if t not in PER_PERSON]
    q = select(sm.Row.table_name, sm.Row.row_id, sm.Row.data).where(
        sm.Row.program_id == program_id, sm.Row.table_name.in_(small))
    for t, rid, data in session.execute(q):
        rows[(t, rid)] = data
    q = select(sm.Row.table_name, sm.Row.row_id, sm.Row.data).where(
        sm.Row.program_id == program_id, sm.Row.table_name.in_(PER_PERSON),
        sm.Row.data["person_id"].as_string().in_(sorted(people)))
    lo, hi = start.isoformat(), end.isoformat()
    for t, rid, data in session.execute(q):
        first = str(data.get("date") or data.get("start_date") or "")
        last = str(data.get("date") or data.get("end_date") or "")
        if last >= lo and first <= hi:
            rows[(t, rid)] = data
    return rows


def _check(session: Session, program_id: str, touched: list[dict[str, Any]],
           before: dict[tuple[str, str], dict[str, Any] | None], final: dict[tuple[str, str], dict[str, Any]],
           people: set[str], start: dt.date, end: dt.date) -> dict[str, str]:
    rows = _load(session, program_id, people, start, end)
    for key, data in final.items():  # the batch's other rows (a program pushed with its people)
        if key[0] not in PER_PERSON:
            rows[key] = data
    for key in {(c["table_name"], c["row_id"]) for c in touched}:  # the touched rows as before the batch
        old = before.get(key)
        if old is None:
            rows.pop(key, None)
        else:
            rows[key] = old
    by_table: dict[str, list[dict[str, Any]]] = {}
    for (t, _rid), data in rows.items():
        try:
            by_table.setdefault(t, []).append(decode_row(t, data))
        except RowError:
            continue
    with Session(_scratch()) as s:
        try:
            for table in m.Base.metadata.sorted_tables:
                if by_table.get(table.name):
                    s.execute(insert(table), by_table[table.name])
            s.flush()
            snapshot = build_snapshot(s, program_id, start, end, include_archived=True)
        finally:
            s.rollback()  # the scratch database is empty again for the next check
    change = _proposed(touched, before, snapshot)
    result = check_change(snapshot, change)
    bad = [v for v in result.added if v.severity == "critical" and v.rule in DUTY_RULES and v.person_id in people]
    refusals: dict[str, str] = {}
    for v in bad:
        lo = _as_date(v.start) - dt.timedelta(days=1)
        hi = _as_date(v.end) + dt.timedelta(days=1)
        for c in touched:
            images = [c["data"], before.get((c["table_name"], c["row_id"])) or {}]
            for image in images:
                d = _day(image.get("date"))
                if image.get("person_id") == v.person_id and d is not None and lo <= d <= hi:
                    refusals.setdefault(c["op_id"], f"A hard rule would be broken ({v.rule}): {v.message}")
    return refusals


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _proposed(touched: Iterable[dict[str, Any]], before: dict[tuple[str, str], dict[str, Any] | None],
              snapshot: Any) -> ProposedChange:
    """The batch's net effect on assignments and calls, as a ProposedChange inside the snapshot."""
    cells: dict[tuple[str, str, int], str | None] = {}
    nights: dict[tuple[str, str], tuple[str | None, float | None]] = {}
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for c in touched:
        last[(c["table_name"], c["row_id"])] = c["data"]
    for (table, row_id), new in last.items():
        old = before.get((table, row_id))
        if table == "assignment":
            if old and not old.get("deleted"):
                cells.setdefault((old["person_id"], old["date"], int(old["slot"])), None)
            if not new.get("deleted"):
                cells[(new["person_id"], new["date"], int(new["slot"]))] = new.get("activity_id")
        else:
            if old and not old.get("deleted"):
                nights.setdefault((old["person_id"], old["date"]), (None, None))
            if not new.get("deleted"):
                nights[(new["person_id"], new["date"])] = (new.get("call_type"), new.get("hours_worked"))
    known = snapshot.person_index
    return ProposedChange(
        assignments=tuple((p, dt.date.fromisoformat(d), s, a) for (p, d, s), a in cells.items() if p in known),
        calls=tuple((p, dt.date.fromisoformat(d), ct, h) for (p, d), (ct, h) in nights.items() if p in known),
    )
