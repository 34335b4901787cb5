"""The Swaps page offscreen, driven through its widgets: a trade requested, accepted, approved,
executed and rolled back (the schedule returns exactly to its previous state); refusals shown as
the core's sentence with nothing changed; notifications per person; the models under qtmodeltester."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QDialog

from core.services import schedule, swaps
from core.services.swaps import ShiftItem

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

# in-house calls of the sample: residents 0 (Jul 13, Jul 25), 2 (Jul 21), 4 (Jul 17)
JUL_13, JUL_17, JUL_21, JUL_25 = (dt.date(2026, 7, d) for d in (13, 17, 21, 25))


def calls_state(ctx):
    return sorted((c.person_id, c.date, c.call_type) for c in schedule.calls_between(ctx, dt.date(2026, 7, 1),
                                                                                     dt.date(2026, 7, 28)))


def slots_state(ctx):
    return sorted((a.person_id, a.date, a.slot, a.activity_id) for a in
                  schedule.assignments_between(ctx, dt.date(2026, 7, 1), dt.date(2026, 7, 28)))


def status_of(page, row: int = 0) -> str:
    return page.model.rows[row].record.status


@pytest.fixture
def page(window, qtbot):
    p = window.page("Swaps")
    window.show_page("Swaps")
    qtbot.waitUntil(lambda: p.acting.count() > 1, timeout=10_000)
    return p


def act_as(page, qtbot, person_id):
    page.set_acting(person_id)
    qtbot.waitUntil(lambda: page.data is not None and page.data.acting == person_id, timeout=10_000)


def fill_trade(giver: str, taker: str, give: dt.date, take: dt.date):
    """A stand-in for exec(): fill the dialog's widgets as a user would, then press Request."""

    def exec_(dialog) -> int:
        dialog.kind.setCurrentIndex(dialog.kind.findData("trade"))
        dialog.requester.setCurrentIndex(dialog.requester.findData(giver))
        dialog.counterpart.setCurrentIndex(dialog.counterpart.findData(taker))
        dialog.give.set("call", give)
        dialog.take.set("call", take)
        dialog.note.setText("family wedding")
        assert dialog.take.isEnabled() and dialog.counterpart.isEnabled()
        return QDialog.DialogCode.Accepted

    return exec_


def test_trade_request_accept_approve_execute_rollback(window, page, qtbot, sample, monkeypatch):
    from desktop.views.swaps import NewSwapDialog

    ctx = window.session.ctx
    lee, moreno = sample.residents[4], sample.residents[0]  # a trade of calls that breaks no rule
    before_calls, before_slots = calls_state(ctx), slots_state(ctx)
    assert (lee, JUL_17, "in_house") in before_calls and (moreno, JUL_25, "in_house") in before_calls

    # the requester asks for a trade through the New swap dialog
    act_as(page, qtbot, lee)
    monkeypatch.setattr(NewSwapDialog, "exec", fill_trade(lee, moreno, JUL_17, JUL_25))
    page.new_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    assert status_of(page) == "requested"
    assert "Requested" in page.message.text()
    assert page.mine_proxy.rowCount() == 1
    # each row shows its check results (checked for both people)
    assert page.model.rows[0].checked
    assert page.model.data(page.model.index(0, 7)) == "No problem found"

    # the counterpart sees it in My requests; an illegal action is refused and changes nothing
    act_as(page, qtbot, moreno)
    qtbot.waitUntil(lambda: page.mine_proxy.rowCount() == 1, timeout=10_000)
    page.tabs.setCurrentIndex(1)
    page.mine_view.selectRow(0)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: "Only the person who made the request can cancel it." in page.message.text(), timeout=10_000)
    assert swaps.list_swaps(ctx)[0].status == "requested"
    assert calls_state(ctx) == before_calls
    page.mine_view.selectRow(0)
    page.accept_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and status_of(page) == "accepted", timeout=10_000)
    assert "approval" in page.message.text()

    # the coordinator: execute before approval is refused, then approve and execute
    act_as(page, qtbot, None)
    assert page.approve_button.isEnabled() and not page.take_button.isEnabled()
    page.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: page.queue_proxy.rowCount() == 1, timeout=10_000)
    page.queue_view.selectRow(0)
    page.execute_button.click()
    qtbot.waitUntil(lambda: "requires a coordinator's approval" in page.message.text(), timeout=10_000)
    assert calls_state(ctx) == before_calls
    page.queue_view.selectRow(0)
    page.approve_button.click()
    qtbot.waitUntil(lambda: status_of(page) == "approved", timeout=10_000)
    page.queue_view.selectRow(0)
    page.execute_button.click()
    qtbot.waitUntil(lambda: status_of(page) == "executed", timeout=10_000)
    after = calls_state(ctx)
    assert (moreno, JUL_17, "in_house") in after and (lee, JUL_25, "in_house") in after
    assert (lee, JUL_17, "in_house") not in after

    # history: roll back returns the schedule, calls included, to exactly its previous state
    page.tabs.setCurrentIndex(3)
    qtbot.waitUntil(lambda: page.history_proxy.rowCount() == 1, timeout=10_000)
    page.history_view.selectRow(0)
    page.rollback_button.click()
    qtbot.waitUntil(lambda: status_of(page) == "rolled_back", timeout=10_000)
    assert calls_state(ctx) == before_calls
    assert slots_state(ctx) == before_slots
    # rolling back twice is refused with the core's sentence
    page.history_view.selectRow(0)
    page.rollback_button.click()
    qtbot.waitUntil(lambda: "Only an executed swap can be rolled back" in page.message.text(), timeout=10_000)

    # notifications, per person: the requester was told of the acceptance, execution and rollback
    act_as(page, qtbot, lee)
    panel = page.notifications
    qtbot.waitUntil(lambda: panel.model.rowCount() >= 3, timeout=10_000)
    kinds = {n.kind for n in panel.model.rows}
    assert {"swap_accepted", "swap_executed", "swap_rolled_back"} <= kinds
    assert panel.model.unread == panel.model.rowCount()
    assert panel.status_label.text() == f"{panel.model.unread} unread"
    assert panel.desktop_messages == []  # offscreen: no tray message, and nothing fails
    panel.mark_all_button.click()
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0 and panel.model.unread == 0, timeout=10_000)
    assert panel.status_label.text() == ""
    # the other person's notices are theirs: still unread
    assert any(not n.read for n in swaps.notifications(ctx, moreno))


