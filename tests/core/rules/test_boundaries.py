"""Every rule at its limit (passes) and one minute, one call, one person or one day over (fails)."""

from __future__ import annotations

import datetime as dt

import pytest
from rules_helpers import H, SnapBuilder

from core.rules.duty import duty_intervals
from core.rules.engine import validate
from core.rules.ruleset import RuleValues

MON = dt.date(2026, 9, 7)


def rules_of(snap, rule):
    return validate(snap).of_rule(rule)


def long_days(n_days: int, extra_minutes: int = 0) -> SnapBuilder:
    """n days of 16 h (06:00-22:00) in a 28-day window; the first day `extra_minutes` longer."""
    b = SnapBuilder(MON, 28)
    b.activity("L16", am=(6 * H, 7 * H), pm=(13 * H, 9 * H), category="inpatient")
    b.activity("L16+", am=(6 * H, 7 * H), pm=(13 * H, 9 * H + extra_minutes), category="inpatient")
    p = b.person("Dr Lee")
    days = [d for d in range(28) if d % 7 not in (3, 6)][:n_days]
    for d in days:
        b.day(p, d, "L16")
    b.day(p, days[0], "L16+")
    return b


@pytest.mark.parametrize(("extra", "breaks"), [(0, False), (1, True)])
def test_h80_at_320_hours_passes_one_minute_more_fails(extra, breaks):
    snap = long_days(20, extra).build()  # 20 x 16 h = 320 h
    found = rules_of(snap, "H80")
    assert bool(found) is breaks
    if breaks:
        assert found[0].value == pytest.approx((320 * 60 + 1) * 7 / (28 * 60))


@pytest.mark.parametrize(("extra", "warns"), [(0, False), (1, True)])
def test_h80w_at_304_hours_passes_one_minute_more_warns(extra, warns):
    snap = long_days(19, extra).build()  # 19 x 16 h = 304 h
    assert bool(rules_of(snap, "H80W")) is warns
    assert rules_of(snap, "H80") == ()


@pytest.mark.parametrize(("free", "breaks"), [(4, False), (3, True)])
def test_off7_four_free_days_pass_three_fail(free, breaks):
    b = SnapBuilder(MON, 28)
    p = b.person("Dr Lee")
    b.days(p, range(28 - free), "C")
    found = rules_of(b.build(), "OFF7")
    assert bool(found) is breaks
    if breaks:
        assert (found[0].severity, found[0].value) == ("high", 3.0)


def test_hc_home_call_spoils_a_counted_free_day():
    b = SnapBuilder(MON, 28)
    p = b.person("Dr Lee")
    b.days(p, range(24), "C")  # 4 free days: 24..27
    snap = b.build()
    assert rules_of(snap, "OFF7") == () and rules_of(snap, "HC") == ()
    b.call(p, 25, "home")  # the night of day 25 touches days 25 and 26
    found = validate(b.build())
    assert found.of_rule("OFF7") == ()
    hc = found.of_rule("HC")
    assert len(hc) == 1 and (hc[0].severity, hc[0].value, hc[0].limit) == ("high", 2.0, 4.0)


def c24_snapshot(transition_h: float, extra_minutes: int) -> SnapBuilder:
    b = SnapBuilder(MON, 7, rules=RuleValues(scheduled_transition_hours=transition_h))
    b.activity("EXTRA", am=(7 * H + int(transition_h * H), extra_minutes), category="inpatient")
    p = b.person("Dr Park")
    b.call(p, 0, "in_house")
    if extra_minutes:
        b.assign(p, 1, 0, "EXTRA")  # starts where the transition ends
    return b


def test_c24_exactly_24_plus_4_passes_one_minute_more_is_critical():
    assert rules_of(c24_snapshot(4.0, 0).build(), "C24") == ()
    found = rules_of(c24_snapshot(4.0, 1).build(), "C24")
    assert len(found) == 1 and found[0].severity == "critical"
    assert found[0].value == pytest.approx(28 + 1 / 60)


def test_c24_more_than_24_hours_without_transition_is_high():
    assert rules_of(c24_snapshot(0.0, 0).build(), "C24") == ()
    found = rules_of(c24_snapshot(0.0, 1).build(), "C24")
    assert len(found) == 1 and found[0].severity == "high"
    assert found[0].value == pytest.approx(24 + 1 / 60)


