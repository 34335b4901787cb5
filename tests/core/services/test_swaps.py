from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.errors import ConflictError, ValidationError
from core.services import people, programs, schedule, swaps
from core.services.base import ServiceContext
from core.services.schedule import CallEdit, SlotEdit
from core.services.swaps import TRANSITIONS, ShiftItem
from core.store import models as m

MON = dt.date(2026, 7, 6)
FRI, SAT, SUN = (MON + dt.timedelta(days=d) for d in (4, 5, 6))


def state_of(ctx: ServiceContext) -> tuple:
    """Every live assignment and call, as comparable tuples."""
    a = ctx.read(lambda s: sorted(
        (r.person_id, r.date, r.slot, r.activity_id, r.source, r.locked) for r in s.scalars(
            select(m.Assignment).where(m.Assignment.deleted.is_(False)))))
    c = ctx.read(lambda s: sorted(
        (r.person_id, r.date, r.call_type, r.hours_worked) for r in s.scalars(
            select(m.CallAssignment).where(m.CallAssignment.deleted.is_(False)))))
    return a, c


@pytest.fixture
def team(ctx, program):
    pid = program["program"].id
    lee = program["resident"]
    kim = people.create_person(ctx, pid, "Dr Kim", "resident", academic_year=2026, pgy=1).value
    park = people.create_person(ctx, pid, "Dr Park", "resident", academic_year=2026, pgy=1).value
    w = program["wards"].id
    edits = []
    for d in range(5):
        day = MON + dt.timedelta(days=d)
        for who in (lee, kim, park):
            edits += [SlotEdit(who.id, day, 0, w), SlotEdit(who.id, day, 1, w)]
    schedule.assign_slots(ctx, edits)
    # wards Monday-Friday; calls Friday (Lee), Saturday (Kim), Sunday (Park): the day after each is free
    schedule.set_calls(ctx, [CallEdit(lee.id, FRI, "in_house"), CallEdit(kim.id, SAT, "in_house"),
                             CallEdit(park.id, SUN, "in_house")])
    return {"lee": lee, "kim": kim, "park": park, **program}


def no_approval(ctx, program_id):
    programs.new_rule_set(ctx, program_id, {"swap_requires_approval": False})


def test_trade_full_flow_and_rollback_restores_exactly(ctx, team, clock):
    lee, kim = team["lee"], team["kim"]
    before = state_of(ctx)
    sw = swaps.request_swap(ctx, "trade", lee.id, [ShiftItem(FRI)], take=[ShiftItem(SAT)],
                            counterpart_id=kim.id).value
    assert sw.status == "requested"
    assert [n.kind for n in swaps.notifications(ctx, kim.id)] == ["swap_request"]
    swaps.accept_swap(ctx, sw.id, kim.id)
    with pytest.raises(ValidationError, match="approval"):
        swaps.execute_swap(ctx, sw.id)
    swaps.approve_swap(ctx, sw.id, approver="chief")
    done = swaps.execute_swap(ctx, sw.id).value
    assert done.status == "executed"
    calls = {(c.person_id, c.date) for c in schedule.calls_between(ctx, MON, MON + dt.timedelta(days=6))}
    assert (kim.id, FRI) in calls and (lee.id, SAT) in calls
    assert (lee.id, FRI) not in calls
    clock.now += dt.timedelta(hours=2)
    swaps.rollback_swap(ctx, sw.id)
    assert state_of(ctx) == before
    assert swaps.get_swap(ctx, sw.id).status == "rolled_back"


def test_slot_giveaway_exchanges_content(ctx, team):
    lee, kim = team["lee"], team["kim"]
    no_approval(ctx, team["program"].id)
    sat = MON + dt.timedelta(days=12)  # Lee works a Saturday AM clinic; Kim has nothing there
    schedule.assign_slots(ctx, [SlotEdit(lee.id, sat, 0, team["clinic"].id)])
    sw = swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(sat, 0)], counterpart_id=kim.id).value
    swaps.accept_swap(ctx, sw.id, kim.id)
    swaps.execute_swap(ctx, sw.id)
    rows = {(a.person_id, a.slot): a.activity_id for a in schedule.assignments_between(ctx, sat, sat)}
    assert rows == {(kim.id, 0): team["clinic"].id}


