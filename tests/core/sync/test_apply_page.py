"""Applying a pulled page: the one-pass path (JSON values straight into the statements' parameters,
taken when no row of the page has pending local ops) stores exactly what the general path stores,
and a row it cannot take still gets the general path's error with nothing written."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import core.sync.client as client_mod
from core.services import catalog, people, programs, schedule
from core.services.base import ServiceContext
from core.services.schedule import SlotEdit
from core.store import models as m
from core.store.db import open_database, session_factory
from core.sync.auth import SyncError
from core.sync.client import SyncClient
from core.sync.rows import TABLES, encode_row


def _page(tmp_path: Path) -> tuple[str, list[dict[str, Any]]]:
    """Every synced row of a small program (booleans, nulls, dates, texts), parents first, as changes."""
    ctx = ServiceContext(open_database(tmp_path / "src.sqlite").engine)
    prog = programs.create_program(ctx, "Apply FM", start_year=2026).value
    act = catalog.create_activity(ctx, prog.id, code="C", name="Clinic", category="clinic").value
    res = people.create_person(ctx, prog.id, "Dr Lee", "resident", academic_year=2026, pgy=1).value
    people.create_person(ctx, prog.id, "Dr Smith", "faculty", faculty_role="core")
    schedule.assign_slots(ctx, [SlotEdit(res.id, dt.date(2026, 9, 14) + dt.timedelta(days=i), i % 2, act.id)
                                for i in range(6)], reason="note é \"quoted\"")
    changes = []
    with session_factory(ctx.engine)() as s:
        for table in (t for t in m.Base.metadata.sorted_tables if t.name in TABLES):
            for row in s.execute(select(table)).mappings():
                changes.append({"table": table.name, "row_id": row["id"], "data": encode_row(dict(row)), "hlc": ""})
    return prog.id, changes


def _apply(path: Path, pid: str, changes: list[dict[str, Any]]) -> SyncClient:
    sc = SyncClient(open_database(path).engine, None, pid)  # type: ignore[arg-type]
    assert sc.apply_page(changes, len(changes), expect_cursor=0)
    return sc


def _stored(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The stored values as SQLite holds them (text of dates, 0/1 of booleans), per synced table."""
    con = sqlite3.connect(path)
    try:
        return {name: sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr) for name in TABLES}
    finally:
        con.close()


def test_one_pass_apply_stores_what_the_general_path_stores(tmp_path: Path, monkeypatch) -> None:
    pid, changes = _page(tmp_path)
    assert any(c["table"] == "assignment" for c in changes)
    used = []
    real = client_mod._wire_runs

    def spy(conn, page):
        runs = real(conn, page)
        used.append(runs is not None)
        return runs

    monkeypatch.setattr(client_mod, "_wire_runs", spy)
    _apply(tmp_path / "fast.sqlite", pid, changes)
    assert used == [True]
    monkeypatch.setattr(client_mod, "_wire_runs", lambda conn, page: None)
    _apply(tmp_path / "general.sqlite", pid, changes)
    fast, general = _stored(tmp_path / "fast.sqlite"), _stored(tmp_path / "general.sqlite")
    assert fast == general
    assert len(fast["assignment"]) == 6
    assert any("2026-09-14" in row for row in fast["assignment"])


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("date", "2026-02-30", "must be a date"),
    ("slot", "1", "whole number"),
    ("extra", 1, "has no field"),
])
def test_a_bad_row_gets_the_general_error_and_nothing_is_written(tmp_path: Path, field, value, reason) -> None:
    pid, changes = _page(tmp_path)
    bad = next(c for c in reversed(changes) if c["table"] == "assignment")
    bad["data"] = {**bad["data"], field: value}
    path = tmp_path / "client.sqlite"
    sc = SyncClient(open_database(path).engine, None, pid)  # type: ignore[arg-type]
    with pytest.raises(SyncError, match=reason):
        sc.apply_page(changes, len(changes), expect_cursor=0)
    assert sc.cursor() == 0
    assert all(rows == [] for rows in _stored(path).values())
