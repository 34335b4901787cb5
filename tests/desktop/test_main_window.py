"""Drive the real main window offscreen: open a program, visit every view, edit a cell by
keyboard, undo, redo, watch the compliance panel change, filter, open every editor, close."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.main_window import PAGES

# The offscreen platform plugin says this on every top-level window; it is not our warning.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JUL_6 = dt.date(2026, 7, 6)  # a Monday in block 1


def grid_cell(page, person_id: str, day: dt.date, slot: int):
    model = page.model
    return page.proxy.mapFromSource(model.index(model.row_of(person_id), model.columns_of(day)[slot]))


def test_status_bar_and_every_page(window, qtbot):
    assert "Sample Family Medicine" in window.status_label.text()
    assert "Block 1" in window.status_label.text()
    assert window.rules_label.text() == "Rule set 1"
    assert window.sync_label.text().startswith("Pending sync: ")
    for i, name in enumerate(PAGES):
        window.nav.setCurrentRow(i)
        assert window.stack.currentIndex() == i
        assert window.pages[name].isVisible()
    for name in ("Sync",):  # Absences, Swaps and Resilience are built (desktop/views/*.py)
        assert "not built yet" in window.pages[name].findChildren(type(window.status_label))[1].text()
    # the schedule's other views fill from workers
    window.show_page("Schedule")
    tabs = window.schedule_tabs
    person, year, today = tabs.widget(1), tabs.widget(2), tabs.widget(3)
    for i in range(tabs.count()):
        tabs.setCurrentIndex(i)
    qtbot.waitUntil(lambda: person.model.rowCount() >= 4 and bool(person.model.entries), timeout=10_000)
    qtbot.waitUntil(lambda: year.model.rowCount() == 6, timeout=10_000)
    assert year.model.columnCount() == 13
    assert "outside every academic year" in today.on_call.text()  # June 1 2026 is before AY 2026


def test_keyboard_edit_undo_redo_and_compliance_panel(window, qtbot, sample, monkeypatch):
    page = window.schedule_page()
    pgy1 = sample.residents[-1]  # PGY-1: procedures are for PGY-2 and 3 (QUAL)
    ix = grid_cell(page, pgy1, JUL_6, 0)
    before = page.model.data(page.model.index(page.model.row_of(pgy1), page.model.columns_of(JUL_6)[0]))
    n_before = page.panel_model.rowCount()
    title_before = page.panel_title.text()
    page.view.setFocus()
    page.view.setCurrentIndex(ix)
    page.view.selectionModel().select(ix, page.view.selectionModel().SelectionFlag.ClearAndSelect)

    qtbot.keyClicks(page.view, "P")
    assert page.picker.isVisible()
    qtbot.keyClicks(page.picker.edit, "ROC")
    # live check while choosing: the rule and the number, and the cell is marked
    assert "Would break QUAL" in page.picker.info.text()
    src = page.proxy.mapToSource(ix)
    assert "QUAL" in page.model.data(src, Qt.ItemDataRole.UserRole)
    qtbot.keyClick(page.picker.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.model.data(src) == "PROC", timeout=10_000)
    assert not page.model.data(src, Qt.ItemDataRole.UserRole)  # marks cleared
    # the compliance panel updated without a reload: one QUAL line more
    qtbot.waitUntil(lambda: page.panel_model.rowCount() == n_before + 1, timeout=5000)
    assert any(v.rule == "QUAL" and v.person_id == pgy1 for v in page.panel_model.rows)
    assert page.panel_title.text() != title_before
    assert window.session.undo_stack.count() == 1

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.model.data(src) == before, timeout=10_000)
    qtbot.waitUntil(lambda: page.panel_model.rowCount() == n_before, timeout=5000)
    assert not any(v.rule == "QUAL" and v.person_id == pgy1 for v in page.panel_model.rows)

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: page.model.data(src) == "PROC", timeout=10_000)
    qtbot.waitUntil(lambda: page.panel_model.rowCount() == n_before + 1, timeout=5000)

    # Delete clears the cell; the edit is in the database (a fresh block load shows it). The typed
    # cell is manual, hence locked: Delete asks first, like a paste over it (answered yes here).
    asked: list[str] = []
    monkeypatch.setattr(page, "confirm_locked", lambda message: asked.append(message) or True)
    page.view.setFocus()
    qtbot.keyClick(page.view, Qt.Key.Key_Delete)
    assert asked == ["This clear empties 1 locked cell(s) (preload or manual assignments). Go ahead?"]
    qtbot.waitUntil(lambda: page.model.data(src) == "", timeout=10_000)
    window.session.reload_block()
    qtbot.waitUntil(lambda: page.model.data(page.model.index(src.row(), src.column())) == "", timeout=10_000)
    assert window.session.undo_stack.count() == 2  # edit, (undone, redone), clear


def test_edit_inside_freeze_horizon_asks_for_a_reason(window, qtbot, sample, monkeypatch):
    window.app.clock = lambda: dt.datetime(2026, 7, 3, 12, tzinfo=dt.UTC)
    window.session.ctx.clock = window.app.clock
    asked = []

    def answer(message):
        asked.append(message)
        return "Sick call"

    monkeypatch.setattr(window, "ask_reason", answer)
    page = window.schedule_page()
    res = sample.residents[0]
    ix = grid_cell(page, res, JUL_6, 1)
    page.view.selectionModel().select(ix, page.view.selectionModel().SelectionFlag.ClearAndSelect)
    page.assign(sample.activity_ids["LEC"])
    src = page.proxy.mapToSource(ix)
    qtbot.waitUntil(lambda: page.model.data(src) == "LEC", timeout=10_000)
    assert asked and "freeze horizon" in asked[0]


def test_edit_refused_without_reason_changes_nothing(window, qtbot, sample, monkeypatch):
    window.app.clock = lambda: dt.datetime(2026, 7, 3, 12, tzinfo=dt.UTC)
    window.session.ctx.clock = window.app.clock
    monkeypatch.setattr(window, "ask_reason", lambda message: None)
    page = window.schedule_page()
    ix = grid_cell(page, sample.residents[0], JUL_6, 1)
    src = page.proxy.mapToSource(ix)
    before = page.model.data(src)
    page.view.selectionModel().select(ix, page.view.selectionModel().SelectionFlag.ClearAndSelect)
    page.assign(sample.activity_ids["LEC"])
    qtbot.waitUntil(lambda: "Nothing was changed" in window.message_bar.text(), timeout=10_000)
    assert page.model.data(src) == before
    assert window.session.undo_stack.count() == 0


def test_filters_and_navigation(window, qtbot):
    page = window.schedule_page()
    total = page.proxy.rowCount()
    qtbot.keyClicks(page.name_filter, "helen")
    assert page.proxy.rowCount() == 2 + 1
    page.name_filter.clear()
    page.pgy_filter.setCurrentIndex(page.pgy_filter.findData(3))
    assert page.proxy.rowCount() == 2 + 2
    page.pgy_filter.setCurrentIndex(0)
    page.rotation_filter.setCurrentIndex(1)
    assert page.proxy.rowCount() < total
    page.rotation_filter.setCurrentIndex(0)
    page.activity_filter.setCurrentIndex(page.activity_filter.findText("NF — Night float"))
    assert 2 < page.proxy.rowCount() < total
    page.activity_filter.setCurrentIndex(0)
    assert page.proxy.rowCount() == total

    zoom = page.view.horizontalHeader().defaultSectionSize()
    qtbot.keyClick(window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert page.view.horizontalHeader().defaultSectionSize() > zoom

    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.session.block.block.number == 2, timeout=10_000)
    assert "Block 2" in page.title.text()
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.session.block.block.number == 1, timeout=10_000)
    from PySide6.QtCore import QDate

    page.date_edit.setDate(QDate(2026, 9, 15))
    page.go_button.click()
    qtbot.waitUntil(lambda: window.session.block.block.start <= dt.date(2026, 9, 15) <= window.session.block.block.end,
                    timeout=10_000)


def test_compliance_view_filters_chart_and_selects_cells(window, qtbot):
    page = window.show_page("Compliance")
    assert page.model.rowCount() > 0
    page.severity.setCurrentIndex(page.severity.findData("critical"))
    assert all(page.proxy.index(r, 1).data() == "critical" for r in range(page.proxy.rowCount()))
    page.severity.setCurrentIndex(0)
    page.rule.setCurrentIndex(page.rule.findData("COV"))
    assert page.proxy.rowCount() > 0
    page.rule.setCurrentIndex(0)
    # a resident's violation: the chart draws with the 80 h line
    row = next(r for r in range(page.proxy.rowCount()) if page.proxy.index(r, 2).data().startswith("Dr")
               and page.proxy.index(r, 0).data() in ("H80W", "OFF7", "C24", "R14"))
    page.view.setCurrentIndex(page.proxy.index(row, 0))
    assert page.chart.canvas is not None
    ax = page.chart.figure.axes[0]
    assert any(abs(line.get_ydata()[0] - 80) < 1e-9 for line in ax.get_lines())
    # activating it selects the person's cells in the grid
    page.view.activated.emit(page.proxy.index(row, 0))
    grid = window.schedule_page()
    assert window.stack.currentIndex() == 0
    assert grid.view.selectionModel().selectedIndexes()


def test_editors_save_and_show_validation_in_plain_words(window, qtbot):
    people = window.show_page("People")
    n = people.model.rowCount()
    people.start_new()
    people.form.widgets["name"].setText("   ")
    people.save_button.click()
    qtbot.waitUntil(lambda: people.error.text() != "", timeout=10_000)
    assert people.error.text() == "A person needs a name."
    people.form.widgets["name"].setText("Dr New Intern")
    people.save_button.click()
    qtbot.waitUntil(lambda: people.model.rowCount() == n + 1, timeout=10_000)

    tabs = window.show_page("Rotations & Activities")
    rotations, activities, requirements = tabs.widget(0), tabs.widget(1), tabs.widget(2)
    for i in range(3):
        tabs.setCurrentIndex(i)
    activities.view.selectRow(0)
    activities.form.widgets["colour"].setText("blue")
    activities.save_button.click()
    qtbot.waitUntil(lambda: "colour" in activities.error.text(), timeout=10_000)
    assert "#rrggbb" in activities.error.text()
    rotations.view.selectRow(0)
    assert rotations.pattern.rowCount() == 2 and rotations.pattern.cells
    rotations.form.widgets["eligible_pgy"].setText("one")
    rotations.save_button.click()
    assert "whole numbers" in rotations.error.text()
    qtbot.waitUntil(lambda: requirements.model.rowCount() > 0, timeout=10_000)
    requirements.view.selectRow(0)
    requirements.form.widgets["min_count"].setValue(9)
    requirements.save_button.click()
    qtbot.waitUntil(lambda: "minimum" in requirements.error.text(), timeout=10_000)

    settings = window.show_page("Settings")
    qtbot.waitUntil(lambda: settings.model.rowCount() == 1, timeout=10_000)
    settings.start_new()
    settings.form.widgets["max_hours_per_week"].setValue(88)
    settings.save_button.click()
    qtbot.waitUntil(lambda: "ACGME floor" in settings.error.text(), timeout=10_000)
    settings.form.widgets["max_hours_per_week"].setValue(76)
    settings.save_button.click()
    qtbot.waitUntil(lambda: settings.model.rowCount() == 2, timeout=10_000)
    qtbot.waitUntil(lambda: window.rules_label.text() == "Rule set 2", timeout=10_000)


def test_raw_database_error_never_reaches_the_user(window, qtbot):
    def broken(ctx):
        import sqlite3

        raise sqlite3.OperationalError("no such table: assignment")

    window.session.write(broken, text="broken")
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=10_000)
    assert "no such table" not in window.message_bar.text()
    assert "nothing was changed" in window.message_bar.text()


def test_first_start_builds_a_program_with_progress(qtbot, app_context, monkeypatch, sample_db):
    import shutil

    import desktop.sample

    def fake_build(path, *, today, clock=None, progress, cancelled):
        progress(0.5, "half")
        shutil.copy(sample_db[0], path)
        return "a test program"

    monkeypatch.setattr(desktop.sample, "create_first_program", fake_build)
    from desktop.main_window import MainWindow

    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.show()
    w.start(None)
    qtbot.waitUntil(lambda: w.session.block is not None, timeout=30_000)
    assert "a test program" in w.message_bar.text()
    assert app_context.last_program() == app_context.default_db
    w.close()


def test_backup_then_restore(window, qtbot, tmp_path):
    made = []
    window.backup(on_done=made.append)
    qtbot.waitUntil(lambda: bool(made), timeout=10_000)
    assert made[0].exists()
    window.restore(made[0])
    qtbot.waitUntil(lambda: "Restored" in window.message_bar.text() and window.session.block is not None,
                    timeout=20_000)


def test_resilience_page_opens_from_navigation_and_show_in_grid_selects_the_cells(window, qtbot, sample):
    from desktop.views.resilience import ResilienceView

    window.nav.setCurrentRow(PAGES.index("Resilience"))
    view = window.pages["Resilience"]
    assert isinstance(view, ResilienceView) and view.isVisible()
    assert view.snapshot is window.session.block.snapshot  # the loaded block is what it analyses
    person = sample.residents[0]
    view.showInGrid.emit(person, JUL_6)
    assert window.stack.currentIndex() == PAGES.index("Schedule")
    page = window.schedule_page()
    assert page.isVisible()
    assert page.selected_cells() == [(person, JUL_6, 0), (person, JUL_6, 1)]
    view.applyFallback.emit(None)
    assert "ready fallback" in window.message_bar.text()


def test_apply_fallback_opens_its_draft_for_review_and_publishes_it(window, qtbot, sample):
    """'Apply as draft' on a fallback: a draft of kind fallback is saved, the Generate dialog shows its
    review, Publish applies it (the person's cells cleared, a published version, the block reloaded)."""
    import dataclasses

    from sqlalchemy import func, select

    from core.resilience.scenario import best_repair
    from core.services.schedule import assignments_between
    from core.store import models as m

    window.nav.setCurrentRow(PAGES.index("Resilience"))
    view = window.pages["Resilience"]
    snap = window.session.block.snapshot
    person = sample.residents[0]
    day = snap.day_of(JUL_6)
    rep = best_repair(snap, [snap.person_index[person]], (day, day))
    assert rep.cleared > 0
    view.applyFallback.emit(dataclasses.replace(rep, revision="older"))
    assert "older version" in window.message_bar.text()
    view.applyFallback.emit(rep)
    qtbot.waitUntil(lambda: window.fallback_dialog is not None, timeout=20_000)
    dlg = window.fallback_dialog
    assert dlg.isVisible() and dlg.draft.kind == "fallback" and "draft ready for review" in dlg.status.text()
    assert dlg.diff_view.model().rowCount() == rep.n_changes == len(dlg.draft.changes)
    assert dlg.violation_view.model().rowCount() == len(dlg.draft.violations)
    assert dlg.unfilled_view.model().rowCount() == len(dlg.draft.unfilled) == len(rep.gaps)
    assert dlg.publish_button.isEnabled()
    draft_id = dlg.draft.id
    loads = []
    window.session.block_loaded.connect(loads.append)
    with qtbot.waitSignal(dlg.published, timeout=20_000):
        dlg.publish_button.click()
    qtbot.waitUntil(lambda: bool(loads), timeout=20_000)
    ctx = window.session.ctx
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.PublishedVersion)) == 1
        assert s.get(m.Draft, draft_id).status == "published"
    kept = {(a.date, a.slot) for a in assignments_between(ctx, JUL_6, JUL_6, person)}
    assert kept == set()
    dlg.close()