def bring_to(ctx, team, state: str, clock) -> str:
    lee, kim = team["lee"], team["kim"]
    sw = swaps.request_swap(ctx, "trade", lee.id, [ShiftItem(FRI)], take=[ShiftItem(SAT)],
                            counterpart_id=kim.id, expires_at=clock.now + dt.timedelta(days=10)).value
    path = {
        "requested": [], "accepted": ["accept"], "approved": ["accept", "approve"],
        "executed": ["accept", "approve", "execute"], "declined": ["decline"], "cancelled": ["cancel"],
        "rolled_back": ["accept", "approve", "execute", "rollback"], "expired": ["expire"],
    }[state]
    for step in path:
        do(ctx, team, sw.id, step, clock)
    assert swaps.get_swap(ctx, sw.id).status == state
    return sw.id


def do(ctx, team, swap_id, action, clock):
    lee, kim = team["lee"], team["kim"]
    if action == "accept":
        return swaps.accept_swap(ctx, swap_id, kim.id)
    if action == "approve":
        return swaps.approve_swap(ctx, swap_id, approver="chief")
    if action == "execute":
        return swaps.execute_swap(ctx, swap_id)
    if action == "rollback":
        return swaps.rollback_swap(ctx, swap_id)
    if action == "decline":
        return swaps.decline_swap(ctx, swap_id, kim.id)
    if action == "cancel":
        return swaps.cancel_swap(ctx, swap_id, lee.id)
    if action == "expire":
        clock.now += dt.timedelta(days=11)
        out = swaps.expire_swaps(ctx)
        clock.now -= dt.timedelta(days=11)
        return out
    raise AssertionError(action)


ACTION_TARGET = {"accept": "accepted", "approve": "approved", "execute": "executed", "rollback": "rolled_back",
                 "decline": "declined", "cancel": "cancelled"}


@pytest.mark.parametrize("state", sorted(TRANSITIONS))
@pytest.mark.parametrize("action", sorted(ACTION_TARGET))
def test_every_transition_legal_or_refused(ctx, team, clock, state, action):
    swap_id = bring_to(ctx, team, state, clock)
    target = ACTION_TARGET[action]
    legal = target in TRANSITIONS[state] and not (action == "execute" and state == "accepted")  # approval required
    before = state_of(ctx)
    if legal:
        do(ctx, team, swap_id, action, clock)
        assert swaps.get_swap(ctx, swap_id).status == target
    else:
        with pytest.raises((ValidationError, ConflictError)):
            do(ctx, team, swap_id, action, clock)
        assert swaps.get_swap(ctx, swap_id).status == state
        assert state_of(ctx) == before


def test_expired_request_cannot_be_accepted(ctx, team, clock):
    lee, kim = team["lee"], team["kim"]
    sw = swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(FRI)], counterpart_id=kim.id,
                            expires_at=clock.now + dt.timedelta(hours=1)).value
    clock.now += dt.timedelta(hours=2)
    with pytest.raises(ValidationError, match="expired"):
        swaps.accept_swap(ctx, sw.id, kim.id)


def test_bad_requests_are_refused_with_reasons(ctx, team):
    lee, kim = team["lee"], team["kim"]
    with pytest.raises(ValidationError, match="does not hold"):
        swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(MON + dt.timedelta(days=2))], counterpart_id=kim.id)
    with pytest.raises(ValidationError, match="needs the person"):
        swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(FRI)])
    with pytest.raises(ValidationError, match="someone else"):
        swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(FRI)], counterpart_id=lee.id)
    with pytest.raises(ValidationError, match="give-away"):
        swaps.request_swap(ctx, "trade", lee.id, [ShiftItem(FRI)], counterpart_id=kim.id)


