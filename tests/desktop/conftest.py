"""Desktop test fixtures: a small program built once per session through the services, copied
into each test's folder; an AppContext with a fixed clock and its own settings file."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CLOCK = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)  # before AY 2026: no freeze horizon in block 1


@pytest.fixture
def fixed_clock():
    return lambda: CLOCK


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    from core.services.base import ServiceContext
    from core.store.db import open_database
    from desktop.sample import create_sample_program

    path = tmp_path_factory.mktemp("sample") / "program.sqlite"
    opened = open_database(path)
    try:
        ctx = ServiceContext(opened.engine, actor="fixture", clock=lambda: CLOCK)
        sample = create_sample_program(ctx, around=dt.date(2026, 7, 1), residents_per_pgy=2, faculty=3,
                                       blocks_around=0)
    finally:
        opened.engine.dispose()
    return path, sample


@pytest.fixture
def program_file(sample_db: tuple[Path, object], tmp_path: Path) -> Path:
    src, _sample = sample_db
    dest = tmp_path / "program.sqlite"
    shutil.copy(src, dest)
    return dest


@pytest.fixture
def sample(sample_db: tuple[Path, object]):
    return sample_db[1]


@pytest.fixture
def app_context(qapp, tmp_path: Path) -> Iterator[object]:
    from PySide6.QtCore import QSettings

    from desktop.app import AppContext

    ctx = AppContext.create(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat),
                            clock=lambda: CLOCK, actor="tester", default_db=tmp_path / "default" / "program.sqlite")
    yield ctx
    ctx.shutdown()


@pytest.fixture
def window(qtbot, app_context, program_file):
    """The real main window with the sample program open and block 1 loaded."""
    from desktop.main_window import MainWindow

    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.show()
    w.start(program_file)
    qtbot.waitUntil(lambda: w.session.block is not None, timeout=30_000)
    yield w
    w.close()


@pytest.fixture
def block(program_file: Path, fixed_clock):
    """The first block of the sample program, loaded as the desktop loads it (grid and marks tests)."""
    from core.services.base import ServiceContext
    from core.store.db import open_database
    from desktop.program import load_block, read_program

    opened = open_database(program_file)
    try:
        ctx = ServiceContext(opened.engine, actor="tester", clock=fixed_clock)
        data = read_program(ctx, program_file)
        year = data.years[0]
        yield load_block(ctx, data.program.id, year, year.blocks[0], progress=lambda *a: None,
                         cancelled=lambda: False)
    finally:
        opened.engine.dispose()
