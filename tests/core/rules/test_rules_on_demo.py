"""The demo programs: every deliberate violation is found and nothing else is critical."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from rules_naive import engine_rows, naive_violations

from core.demo import create_demo
from core.rules.engine import validate
from core.snapshot import build_snapshot
from core.store.db import open_database, session_factory


def _day(x: dt.date | dt.datetime) -> dt.date:
    return x.date() if isinstance(x, dt.datetime) else x


def demo_snapshot(tmp_path, size):
    opened = open_database(tmp_path / f"{size}.sqlite")
    summary = create_demo(opened.engine, size=size)
    with session_factory(opened.engine)() as s:
        snap = build_snapshot(s, summary.program_id, summary.start, summary.end)
    opened.engine.dispose()
    return summary, snap


def matches(v, planted) -> bool:
    return (v.rule == planted.rule and v.person_name == planted.person
            and _day(v.start) <= planted.end and _day(v.end) >= planted.start)


@pytest.mark.slow
@pytest.mark.parametrize("size", ["typical", "large"])
def test_demo_deliberate_violations_found_and_nothing_else_critical(tmp_path, size):
    summary, snap = demo_snapshot(tmp_path, size)
    result = validate(snap)
    for planted in summary.deliberate:
        assert any(matches(v, planted) for v in result.violations), planted
    for v in result.violations:
        if v.severity == "critical":
            assert any(matches(v, planted) for planted in summary.deliberate), v.message


@pytest.mark.slow
def test_engine_agrees_with_naive_reference_on_the_typical_demo(tmp_path):
    _, snap = demo_snapshot(tmp_path, "typical")
    assert Counter(engine_rows(validate(snap).violations)) == Counter(naive_violations(snap))
