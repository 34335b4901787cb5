"""The DP pricer finds exactly what the one-person CP-SAT model finds: the same least reduced cost on random
prices, with a pattern that keeps every rule of the person and costs what the CP-SAT model says it costs."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from curtois_fixtures import TINY, bench_file
from ortools.sat.python import cp_model

from core.solver import curtois
from core.solver.pricing import pattern_dp
from core.solver.roster import (
    CoverRequirement,
    FixedAssignment,
    MinutesWindow,
    Person,
    RosterModel,
    ShiftRequest,
    ShiftType,
    _Built,
    one_person_model,
)


def _cover_index(model: RosterModel) -> dict[tuple[int, str], int]:
    return {(c.day, c.shift): k for k, c in enumerate(model.cover)}


def _cp_least(model: RosterModel, pi: int, duals: list[int]) -> int | None:
    """The least (own cost - prices of the cover cells worked) by CP-SAT, None if no pattern exists."""
    cover_index = _cover_index(model)
    built = _Built(one_person_model(model, model.people[pi]), symmetry_breaking=False)
    cp = built.cp.clone()
    cp.clear_objective()
    obj = cp.proto.objective
    obj.vars.append(built.obj_index)
    obj.coeffs.append(1)
    for d, cell in enumerate(built.x[0]):
        for i, v in cell.items():
            k = cover_index.get((d, built.shift_ids[i]))
            if k is not None and duals[k]:
                obj.vars.append(v.index)
                obj.coeffs.append(-duals[k])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 60
    status = solver.solve(cp)
    if status == cp_model.INFEASIBLE:
        return None
    assert status == cp_model.OPTIMAL
    return round(solver.objective_value)


def _cp_cost_of(model: RosterModel, pi: int, row: tuple[str | None, ...]) -> int | None:
    """The row's own cost in the one-person CP-SAT model with every cell fixed; None if it breaks a rule."""
    built = _Built(one_person_model(model, model.people[pi]), symmetry_breaking=False)
    cp = built.cp.clone()
    for d, cell in enumerate(built.x[0]):
        if row[d] is not None and all(built.shift_ids[i] != row[d] for i in cell):
            return None  # the shift is not even a choice that day
        for i, v in cell.items():
            value = 1 if built.shift_ids[i] == row[d] else 0
            domain = cp.proto.variables[v.index].domain
            domain[0] = value
            domain[1] = value
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = solver.solve(cp)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return round(solver.value(built.obj))


def _check(model: RosterModel, pi: int, duals: list[int]) -> None:
    dp = pattern_dp(model, pi, _cover_index(model), max_states=10**9)
    assert dp is not None
    found = dp.price([float(x) for x in duals], count=3)
    least = _cp_least(model, pi, duals)
    if least is None:
        assert found == []
        return
    assert found, "the DP found no pattern where CP-SAT found one"
    assert found[0].reduced == pytest.approx(least, abs=1e-6)
    assert [p.reduced for p in found] == sorted(p.reduced for p in found)
    assert len({p.row for p in found}) == len(found)  # other end states: other patterns
    for p in found:
        assert _cp_cost_of(model, pi, p.row) == p.cost  # keeps every rule; its cost is the model's
        worked = sum(duals[k] for k in dp.cells(p.row))
        assert p.reduced == pytest.approx(p.cost - worked, abs=1e-6)


@pytest.mark.parametrize("n", [1, 3, 5, 8, 12])
def test_matches_cp_sat_on_benchmark_people(n: int) -> None:
    model = curtois.to_roster_model(curtois.read_instance(bench_file(n)))
    rng = random.Random(n)
    people = rng.sample(range(len(model.people)), min(3, len(model.people)))
    for pi in people:
        for _ in range(2):
            top = rng.choice([5, 40, 200])  # cheap prices: requests decide; dear ones: work as much as allowed
            _check(model, pi, [rng.randint(0, top) for _ in model.cover])


