"""The block grid's editing beyond typing a code: drag to move or copy cells (and the keyboard's
cut / copy / paste), locked cells and the freeze horizon on a drop."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent

from desktop.models.block_grid import CALL_ROWS, decode_cells

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JUL_6, JUL_7, JUL_9, JUL_14 = dt.date(2026, 7, 6), dt.date(2026, 7, 7), dt.date(2026, 7, 9), dt.date(2026, 7, 14)
MOVE, COPY = Qt.DropAction.MoveAction, Qt.DropAction.CopyAction


def cell(page, person_id: str, day: dt.date, slot: int):
    """The proxy index (what the view shows) of a person's slot."""
    model = page.model
    return page.proxy.mapFromSource(model.index(model.row_of(person_id), model.columns_of(day)[slot]))


def in_db(window, person_id: str, day: dt.date) -> dict[int, str | None]:
    from core.services import schedule

    rows = schedule.assignments_between(window.session.ctx, day, day, person_id)
    out: dict[int, str | None] = {0: None, 1: None}
    out.update({r.slot: r.activity_id for r in rows})
    return out


def prepare(window, qtbot, edits) -> None:
    """Put known activities in some cells, through the session (one undoable edit)."""
    n = window.session.undo_stack.count()
    window.session.assign(edits)
    qtbot.waitUntil(lambda: window.session.undo_stack.count() == n + 1 and window.session.pending_writes == 0,
                    timeout=10_000)


def settled(window) -> bool:
    return window.session.pending_writes == 0


@pytest.fixture
def confirmed(window, monkeypatch) -> list[str]:
    """Hand-edited cells are `manual`, hence locked: moving them asks first. Answer yes (no modal
    dialog in a test) and keep the questions."""
    asked: list[str] = []
    monkeypatch.setattr(window.schedule_page(), "confirm_locked", lambda message: asked.append(message) or True)
    return asked


def test_drop_moves_cells_to_another_person_as_one_undoable_checked_edit(window, qtbot, sample, confirmed):
    page = window.schedule_page()
    ids = sample.activity_ids
    pgy2, pgy1 = sample.residents[2], sample.residents[-1]
    prepare(window, qtbot, [(pgy2, JUL_6, 0, ids["PROC"]), (pgy2, JUL_6, 1, ids["LEC"])])
    target_before = in_db(window, pgy1, JUL_9)
    assert target_before != {0: ids["PROC"], 1: ids["LEC"]}
    assert not any(v.rule == "QUAL" and v.person_id == pgy1 for v in page.panel_model.rows)
    stack = window.session.undo_stack
    n = stack.count()

    data = page.proxy.mimeData([cell(page, pgy2, JUL_6, 0), cell(page, pgy2, JUL_6, 1)])
    assert page.proxy.canDropMimeData(data, MOVE, -1, -1, cell(page, pgy1, JUL_9, 0))
    assert page.proxy.dropMimeData(data, MOVE, -1, -1, cell(page, pgy1, JUL_9, 0))
    qtbot.waitUntil(lambda: in_db(window, pgy1, JUL_9) == {0: ids["PROC"], 1: ids["LEC"]}, timeout=10_000)
    assert in_db(window, pgy2, JUL_6) == {0: None, 1: None}  # a move clears the source
    assert confirmed == ["This move moves 2 locked cell(s) away (preload or manual assignments). Go ahead?"]
    qtbot.waitUntil(lambda: settled(window) and page.model.data(page.proxy.mapToSource(cell(page, pgy1, JUL_9, 0))) == "PROC",
                    timeout=10_000)
    assert page.model.data(page.proxy.mapToSource(cell(page, pgy2, JUL_6, 0))) == ""
    assert stack.count() == n + 1 and stack.text(n) == "Move 2 cell(s)"
    # the compliance engine checked it: a PGY-1 holding procedures breaks QUAL
    qtbot.waitUntil(lambda: any(v.rule == "QUAL" and v.person_id == pgy1 for v in page.panel_model.rows), timeout=5000)

    stack.undo()  # restores the source and the target
    qtbot.waitUntil(lambda: in_db(window, pgy2, JUL_6) == {0: ids["PROC"], 1: ids["LEC"]}, timeout=10_000)
    assert in_db(window, pgy1, JUL_9) == target_before
    qtbot.waitUntil(lambda: not any(v.rule == "QUAL" and v.person_id == pgy1 for v in page.panel_model.rows),
                    timeout=5000)
    stack.redo()
    qtbot.waitUntil(lambda: in_db(window, pgy1, JUL_9) == {0: ids["PROC"], 1: ids["LEC"]}, timeout=10_000)
    assert in_db(window, pgy2, JUL_6) == {0: None, 1: None}
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)


