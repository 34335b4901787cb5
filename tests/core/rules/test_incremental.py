"""`check_change` equals the difference of two full validations, and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from rules_helpers import SnapBuilder, replace_arrays
from rules_random import random_snapshot

from core.errors import ValidationError
from core.rules.engine import ProposedChange, check_change, validate
from core.snapshot import CALL_CODES


def random_change(snap, rng) -> ProposedChange:
    """One to three random edits: slots (set or clear), calls (set, change hours, clear), absences."""
    assignments, calls, absences = [], [], []
    for _ in range(int(rng.integers(1, 4))):
        p = snap.people[int(rng.integers(snap.n_people))].id
        d = int(rng.integers(snap.n_days))
        day = snap.date_of(d)
        kind = rng.random()
        if kind < 0.6:
            act = None if rng.random() < 0.2 else snap.activities[int(rng.integers(len(snap.activities)))].id
            assignments.append((p, day, int(rng.integers(2)), act))
        elif kind < 0.9:
            ctype = [None, "in_house", "home", "backup"][int(rng.integers(4))]
            hours = None if ctype in (None, "in_house") or rng.random() < 0.3 else float(rng.choice([0.5, 4.0, 9.0]))
            calls.append((p, day, ctype, hours))
        else:
            absences.append((p, day, day + dt.timedelta(days=int(rng.integers(0, 5)))))
    return ProposedChange(tuple(assignments), tuple(calls), tuple(absences))


def apply(snap, change: ProposedChange):
    """The snapshot after the change, made directly on copies of the arrays (the reference)."""
    codes, call, hours = snap.codes.copy(), snap.call.copy(), snap.call_hours.copy()
    absent, away = snap.absent.copy(), snap.away.copy()
    for pid, day, slot, act in change.assignments:
        codes[snap.person_index[pid], 2 * snap.day_of(day) + slot] = -1 if act is None else snap.activity_index[act]
    for pid, day, ctype, h in change.calls:
        p, d = snap.person_index[pid], snap.day_of(day)
        call[p, d] = 0 if ctype is None else CALL_CODES[ctype]
        hours[p, d] = np.nan if ctype is None or h is None else h
    for pid, first, last in change.absences:
        p = snap.person_index[pid]
        d0, d1 = snap.day_of(first), min(snap.n_days - 1, snap.day_of(last))
        absent[p, d0 : d1 + 1] = True
        away[p, d0 : d1 + 1] = True
    return replace_arrays(snap, codes=codes, call=call, call_hours=hours, absent=absent, away=away)


def assert_matches_full(snap, change):
    before = Counter(validate(snap).violations)
    after = Counter(validate(apply(snap, change)).violations)
    got = check_change(snap, change)
    assert Counter(got.added) == after - before
    assert Counter(got.removed) == before - after


def run_random_edits(n_edits: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    snap = None
    for i in range(n_edits):
        if i % 25 == 0:  # a fresh random schedule every 25 edits
            snap = random_snapshot(int(rng.integers(2**32)))
        assert snap is not None
        assert_matches_full(snap, random_change(snap, rng))


def test_incremental_equals_full_revalidation_on_30_random_edits():
    run_random_edits(30, seed=1)


@pytest.mark.slow
def test_incremental_equals_full_revalidation_on_1000_random_edits():
    run_random_edits(1000, seed=2)


def test_check_change_reports_a_new_h80_and_writes_nothing():
    b = SnapBuilder(dt.date(2026, 9, 7), 28)
    lee = b.person("Dr Lee")
    days = [d for d in range(28) if d % 7 != 6]
    b.days(lee, days, "D14")
    b.day(lee, 0, "OFF").day(lee, 1, "OFF")  # 22 worked days = 308 h: a warning only
    snap = b.build()
    assert validate(snap).of_rule("H80") == () and len(validate(snap).of_rule("H80W")) == 1
    codes_before = snap.codes.copy()
    change = ProposedChange(assignments=((snap.people[0].id, dt.date(2026, 9, 7), 0, "act-D14"),
                                         (snap.people[0].id, dt.date(2026, 9, 7), 1, "act-D14")))
    got = check_change(snap, change)
    assert [v.rule for v in got.added] == ["H80"] and [v.rule for v in got.removed] == ["H80W"]
    assert got.added[0].value == 80.5
    assert (snap.codes == codes_before).all()
    # and clearing it again removes the violation
    undo = ProposedChange(assignments=((snap.people[0].id, dt.date(2026, 9, 7), 0, None),))
    after = apply(snap, change)
    assert [v.rule for v in check_change(after, undo).removed] == ["H80"]


def test_check_change_refuses_unknown_people_and_dates_outside():
    snap = SnapBuilder(dt.date(2026, 9, 7), 7).build()
    with pytest.raises(ValidationError):
        check_change(snap, ProposedChange(assignments=(("nobody", dt.date(2026, 9, 7), 0, None),)))
    b = SnapBuilder(dt.date(2026, 9, 7), 7)
    b.person("Dr Lee")
    snap = b.build()
    with pytest.raises(ValidationError):
        check_change(snap, ProposedChange(calls=((snap.people[0].id, dt.date(2026, 10, 1), "in_house", None),)))