@pytest.mark.parametrize(("start_minute", "breaks"), [(21 * H, False), (21 * H - 1, True)])
def test_r14_fourteen_hours_after_call_pass_one_minute_less_fails(start_minute, breaks):
    b = SnapBuilder(MON, 7, rules=RuleValues(scheduled_transition_hours=0.0))
    b.activity("LATE", pm=(start_minute, 4 * H), category="inpatient")
    p = b.person("Dr Park")
    b.call(p, 0, "in_house")
    b.assign(p, 1, 1, "LATE")
    assert bool(rules_of(b.build(), "R14")) is breaks


@pytest.mark.parametrize(("gap_minutes", "warns"), [(8 * H, False), (8 * H - 1, True), (2 * H, True),
                                                    (2 * H - 1, False)])
def test_r8_eight_hours_between_periods(gap_minutes, warns):
    b = SnapBuilder(MON, 3)
    b.activity("NIGHT", pm=(19 * H, 12 * H), category="night")  # 19:00 -> 07:00
    b.activity("NEXT", am=(7 * H + gap_minutes, 2 * H), category="inpatient")
    p = b.person("Dr Park")
    b.assign(p, 0, 1, "NIGHT").assign(p, 1, 0, "NEXT")
    found = rules_of(b.build(), "R8")
    assert bool(found) is warns
    if warns:
        assert found[0].value == pytest.approx(gap_minutes / 60)


def test_r8_is_quiet_across_the_clinic_lunch_hour():
    b = SnapBuilder(MON, 7)
    p = b.person("Dr Lee")
    b.days(p, range(5), "C")
    assert rules_of(b.build(), "R8") == ()


@pytest.mark.parametrize(("nights", "breaks"), [(6, False), (7, True)])
def test_nf_six_nights_pass_seven_fail(nights, breaks):
    b = SnapBuilder(MON, 14)
    p = b.person("Dr Nguyen")
    for d in range(nights):
        b.assign(p, d, 1, "NF")
    assert bool(rules_of(b.build(), "NF")) is breaks


@pytest.mark.parametrize(("calls", "breaks"), [(9, False), (10, True)])
def test_q3_nine_calls_pass_ten_fail(calls, breaks):
    b = SnapBuilder(MON, 28)
    p = b.person("Dr Ray")
    for d in range(0, 2 * calls, 2)[:calls]:
        b.call(p, d, "in_house")
    found = rules_of(b.build(), "Q3")
    assert bool(found) is breaks


@pytest.mark.parametrize(("interns", "breaks"), [(2, False), (3, True)])
def test_sup_four_units_per_supervisor(interns, breaks):
    b = SnapBuilder(MON, 1)
    for i in range(interns):
        b.assign(b.person(f"Intern {i}", pgy=1), 0, 1, "C")
    b.assign(b.person("Dr Faculty", "faculty"), 0, 1, "AT")
    assert bool(rules_of(b.build(), "SUP")) is breaks


def test_sup_procedure_adds_four_units():
    b = SnapBuilder(MON, 1)
    p = b.person("Senior", pgy=3)
    b.credential(p, "procedures")
    b.assign(p, 0, 0, "PROC")  # 1 + 4 = 5 units -> 2 supervisors
    b.assign(b.person("Dr Faculty", "faculty"), 0, 0, "AT")
    found = rules_of(b.build(), "SUP")
    assert len(found) == 1 and (found[0].value, found[0].limit) == (1.0, 2.0)


@pytest.mark.parametrize(("people", "breaks"), [(6, False), (7, True)])
def test_cap_six_physicians_per_clinic_slot(people, breaks):
    b = SnapBuilder(MON, 1)
    for i in range(people):
        b.assign(b.person(f"Senior {i}", pgy=3), 0, 0, "C")
    for i in range(2):
        b.assign(b.person(f"Faculty {i}", "faculty"), 0, 0, "AT")  # AT does not take a room
    found = rules_of(b.build(), "CAP")
    assert bool(found) is breaks


@pytest.mark.parametrize(("count", "severity"), [(0, "critical"), (1, "warning"), (2, None), (3, None),
                                                 (4, "high")])
def test_cov_min_optimum_max(count, severity):
    b = SnapBuilder(MON, 1)
    for i in range(count):
        b.assign(b.person(f"R{i}", pgy=2), 0, 0, "IP")
    b.require("IP", 0, 0, 1, 2, 3)
    found = rules_of(b.build(), "COV")
    assert [v.severity for v in found] == ([severity] if severity else [])