def test_critical_violation_needs_override(ctx, team):
    """Kim is on call Saturday; taking Lee's Friday call too makes 48 h of continuous duty."""
    lee, kim = team["lee"], team["kim"]
    no_approval(ctx, team["program"].id)
    sw = swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(FRI)], counterpart_id=kim.id).value
    check = swaps.check_swap(ctx, sw.id)
    assert check.critical, check.problems
    with pytest.raises(ValidationError, match="break a rule"):
        swaps.accept_swap(ctx, sw.id, kim.id)
    swaps.accept_swap(ctx, sw.id, kim.id, override_reason="no one else available")
    with pytest.raises(ValidationError, match="override"):
        swaps.execute_swap(ctx, sw.id)
    assert swaps.execute_swap(ctx, sw.id, override_reason="approved by PD").value.override_reason == "approved by PD"


def test_two_people_accepting_one_pool_offer_exactly_one_wins(ctx, team):
    lee, kim, park = team["lee"], team["kim"], team["park"]
    sw = swaps.request_swap(ctx, "pool", lee.id, [ShiftItem(FRI)]).value
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def take(person, night):
        barrier.wait()
        try:
            results[person.id] = swaps.accept_swap(ctx, sw.id, person.id, take=[ShiftItem(night)]).value
        except (ValidationError, ConflictError) as exc:
            results[person.id] = exc

    t1 = threading.Thread(target=take, args=(kim, SAT))
    t2 = threading.Thread(target=take, args=(park, SUN))
    t1.start(), t2.start()
    t1.join(), t2.join()
    wins = [v for v in results.values() if isinstance(v, swaps.SwapRecord)]
    losses = [v for v in results.values() if isinstance(v, Exception)]
    assert len(wins) == 1 and len(losses) == 1
    assert "already took this offer" in str(losses[0])
    final = swaps.get_swap(ctx, sw.id)
    assert final.status == "accepted" and final.counterpart_id == wins[0].counterpart_id
    assert len(final.take) == 1


def test_open_shift_claim_and_ranking(ctx, team):
    lee, kim, park = team["lee"], team["kim"], team["park"]
    no_approval(ctx, team["program"].id)
    sat = MON + dt.timedelta(days=12)
    schedule.set_calls(ctx, [CallEdit(lee.id, sat, "in_house")])
    sw = swaps.request_swap(ctx, "open_shift", lee.id, [ShiftItem(sat)]).value
    ranked = swaps.rank_candidates(ctx, sw.id)
    assert {c.person_id for c in ranked} == {kim.id, park.id}
    assert all(c.compliant and c.reasons for c in ranked)
    swaps.accept_swap(ctx, sw.id, ranked[0].person_id)
    swaps.execute_swap(ctx, sw.id)
    holders = {c.person_id for c in schedule.calls_between(ctx, sat, sat)}
    assert holders == {ranked[0].person_id}


def test_rollback_refused_after_later_change_or_window(ctx, team, clock):
    lee, kim = team["lee"], team["kim"]
    no_approval(ctx, team["program"].id)
    sw = swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(MON, 0)], counterpart_id=kim.id).value
    swaps.accept_swap(ctx, sw.id, kim.id)
    swaps.execute_swap(ctx, sw.id)
    schedule.assign_slots(ctx, [SlotEdit(kim.id, MON, 0, team["clinic"].id)])
    with pytest.raises(ConflictError, match="later change"):
        swaps.rollback_swap(ctx, sw.id)
    sw2 = swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(MON, 1)], counterpart_id=kim.id).value
    swaps.accept_swap(ctx, sw2.id, kim.id)
    swaps.execute_swap(ctx, sw2.id)
    clock.now += dt.timedelta(hours=25)
    with pytest.raises(ValidationError, match="window"):
        swaps.rollback_swap(ctx, sw2.id)


