"""Live-check marks on the block grid: the cells whose current assignment breaks a rule carry a
mark (a red corner, `RuleMarkRole`) and a tooltip naming the rule and the number, kept up to date
after each edit by the incremental check; while choosing, the cells the choice would break are
framed."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from PySide6.QtCore import Qt

from core.rules.engine import Violation
from desktop.models.block_grid import CALL_ROWS, BlockGridModel, RuleMarkRole, violation_marks, violation_mask

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JUL_6 = dt.date(2026, 7, 6)


def test_violation_marks_cover_the_cells_that_break_the_rule(block):
    snap, cells = block.snapshot, block.cells
    p = 0
    person = snap.people[p]
    day0 = snap.date_of(cells.first_day)
    h80 = Violation("H80", "critical", person.id, person.name, day0 + dt.timedelta(days=2), day0 + dt.timedelta(days=4),
                    84.5, 80.0, f"{person.name}: 84.5 h/week averaged over ... (limit 80)")
    marks = violation_marks(snap, cells, [h80])
    expected = {(CALL_ROWS + p, c) for c in range(4, 10) if cells.act_rows[p][c] >= 0}
    assert expected and set(marks) == expected
    assert all(text == f"H80: {h80.message}" for text in marks.values())
    # outside the block: nothing
    assert not violation_marks(snap, cells, [dataclasses.replace(h80, start=day0 - dt.timedelta(days=9),
                                                                 end=day0 - dt.timedelta(days=2))])
    # a slot's shortfall is nobody's cell; too many in an activity marks the people in it
    c = next(c for c in range(2 * cells.n_days) if any(row[c] >= 0 for row in cells.act_rows))
    a = next(row[c] for row in cells.act_rows if row[c] >= 0)
    code = snap.activities[a].code
    day, slot = snap.date_of(cells.first_day + c // 2), c % 2
    holders = {(CALL_ROWS + q, c) for q, row in enumerate(cells.act_rows) if row[c] == a}
    short = Violation("COV", "critical", None, None, day, day, 1.0, 2.0, "short", day=day, slot=slot, activity_code=code)
    over = Violation("CAP", "high", None, None, day, day, 9.0, 6.0, "9 in clinic (room capacity 6)", day=day,
                     slot=slot, activity_code=code)
    assert violation_marks(snap, cells, [short]) == {}
    marks = violation_marks(snap, cells, [over, h80, short])
    assert holders <= set(marks) and all("CAP: 9 in clinic (room capacity 6)" in marks[k] for k in holders)
    assert set(marks) == holders | expected
    # the painters' mask is the same cells, and the model's role gives the same text
    mask = violation_mask(snap, cells, [over, h80, short])
    assert {(CALL_ROWS + int(p), int(c)) for p, c in zip(*mask.nonzero())} == set(marks)
    model = BlockGridModel()
    model.set_block(snap, cells.first_day, cells.n_days, cells)
    model.set_rule_violations([over, h80, short])
    for (r, c), text in marks.items():
        assert model.data(model.index(r, c), RuleMarkRole) == text
        assert "Breaks " + text.split("\n")[0] in model.data(model.index(r, c), Qt.ItemDataRole.ToolTipRole)
    unmarked = next((r, c) for r in range(CALL_ROWS, model.rowCount()) for c in range(model.columnCount())
                    if (r, c) not in marks)
    assert model.data(model.index(*unmarked), RuleMarkRole) is None
    model.set_rule_violations([])
    assert all(model.data(model.index(r, c), RuleMarkRole) is None for r, c in marks)


def test_an_edit_that_breaks_a_rule_marks_the_cell_until_undone(window, qtbot, sample):
    page = window.schedule_page()
    pgy1 = sample.residents[-1]  # PGY-1: procedures are for PGY-2 and 3 (QUAL)
    model = page.model
    src = model.index(model.row_of(pgy1), model.columns_of(JUL_6)[0])
    ix = page.proxy.mapFromSource(src)
    qtbot.waitUntil(lambda: page.panel_title.text() != "Compliance: checking…", timeout=10_000)
    assert model.data(src, RuleMarkRole) is None
    page.view.setFocus()
    page.view.selectionModel().setCurrentIndex(ix, page.view.selectionModel().SelectionFlag.ClearAndSelect)

    qtbot.keyClicks(page.view, "P")
    qtbot.keyClicks(page.picker.edit, "ROC")
    # while choosing: framed, 'Would break QUAL'
    assert "Would break QUAL" in model.data(src, Qt.ItemDataRole.UserRole)
    assert "Would break QUAL" in model.data(src, Qt.ItemDataRole.ToolTipRole)
    qtbot.keyClick(page.picker.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: model.data(src) == "PROC", timeout=10_000)

    # after the edit: the cell carries the mark, its tooltip names the rule and the number
    qtbot.waitUntil(lambda: model.data(src, RuleMarkRole) is not None, timeout=5000)
    mark = model.data(src, RuleMarkRole)
    assert mark.startswith("QUAL: ") and "holds PROC in 1 half-day" in mark
    tip = model.data(src, Qt.ItemDataRole.ToolTipRole)
    assert "Breaks QUAL: " in tip and "1 half-day" in tip
    # and the grid shows it: the red corner at the cell's top left
    page.view.scrollTo(ix)
    rect = page.view.visualRect(ix)
    image = page.view.viewport().grab().toImage()
    dpr = image.devicePixelRatio()
    corner = image.pixelColor(int((rect.left() + 1) * dpr), int((rect.top() + 1) * dpr))
    assert corner.name() == "#e00000"
    # the one-pass painter and Qt's per-cell delegate path paint the same pixels
    page.view.one_pass = False
    try:
        per_cell = page.view.viewport().grab().toImage()
    finally:
        page.view.one_pass = True
    box = rect.adjusted(0, 0, 1, 1)
    assert per_cell.copy(box) == image.copy(box)

    window.session.undo_stack.undo()
    qtbot.waitUntil(lambda: model.data(src) != "PROC", timeout=10_000)
    qtbot.waitUntil(lambda: model.data(src, RuleMarkRole) is None, timeout=5000)
    assert "Breaks" not in model.data(src, Qt.ItemDataRole.ToolTipRole)