def test_accepting_a_trade_that_breaks_a_rule_is_refused(window, page, qtbot, sample, monkeypatch):
    from desktop.views.swaps import NewSwapDialog

    ctx = window.session.ctx
    lee, rossi = sample.residents[0], sample.residents[2]
    act_as(page, qtbot, lee)
    monkeypatch.setattr(NewSwapDialog, "exec", fill_trade(lee, rossi, JUL_13, JUL_21))
    page.new_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    # the row shows the problems the check found, in plain words
    assert "C24" in page.model.data(page.model.index(0, 7))
    before = calls_state(ctx), slots_state(ctx)
    act_as(page, qtbot, rossi)
    qtbot.waitUntil(lambda: page.mine_proxy.rowCount() == 1, timeout=10_000)
    page.mine_view.selectRow(0)
    page.accept_button.click()
    qtbot.waitUntil(lambda: "Accepting would break a rule" in page.message.text(), timeout=10_000)
    assert "continuous duty" in page.message.text()
    assert swaps.list_swaps(ctx)[0].status == "requested"
    assert (calls_state(ctx), slots_state(ctx)) == before


def test_open_shift_marketplace_candidates_and_claim(window, page, qtbot, sample):
    ctx = window.session.ctx
    dev = sample.residents[4]
    sw = swaps.request_swap(ctx, "open_shift", dev, [ShiftItem(JUL_17)]).value
    act_as(page, qtbot, sample.residents[1])
    qtbot.waitUntil(lambda: page.market_proxy.rowCount() == 1, timeout=10_000)
    assert "you can take" in page.tabs.tabText(0)
    page.only_mine.setChecked(True)
    assert page.market_proxy.rowCount() == (1 if sw.id in page.data.can_take else 0)
    page.only_mine.setChecked(False)
    page.market_view.selectRow(0)
    qtbot.waitUntil(lambda: page.candidates.rowCount() > 0, timeout=15_000)
    assert "candidate" in page.candidates_title.text()
    ranked = swaps.rank_candidates(ctx, sw.id)
    assert [c.person_id for c in page.candidates.rows] == [c.person_id for c in ranked]
    assert page.candidates.data(page.candidates.index(0, 5))  # the reasons are shown
    # the best candidate claims it from the marketplace
    best = page.candidates.rows[0].person_id
    act_as(page, qtbot, best)
    qtbot.waitUntil(lambda: page.market_proxy.rowCount() == 1, timeout=10_000)
    page.market_view.selectRow(0)
    page.take_button.click()
    qtbot.waitUntil(lambda: swaps.get_swap(ctx, sw.id).status == "accepted", timeout=10_000)
    assert swaps.get_swap(ctx, sw.id).counterpart_id == best