def _random_model(rng: random.Random) -> RosterModel:
    H = rng.choice([7, 10, 14])
    shifts = (ShiftType("E", 480), ShiftType("L", 480), ShiftType("N", 600), ShiftType("S", 240))
    ids = [s.id for s in shifts]
    forbidden = tuple(p for p in [("N", "E"), ("N", "L"), ("L", "E"), ("N", "S")] if rng.random() < 0.6)
    kmin = rng.choice([None, 1, 2, 3])
    cmax = rng.choice([None, 3, 4, 5, 20])
    koff = rng.choice([None, 1, 2, 3])
    person = Person(
        "A",
        eligible=frozenset(rng.sample(ids, rng.randint(2, 4))) if rng.random() < 0.5 else None,
        max_shifts={s: rng.choice([0, 1, 2, 3, H]) for s in rng.sample(ids, 2)},
        min_total_minutes=rng.choice([None, 0, 960, 1920, 2880]),
        max_total_minutes=rng.choice([None, 2400, 3600, 4800, 9999]),
        max_consecutive_work=cmax,
        min_consecutive_work=kmin,
        min_consecutive_off=koff,
        max_weekends=rng.choice([None, 0, 1, 2]),
        unavailable=frozenset(d for d in range(H) if rng.random() < 0.1),
    )
    fixed = tuple(FixedAssignment("A", d, rng.choice([None, *ids])) for d in range(H)
                  if d not in person.unavailable and rng.random() < 0.08)
    requests = tuple(ShiftRequest("A", rng.randrange(H), rng.choice([None, *ids]), rng.randint(1, 9),
                                  on=rng.random() < 0.5) for _ in range(rng.randint(0, 6)))
    cover = tuple(CoverRequirement(d, s, optimum=1, under_weight=1) for d in range(H) for s in ids)
    return RosterModel(horizon=H, shift_types=shifts, people=(person,), cover=cover, forbidden_successions=forbidden,
                       fixed=fixed, requests=requests, first_weekday=rng.randrange(7),
                       boundary_runs_exempt=rng.random() < 0.5)


@pytest.mark.parametrize("seed", range(60))
def test_matches_cp_sat_on_random_rules(seed: int) -> None:
    rng = random.Random(seed)
    model = _random_model(rng)
    for _ in range(3):
        top = rng.choice([3, 30, 300])
        _check(model, 0, [rng.randint(-top // 3, top) for _ in model.cover])


def test_tiny_instance_people() -> None:
    model = curtois.to_roster_model(curtois.parse_instance(TINY))
    rng = random.Random(7)
    for pi in range(len(model.people)):
        for _ in range(3):
            _check(model, pi, [rng.randint(0, 50) for _ in model.cover])


def test_no_dp_for_rules_it_does_not_model() -> None:
    model = curtois.to_roster_model(curtois.parse_instance(TINY))
    assert pattern_dp(model, 0, _cover_index(model)) is not None
    with_window = replace(model, windows=(MinutesWindow(None, 0, 3, max_minutes=960),))
    assert pattern_dp(with_window, 0, _cover_index(model)) is None
    history = replace(model, people=(replace(model.people[0], history_work_days=2), *model.people[1:]))
    assert pattern_dp(history, 0, _cover_index(model)) is None
    assert pattern_dp(history, 1, _cover_index(model)) is not None


def test_no_dp_where_its_state_space_is_large() -> None:
    model = curtois.to_roster_model(curtois.parse_instance(TINY))
    dp = pattern_dp(model, 0, _cover_index(model))
    assert dp is not None and dp.states > 1
    assert pattern_dp(model, 0, _cover_index(model), max_states=dp.states) is not None
    assert pattern_dp(model, 0, _cover_index(model), max_states=dp.states - 1) is None


def test_a_person_with_no_shift_to_work() -> None:
    """Nobody to price but the days off: the all-off pattern, or none when the minimum cannot be met."""
    cover = tuple(CoverRequirement(d, "D", optimum=1, under_weight=1) for d in range(7))
    shifts = (ShiftType("D", 480),)
    nothing = Person("A", eligible=frozenset(), min_consecutive_off=2, min_consecutive_work=2)
    model = RosterModel(horizon=7, shift_types=shifts, people=(nothing,), cover=cover,
                        requests=(ShiftRequest("A", 3, None, 4, on=True),))
    _check(model, 0, [5] * 7)
    dp = pattern_dp(model, 0, _cover_index(model))
    assert dp is not None and [(p.row, p.cost) for p in dp.price([5.0] * 7)] == [((None,) * 7, 4)]
    away = Person("A", unavailable=frozenset(range(7)), min_total_minutes=480)
    model = RosterModel(horizon=7, shift_types=shifts, people=(away,), cover=cover)
    _check(model, 0, [5] * 7)  # no pattern at all, for either
