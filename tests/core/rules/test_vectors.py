"""The nine test vectors of RULES.md, each asserting rule id, severity and the measured number."""

from __future__ import annotations

import datetime as dt

import pytest
from rules_helpers import H, SnapBuilder

from core.rules.engine import validate
from core.rules.ruleset import RuleValues

MON = dt.date(2026, 9, 7)  # a Monday, far from daylight-saving changes and from July 1


def only(result, rule):
    found = result.of_rule(rule)
    assert len(found) == 1, [v.message for v in result.violations]
    return found[0]


def six_on_one_off(code: str) -> SnapBuilder:
    b = SnapBuilder(MON, 28)
    lee = b.person("Dr Lee")
    b.days(lee, [d for d in range(28) if d % 7 != 6], code)
    return b


def test_vector_1_84_hours_a_week_breaks_h80_and_keeps_off7():
    r = validate(six_on_one_off("D14").build())
    v = only(r, "H80")
    assert (v.severity, v.value, v.limit) == ("critical", 84.0, 80.0)
    assert v.message == "Dr Lee: 84.0 h/week averaged over Sep 7 - Oct 4 (limit 80)"
    assert r.of_rule("OFF7") == ()
    assert r.of_rule("H80W") == ()  # the H80 line already says it


def test_vector_2_78_hours_a_week_warns():
    r = validate(six_on_one_off("D13").build())
    assert r.of_rule("H80") == ()
    v = only(r, "H80W")
    assert (v.severity, v.value) == ("warning", 78.0)
    assert v.limit == pytest.approx(76.0)


def test_vector_3_call_with_transition_then_duty_10_hours_later():
    b = SnapBuilder(MON, 7)
    p = b.person("Dr Park")
    b.call(p, 0, "in_house")  # Mon 07:00 -> Tue 07:00, + 2 h transition to 09:00
    b.assign(p, 1, 1, "NF")  # Tue 19:00
    r = validate(b.build())
    v = only(r, "R14")
    assert (v.severity, v.value, v.limit) == ("critical", 10.0, 14.0)
    assert v.start == dt.datetime(2026, 9, 8, 9, 0) and v.end == dt.datetime(2026, 9, 8, 19, 0)
    assert r.of_rule("R8") == ()


@pytest.mark.parametrize(("start_hour", "rest"), [(20, 13.0), (21, None)])
def test_vector_4_rest_after_call_without_transition(start_hour, rest):
    b = SnapBuilder(MON, 7, rules=RuleValues(scheduled_transition_hours=0.0))
    b.activity("LATE", pm=(start_hour * H, 6 * H), category="inpatient")
    p = b.person("Dr Park")
    b.call(p, 0, "in_house")
    b.assign(p, 1, 1, "LATE")
    r = validate(b.build())
    if rest is None:
        assert r.of_rule("R14") == ()
    else:
        v = only(r, "R14")
        assert (v.severity, v.value) == ("critical", rest)
    assert r.of_rule("C24") == ()  # exactly 24 h of call passes


def test_vector_5_seven_night_float_nights():
    b = SnapBuilder(MON, 14)
    p = b.person("Dr Nguyen")
    for d in range(7):
        b.assign(p, d, 1, "NF")
    v = only(validate(b.build()), "NF")
    assert (v.severity, v.value, v.limit) == ("high", 7.0, 6.0)
    assert (v.start, v.end) == (MON, MON + dt.timedelta(days=6))


def test_vector_6_supervision_shortfall():
    b = SnapBuilder(MON, 1)
    for i in range(3):
        b.assign(b.person(f"Intern {i}", pgy=1), 0, 0, "C")
    for i in range(2):
        b.assign(b.person(f"Senior {i}", pgy=2), 0, 0, "C")
    b.assign(b.person("Dr Faculty", "faculty"), 0, 0, "AT")
    v = only(validate(b.build()), "SUP")
    assert (v.severity, v.value, v.limit) == ("critical", 1.0, 2.0)
    assert (v.day, v.slot, v.person_id) == (MON, 0, None)
    assert "8 supervision units" in v.message


def test_vector_7_merged_spans_make_29_hours():
    b = SnapBuilder(MON, 7)
    b.activity("DAY12", am=(7 * H, 12 * H), category="inpatient")  # 07:00-19:00 in the AM slot
    p = b.person("Dr Diaz")
    b.assign(p, 0, 0, "DAY12").assign(p, 0, 1, "NF").assign(p, 1, 0, "C7")
    v = only(validate(b.build()), "C24")
    assert (v.severity, v.value, v.limit) == ("critical", 29.0, 28.0)
    assert v.start == dt.datetime(2026, 9, 7, 7, 0) and v.end == dt.datetime(2026, 9, 8, 12, 0)


def test_vector_8_seven_on_one_off_passes_h80_breaks_off7():
    b = SnapBuilder(MON, 28)
    p = b.person("Dr Lee")
    b.days(p, [d for d in range(28) if d % 8 != 7], "D12")
    r = validate(b.build())
    assert r.of_rule("H80") == () and r.of_rule("H80W") == ()
    v = only(r, "OFF7")
    assert (v.severity, v.value, v.limit) == ("high", 3.0, 4.0)


@pytest.mark.parametrize(("first", "n_calls", "breaks"), [(0, 10, True), (2, 9, False)])
def test_vector_9_every_third_night(first, n_calls, breaks):
    b = SnapBuilder(MON, 28)
    p = b.person("Dr Ray")
    days = list(range(first, 28, 3))
    assert len(days) == n_calls
    for d in days:
        b.call(p, d, "in_house")
    r = validate(b.build())
    if breaks:
        v = only(r, "Q3")
        assert (v.severity, v.value, v.limit) == ("critical", 10.0, 9.0)
    else:
        assert r.of_rule("Q3") == ()