def test_models_pass_qtmodeltester(qtmodeltester, qtbot, program_file, sample):
    from core.services.base import ServiceContext
    from core.store.db import open_database
    from desktop.models.swaps import CandidatesModel, NoticesModel, SwapFilterProxy, SwapRow, SwapsModel

    opened = open_database(program_file)
    try:
        ctx = ServiceContext(opened.engine, actor="t", clock=lambda: dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
        lee, moreno = sample.residents[4], sample.residents[0]
        a = swaps.request_swap(ctx, "trade", lee, [ShiftItem(JUL_17)], take=[ShiftItem(JUL_25)],
                               counterpart_id=moreno).value
        b = swaps.request_swap(ctx, "open_shift", moreno, [ShiftItem(JUL_13)]).value
        model = SwapsModel()
        model.set_names({lee: "Lee", moreno: "Moreno"})
        model.reset([SwapRow(a), SwapRow(b)])
        qtmodeltester.check(model)
        assert model.data(model.index(0, 2)) == "Lee" and model.data(model.index(1, 3)) == "anyone"
        # exact signals: a changed row is dataChanged, a new one inserted, a gone one removed
        accepted = swaps.accept_swap(ctx, a.id, moreno).value
        c = swaps.request_swap(ctx, "pool", moreno, [ShiftItem(JUL_13)]).value
        seen: list[str] = []
        model.dataChanged.connect(lambda tl, _br, _r: seen.append(f"changed {tl.row()}"))
        model.rowsInserted.connect(lambda _p, f, _l: seen.append(f"inserted {f}"))
        model.rowsRemoved.connect(lambda _p, f, _l: seen.append(f"removed {f}"))
        model.modelReset.connect(lambda: seen.append("reset"))
        model.sync([SwapRow(accepted, ("a problem",), True), SwapRow(c)])
        assert seen == ["removed 1", "changed 0", "inserted 1"]
        assert model.data(model.index(0, 1)) == "Accepted" and "a problem" in model.data(model.index(0, 7))
        qtmodeltester.check(model)
        proxy = SwapFilterProxy(("requested",), ("pool", "open_shift"))
        proxy.setSourceModel(model)
        qtmodeltester.check(proxy)
        assert proxy.rowCount() == 1

        cands = CandidatesModel()
        cands.reset(swaps.rank_candidates(ctx, c.id))
        qtmodeltester.check(cands)
        notices = NoticesModel()
        notices.reset(swaps.notifications(ctx, lee))
        qtmodeltester.check(notices)
        assert notices.unread == notices.rowCount() > 0
    finally:
        opened.engine.dispose()


def test_execute_with_a_critical_problem_needs_an_override_reason(window, page, qtbot, sample):
    ctx = window.session.ctx
    lee, rossi = sample.residents[0], sample.residents[2]
    # accepted earlier with an override (through the service), approved: executing still finds the problem
    sw = swaps.request_swap(ctx, "trade", lee, [ShiftItem(JUL_13)], take=[ShiftItem(JUL_21)],
                            counterpart_id=rossi).value
    swaps.accept_swap(ctx, sw.id, rossi, override_reason="agreed with the chief")
    swaps.approve_swap(ctx, sw.id, approver="chief")
    before = calls_state(ctx), slots_state(ctx)
    act_as(page, qtbot, None)
    page.refresh_button.click()  # made outside the page: read again
    page.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: page.queue_proxy.rowCount() == 1, timeout=10_000)
    assert "C24" in page.model.data(page.model.index(0, 7))  # the row shows its check results
    page.queue_view.selectRow(0)
    page.execute_button.click()
    qtbot.waitUntil(lambda: "A coordinator can override with a reason" in page.message.text(), timeout=10_000)
    assert (calls_state(ctx), slots_state(ctx)) == before
    page.override.setChecked(True)
    page.execute_button.click()  # no reason typed: refused before anything runs
    assert page.message.text().startswith("Give the reason for the override")
    page.override_reason.setText("no other resident available")
    page.queue_view.selectRow(0)
    page.execute_button.click()
    qtbot.waitUntil(lambda: swaps.get_swap(ctx, sw.id).status == "executed", timeout=10_000)
    assert swaps.get_swap(ctx, sw.id).override_reason == "no other resident available"
    qtbot.waitUntil(lambda: "with an override" in page.message.text(), timeout=10_000)


