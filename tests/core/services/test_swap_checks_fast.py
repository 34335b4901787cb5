"""The fast swap check and ranking give the answers of the full engine.

The fast path checks the two people's own rules on a snapshot of those two only and the slot rules
(SUP, CAP, COV) on a snapshot of the days whose head counts change (`check_swap_in(split=True)`);
the reference checks everything on one snapshot of everybody (`split=False`). Random swaps between
random people of the typical demo (every kind and PGY, its planted violations, credentials,
coverage and supervision) must give identical results, problems in the same order.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.demo import create_demo
from core.errors import ValidationError
from core.rules.engine import ProposedChange, changed_slot_days, check_change, validate
from core.services import swaps
from core.services.base import ServiceContext
from core.services.swaps import ShiftItem
from core.snapshot import HeadCounts, build_snapshot, head_counts_of, read_head_counts
from core.store import models as m
from core.store.db import open_database, session_factory

FIRST = dt.date(2026, 8, 3)  # a Monday, well inside the academic year and past the freeze horizon
WEEKS = 8


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("swapfast") / "typical.sqlite"
    opened = open_database(path)
    create_demo(opened.engine, size="typical", year=2026, seed=3)
    ctx = ServiceContext(opened.engine, actor="tester", clock=lambda: dt.datetime(2026, 7, 1, 8, tzinfo=dt.UTC))
    with ctx.sessions() as s:
        program_id = s.scalars(select(m.Program.id)).one()
        snap = build_snapshot(s, program_id, FIRST, FIRST + dt.timedelta(days=7 * WEEKS - 1))
    yield ctx, program_id, snap
    opened.engine.dispose()


def held_items(snap, p: int, first_day: int, n_days: int) -> list[ShiftItem]:
    out = []
    for d in range(first_day, min(snap.n_days, first_day + n_days)):
        day = snap.date_of(d)
        out += [ShiftItem(day, s) for s in (0, 1) if snap.codes[p, 2 * d + s] >= 0]
        if snap.call[p, d]:
            out.append(ShiftItem(day))
    return out


def both_checks(ctx, program_id, requester_id, counterpart_id, give, take):
    """(fast, reference) results of checking this swap, or the error each raised."""
    def run(s):
        swap = m.SwapRequest(id="probe", program_id=program_id, kind="trade" if take else "giveaway",
                             status="requested", requester_id=requester_id, counterpart_id=counterpart_id)
        _n, rules = swaps.active_rule_set(s, program_id)
        out = []
        for split in (True, False):
            shared = swaps._Shared(tuple(sorted(give, key=swaps._item_key)), tuple(sorted(take, key=swaps._item_key)),
                                   rules)
            try:
                out.append(swaps.check_swap_in(s, ctx, swap, counterpart_id, split=split, shared=shared))
            except ValidationError as exc:
                out.append(str(exc))
        return out

    return ctx.read(run)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_swap_check_equals_the_full_engine(demo, data):
    ctx, program_id, snap = demo
    a = data.draw(st.integers(0, snap.n_people - 1), label="requester")
    b = data.draw(st.integers(0, snap.n_people - 1).filter(lambda x: x != a), label="counterpart")
    week_a = data.draw(st.integers(0, WEEKS - 1), label="week given")
    week_b = data.draw(st.integers(0, WEEKS - 1), label="week taken")
    mine = held_items(snap, a, 7 * week_a, 7)
    theirs = held_items(snap, b, 7 * week_b, 7)
    whole_weeks = data.draw(st.booleans(), label="whole weeks")
    if whole_weeks:
        give, take = mine, theirs
    else:
        give = data.draw(st.lists(st.sampled_from(mine), unique=True, max_size=6), label="give") if mine else []
        take = data.draw(st.lists(st.sampled_from(theirs), unique=True, max_size=6), label="take") if theirs else []
        if data.draw(st.booleans(), label="a shift not held"):
            give.append(ShiftItem(snap.date_of(7 * week_a + data.draw(st.integers(0, 6))), data.draw(st.sampled_from([0, 1, None]))))
            give = list(dict.fromkeys(give))
    if not give:
        return
    fast, full = both_checks(ctx, program_id, snap.people[a].id, snap.people[b].id, give, take)
    if isinstance(full, str):
        assert fast == full
        return
    assert not isinstance(fast, str), fast
    assert fast.problems == full.problems
    assert fast.blocking == full.blocking
    assert fast.critical == full.critical
    assert fast.check is not None and full.check is not None
    assert fast.check.added == full.check.added
    assert fast.check.removed == full.check.removed
    assert fast.check.slots == full.check.slots


def test_fast_check_splits_on_a_week_trade_between_groups(demo):
    """A PGY-1 and a faculty member trading weeks: the slot rules are needed and agree."""
    ctx, program_id, snap = demo
    intern = next(p for p in range(snap.n_people) if snap.people[p].pgy == 1)
    faculty = next(p for p in range(snap.n_people) if snap.people[p].kind == "faculty")
    give, take = held_items(snap, intern, 7, 7), held_items(snap, faculty, 14, 7)
    fast, full = both_checks(ctx, program_id, snap.people[intern].id, snap.people[faculty].id, give, take)
    assert not isinstance(fast, str) and not isinstance(full, str)
    assert fast.problems == full.problems and fast.check.added == full.check.added  # type: ignore[union-attr]
    assert any(v.rule in ("SUP", "CAP", "COV") for v in (*full.check.added, *full.check.removed))  # type: ignore[union-attr]


def test_changed_slot_days_and_partial_snapshots(demo):
    ctx, program_id, snap = demo
    r1 = [p for p in range(snap.n_people) if snap.people[p].pgy == 1]
    fac = [p for p in range(snap.n_people) if snap.people[p].kind == "faculty"]
    day = FIRST + dt.timedelta(days=9)
    d = snap.day_of(day)
    a, b = r1[0], r1[1]
    ids = [snap.people[a].id, snap.people[b].id]
    acts = [snap.activities[int(x)].id if x >= 0 else None for x in (snap.codes[a, 2 * d], snap.codes[b, 2 * d])]
    same_group = ProposedChange(assignments=((ids[0], day, 0, acts[1]), (ids[1], day, 0, acts[0])))
    with ctx.sessions() as s:
        part = build_snapshot(s, program_id, snap.start, snap.end, person_ids=ids)
        assert part.partial and [x.id for x in part.people] == sorted(ids, key=snap.person_index.get)
        for pid in ids:
            p, q = part.person_index[pid], snap.person_index[pid]
            assert np.array_equal(part.codes[p], snap.codes[q]) and np.array_equal(part.call[p], snap.call[q])
            assert np.array_equal(part.absent[p], snap.absent[q])
        # two PGY-1s exchanging their morning: no slot's head counts change
        assert changed_slot_days(part, same_group) == ()
        assert check_change(part, same_group) == check_change(snap, same_group)
        # a faculty member taking a PGY-1's morning changes that slot's counts
        f = snap.people[fac[0]].id
        fac_day = ProposedChange(assignments=((f, day, 0, acts[0]), (ids[0], day, 0, None)))
        part2 = build_snapshot(s, program_id, snap.start, snap.end, person_ids=[f, ids[0]])
        assert changed_slot_days(part2, fac_day) == (day,)
        with pytest.raises(ValueError, match="slot"):
            check_change(part2, fac_day)
        days_only = build_snapshot(s, program_id, day, day)
        assert check_change(part2, fac_day, slot_snapshot=days_only) == check_change(snap, fac_day)
    with pytest.raises(ValueError):
        validate(part)
    assert validate(part, person_ids=ids).violations == validate(snap, person_ids=ids).violations


def test_eligible_matrix_matches_its_definition(demo):
    _ctx, _program_id, snap = demo
    creds: dict[int, set[str]] = {}
    for c in snap.credentials:
        if (c.valid_from is None or c.valid_from <= snap.end) and (c.valid_to is None or c.valid_to >= snap.start):
            creds.setdefault(c.person, set()).add(c.what)
    expected = np.array([[person.kind in act.eligible_kinds
                          and (person.kind != "resident" or not act.eligible_pgy or person.pgy in act.eligible_pgy)
                          and (not act.required_credential or act.required_credential in creds.get(p, set()))
                          for act in snap.activities] for p, person in enumerate(snap.people)])
    assert any(act.required_credential for act in snap.activities)
    assert np.array_equal(snap.eligible(), expected)


def full_check_ok(ctx, swap_id, person_id, give_back):
    def run(s):
        swap = swaps._swap(s, swap_id)
        take = (give_back,) if give_back is not None else ()
        return swaps.check_swap_in(s, ctx, swap, person_id, take, split=False)

    result = ctx.read(run)
    return not result.blocking and not any(v.severity in ("critical", "high") for v in result.check.added)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_ranking_equals_the_full_engine(demo, data):
    """Open shifts and pool offers of random holders: the fast ranking is the reference ranking,
    in fairness order, and each candidate passes the full check."""
    ctx, _program_id, snap = demo
    kind = data.draw(st.sampled_from(["open_shift", "pool"]), label="kind")
    call_night = data.draw(st.booleans(), label="call night")
    d = data.draw(st.integers(7, snap.n_days - 8), label="day")
    day = snap.date_of(d)
    if call_night:
        holders = [p for p in range(snap.n_people) if snap.call[p, d] == 1]
        item = ShiftItem(day)
    else:
        slot = data.draw(st.sampled_from([0, 1]), label="slot")
        holders = [p for p in range(snap.n_people) if snap.codes[p, 2 * d + slot] >= 0]
        item = ShiftItem(day, slot)
    if not holders:
        return
    requester = snap.people[data.draw(st.sampled_from(holders), label="holder")]
    offer = swaps.request_swap(ctx, kind, requester.id, [item]).value
    fast = swaps.rank_candidates(ctx, offer.id, limit=5)
    full = swaps.rank_candidates(ctx, offer.id, limit=5, split=False)
    assert fast == full
    keys = [(c.count_ytd - c.class_mean, c.distance_days, c.name) for c in fast]
    assert keys == sorted(keys)
    for c in fast[:2]:
        assert full_check_ok(ctx, offer.id, c.person_id, c.give_back)


def test_weekday_coverage_rules_later_row_wins(ctx, program):
    """The snapshot applies every weekday rule at once; where rules name the same cells the rule
    written later wins, as when they were applied one by one."""
    from core.services import catalog

    pid, wards = program["program"].id, program["wards"].id
    rules = [(None, 0, 1, 2, 3), (0, 0, 4, 5, 6), (None, 1, 0, 1, 1), (2, 1, 2, 2, 2), (None, 0, 0, 0, 9), (4, 0, 3, 3, 3)]
    for weekday, slot, lo, opt, hi in rules:
        catalog.create_requirement(ctx, pid, wards, slot=slot, min_count=lo, optimum=opt, max_count=hi, weekday=weekday)
    start, end = dt.date(2026, 8, 3), dt.date(2026, 8, 23)
    with ctx.sessions() as s:
        snap = build_snapshot(s, pid, start, end)
    a = snap.activity_index[wards]
    for d in range(snap.n_days):
        day = snap.date_of(d)
        for slot in (0, 1):
            expected = (0, 0, 9999)
            for weekday, r_slot, lo, opt, hi in rules:  # one by one, in the order written
                if r_slot == slot and weekday in (None, day.weekday()):
                    expected = (lo, opt, hi)
            s_ = 2 * d + slot
            assert (snap.req_min[a, s_], snap.req_opt[a, s_], snap.req_max[a, s_]) == expected, (day, slot)


# ------------------------------------------------------------------ head counts without a snapshot
def head_count_table(counts: HeadCounts) -> dict[tuple, int]:
    """{(kind, pgy, day, slot, activity id): n} of the non-zero head counts."""
    out = {}
    for c, cls in enumerate(counts.classes):
        for i, slot, a in zip(*np.nonzero(counts.counts[c])):
            out[(*cls, counts.days[i], int(slot), counts.activity_ids[a])] = int(counts.counts[c, i, slot, a])
    return out


def read_and_expected(s, program_id, days):
    full = build_snapshot(s, program_id, min(days), max(days))
    read = read_head_counts(s, program_id, days, [a.id for a in full.activities])
    return read, head_counts_of(full, days)


def test_head_counts_read_in_one_query_equal_a_snapshots(demo):
    ctx, program_id, _snap = demo
    day = FIRST + dt.timedelta(days=9)
    day_sets = [
        [day],
        [FIRST + dt.timedelta(days=i) for i in range(7, 21)],  # two weeks
        [FIRST + dt.timedelta(days=i) for i in (1, 15, 30, 31)],  # days far apart (read as a list)
        [FIRST + dt.timedelta(days=i) for i in (1, 3, 4)],  # read as one range, day 2 left out
        [FIRST + dt.timedelta(days=i) for i in range(7 * WEEKS)],
    ]
    with ctx.sessions() as s:
        for days in day_sets:
            read, expected = read_and_expected(s, program_id, days)
            assert read is not None and read.days == tuple(sorted(days)) and read.academic_year == 2026
            assert read.activity_ids == expected.activity_ids
            assert head_count_table(read) == head_count_table(expected)
            assert sum(head_count_table(read).values()) > 10 * len(days)
        # days of two academic years: no single year of PGY levels, so no fast path
        assert read_head_counts(s, program_id, [dt.date(2027, 6, 30), dt.date(2027, 7, 1)], read.activity_ids) is None
        assert head_counts_of(build_snapshot(s, program_id, dt.date(2027, 6, 30), dt.date(2027, 7, 1)),
                              [dt.date(2027, 6, 30), dt.date(2027, 7, 1)]).academic_year is None


def test_head_counts_leave_out_whom_a_snapshot_leaves_out(demo, tmp_path):
    """Archived and deleted people, a resident without a level this year, a deleted assignment and
    a deleted activity: the counts read in one query still equal a snapshot's."""
    ctx, program_id, snap = demo
    days = [FIRST + dt.timedelta(days=i) for i in range(14)]
    copy = tmp_path / "edges.sqlite"
    with sqlite3.connect(ctx.engine.url.database) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    opened = open_database(copy)
    try:
        with session_factory(opened.engine)() as s:
            before = head_count_table(read_and_expected(s, program_id, days)[0])
            held = [p for p in range(snap.n_people) if (snap.codes[p, :28] >= 0).any()]
            archived, deleted = snap.people[held[0]].id, snap.people[held[1]].id
            leaver = next(snap.people[p].id for p in held if snap.people[p].kind == "resident"
                          and snap.people[p].id not in (archived, deleted))
            d = snap.day_of(days[3])
            keeper = next(p for p in held if snap.people[p].id not in (archived, deleted, leaver)
                          and snap.codes[p, 2 * d] >= 0)
            busy = Counter(int(a) for a in snap.codes[:, :28].ravel() if a >= 0)
            gone_activity = snap.activities[min(busy, key=busy.get)].id
            c = s.connection()
            c.exec_driver_sql("UPDATE person SET archived = 1 WHERE id = ?", (archived,))
            c.exec_driver_sql("UPDATE person SET deleted = 1 WHERE id = ?", (deleted,))
            c.exec_driver_sql("UPDATE resident_year SET deleted = 1 WHERE person_id = ?", (leaver,))
            c.exec_driver_sql("UPDATE assignment SET deleted = 1 WHERE person_id = ? AND date = ? AND slot = 0",
                              (snap.people[keeper].id, days[3].isoformat()))
            c.exec_driver_sql("UPDATE activity SET deleted = 1 WHERE id = ?", (gone_activity,))
            read, expected = read_and_expected(s, program_id, days)
            assert read is not None and head_count_table(read) == head_count_table(expected)
            assert sum(head_count_table(read).values()) < sum(before.values())
            assert gone_activity not in read.activity_ids
            s.rollback()
    finally:
        opened.engine.dispose()