def test_ctrl_drop_on_the_view_copies_and_a_move_may_overlap_its_source(window, qtbot, sample, confirmed):
    page = window.schedule_page()
    ids = sample.activity_ids
    res = sample.residents[0]
    prepare(window, qtbot, [(res, JUL_6, 0, ids["LEC"]), (res, JUL_6, 1, ids["OFF"])])
    sm = page.view.selectionModel()
    src = [cell(page, res, JUL_6, 0), cell(page, res, JUL_6, 1)]
    data = page.proxy.mimeData(src)

    def drop_on(ix, modifiers):
        pos = QPointF(page.view.visualRect(ix).center())
        ev = QDropEvent(pos, COPY | MOVE, data, Qt.MouseButton.LeftButton, modifiers)
        if modifiers == Qt.KeyboardModifier.NoModifier:
            # the default action of the grid's drag (GridView.startDrag: QDrag.exec(..., MoveAction));
            # outside a running drag Qt's platform default would be Copy
            ev.setDropAction(MOVE)
        page.view.dropEvent(ev)
        return ev

    # Ctrl-drag copies (Qt's convention: the drop action follows the modifier)
    ev = drop_on(cell(page, res, JUL_9, 0), Qt.KeyboardModifier.ControlModifier)
    assert ev.dropAction() == COPY and ev.isAccepted()
    qtbot.waitUntil(lambda: in_db(window, res, JUL_9) == {0: ids["LEC"], 1: ids["OFF"]}, timeout=10_000)
    assert in_db(window, res, JUL_6) == {0: ids["LEC"], 1: ids["OFF"]}  # the source stays
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)

    # a plain drag moves; dropping the selected AM+PM one slot later lands on a selected cell
    # (Qt's own item view would refuse that drop)
    sm.select(src[0], sm.SelectionFlag.ClearAndSelect)
    sm.select(src[1], sm.SelectionFlag.Select)
    ev = drop_on(src[1], Qt.KeyboardModifier.NoModifier)
    assert ev.dropAction() == MOVE and ev.isAccepted()
    qtbot.waitUntil(lambda: in_db(window, res, JUL_6) == {0: None, 1: ids["LEC"]}, timeout=10_000)
    assert in_db(window, res, JUL_7)[0] == ids["OFF"]
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)

    # nowhere to land: onto the call rows, or past the block's last column
    assert not page.proxy.canDropMimeData(data, COPY, -1, -1, page.proxy.index(0, 4))
    last = page.proxy.index(CALL_ROWS, page.proxy.columnCount() - 1)
    assert not page.proxy.canDropMimeData(data, COPY, -1, -1, last)
    ev = drop_on(last, Qt.KeyboardModifier.NoModifier)
    assert not ev.isAccepted()


