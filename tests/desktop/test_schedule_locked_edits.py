"""Typed edits, menu assignments and Delete on locked (preload / manual) cells: the same question
as a paste before they are overwritten or emptied; a no changes nothing, a yes is one undoable
edit of the whole selection; the freeze horizon still asks for its reason."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from desktop.models.block_grid import LockedRole
from tests.desktop.test_grid_editing import cell, in_db, prepare, settled

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JUL_6, JUL_9, JUL_14 = dt.date(2026, 7, 6), dt.date(2026, 7, 9), dt.date(2026, 7, 14)


def is_locked(page, person_id: str, day: dt.date, slot: int) -> bool:
    return bool(page.proxy.data(cell(page, person_id, day, slot), LockedRole))


def select(page, *indexes) -> None:
    sm = page.view.selectionModel()
    sm.setCurrentIndex(indexes[0], sm.SelectionFlag.ClearAndSelect)
    for ix in indexes[1:]:
        sm.select(ix, sm.SelectionFlag.Select)


def type_code(page, qtbot, code: str) -> None:
    """Type the code on the grid (the picker opens with its first letter) and press Enter."""
    page.view.setFocus()
    qtbot.keyClicks(page.view, code[0])
    assert page.picker.isVisible()
    qtbot.keyClicks(page.picker.edit, code[1:])
    qtbot.keyClick(page.picker.edit, Qt.Key.Key_Return)


@pytest.fixture
def answers(window, monkeypatch):
    """The questions asked (no modal dialog in a test) and the answer to give."""
    state = {"answer": False, "asked": []}

    def confirm(message: str) -> bool:
        state["asked"].append(message)
        return state["answer"]

    monkeypatch.setattr(window.schedule_page(), "confirm_locked", confirm)
    return state


def locked_and_free(window, sample):
    """A faculty preload (locked) cell and a resident cell that is not locked, on July 6 AM."""
    page = window.schedule_page()
    fac = next(f for f in sample.faculty if is_locked(page, f, JUL_6, 0))
    res = next(r for r in sample.residents if not is_locked(page, r, JUL_6, 0))
    return fac, res


def test_a_typed_code_asks_before_overwriting_a_locked_cell(window, qtbot, sample, answers):
    page = window.schedule_page()
    ids = sample.activity_ids
    fac, res = locked_and_free(window, sample)
    fac_before, res_before = in_db(window, fac, JUL_6), in_db(window, res, JUL_6)
    assert ids["ADM"] not in (fac_before[0], res_before[0])
    select(page, cell(page, fac, JUL_6, 0), cell(page, res, JUL_6, 0))

    type_code(page, qtbot, "ADM")  # answer: no
    qtbot.waitUntil(lambda: "locked cells were kept" in window.message_bar.text(), timeout=5000)
    assert answers["asked"] == ["This assignment overwrites 1 locked cell(s) (preload or manual assignments). "
                                "Go ahead?"]
    assert in_db(window, fac, JUL_6) == fac_before and in_db(window, res, JUL_6) == res_before
    assert window.session.undo_stack.count() == 0 and settled(window)
    assert set(page.selected_cells()) == {(fac, JUL_6, 0), (res, JUL_6, 0)}  # the selection stays

    answers["answer"] = True
    type_code(page, qtbot, "ADM")
    qtbot.waitUntil(lambda: in_db(window, fac, JUL_6)[0] == ids["ADM"], timeout=10_000)
    assert in_db(window, res, JUL_6)[0] == ids["ADM"]  # the rest of the selection too, same edit
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
    stack = window.session.undo_stack
    assert stack.count() == 1
    stack.undo()  # one step restores both
    qtbot.waitUntil(lambda: in_db(window, fac, JUL_6) == fac_before, timeout=10_000)
    assert in_db(window, res, JUL_6) == res_before
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)


def test_the_picker_says_when_the_code_would_overwrite_locked_cells(window, qtbot, sample, answers):
    page = window.schedule_page()
    fac, res = locked_and_free(window, sample)
    select(page, cell(page, fac, JUL_6, 0), cell(page, res, JUL_6, 0))
    page.view.setFocus()
    qtbot.keyClicks(page.view, "A")
    qtbot.keyClicks(page.picker.edit, "DM")
    assert "Overwrites 1 locked cell(s): Enter asks first." in page.picker.info.text()
    select(page, cell(page, res, JUL_6, 0))  # the free cell alone: nothing to say
    page._live_check("ADM")
    assert "locked" not in page.picker.info.text()
    qtbot.keyClick(page.picker.edit, Qt.Key.Key_Escape)
    assert answers["asked"] == []


def test_the_same_code_on_a_locked_cell_does_not_ask(window, qtbot, sample, answers):
    page = window.schedule_page()
    fac, _res = locked_and_free(window, sample)
    code = page.model.data(page.proxy.mapToSource(cell(page, fac, JUL_6, 0)))
    select(page, cell(page, fac, JUL_6, 0))
    page.assign(page.session.data.activity_by_code(code).id)
    qtbot.waitUntil(lambda: settled(window) and window.session.undo_stack.count() == 1, timeout=10_000)
    assert answers["asked"] == []


def test_delete_asks_before_emptying_locked_cells_and_a_no_keeps_everything(window, qtbot, sample, answers):
    page = window.schedule_page()
    ids = sample.activity_ids
    res = sample.residents[0]
    # hand edits are manual, hence locked: one of the two cells typed before
    prepare(window, qtbot, [(res, JUL_9, 0, ids["LEC"])])
    assert is_locked(page, res, JUL_9, 0) and not is_locked(page, res, JUL_9, 1)
    pm_before = in_db(window, res, JUL_9)[1]
    assert pm_before is not None
    n = window.session.undo_stack.count()
    select(page, cell(page, res, JUL_9, 0), cell(page, res, JUL_9, 1))
    page.view.setFocus()

    qtbot.keyClick(page.view, Qt.Key.Key_Delete)  # answer: no
    qtbot.waitUntil(lambda: "locked cells were kept" in window.message_bar.text(), timeout=5000)
    assert answers["asked"] == ["This clear empties 1 locked cell(s) (preload or manual assignments). Go ahead?"]
    assert in_db(window, res, JUL_9) == {0: ids["LEC"], 1: pm_before}  # neither cell was cleared
    assert window.session.undo_stack.count() == n

    answers["answer"] = True
    qtbot.keyClick(page.view, Qt.Key.Key_Backspace)
    qtbot.waitUntil(lambda: in_db(window, res, JUL_9) == {0: None, 1: None}, timeout=10_000)
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
    assert window.session.undo_stack.count() == n + 1 and len(answers["asked"]) == 2
    window.session.undo_stack.undo()
    qtbot.waitUntil(lambda: in_db(window, res, JUL_9) == {0: ids["LEC"], 1: pm_before}, timeout=10_000)
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)


def test_a_locked_cell_inside_the_freeze_horizon_asks_both_questions(window, qtbot, sample, answers, monkeypatch):
    window.app.clock = lambda: dt.datetime(2026, 7, 3, 12, tzinfo=dt.UTC)
    window.session.ctx.clock = window.app.clock
    reasons: list[str] = []
    monkeypatch.setattr(window, "ask_reason", lambda message: reasons.append(message) or "Sick call")
    answers["answer"] = True
    page = window.schedule_page()
    fac, _res = locked_and_free(window, sample)
    select(page, cell(page, fac, JUL_6, 0))
    page.view.setFocus()
    qtbot.keyClick(page.view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: in_db(window, fac, JUL_6)[0] is None, timeout=10_000)
    assert len(answers["asked"]) == 1 and reasons and "freeze horizon" in reasons[0]
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
