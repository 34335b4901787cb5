"""N1, N2, the head count and availability on hand-built schedules."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from resilience_helpers import Program

from core.resilience import n1, n2
from core.resilience.foundations import availability, foundations
from core.resilience.refill import model_for, refill

MON = dt.date(2026, 7, 6)  # a Monday


def three_person_service() -> Program:
    """Wards needs 1 resident AM and PM for 5 days.

    Ana holds wards Mon-Wed, Ben Thu-Fri; Cy is free all week but holds no OB credential... wards
    is open to all residents, so Cy can cover Ana's days. OB needs 1 on Thu-Fri: only Ben has the
    credential, so when Ben is out nobody can refill OB -- N1 fails for Ben alone.
    """
    prog = Program(MON, 5, codes=["W", "OB", "OFF"])
    ana = prog.person("Ana", pgy=2)
    ben = prog.person("Ben", pgy=2)
    cy = prog.person("Cy", pgy=2)
    prog.credential(ben, "obstetrics")
    prog.put(ana, "W", days=range(0, 5))
    prog.put(ben, "OB", days=range(0, 5))
    prog.need("W", min_count=1, days=range(5))
    prog.need("OB", min_count=1, days=range(5))
    del cy
    return prog


def test_n1_fails_for_exactly_one_person_in_a_three_person_service() -> None:
    snap = three_person_service().snapshot()
    res = n1.run(snap)
    assert res.passes.tolist() == [True, False, True]
    assert res.unfilled.tolist() == [0, 10, 0]
    ana = res.people[0]
    assert ana.needed == 10 and ana.absorbed_by == (("Cy", 10),)
    spof = res.single_points_of_failure
    assert [p.name for p in spof] == ["Ben"]
    assert {u.activity for u in spof[0].unfilled_slots} == {"OB"}
    assert abs(res.pass_ratio - 2 / 3) < 1e-9


def test_refill_catches_what_head_count_misses() -> None:
    """Two people staff each wards slot (minimum two); the only free person is not qualified."""
    prog = Program(MON, 3, codes=["ICU", "OFF"])
    a = prog.person("Ana", pgy=2)
    b = prog.person("Ben", pgy=3)
    prog.person("Ivy", pgy=1)  # free all along, but ICU is for PGY 2-3 only
    prog.put(a, "ICU", days=range(3)).put(b, "ICU", days=range(3))
    prog.need("ICU", min_count=2, days=range(3))
    snap = prog.snapshot()
    res = n1.run(snap)
    assert res.head_count_flags.tolist() == [False, False, False]  # "two people staff it: redundant"
    assert res.passes.tolist() == [False, False, True]  # neither can be replaced by a qualified person
    assert res.unfilled.tolist() == [6, 6, 0]


def test_head_count_false_alarm_cleared_by_refill() -> None:
    """One person staffs the slot alone, but a qualified colleague is free: refill passes."""
    prog = Program(MON, 3, codes=["ICU", "OFF"])
    a = prog.person("Ana", pgy=2)
    prog.person("Ben", pgy=3)  # free and qualified
    prog.put(a, "ICU", days=range(3))
    prog.need("ICU", min_count=1, days=range(3))
    res = n1.run(prog.snapshot())
    assert res.head_count_flags.tolist() == [True, False]
    assert res.passes.tolist() == [True, True]
    assert res.absorb[0, 1] == 6


def test_refill_respects_duty_hours_through_the_engine() -> None:
    """Cy is free on Saturday but has worked 13 h days for 27 days: one more slot breaks H80/OFF7."""
    prog = Program(MON, 28, codes=["W", "OFF"])
    prog.add_activity("D13", am=(7 * 60, 6 * 60), pm=(13 * 60, 7 * 60), category="inpatient")
    ana = prog.person("Ana", pgy=2)
    cy = prog.person("Cy", pgy=2)
    dee = prog.person("Dee", pgy=2)
    prog.put(cy, "D13", days=[d for d in range(28) if d % 7 not in (5, 6)])
    prog.put(cy, "D13", days=[d for d in range(28) if d % 7 == 5 and d < 21])
    prog.put(ana, "W", days=[26], slots=[0])
    prog.need("W", min_count=1, days=[26], slots=[0])
    snap = prog.snapshot()
    f = foundations(snap)
    assert f.free[cy, 52] and f.free[dee, 52]
    m = model_for(snap, 1)
    node = int(np.flatnonzero((m.node_a == prog.index["W"]) & (m.node_s == 52))[0])
    cands = m.candidates_of(node).tolist()
    assert dee in cands
    # Cy already has 22 days of 13 h (286 h) and only 6 days off; the engine refuses the slot
    # exactly when the extra span would break a duty-hour rule.
    from core.rules.engine import ProposedChange, check_change

    added = check_change(snap, ProposedChange(assignments=(
        (snap.people[cy].id, snap.date_of(26), 0, snap.activities[prog.index["W"]].id),)))
    breaks = any(v.rule in {"H80", "OFF7"} and v.severity in {"critical", "high"} for v in added.added)
    assert (cy in cands) == (not breaks)
    assert availability(snap).engine_calls >= 1


def test_one_person_cannot_fill_two_activities_in_the_same_slot() -> None:
    prog = Program(MON, 1, codes=["W", "ICU", "OFF"])
    a = prog.person("Ana", pgy=2)
    b = prog.person("Ben", pgy=2)
    prog.person("Cy", pgy=2)  # the only spare
    prog.put(a, "W", days=[0], slots=[0]).put(b, "ICU", days=[0], slots=[0])
    prog.need("W", min_count=1, days=[0], slots=[0]).need("ICU", min_count=1, days=[0], slots=[0])
    snap = prog.snapshot()
    m = model_for(snap, 2)
    assert refill(m, (a,)).passes and refill(m, (b,)).passes
    pair = refill(m, (a, b))
    assert pair.needed == 2 and pair.unfilled == 1


def test_n2_exhaustive_and_decomposition_is_exact() -> None:
    """Wards needs 2 on day 0 (Ana, Ben); Eve is the only person free that day.

    Any one of Ana, Ben, Eve out: still fine. Two of them out: one wards pair of half-days stays
    empty. Cy's ICU day 1 has plenty of spares, so no pair with Cy is fatal.
    """
    prog = Program(MON, 2, codes=["W", "ICU", "OFF"])
    ana, ben, cy, dee, eve = (prog.person(n, pgy=2) for n in ("Ana", "Ben", "Cy", "Dee", "Eve"))
    prog.put(ana, "W", days=[0]).put(ben, "W", days=[0]).put(cy, "ICU", days=[0, 1])
    prog.put(dee, "ICU", days=[0]).put(dee, "OFF", days=[1])  # a day off can be called in
    prog.need("W", min_count=2, days=[0]).need("ICU", min_count=1, days=[1])
    snap = prog.snapshot()
    res = n2.run(snap)
    assert res.n_pairs == 10
    m = model_for(snap, 2)
    for p in range(5):  # every pair, decomposed or solved, equals a direct solve
        for q in range(p + 1, 5):
            assert res.unfilled[p, q] == refill(m, (p, q)).unfilled, (p, q)
    assert res.n_decomposed + res.n_solved == 10
    assert sorted(res.fatal_pairs()) == [("Ana", "Ben", 2), ("Ana", "Eve", 2), ("Ben", "Eve", 2)]
    assert res.unfilled.diagonal().tolist() == [0, 0, 0, 0, 0]


@pytest.mark.slow  # starting spawned processes takes seconds
def test_n2_in_processes_matches_serial_and_cancels() -> None:
    from resilience_helpers import synthetic_program

    from core.errors import Cancelled
    from core.resilience.common import CACHE

    snap = synthetic_program(14, 6, 14)
    serial = n2.run(snap)
    CACHE.clear()
    parallel = n2.run(snap, n2.Params(parallel_above=0, workers=2, chunk=20))
    assert parallel.processes == 2
    assert np.array_equal(serial.unfilled, parallel.unfilled)
    CACHE.clear()
    with pytest.raises(Cancelled):
        n2.run(snap, n2.Params(parallel_above=0, workers=2, chunk=5), cancelled=lambda: True)