def test_message_timer_does_not_outlive_the_window(qtbot, app_context):
    """An info message clears itself after a while; closing and deleting the window before then
    must not leave a timer that touches the deleted message bar (it did: 'Internal C++ object
    (PySide6.QtWidgets.QLabel) already deleted', and with a deleted context PySide6 6.12 crashed)."""
    import shiboken6

    from desktop.main_window import MainWindow

    w = MainWindow(app_context)
    w.MESSAGE_TIMEOUT_MS = 30
    w.show()
    w.show_message("Backed up.")
    assert w._message_timer.isActive()
    w.close()
    assert not w._message_timer.isActive()  # stopped in closeEvent
    w.show_message("After close.")  # a late worker result may still show one
    w.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(w), timeout=5_000)
    qtbot.wait(120)  # past the timeout: nothing fires on the deleted window


def test_no_display_prints_how_to_run_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-m", "desktop", "--db", str(tmp_path / "x.sqlite")], env=env,
                         cwd=root, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "xvfb-run" in run.stderr and "rsched" in run.stderr
    assert not (tmp_path / "x.sqlite").exists()


def test_import_export_from_the_file_menu_lands_on_the_undo_stack(window, qtbot, sample):
    """File > Import / Export opens the wizard; an import it reports is one undoable edit."""
    from core.services import schedule
    from core.services.schedule import SlotEdit
    from desktop.io.wizard import ImportExportWizard

    window.import_export_action.trigger()
    wizard = next(w for w in window.findChildren(ImportExportWizard))
    assert wizard.isVisible()
    person = sample.residents[0]
    ctx = window.session.ctx
    before = schedule.assignments_between(ctx, JUL_6, JUL_6, person)
    activity = window.session.data.activities[0].id
    # what the wizard emits after applying an import: the ChangeSet of one transaction
    result = schedule.assign_slots(ctx, [SlotEdit(person, JUL_6, 0, activity), SlotEdit(person, JUL_6, 1, activity)],
                                   reason="test import")
    depth = window.session.undo_stack.count()
    wizard.imported.emit(result.changes)
    assert window.session.undo_stack.count() == depth + 1
    window.session.undo_stack.undo()
    qtbot.waitUntil(lambda: schedule.assignments_between(ctx, JUL_6, JUL_6, person) == before, timeout=10_000)
    wizard.close()
