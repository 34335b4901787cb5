"""The server's engine, sessions and migrations (PostgreSQL; SQLite only for a one-person trial)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """`postgresql://...` means psycopg 3 (the driver the server extra installs)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # One writer at a time: the trial server's stand-in for the per-program row lock.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # prepare_threshold=None: psycopg would otherwise prepare a statement on its 5th use, and
    # PostgreSQL may then keep a generic plan made while the tables were small (the push's
    # `row_id = ANY(...)` lookups became sequential scans: 0.5 s each instead of a few ms).
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True,
                         connect_args={"prepare_threshold": None})


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the server schema to the newest revision."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
