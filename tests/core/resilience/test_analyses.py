"""Hand-computed cases for every analysis other than N1/N2."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from resilience_helpers import Program

from core.resilience import (
    burnout,
    defense,
    equity,
    erlang,
    fallback,
    homeostasis,
    hubs,
    lechatelier,
    nk,
    recovery,
    shed,
    spc,
    util,
)
from core.resilience.common import CACHE, Level, util_level
from core.resilience.defense import combine, hysteresis

MON = dt.date(2026, 7, 6)


# ------------------------------------------------------------------------------------- EQUITY
def test_gini_known_values() -> None:
    assert equity.gini([5, 5, 5, 5]) == 0.0
    # sum |xi - xj| over ordered pairs = 6, 2 n^2 mean = 2 * 16 * 0.25 = 8
    assert equity.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    # [1, 2, 3]: pairs |1-2|+|1-3|+|2-3| = 4, twice = 8; 2 * 9 * 2 = 36
    assert equity.gini([3, 1, 2]) == pytest.approx(8 / 36)
    x, y = equity.lorenz([0, 0, 0, 1])
    assert x.tolist() == [0, 0.25, 0.5, 0.75, 1.0] and y.tolist() == [0, 0, 0, 0, 1.0]


def test_equity_on_a_schedule_flags_the_outlier() -> None:
    prog = Program(MON, 7, codes=["W", "OFF"])
    a, b, c = (prog.person(n, pgy=1) for n in ("Ana", "Ben", "Cy"))
    prog.call(a, 0).call(a, 2).call(a, 4).call(b, 1).call(c, 3)  # call nights 3, 1, 1
    res = equity.run(prog.snapshot())
    assert res.gini_of("PGY-1", "call_nights") == pytest.approx((2 * (2 + 2 + 0)) / (2 * 9 * 5 / 3))
    row = next(r for r in res.table if r.metric == "call_nights")
    assert [o[0] for o in row.outliers] == ["Ana", "Ben", "Cy"]  # 3 vs mean 5/3; 1 vs 5/3 (-40 %)
    assert not row.meets_target


# ----------------------------------------------------------------------------------------- SPC
def test_western_electric_rules_on_crafted_series() -> None:
    centre, sigma = 0.0, 1.0
    rule1 = [0, 0.5, -0.5, 3.5, 0]
    rule2 = [0, 2.5, 0.2, 2.1, 0]  # 2 of 3 beyond +2 sigma, completed at index 3
    rule3 = [0, 1.5, 1.2, -0.3, 1.1, 1.4, 0]  # 4 of 5 beyond +1, completed at index 5
    rule4 = [0.1] * 8 + [-0.1]
    quiet = [0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]
    for series, rule, at in ((rule1, 0, 3), (rule2, 1, 3), (rule3, 2, 5), (rule4, 3, 7)):
        alarms = spc.western_electric(np.array(series), centre, sigma)
        hits = np.flatnonzero(alarms[:, rule]).tolist()
        assert hits[0] == at, (rule, hits)
    assert not spc.western_electric(np.array(quiet), centre, sigma).any()
    # opposite sides do not add up for rule 2
    assert not spc.western_electric(np.array([2.5, -2.5, 0.0]), 0.0, 1.0)[:, 1].any()
    # zero sigma never alarms
    assert not spc.western_electric(np.array([5.0, 5.0, 5.0]), 5.0, 0.0).any()


def test_spc_fit_and_tail() -> None:
    centre, sigma = spc.fit(np.array([60.0, 64.0, 60.0, 64.0]))
    assert centre == pytest.approx(62.0)
    assert sigma == pytest.approx(4.0 / 1.128)
    p = spc.tail_probability(80.0, np.array([80.0]), np.array([5.0]))
    assert p[0] == pytest.approx(0.5)


def test_spc_on_a_schedule_charts_whole_weeks() -> None:
    prog = Program(MON, 30, codes=["W", "OFF"])
    a = prog.person("Ana", pgy=1)
    prog.put(a, "W", days=[d for d in range(30) if d % 7 < 5])  # 5 x 12 h = 60 h every week
    res = spc.run(prog.snapshot())
    assert res.hours.shape == (1, 4)
    assert res.hours[0].tolist() == [60.0] * 4 and res.sigma[0] == 0 and not res.alarms.any()


# ---------------------------------------------------------------------------------------- SHED
def _shed_program() -> tuple[Program, int]:
    prog = Program(MON, 1)
    people = [prog.person(f"R{i}", pgy=2) for i in range(6)]
    for p, code in zip(people, ["W", "C", "LEC", "RES", "ADM", "ELEC"]):
        prog.put(p, code, days=[0], slots=[0])
    return prog, len(people)


@pytest.mark.parametrize("n", range(0, 7))
def test_shed_never_drops_a_higher_category_while_keeping_a_lower_one(n: int) -> None:
    prog, _ = _shed_program()
    snap = prog.snapshot()
    res = shed.run(snap, shed.Params(half_days=n))
    cut = {c.category for c in res.cuts}
    kept = {snap.activities[int(a)].shed_priority for a in snap.codes[:, 0] if a >= 0} - cut
    # priorities in use: W 1, AT/C 3.., cut lowest (7) first
    assert all(c > 1 for c in cut)
    assert all(k <= min(cut) for k in kept if k > 1) if cut else True
    assert res.freed == min(n, 5) and res.uncovered == max(0, n - 5)
    expected = [7, 6, 5, 4, 3][: min(n, 5)]
    assert sorted((c.category for c in res.cuts), reverse=True) == expected
    assert res.level == (min(expected) if expected else 8)


def test_shed_per_slot_takes_lowest_priority_there() -> None:
    prog, _ = _shed_program()
    snap = prog.snapshot()
    res = shed.run(snap, shed.Params(slots=((0, 2),)))
    assert [c.activity for c in res.cuts] == ["ELEC", "ADM"] and res.level == 6
    assert shed.run(snap, shed.Params(slots=((1, 1),))).uncovered == 1  # nothing held in PM


# ------------------------------------------------------------------------------------- DEFENSE
def test_defense_level_on_crafted_inputs() -> None:
    assert combine(("W", 0.5), 1.0, 2.0, 0).level == Level.GREEN
    assert combine(("W", 0.75), 1.0, 2.0, 0).level == Level.YELLOW
    assert combine(("W", 0.5), 0.95, 2.0, 0).level == Level.YELLOW
    assert combine(("W", 0.5), 0.94, 2.0, 0).level == Level.ORANGE
    assert combine(("W", 0.5), 0.85, 2.0, 0).level == Level.RED
    assert combine(("W", 0.5), 0.79, 2.0, 0).level == Level.BLACK
    r = combine(("W", 0.5), 1.0, -1.0, 0)
    assert r.level == Level.RED and "below its minimum" in r.reason
    r = combine(("W", 0.5), 1.0, 1.0, 2)
    assert r.level == Level.ORANGE and "3 sigma" in r.reason
    r = combine(("ICU", 0.96), 0.5, -1.0, 1)
    assert r.level == Level.BLACK and "ICU" in r.reason and "N-1" in r.reason
    assert [util_level(x) for x in (0.69, 0.70, 0.80, 0.90, 0.95)] == [0, 1, 2, 3, 4]


def test_defense_hysteresis() -> None:
    G, Y, OR, R = Level.GREEN, Level.YELLOW, Level.ORANGE, Level.RED
    # one-day spike: ignored; two days: escalate (to the lower of the two)
    assert hysteresis([G, R, G, R, OR, OR]) == [G, G, G, G, OR, OR]
    # de-escalate only on the third clean day, to the highest of the three
    assert hysteresis([R, R, G, Y, G, G], start=G) == [G, R, R, R, Y, Y]


def test_defense_run_on_a_schedule() -> None:
    from test_contingency import three_person_service

    res = defense.run(three_person_service().snapshot())
    assert res.level == Level.BLACK  # N-1 passes for 2 of 3 people
    assert "67%" in res.reason


# ---------------------------------------------------------------------------------- UTIL / NK
def test_util_hand_computed() -> None:
    prog = Program(MON, 7, codes=["W", "OFF"])
    a = prog.person("Ana", pgy=1)
    b = prog.person("Ben", pgy=1)
    prog.put(a, "W", days=range(5))  # 5 x 12 h = 60 h of 80 available
    prog.put(b, "W", days=range(3)).absent(b, 3, 6)  # 36 h of 80 * 3/7
    res = util.run(prog.snapshot())
    assert res.person.tolist() == pytest.approx([0.75, 36 / (80 * 3 / 7)])
    assert res.person_level.tolist() == [Level.YELLOW, Level.BLACK]
    assert res.service[res.services.index("W")] == pytest.approx(96 / (80 + 80 * 3 / 7))
    assert util.UtilResult.waiting_factor(0.8) == pytest.approx(4.0)
    assert util.UtilResult.waiting_factor(0.95) == pytest.approx(19.0)


def test_nk_hand_computed() -> None:
    prog = Program(MON, 1, codes=["W", "ICU", "OFF"])
    a, b, c = (prog.person(n, pgy=2) for n in ("Ana", "Ben", "Cy"))
    d = prog.person("Dee", pgy=1)  # not qualified for ICU
    prog.put(a, "W", days=[0]).put(b, "ICU", days=[0]).put(c, "ICU", days=[0], slots=[0])
    prog.need("W", min_count=1, days=[0]).need("ICU", min_count=2, days=[0])
    res = nk.run(prog.snapshot())
    assert res.rule_checked
    k = dict(zip(res.services, res.k.tolist()))
    # W AM: Ana + Dee (free, qualified) - 1 = 1 (Cy is on ICU)
    assert k["W"] == [1.0, 2.0]  # PM: Ana + Dee + Cy free -> 3 - 1
    assert k["ICU"] == [0.0, 0.0]  # AM: Ben, Cy - 2; PM: Ben + Cy free - 2
    assert res.counts == {"healthy": 1, "warning": 1, "critical": 2, "short": 0}
    assert res.thinnest[0].activity == "ICU"
    del d


# --------------------------------------------------------------------- FALLBACK / RECOVERY
def test_fallback_and_recovery_on_the_three_person_service() -> None:
    from test_contingency import three_person_service

    snap = three_person_service().snapshot()
    res = fallback.run(snap, fallback.Params(include_pairs=False))
    by = {f.removed: f for f in res.fallbacks}
    ana = by[("Ana",)]
    assert ana.unfilled == 0 and ana.cleared == 10 and ana.refilled == 10 and ana.n_changes == 20
    assert {c.person for c in ana.changes if c.after == "W"} == {"Cy"}
    assert by[("Ben",)].unfilled == 10
    assert res.ready(snap.revision) and not fallback.is_stale(ana, snap)
    change = ana.to_proposed_change()
    assert len(change.assignments) == 20
    rec = recovery.run(snap, recovery.Params(people=("Ana",), first=MON, last=MON + dt.timedelta(days=1)))
    assert rec.distance == 8 and rec.restored  # 4 cleared half-days + 4 refilled


def chain_service() -> Program:
    """ICU (PGY-2/3) and the ward need 1 resident each, AM and PM, Mon-Tue.

    Ana (PGY-2) holds ICU, Zed (PGY-3) the ward, Yo (PGY-1) is free. With Ana out nobody free may
    take ICU (Yo is PGY-1), so a refill of free people fails; the repair moves Zed to ICU and puts
    Yo on the ward: 4 cleared half-days + 8 changed = 12 changes, nothing left unfilled.
    """
    prog = Program(MON, 2, codes=["W", "ICU", "OFF"])
    ana, zed, _yo = prog.person("Ana", pgy=2), prog.person("Zed", pgy=3), prog.person("Yo", pgy=1)
    prog.put(ana, "ICU", days=range(2)).put(zed, "W", days=range(2))
    prog.need("ICU", min_count=1, days=range(2)).need("W", min_count=1, days=range(2))
    return prog


def test_solver_repair_moves_people_where_the_greedy_refill_fails() -> None:
    from core.resilience.scenario import repair as greedy_repair

    snap = chain_service().snapshot()
    greedy, _, _, _ = greedy_repair(snap, [0])
    assert greedy.method == "greedy" and greedy.unfilled == 4 and greedy.refilled == 0
    assert {g[2] for g in greedy.gaps} == {"ICU"}
    res = fallback.run(snap, fallback.Params(include_pairs=False))
    ana = next(f for f in res.fallbacks if f.removed == ("Ana",))
    assert ana.method == "cp-sat" and ana.status == "optimal"
    assert ana.unfilled == 0 and ana.gaps == () and ana.cleared == 4 and ana.n_changes == 12
    moved = {(c.person, c.before, c.after) for c in ana.changes if c.after is not None}
    assert moved == {("Zed", "W", "ICU"), ("Yo", None, "W")}
    assert ana.new_violations == ()
    rec = recovery.run(snap, recovery.Params(people=("Ana",)))
    assert rec.distance == 12 and rec.restored and rec.method == "cp-sat" and rec.status == "optimal"


def test_recovery_cancelled_before_the_solver_answers() -> None:
    from core.errors import Cancelled

    snap = chain_service().snapshot()
    with pytest.raises(Cancelled):
        recovery.run(snap, recovery.Params(people=("Zed",)), cancelled=lambda: True)


# ------------------------------------------------------------------------------ LECHATELIER
def test_lechatelier_states() -> None:
    from test_contingency import three_person_service

    snap = three_person_service().snapshot()
    calm = lechatelier.run(snap)
    assert calm.state == "stable" and calm.coverage == 1.0
    ana = lechatelier.run(snap, lechatelier.Params(people=("Ana",)))
    assert ana.state == "compensating" and ana.absorbers == (("Cy", 60.0),)
    ben = lechatelier.run(snap, lechatelier.Params(service="OB", loss=1.0))
    assert ben.removed == ("Ben",) and ben.unfilled == 10 and ben.coverage == pytest.approx(0.5)
    assert ben.state == "critical"


# ------------------------------------------------------------------------- HOMEOSTASIS, BURNOUT
def test_homeostasis_severity_and_actions() -> None:
    assert [homeostasis.severity(x) for x in (0.5, 1.5, 2.5, 3.5)] == ["within", "minor", "moderate", "major"]
    vals = np.array([0.95, 0.85, 0.85, 0.85, 0.95, 0.6])
    acts = homeostasis.actions_for("coverage", vals, 0.95, 0.05)
    assert [w for w, _ in acts] == [3, 5]  # third week in a row out, then major at once


def test_homeostasis_on_a_schedule() -> None:
    from test_contingency import three_person_service

    res = homeostasis.run(three_person_service().snapshot())
    cov = res.values[res.metrics.index("coverage")]
    assert cov.tolist() == [1.0]


def test_burnout_scores_and_bands() -> None:
    terms = np.array([[1, 2, 0, 0, 1, 10, 0], [0, 0, 0, 0, 0, 0, 0]], dtype=float)
    acute, chronic, total = burnout.scores(terms)
    assert acute.tolist() == [8.0, 0.0] and chronic.tolist() == [10.0, 0.0]
    assert total.tolist() == [20.0, 0.0]
    assert [burnout.band_of(x) for x in (10, 30, 60, 90)] == ["low", "moderate", "high", "severe"]
    w = np.array([[0, 5, 0], [5, 0, 0], [0, 0, 0]], dtype=float)
    exp = burnout.sir(w, np.array([True, False, False]), 0.1, 0.2, 10)
    assert exp[1] > 0 and exp[2] == 0  # only the co-worker is exposed


def test_burnout_on_a_schedule_counts_weekend_calls() -> None:
    prog = Program(MON, 14, codes=["W", "OFF"])
    a = prog.person("Ana", pgy=1)
    prog.person("Ben", pgy=1)
    prog.call(a, 5).call(a, 12)  # Saturdays of two consecutive weekends
    res = burnout.run(prog.snapshot())
    assert res.terms[0, 0] == 1 and res.terms[0, 1] == 2
    assert res.ranking[0][0] == "Ana"


# ---------------------------------------------------------------------------- ERLANG, HUBS
def test_erlang_c() -> None:
    assert erlang.erlang_c(1.0, 2) == pytest.approx(1 / 3)
    r = erlang.run(None, erlang.Params(arrivals_per_hour=2, handling_minutes=30, servers=2,
                                         target_wait_probability=0.1))
    assert r.load == 1.0 and r.p_wait == pytest.approx(1 / 3)
    assert r.mean_wait_minutes == pytest.approx(10.0)
    assert r.servers_needed == 3  # P(wait | 3) = 1/11
    assert erlang.erlang_c(1.0, 3) == pytest.approx(1 / 11)
    assert math.isinf(erlang.run(None, erlang.Params(arrivals_per_hour=10, servers=2)).mean_wait_minutes)


def test_hubs_rank_and_advice() -> None:
    from test_contingency import three_person_service

    res = hubs.run(three_person_service().snapshot())
    assert res.hubs[0].name == "Ben" and res.hubs[0].n1_unfilled == 10
    assert res.hubs[0].thin_services == ("OB",)
    assert ("OB", 1) in [(a, n) for a, n, _ in res.advice]


def test_results_are_cached_by_revision() -> None:
    from test_contingency import three_person_service

    CACHE.clear()
    snap = three_person_service().snapshot()
    first = util.run(snap)
    assert util.run(snap) is first
    assert util.run(snap, util.Params(faculty_week_hours=40)) is not first


def test_solver_repair_in_a_separate_process_and_its_cancel() -> None:
    """The large-program path (the solver in a spawned process) answers like the in-thread one, and a
    cancel terminates it."""
    from core.errors import Cancelled
    from core.resilience.scenario import best_repair, best_repairs

    snap = chain_service().snapshot()
    here = best_repair(snap, [0], isolate=False)
    seen: list[int] = []
    (apart,) = best_repairs(snap, [([0], None)], isolate=True, on_each=lambda i, _r: seen.append(i))
    assert seen == [0]
    assert apart.method == "cp-sat" and apart.changes == here.changes and apart.n_changes == 12
    calls = [0]

    def cancel_after_start() -> bool:
        calls[0] += 1
        return calls[0] > 2

    with pytest.raises(Cancelled):
        best_repair(snap, [0], isolate=True, cancelled=cancel_after_start)


def test_cache_computes_a_result_once_when_two_threads_ask_for_it() -> None:
    """FALLBACK asks for N-2 while N-2's own worker computes it: the second caller waits for that
    result (polling its cancel) instead of running the whole N-2 a second time."""
    import threading

    from core.progress import noop
    from core.resilience.common import cached

    CACHE.clear()
    calls: list[int] = []
    waiting = threading.Event()

    def compute() -> str:
        calls.append(1)
        waiting.wait(5)  # returns once the second caller waits on this computation
        return "result"

    def second_cancel() -> bool:
        waiting.set()
        return False

    out: list[str] = []
    first = threading.Thread(target=lambda: out.append(cached("t", "rev", None, compute, noop)))
    first.start()
    while not calls:
        threading.Event().wait(0.01)
    out.append(cached("t", "rev", None, compute, noop, second_cancel))
    first.join(5)
    assert out == ["result", "result"] and calls == [1]
