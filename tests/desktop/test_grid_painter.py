"""The block grid's one-pass painter paints what the cell delegate paints (QTableView's own
per-cell path), pixel for pixel, with and without a filter, with a selection and live-check marks."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel
from PySide6.QtGui import QColor, QImage, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QTableView, QWidget

# offscreen platform, top-level window
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def _views(qtbot, block):
    """Two views over one model: Qt's per-cell delegate path, and the one-pass painter."""
    from desktop.models.block_grid import CALL_ROWS, BlockFilterProxy, BlockGridModel
    from desktop.views.grid_painter import GridPainter
    from desktop.views.schedule import CellDelegate

    model = BlockGridModel()
    model.set_block(block.snapshot, block.first_day, block.n_days, block.cells)
    proxy = BlockFilterProxy()
    proxy.setSourceModel(model)
    painter = GridPainter()

    class OnePass(QTableView):
        def paintEvent(self, event: QPaintEvent) -> None:
            painter.paint(self, model, proxy, event.rect())

    class PerCell(QTableView):
        def paintEvent(self, event: QPaintEvent) -> None:
            delegate = self.itemDelegate()
            assert isinstance(delegate, CellDelegate)
            delegate.prepare(self)
            super().paintEvent(event)

    # one window for both (the highlight colour depends on whether the window is active)
    window = QWidget()
    qtbot.addWidget(window)
    QHBoxLayout(window)
    views = []
    for cls in (PerCell, OnePass):
        view = cls(window)
        window.layout().addWidget(view)
        view.setModel(proxy)
        view.setItemDelegate(CellDelegate(view, model, proxy))
        view.horizontalHeader().setDefaultSectionSize(36)
        view.verticalHeader().setDefaultSectionSize(22)
        for d in range(block.n_days):
            for r in range(CALL_ROWS):
                view.setSpan(r, 2 * d, 1, 2)
        view.setMinimumSize(700, 420)
        views.append(view)
    window.show()
    qtbot.waitExposed(window)
    return model, proxy, painter, views[0], views[1], window


def _select(view: QTableView, proxy, top: int, left: int, bottom: int, right: int) -> None:
    view.selectionModel().select(QItemSelection(proxy.index(top, left), proxy.index(bottom, right)),
                                 QItemSelectionModel.SelectionFlag.ClearAndSelect)


def _differing(a: QImage, b: QImage) -> list[tuple[int, int]]:
    assert a.size() == b.size()
    return [(x, y) for y in range(a.height()) for x in range(a.width()) if a.pixel(x, y) != b.pixel(x, y)]


def _cell_rect(view: QTableView, proxy, row: int, col: int):
    return view.visualRect(proxy.index(row, col))


def test_one_pass_painter_matches_the_delegate(qtbot, block):
    from desktop.models.block_grid import CALL_ROWS

    model, proxy, painter, per_cell, one_pass, _window = _views(qtbot, block)
    snap = block.snapshot
    cells = block.cells
    # a locked cell and an empty weekend cell in view, a selection, and a live-check mark
    locked = next((CALL_ROWS + p, c) for p in range(snap.n_people) for c in range(16)
                  if cells.locked_rows[p][c] and cells.act_rows[p][c] >= 0)
    empty_shaded = next(((CALL_ROWS + p, c) for p in range(min(snap.n_people, 15)) for c in range(16)
                         if cells.act_rows[p][c] < 0 and cells.shaded[c]), None)
    for view in (per_cell, one_pass):
        _select(view, proxy, 0, 2, CALL_ROWS + 3, 7)
    model.set_marks({(CALL_ROWS + 4, 5): "Would break H80"})
    a, b = per_cell.viewport().grab().toImage(), one_pass.viewport().grab().toImage()
    diff = _differing(a, b)
    # Qt draws a one-pixel grid dot at the top of a spanned call cell's inner column line; nothing else differs
    assert len(diff) <= 2 * block.n_days, diff[:20]
    assert all(y == 0 for _x, y in diff), diff[:20]
    assert painter.tiles_made > 0

    # what the painter drew, checked against the data
    r, c = locked
    rect = _cell_rect(one_pass, proxy, r, c)
    a_idx = cells.act_rows[r - CALL_ROWS][c]
    bg = QColor(snap.activities[a_idx].colour)
    assert QColor(b.pixel(rect.left() + 1, rect.bottom() - 1)) == bg  # the activity colour
    fg = model._fg[a_idx]
    assert QColor(b.pixel(rect.right() - 1, rect.top() + 1)) == fg  # the lock triangle, in the text colour
    mark = _cell_rect(one_pass, proxy, CALL_ROWS + 4, 5)
    assert QColor(b.pixel(mark.left() + 1, mark.center().y())) == QColor("#e00000")
    sel = _cell_rect(one_pass, proxy, CALL_ROWS + 1, 3)
    unselected = _cell_rect(one_pass, proxy, CALL_ROWS + 1, 12)
    if cells.act_rows[1][3] == cells.act_rows[1][12] >= 0:
        assert b.pixel(sel.left() + 1, sel.bottom() - 1) != b.pixel(unselected.left() + 1, unselected.bottom() - 1)
    if empty_shaded is not None:
        er, ec = empty_shaded
        rect = _cell_rect(one_pass, proxy, er, ec)
        base = one_pass.palette().color(one_pass.palette().ColorRole.Base)
        assert QColor(b.pixel(rect.left() + 1, rect.top() + 1)) != base  # weekend / holiday shading

    # tiles are made once per look, not per paint
    made = painter.tiles_made
    one_pass.viewport().repaint()
    assert painter.tiles_made == made


