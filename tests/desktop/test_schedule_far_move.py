"""A cut pasted into another block clears its source there, outside the loaded block: the
compliance panel lists what that did to the rules at the source too (and an undo takes it back)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.desktop.test_grid_editing import cell, in_db, settled

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


@pytest.fixture
def confirmed(window, monkeypatch) -> list[str]:
    asked: list[str] = []
    monkeypatch.setattr(window.schedule_page(), "confirm_locked", lambda message: asked.append(message) or True)
    return asked


def breaking_clear(snap, people, days):
    """A (person, day, slot) whose clearing breaks a rule, and the rules it breaks."""
    from core.rules.engine import ProposedChange, check_change

    for p in people:
        for d in days:
            for slot in (0, 1):
                added = check_change(snap, ProposedChange(assignments=((p, d, slot, None),))).added
                if added:
                    return (p, d, slot), {v.rule for v in added}
    raise AssertionError("no cell of the sample breaks a rule when cleared")


@pytest.mark.parametrize("step", [2, 1], ids=["outside the snapshot", "in the snapshot's margin"])
def test_a_cut_pasted_into_another_block_checks_its_source(window, qtbot, sample, confirmed, step):
    page, session = window.schedule_page(), window.session
    block1 = session.block
    days = [dt.date(2026, 7, 6) + dt.timedelta(days=k) for k in range(5)]
    (who, day, slot), rules = breaking_clear(block1.snapshot, sample.faculty, days)
    activity = in_db(window, who, day)[slot]
    sm = page.view.selectionModel()
    sm.setCurrentIndex(cell(page, who, day, slot), sm.SelectionFlag.ClearAndSelect)
    assert page.copy_cells(cut=True)

    # block 3: block 1 is outside its snapshot (more than a rule window away); block 2: the source
    # is in its snapshot's margin (checked with the block's own edit, but outside the block)
    session.step_block(step)
    qtbot.waitUntil(lambda: session.block.block.number == 1 + step
                    and page.panel_title.text() != "Compliance: checking…", timeout=10_000)
    in_snapshot = 0 <= session.block.snapshot.day_of(day) < session.block.snapshot.n_days
    assert in_snapshot == (step == 1)
    target = session.block.block.start + dt.timedelta(days=7)
    sm.setCurrentIndex(cell(page, who, target, slot), sm.SelectionFlag.ClearAndSelect)
    assert page.paste_cells()
    qtbot.waitUntil(lambda: in_db(window, who, target)[slot] == activity, timeout=10_000)
    assert in_db(window, who, day)[slot] is None

    def at_source():
        return [v for v in page.panel_model.rows if v.rule in rules and not session.block.in_block(v)
                and (v.start.date() if isinstance(v.start, dt.datetime) else v.start) <= day]

    qtbot.waitUntil(lambda: bool(at_source()), timeout=10_000)
    assert "block 1" in window.message_bar.text() and any(r in window.message_bar.text() for r in rules)
    assert "outside it" in page.panel_title.text()
    outside = [repr(v) for v in page.panel_model.rows if not session.block.in_block(v)]
    assert len(set(outside)) == len(outside)  # each once (in the margin the block's own check saw it too)
    # the block's own rows are still exactly the block's violations
    inside = [v for v in page.panel_model.rows if session.block.in_block(v)]
    assert sorted(map(repr, inside)) == sorted(repr(v) for v in session.block.violations if session.block.in_block(v))

    session.undo_stack.undo()  # puts the source back: its violations leave the panel
    qtbot.waitUntil(lambda: in_db(window, who, day)[slot] == activity, timeout=10_000)
    qtbot.waitUntil(lambda: not at_source(), timeout=10_000)
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)

    # activating such a row shows its block
    session.undo_stack.redo()
    qtbot.waitUntil(lambda: bool(at_source()), timeout=10_000)
    row = page.panel_model.rows.index(at_source()[0])
    page._panel_activated(page.panel_proxy.mapFromSource(page.panel_model.index(row, 0)))
    qtbot.waitUntil(lambda: session.block.block.number == 1, timeout=10_000)
    qtbot.waitUntil(lambda: settled(window), timeout=10_000)
