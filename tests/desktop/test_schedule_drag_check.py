"""The live rule check while dragging cells: the cells the drop would land on and the cells the
rules it would break cover get the picker's red frame and 'Would break <rule>' tooltip; worked
out after the target changes, not while painting; cleared when the drag leaves or drops."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent

from tests.desktop.test_grid_editing import cell, prepare, settled

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JUL_6, JUL_9 = dt.date(2026, 7, 6), dt.date(2026, 7, 9)
MOVE, COPY = Qt.DropAction.MoveAction, Qt.DropAction.CopyAction


def drag_over(view, ix, data, enter=False):
    view.scrollTo(ix)
    pos = QPointF(view.visualRect(ix).center())
    if enter:
        view.dragEnterEvent(QDragEnterEvent(pos, COPY | MOVE, data, Qt.MouseButton.LeftButton,
                                            Qt.KeyboardModifier.NoModifier))
    ev = QDragMoveEvent(pos, COPY | MOVE, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    ev.setDropAction(MOVE)
    view.dragMoveEvent(ev)
    return ev


def mark(page, ix) -> str:
    return page.model.marks.get((page.proxy.mapToSource(ix).row(), ix.column()), "")


def test_dragging_marks_the_cells_the_drop_would_break(window, qtbot, sample, monkeypatch):
    page = window.schedule_page()
    ids = sample.activity_ids
    pgy2, pgy1 = sample.residents[2], sample.residents[-1]  # procedures are for PGY-2 and 3 (QUAL)
    other_pgy2 = sample.residents[3]
    prepare(window, qtbot, [(pgy2, JUL_6, 0, ids["PROC"])])
    checks = []
    real_check = window.session.check
    monkeypatch.setattr(window.session, "check", lambda edits: checks.append(edits) or real_check(edits))
    data = page.proxy.mimeData([cell(page, pgy2, JUL_6, 0)])
    view = page.view

    bad = cell(page, pgy1, JUL_9, 0)
    ev = drag_over(view, bad, data, enter=True)
    assert ev.isAccepted()
    qtbot.waitUntil(lambda: "Would break QUAL" in mark(page, bad), timeout=5000)
    assert "Would break QUAL" in page.model.data(page.proxy.mapToSource(bad), Qt.ItemDataRole.UserRole)
    # the move's check covers the source being cleared too, in one check
    assert (pgy2, JUL_6, 0, None) in checks[-1] and (pgy1, JUL_9, 0, ids["PROC"]) in checks[-1]

    # painting does not check; moving within the same target cell does not check again
    n = len(checks)
    view.viewport().repaint()
    drag_over(view, bad, data)
    qtbot.wait(100)
    assert len(checks) == n

    ok = cell(page, other_pgy2, JUL_9, 0)  # a PGY-2 may hold procedures
    drag_over(view, ok, data)
    qtbot.waitUntil(lambda: not mark(page, bad), timeout=5000)
    assert not any("QUAL" in t for t in page.model.marks.values())

    drag_over(view, bad, data)
    qtbot.waitUntil(lambda: "Would break QUAL" in mark(page, bad), timeout=5000)
    view.dragLeaveEvent(QDragLeaveEvent())  # leaving the grid clears the frame
    assert page.model.marks == {}
    qtbot.wait(100)
    assert page.model.marks == {}  # and no pending check brings it back
    assert window.session.undo_stack.count() == 1 and settled(window)


def test_the_keyboard_still_edits_after_a_drag(window, qtbot, sample):
    page = window.schedule_page()
    res = sample.residents[0]
    data = page.proxy.mimeData([cell(page, res, JUL_6, 0)])
    drag_over(page.view, cell(page, res, JUL_9, 0), data, enter=True)
    page.view.dragLeaveEvent(QDragLeaveEvent())
    page.view.setFocus()
    page.view.setCurrentIndex(cell(page, res, JUL_9, 1))
    qtbot.keyClick(page.view, Qt.Key.Key_Right)
    assert page.view.currentIndex() == cell(page, res, dt.date(2026, 7, 10), 0)
    qtbot.keyClicks(page.view, "L")
    assert page.picker.isVisible()
    qtbot.keyClick(page.picker.edit, Qt.Key.Key_Escape)
    assert not page.picker.isVisible() and page.model.marks == {}
