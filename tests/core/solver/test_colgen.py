"""Column generation over whole-horizon patterns: its bound is valid and tight, its dive gives feasible
rosters, and solve() uses it (and stops inside it when cancelled)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from curtois_fixtures import TINY, bench_file
from ortools.sat.python import cp_model

from core.solver import colgen, curtois
from core.solver.roster import person_by_person, solve

OPTIMA = {1: 607, 2: 828, 3: 1001}


@pytest.mark.parametrize("n", [1, 2, 3])
def test_bound_is_valid_and_the_dive_roster_feasible(n: int) -> None:
    inst = curtois.read_instance(bench_file(n))
    model = curtois.to_roster_model(inst)
    start = person_by_person(model, passes=1)
    assert start is not None
    now = time.monotonic()
    result = colgen.column_generation(model, start, deadline=now + 120, dive_deadline=now + 240)
    assert result.converged and result.lower_bound is not None and result.lp_value is not None
    assert result.lower_bound <= OPTIMA[n]  # a lower bound of the proven optimum
    if n in (2, 3):
        # the pattern LP is tight on these two: its bound is the optimum itself (the cell model's root LP is
        # far below it, which is why the full search needs seconds to prove them)
        assert result.lower_bound == OPTIMA[n]
    assert result.roster is not None
    rows, free = result.roster
    assert free == frozenset()  # leave_free=0: the dive fixed everybody
    ev = curtois.evaluate(inst, rows)
    assert ev.hard == ()  # every pattern keeps its person's rules, and cover is soft
    assert ev.penalty >= result.lower_bound


def test_bound_on_a_tiny_instance_matches_the_proven_optimum() -> None:
    inst = curtois.parse_instance(TINY)
    model = curtois.to_roster_model(inst)
    exact = solve(model, time_limit=20, workers=2, column_generation=False)
    assert exact.status == "optimal" and exact.objective is not None
    start = person_by_person(model, passes=1)
    assert start is not None
    now = time.monotonic()
    result = colgen.column_generation(model, start, deadline=now + 60)
    assert result.lower_bound is not None and result.lower_bound <= exact.objective
    assert result.roster is None  # no dive asked for


def test_not_applicable_where_people_are_coupled_by_more_than_soft_cover() -> None:
    model = curtois.to_roster_model(curtois.parse_instance(TINY))
    assert colgen.applicable(model)
    hard = replace(model, cover=tuple(replace(c, minimum=1) for c in model.cover))
    assert not colgen.applicable(hard)
    twice = replace(model, cover=model.cover + model.cover[:1])
    assert not colgen.applicable(twice)
    # asked for anyway, solve() leaves it out rather than search a relaxation
    r = solve(hard, time_limit=5, workers=2, column_generation=True)
    assert "cg_iterations" not in r.stats


def test_solve_with_column_generation_proves_instance_3() -> None:
    inst = curtois.read_instance(bench_file(3))
    r = solve(curtois.to_roster_model(inst), time_limit=60, workers=2, column_generation=True)
    assert "cg_iterations" in r.stats and r.stats["cg_bound"] == 1001
    assert r.status == "optimal" and r.objective == 1001
    ev = curtois.evaluate(inst, r.assignment or ())
    assert ev.hard == () and ev.penalty == r.objective


def test_cancel_during_column_generation_keeps_the_start_roster() -> None:
    inst = curtois.read_instance(bench_file(8))
    model = curtois.to_roster_model(inst)
    in_cg = threading.Event()
    seen: list[int] = []

    def progress(objective: int, bound: int, elapsed: float) -> None:
        seen.append(objective)
        if bound < objective:  # before column generation no bound is known: it is reported as the objective
            in_cg.set()

    # far beyond pytest-timeout's 600 s: returning at all shows the cancel was obeyed inside the phase
    r = solve(model, time_limit=3600, workers=2, progress=progress, cancelled=in_cg.is_set)
    assert r.cancelled and in_cg.is_set()
    assert "cg_iterations" in r.stats and "dive_seconds" not in r.stats
    assert r.assignment is not None and r.objective is not None and r.objective <= min(seen)
    ev = curtois.evaluate(inst, r.assignment)
    assert ev.hard == () and ev.penalty == r.objective


@pytest.mark.slow
def test_large_model_gets_the_pattern_bound() -> None:
    inst = curtois.read_instance(bench_file(8))
    r = solve(curtois.to_roster_model(inst), time_limit=90, workers=2)
    assert "cg_iterations" in r.stats
    # the pattern LP's bound (1,296-1,297 when it converges) is above anything the cell model's search proves
    # in minutes (1,227-1,273 in our runs and BEST_KNOWN.md's); the optimum is 1,300
    assert r.best_bound is not None and 1280 <= r.best_bound <= 1300
    ev = curtois.evaluate(inst, r.assignment or ())
    assert ev.hard == () and ev.penalty == r.objective


def test_search_over_the_free_people_puts_the_cover_first() -> None:
    from core.solver.roster import _Built, _Shared, _solve_people, _under

    inst = curtois.parse_instance(TINY)
    model = curtois.to_roster_model(inst)
    exact = solve(model, time_limit=20, workers=2, column_generation=False)
    assert exact.status == "optimal"
    built = _Built(model)
    start = person_by_person(model, passes=1)
    assert start is not None
    found: list[tuple[int, list[int]]] = []
    shared = _Shared(time.monotonic(), lambda objective, bound, elapsed: None)
    offer = shared.offer

    def keep(objective: int, values: list[int] | None, source: str) -> bool:
        if values is not None:
            found.append((objective, values))
        return offer(objective, values, source)

    shared.offer = keep  # type: ignore[method-assign]
    stats: dict[str, object] = {}
    _solve_people(built, shared, start, range(len(model.people)), 20.0, 2, stats)
    assert "dive_cover_first" in stats and "dive_search" in stats
    first_stage = int(str(stats["dive_cover_first"]).split()[1])
    # the first stage minimises the under-cover alone: the second never gives any of it back
    assert shared.values is not None and _under(built, shared.values) <= first_stage
    assert shared.best == exact.objective  # with everybody free the search is exact
    ev = curtois.evaluate(inst, built.assignment_from_values(shared.values))
    assert ev.hard == () and ev.penalty == shared.best
    assert min(o for o, _v in found) == shared.best


def test_cover_windows_reach_the_least_under_cover_and_never_give_any_back() -> None:
    from core.solver.roster import (
        _Built,
        _complete,
        _cover_windows,
        _params,
        _Shared,
        _under,
        _under_objective,
    )

    inst = curtois.read_instance(bench_file(1))
    model = curtois.to_roster_model(inst)
    built = _Built(model)
    least_model = built.cp.clone()
    _under_objective(built, least_model)
    solver = _params(30, 2)
    assert solver.solve(least_model) == cp_model.OPTIMAL
    least = round(solver.objective_value)
    start = person_by_person(model, passes=1)
    assert start is not None
    shared = _Shared(time.monotonic(), lambda objective, bound, elapsed: None)
    values = _complete(built, shared, built.hint_pairs(start), 5.0, {})
    assert values is not None and _under(built, values) > least  # the start is short of cover
    shared.best = shared.values = None
    offered: list[tuple[int, list[int]]] = []
    offer = shared.offer

    def keep(objective: int, values: list[int] | None, source: str) -> bool:
        assert values is not None and source == "cover"
        offered.append((objective, values))
        return offer(objective, values, source)

    shared.offer = keep  # type: ignore[method-assign]
    stats: dict[str, object] = {}
    result = _cover_windows(built, shared, values, 10.0, 2, 0, stats)
    assert _under(built, result) == least
    assert str(stats["cover_windows"]).startswith(f"{least} after ")
    unders = [_under(built, v) for _o, v in offered]
    assert offered and unders == sorted(unders, reverse=True) and unders[-1] == least
    for objective, v in offered:  # every roster offered keeps every rule and is scored right
        ev = curtois.evaluate(inst, built.assignment_from_values(v))
        assert ev.hard == () and ev.penalty == objective


def test_cover_windows_stop_when_stuck_and_keep_the_better_roster(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.solver import roster
    from core.solver.roster import _WINDOW_PATIENCE, _Built, _complete, _cover_windows, _Shared, _under

    inst = curtois.read_instance(bench_file(1))
    model = curtois.to_roster_model(inst)
    exact = solve(model, time_limit=30, workers=2, column_generation=False)
    assert exact.status == "optimal" and exact.assignment is not None
    built = _Built(model)
    shared = _Shared(time.monotonic(), lambda objective, bound, elapsed: None)
    values = _complete(built, shared, built.hint_pairs(exact.assignment), 5.0, {})
    assert values is not None and values[built.obj_index] == exact.objective
    stats: dict[str, object] = {}
    freed: list[set[int]] = []  # the days of each window
    seen: list[tuple[set[int], set[int]]] = []  # the days short, and the days over, of the roster it began from
    real_fix = roster._fix_cells

    def spy(proto, cell_vars, values, free):  # type: ignore[no-untyped-def]
        freed.append({d for _pi, d in free})
        seen.append(({d for d, (_w, vi) in zip(built.under_days, built.under_terms) if values[vi]},
                     {d for d, vi in built.over_days if values[vi]}))
        return real_fix(proto, cell_vars, values, free)

    monkeypatch.setattr(roster, "_fix_cells", spy)
    # the optimum has the least under-cover and nothing better: every window lowers nothing. After
    # _WINDOW_PATIENCE single windows they switch to pairs of half windows, and after _WINDOW_PATIENCE
    # of those (one more at most, the other thread's) they stop, long before 600 s
    result = _cover_windows(built, shared, values, 600.0, 2, 0, stats)
    tries = int(str(stats["cover_windows"]).split(" after ")[1].split()[0])
    assert 2 * _WINDOW_PATIENCE <= tries <= 2 * _WINDOW_PATIENCE + 1 and len(freed) == tries
    switched = int(str(stats["cover_windows"]).split("switched at ")[1])
    assert _WINDOW_PATIENCE <= switched <= _WINDOW_PATIENCE + 1

    def runs(days: set[int]) -> int:
        return sum(1 for d in days if d - 1 not in days)

    assert all(runs(days) == 1 and days & short for days, (short, _over) in zip(freed, seen[:_WINDOW_PATIENCE]))
    # (Instance 1 has 14 days and 8 people: its single windows are the whole horizon, the pairs two runs of
    # 7 days that may touch.) Each pair: one half around a short shift, the other around a shift worked more
    # than wanted
    pairs = list(zip(freed, seen))[_WINDOW_PATIENCE + 1:]  # (the window at the switch may be either)
    assert all(runs(days) <= 2 and len(days) <= len(freed[0]) for days, _seen in pairs)
    assert any(runs(days) == 2 or len(days) < len(freed[0]) for days, _seen in pairs)
    assert any(over for _days, (_short, over) in pairs)
    assert all(days & short and (days & over or not over) for days, (short, over) in pairs)
    # the windows drift across rosters as short as this one, but give back the best of them
    assert _under(built, result) == _under(built, values) and result[built.obj_index] == exact.objective


def test_short_floor_is_what_nobody_can_work() -> None:
    from core.solver.roster import CoverRequirement, Person, RosterModel, ShiftType, _Built, _short_floor

    shifts = (ShiftType("D", 480), ShiftType("N", 600))
    # nights: 4 wanted, A may work at most 1, B at most 3 but not on day 3, C none; days: 2 wanted, plenty
    people = (Person("A", max_shifts={"N": 1}), Person("B", max_shifts={"N": 3}, unavailable=frozenset({3})),
              Person("C", eligible=frozenset({"D"})))
    cover = [CoverRequirement(d, "N", optimum=1, under_weight=100) for d in range(4)]
    cover += [CoverRequirement(0, "D", optimum=2, under_weight=100)]
    built = _Built(RosterModel(4, shifts, people, tuple(cover)))
    floor = {built.shift_ids[i]: n for i, n in _short_floor(built).items()}
    assert floor == {"N": 0, "D": 0}  # A 1 + B 3 (days 0-2 only: 3) cover the 4 nights
    built = _Built(RosterModel(4, shifts, people[1:], tuple(cover)))
    assert {built.shift_ids[i]: n for i, n in _short_floor(built).items()} == {"N": 1, "D": 0}
    # Instance 8: everybody's night maximums add up to 74 against 86 nights wanted
    built = _Built(curtois.to_roster_model(curtois.read_instance(bench_file(8))))
    assert {built.shift_ids[i]: n for i, n in _short_floor(built).items() if n} == {"N": 12}


def test_cover_windows_aim_only_at_shifts_short_beyond_their_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.solver import roster
    from core.solver.roster import (
        CoverRequirement,
        Person,
        RosterModel,
        ShiftType,
        _Built,
        _complete,
        _Shared,
    )

    shifts = (ShiftType("D", 480), ShiftType("N", 600))
    # two nights wanted on each of 6 days, each person may work 2: 12 wanted, 6 workable, floor 6; one day
    # shift wanted on days 4 and 5
    people = tuple(Person(p, max_shifts={"N": 2}) for p in "ABC")
    cover = tuple(CoverRequirement(d, "N", optimum=2, under_weight=100) for d in range(6))
    cover += tuple(CoverRequirement(d, "D", optimum=1, under_weight=100) for d in (4, 5))
    built = _Built(RosterModel(6, shifts, people, cover))
    # each on nights two days running: the nights at their floor (6 short), both day shifts short
    start = [("N", "N", None, None, None, None), (None, None, "N", "N", None, None),
             (None, None, None, None, "N", "N")]
    shared = _Shared(time.monotonic(), lambda objective, bound, elapsed: None)
    values = _complete(built, shared, built.hint_pairs(start), 5.0, {})
    assert values is not None and roster._under(built, values) == 800
    freed: list[set[int]] = []
    real_fix = roster._fix_cells

    def spy(proto, cell_vars, values, free):  # type: ignore[no-untyped-def]
        freed.append({d for _pi, d in free})
        return real_fix(proto, cell_vars, values, free)

    monkeypatch.setattr(roster, "_fix_cells", spy)
    monkeypatch.setattr(roster, "_WINDOW_CELLS", 6)  # windows of 2 days (3 people)
    stats: dict[str, object] = {}
    result = roster._cover_windows(built, shared, values, 60.0, 2, 0, stats)
    rows = built.assignment_from_values(result)
    assert any(r[4] == "D" for r in rows) and any(r[5] == "D" for r in rows)
    assert roster._under(built, result) == 600 and sum(r.count("N") for r in rows) == 6
    # every window freed day 4 or 5 (none was about the nights, which no window can help), and once only
    # the nights' floor was left short the windows stopped at once, with no run of fruitless windows
    assert freed and all(days & {4, 5} and len(days) == 2 for days in freed)
    assert len(freed) < roster._WINDOW_PATIENCE


def test_cover_windows_stop_at_their_target() -> None:
    from core.solver.roster import _Built, _complete, _cover_windows, _Shared, _under

    inst = curtois.read_instance(bench_file(1))
    model = curtois.to_roster_model(inst)
    built = _Built(model)
    start = person_by_person(model, passes=1)
    assert start is not None
    shared = _Shared(time.monotonic(), lambda objective, bound, elapsed: None)
    values = _complete(built, shared, built.hint_pairs(start), 5.0, {})
    assert values is not None
    short = _under(built, values)
    assert short > 0
    stats: dict[str, object] = {}
    # short no more than the target already: no window at all, the roster given back as it was
    assert _cover_windows(built, shared, values, 60.0, 2, 0, stats, target=short) == values
    assert str(stats["cover_windows"]).startswith(f"{short} after 0 windows")
    # a target below: the windows go on until they reach it (Instance 1's least is below the start's)
    result = _cover_windows(built, shared, values, 60.0, 2, 0, stats, target=short - 1)
    assert _under(built, result) < short


def test_the_lp_under_cover_is_that_of_the_lp_solution() -> None:
    model = curtois.to_roster_model(curtois.read_instance(bench_file(1)))
    start = person_by_person(model, passes=1)
    assert start is not None
    now = time.monotonic()
    result = colgen.column_generation(model, start, deadline=now + 60)
    assert result.converged and result.lp_value is not None and result.lp_under is not None
    # the under-cover part of the LP's value: above zero, below the LP value (607 at the optimum, with
    # requests and over-cover), and no more than the least under-cover of a whole roster (an LP relaxes it)
    from core.solver.roster import _Built, _params, _under_objective

    built = _Built(model)
    least_model = built.cp.clone()
    _under_objective(built, least_model)
    solver = _params(30, 2)
    assert solver.solve(least_model) == cp_model.OPTIMAL
    assert 0 < result.lp_under < result.lp_value and result.lp_under <= solver.objective_value


def test_dive_reprices_the_people_left_free_after_its_last_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # before: once past its deadline the dive fixed everybody left at once and never priced again, so the
    # people left free kept patterns priced for a roster that no longer existed (Instance 8: LP 1,301 ->
    # 1,531 in that last step)
    inst = curtois.read_instance(bench_file(1))
    model = curtois.to_roster_model(inst)
    start = person_by_person(model, passes=1)
    assert start is not None
    P = len(model.people)
    priced: list[frozenset[int]] = []
    real = colgen._price_round

    def spy(pool, pricers, people, *args):  # type: ignore[no-untyped-def]
        priced.append(frozenset(people))
        return real(pool, pricers, people, *args)

    monkeypatch.setattr(colgen, "_price_round", spy)
    now = time.monotonic()
    result = colgen.column_generation(model, start, deadline=now + 60, dive_deadline=now, leave_free=2)
    assert result.converged and result.roster is not None
    rows, free = result.roster
    assert len(free) == 2
    dive_rounds = [people for people in priced if len(people) < P]
    assert dive_rounds and dive_rounds[-1] == free  # the last pricing was of exactly the people left free
    ev = curtois.evaluate(inst, rows)
    assert ev.hard == ()


def test_column_generation_goes_on_to_the_far_deadline_while_the_lp_is_not_close() -> None:
    model = curtois.to_roster_model(curtois.read_instance(bench_file(1)))
    start = person_by_person(model, passes=1)
    assert start is not None
    now = time.monotonic()
    # the first deadline has passed already: without far_deadline there is no round at all
    assert colgen.column_generation(model, start, deadline=now).iterations == 0
    result = colgen.column_generation(model, start, deadline=now, far_deadline=time.monotonic() + 60)
    assert result.iterations > 0
    # it went on until the LP was close to its bound, and stopped there, long before the far deadline
    assert result.close and result.lp_value is not None and result.lower_bound is not None
    assert result.lp_value - result.lower_bound <= colgen._CLOSE_GAP * result.lp_value + 1
    assert time.monotonic() < now + 30


def _tiny_after_a_fake_dive(monkeypatch: pytest.MonkeyPatch, close: bool) -> tuple[Any, Any, Any, list[int]]:
    """The TINY instance, its model built, and column generation replaced by a dive that leaves person 0
    free (``close`` as given, the LP 199.5 short): (model, built, shared, first roster's values)."""
    from core.solver import roster

    model = curtois.to_roster_model(curtois.parse_instance(TINY))
    start = person_by_person(model, passes=1)
    assert start is not None
    built = roster._Built(model)
    shared = roster._Shared(time.monotonic(), lambda objective, bound, elapsed: None)
    found = roster._complete(built, shared, built.hint_pairs(start), 5.0, {})
    assert found is not None

    def fake_cg(*_args: object, **kwargs: Any) -> colgen.ColumnGenerationResult:
        if kwargs.get("on_dive") is not None:  # the dive's roster to the caller, once (no other dive)
            kwargs["on_dive"](start, frozenset({0}), 199.5, close)
        return colgen.ColumnGenerationResult(lp_value=1.0, lower_bound=0, converged=False, iterations=1,
                                             columns=1, roster=(start, frozenset({0})), close=close,
                                             lp_under=199.5)

    monkeypatch.setattr(colgen, "column_generation", fake_cg)
    return model, built, shared, found


@pytest.mark.parametrize("close", [True, False])
def test_the_under_cover_windows_follow_only_a_dive_from_a_close_lp(monkeypatch: pytest.MonkeyPatch,
                                                                     close: bool) -> None:
    from core.solver import roster

    model, built, shared, found = _tiny_after_a_fake_dive(monkeypatch, close)
    windows_run: list[float] = []
    targets: list[object] = []

    def spy(_built: object, _shared: object, values: list[int], time_limit: float, *rest: object) -> list[int]:
        windows_run.append(time_limit)
        targets.append(rest[-1])
        return values

    monkeypatch.setattr(roster, "_cover_windows", spy)
    stats: dict[str, object] = {}
    roster._column_generation_phase(model, built, shared, found, time.monotonic(), 10.0, 2, stats)
    assert stats["cg_close"] is close and "dive_search" in stats
    assert len(windows_run) == (1 if close else 0)
    # the windows aim no lower than the LP's own under-cover, rounded up
    assert targets == ([200] if close else [])


@pytest.mark.parametrize("close", [True, False])
def test_after_a_close_dive_the_search_over_the_free_people_is_short(monkeypatch: pytest.MonkeyPatch,
                                                                    close: bool) -> None:
    # after a close dive the free people are few (Instance 7: 6 of 20) and their roster near its best: their
    # search used to run until 90 % of the time (25-30 s on Instance 7) where the neighbourhood search,
    # over everybody, polishes better
    from core.solver import roster

    model, built, shared, found = _tiny_after_a_fake_dive(monkeypatch, close)
    assert built.under_terms
    limits: list[float] = []
    real_search = roster._search

    def spy(cp: object, shared_: object, built_: object, time_limit: float, workers: int) -> object:
        limits.append(time_limit)
        return real_search(cp, shared_, built_, min(time_limit, 0.5), workers)  # type: ignore[arg-type]

    monkeypatch.setattr(roster, "_search", spy)
    monkeypatch.setattr(roster, "_cover_windows", lambda _b, _s, values, *_rest: values)
    stats: dict[str, object] = {}
    roster._column_generation_phase(model, built, shared, found, time.monotonic(), 100.0, 2, stats)
    assert len(limits) == 2  # the cover first, then the whole objective over the free people's cells
    if close:
        assert 0 < limits[1] <= 5.0  # (before: until 90 % of the time, 89 s here)
    else:  # after a far dive it keeps its time: until 75 % of the time, 74 s here
        assert limits[1] > 70


def test_dp_and_cp_sat_pricing_reach_the_same_bound() -> None:
    """Instance 2 converges to the optimum's bound whichever prices the patterns (the DP where it may, the
    one-person CP-SAT model otherwise)."""
    model = curtois.to_roster_model(curtois.read_instance(bench_file(2)))
    start = person_by_person(model, passes=1)
    assert start is not None
    bounds = []
    for exact_dp in (True, False):
        now = time.monotonic()
        result = colgen.column_generation(model, start, deadline=now + 120, exact_dp=exact_dp)
        assert result.converged
        bounds.append(result.lower_bound)
    assert bounds == [OPTIMA[2], OPTIMA[2]]
    pricer = colgen._Pricer(model, 0, {(c.day, c.shift): k for k, c in enumerate(model.cover)})
    assert pricer.dp is not None  # the DP is the default where the person's rules allow it


def test_dp_pricers_run_in_the_calling_thread_and_cp_sat_ones_in_the_pool() -> None:
    """The DP holds the interpreter lock (numpy on small arrays): two threads of it were slower than one, so
    a pricing round runs the DP pricers itself while the pool runs the CP-SAT ones."""
    from concurrent.futures import ThreadPoolExecutor

    threads: dict[int, str] = {}

    class _Stub:
        def __init__(self, pi: int, dp: bool) -> None:
            self.pi, self.dp = pi, (object() if dp else None)

        def price(self, *args: Any) -> tuple[float, bool, list[Any]]:
            threads[self.pi] = threading.current_thread().name
            return -1.0, True, []

    pricers: list[Any] = [_Stub(pi, pi % 2 == 0) for pi in range(6)]
    model = curtois.to_roster_model(curtois.parse_instance(TINY))
    master = colgen._Master(model, [])
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool") as pool:
        added, exact, least = colgen._price_round(pool, pricers, range(6), master, [], [0.0] * 6,
                                                  [None] * 6, None, 1.0)
    assert (added, exact, least) == (0, True, -6.0)
    here = threading.current_thread().name
    assert {pi for pi, name in threads.items() if name == here} == {0, 2, 4}
    assert all(threads[pi].startswith("pool") for pi in (1, 3, 5))


def test_a_dive_refused_by_on_dive_is_taken_again_with_the_ranking_perturbed() -> None:
    inst = curtois.read_instance(bench_file(2))
    model = curtois.to_roster_model(inst)
    start = person_by_person(model, passes=1)
    assert start is not None
    seen: list[tuple[Any, frozenset[int], float | None, bool]] = []

    def refuse_twice(rows: Any, free: frozenset[int], lp_under: float | None, close: bool) -> bool:
        seen.append((rows, free, lp_under, close))
        return len(seen) >= 3

    now = time.monotonic()
    result = colgen.column_generation(model, start, deadline=now + 60, dive_deadline=now, leave_free=2,
                                      on_dive=refuse_twice, redive_deadline=now + 600, seed=1)
    assert result.converged and result.roster is not None
    assert len(seen) == 3 and result.stats["dives"] == 3  # refused twice, accepted the third
    assert result.roster == seen[-1][:2]  # the result's roster is the last dive's
    for rows, free, lp_under, close in seen:
        assert len(free) == 2 and close and lp_under is not None and lp_under >= 0
        assert curtois.evaluate(inst, rows).hard == ()  # every dive keeps everybody's own rules
    # another dive is another roster: not every dive gives the same rows and the same two free (the master
    # keeps the columns priced during the last dive, and the ranking is perturbed; either alone was enough
    # here, so this does not tell them apart)
    assert len({(rows, free) for rows, free, _u, _c in seen}) > 1


def test_no_second_dive_once_on_dive_accepts_or_past_the_redive_deadline() -> None:
    model = curtois.to_roster_model(curtois.read_instance(bench_file(1)))
    start = person_by_person(model, passes=1)
    assert start is not None
    calls: list[int] = []

    def answer(accept: bool) -> Callable[..., bool]:
        def on_dive(*_args: object) -> bool:
            calls.append(1)
            return accept
        return on_dive

    now = time.monotonic()
    result = colgen.column_generation(model, start, deadline=now + 60, dive_deadline=now, leave_free=2,
                                      on_dive=answer(True), redive_deadline=now + 600)
    assert calls == [1] and result.stats["dives"] == 1
    calls.clear()
    result = colgen.column_generation(model, start, deadline=now + 60, dive_deadline=now, leave_free=2,
                                      on_dive=answer(False), redive_deadline=now)
    assert calls == [1] and result.stats["dives"] == 1  # refused, but no time left for another


def test_the_phase_asks_for_another_dive_while_short_of_the_lp_and_polishes_the_least_short(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from core.solver import roster

    model, built, shared, found = _tiny_after_a_fake_dive(monkeypatch, True)  # its fake replaced below
    start = built.assignment_from_values(found)
    unders = iter([300, 100, 200])  # what each dive's cover parts end at (a shift short weighs 100)
    answers: list[bool] = []

    def fake_cover(_built: Any, _shared: Any, rows: Any, free: Any, *_rest: Any, **_kw: Any) -> list[int]:
        values = list(found)
        values.append(next(unders))  # the last value stands for the under-cover (see fake_under)
        return values

    def fake_cg(*_args: object, **kwargs: Any) -> colgen.ColumnGenerationResult:
        for k in range(3):  # three dives, each leaving another person free, whatever the answers
            answers.append(kwargs["on_dive"](start, frozenset({k}), 199.5, True))
        return colgen.ColumnGenerationResult(lp_value=1.0, lower_bound=0, converged=True, iterations=1,
                                             columns=1, roster=(start, frozenset({2})), close=True,
                                             lp_under=199.5)

    polished: list[tuple[int, frozenset[int]]] = []
    monkeypatch.setattr(colgen, "column_generation", fake_cg)
    monkeypatch.setattr(roster, "_people_cover", fake_cover)
    monkeypatch.setattr(roster, "_under", lambda _b, values: values[-1])
    monkeypatch.setattr(roster, "_people_polish",
                        lambda _b, _s, values, free, *_r, **_k: polished.append((values[-1], frozenset(free))))
    stats: dict[str, Any] = {}
    roster._column_generation_phase(model, built, shared, found, time.monotonic(), 10.0, 2, stats)
    # the LP is 199.5 short (weighted), 200 rounded up: 300 asks for another dive, 100 is enough, so is 200
    assert answers == [False, True, True]
    assert stats["dive_unders"] == [300, 100, 200]
    assert polished == [(100, frozenset({1}))]  # the least short of the three, with the people it left free
    assert stats["dive_under"] == 100