def test_check_change_from_head_counts_equals_a_snapshot_of_everybody(demo):
    """A faculty member taking a PGY-1's week (the slot rules change on every day of it): the
    check on a partial snapshot with head counts read in one query is the check on everybody."""
    ctx, program_id, snap = demo
    intern = next(p for p in range(snap.n_people) if snap.people[p].pgy == 1 and (snap.codes[p, 14:28] >= 0).any())
    fac = next(p for p in range(snap.n_people) if snap.people[p].kind == "faculty")
    ids = (snap.people[intern].id, snap.people[fac].id)
    edits = []
    for s_ in range(14, 28):
        a = int(snap.codes[intern, s_])
        if a >= 0:
            day, slot = snap.date_of(s_ // 2), s_ % 2
            edits += [(ids[1], day, slot, snap.activities[a].id), (ids[0], day, slot, None)]
    change = ProposedChange(assignments=tuple(edits))
    with ctx.sessions() as s:
        part = build_snapshot(s, program_id, snap.start, snap.end, person_ids=ids)
        days = changed_slot_days(part, change)
        assert days
        counts = read_head_counts(s, program_id, days, [a.id for a in part.activities])
        fast = check_change(part, change, head_counts=counts)
        assert fast == check_change(snap, change)
        assert any(v.rule in ("SUP", "CAP", "COV") for v in (*fast.added, *fast.removed))
        # counts made for other activities, or with PGY levels of another year, are refused
        other = HeadCounts(counts.days, counts.academic_year, counts.activity_ids[::-1], counts.classes, counts.counts)
        with pytest.raises(ValueError, match="activities"):
            check_change(part, change, head_counts=other)
        later = HeadCounts(counts.days, 2027, counts.activity_ids, counts.classes, counts.counts)
        with pytest.raises(ValueError, match="academic year"):
            check_change(part, change, head_counts=later)


def test_pgy1_week_trade_reads_head_counts_not_a_snapshot_of_everybody(demo, monkeypatch):
    """The week trade of the benchmark: a senior resident and a PGY-1 trade weeks, so supervision
    needs everybody on the touched days. The fast check reads their head counts (no snapshot of
    everybody) and gives the full engine's answer."""
    ctx, program_id, snap = demo
    residents = [p for p in range(snap.n_people) if snap.people[p].kind == "resident"]
    senior = next(p for p in residents if snap.people[p].pgy >= 2 and len(held_items(snap, p, 14, 7)) >= 10)
    intern = next(p for p in residents if snap.people[p].pgy == 1 and len(held_items(snap, p, 21, 7)) >= 10)
    give, take = held_items(snap, senior, 14, 7), held_items(snap, intern, 21, 7)
    built = []
    real = swaps.build_snapshot

    def spy(*args, **kwargs):
        built.append(kwargs.get("person_ids"))
        return real(*args, **kwargs)

    monkeypatch.setattr(swaps, "build_snapshot", spy)
    fast, full = both_checks(ctx, program_id, snap.people[senior].id, snap.people[intern].id, give, take)
    assert not isinstance(fast, str) and not isinstance(full, str)
    assert built[0] is not None and built[1:] == [None]  # fast: two people only; reference: everybody
    assert fast.problems == full.problems and fast.blocking == full.blocking and fast.critical == full.critical
    assert fast.check.added == full.check.added and fast.check.removed == full.check.removed  # type: ignore[union-attr]
    assert fast.check.slots == full.check.slots  # type: ignore[union-attr]
    with ctx.sessions() as s:  # the slot rules were needed: head counts change on the traded days
        ids = (snap.people[senior].id, snap.people[intern].id)
        swap = m.SwapRequest(id="probe", program_id=program_id, kind="trade", status="requested",
                             requester_id=ids[0], counterpart_id=ids[1])
        change, _problems = swaps._proposed(s, swap, ids[1], tuple(give), tuple(take))
        part = build_snapshot(s, program_id, snap.start, snap.end, person_ids=ids)
        assert len(changed_slot_days(part, change)) >= 5
