# ruff: noqa: B023  (the helpers are called inside the loop that defines them)
"""A naive reference for the compliance rules: plain Python, per person, per window, per slot,
straight from the text of RULES.md. Slow on purpose; the engine must agree with it.

It shares nothing with the engine but the snapshot's fields: times go through `zoneinfo` aware
datetimes, intervals are merged with a loop, windows are summed one by one.
Returns tuples (rule, severity, person_id, start, end, value, limit) — start/end as the engine
reports them (dates for windows, local naive datetimes for periods).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

from core.snapshot import ScheduleSnapshot

Row = tuple[str, str, str | None, Any, Any, float, float]
UTC = dt.UTC


class _Time:
    def __init__(self, snap: ScheduleSnapshot) -> None:
        self.tz = ZoneInfo(snap.time_zone)
        self.snap = snap
        self.base = self.wall(0, 0)

    def wall(self, d: int, minute: int) -> int:
        """UTC minutes of local wall-clock `minute` after midnight of day d (minute may pass 1440)."""
        day = self.snap.start + dt.timedelta(days=d + minute // 1440)
        m = minute % 1440
        local = dt.datetime(day.year, day.month, day.day, m // 60, m % 60, tzinfo=self.tz)
        return int(local.astimezone(UTC).timestamp() // 60)

    def rel(self, d: int, minute: int) -> int:
        return self.wall(d, minute) - self.base

    def local(self, rel_minutes: int) -> dt.datetime:
        t = dt.datetime.fromtimestamp((self.base + rel_minutes) * 60, tz=UTC)
        return t.astimezone(self.tz).replace(tzinfo=None)


def person_spans(snap: ScheduleSnapshot, p: int, t: _Time) -> list[tuple[int, int, bool]]:
    """(start, end, is_transition) in minutes since local midnight of day 0."""
    r = snap.rules
    spans = []
    for s in range(snap.n_slots):
        a = int(snap.codes[p, s])
        if a < 0:
            continue
        act = snap.activities[a]
        start, length = act.span_start[s % 2], act.span_minutes[s % 2]
        if length > 0:
            spans.append((t.rel(s // 2, start), t.rel(s // 2, start + length), False))
    for d in range(snap.n_days):
        c = int(snap.call[p, d])
        if c == 1:
            s0 = t.rel(d, r.in_house_call_start)
            e0 = t.rel(d, r.in_house_call_start + r.in_house_call_minutes)
            spans.append((s0, e0, False))
            trans = int(round(r.scheduled_transition_hours * 60))
            if trans > 0:
                spans.append((e0, e0 + trans, True))
        elif c in (2, 3):
            h = float(snap.call_hours[p, d])
            if not math.isnan(h) and h > 0:
                s0 = t.rel(d, r.home_call_start)
                spans.append((s0, s0 + int(round(h * 60)), False))
    return spans


def merge(spans: list[tuple[int, int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def overlap(intervals: list[list[int]], a: int, b: int) -> int:
    return sum(max(0, min(e, b) - max(s, a)) for s, e in intervals)


def windows(snap: ScheduleSnapshot) -> list[tuple[int, int]]:
    r = snap.rules
    D = snap.n_days
    if r.window_mode == "block":
        return [(b.start, b.end) for b in snap.blocks if b.start >= 0 and b.end <= D - 1]
    return [(w, w + r.window_days - 1) for w in range(0, D - r.window_days + 1)]


def runs(flags: list[bool]) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < len(flags):
        if flags[i]:
            j = i
            while j + 1 < len(flags) and flags[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def naive_violations(snap: ScheduleSnapshot) -> list[Row]:
    r = snap.rules
    t = _Time(snap)
    D = snap.n_days
    out: list[Row] = []
    wins = windows(snap)
    for p, person in enumerate(snap.people):
        pid = person.id
        if person.kind == "resident":
            spans = person_spans(snap, p, t)
            duty = merge([(s, e) for s, e, _ in spans])
            work = merge([(s, e) for s, e, tr in spans if not tr])
            day_minutes = [overlap(duty, t.rel(d, 0), t.rel(d + 1, 0)) for d in range(D)]
            home = [int(snap.call[p, d]) in (2, 3) for d in range(D)]
            free_spans = [day_minutes[d] == 0 for d in range(D)]
            free_all = [free_spans[d] and not home[d] and not (d > 0 and home[d - 1]) for d in range(D)]

            def window_rule(rule: str, sev: str, breaks: Any, badness: Any, value: Any, limit: Any,
                            skip: Any = None) -> None:
                flags = [breaks(w) for w in wins]
                for a, b in runs(flags):
                    if skip is not None and any(skip(wins[k]) for k in range(a, b + 1)):
                        continue
                    best = a
                    for k in range(a, b + 1):
                        if badness(wins[k]) > badness(wins[best]):
                            best = k
                    w = wins[best]
                    out.append((rule, sev, pid, snap.date_of(w[0]), snap.date_of(w[1]),
                                float(value(w)), float(limit(w))))

            def minutes(w: tuple[int, int]) -> int:
                return sum(day_minutes[w[0] : w[1] + 1])

            def n_days(w: tuple[int, int]) -> int:
                return w[1] - w[0] + 1

            def h80(w: tuple[int, int]) -> bool:
                return minutes(w) * 7 > r.max_hours_per_week * 60 * n_days(w)

            def h80w(w: tuple[int, int]) -> bool:
                return minutes(w) > round(r.warn_fraction * r.max_hours_per_week * 60.0 * n_days(w) / 7.0, 6)

            def per_week(w: tuple[int, int]) -> float:
                return minutes(w) * 7.0 / (60.0 * n_days(w))

            window_rule("H80", "critical", h80, minutes, per_week, lambda w: r.max_hours_per_week)
            window_rule("H80W", "warning", h80w, minutes, per_week,
                        lambda w: r.max_hours_per_week * r.warn_fraction, skip=h80)

            def need(w: tuple[int, int]) -> float:
                return r.min_free_days_per_window * n_days(w) / r.window_days

            def fs(w: tuple[int, int]) -> int:
                return sum(free_spans[w[0] : w[1] + 1])

            def fa(w: tuple[int, int]) -> int:
                return sum(free_all[w[0] : w[1] + 1])

            window_rule("OFF7", "high", lambda w: fs(w) < need(w), lambda w: -fs(w), fs, need)
            window_rule("HC", "high", lambda w: fs(w) >= need(w) and fa(w) < need(w), lambda w: -fa(w), fa, need)

            def calls(w: tuple[int, int]) -> int:
                return sum(1 for d in range(w[0], w[1] + 1) if int(snap.call[p, d]) == 1)

            def max_calls(w: tuple[int, int]) -> float:
                return r.max_in_house_calls_per_window * n_days(w) / r.window_days

            window_rule("Q3", "critical", lambda w: calls(w) > max_calls(w), calls, calls, max_calls)

            # Continuous periods
            hard = (r.max_continuous_hours + r.max_transition_hours) * 60
            soft = r.max_continuous_hours * 60
            for s, e in duty:
                clinical = overlap(work, s, e)
                if e - s > hard:
                    out.append(("C24", "critical", pid, t.local(s), t.local(e), (e - s) / 60.0, hard / 60.0))
                elif clinical > soft:
                    out.append(("C24", "high", pid, t.local(s), t.local(e), clinical / 60.0, soft / 60.0))
            for (s0, e0), (s1, _e1) in zip(duty, duty[1:]):
                rest = s1 - e0
                if e0 - s0 >= soft and rest < r.rest_after_24h_hours * 60:
                    out.append(("R14", "critical", pid, t.local(e0), t.local(s1), rest / 60.0,
                                r.rest_after_24h_hours))
                elif r.break_under_hours * 60 <= rest < r.min_rest_hours * 60:
                    out.append(("R8", "warning", pid, t.local(e0), t.local(s1), rest / 60.0, r.min_rest_hours))

            # NF
            nights = []
            for d in range(D):
                on = False
                for slot in (0, 1):
                    a = int(snap.codes[p, 2 * d + slot])
                    if a >= 0 and snap.activities[a].is_night_float:
                        on = True
                nights.append(on)
            for a, b in runs(nights):
                if b - a + 1 > r.max_consecutive_night_float:
                    out.append(("NF", "high", pid, snap.date_of(a), snap.date_of(b), float(b - a + 1),
                                float(r.max_consecutive_night_float)))

            # AWAY per academic year
            years: dict[int, list[int]] = {}
            for d in range(D):
                day = snap.date_of(d)
                years.setdefault(day.year if day.month >= 7 else day.year - 1, []).append(d)
            for _year, ds in sorted(years.items()):
                n = sum(1 for d in ds if snap.away[p, d])
                if n > r.max_away_days_per_year:
                    out.append(("AWAY", "high", pid, snap.date_of(ds[0]), snap.date_of(ds[-1]), float(n),
                                float(r.max_away_days_per_year)))
                elif n >= r.warn_away_days_per_year:
                    out.append(("AWAY", "warning", pid, snap.date_of(ds[0]), snap.date_of(ds[-1]), float(n),
                                float(r.warn_away_days_per_year)))

        # QUAL: one line per run of slots in the same activity the person may not hold
        def allowed(a: int, d: int) -> bool:
            act = snap.activities[a]
            if person.kind not in act.eligible_kinds:
                return False
            if person.kind == "resident" and act.eligible_pgy and person.pgy not in act.eligible_pgy:
                return False
            if act.required_credential:
                day = snap.date_of(d)
                return any(
                    c.person == p and c.what == act.required_credential
                    and (c.valid_from is None or c.valid_from <= day) and (c.valid_to is None or c.valid_to >= day)
                    for c in snap.credentials
                )
            return True

        s = 0
        while s < snap.n_slots:
            a = int(snap.codes[p, s])
            if a >= 0 and not allowed(a, s // 2):
                e = s
                while e + 1 < snap.n_slots and int(snap.codes[p, e + 1]) == a and not allowed(a, (e + 1) // 2):
                    e += 1
                out.append(("QUAL", "high", pid, snap.date_of(s // 2), snap.date_of(e // 2), float(e - s + 1), 0.0))
                s = e + 1
            else:
                s += 1

        # ABS: duty on a day of approved blocking absence
        bad_days = []
        for d in range(D):
            duty_day = int(snap.call[p, d]) != 0
            for slot in (0, 1):
                a = int(snap.codes[p, 2 * d + slot])
                if a >= 0 and snap.activities[a].span_minutes[slot] > 0:
                    duty_day = True
            bad_days.append(bool(snap.absent[p, d]) and duty_day)
        for a, b in runs(bad_days):
            out.append(("ABS", "critical", pid, snap.date_of(a), snap.date_of(b), float(b - a + 1), 0.0))

    # Slot rules
    for s in range(snap.n_slots):
        day = snap.date_of(s // 2)
        units = 0
        supervisors = 0
        in_clinic = [0] * len(snap.activities)  # each capacity-counting activity is one clinic
        count = [0] * len(snap.activities)
        for p, person in enumerate(snap.people):
            a = int(snap.codes[p, s])
            if a < 0:
                continue
            act = snap.activities[a]
            count[a] += 1
            if act.needs_supervision and person.kind == "resident":
                units += r.sup_units_pgy1 if person.pgy == 1 else r.sup_units_senior
                if act.is_procedure:
                    units += r.sup_units_procedure
            if act.provides_supervision and person.kind == "faculty":
                supervisors += 1
            if act.counts_clinic_capacity and person.kind in ("resident", "faculty"):
                in_clinic[a] += 1
        required = math.ceil(units / r.sup_units_per_supervisor)
        if supervisors < required:
            out.append(("SUP", "critical", None, day, day, float(supervisors), float(required)))
        for n in in_clinic:
            if n > r.max_clinic_physicians_per_slot:
                out.append(("CAP", "high", None, day, day, float(n), float(r.max_clinic_physicians_per_slot)))
        for a in range(len(snap.activities)):
            mn, op, mx = int(snap.req_min[a, s]), int(snap.req_opt[a, s]), int(snap.req_max[a, s])
            if count[a] < mn:
                out.append(("COV", "critical", None, day, day, float(count[a]), float(mn)))
            elif count[a] < op:
                out.append(("COV", "warning", None, day, day, float(count[a]), float(op)))
            elif count[a] > mx:
                out.append(("COV", "high", None, day, day, float(count[a]), float(mx)))
    return out


NAIVE_RULES = ("H80", "H80W", "OFF7", "C24", "R14", "R8", "Q3", "NF", "HC",
               "SUP", "CAP", "COV", "QUAL", "ABS", "AWAY")


def engine_rows(violations: Any) -> list[Row]:
    """The engine's violations in the naive reference's tuple form (rules of RULES.md only)."""
    return [(v.rule, v.severity, v.person_id, v.start, v.end, float(v.value), float(v.limit))
            for v in violations if v.rule in NAIVE_RULES]
