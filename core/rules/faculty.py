"""Faculty load and the faculty rules of RULES.md.

Faculty are not under the resident duty-hour rules; the engine reports their load instead:
clinic half-days per week against each person's cap, call nights, inpatient weeks, and the program's
faculty rules (warnings):
- FPC: the morning after a call night is free of duty (`faculty_postcall_morning_off`);
- FSUN: no call on the first Sunday after an inpatient week
  (`faculty_no_call_sunday_after_inpatient_week`);
- FB2B: no two inpatient weeks in a row (`faculty_no_back_to_back_inpatient_weeks`);
- FCAP: clinic half-days in a calendar week (Monday-Sunday) above the person's cap.

Inpatient weeks are counted on a grid of 7-day weeks starting on `faculty_week_start_weekday`;
a grid week with at least `faculty_inpatient_week_min_days` days of inpatient activity is one, so a
Friday-Thursday service week counts once on a Monday grid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.rules.duty import I64, RuleContext, rule_context
from core.snapshot import ScheduleSnapshot

SUNDAY = 6


def _d(day: dt.date) -> str:
    from core.rules.engine import _d as fmt

    return fmt(day)


def _clinic_mask(snap: ScheduleSnapshot) -> Any:
    """[A + 1]: activities that are a clinic half-day for faculty (seeing or supervising clinic)."""
    return np.array(
        [a.counts_clinic_capacity or a.provides_supervision or a.category == "clinic" for a in snap.activities]
        + [False],
        dtype=bool,
    )


def _week_grid(snap: ScheduleSnapshot, weekday: int) -> tuple[Any, int]:
    """Week number of every day on a grid of weeks starting on `weekday`, and the number of weeks."""
    D = snap.n_days
    shift = (snap.start.weekday() - weekday) % 7
    week = (np.arange(D) + shift) // 7
    return week, int(week[-1]) + 1 if D else 0


def _inpatient_weeks(snap: ScheduleSnapshot, ctx: RuleContext, codes: Any) -> tuple[Any, Any, int]:
    """([n, W] inpatient week flags, [n, D] inpatient day flags, W)."""
    rules = snap.rules
    inpt = ctx.inpatient[codes[:, 0::2]] | ctx.inpatient[codes[:, 1::2]]
    week, W = _week_grid(snap, rules.faculty_week_start_weekday)
    if W == 0:
        return np.zeros((codes.shape[0], 0), dtype=bool), inpt, W
    per_week = np.add.reduceat(inpt.astype(np.int64), _week_firsts(week), axis=1)
    return per_week >= rules.faculty_inpatient_week_min_days, inpt, W


def _week_firsts(week: Any) -> Any:
    """Index of the first day of every week (weeks are runs of consecutive days)."""
    return np.flatnonzero(np.r_[True, week[1:] != week[:-1]])


def faculty_violations(snap: ScheduleSnapshot, ctx: RuleContext, rows: I64, codes: Any, call: Any) -> list[Any]:
    from core.rules.engine import Violation

    rules = snap.rules
    out: list[Violation] = []
    D = snap.n_days
    if D == 0:
        return out
    # FPC: any call night on day d -> no duty span in the AM slot of day d + 1.
    if rules.faculty_postcall_morning_off and D > 1:
        am_duty = ctx.has_span[codes[:, 2::2], 0]
        bad = (call[:, :-1] != 0) & am_duty
        for i, d in zip(*np.nonzero(bad)):
            person = snap.people[int(rows[i])]
            night, morning = snap.date_of(int(d)), snap.date_of(int(d) + 1)
            act = snap.activities[int(codes[i, 2 * (int(d) + 1)])]
            msg = f"{person.name}: {act.code} on the morning of {_d(morning)} after call on {_d(night)}"
            out.append(Violation("FPC", "warning", person.id, person.name, night, morning, 1.0, 0.0, msg))
    week_flags, inpt, W = _inpatient_weeks(snap, ctx, codes)
    week, _ = _week_grid(snap, rules.faculty_week_start_weekday)
    if rules.faculty_no_back_to_back_inpatient_weeks and W > 1:
        from core.rules.engine import _runs

        r, c0, c1 = _runs(week_flags)
        for i, a, b in zip(r.tolist(), c0.tolist(), c1.tolist()):
            if b - a + 1 < 2:
                continue
            person = snap.people[int(rows[i])]
            days_in = np.flatnonzero((week >= a) & (week <= b))
            first, last = snap.date_of(int(days_in[0])), snap.date_of(int(days_in[-1]))
            n = b - a + 1
            msg = f"{person.name}: {n} inpatient weeks in a row, {_d(first)} - {_d(last)} (limit 1)"
            out.append(Violation("FB2B", "warning", person.id, person.name, first, last, float(n), 1.0, msg))
    if rules.faculty_no_call_sunday_after_inpatient_week and W:
        # Last inpatient day of every grid week (weeks are runs of consecutive days), then the first
        # Sunday after it.
        day_idx = np.where(inpt, np.arange(D)[None, :], -1)
        week_first = np.flatnonzero(np.r_[True, week[1:] != week[:-1]])
        last_ip = np.maximum.reduceat(day_idx, week_first, axis=1)  # [n, W]
        weekday = (snap.start.weekday() + last_ip) % 7
        step = (SUNDAY - weekday) % 7
        sunday = last_ip + np.where(step == 0, 7, step)
        ok = week_flags & (sunday < D)
        rr, ww = np.nonzero(ok)
        sd = sunday[rr, ww]
        hit = call[rr, sd] != 0
        for i, d_sun, d_last in zip(rr[hit].tolist(), sd[hit].tolist(), last_ip[rr, ww][hit].tolist()):
            person = snap.people[int(rows[i])]
            day = snap.date_of(d_sun)
            msg = (f"{person.name}: on call on Sunday {_d(day)}, right after an inpatient week "
                   f"ending {_d(snap.date_of(d_last))}")
            out.append(Violation("FSUN", "warning", person.id, person.name, day, day, 1.0, 0.0, msg))
    # FCAP: clinic half-days per calendar week above the cap.
    caps = np.array([snap.people[int(p)].clinic_cap_per_week for p in rows.tolist()], dtype=object)
    has_cap = np.array([c is not None for c in caps], dtype=bool)
    if has_cap.any():
        clinic = _clinic_mask(snap)[codes]
        cweek, CW = _week_grid(snap, 0)
        per = np.add.reduceat(clinic.astype(np.int64), 2 * _week_firsts(cweek), axis=1)
        cap_arr = np.array([c if c is not None else 10**6 for c in caps], dtype=np.int64)
        week_start = np.flatnonzero(np.r_[True, cweek[1:] != cweek[:-1]])
        week_end = np.r_[week_start[1:] - 1, D - 1]
        for i, w in zip(*np.nonzero(per > cap_arr[:, None])):
            person = snap.people[int(rows[i])]
            first, last_day = snap.date_of(int(week_start[w])), snap.date_of(int(week_end[w]))
            n = int(per[i, w])
            cap = int(cap_arr[i])
            msg = f"{person.name}: {n} clinic half-days in the week {_d(first)} - {_d(last_day)} (cap {cap})"
            out.append(Violation("FCAP", "warning", person.id, person.name, first, last_day, float(n), float(cap),
                                 msg))
    return out


@dataclass(frozen=True)
class FacultyLoad:
    person_id: str
    name: str
    role: str | None
    clinic_cap_per_week: int | None
    clinic_half_days: int
    clinic_half_days_by_week: tuple[int, ...]  # Monday-Sunday weeks of the snapshot
    weeks_over_cap: int
    max_clinic_half_days_in_week: int
    call_nights: int
    weekend_call_nights: int
    inpatient_weeks: int
    violations: tuple[Any, ...]


@dataclass(frozen=True)
class FacultyLoadReport:
    week_starts: tuple[dt.date, ...]
    rows: tuple[FacultyLoad, ...]


def faculty_load(snapshot: ScheduleSnapshot) -> FacultyLoadReport:
    """Each faculty member's clinic half-days per week against their cap, call nights, inpatient
    weeks and the faculty-rule violations."""
    snap = snapshot
    ctx = rule_context(snap)
    rows = np.flatnonzero(ctx.is_faculty).astype(np.int64)
    codes, call = snap.codes[rows], snap.call[rows]
    viol = faculty_violations(snap, ctx, rows, codes, call)
    clinic = _clinic_mask(snap)[codes]
    cweek, CW = _week_grid(snap, 0)
    per = np.zeros((len(rows), CW), dtype=np.int64)
    if CW and len(rows):
        per = np.add.reduceat(clinic.astype(np.int64), 2 * _week_firsts(cweek), axis=1)
    week_flags, _, _ = _inpatient_weeks(snap, ctx, codes)
    # Friday and Saturday nights are the weekend call nights.
    weekend = np.array([snap.date_of(d).weekday() in (4, 5) for d in range(snap.n_days)], dtype=bool)
    week_starts = tuple(
        snap.start - dt.timedelta(days=snap.start.weekday()) + dt.timedelta(days=7 * w) for w in range(CW)
    )
    out = []
    for i, p in enumerate(rows.tolist()):
        person = snap.people[p]
        cap = person.clinic_cap_per_week
        pid = person.id
        out.append(
            FacultyLoad(
                person_id=pid, name=person.name, role=person.faculty_role, clinic_cap_per_week=cap,
                clinic_half_days=int(per[i].sum()),
                clinic_half_days_by_week=tuple(int(x) for x in per[i]),
                weeks_over_cap=int((per[i] > cap).sum()) if cap is not None else 0,
                max_clinic_half_days_in_week=int(per[i].max()) if CW else 0,
                call_nights=int((call[i] != 0).sum()),
                weekend_call_nights=int(((call[i] != 0) & weekend).sum()),
                inpatient_weeks=int(week_flags[i].sum()),
                violations=tuple(v for v in viol if v.person_id == pid),
            )
        )
    return FacultyLoadReport(week_starts=week_starts, rows=tuple(out))
