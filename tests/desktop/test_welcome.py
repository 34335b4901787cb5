"""The first-run welcome screen: shown instead of silently building the demo; its three choices."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop.main_window import MainWindow

# The offscreen platform plugin says this whenever a window is shown (as in test_main_window.py).
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

PEOPLE_CSV = "name,kind,pgy,faculty_role,email\nAda Lovelace,resident,1,,ada@example.org\n" \
             "Grace Hopper,,3,,\nJohn Snow,faculty,,core,\n"


@pytest.fixture
def first_start(qtbot, app_context):
    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.welcome_shown, timeout=20_000):
        w.start(None, welcome=True)
    assert w.welcome is not None and w.welcome.isVisible()
    yield w
    if w.welcome is not None:
        w.welcome.reject()
    w.close()


def test_first_start_shows_the_welcome_screen_not_the_demo(first_start, app_context):
    dialog = first_start.welcome
    assert dialog.windowTitle() == "Welcome to Residency Scheduler"
    assert [b.isEnabled() for b in (dialog.demo_button, dialog.new_button, dialog.open_button)] == [True] * 3
    assert first_start.session.data is None
    assert first_start.progress_dialog is None  # nothing is being built
    assert not app_context.default_db.exists() or app_context.default_db.stat().st_size == 0


def test_welcome_open_the_demo(first_start, qtbot, monkeypatch, sample_db, app_context):
    import desktop.sample

    def fake_build(path, *, today, clock=None, progress, cancelled):
        shutil.copy(sample_db[0], path)
        return "the demo"

    monkeypatch.setattr(desktop.sample, "create_first_program", fake_build)
    first_start.welcome.demo_button.click()
    qtbot.waitUntil(lambda: first_start.session.block is not None, timeout=30_000)
    assert first_start.welcome is None
    assert "the demo" in first_start.message_bar.text()
    assert app_context.last_program() == app_context.default_db


def test_welcome_open_a_file(first_start, qtbot, program_file):
    first_start.welcome.open_file(program_file)
    qtbot.waitUntil(lambda: first_start.session.block is not None, timeout=30_000)
    assert first_start.session.data.path == program_file


def test_welcome_creates_an_empty_program_with_people_from_csv(first_start, qtbot, tmp_path, app_context):
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE_CSV, encoding="utf-8")
    wizard = first_start.welcome.create_program(run_wizard=False)
    assert Path(wizard.file_page.path.text()) == app_context.default_db
    wizard.name_page.name.setText("Lakeside Family Medicine")
    wizard.year_page.year.setValue(2026)
    wizard.year_page.layout_box.setCurrentIndex(1)
    wizard.people_page.path.setText(str(people))
    assert wizard.people_page.isComplete()
    assert wizard.people_page.status.text() == "3 people will be imported: 2 resident, 1 faculty."
    first_start.welcome.finish_wizard()
    qtbot.waitUntil(lambda: first_start.session.data is not None, timeout=30_000)
    data = first_start.session.data
    assert data.program.name == "Lakeside Family Medicine"
    assert [y.start_year for y in data.years] == [2026]
    assert sorted((p.name, p.kind, p.pgy) for p in data.people) == [
        ("Ada Lovelace", "resident", 1), ("Grace Hopper", "resident", 3), ("John Snow", "faculty", None)]
    assert "3 people" in first_start.message_bar.text()
    assert first_start.welcome is None


def test_welcome_wizard_refuses_a_bad_people_file(first_start, tmp_path):
    bad = tmp_path / "people.csv"
    bad.write_text("name,kind,pgy\nAda,resident,\nBob,visitor,\n", encoding="utf-8")
    wizard = first_start.welcome.create_program(run_wizard=False)
    wizard.people_page.path.setText(str(bad))
    assert not wizard.people_page.isComplete()
    text = wizard.people_page.status.text()
    assert "line 2: a resident needs a PGY level" in text and "line 3: the kind must be one of" in text
    wizard.people_page.path.setText("")
    assert wizard.people_page.isComplete()  # no file: start with nobody


def test_without_welcome_the_first_start_still_builds_the_demo(qtbot, app_context, monkeypatch, sample_db):
    """`python -m desktop --demo` (and tools/dev.py run) keep the old first start."""
    import desktop.sample

    monkeypatch.setattr(desktop.sample, "create_first_program",
                        lambda path, **_: shutil.copy(sample_db[0], path) and "the demo")
    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.show()
    w.start(None, welcome=False)
    qtbot.waitUntil(lambda: w.session.block is not None, timeout=30_000)
    assert w.welcome is None
    w.close()
