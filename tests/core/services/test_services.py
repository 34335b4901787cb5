from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.errors import ConflictError, ValidationError
from core.rules.ruleset import RuleValues
from core.services import absences, catalog, people, programs, rollover, schedule, undo
from core.services.base import verify_chain
from core.services.schedule import CallEdit, ReasonRequired, SlotEdit
from core.snapshot import build_snapshot
from core.store import models as m

D = dt.date(2026, 7, 6)  # a Monday in block 1


def count(ctx, model) -> int:
    return ctx.read(lambda s: s.scalar(select(func.count()).select_from(model)))


def test_create_program_makes_year_blocks_holidays_and_rule_set(ctx, program):
    years = programs.academic_years(ctx, program["program"].id)
    assert [y.start_year for y in years] == [2026]
    assert len(years[0].blocks) == 13
    assert years[0].blocks[0].start == dt.date(2026, 7, 1) and years[0].blocks[-1].end == dt.date(2027, 6, 30)
    rs = programs.current_rule_set(ctx, program["program"].id)
    assert rs is not None and rs.number == 1 and rs.values == RuleValues().to_dict()
    assert count(ctx, m.Holiday) == 11


def test_assign_writes_audit_and_outbox_and_returns_change_set(ctx, program):
    res, wards = program["resident"], program["wards"]
    audit0, outbox0 = count(ctx, m.AuditEvent), count(ctx, m.OutboxRecord)
    r = schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, wards.id), SlotEdit(res.id, D, 1, wards.id)])
    assert [a.slot for a in r.value] == [0, 1]
    assert r.changes.people == {res.id} and r.changes.dates == {D}
    assert count(ctx, m.AuditEvent) == audit0 + 1
    assert count(ctx, m.OutboxRecord) == outbox0 + 2
    assert all(a.source == "manual" and a.locked for a in r.value)


def test_failed_edit_leaves_no_audit_or_outbox(ctx, program):
    res = program["resident"]
    audit0, outbox0, assign0 = count(ctx, m.AuditEvent), count(ctx, m.OutboxRecord), count(ctx, m.Assignment)
    with pytest.raises(ValidationError):
        # the second edit names an activity that does not exist: the whole edit is refused
        schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, program["wards"].id), SlotEdit(res.id, D, 1, "nope")])
    assert (count(ctx, m.AuditEvent), count(ctx, m.OutboxRecord), count(ctx, m.Assignment)) == (audit0, outbox0, assign0)


def test_failure_after_rows_were_written_rolls_everything_back(ctx, program, monkeypatch):
    res = program["resident"]
    audit0, outbox0, assign0 = count(ctx, m.AuditEvent), count(ctx, m.OutboxRecord), count(ctx, m.Assignment)
    import core.services.base as base

    def broken_outbox(*a, **k):
        raise RuntimeError("disk went away")

    monkeypatch.setattr(base, "append_outbox_many", broken_outbox)
    with pytest.raises(RuntimeError):
        schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, program["wards"].id)])
    assert (count(ctx, m.AuditEvent), count(ctx, m.OutboxRecord), count(ctx, m.Assignment)) == (audit0, outbox0, assign0)


def test_duplicate_slot_in_one_edit_refused(ctx, program):
    res = program["resident"]
    with pytest.raises(ValidationError, match="twice"):
        schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, program["wards"].id), SlotEdit(res.id, D, 0, None)])


def test_freeze_horizon_needs_reason(ctx, program, clock):
    res = program["resident"]
    clock.now = dt.datetime(2026, 7, 3, 9, tzinfo=dt.UTC)
    with pytest.raises(ReasonRequired, match="freeze horizon"):
        schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, program["wards"].id)])
    r = schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, program["wards"].id)], reason="sick call cover")
    assert r.value[0].note == "sick call cover"
    # outside the horizon: no reason needed
    schedule.assign_slots(ctx, [SlotEdit(res.id, D + dt.timedelta(days=30), 0, program["wards"].id)])


def test_undo_redo_restores_exactly(ctx, program):
    res, wards, clinic = program["resident"], program["wards"], program["clinic"]
    schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, wards.id)])
    second = schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, clinic.id), SlotEdit(res.id, D, 1, wards.id)])
    undo.undo(ctx, second.changes)
    rows = schedule.assignments_between(ctx, D, D)
    assert [(a.slot, a.activity_id) for a in rows] == [(0, wards.id)]
    undo.redo(ctx, second.changes)
    rows = schedule.assignments_between(ctx, D, D)
    assert [(a.slot, a.activity_id) for a in rows] == [(0, clinic.id), (1, wards.id)]


def test_undo_refused_when_changed_since(ctx, program):
    res, wards, clinic = program["resident"], program["wards"], program["clinic"]
    first = schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, wards.id)])
    schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, clinic.id)])
    with pytest.raises(ConflictError):
        undo.undo(ctx, first.changes)


def test_set_rotation_fills_template_but_keeps_hand_edits(ctx, program):
    res, rot, clinic, wards = program["resident"], program["rotation"], program["clinic"], program["wards"]
    block = program["blocks"][1]  # block 2
    day = block.start + dt.timedelta(days=(0 - block.start.weekday()) % 7)  # first Monday
    schedule.assign_slots(ctx, [SlotEdit(res.id, day, 0, clinic.id)])  # a manual edit
    r = schedule.set_rotation(ctx, res.id, block.id, rot.id)
    rows = {(a.date, a.slot): a for a in schedule.assignments_between(ctx, block.start, block.end, res.id)}
    assert rows[(day, 0)].activity_id == clinic.id and rows[(day, 0)].source == "manual"
    assert rows[(day, 1)].activity_id == wards.id and rows[(day, 1)].source == "template"
    wed = day + dt.timedelta(days=2)
    assert rows[(wed, 1)].activity_id == clinic.id
    weekend = [d for d, _s in rows if d.weekday() >= 5]
    assert weekend == []  # the pattern has no weekend cells
    assert r.value == 4 * 5 * 2 - 1


