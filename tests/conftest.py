"""Shared fixtures. Qt runs offscreen: the variable is set before anything can import Qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from core.store.db import open_database  # noqa: E402
from core.store.db import session_factory as make_session_factory  # noqa: E402


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A freshly migrated, empty program database file (its engine already disposed)."""
    path = tmp_path / "program.sqlite"
    opened = open_database(path)
    opened.engine.dispose()
    return path


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    """An engine on `db_path`, from the one engine factory, disposed after the test."""
    opened = open_database(db_path)
    yield opened.engine
    opened.engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def db(db_path: Path) -> Path:
    """Alias named in docs/development.md: a migrated file database."""
    return db_path
