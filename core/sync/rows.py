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
from collections.abc import Callable, Mapping
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


Decoder = Callable[[Any], Any]


def _column_decoder(col: Column[Any]) -> Decoder:
    """`_decode_value` for one column with the type tests done once (the pull's hot path).

    The common, well-formed value takes one type test; anything else goes to `_decode_value`, so the
    accepted values and the error sentences are exactly the same.
    """
    t = col.type
    slow: Decoder = lambda value: _decode_value(col, value)  # noqa: E731
    if isinstance(t, Boolean):
        return lambda v: v if v.__class__ is bool else slow(v)
    if isinstance(t, Integer):
        return lambda v: v if v.__class__ is int and INT_MIN <= v <= INT_MAX else slow(v)
    if isinstance(t, Date) and not isinstance(t, DateTime):
        from_iso = dt.date.fromisoformat

        def date(v: Any) -> Any:
            if v.__class__ is str and len(v) == 10:
                try:
                    return from_iso(v)
                except ValueError:
                    pass
            return slow(v)

        return date
    if isinstance(t, String) and not isinstance(t, JSON):
        length = t.length

        def string(v: Any) -> Any:
            if v.__class__ is str and "\x00" not in v and (length is None or len(v) <= length):
                return v
            return slow(v)

        return string
    return slow


_DECODERS: dict[str, dict[str, Decoder]] = {}


def _decoders(table: str) -> dict[str, Decoder]:
    decoders = _DECODERS.get(table)
    if decoders is None:
        info = table_info(table)
        decoders = {c.name: _column_decoder(c) for c in info.table.columns}
        _DECODERS[table] = decoders
    return decoders


def column_decoders(table: str) -> dict[str, Decoder]:
    """Per column of `table`, the function from its JSON value to the typed value (RowError if bad)."""
    return _decoders(table)


def decode_fields(table: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for some columns of `table`; RowError names the first bad one."""
    decoders = _decoders(table)
    out: dict[str, Any] = {}
    for key, value in fields.items():
        dec = decoders.get(key)
        if dec is None:
            raise RowError(f"{table} has no field {key!r}.")
        out[key] = dec(value)
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
    out = []
    for p in parts:  # the usual parts (ids, ISO dates, slot numbers) written as json.dumps would
        if p.__class__ is str and p.isascii() and p.isprintable() and '"' not in p and "\\" not in p:
            out.append(f'"{p}"')
        elif p.__class__ is int:
            out.append(str(p))
        else:
            return json.dumps(parts, separators=(",", ":"), default=str)
    return f"[{','.join(out)}]"
