"""Properties of the rules: time shifts change nothing, more duty never hides a violation."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_helpers import replace_arrays, shifted
from rules_random import random_snapshot

from core.rules.engine import validate
from core.snapshot import CALL_IN_HOUSE

PLAIN_START = dt.date(2026, 9, 7)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_shifting_the_schedule_by_seven_days_changes_no_violation_count(seed):
    snap = random_snapshot(seed, start=PLAIN_START, n_days=45, tz="America/New_York")  # no clock change
    before = Counter((v.rule, v.severity) for v in validate(snap).violations)
    after = Counter((v.rule, v.severity) for v in validate(shifted(snap, 7)).violations)
    assert before == after


def worst(result, rule):
    out: dict[str | None, float] = {}
    for v in result.of_rule(rule):
        out[v.person_id] = max(out.get(v.person_id, 0.0), v.value)
    return out


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_adding_duty_never_removes_an_h80_or_q3_violation(seed, edit_seed):
    snap = random_snapshot(seed, window_mode="rolling")
    rng = np.random.default_rng(edit_seed)
    codes, call = snap.codes.copy(), snap.call.copy()
    ip = snap.activity_index["act-IP"]
    spans = np.array([sum(a.span_minutes) for a in snap.activities] + [0])
    for _ in range(10):  # fill empty or duty-free slots with inpatient work, add in-house calls
        p, s = int(rng.integers(snap.n_people)), int(rng.integers(snap.n_slots))
        if spans[codes[p, s]] == 0:
            codes[p, s] = ip
        p, d = int(rng.integers(snap.n_people)), int(rng.integers(snap.n_days))
        if call[p, d] == 0:
            call[p, d] = CALL_IN_HOUSE
    before, after = validate(snap), validate(replace_arrays(snap, codes=codes, call=call))
    for rule in ("H80", "Q3"):
        b, a = worst(before, rule), worst(after, rule)
        for person, value in b.items():
            assert person in a and a[person] >= value, (rule, person)