def test_set_rotation_half_block(ctx, program):
    res, rot = program["resident"], program["rotation"]
    block = program["blocks"][2]
    schedule.set_rotation(ctx, res.id, block.id, rot.id, half=2)
    rows = schedule.assignments_between(ctx, block.start, block.end, res.id)
    assert min(a.date for a in rows) >= block.start + dt.timedelta(days=14)


def test_calls_and_snapshot(ctx, program):
    res, fac = program["resident"], program["faculty"]
    schedule.set_calls(ctx, [CallEdit(res.id, D, "in_house"), CallEdit(fac.id, D, "home", hours_worked=2.5)])
    schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, program["wards"].id)])
    snap = build_snapshot(ctx.sessions(), program["program"].id, dt.date(2026, 7, 1), dt.date(2026, 7, 28))
    p_res, p_fac = snap.person_index[res.id], snap.person_index[fac.id]
    d = snap.day_of(D)
    assert snap.call[p_res, d] == 1 and snap.call[p_fac, d] == 2 and snap.call_hours[p_fac, d] == 2.5
    assert snap.codes[p_res, 2 * d] == snap.activity_index[program["wards"].id]
    assert snap.people[0].kind == "resident" and snap.people[0].pgy == 1
    with pytest.raises(ValueError):
        snap.codes[0, 0] = 3  # read-only


def test_absence_flow_and_away_projection(ctx, program):
    res = program["resident"]
    schedule.set_rotation(ctx, res.id, program["blocks"][0].id, program["rotation"].id)
    req = absences.request_absence(ctx, res.id, "vacation", D, D + dt.timedelta(days=4)).value
    proj = absences.away_projection(ctx, res.id, D + dt.timedelta(days=20), D + dt.timedelta(days=35))
    assert proj.pending_days == 5 and proj.with_request == 21 and proj.warning and not proj.over_limit
    out = absences.approve_absence(ctx, req.id).value
    assert out.absence.status == "approved"
    assert len([e for e in out.emptied if e.slot is not None]) == 10
    rows = schedule.assignments_between(ctx, D, D + dt.timedelta(days=4), res.id)
    assert {a.activity_id for a in rows} == {program["leave"].id}
    with pytest.raises(ValidationError, match="cannot become"):
        absences.deny_absence(ctx, req.id)
    with pytest.raises(ValidationError, match="overlaps"):
        absences.request_absence(ctx, res.id, "sick", D, D)
    absences.cancel_absence(ctx, req.id)
    from core.services.swaps import notifications

    assert {n.kind for n in notifications(ctx, res.id)} == {"absence_cancelled", "absence_approved"}
    assert [n.kind for n in notifications(ctx, None)] == ["absence_request"]


def test_rollover_promotes_and_graduates(ctx, program):
    pid = program["program"].id
    senior = people.create_person(ctx, pid, "Dr Old", "resident", academic_year=2026, pgy=3).value
    out = rollover.rollover(ctx, pid, 2026).value
    assert out.new_year == 2027 and out.promoted == 1 and out.graduated == ("Dr Old",)
    roster = {p.name: p.pgy for p in people.list_people(ctx, pid, 2027)}
    assert roster["Dr Lee"] == 2 and "Dr Old" not in roster
    assert senior.id not in {p.id for p in people.list_people(ctx, pid, 2027)}
    assert [y.start_year for y in programs.academic_years(ctx, pid)] == [2026, 2027]


def test_rule_set_looser_than_acgme_needs_exception(ctx, program):
    pid = program["program"].id
    with pytest.raises(ValidationError, match="ACGME floor"):
        programs.new_rule_set(ctx, pid, {"max_hours_per_week": 88})
    rs = programs.new_rule_set(ctx, pid, {"max_hours_per_week": 88},
                               exceptions={"max_hours_per_week": "RRC exception granted 2026"}).value
    assert rs.number == 2
    stricter = programs.new_rule_set(ctx, pid, {"max_hours_per_week": 72}).value
    assert stricter.number == 3


def test_activity_validation_messages(ctx, program):
    pid = program["program"].id
    with pytest.raises(ValidationError, match="colour"):
        catalog.create_activity(ctx, pid, code="X", name="X", category="clinic", colour="red")
    with pytest.raises(ValidationError, match="already exists"):
        catalog.create_activity(ctx, pid, code="C", name="Clinic 2", category="clinic")
    with pytest.raises(ValidationError, match="category"):
        catalog.create_activity(ctx, pid, code="Y", name="Y", category="nap")


def test_audit_chain_verifies_and_detects_tampering(ctx, program):
    res = program["resident"]
    schedule.assign_slots(ctx, [SlotEdit(res.id, D, 0, program["wards"].id)])
    with ctx.sessions() as s:
        report = verify_chain(s)
        assert report.ok and report.events >= 8
    with ctx.sessions() as s:
        ev = s.scalars(select(m.AuditEvent).where(m.AuditEvent.seq == 3)).one()
        ev.actor = "mallory"
        s.commit()
    with ctx.sessions() as s:
        report = verify_chain(s)
        assert not report.ok and report.first_bad_seq == 3


def test_audit_chain_detects_deleted_event(ctx, program):
    with ctx.sessions() as s:
        s.delete(s.scalars(select(m.AuditEvent).where(m.AuditEvent.seq == 2)).one())
        s.commit()
    with ctx.sessions() as s:
        report = verify_chain(s)
        assert not report.ok and report.first_bad_seq == 3
