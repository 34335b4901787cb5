"""Opening a program file from the desktop (desktop.program.open_program): the integrity check
runs on its own thread while the core loads, a damaged file is still refused before anything is
read, and a start-up opens the file once (probe and open in one step)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.errors import DatabaseError

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _open(path: Path, clock, **kw):
    from desktop.program import open_program

    return open_program(path, actor="tester", clock=clock, progress=lambda *a: None, cancelled=lambda: False, **kw)


def _damage(path: Path, table: str) -> None:
    """Overwrite the root page of `table` with junk (a failing disk)."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    finally:
        con.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size: root * page_size] = b"\xa5" * page_size
    path.write_bytes(bytes(data))


def test_a_damaged_file_is_refused_with_the_integrity_message(program_file, fixed_clock, monkeypatch):
    import core.store.db as db

    opened_with: list[bool] = []
    real_open = db.open_database

    def spy(path, **kw):
        opened_with.append(kw.get("check", True))
        return real_open(path, **kw)

    monkeypatch.setattr(db, "open_database", spy)
    _damage(program_file, "assignment")
    with pytest.raises(DatabaseError, match="failed its integrity check"):
        _open(program_file, fixed_clock)
    assert opened_with == [True]  # the early check failed: open_database checks and words it


def test_a_sound_file_is_checked_once_on_the_side_thread(program_file, fixed_clock, monkeypatch):
    import core.store.db as db
    import core.store.integrity as integrity

    checks: list[str] = []
    real_check = integrity.quick_check
    monkeypatch.setattr(integrity, "quick_check", lambda p: checks.append(__import__("threading").current_thread().name)
                        or real_check(p))
    opened_with: list[bool] = []
    real_open = db.open_database
    monkeypatch.setattr(db, "open_database", lambda path, **kw: opened_with.append(kw.get("check", True))
                        or real_open(path, **kw))
    result = _open(program_file, fixed_clock)
    assert result is not None
    ctx, data = result
    try:
        assert data.program.name
        assert checks == ["quick-check"] and opened_with == [False]
    finally:
        ctx.engine.dispose()


def test_probe_finds_no_program_without_creating_a_file(tmp_path, fixed_clock):
    missing = tmp_path / "none.sqlite"
    assert _open(missing, fixed_clock, probe=True) is None
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite"
    from core.store.db import open_database

    open_database(empty).engine.dispose()  # a migrated database without a program
    assert _open(empty, fixed_clock, probe=True) is None


def test_window_start_opens_the_file_once(qtbot, app_context, program_file, monkeypatch):
    import core.store.db as db
    from desktop.main_window import MainWindow

    opens: list[Path] = []
    real_open = db.open_database
    monkeypatch.setattr(db, "open_database", lambda path, **kw: opens.append(Path(path)) or real_open(path, **kw))
    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.show()
    w.start(program_file)
    qtbot.waitUntil(lambda: w.session.block is not None, timeout=30_000)
    assert opens == [program_file]
    w.close()


def test_opening_a_program_freezes_the_start_up_objects(program_file, fixed_clock):
    """Full garbage collections walk every tracked object with the GIL held (~150 ms on the large
    program's load, a stall of the GUI thread); after the first open the core's modules and
    classes are in the collector's permanent generation and no longer walked."""
    import gc

    import sqlalchemy.orm

    result = _open(program_file, fixed_clock)
    assert result is not None
    result[0].engine.dispose()
    assert gc.get_freeze_count() > 10_000
    assert not any(o is sqlalchemy.orm.Session for o in gc.get_objects())  # frozen: not in generations 0-2
