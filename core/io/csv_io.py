"""CSV exports: people, absences, assignments, calls, violations.

UTF-8 with a byte-order mark (Excel opens it with the right accents), comma-separated, one header
row. A text value starting with =, +, -, @ (or a tab / carriage return) gets a leading apostrophe so
a spreadsheet never runs it as a formula (CSV injection); numbers and dates are written plainly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from core.calendar import SLOT_NAMES
from core.errors import ValidationError
from core.io.grid import YearData, group_label
from core.services.absences import list_absences
from core.services.base import ServiceContext

TABLES = ("people", "absences", "assignments", "calls", "violations")
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """A cell value that a spreadsheet will show as text, never evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_RISKY):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([safe(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def people_csv(data: YearData) -> bytes:
    return _csv(
        ("id", "name", "kind", "group", "pgy", "faculty_role", "clinic_cap_per_week", "email", "archived"),
        ((p.id, p.name, p.kind, group_label(p), p.pgy, p.faculty_role, p.clinic_cap_per_week, p.email, p.archived)
         for p in data.people))


def absences_csv(ctx: ServiceContext, data: YearData) -> bytes:
    rows = []
    for a in list_absences(ctx, start=data.year.start, end=data.year.end):
        person = data.person_by_id.get(a.person_id)
        if person is None:
            continue
        rows.append((person.name, a.type, a.start, a.end, a.days, a.status, a.blocking, a.counts_away, a.note,
                     a.person_id, a.id))
    return _csv(("person", "type", "start", "end", "days", "status", "blocking", "counts_away", "note",
                 "person_id", "id"), rows)


def assignments_csv(data: YearData) -> bytes:
    order = {p.id: i for i, p in enumerate(data.people)}
    rows = sorted(data.assignments, key=lambda a: (a.date, a.slot, order[a.person_id]))
    return _csv(
        ("date", "weekday", "slot", "person", "group", "code", "activity", "source", "locked", "person_id"),
        ((a.date, f"{a.date:%a}", SLOT_NAMES[a.slot], data.person_by_id[a.person_id].name,
          group_label(data.person_by_id[a.person_id]), data.activity_by_id[a.activity_id].code,
          data.activity_by_id[a.activity_id].name, a.source, a.locked, a.person_id) for a in rows))


def calls_csv(data: YearData) -> bytes:
    rows = sorted(data.calls, key=lambda c: (c.date, data.person_by_id[c.person_id].name))
    return _csv(("date", "weekday", "person", "group", "call_type", "service", "hours_worked", "person_id"),
                ((c.date, f"{c.date:%a}", data.person_by_id[c.person_id].name,
                  group_label(data.person_by_id[c.person_id]), c.call_type, c.service, c.hours_worked, c.person_id)
                 for c in rows))


def violations_csv(ctx: ServiceContext, data: YearData, start: dt.date | None = None,
                   end: dt.date | None = None) -> bytes:
    """Every rule violation (core.rules.engine.validate) over the year or [start, end]."""
    from core.rules.engine import validate
    from core.snapshot import build_snapshot

    first, last = start or data.year.start, end or data.year.end
    snap = ctx.read(lambda s: build_snapshot(s, data.program.id, first, last))
    result = validate(snap)
    return _csv(
        ("rule", "severity", "person", "start", "end", "value", "limit", "message", "day", "slot", "activity",
         "person_id"),
        ((v.rule, v.severity, v.person_name, v.start, v.end, v.value, v.limit, v.message, v.day,
          SLOT_NAMES[v.slot] if v.slot is not None else None, v.activity_code, v.person_id)
         for v in result.violations))


def export_csv(ctx: ServiceContext, data: YearData, table: str, out: Path | None = None) -> bytes:
    if table == "people":
        payload = people_csv(data)
    elif table == "absences":
        payload = absences_csv(ctx, data)
    elif table == "assignments":
        payload = assignments_csv(data)
    elif table == "calls":
        payload = calls_csv(data)
    elif table == "violations":
        payload = violations_csv(ctx, data)
    else:
        raise ValidationError(f"There is no CSV export of {table!r}; choose {', '.join(TABLES)}.", field="table")
    if out is not None:
        out.write_bytes(payload)
    return payload
