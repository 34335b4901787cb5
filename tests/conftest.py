"""Shared fixtures. Qt runs offscreen: the variable is set before anything can import Qt."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import importlib.util  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from core.store.db import open_database  # noqa: E402
from core.store.db import session_factory as make_session_factory  # noqa: E402

# Test folders have no __init__.py, so their helper modules are imported under names of their own
# (no clash between folders); registered here, once, so any test file can import them by that name.
_HERE = Path(__file__).parent
_HELPER_MODULES = {
    "rules_helpers": _HERE / "core" / "rules" / "helpers.py",
    "rules_naive": _HERE / "core" / "rules" / "naive.py",
    "rules_random": _HERE / "core" / "rules" / "random_schedules.py",
    "resilience_helpers": _HERE / "core" / "resilience" / "helpers.py",
}
for _name, _file in _HELPER_MODULES.items():
    if _name not in sys.modules and _file.exists():
        _spec = importlib.util.spec_from_file_location(_name, _file)
        assert _spec is not None and _spec.loader is not None
        _mod = importlib.util.module_from_spec(_spec)
        sys.modules[_name] = _mod
        _spec.loader.exec_module(_mod)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly migrated, empty database per test run (migrating takes about a second)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    opened = open_database(path)
    opened.engine.dispose()  # the last connection checkpoints the WAL into the file
    assert not Path(str(path) + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def new_db(migrated_template: Path) -> Callable[[Path], Path]:
    """`new_db(path)` puts a freshly migrated, empty program database at `path`."""

    def make(path: Path) -> Path:
        shutil.copyfile(migrated_template, path)
        return path

    return make


@pytest.fixture
def db_path(tmp_path: Path, new_db: Callable[[Path], Path]) -> Path:
    """A freshly migrated, empty program database file (no engine open on it)."""
    return new_db(tmp_path / "program.sqlite")


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
