"""The residency generator: each constraint kind on tiny cases with a known optimum, cancel, and the
typical demo block (slow)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rules_helpers import SnapBuilder

from core.rules.engine import validate
from core.snapshot import CALL_IN_HOUSE, SOURCE_MANUAL, CallPool, with_changes
from core.solver.residency import generate, problem_from_snapshot

START = dt.date(2026, 9, 7)  # a Monday, no time change within 40 days


def _all_off(b: Any, people: list[int], days: int) -> None:
    for p in people:
        b.days(p, range(days), "OFF")


def _solve(snap: Any, **kw: Any) -> Any:
    problem = problem_from_snapshot(snap, 0, snap.n_days - 1)
    return generate(problem, time_limit=kw.pop("time_limit", 20.0), workers=2, **kw)


def _residents_only(snap: Any, code: str) -> Any:
    acts = tuple(dataclasses.replace(a, eligible_kinds=("resident",)) if a.code == code else a
                 for a in snap.activities)
    return dataclasses.replace(snap, activities=acts)


def _count(result: Any, snap: Any, code: str, s: int) -> int:
    a = [x.code for x in snap.activities].index(code)
    return int((result.codes[:, s] == a).sum())


def test_coverage_minimum_with_fewest_changes() -> None:
    b = SnapBuilder(START, days=2)
    people = [b.person(f"R{i}", pgy=2) for i in range(3)]
    _all_off(b, people, 2)
    b.require("IP", 0, 0, 2).require("IP", 0, 1, 2)
    snap = b.build()
    r = _solve(snap)
    assert r.status == "optimal"
    assert _count(r, snap, "IP", 0) == 2 and _count(r, snap, "IP", 1) == 2
    assert r.objective == 4 and len(r.changes) == 4  # four half-days changed, nothing else
    assert r.unfilled == ()


def test_fixed_cells_never_change_and_the_gap_names_them() -> None:
    b = SnapBuilder(START, days=1)
    people = [b.person(f"R{i}", pgy=2) for i in range(3)]
    _all_off(b, people, 1)
    b.require("IP", 0, 0, 3)
    snap = b.build()
    source = np.array(snap.source)
    source[0, :] = SOURCE_MANUAL  # R0's OFF was entered by hand
    snap = dataclasses.replace(snap, source=source)
    r = _solve(snap)
    assert r.codes[0, 0] == snap.codes[0, 0]
    assert _count(r, snap, "IP", 0) == 2
    (u,) = r.unfilled
    assert (u.what, u.needed, u.have, u.rule) == ("IP", 3, 2, "FIXED")


def test_h80_caps_the_hours_and_the_warning_costs_less_than_a_gap() -> None:
    # 14 h days (AM 07:00-13:00, PM 13:00-21:00) wanted every day of 28. OFF7 leaves 24 working days;
    # H80 (320 h) then allows 24 mornings (144 h) + 22 afternoons (176 h): 46 half-days, 10 unfilled.
    b = SnapBuilder(START, days=28)
    (r0,) = [b.person("Lee", pgy=2)]
    _all_off(b, [r0], 28)
    for d in range(28):
        b.require("D14", d, 0, 1).require("D14", d, 1, 1)
    snap = b.build()
    r = _solve(snap, time_limit=8)  # the 46 half-days are found at once; proving the tail takes longer
    a = [x.code for x in snap.activities].index("D14")
    assert int((r.codes[0, 0::2] == a).sum()) == 24
    assert int((r.codes[0, 1::2] == a).sum()) == 22
    assert len(r.unfilled) == 10 and {u.rule for u in r.unfilled} <= {"H80", "OFF7"}
    rules = {v.rule for v in r.violations if v.severity != "warning"} - {"COV"}
    assert rules == set()
    assert r.terms["warnings"] >= 1  # 320 h is above the 304 h warning line


def test_off7_keeps_four_free_days() -> None:
    b = SnapBuilder(START, days=28)
    r0 = b.person("Lee", pgy=2)
    _all_off(b, [r0], 28)
    for d in range(28):
        b.require("D12", d, 0, 1).require("D12", d, 1, 1)
    snap = b.build()
    r = _solve(snap)
    a = [x.code for x in snap.activities].index("D12")
    assert int((r.codes[0, 0::2] == a).sum()) == 24
    assert not validate(with_changes(snap, codes=r.codes)).of_rule("OFF7")


def _with_pool(snap: Any, per_night: int = 1, pgy: tuple[int, ...] = ()) -> Any:
    return dataclasses.replace(snap, call_pools=(CallPool("", "in_house", "resident", pgy, per_night),))


def _three_on_ip(days: int) -> Any:
    """Three PGY-2 residents on IP every half-day for `days` days, with an in-house call pool."""
    b = SnapBuilder(START, days=days)
    for i in range(3):
        b.days(b.person(f"R{i}", pgy=2), range(days), "IP")
    return _with_pool(b.build())


def test_in_house_calls_every_third_night_never_consecutive_rest_after() -> None:
    b = SnapBuilder(START, days=28)
    people = [b.person("A", pgy=2), b.person("B", pgy=2)]
    _all_off(b, people, 28)
    snap = _with_pool(b.build())
    r = _solve(snap)
    ih = r.call == CALL_IN_HOUSE
    assert int(ih.sum()) == 18  # 2 x 9: Q3 leaves ten nights empty
    assert (ih.sum(axis=1) == 9).all()
    assert not (ih[:, 1:] & ih[:, :-1]).any()
    assert sum(1 for u in r.unfilled if u.slot is None) == 10
    assert not [v for v in r.violations if v.rule in ("Q3", "R14", "C24")]


def test_post_call_day_has_no_duty() -> None:
    b = SnapBuilder(START, days=4)
    r0 = b.person("A", pgy=2)
    b.days(r0, range(4), "IP")  # a ward resident wanted on call on day 1
    snap = _with_pool(b.build())
    problem = problem_from_snapshot(snap, 1, 1)  # only day 1 is generated; its call must be kept
    r = generate(problem, time_limit=10, workers=2)
    if r.call[0, 1] == CALL_IN_HOUSE:
        a = int(r.codes[0, 4])
        assert snap.activities[a].span_minutes == (0, 0)
    # day 2 is outside the block and holds ward work: the call would need a rest day -> not taken
    assert r.call[0, 1] == 0
    (u,) = r.unfilled
    assert u.slot is None


def test_night_float_run_limit() -> None:
    b = SnapBuilder(START, days=10)
    r0 = b.person("A", pgy=2)
    _all_off(b, [r0], 10)
    for d in range(10):
        b.require("NF", d, 1, 1)
    snap = b.build()
    r = _solve(snap)
    a = [x.code for x in snap.activities].index("NF")
    nights = (r.codes[0, 1::2] == a).astype(int)
    assert nights.sum() == 9
    run = best = 0
    for n in nights:
        run = run + 1 if n else 0
        best = max(best, run)
    assert best == 6


def test_supervision_is_staffed_by_faculty() -> None:
    b = SnapBuilder(START, days=1)
    res = [b.person(f"R{i}", pgy=1) for i in range(3)]
    fac = [b.person(f"F{i}", kind="faculty") for i in range(3)]
    _all_off(b, res + fac, 1)
    b.require("C", 0, 0, 3)
    snap = _residents_only(b.build(), "C")
    r = _solve(snap)
    assert _count(r, snap, "C", 0) == 3
    assert _count(r, snap, "AT", 0) == 2  # 3 interns = 6 units -> 2 supervisors, not 3
    assert r.objective == 5
    assert not [v for v in r.violations if v.rule == "SUP"]


def test_clinic_capacity_beats_the_optimum() -> None:
    b = SnapBuilder(START, days=1)
    res = [b.person(f"R{i}", pgy=2) for i in range(7)]
    fac = [b.person(f"F{i}", kind="faculty") for i in range(2)]
    _all_off(b, res + fac, 1)
    b.require("C", 0, 0, 0, optimum=7)
    snap = _residents_only(b.build(), "C")
    r = _solve(snap)
    assert _count(r, snap, "C", 0) == 6  # CAP 6; one below the optimum is only a warning
    assert r.objective == 10_000 + 6 + 2


def test_qualification_and_absence() -> None:
    b = SnapBuilder(START, days=1)
    interns = [b.person(f"I{i}", pgy=1) for i in range(2)]
    senior = b.person("S", pgy=2)
    away = b.person("V", pgy=3)
    _all_off(b, interns + [senior, away], 1)
    b.absence(away, 0, 0)
    b.require("ICU", 0, 0, 2)  # ICU is PGY 2-3 only
    snap = b.build()
    r = _solve(snap)
    assert _count(r, snap, "ICU", 0) == 1
    assert r.codes[away, 0] == snap.codes[away, 0]
    (u,) = r.unfilled
    assert u.rule in ("QUAL", "ABS")
    assert not [v for v in r.violations if v.rule in ("QUAL", "ABS")]


def test_cancel_returns_the_best_schedule_so_far() -> None:
    b = SnapBuilder(START, days=28)
    people = [b.person(f"R{i}", pgy=1 + i % 3) for i in range(14)]
    fac = [b.person(f"F{i}", kind="faculty") for i in range(4)]
    _all_off(b, people + fac, 28)
    for d in range(28):
        for s in (0, 1):
            b.require("IP", d, s, 4, optimum=6)
            if d % 7 < 5:
                b.require("C", d, s, 2, optimum=4)
    snap = _with_pool(b.build(), per_night=2)
    flag = threading.Event()
    seen: list[int] = []

    def progress(obj: int, bound: int, t: float) -> None:
        seen.append(obj)
        flag.set()

    asked: list[float] = []

    def cancelled() -> bool:
        if flag.is_set() and not asked:
            asked.append(time.monotonic())
        return bool(asked)

    problem = problem_from_snapshot(snap, 0, 27)
    r = generate(problem, time_limit=60, workers=2, progress=progress, cancelled=cancelled)
    assert r.cancelled and r.found
    assert r.objective == min(seen)
    assert r.stats["cancel_latency"] < 1.0  # the bar is 0.5 s; measured in tests/perf/bench_generate.py
    assert r.wall_time < 30


@pytest.mark.slow
def test_typical_demo_block_has_no_critical_violation_and_keeps_hand_cells(tmp_path: Path,
                                                                             db_path: Path) -> None:
    from sqlalchemy import func, select

    from core.demo import create_demo
    from core.services.base import ServiceContext
    from core.services.drafts import generate_draft, get_draft, publish_draft
    from core.snapshot import SOURCE_PRELOAD
    from core.solver.residency import load_problem
    from core.store import models as m
    from core.store.db import open_database

    opened = open_database(db_path)
    summary = create_demo(opened.engine, size="typical")
    ctx = ServiceContext(opened.engine, actor="tester")
    problem = ctx.read(lambda s: load_problem(s, summary.program_id, 3, year=2026))
    draft, r = generate_draft(ctx, summary.program_id, 3, year=2026, time_limit=20)
    assert r.found and r.counts_by_severity()["critical"] == 0
    snap = problem.snapshot
    hand = (snap.source == SOURCE_PRELOAD) | (snap.source == SOURCE_MANUAL)
    assert hand[:, 2 * problem.first_day : 2 * problem.last_day + 2].any()
    assert (r.codes[hand] == snap.codes[hand]).all()
    assert get_draft(ctx, draft.id).status == "open"
    publish_draft(ctx, draft.id, reason="test")
    with opened.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(m.PublishedVersion)).scalar() == 1
    after = ctx.read(lambda s: load_problem(s, summary.program_id, 3, year=2026)).snapshot
    assert (after.codes == r.codes).all()
    opened.engine.dispose()


def test_repair_after_an_absence_changes_the_fewest_cells() -> None:
    from core.solver.repair import repair

    b = SnapBuilder(START, days=2)
    a, c, spare = b.person("A", pgy=2), b.person("C", pgy=2), b.person("S", pgy=2)
    b.days(a, range(2), "IP").days(c, range(2), "IP").days(spare, range(2), "OFF")
    for d in range(2):
        b.require("IP", d, 0, 2).require("IP", d, 1, 2)
    snap = b.build()
    rep, _ev, res = repair(snap, [a], (1, 1), time_limit=10)
    assert res.status == "optimal"
    assert rep.cleared == 2 and rep.refilled == 2 and rep.unfilled == 0  # S covers A's day 1
    assert {(ch.person, ch.after) for ch in rep.changes if ch.after} == {("S", "IP")}


def test_the_call_relaxation_bounds_fairness_and_the_cells_a_call_forces_off() -> None:
    from core.solver.residency import Weights, _Built, _call_bound

    snap = _three_on_ip(4)
    problem = problem_from_snapshot(snap, 0, 3)
    built = _Built(problem, Weights())
    lb, calls = _call_bound(built, 10.0, 2, lambda s: None)
    # 4 nights among 3 people: counts 2/1/1 at best (fairness 1 x 100); 4 new call nights; the calls
    # of nights 0-2 each force the two IP cells of the next day off (night 3's next day is outside).
    assert lb == 100 + 4 + 3 * 2
    assert sum(calls.values()) == 4
    r = _solve(snap)
    assert r.status == "optimal" and r.objective == lb and r.bound == lb
    assert r.terms["fairness"] == 1 and r.terms["changes"] == 10


def test_a_cancel_between_phases_skips_the_later_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.solver.residency as residency

    snap = _three_on_ip(7)
    asked: list[bool] = []
    later: list[str] = []
    real_bound = residency._call_bound
    real_fixed = residency._solve_fixed

    def call_bound(*args: Any, **kw: Any) -> Any:
        out = real_bound(*args, **kw)
        asked.append(True)  # the user cancels while the relaxation runs
        time.sleep(0.3)  # the watcher polls every 0.05 s
        return out

    def solve_fixed(*args: Any, **kw: Any) -> Any:
        if asked:  # after the cancel (phase 1 solves its starts with it too)
            later.append("fixed")
        return real_fixed(*args, **kw)

    monkeypatch.setattr(residency, "_call_bound", call_bound)
    monkeypatch.setattr(residency, "_solve_fixed", solve_fixed)
    problem = problem_from_snapshot(snap, 0, 6)
    r = generate(problem, time_limit=30, workers=2, cancelled=lambda: bool(asked))
    assert r.cancelled and r.found  # the completed hint of phase 1 is kept
    assert later == []
    assert r.stats["phases"] == ["hint", "calls"]  # neither the fixed-call solve nor the full search ran


def test_a_start_is_found_when_the_current_calls_break_a_hard_rule() -> None:
    b = SnapBuilder(START, days=6)
    people = [b.person(f"R{i}", pgy=2) for i in range(3)]
    _all_off(b, people, 6)
    b.call(people[0], 1).call(people[0], 2)  # two in-house nights in a row: the hint breaks Q3/R14
    snap = _with_pool(b.build())
    r = _solve(snap, time_limit=10)
    assert r.stats["start"] == "hint without calls"
    assert r.found
    ih = r.call == CALL_IN_HOUSE
    assert not (ih[:, 1:] & ih[:, :-1]).any()
    assert not [v for v in r.violations if v.severity == "critical"]


def test_big_models_improve_by_re_solving_groups_of_people(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.solver.residency as residency

    monkeypatch.setattr(residency, "BIG_MODEL_VARIABLES", 0)  # treat this small block as a big one
    snap = _three_on_ip(4)
    r = _solve(snap, time_limit=8)
    assert r.stats["phases"] == ["hint", "calls", "people lns"]
    # the hint has no calls (4 empty nights); the group (everybody here) is re-solved to the optimum
    # of the relaxation test above
    assert r.objective == 110 and r.terms["fairness"] == 1


def test_on_a_big_model_the_relaxation_bounds_the_search_beside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.solver.residency as residency

    monkeypatch.setattr(residency, "BIG_MODEL_VARIABLES", 0)  # treat this small block as a big one
    lns_started = threading.Event()
    beside: list[bool] = []
    real_bound, real_lns = residency._call_bound, residency._people_lns

    def call_bound(*args: Any, **kw: Any) -> Any:
        beside.append(lns_started.wait(30))  # the search starts without waiting for the relaxation
        return real_bound(*args, **kw)

    def people_lns(*args: Any, **kw: Any) -> Any:
        lns_started.set()
        return real_lns(*args, **kw)

    monkeypatch.setattr(residency, "_call_bound", call_bound)
    monkeypatch.setattr(residency, "_people_lns", people_lns)
    bounds: list[int] = []
    r = _solve(_three_on_ip(4), time_limit=30, progress=lambda o, b, t: bounds.append(b))
    assert beside == [True]
    # the relaxation's optimum (110, see the relaxation test) reached the progress and the result;
    # the search reached it too, so the result is proven optimal (and did not wait for the 30 s)
    assert 110 in bounds and r.bound == 110 and r.objective == 110 and r.status == "optimal"


def test_the_relaxation_and_the_fixed_solves_give_up_at_once_when_stopped() -> None:
    from core.solver.residency import Weights, _Built, _call_bound, _Collector, _solve_fixed

    built = _Built(problem_from_snapshot(_three_on_ip(4), 0, 3), Weights())
    solvers: list[Any] = []
    assert _call_bound(built, 10.0, 2, solvers.append, stop=lambda: True) == (None, {})
    collector = _Collector(built, time.monotonic(), lambda o, bd, e: None)
    assert _solve_fixed(built, collector, {}, None, 10.0, 2, solvers.append, stop=lambda: True) is None
    assert solvers == [] and collector.values is None  # no search was started
    assert _call_bound(built, 10.0, 2, solvers.append)[0] == 110 and len(solvers) == 1


def test_a_cancel_during_the_model_build_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.solver.residency as residency

    snap = _three_on_ip(7)
    asked: list[bool] = []
    built_parts: list[str] = []
    real_slot_rules = residency._Built._build_slot_rules
    real_objective = residency._Built._build_objective

    def slot_rules(self: Any) -> None:
        asked.append(True)  # the user cancels while the slot rules are being built
        built_parts.append("slot rules")
        real_slot_rules(self)

    def objective(self: Any) -> None:
        built_parts.append("objective")
        real_objective(self)

    monkeypatch.setattr(residency._Built, "_build_slot_rules", slot_rules)
    monkeypatch.setattr(residency._Built, "_build_objective", objective)
    problem = problem_from_snapshot(snap, 0, 6)
    r = generate(problem, time_limit=30, workers=2, cancelled=lambda: bool(asked))
    assert built_parts == ["slot rules"]  # the build stopped at its next check, before the objective
    assert r.cancelled and not r.found and r.codes is None and r.objective is None
    assert r.status == "unknown" and r.stats["stopped_in"] == "build" and r.stats["phases"] == []
    assert r.stats["cancel_latency"] is not None
    assert r.summary()["cancelled"] is True

