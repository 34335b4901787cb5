"""The block grid's frozen name column (the grid's vertical header): the names stay where they
are when the grid scrolls sideways, move with it up and down, and keyboard navigation still
reaches every cell."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from desktop.models.block_grid import CALL_ROWS

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def test_names_stay_visible_when_the_grid_scrolls_sideways(window, qtbot, sample):
    page = window.schedule_page()
    view, names = page.view, page.view.verticalHeader()
    window.resize(900, 600)
    qtbot.waitUntil(lambda: view.horizontalScrollBar().maximum() > 0, timeout=5000)
    person = sample.residents[0]
    row = page.proxy.mapFromSource(page.model.index(page.model.row_of(person), 0)).row()
    assert names.isVisible() and names.accessibleName()
    label = page.proxy.headerData(row, Qt.Orientation.Vertical)
    assert label.startswith(next(p.name for p in window.session.data.people if p.id == person))
    # the column is wide enough for the name
    assert names.width() >= names.fontMetrics().horizontalAdvance(label)
    at = names.mapTo(page, QPoint(0, 0))
    before = names.grab().toImage()

    hbar = view.horizontalScrollBar()
    hbar.setValue(hbar.maximum())
    qtbot.waitUntil(lambda: view.columnViewportPosition(0) < 0, timeout=5000)  # the first days scrolled out
    assert names.isVisible() and names.mapTo(page, QPoint(0, 0)) == at
    assert names.grab().toImage() == before  # the names did not move or change
    assert names.sectionViewportPosition(row) == view.rowViewportPosition(row)

    # up and down in step with the grid
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: names.offset() == view.verticalScrollBar().value(), timeout=5000)
    assert names.sectionViewportPosition(row) == view.rowViewportPosition(row)
    assert names.sectionSize(row) == view.rowHeight(row)
    page.apply_zoom(1.5)
    assert names.sectionSize(row) == view.rowHeight(row) == int(22 * 1.5)


def test_keyboard_navigation_reaches_every_cell_with_the_names_in_view(window, qtbot, sample):
    page = window.schedule_page()
    view, names = page.view, page.view.verticalHeader()
    window.resize(900, 600)
    qtbot.waitUntil(lambda: view.horizontalScrollBar().maximum() > 0, timeout=5000)
    first = page.proxy.index(CALL_ROWS, 0)
    view.setFocus()
    view.selectionModel().setCurrentIndex(first, view.selectionModel().SelectionFlag.ClearAndSelect)
    at = names.mapTo(page, QPoint(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_End)
    last_col = page.proxy.columnCount() - 1
    assert view.currentIndex().column() == last_col
    assert view.viewport().rect().intersects(view.visualRect(view.currentIndex()))  # scrolled into view
    assert names.mapTo(page, QPoint(0, 0)) == at and names.isVisible()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.currentIndex().row() == CALL_ROWS + 1
    assert view.currentIndex().column() == last_col
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().column() == 0
    assert view.horizontalScrollBar().value() == 0


def test_a_click_on_a_name_selects_the_persons_row_where_the_grid_is_scrolled(window, qtbot, sample):
    page = window.schedule_page()
    view, names = page.view, page.view.verticalHeader()
    window.resize(900, 600)
    qtbot.waitUntil(lambda: view.horizontalScrollBar().maximum() > 0, timeout=5000)
    hbar = view.horizontalScrollBar()
    hbar.setValue(hbar.maximum() // 2)
    scrolled = hbar.value()
    person = sample.residents[2]
    row = page.proxy.mapFromSource(page.model.index(page.model.row_of(person), 0)).row()
    qtbot.mouseClick(names.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(names.width() // 2, names.sectionViewportPosition(row) + names.sectionSize(row) // 2))
    assert view.selectionModel().isRowSelected(row)
    assert {p for p, _d, _s in page.selected_cells()} == {person}
    assert len(page.selected_cells()) == page.proxy.columnCount()
    assert hbar.value() == scrolled  # the grid stays where it was