def test_one_pass_painter_matches_the_delegate_with_a_filter(qtbot, block):
    model, proxy, painter, per_cell, one_pass, _window = _views(qtbot, block)
    proxy.set_filter(pgy=1)
    assert not proxy.passthrough
    for view in (per_cell, one_pass):
        _select(view, proxy, 2, 0, 3, 3)
    a, b = per_cell.viewport().grab().toImage(), one_pass.viewport().grab().toImage()
    assert all(y == 0 for _x, y in _differing(a, b))
    # scrolled to the right: the first visible column is a PM column (half a call-row span)
    for view in (per_cell, one_pass):
        view.horizontalScrollBar().setValue(view.horizontalHeader().sectionPosition(7) + 10)
    a, b = per_cell.viewport().grab().toImage(), one_pass.viewport().grab().toImage()
    assert all(y == 0 for _x, y in _differing(a, b))
    # zoomed: a new tile size and font
    for view in (per_cell, one_pass):
        font = view.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        view.setFont(font)
        view.horizontalHeader().setDefaultSectionSize(54)
        view.verticalHeader().setDefaultSectionSize(33)
    a, b = per_cell.viewport().grab().toImage(), one_pass.viewport().grab().toImage()
    assert all(y == 0 for _x, y in _differing(a, b))


def test_the_block_grid_paints_in_one_pass_and_looks_the_same_as_per_cell(window, qtbot):
    from desktop.models.block_grid import CALL_ROWS

    page = window.schedule_page()
    view = page.view
    qtbot.waitUntil(lambda: page.model.cells is not None, timeout=10_000)
    view.selectionModel().select(QItemSelection(page.proxy.index(CALL_ROWS, 1), page.proxy.index(CALL_ROWS + 2, 4)),
                                 QItemSelectionModel.SelectionFlag.ClearAndSelect)
    one_pass = view.viewport().grab().toImage()
    painter = view._grid_painter
    assert painter is not None and painter.tiles_made > 0
    made = painter.tiles_made
    view.one_pass = False
    try:
        per_cell = view.viewport().grab().toImage()
    finally:
        view.one_pass = True
    assert painter.tiles_made == made  # that paint went through the delegate
    assert all(y == 0 for _x, y in _differing(per_cell, one_pass))


def test_name_column_size_hint_from_the_widest_name_is_qts(window, qtbot):
    from PySide6.QtWidgets import QHeaderView

    from desktop.views.grid_painter import NameHeader

    page = window.schedule_page()
    qtbot.waitUntil(lambda: page.model.cells is not None, timeout=10_000)
    header = page.view.verticalHeader()
    assert isinstance(header, NameHeader)
    assert header.count() == page.proxy.rowCount() > 3
    assert header.sizeHint() == QHeaderView.sizeHint(header)  # the size Qt works out over every section
    page.proxy.set_filter(pgy=1)
    assert header.sizeHint() == QHeaderView.sizeHint(header)
    page.proxy.set_filter(pgy=None)
    page.apply_zoom(2.0)  # a bigger font: a wider column, still the same as Qt's
    wide = header.sizeHint()
    assert wide == QHeaderView.sizeHint(header)
    page.apply_zoom(1.0)
    assert header.sizeHint().width() < wide.width()
