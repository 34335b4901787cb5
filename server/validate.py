"""Check a row against the client database's own constraints before accepting it.

Every client stores rows in core's SQLite schema; a row the server accepts must be writable there,
or every client's pull would stop on it. So each candidate row is inserted into an in-memory
database built from core's models (CHECK and NOT NULL constraints exactly as on a laptop) inside a
savepoint that is rolled back. Foreign keys and unique keys are checked by the push itself, against
the server's rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import threading
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from core.store import models as m
from core.sync.rows import TABLES

_lock = threading.Lock()
_con: sqlite3.Connection | None = None


def _connection() -> sqlite3.Connection:
    """One in-memory database for the process (built once; used under `_lock`)."""
    global _con
    if _con is None:
        con = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        engine = create_engine("sqlite://", creator=lambda: con, poolclass=StaticPool)
        m.Base.metadata.create_all(engine, tables=[TABLES[name].table for name in TABLES])
        con.execute("PRAGMA foreign_keys = OFF")
        _con = con
    return _con


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _sql_value(value: Any) -> Any:
    if value.__class__ in _PLAIN:
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


_CHECK = re.compile(r"CHECK constraint failed: (\w+)")


def constraint_refusal(table: str, values: dict[str, Any]) -> str | None:
    """Why core's schema would refuse this row, or None. `values` are typed (decode_row)."""
    with _lock:
        return _refusal(_connection(), table, values)


def _refusal(con: sqlite3.Connection, table: str, values: dict[str, Any]) -> str | None:
    cols = list(values)
    names = ", ".join(f'"{c}"' for c in cols)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})'
    con.execute("SAVEPOINT check_row")
    try:
        con.execute(sql, [_sql_value(values[c]) for c in cols])
    except sqlite3.IntegrityError as exc:
        found = _CHECK.search(str(exc))
        if found:
            return f"A value is outside what is allowed ({found.group(1).replace('_', ' ')})."
        return f"The row does not fit the program's data ({exc})."
    finally:
        con.execute("ROLLBACK TO check_row")
        con.execute("RELEASE check_row")
    return None


def all_fit(rows: list[tuple[str, dict[str, Any]]]) -> bool:
    """True when core's schema accepts every row (typed values); False means "check one by one".

    A push's accepted rows are checked together: one executemany per table (and per column set)
    inside one savepoint. Rows that share an id (a row inserted, then edited in one batch) go in
    separate rounds, since each version is checked on its own. Any failure answers False and the
    caller checks row by row with `constraint_refusal`, which names the reason.
    """
    rounds: list[dict[tuple[str, tuple[str, ...]], list[list[Any]]]] = []
    seen: dict[tuple[str, Any], int] = {}
    for table, values in rows:
        n = seen.get((table, values.get("id")), 0)
        seen[(table, values.get("id"))] = n + 1
        if n == len(rounds):
            rounds.append({})
        cols = tuple(values)
        rounds[n].setdefault((table, cols), []).append([_sql_value(values[c]) for c in cols])
    with _lock:
        con = _connection()
        for group in rounds:
            con.execute("SAVEPOINT check_rows")
            try:
                for (table, cols), params in group.items():
                    names = ", ".join(f'"{c}"' for c in cols)
                    con.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})', params)
            except sqlite3.IntegrityError:
                return False
            finally:
                con.execute("ROLLBACK TO check_rows")
                con.execute("RELEASE check_rows")
    return True