items_strategy = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from([0, 1, None])), min_size=1, max_size=4, unique=True)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(give=items_strategy, take=items_strategy)
def test_property_execute_then_rollback_restores_state(ctx, team, give, take):
    lee, park = team["lee"], team["park"]
    programs.new_rule_set(ctx, team["program"].id, {"swap_requires_approval": False})
    # make sure each named call exists for its holder and not for the other
    g = [ShiftItem(MON + dt.timedelta(days=d), s) for d, s in give]
    t = [ShiftItem(MON + dt.timedelta(days=d), s) for d, s in take if (d, s) not in give]
    if not t:
        return
    edits = []
    for it in g:
        if it.is_call:
            edits += [CallEdit(lee.id, it.date, "in_house"), CallEdit(park.id, it.date, None)]
    for it in t:
        if it.is_call:
            edits += [CallEdit(park.id, it.date, "home", hours_worked=1.5), CallEdit(lee.id, it.date, None)]
    seen = {}
    for e in edits:
        seen[(e.person_id, e.date)] = e
    if edits:
        schedule.set_calls(ctx, list(seen.values()))
    try:
        sw = swaps.request_swap(ctx, "trade", lee.id, g, take=t, counterpart_id=park.id).value
    except ValidationError:
        return
    before = state_of(ctx)
    try:
        swaps.accept_swap(ctx, sw.id, park.id, override_reason="test")
        swaps.execute_swap(ctx, sw.id, override_reason="test")
    except ValidationError:
        return
    assert swaps.get_swap(ctx, sw.id).status == "executed"
    swaps.rollback_swap(ctx, sw.id)
    assert state_of(ctx) == before