def test_start_drag_names_the_cell_under_the_pointer_as_anchor(window, qtbot, sample, monkeypatch):
    import desktop.views.schedule as view_module

    page = window.schedule_page()
    res = sample.residents[1]
    started = []

    class FakeDrag:
        def __init__(self, source):
            self.source = source

        def setMimeData(self, data):
            self.data = data

        def exec(self, actions, default):
            started.append((decode_cells(self.data), actions, default))
            return MOVE

    monkeypatch.setattr(view_module, "QDrag", FakeDrag)
    a, b = cell(page, res, JUL_6, 0), cell(page, res, JUL_7, 1)
    sm = page.view.selectionModel()
    sm.select(a, sm.SelectionFlag.ClearAndSelect)
    sm.select(b, sm.SelectionFlag.Select)
    page.view.setCurrentIndex(b)
    sm.select(a, sm.SelectionFlag.Select)
    page.view.startDrag(page.model.supportedDragActions())
    (anchor, cells), actions, default = started[0]
    src_b = page.proxy.mapToSource(b)
    assert anchor == (src_b.row(), src_b.column())
    assert {(c[2], c[3], c[4]) for c in cells} == {(res, JUL_6, 0), (res, JUL_7, 1)}
    assert actions == COPY | MOVE and default == MOVE
    assert page.model.data(page.proxy.mapToSource(a)) == page.model.data(page.proxy.mapToSource(a))  # untouched
    assert window.session.undo_stack.count() == 0  # a finished drag changes nothing by itself


def test_locked_cells_are_not_overwritten_or_moved_without_confirmation(window, qtbot, sample, monkeypatch):
    page = window.schedule_page()
    model = page.model
    # a faculty preload (locked) cell
    fac = next(f for f in sample.faculty
               if model.data(model.index(model.row_of(f), model.columns_of(JUL_6)[0]), Qt.ItemDataRole.UserRole + 5))
    locked_before = in_db(window, fac, JUL_6)
    res = sample.residents[0]
    data = page.proxy.mimeData([cell(page, res, JUL_9, 0)])
    asked: list[str] = []
    monkeypatch.setattr(page, "confirm_locked", lambda message: asked.append(message) or False)
    assert page.proxy.dropMimeData(data, COPY, -1, -1, cell(page, fac, JUL_6, 0))
    qtbot.waitUntil(lambda: "locked cells were kept" in window.message_bar.text(), timeout=5000)
    assert "overwrites 1 locked cell(s)" in asked[0]
    assert in_db(window, fac, JUL_6) == locked_before
    assert window.session.undo_stack.count() == 0

    # moving the locked cell away asks too; a yes moves it
    monkeypatch.setattr(page, "confirm_locked", lambda message: asked.append(message) or True)
    data = page.proxy.mimeData([cell(page, fac, JUL_6, 0)])
    assert page.proxy.dropMimeData(data, MOVE, -1, -1, cell(page, fac, JUL_9, 0))
    qtbot.waitUntil(lambda: in_db(window, fac, JUL_6)[0] is None, timeout=10_000)
    assert "moves 1 locked cell(s) away" in asked[-1]
    assert in_db(window, fac, JUL_9)[0] == locked_before[0]
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
    assert window.session.undo_stack.count() == 1


def test_drop_inside_the_freeze_horizon_asks_for_a_reason(window, qtbot, sample, monkeypatch, confirmed):
    window.app.clock = lambda: dt.datetime(2026, 7, 3, 12, tzinfo=dt.UTC)
    window.session.ctx.clock = window.app.clock
    asked = []
    monkeypatch.setattr(window, "ask_reason", lambda message: asked.append(message) or "Swap agreed")
    page = window.schedule_page()
    ids = sample.activity_ids
    res = sample.residents[1]
    prepare(window, qtbot, [(res, JUL_14, 0, ids["LEC"])])  # outside the horizon: no question
    assert not asked
    data = page.proxy.mimeData([cell(page, res, JUL_14, 0)])
    assert page.proxy.dropMimeData(data, MOVE, -1, -1, cell(page, res, JUL_6, 1))
    qtbot.waitUntil(lambda: in_db(window, res, JUL_6)[1] == ids["LEC"], timeout=10_000)
    assert asked and "freeze horizon" in asked[0]
    assert in_db(window, res, JUL_14)[0] is None
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
    assert window.session.undo_stack.count() == 2


