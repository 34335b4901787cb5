"""A resilience fallback (a repair) kept as a draft, reviewed and published like a generated one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from core.errors import ConflictError
from core.resilience.scenario import best_repair
from core.services import catalog, people
from core.services.base import ServiceContext
from core.services.drafts import get_draft, list_drafts, publish_draft, save_repair_draft
from core.services.schedule import SlotEdit, assign_slots, assignments_between
from core.snapshot import build_snapshot
from core.store import models as m


def _scenario(ctx: ServiceContext, program: dict[str, Any]) -> tuple[Any, Any, str, dt.date]:
    """Dr Lee holds the ward Mon-Tue (entered by hand), the ward needs one resident; Dr Kim is free.
    The fallback for Lee out: clear Lee's 4 half-days, Kim takes them (8 changes)."""
    pid = program["program"].id
    catalog.create_activity(ctx, pid, code="OFF", name="Off", category="off", colour="#ffffff")
    kim = people.create_person(ctx, pid, "Dr Kim", "resident", academic_year=2026, pgy=1).value
    mon = program["blocks"][1].start
    mon += dt.timedelta(days=(7 - mon.weekday()) % 7)
    days = [mon, mon + dt.timedelta(days=1)]
    wards, lee = program["wards"], program["resident"]
    assign_slots(ctx, [SlotEdit(lee.id, d, s, wards.id) for d in days for s in (0, 1)], reason="setup")
    for d in days:
        for s in (0, 1):
            catalog.create_requirement(ctx, pid, wards.id, slot=s, min_count=1, optimum=1, max_count=3, date=d)
    start, end = mon - dt.timedelta(days=7), mon + dt.timedelta(days=8)
    snap = ctx.read(lambda s: build_snapshot(s, pid, start, end))
    rep = best_repair(snap, [snap.person_index[lee.id]], (7, 8))
    return snap, rep, kim.id, mon


def _count(ctx: ServiceContext, model: Any) -> int:
    return int(ctx.read(lambda s: s.scalar(select(func.count()).select_from(model))))


def test_fallback_draft_is_reviewed_and_published_with_audit_and_outbox(ctx: ServiceContext,
                                                                        program: dict[str, Any]) -> None:
    snap, rep, kim, mon = _scenario(ctx, program)
    assert rep.method == "cp-sat" and rep.unfilled == 0 and rep.n_changes == 8
    pid = program["program"].id
    draft = save_repair_draft(ctx, pid, rep, snap).value
    assert draft.kind == "fallback" and draft.status == "open" and draft.label == "Fallback: Dr Lee out"
    again = get_draft(ctx, draft.id)
    assert len(again.changes) == 8 and again.unfilled == () and again.call_changes == ()
    assert {(c["person"], c["after"]) for c in again.changes} == {("Dr Lee", None), ("Dr Kim", "W")}
    assert again.summary["method"] == "cp-sat" and again.block_start == mon
    assert [d.id for d in list_drafts(ctx, pid)] == [draft.id]
    audit, outbox = _count(ctx, m.AuditEvent), _count(ctx, m.OutboxRecord)
    publish_draft(ctx, draft.id, reason="fallback applied")
    cells = {(a.person_id, a.date, a.slot): a for a in assignments_between(ctx, mon, mon + dt.timedelta(days=1))}
    lee = program["resident"].id
    assert not any(k[0] == lee for k in cells)  # hand-entered, cleared by the fallback
    assert {k for k in cells if k[0] == kim} == {(kim, mon + dt.timedelta(days=d), s) for d in (0, 1) for s in (0, 1)}
    assert all(cells[k].source == "generated" for k in cells)
    assert _count(ctx, m.AuditEvent) == audit + 1
    assert _count(ctx, m.OutboxRecord) >= outbox + 8
    assert get_draft(ctx, draft.id).status == "published" and _count(ctx, m.PublishedVersion) == 1


def test_fallback_draft_is_refused_after_the_schedule_changed(ctx: ServiceContext, program: dict[str, Any]) -> None:
    snap, rep, kim, mon = _scenario(ctx, program)
    draft = save_repair_draft(ctx, program["program"].id, rep, snap).value
    assign_slots(ctx, [SlotEdit(kim, mon + dt.timedelta(days=3), 0, program["wards"].id)], reason="edit")
    with pytest.raises(ConflictError):
        publish_draft(ctx, draft.id, reason="too late")
    assert get_draft(ctx, draft.id).status == "open"


def test_a_fallback_of_an_older_schedule_is_not_saved(ctx: ServiceContext, program: dict[str, Any]) -> None:
    import dataclasses

    snap, rep, _kim, _mon = _scenario(ctx, program)
    with pytest.raises(ConflictError):
        save_repair_draft(ctx, program["program"].id, dataclasses.replace(rep, revision="older"), snap)