def test_qual_pgy_and_credential_dates():
    b = SnapBuilder(MON, 7)
    intern = b.person("Intern", pgy=1)
    senior = b.person("Senior", pgy=2)
    b.days(intern, range(2), "ICU")  # ICU is for PGY 2-3
    b.days(senior, range(2), "ICU")
    b.credential(senior, "procedures", valid_to=MON + dt.timedelta(days=3))
    b.days(senior, range(3, 5), "PROC")  # day 3 valid, day 4 not
    found = rules_of(b.build(), "QUAL")
    assert [(v.person_name, v.activity_code, v.start, v.value) for v in found] == [
        ("Intern", "ICU", MON, 4.0),
        ("Senior", "PROC", MON + dt.timedelta(days=4), 2.0),
    ]


def test_abs_duty_during_an_approved_absence():
    b = SnapBuilder(MON, 7)
    p = b.person("Dr Lee")
    b.absence(p, 2, 4)
    b.days(p, range(2, 5), "LV")  # leave: no duty span
    assert rules_of(b.build(), "ABS") == ()
    b.day(p, 3, "C")
    b.call(p, 4, "home")
    found = rules_of(b.build(), "ABS")
    assert len(found) == 1 and (found[0].severity, found[0].value) == ("critical", 2.0)
    b2 = SnapBuilder(MON, 7)
    q = b2.person("Dr Lee")
    b2.absence(q, 2, 4, blocking=False)
    b2.day(q, 3, "C")
    assert rules_of(b2.build(), "ABS") == ()


@pytest.mark.parametrize(("days", "severity"), [(20, None), (21, "warning"), (28, "warning"), (29, "high")])
def test_away_28_days_a_year_warning_at_21(days, severity):
    b = SnapBuilder(MON, 60)
    p = b.person("Dr Lee")
    b.absence(p, 0, days - 1)
    found = rules_of(b.build(), "AWAY")
    assert [v.severity for v in found] == ([severity] if severity else [])


def test_worst_window_per_run_not_one_line_per_window():
    b = SnapBuilder(MON, 56)
    p = b.person("Dr Lee")
    for d in range(56):
        if d % 7 != 6:
            b.day(p, d, "D14" if d != 19 else "D12")
    found = rules_of(b.build(), "H80")
    assert len(found) == 1  # every window breaks: one run, one line
    assert found[0].value == 84.0  # the worst window (the first without the shorter day 19)
    assert found[0].start == MON + dt.timedelta(days=20)


# ---------------------------------------------------------------------------- daylight saving
def test_24h_call_across_the_november_change_lasts_25_hours():
    sat = dt.date(2026, 10, 31)  # clocks go back at 02:00 on Sunday Nov 1, 2026 (New York)
    b = SnapBuilder(dt.date(2026, 10, 26), 14, rules=RuleValues(scheduled_transition_hours=0.0))
    p = b.person("Dr Park")
    b.call(p, (sat - dt.date(2026, 10, 26)).days, "in_house")
    snap = b.build()
    (s, e), = duty_intervals(snap).for_person(0)
    assert e - s == 25 * 60
    v = rules_of(snap, "C24")
    assert len(v) == 1 and (v[0].severity, v[0].value) == ("high", 25.0)
    assert v[0].start == dt.datetime(2026, 10, 31, 7, 0) and v[0].end == dt.datetime(2026, 11, 1, 7, 0)


def test_24h_call_across_the_march_change_lasts_23_hours():
    b = SnapBuilder(dt.date(2027, 3, 8), 14)
    p = b.person("Dr Park")
    b.call(p, 5, "in_house")  # Sat Mar 13 -> Sun Mar 14, clocks go forward
    (s, e), = duty_intervals(b.build()).for_person(0)
    assert e - s == 23 * 60 + 2 * 60  # 23 h call + 2 h transition


def test_block_windows_agree_with_rolling_on_a_28_day_block():
    for mode in ("rolling", "block"):
        b = SnapBuilder(MON, 28, rules=RuleValues(window_mode=mode))
        b.block(1, 0, 27)
        p = b.person("Dr Lee")
        b.days(p, [d for d in range(28) if d % 8 != 7], "D14")
        r = validate(b.build())
        assert {(v.rule, v.value) for v in r.violations} == {("H80", 87.5), ("OFF7", 3.0)}