def test_page_refreshes_itself_after_writes_elsewhere_and_an_undo(window, page, qtbot, sample, monkeypatch):
    """No Refresh click: a write made through the session by another view, an undoable schedule
    edit and its undo each bring the page up to date, read on a worker thread; while the page is
    hidden the writes are only noted, and it reads when shown again."""
    import threading

    import desktop.views.swaps as swaps_view
    from core.services.schedule import CallEdit

    session = window.session
    lee, moreno = sample.residents[4], sample.residents[0]
    act_as(page, qtbot, None)
    threads: list[bool] = []
    real_read = swaps_view.read_swaps

    def read(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return real_read(*args, **kwargs)

    monkeypatch.setattr(swaps_view, "read_swaps", read)
    problems = lambda: page.model.data(page.model.index(0, 7))  # noqa: E731
    # another view asks for a trade through the session
    session.write(lambda c: swaps.request_swap(c, "trade", lee, [ShiftItem(JUL_17)], take=[ShiftItem(JUL_25)],
                                               counterpart_id=moreno), text="Request a swap", undoable=False)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    assert problems() == "No problem found"
    # the counterpart's call is cleared in the schedule (undoable): the row's check follows
    session.write(lambda c: schedule.set_calls(c, [CallEdit(moreno, JUL_25, None)]), text="Clear a call")
    qtbot.waitUntil(lambda: "no longer holds" in problems(), timeout=10_000)
    assert session.undo_stack.canUndo()
    session.undo_stack.undo()
    qtbot.waitUntil(lambda: problems() == "No problem found", timeout=10_000)
    assert threads and not any(threads)  # every read ran off the GUI thread

    # hidden: a write is noted, not read; shown again: read
    window.show_page("Schedule")
    qtbot.waitUntil(lambda: not page.isVisible(), timeout=5_000)
    n = len(threads)
    session.write(lambda c: schedule.set_calls(c, [CallEdit(moreno, JUL_25, None)]), text="Clear a call")
    qtbot.waitUntil(lambda: page._stale, timeout=10_000)
    qtbot.wait(2 * swaps_view.REFRESH_DELAY_MS)
    assert len(threads) == n
    window.show_page("Swaps")
    qtbot.waitUntil(lambda: "no longer holds" in problems(), timeout=10_000)
    assert not page._stale


def test_an_offer_i_can_take_is_a_notice_and_the_filter_agrees(window, page, qtbot, sample):
    """One notice per open offer the acting person is eligible for and compliant to take, unread
    until marked, theirs alone; "only what I can take" shows exactly those offers."""
    from desktop.models.records import RecordRole

    ctx = window.session.ctx
    r = sample.residents
    takeable = swaps.request_swap(ctx, "open_shift", r[4], [ShiftItem(JUL_17)]).value
    other = swaps.request_swap(ctx, "open_shift", r[0], [ShiftItem(JUL_13)]).value
    assert [o.id for o in swaps.open_offers_for(ctx, r[1])] == [takeable.id]  # the second breaks a rule for them
    act_as(page, qtbot, r[1])
    panel = page.notifications
    offers = lambda: [n for n in panel.model.rows if n.kind == swaps.OFFER_NOTICE]  # noqa: E731
    qtbot.waitUntil(lambda: len(offers()) == 1, timeout=10_000)
    notice = offers()[0]
    assert notice.ref == takeable.id and not notice.read and "you can take it" in notice.text
    assert panel.model.unread >= 1 and "Notifications (" in page.tabs.tabText(4)
    qtbot.waitUntil(lambda: page.market_proxy.rowCount() == 2, timeout=10_000)
    page.only_mine.setChecked(True)
    assert page.market_proxy.rowCount() == 1 and page.data.can_take == {takeable.id}
    assert page.market_proxy.data(page.market_proxy.index(0, 0), RecordRole).id == takeable.id
    assert other.id not in page.data.can_take
    # marked read: it stays read on the next load and is not added again
    panel.view.selectRow(panel.model.rows.index(notice))
    panel.mark_button.click()
    qtbot.waitUntil(lambda: offers() and offers()[0].read, timeout=10_000)
    panel.reload()
    qtbot.wait(300)
    assert [(n.ref, n.read) for n in offers()] == [(takeable.id, True)]
    # another person who can take neither has no such notice
    act_as(page, qtbot, r[2])
    qtbot.waitUntil(lambda: panel.person_id == r[2] and page.data.acting == r[2], timeout=10_000)
    qtbot.wait(300)
    assert offers() == [] and page.data.can_take == frozenset()
    assert [n.read for n in swaps.notifications(ctx, r[1]) if n.kind == swaps.OFFER_NOTICE] == [True]