def test_cli_swap_and_absence_flow(ctx, team, capsys):
    """The scripting path: rsched swap request/accept/approve/execute/rollback and absence request/approve."""
    from core.cli import main

    db = ctx.engine.url.database
    lee, kim = team["lee"], team["kim"]
    # the CLI runs on the real clock: use nights well in the future (still academic year 2026)
    fri, sat = dt.date(2027, 6, 4), dt.date(2027, 6, 5)
    assert fri.weekday() == 4 and dt.date.today() < fri - dt.timedelta(days=7)
    schedule.set_calls(ctx, [CallEdit(lee.id, fri, "in_house"), CallEdit(kim.id, sat, "in_house")])
    assert main(["swap", "request", "trade", lee.id, "--give", f"{fri}:call", "--take", f"{sat}:call",
                 "--with", "Dr Kim", "--db", db, "--json"]) == 0
    import json

    swap_id = json.loads(capsys.readouterr().out)["id"]
    for argv in (["accept", swap_id, kim.id], ["approve", swap_id], ["execute", swap_id], ["rollback", swap_id]):
        assert main(["swap", *argv, "--db", db, "--json"]) == 0, argv
        capsys.readouterr()
    assert swaps.get_swap(ctx, swap_id).status == "rolled_back"
    assert main(["swap", "rollback", swap_id, "--db", db]) == 2
    assert "Only an executed swap" in capsys.readouterr().err
    assert main(["absence", "request", "Dr Lee", "vacation", "2026-08-03", "2026-08-07", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "5 of 28 days away" in out
    assert main(["absence", "request", "Dr Nobody", "vacation", "2026-08-03", "2026-08-07", "--db", db]) == 2
    assert "Nobody called" in capsys.readouterr().err
    assert main(["swap", "request", "giveaway", "Dr Lee", "--give", "2026-13-01:call", "--with", "Dr Kim", "--db", db]) == 2
    assert "not a date" in capsys.readouterr().err


def test_post_call_day_moves_with_the_call_night(ctx, team):
    """Giving away a call night gives away its post-call day too (before the fix the receiver kept
    their next-day duty, so every candidate broke the continuous-duty rule)."""
    from core.services import catalog

    lee, park = team["lee"], team["park"]
    no_approval(ctx, team["program"].id)
    pc = catalog.create_activity(ctx, team["program"].id, code="PC", name="Post-call", category="postcall").value
    thu = MON + dt.timedelta(days=3)
    schedule.set_calls(ctx, [CallEdit(lee.id, thu, "in_house")])
    schedule.assign_slots(ctx, [SlotEdit(lee.id, FRI, 0, pc.id), SlotEdit(lee.id, FRI, 1, pc.id)])
    before = state_of(ctx)
    sw = swaps.request_swap(ctx, "giveaway", lee.id, [ShiftItem(thu)], counterpart_id=park.id).value
    assert not swaps.check_swap(ctx, sw.id).critical
    swaps.accept_swap(ctx, sw.id, park.id)
    swaps.execute_swap(ctx, sw.id)
    fri = {(a.person_id, a.slot): a.activity_id for a in schedule.assignments_between(ctx, FRI, FRI)}
    assert fri[(park.id, 0)] == pc.id and fri[(park.id, 1)] == pc.id
    assert fri[(lee.id, 0)] == team["wards"].id  # Lee takes Park's Friday back
    swaps.rollback_swap(ctx, sw.id)
    assert state_of(ctx) == before


def test_offer_notices_one_per_takeable_offer_with_read_state_per_person(ctx, team, clock):
    lee, kim, park, smith = team["lee"], team["kim"], team["park"], team["faculty"]
    offer = swaps.request_swap(ctx, "open_shift", lee.id, [ShiftItem(FRI)]).value
    can = {}
    for who in (kim, park):
        check = swaps.check_swap(ctx, offer.id, counterpart_id=who.id)
        can[who.id] = not check.blocking and not any(v.severity in ("critical", "high") for v in check.check.added)
    assert can[park.id] and not can[kim.id]  # Kim is on call the next night: Friday too would break a rule
    # the marketplace filter and the notices use one eligibility: a faculty member is not eligible
    for who in (kim, park, smith):
        assert [o.id for o in swaps.open_offers_for(ctx, who.id)] == ([offer.id] if can.get(who.id) else [])
        assert swaps.sync_offer_notices(ctx, who.id) == (1 if can.get(who.id) else 0)
        assert swaps.sync_offer_notices(ctx, who.id) == 0  # never twice
    mine = [n for n in swaps.notifications(ctx, park.id) if n.kind == swaps.OFFER_NOTICE]
    assert [(n.ref, n.read) for n in mine] == [(offer.id, False)]
    assert "Dr Lee offers" in mine[0].text and "you can take it" in mine[0].text
    assert not [n for n in swaps.notifications(ctx, kim.id) if n.kind == swaps.OFFER_NOTICE]
    # Park's Sunday call offered too: Lee (on call Friday) can take it; read state is per person
    second = swaps.request_swap(ctx, "open_shift", park.id, [ShiftItem(SUN)]).value
    assert [o.id for o in swaps.open_offers_for(ctx, lee.id)] == [second.id]
    assert swaps.sync_offer_notices(ctx, lee.id) == 1
    swaps.mark_read(ctx, [mine[0].id])
    assert [n.read for n in swaps.notifications(ctx, park.id) if n.kind == swaps.OFFER_NOTICE] == [True]
    assert [n.read for n in swaps.notifications(ctx, lee.id) if n.kind == swaps.OFFER_NOTICE] == [False]
    # an offer no longer open: unread notices go, read ones stay as read
    swaps.cancel_swap(ctx, second.id, park.id)
    swaps.sync_offer_notices(ctx, lee.id)
    assert not [n for n in swaps.notifications(ctx, lee.id) if n.kind == swaps.OFFER_NOTICE]
    swaps.cancel_swap(ctx, offer.id, lee.id)
    assert swaps.open_offers_for(ctx, park.id) == []
    swaps.sync_offer_notices(ctx, park.id)
    assert [(n.ref, n.read) for n in swaps.notifications(ctx, park.id) if n.kind == swaps.OFFER_NOTICE] == [(offer.id, True)]
