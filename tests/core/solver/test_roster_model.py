"""Each constraint kind of the general roster model on tiny cases with a known optimum."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from curtois_fixtures import TINY, bench_file

from core.errors import ValidationError
from core.solver import curtois
from core.solver.roster import (
    CoverRequirement,
    FairnessTerm,
    FixedAssignment,
    MinutesWindow,
    Person,
    RosterModel,
    RosterResult,
    ShiftRequest,
    ShiftType,
    greedy_assignment,
    person_by_person,
    sliding_windows,
    solve,
)

D = ShiftType("D", 480)
N = ShiftType("N", 600)


def run(model: RosterModel, **kw: object) -> RosterResult:
    result = solve(model, time_limit=20, workers=2, **kw)  # type: ignore[arg-type]
    assert result.status == "optimal", result
    return result


def daily(horizon: int, shift: str = "D", optimum: int = 1, under: int = 1, over: int = 0) -> tuple[CoverRequirement, ...]:
    return tuple(CoverRequirement(d, shift, optimum=optimum, under_weight=under, over_weight=over)
                 for d in range(horizon))


def test_cover_under_and_over() -> None:
    people = tuple(Person(p) for p in "ABC")
    cover = (CoverRequirement(0, "D", optimum=2, under_weight=10, over_weight=1),)
    r = run(RosterModel(1, (D,), people, cover))
    assert r.objective == 0 and sum(row[0] == "D" for row in r.assignment or ()) == 2
    # hard minimum forces over-cover; hard maximum forces under-cover
    cover = (CoverRequirement(0, "D", minimum=3, optimum=2, under_weight=10, over_weight=1),)
    assert run(RosterModel(1, (D,), people, cover)).objective == 1
    cover = (CoverRequirement(0, "D", optimum=2, maximum=1, under_weight=10, over_weight=1),)
    assert run(RosterModel(1, (D,), people, cover)).objective == 10


def test_eligibility_and_unavailable_days() -> None:
    people = (Person("A", eligible=frozenset({"N"})), Person("B", unavailable=frozenset({0})))
    cover = (CoverRequirement(0, "D", optimum=1, under_weight=7), CoverRequirement(1, "D", optimum=1, under_weight=5))
    r = run(RosterModel(2, (D, N), people, cover))
    assert r.objective == 7
    assert r.assignment == ((None, None), (None, "D"))
    # max_shifts 0 also forbids a type
    people = (Person("A", max_shifts={"D": 0}),)
    assert run(RosterModel(1, (D,), people, daily(1, under=4))).objective == 4


def test_fixed_assignments_are_kept() -> None:
    people = (Person("A"), Person("B"))
    cover = daily(2, optimum=0, under=0, over=1)
    fixed = (FixedAssignment("A", 0, "D"), FixedAssignment("B", 1, "N"))
    r = run(RosterModel(2, (D, N), people, cover, fixed=fixed))
    assert r.objective == 1
    assert r.assignment is not None and r.assignment[0][0] == "D" and r.assignment[1][1] == "N"
    # a fixed day off beats a request to work
    req = (ShiftRequest("A", 0, "D", 3, on=True),)
    r = run(RosterModel(1, (D,), people[:1], (), fixed=(FixedAssignment("A", 0, None),), requests=req))
    assert r.objective == 3 and r.assignment == ((None,),)
    with pytest.raises(ValidationError, match="two different fixed"):
        solve(RosterModel(1, (D,), people, (), fixed=(FixedAssignment("A", 0, None), FixedAssignment("A", 0, "D"))),
              time_limit=1)


def test_forbidden_succession() -> None:
    cover = (CoverRequirement(0, "N", optimum=1, under_weight=5), CoverRequirement(1, "D", optimum=1, under_weight=3))
    model = RosterModel(2, (D, N), (Person("A"),), cover, forbidden_successions=(("N", "D"),))
    r = run(model)
    assert r.objective == 3 and r.assignment == (("N", None),)
    assert run(replace(model, forbidden_successions=())).objective == 0


def test_max_consecutive_and_history() -> None:
    model = RosterModel(5, (D,), (Person("A", max_consecutive_work=2),), daily(5))
    r = run(model)
    assert r.objective == 1  # W W - W W
    assert r.assignment == (("D", "D", None, "D", "D"),)
    # two days worked just before day 0: the first run may not start before day 1
    model = RosterModel(5, (D,), (Person("A", max_consecutive_work=2, history_work_days=2),), daily(5))
    assert run(model).objective == 2  # - W W - W


def test_min_consecutive_work_with_and_without_boundary_exemption() -> None:
    # only day 2 wants a worker (under 10); every other worked day is over-cover (1)
    cover = tuple(CoverRequirement(d, "D", optimum=1 if d == 2 else 0, under_weight=10, over_weight=1) for d in range(5))
    model = RosterModel(5, (D,), (Person("A", min_consecutive_work=4),), cover)
    assert run(model).objective == 2  # days 0-2: the run touches day 0, so it is exempt
    assert run(replace(model, boundary_runs_exempt=False)).objective == 3  # days 0-3 or 1-4


def test_min_consecutive_days_off() -> None:
    # A wants to work every day (weight 1) but is unavailable on day 2
    reqs = tuple(ShiftRequest("A", d, None, 1, on=True) for d in range(5))
    model = RosterModel(5, (D,), (Person("A", unavailable=frozenset({2}), min_consecutive_off=2),), requests=reqs)
    r = run(model)
    assert r.objective == 2
    assert r.assignment is not None and sum(x is None for x in r.assignment[0]) == 2
    assert run(replace(model, people=(Person("A", unavailable=frozenset({2})),))).objective == 1


def test_max_shifts_per_type() -> None:
    model = RosterModel(3, (D, N), (Person("A", max_shifts={"D": 2}),), daily(3))
    assert run(model).objective == 1


def test_total_minutes_and_windows() -> None:
    model = RosterModel(3, (D,), (Person("A", max_total_minutes=960),), daily(3))
    assert run(model).objective == 1
    model = RosterModel(3, (D,), (Person("A", min_total_minutes=960),), daily(3, optimum=0, under=0, over=1))
    assert run(model).objective == 2
    windows = (MinutesWindow("A", 0, 1, max_minutes=480),)
    model = RosterModel(3, (D,), (Person("A"),), daily(3), windows=windows)
    assert run(model).objective == 1
    windows = sliding_windows(4, 2, max_minutes=480)
    assert len(windows) == 3
    model = RosterModel(4, (D,), (Person("A"),), daily(4), windows=windows)
    assert run(model).objective == 2  # at most one of any two consecutive days
    windows = (MinutesWindow(None, 0, 2, min_minutes=960),)
    model = RosterModel(3, (D,), (Person("A"), Person("B")), daily(3, optimum=0, under=0, over=1), windows=windows)
    assert run(model).objective == 4


def test_max_weekends() -> None:
    reqs = tuple(ShiftRequest("A", d, "D", 1, on=True) for d in (5, 6, 12, 13))
    model = RosterModel(14, (D,), (Person("A", max_weekends=1),), requests=reqs)
    assert model.weekends() == [(5, 6), (12, 13)]
    assert run(model).objective == 2
    # starting on a Sunday: day 0 is a weekend of its own, cut by the horizon
    assert replace(model, first_weekday=6).weekends() == [(0,), (6, 7), (13,)]


def test_requests_on_and_off() -> None:
    people = (Person("A", eligible=frozenset({"N"})), Person("B"))
    reqs = (
        ShiftRequest("A", 0, "D", 3, on=True),  # impossible: A cannot work D -> constant 3
        ShiftRequest("B", 0, "D", 2, on=True),
        ShiftRequest("B", 0, None, 5, on=False),  # B wants the day off: 5 beats 2
        ShiftRequest("A", 1, "N", 1, on=False),
        ShiftRequest("A", 1, None, 4, on=True),  # A wants to work day 1 but not N: works N (cost 1)
    )
    r = run(RosterModel(2, (D, N), people, requests=reqs))
    assert r.objective == 3 + 2 + 1
    assert r.assignment == ((None, "N"), (None, None))


def test_fairness_with_carried_counts() -> None:
    people = (Person("A"), Person("B"))
    fair = (FairnessTerm(("A", "B"), weight=1, shifts=frozenset({"D"}), carried={"A": 2}),)
    r = run(RosterModel(4, (D,), people, daily(4, under=10, over=1), fairness=fair))
    assert r.objective == 0
    assert r.assignment is not None
    assert [sum(x == "D" for x in row) for row in r.assignment] == [1, 3]


def test_identical_people_symmetry_breaking_keeps_the_optimum() -> None:
    people = tuple(Person(p, max_consecutive_work=2, min_consecutive_off=2) for p in "ABCD")
    model = RosterModel(7, (D,), people, daily(7, optimum=2, under=5, over=1))
    with_sym = run(model)
    without = run(model, symmetry_breaking=False)
    assert with_sym.objective == without.objective
    assert with_sym.assignment is not None
    totals = [sum(x is not None for x in row) for row in with_sym.assignment]
    assert totals == sorted(totals, reverse=True)


def test_infeasible_and_invalid_models() -> None:
    cover = (CoverRequirement(0, "D", minimum=2, optimum=2),)
    r = solve(RosterModel(1, (D,), (Person("A"),), cover), time_limit=5, workers=2)
    assert r.status == "infeasible" and r.assignment is None
    with pytest.raises(ValidationError, match="unknown shift"):
        solve(RosterModel(1, (D,), (Person("A"),), (CoverRequirement(0, "X"),)), time_limit=1)
    with pytest.raises(ValidationError, match="outside the horizon"):
        solve(RosterModel(1, (D,), (Person("A"),), requests=(ShiftRequest("A", 3, None, 1, on=True),)), time_limit=1)


def test_single_worker_and_plain_search_agree() -> None:
    inst = curtois.parse_instance(TINY)
    model = curtois.to_roster_model(inst)
    a = solve(model, time_limit=20, workers=1)
    b = solve(model, time_limit=20, workers=2, lns=False)
    assert a.status == b.status == "optimal"
    assert a.objective == b.objective
    for r in (a, b):
        ev = curtois.evaluate(inst, r.assignment or ())
        assert ev.hard == () and ev.penalty == r.objective


def test_greedy_start_has_the_right_shape() -> None:
    inst = curtois.parse_instance(TINY)
    g = greedy_assignment(curtois.to_roster_model(inst))
    assert len(g) == 3 and all(len(row) == 7 for row in g)
    assert g[0][0] is None  # A's day off is respected


def test_cancel_returns_the_best_roster_so_far() -> None:
    inst = curtois.read_instance(bench_file(8))
    model = curtois.to_roster_model(inst)
    seen: list[int] = []
    asked: list[float] = []
    got_one = threading.Event()

    def progress(objective: int, bound: int, elapsed: float) -> None:
        seen.append(objective)
        got_one.set()

    def cancelled() -> bool:
        if got_one.is_set() and len(seen) >= 2:
            if not asked:
                asked.append(time.monotonic())
            return True
        return False

    # the time limit is far beyond pytest-timeout's 600 s: returning at all shows the cancel was
    # obeyed (how fast is a performance figure, for a benchmark, not an assertion here)
    r = solve(model, time_limit=3600, workers=2, progress=progress, cancelled=cancelled)
    assert r.cancelled and asked
    assert r.wall_time < 3600
    assert r.status == "feasible" and r.assignment is not None and r.objective is not None
    assert r.objective <= min(seen)
    ev = curtois.evaluate(inst, r.assignment)
    assert ev.hard == () and ev.penalty == r.objective


def test_person_by_person_start_covers_exactly_and_is_feasible() -> None:
    # A may work 3 days, B any number: whichever goes first, the other fills the rest, each day once
    people = (Person("A", max_shifts={"D": 3}), Person("B"))
    model = RosterModel(7, (D,), people, daily(7, under=100, over=1))
    for seed in range(4):
        roster = person_by_person(model, passes=1, seed=seed)
        assert roster is not None
        assert sum(row[:].count("D") for row in roster) == 7
        assert all(sum(row[d] == "D" for row in roster) == 1 for d in range(7))
        assert roster[0].count("D") <= 3
    # a hard cover limit binds several people at once: no person-by-person start
    hard = tuple(replace(c, minimum=1) for c in daily(7, under=100))
    assert person_by_person(replace(model, cover=hard)) is None


def test_person_by_person_start_on_a_benchmark_instance() -> None:
    inst = curtois.read_instance(bench_file(5))
    model = curtois.to_roster_model(inst)
    roster = person_by_person(model, passes=2)
    assert roster is not None
    ev = curtois.evaluate(inst, roster)
    assert ev.hard == ()
    # each one-person solve can only lower the whole objective: a second pass improves on the first
    assert ev.penalty < curtois.evaluate(inst, person_by_person(model, passes=1) or ()).penalty
    r = solve(model, time_limit=20, workers=2)
    assert r.stats["start"] == "greedy"  # a small model: the repaired greedy start did better there
    ev = curtois.evaluate(inst, r.assignment or ())
    assert ev.hard == () and ev.penalty == r.objective


def test_large_model_hands_the_full_search_thread_to_a_second_neighbourhood_search() -> None:
    inst = curtois.read_instance(bench_file(8))
    # (without column generation, which would take the first three quarters of the time)
    r = solve(curtois.to_roster_model(inst), time_limit=30, workers=2, column_generation=False)
    assert "second_lns_from" in r.stats and r.stats["lns_wins"].count("|") == 1
    assert r.stats["start"] == "person-by-person"
    ev = curtois.evaluate(inst, r.assignment or ())
    assert ev.hard == () and ev.penalty == r.objective


def test_neighbourhood_kinds_are_drawn_by_their_gain_per_cpu_second() -> None:
    import random

    from core.solver.roster import _Built, _Neighbourhoods

    built = _Built(curtois.to_roster_model(curtois.parse_instance(TINY)))
    values = [0] * len(built.cp.proto.variables)
    hood = _Neighbourhoods(built, random.Random(0), by_gain=True)
    first = [hood.pick(values)[0] for _ in range(2)]
    assert first == ["days", "days"]  # an untried kind comes first (the others are not tried yet either)
    for kind in hood.KINDS:
        hood.feedback(kind, True, True, kind == "people", gain=50 if kind == "people" else 0, cpu=0.1)
    drawn = [hood.pick(values)[0] for _ in range(400)]
    assert drawn.count("people") > 300  # the only kind that gained, apart from 15 % drawn at random
    assert {"days", "block"} <= set(drawn)


def test_a_roster_solve_leaves_ctrl_c_to_python() -> None:
    # CP-SAT's default installs its own SIGINT handler during a solve, and it stays behind: a later
    # Ctrl-C then ended the whole process instead of raising KeyboardInterrupt in Python.
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import signal, sys\n"
        "from core.solver import curtois\n"
        "from core.solver.roster import solve\n"
        f"m = curtois.to_roster_model(curtois.parse_instance({TINY!r}))\n"
        "r = solve(m, time_limit=5, workers=1)\n"
        "assert r.assignment is not None\n"
        "try:\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "except KeyboardInterrupt:\n"
        "    print('python saw it')\n"
        "    sys.exit(0)\n"
        "print('nothing raised')\n"
        "sys.exit(3)\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-2000:])
    assert "python saw it" in done.stdout