def test_keyboard_cut_and_paste_moves_cells(window, qtbot, sample, confirmed):
    page = window.schedule_page()
    ids = sample.activity_ids
    res = sample.residents[3]
    prepare(window, qtbot, [(res, JUL_6, 0, ids["LEC"]), (res, JUL_6, 1, ids["OFF"])])
    view, sm = page.view, page.view.selectionModel()

    def go(ix):  # like a click on the cell
        sm.setCurrentIndex(ix, sm.SelectionFlag.ClearAndSelect)
    view.setFocus()
    go(cell(page, res, JUL_6, 0))
    sm.select(cell(page, res, JUL_6, 1), sm.SelectionFlag.Select)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    go(cell(page, res, JUL_9, 0))
    qtbot.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)  # copy
    qtbot.waitUntil(lambda: in_db(window, res, JUL_9) == {0: ids["LEC"], 1: ids["OFF"]}, timeout=10_000)
    assert in_db(window, res, JUL_6) == {0: ids["LEC"], 1: ids["OFF"]}
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)

    go(cell(page, res, JUL_9, 0))
    sm.select(cell(page, res, JUL_9, 1), sm.SelectionFlag.Select)
    qtbot.keyClick(view, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    go(cell(page, res, JUL_7, 0))
    qtbot.keyClick(view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)  # move
    qtbot.waitUntil(lambda: in_db(window, res, JUL_9) == {0: None, 1: None}, timeout=10_000)
    assert in_db(window, res, JUL_7) == {0: ids["LEC"], 1: ids["OFF"]}
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
    assert window.session.undo_stack.count() == 3
    # a cut pastes once
    assert not page.paste_cells()
    menu = page.build_context_menu()
    texts = [a.text() for a in menu.actions()]
    assert {"Cut cells", "Copy cells", "Paste cells here"} <= set(texts)


def test_with_a_filter_dropped_rows_land_on_the_shown_rows(window, qtbot, sample, confirmed):
    page = window.schedule_page()
    ids = sample.activity_ids
    a, b, c, d = sample.residents[:4]  # grid rows in this order
    prepare(window, qtbot, [(a, JUL_6, 0, ids["LEC"]), (c, JUL_6, 0, ids["OFF"])])
    page.proxy.set_filter(rotation_people={a, c, d})  # b is hidden between a and c
    b_before = in_db(window, b, JUL_9)
    data = page.proxy.mimeData([cell(page, a, JUL_6, 0), cell(page, c, JUL_6, 0)])
    # a's cell on c, and c's (one shown row below a) on d (one shown row below c), not on hidden rows
    assert page.proxy.dropMimeData(data, COPY, -1, -1, cell(page, c, JUL_9, 0))
    qtbot.waitUntil(lambda: in_db(window, d, JUL_9)[0] == ids["OFF"], timeout=10_000)
    assert in_db(window, c, JUL_9)[0] == ids["LEC"]
    assert in_db(window, b, JUL_9) == b_before
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
    # the last shown row has nothing below it: a two-row drop there is refused
    last = page.proxy.index(page.proxy.rowCount() - 1, 0)
    assert not page.proxy.canDropMimeData(data, COPY, -1, -1, last)


def test_a_drag_starts_only_from_inside_the_selection(window, qtbot, sample):
    """A press outside the selection sweeps a new selection (no drag of that one cell); a press
    inside it keeps the selection, ready to be dragged."""
    page = window.schedule_page()
    view, sm = page.view, page.view.selectionModel()
    res = sample.residents[0]
    a, b, other = cell(page, res, JUL_6, 0), cell(page, res, JUL_6, 1), cell(page, res, JUL_9, 0)
    view.scrollTo(a)
    sm.select(a, sm.SelectionFlag.ClearAndSelect)
    sm.select(b, sm.SelectionFlag.Select)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(b).center())
    assert view.dragEnabled()
    assert sm.isSelected(a) and sm.isSelected(b)  # the selection stays for the drag
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(b).center())
    view.scrollTo(other)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(other).center())
    assert not view.dragEnabled()
    assert sm.isSelected(other) and not sm.isSelected(a)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(other).center())
