"""The engine agrees with the naive reference (tests/core/rules/naive.py) on random schedules."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_naive import engine_rows, naive_violations
from rules_random import random_snapshot

from core.rules.engine import validate


def assert_agree(snap):
    engine = Counter(engine_rows(validate(snap).violations))
    naive = Counter(naive_violations(snap))
    assert engine == naive, {"engine only": engine - naive, "naive only": naive - engine}


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_engine_agrees_with_naive_reference(seed):
    assert_agree(random_snapshot(seed))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_engine_agrees_with_naive_reference_many(seed):
    assert_agree(random_snapshot(seed))


def test_random_schedules_exercise_the_rules():
    """The random generator is not toothless: together its schedules break every rule it can."""
    seen = Counter()
    for seed in range(15):
        seen.update(v.rule for v in validate(random_snapshot(seed)).violations)
    for rule in ("H80", "H80W", "OFF7", "C24", "R14", "R8", "Q3", "NF", "HC", "SUP", "CAP", "COV", "QUAL",
                 "ABS", "AWAY"):
        assert seen[rule] > 0, (rule, seen)
