"""The Absences page offscreen: a request through its dialog (with the time away shown), an
approval that lists the emptied slots with proposed cover, a refused transition that changes
nothing, the calendar strip; the models under qtmodeltester."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QDialog

from core.services import absences, schedule

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JUL_13, JUL_14 = dt.date(2026, 7, 13), dt.date(2026, 7, 14)
JUL_24, JUL_25 = dt.date(2026, 7, 24), dt.date(2026, 7, 25)  # resident 0: wards on the Friday, in-house call on Saturday


@pytest.fixture
def page(window, qtbot):
    p = window.page("Absences")
    window.show_page("Absences")
    qtbot.waitUntil(lambda: p.loaded, timeout=10_000)
    return p


def test_request_then_approve_shows_emptied_slots_with_cover(window, page, qtbot, sample, monkeypatch):
    from desktop.views.absences import AbsenceRequestDialog

    ctx = window.session.ctx
    lee = sample.residents[0]
    assert page.model.rowCount() == 1  # the sample's approved conference
    shown: list[str] = []

    def exec_(dialog) -> int:
        dialog.person.setCurrentIndex(dialog.person.findData(lee))
        dialog.type.setCurrentIndex(dialog.type.findData("vacation"))
        dialog.start.setDate(JUL_24)
        dialog.end.setDate(JUL_25)
        qtbot.waitUntil(lambda: dialog.projection_value is not None and dialog.projection_value.with_request == 2,
                        timeout=10_000)
        shown.append(dialog.projection.text())
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AbsenceRequestDialog, "exec", exec_)
    page.request_button.click()
    assert shown == ["2 of 28 days away in AY 2026 with this request."]
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    assert "waits for approval" in page.message.text() and shown[0] in page.message.text()
    rec = next(r for r in page.model.rows if r.person_id == lee)
    assert rec.status == "pending"
    # the strip shows it (pending) on its days
    page.show_strip(dt.date(2026, 7, 17))
    row = [pid for pid, _n in page.strip.people].index(lee)
    assert page.strip.data(page.strip.index(row, 7)) == "V"
    assert page.strip.data(page.strip.index(row, 6)) is None

    held_before = [a for a in schedule.assignments_between(ctx, JUL_24, JUL_25) if a.person_id == lee]
    assert held_before
    page.select(rec.id)
    page.approve_button.click()
    qtbot.waitUntil(lambda: page.cover.rowCount() > 0, timeout=20_000)
    assert "Approved" in page.message.text()
    rows = page.cover.rows
    assert {(r.date, r.slot) for r in rows} >= {(JUL_25, None), (JUL_24, 0), (JUL_24, 1)}
    call = next(r for r in rows if r.slot is None)
    assert call.what == "in-house call" and call.proposals
    residents = {window.session.data.people[i].name for i, p in enumerate(window.session.data.people)
                 if p.kind == "resident"}
    assert {n for r in rows for n in r.proposals} <= residents  # a resident is covered by residents
    assert lee not in {n for r in rows for n in r.proposals}
    assert page.cover.data(page.cover.index(0, 3))  # names shown
    assert "cover proposed for" in page.cover_title.text()
    qtbot.waitUntil(lambda: next(r for r in page.model.rows if r.id == rec.id).status == "approved", timeout=10_000)
    assert not [c for c in schedule.calls_between(ctx, JUL_25, JUL_25) if c.person_id == lee]

    # an illegal transition: deny an approved absence -> the core's sentence, nothing changes
    slots_before = schedule.assignments_between(ctx, JUL_24, JUL_25)
    page.select(rec.id)
    page.deny_button.click()
    qtbot.waitUntil(lambda: "An absence that is approved cannot become denied." in page.message.text(),
                    timeout=10_000)
    assert absences.list_absences(ctx, person_id=lee)[0].status == "approved"
    assert schedule.assignments_between(ctx, JUL_24, JUL_25) == slots_before


def test_deny_and_cancel_and_filters(window, page, qtbot, sample):
    ctx = window.session.ctx
    kofi = sample.residents[1]
    page.submit_request(kofi, "personal", JUL_13, JUL_13)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    rec = next(r for r in page.model.rows if r.person_id == kofi)
    page.status.setCurrentIndex(page.status.findData("pending"))
    assert page.proxy.rowCount() == 1
    page.select(rec.id)
    page.deny_button.click()
    qtbot.waitUntil(lambda: page.model.rows[page.model.row_of(rec.id)].status == "denied", timeout=10_000)
    assert page.proxy.rowCount() == 0
    page.status.setCurrentIndex(0)
    page.person.setCurrentIndex(page.person.findData(kofi))
    assert page.proxy.rowCount() == 1 and page.strip.rowCount() == 1
    page.select(rec.id)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: "cannot become cancelled" in page.message.text(), timeout=10_000)
    assert absences.list_absences(ctx, person_id=kofi)[0].status == "denied"


def test_models_pass_qtmodeltester(qtmodeltester, sample):
    from core.services.records import AbsenceRecord
    from desktop.models.absences import AbsencesModel, AbsenceStripModel, CoverModel, CoverRow

    a = AbsenceRecord("a1", "p1", "vacation", JUL_13, JUL_14, "pending", True, True, None)
    b = AbsenceRecord("a2", "p2", "sick", JUL_14, JUL_14, "approved", True, True, "flu")
    model = AbsencesModel()
    model.set_names({"p1": "Dr One", "p2": "Dr Two"})
    model.reset([a, b])
    qtmodeltester.check(model)
    seen: list[str] = []
    model.dataChanged.connect(lambda tl, _br, _r: seen.append(f"changed {tl.row()}"))
    model.rowsRemoved.connect(lambda _p, f, _l: seen.append(f"removed {f}"))
    model.rowsInserted.connect(lambda _p, f, _l: seen.append(f"inserted {f}"))
    c = AbsenceRecord("a3", "p1", "conference", JUL_13, JUL_13, "pending", False, False, None)
    model.sync([AbsenceRecord("a1", "p1", "vacation", JUL_13, JUL_14, "approved", True, True, None), c])
    assert seen == ["removed 1", "changed 0", "inserted 1"]
    assert model.data(model.index(0, 5)) == "Approved" and model.data(model.index(0, 4)) == "2"
    qtmodeltester.check(model)

    strip = AbsenceStripModel()
    strip.set_strip([("p1", "Dr One"), ("p2", "Dr Two")], dt.date(2026, 7, 12), 7, [a, b])
    qtmodeltester.check(strip)
    assert [strip.data(strip.index(0, d)) for d in range(4)] == [None, "V", "V", None]
    assert strip.data(strip.index(1, 2)) == "S"

    cover = CoverModel()
    cover.reset([CoverRow("p1", JUL_13, 0, "W", ("Dr Two",)), CoverRow("p1", JUL_13, None, "in-house call", ())])
    qtmodeltester.check(cover)
    assert cover.data(cover.index(1, 3)) == "Nobody free and compliant"
