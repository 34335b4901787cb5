"""The one engine factory, opening a program database, migrations, integrity and backups.

Every connection gets the same pragmas (DESIGN.md principle 7): WAL journal, foreign keys on,
synchronous=FULL, a busy timeout. Opening a file backs it up before migrating, refuses a file
written by a newer schema, and runs `PRAGMA quick_check`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DatabaseError, NewerSchemaError
from core.store.integrity import quick_check as quick_check  # re-exported (the check needs no SQLAlchemy)
from core.store.models import SCHEMA_VERSION

BUSY_TIMEOUT_MS = 10_000
BACKUPS_KEPT = 10
SQLITE_MAGIC = b"SQLite format 3\x00"


def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA synchronous = FULL")
    cur.close()


def _begin_immediate_off(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy control transactions (pysqlite's own BEGIN handling is off).
    dbapi_connection.isolation_level = None


def make_engine(path: Path | str, *, max_page_count: int | None = None) -> Engine:
    """The one engine factory. `path` is a file path or ':memory:'.

    `max_page_count` caps the file size (used by tests to simulate a full disk).
    """
    url = "sqlite://" if str(path) == ":memory:" else f"sqlite:///{Path(path)}"
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        _begin_immediate_off(dbapi_connection, record)
        _set_pragmas(dbapi_connection, record)
        if max_page_count is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count = {int(max_page_count)}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Write services ask for BEGIN IMMEDIATE (execution option "sqlite_immediate"): the write
        # lock is taken up front, so two writers queue on the busy timeout instead of one failing
        # when its read snapshot cannot be upgraded.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "BEGIN")

    return engine


@dataclass(frozen=True)
class OpenResult:
    engine: Engine
    path: Path
    created: bool
    migrated_from: int | None
    backup: Path | None


def backup_dir_for(path: Path) -> Path:
    return path.with_name(path.name + ".backups")


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def read_schema_version(path: Path) -> int | None:
    """The schema version stored in a database file, None for an empty/new file."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "app_meta" not in tables:
            return None if not tables else 0
        row = con.execute("SELECT value FROM app_meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"{path} is not a readable program database ({exc}).") from exc
    finally:
        con.close()


def backup_database(src: Path, dest_dir: Path | None = None, *, label: str = "auto", keep: int = BACKUPS_KEPT) -> Path:
    """Copy a live database with SQLite's online backup API; keep the newest `keep` backups."""
    dest_dir = dest_dir or backup_dir_for(src)
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = dest_dir / f"{src.stem}-{stamp}-{label}.sqlite"
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
        # A backup is one self-contained file: no -wal/-shm companions appear when it is read later.
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
        source.close()
    if keep > 0:
        backups = sorted(dest_dir.glob(f"{src.stem}-*.sqlite"))
        for old in backups[:-keep]:
            old.unlink(missing_ok=True)
    return dest


def list_backups(path: Path) -> list[Path]:
    d = backup_dir_for(path)
    return sorted(d.glob(f"{path.stem}-*.sqlite")) if d.exists() else []


def restore_backup(backup: Path, target: Path) -> None:
    """Replace `target` with `backup` (checked first), keeping a safety copy of the current file."""
    if not is_sqlite_file(backup) or quick_check(backup):
        raise DatabaseError(f"The backup {backup} is damaged or not a program database; nothing was restored.")
    if target.exists() and is_sqlite_file(target):
        try:
            backup_database(target, label="before-restore")
        except sqlite3.DatabaseError:
            shutil.copy2(target, target.with_name(target.name + ".damaged"))
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), "head")


def open_database(path: Path | str, *, create: bool = True, check: bool = True, backup: bool = True) -> OpenResult:
    """Open (or create) a program database: refuse newer schemas, back up, migrate, check.

    Raises DatabaseError / NewerSchemaError with one clear sentence on any problem; the file is
    not changed in that case.
    """
    p = Path(path)
    if p.is_dir():
        raise DatabaseError(f"{p} is a folder, not a program database file.")
    created = not p.exists() or p.stat().st_size == 0
    if created and not create:
        raise DatabaseError(f"{p} does not exist.")
    if created and not p.parent.exists():
        raise DatabaseError(f"The folder {p.parent} does not exist.")
    version: int | None = None
    backup_path: Path | None = None
    if not created:
        if not is_sqlite_file(p):
            raise DatabaseError(f"{p} is not a program database (not an SQLite file).")
        problems = quick_check(p) if check else []
        if problems:
            raise DatabaseError(
                f"{p} failed its integrity check ({problems[0]}); restore the latest backup "
                f"(rsched restore --db {p}) or open another file."
            )
        version = read_schema_version(p)
        if version is not None and version > SCHEMA_VERSION:
            raise NewerSchemaError(
                f"{p} was written by a newer version of the program (schema {version}, this program "
                f"understands {SCHEMA_VERSION}); update the program to open it."
            )
        if version == 0:
            raise DatabaseError(f"{p} is an SQLite file but not a program database.")
        if backup and version is not None and version < SCHEMA_VERSION:
            backup_path = backup_database(p, label=f"before-migrate-{version}")
    engine = make_engine(p)
    try:
        # A file already at this schema skips Alembic entirely (importing and running it costs
        # most of a second at start-up); anything else goes through the migrations.
        if version != SCHEMA_VERSION:
            migrate(engine)
    except Exception:
        engine.dispose()
        raise
    return OpenResult(engine=engine, path=p, created=created, migrated_from=version, backup=backup_path)


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# SQLite primary result codes (https://www.sqlite.org/rescode.html) that a user can act on.
_SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 5, 8, 11, 13, 26


def translate_sqlite_error(exc: BaseException) -> DatabaseError | None:
    """The DatabaseError sentence for a raw SQLite failure a user can act on, else None.

    Works on sqlite3 errors and on SQLAlchemy's wrappers of them (`.orig`). Constraint violations
    are not translated: the services turn those into ValidationError with context.
    """
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, sqlite3.Error):
        return None
    code = (getattr(orig, "sqlite_errorcode", None) or 0) & 0xFF
    text_ = str(orig).lower()
    if code == _SQLITE_FULL or "database or disk is full" in text_:
        return DatabaseError(
            "The disk is full (or the database reached its size limit), so the change was not saved; "
            "free some space and try again."
        )
    if code == _SQLITE_BUSY or "database is locked" in text_:
        return DatabaseError(
            "The program database is busy in another window or program; the change was not saved, "
            "try again in a moment."
        )
    if code == _SQLITE_READONLY or "readonly database" in text_:
        return DatabaseError("The program database is read-only here, so the change was not saved.")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text_:
        return DatabaseError(
            "The program database is damaged, so the change was not saved; run `rsched check` and "
            "restore the latest backup."
        )
    return None


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back otherwise.

    A disk-full, busy, read-only or damaged database surfaces as a DatabaseError sentence (after
    the rollback), never as a raw driver error.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        translated = translate_sqlite_error(exc) if isinstance(exc, Exception) else None
        if translated is not None:
            raise translated from exc
        raise
    finally:
        session.close()


def pragma(engine: Engine, name: str) -> Any:
    with engine.connect() as con:
        return con.execute(text(f"PRAGMA {name}")).scalar()
