"""The SQLite layer: pragmas on every connection, migrations with a backup first, newer schemas
refused, the integrity check and restore, the one-activity-per-slot key, a full disk."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import core.store.db as store_db
from core.errors import DatabaseError, NewerSchemaError
from core.store import models as m
from core.store.db import (
    BUSY_TIMEOUT_MS,
    backup_database,
    list_backups,
    make_engine,
    open_database,
    quick_check,
    read_schema_version,
    restore_backup,
    session_factory,
    table_names,
    unit_of_work,
)
from tests.helpers.small_program import build_small_program

EXPECTED_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2, "busy_timeout": BUSY_TIMEOUT_MS}


def pragmas_of(connection: Any) -> dict[str, Any]:
    return {name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in EXPECTED_PRAGMAS}


def files_of(path: Path) -> bytes:
    """The database file's bytes, after checking that no write is pending in a -wal companion.

    (SQLite's read-only probes of a WAL file may leave an empty -wal and a -shm index beside it;
    neither holds data.)
    """
    wal = Path(str(path) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return path.read_bytes()


# ------------------------------------------------------------------------------------------ pragmas
def test_pragmas_on_every_pooled_connection(engine: Engine) -> None:
    # Hold several connections at once so the pool must open new ones.
    connections = [engine.connect() for _ in range(4)]
    try:
        assert len({id(c.connection.dbapi_connection) for c in connections}) == 4
        for c in connections:
            assert pragmas_of(c) == EXPECTED_PRAGMAS
    finally:
        for c in connections:
            c.close()


def test_pragmas_on_connections_made_in_worker_threads(engine: Engine) -> None:
    workers = 6
    barrier = threading.Barrier(workers)

    def in_thread() -> tuple[int, dict[str, Any]]:
        with engine.connect() as c:
            barrier.wait(timeout=10)  # all threads hold their own connection at the same time
            return threading.get_ident(), pragmas_of(c)

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda _: in_thread(), range(workers)))
    assert len({ident for ident, _ in results}) == workers
    assert all(p == EXPECTED_PRAGMAS for _, p in results)


def test_pragmas_from_the_bare_engine_factory_and_foreign_keys_enforced(db_path: Path) -> None:
    engine = make_engine(db_path)
    try:
        with engine.connect() as c:
            assert pragmas_of(c) == EXPECTED_PRAGMAS
        with pytest.raises(IntegrityError), unit_of_work(session_factory(engine)) as s:
            s.add(m.Person(program_id="no-such-program", name="Orphan", kind="staff"))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------- migrations
def test_migration_from_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    path.touch()  # an empty file counts as new
    opened = open_database(path)
    try:
        assert opened.created and opened.migrated_from is None and opened.backup is None
        assert set(m.Base.metadata.tables) <= set(table_names(opened.engine))
        with opened.engine.connect() as c:
            assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() is not None
    finally:
        opened.engine.dispose()
    assert read_schema_version(path) == m.SCHEMA_VERSION
    assert list_backups(path) == []
    assert quick_check(path) == []


def test_an_older_schema_is_backed_up_before_it_is_migrated(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = open_database(db_path)
    with unit_of_work(session_factory(opened.engine)) as s:
        s.add(m.Program(name="Before the upgrade"))
    opened.engine.dispose()
    original = db_path.read_bytes()
    # This program pretends to be one schema newer, so the file on disk is "older" than it.
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", m.SCHEMA_VERSION + 1)
    reopened = open_database(db_path)
    reopened.engine.dispose()
    assert reopened.migrated_from == m.SCHEMA_VERSION
    assert reopened.backup is not None and reopened.backup in list_backups(db_path)
    assert reopened.backup.name.endswith(f"-before-migrate-{m.SCHEMA_VERSION}.sqlite")
    assert quick_check(reopened.backup) == []
    with sqlite3.connect(reopened.backup) as con:
        assert con.execute("SELECT name FROM program").fetchall() == [("Before the upgrade",)]
    assert len(original) > 0


def test_rolling_backups_keep_the_newest(db_path: Path) -> None:
    made = [backup_database(db_path, keep=3) for _ in range(5)]
    assert list_backups(db_path) == made[-3:]


def test_a_newer_schema_is_refused_and_the_file_left_alone(db_path: Path) -> None:
    with sqlite3.connect(db_path) as con:
        con.execute("UPDATE app_meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    before = files_of(db_path)
    with pytest.raises(NewerSchemaError) as caught:
        open_database(db_path)
    assert "newer version of the program (schema 999" in str(caught.value)
    assert files_of(db_path) == before
    assert list_backups(db_path) == []


def test_an_sqlite_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE recipes (name TEXT)")
    con.close()
    before = files_of(path)
    with pytest.raises(DatabaseError, match="not a program database"):
        open_database(path)
    assert files_of(path) == before


# ------------------------------------------------------------------------------ integrity, restore
@pytest.fixture
def program_db(db_path: Path) -> Path:
    opened = open_database(db_path)
    with unit_of_work(session_factory(opened.engine)) as s:
        build_small_program(s)
    opened.engine.dispose()
    return db_path


def corrupt_table_root(path: Path, table: str) -> None:
    """Overwrite the root page of `table` with junk, as a failing disk might."""
    with sqlite3.connect(path) as con:
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    con.close()
    assert not Path(str(path) + "-wal").exists()
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size : root * page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))


def count_rows(path: Path, model: type[m.Base]) -> int:
    opened = open_database(path)
    try:
        with session_factory(opened.engine)() as s:
            return int(s.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        opened.engine.dispose()


def test_a_damaged_file_fails_the_check_at_open_and_the_backup_restores_it(program_db: Path) -> None:
    assignments = count_rows(program_db, m.Assignment)
    assert assignments > 0
    backup = backup_database(program_db)
    corrupt_table_root(program_db, "assignment")
    damaged = files_of(program_db)
    with pytest.raises(DatabaseError) as caught:
        open_database(program_db)
    message = str(caught.value)
    assert "failed its integrity check" in message and f"rsched restore --db {program_db}" in message
    assert files_of(program_db) == damaged  # the failed open changed nothing
    restore_backup(backup, program_db)
    assert quick_check(program_db) == []
    assert count_rows(program_db, m.Assignment) == assignments


def test_a_damaged_backup_is_not_restored(program_db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad-backup.sqlite"
    bad.write_bytes(program_db.read_bytes())
    corrupt_table_root(bad, "person")
    before = files_of(program_db)
    with pytest.raises(DatabaseError, match="damaged or not a program database; nothing was restored"):
        restore_backup(bad, program_db)
    assert files_of(program_db) == before


# -------------------------------------------------------------------------- one activity per slot
def _person_and_activity(s: Session) -> tuple[str, str, str]:
    program = m.Program(name="P")
    s.add(program)
    s.flush()
    person = m.Person(program_id=program.id, name="R", kind="resident")
    activity = m.Activity(program_id=program.id, code="C", name="Clinic", category="clinic")
    other = m.Activity(program_id=program.id, code="W", name="Wards", category="inpatient")
    s.add_all([person, activity, other])
    s.flush()
    return person.id, activity.id, other.id


def test_one_activity_per_person_per_slot(session_factory: sessionmaker[Session]) -> None:
    day = dt.date(2026, 7, 1)
    with unit_of_work(session_factory) as s:
        person, clinic, wards = _person_and_activity(s)
        s.add(m.Assignment(person_id=person, date=day, slot=0, activity_id=clinic))
        s.add(m.Assignment(person_id=person, date=day, slot=1, activity_id=clinic))  # PM is another slot
    with pytest.raises(IntegrityError, match="UNIQUE constraint failed: assignment.person_id"):
        with unit_of_work(session_factory) as s:
            s.add(m.Assignment(person_id=person, date=day, slot=0, activity_id=wards, source="generated"))
    with session_factory() as s:
        rows = s.execute(select(m.Assignment.slot, m.Assignment.activity_id).order_by(m.Assignment.slot)).all()
    assert [tuple(r) for r in rows] == [(0, clinic), (1, clinic)]
    with pytest.raises(IntegrityError, match="assignment_slot"):
        with unit_of_work(session_factory) as s:
            s.add(m.Assignment(person_id=person, date=day, slot=2, activity_id=wards))


# --------------------------------------------------------------------------------------- disk full
def test_disk_full_rolls_back_with_a_clear_sentence(db_path: Path) -> None:
    with sqlite3.connect(db_path) as con:
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    engine = make_engine(db_path, max_page_count=pages + 8)
    factory = session_factory(engine)
    try:
        with unit_of_work(factory) as s:
            s.add(m.Program(name="Fits"))
        with pytest.raises(DatabaseError) as caught:
            with unit_of_work(factory) as s:
                for i in range(400):
                    s.add(m.Program(name=f"Too big {i}", settings={"padding": "x" * 2000}))
        assert str(caught.value).startswith("The disk is full")
        assert isinstance(caught.value.__cause__, Exception)
        with factory() as s:
            assert s.scalars(select(m.Program.name)).all() == ["Fits"]
        # The database stays usable for writes that fit.
        with unit_of_work(factory) as s:
            s.add(m.Program(name="Still fits"))
    finally:
        engine.dispose()
    assert quick_check(db_path) == []


def test_current_file_opens_without_alembic_and_head_matches_schema_version(tmp_path):
    """Re-opening a file at the current schema skips Alembic (start-up time); that shortcut is only
    safe while every migration bumps SCHEMA_VERSION, which this also checks."""
    import subprocess
    import sys

    from alembic.script import ScriptDirectory

    from core.store.db import read_schema_version
    from core.store.models import SCHEMA_VERSION

    path = tmp_path / "p.sqlite"
    opened = open_database(path)
    opened.engine.dispose()
    assert read_schema_version(path) == SCHEMA_VERSION
    script = ScriptDirectory(str(Path(store_db.__file__).with_name("migrations")))
    import sqlite3

    con = sqlite3.connect(path)
    (revision,) = con.execute("SELECT version_num FROM alembic_version").fetchone()
    con.close()
    assert revision == script.get_current_head()
    code = (
        "import sys; from core.store.db import open_database; "
        f"r = open_database({str(path)!r}); r.engine.dispose(); "
        "print(any(m.startswith('alembic') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
