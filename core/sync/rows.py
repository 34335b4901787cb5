"""Row images on the wire: JSON values <-> Python values of the synced tables (SYNC.md).

A row travels as a JSON object of its columns (dates as ISO strings, as in
`core.services.base.row_image`). Client and server both use `decode_row` to turn such an object
back into typed values; it is also where a malformed value is refused with one sentence, so a row
the server accepted can always be written by every client.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from core.store import models as m

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
SYNCED_TABLES: frozenset[str] = frozenset(
    t.name for t in m.Base.metadata.sorted_tables if "version" in t.c and "deleted" in t.c
)
SYNC_META_COLUMNS = frozenset({"id", "version", "deleted"})


class RowError(ValueError):
    """A row image that cannot be stored; `str()` is the reason."""


@dataclass(frozen=True)
class TableInfo:
    """What the sync layer needs to know about one synced table (derived from core's models)."""

    name: str
    table: Table
    columns: tuple[str, ...]
    free_text: frozenset[str]
    natural_key: tuple[str, ...]  # the first UNIQUE constraint besides the primary key; () = none
    foreign_keys: tuple[tuple[str, str], ...]  # (column, referred table)


def _info(table: Table) -> TableInfo:
    key: tuple[str, ...] = ()
    for c in table.constraints:
        if isinstance(c, UniqueConstraint):
            key = tuple(col.name for col in c.columns)
            break
    fks = tuple(
        (col.name, next(iter(col.foreign_keys)).column.table.name) for col in table.columns if col.foreign_keys
    )
    free = frozenset(c.name for c in table.columns if isinstance(c.type, Text))
    return TableInfo(table.name, table, tuple(c.name for c in table.columns), free, key, fks)


TABLES: dict[str, TableInfo] = {name: _info(m.Base.metadata.tables[name]) for name in SYNCED_TABLES}


def table_info(name: str) -> TableInfo:
    try:
        return TABLES[name]
    except KeyError:
        raise RowError(f"{name!r} is not a synced table.") from None


def _decode_value(col: Column[Any], value: Any) -> Any:
    name = col.name
    if value is None:
        if not col.nullable:
            raise RowError(f"{name} may not be empty.")
        return None
    t = col.type
    if isinstance(t, Boolean):
        if not isinstance(value, bool):
            raise RowError(f"{name} must be true or false.")
        return value
    if isinstance(t, Integer):
        if isinstance(value, bool) or not isinstance(value, int) or not INT_MIN <= value <= INT_MAX:
            raise RowError(f"{name} must be a whole number.")
        return value
    if isinstance(t, Float):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RowError(f"{name} must be a number.")
        return float(value)
    if isinstance(t, DateTime):
        if not isinstance(value, str):
            raise RowError(f"{name} must be a date and time (ISO 8601).")
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            raise RowError(f"{name} must be a date and time (ISO 8601).") from None
        return stamp
    if isinstance(t, Date):
        if not isinstance(value, str) or len(value) != 10:
            raise RowError(f"{name} must be a date (YYYY-MM-DD).")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise RowError(f"{name} must be a date (YYYY-MM-DD).") from None
    if isinstance(t, String):  # Text is a String
        if not isinstance(value, str):
            raise RowError(f"{name} must be text.")
        if "\x00" in value:
            raise RowError(f"{name} contains a NUL character.")
        if t.length is not None and len(value) > t.length:
            raise RowError(f"{name} is longer than {t.length} characters.")
        return value
    if isinstance(t, JSON):
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise RowError(f"{name} must be plain JSON.") from None
        if "\\u0000" in text:
            raise RowError(f"{name} contains a NUL character.")
        return value
    raise RowError(f"{name} has a type the sync layer does not know.")  # pragma: no cover - models guard


def decode_fields(table: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for some columns of `table`; RowError names the first bad one."""
    info = table_info(table)
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key not in info.table.c:
            raise RowError(f"{table} has no field {key!r}.")
        out[key] = _decode_value(info.table.c[key], value)
    return out


def decode_row(table: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for a whole row image; every column must be present."""
    info = table_info(table)
    missing = [c for c in info.columns if c not in data]
    if missing:
        raise RowError(f"The {table} row lacks {', '.join(missing)}.")
    return decode_fields(table, data)


def encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def encode_row(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: encode_value(v) for k, v in values.items()}


def natural_key(table: str, data: Mapping[str, Any]) -> str | None:
    """The row's natural key as one string (e.g. person|date|slot for an assignment), None if none."""
    info = TABLES.get(table)
    if info is None or not info.natural_key:
        return None
    parts = [data.get(c) for c in info.natural_key]
    if any(p is None for p in parts):
        return None  # SQL UNIQUE never collides on NULL
    return json.dumps(parts, separators=(",", ":"), default=str)
