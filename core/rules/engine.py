"""The compliance engine: every rule of RULES.md, vectorized, with an exact incremental check.

`validate(snapshot)` checks a whole snapshot; `check_change(snapshot, change)` tells what a
proposed edit would add and remove, recomputing only the people and slots it touches.

Readings of RULES.md that needed a decision (each is one place in this module):
- Averaging windows are the rolling `window_days` windows that lie wholly inside the snapshot
  (or, with window_mode 'block', the snapshot's blocks that lie wholly inside it). A block of
  another length scales the limits: hours by days / 7, free days and calls by days / window_days.
- One violation per person per contiguous run of breaking windows, carrying the worst window.
  H80W reports a run of windows above 95 % only when no window of that run breaks H80 (then the
  H80 line says it).
- OFF7 and HC: a free day has no duty span; a home or backup call night (its date and the next
  morning) also spoils it. When duty spans alone leave too few free days the window breaks OFF7;
  when only the home calls make the difference it breaks HC.
- C24: more than 24 + 4 h in one continuous period is critical; otherwise more than 24 h of work
  that is not transition after an in-house call is high.
- R14 applies after a continuous period of at least `max_continuous_hours`; R8 judges every other
  gap between periods of at least `break_under_hours` (shorter gaps are breaks, not rest), and is
  not repeated where R14 already reports the same gap.
- SUP, CAP and COV are per slot (person_id None). QUAL is one line per person per run of slots in
  the same activity; ABS one line per run of absent days that carry duty.
- Faculty (not under the duty-hour rules): FPC post-call morning off, FSUN no call the Sunday after
  an inpatient week, FB2B no back-to-back inpatient weeks, FCAP clinic half-days per week above
  the person's cap; all warnings (see `core.rules.faculty`).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from core.calendar import academic_year_of
from core.errors import ValidationError
from core.rules.duty import I64, RuleContext, duty_intervals_rows, rule_context, slot_groups
from core.snapshot import CALL_BACKUP, CALL_CODES, CALL_HOME, CALL_IN_HOUSE, HeadCounts, ScheduleSnapshot

SEVERITIES = ("critical", "high", "warning")
RULE_IDS = (
    "H80", "H80W", "OFF7", "C24", "R14", "R8", "Q3", "NF", "HC",
    "SUP", "CAP", "COV", "QUAL", "ABS", "AWAY",
    "FPC", "FSUN", "FB2B", "FCAP",
)
SLOT_RULES = ("SUP", "CAP", "COV")
_SEV_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_RULE_RANK = {r: i for i, r in enumerate(RULE_IDS)}
SLOT_NAMES = ("AM", "PM")

When = dt.date | dt.datetime


@dataclass(frozen=True)
class Violation:
    """One broken rule: who (or which slot), when, the measured number against its limit."""

    rule: str
    severity: str
    person_id: str | None
    person_name: str | None
    start: When
    end: When
    value: float
    limit: float
    message: str
    day: dt.date | None = None
    slot: int | None = None
    activity_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "severity": self.severity, "person_id": self.person_id,
            "person_name": self.person_name, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "value": self.value, "limit": self.limit, "message": self.message,
            "day": self.day.isoformat() if self.day else None,
            "slot": SLOT_NAMES[self.slot] if self.slot is not None else None,
            "activity_code": self.activity_code,
        }


@dataclass(frozen=True)
class ValidationResult:
    violations: tuple[Violation, ...]
    counts_by_rule: Mapping[str, int]
    counts_by_severity: Mapping[str, int]
    rule_set_number: int
    revision: str = ""

    def of_rule(self, rule: str) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.rule == rule)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_set_number": self.rule_set_number,
            "revision": self.revision,
            "counts_by_rule": dict(self.counts_by_rule),
            "counts_by_severity": dict(self.counts_by_severity),
            "violations": [v.to_dict() for v in self.violations],
        }


@dataclass(frozen=True)
class ProposedChange:
    """An edit to check before it is made. Dates are `datetime.date`; slot 0 = AM, 1 = PM.

    assignments: (person_id, date, slot, activity_id or None to clear)
    calls: (person_id, date, call_type 'in_house'|'home'|'backup' or None to clear, hours_worked)
    absences: (person_id, first day, last day) — an approved, blocking absence counting as away.
    """

    assignments: tuple[tuple[str, dt.date, int, str | None], ...] = ()
    calls: tuple[tuple[str, dt.date, str | None, float | None], ...] = ()
    absences: tuple[tuple[str, dt.date, dt.date], ...] = ()


@dataclass(frozen=True)
class ChangeCheck:
    added: tuple[Violation, ...]
    removed: tuple[Violation, ...]
    person_ids: tuple[str, ...] = ()
    slots: tuple[tuple[dt.date, int], ...] = field(default=())

    @property
    def adds_critical(self) -> bool:
        return any(v.severity == "critical" for v in self.added)


# ------------------------------------------------------------------------------------ formatting
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _d(day: dt.date) -> str:
    return f"{_MONTHS[day.month]} {day.day}"


def _dt(t: dt.datetime) -> str:
    return f"{t:%a} {t:%b} {t.day} {t:%H:%M}"


def _h(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


class _Clock:
    """Elapsed minutes since local midnight of the first day -> local wall-clock time."""

    def __init__(self, snap: ScheduleSnapshot) -> None:
        self.tz = ZoneInfo(snap.time_zone)
        local0 = dt.datetime(snap.start.year, snap.start.month, snap.start.day, tzinfo=self.tz)
        self.base = local0.astimezone(dt.UTC)

    def local(self, minutes: int) -> dt.datetime:
        return (self.base + dt.timedelta(minutes=int(minutes))).astimezone(self.tz).replace(tzinfo=None)


def _runs(mask: Any) -> tuple[I64, I64, I64]:
    """Runs of True along axis 1: (row, first column, last column inclusive)."""
    n, k = mask.shape
    padded = np.zeros((n, k + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    r, c0 = np.nonzero(d == 1)
    _, c1 = np.nonzero(d == -1)
    return r.astype(np.int64), c0.astype(np.int64), (c1 - 1).astype(np.int64)


# --------------------------------------------------------------------------------- person rules
def _person_violations(
    snap: ScheduleSnapshot,
    ctx: RuleContext,
    rows: I64,
    codes: Any,
    call: Any,
    call_hours: Any,
    absent: Any,
    away: Any,
) -> list[Violation]:
    """Every person-level rule for the given people (rows of the snapshot) and their arrays."""
    out: list[Violation] = []
    if len(rows) == 0:
        return out
    clock = _Clock(snap)
    res = ctx.is_resident[rows]
    if res.any():
        r_rows = rows[res]
        out += _duty_hour_rules(snap, ctx, clock, r_rows, codes[res], call[res], call_hours[res])
        out += _away(snap, ctx, r_rows, away[res])
    out += _qualification(snap, ctx, rows, codes)
    out += _absence(snap, ctx, rows, codes, call, absent)
    fac = ctx.is_faculty[rows]
    if fac.any():
        from core.rules.faculty import faculty_violations

        out += faculty_violations(snap, ctx, rows[fac], codes[fac], call[fac])
    return out


def _window_limits(snap: ScheduleSnapshot, ctx: RuleContext) -> tuple[I64, I64, Any]:
    ws, we = ctx.windows
    length = (we - ws + 1).astype(np.float64)
    return ws, we, length


def _duty_hour_rules(
    snap: ScheduleSnapshot, ctx: RuleContext, clock: _Clock, rows: I64, codes: Any, call: Any, call_hours: Any
) -> list[Violation]:
    rules = snap.rules
    people = snap.people
    out: list[Violation] = []
    trans_min = int(round(rules.scheduled_transition_hours * 60))
    duty = duty_intervals_rows(ctx, codes, call, call_hours, trans_min)
    D = ctx.n_days
    n = len(rows)

    # ---- windows: H80, H80W, OFF7, HC, Q3
    ws, we, length = _window_limits(snap, ctx)
    if len(ws):
        daily = duty.daily
        home = (call == CALL_HOME) | (call == CALL_BACKUP)
        home_touch = home.copy()
        home_touch[:, 1:] |= home[:, :-1]
        no_span = daily == 0
        free_spans = no_span.astype(np.int64)
        free_all = (no_span & ~home_touch).astype(np.int64)
        ih = (call == CALL_IN_HOUSE).astype(np.int64)

        def wsum(x: Any) -> Any:
            c = np.zeros((n, D + 1), dtype=np.int64)
            np.cumsum(x, axis=1, out=c[:, 1:])
            return c[:, we + 1] - c[:, ws]

        minutes = wsum(daily)
        limit_min = rules.max_hours_per_week * 60.0 * length / 7.0
        warn_min = np.round(rules.warn_fraction * limit_min, 6)
        h80 = minutes > limit_min
        h80w = minutes > warn_min
        per_week = minutes * 7.0 / (60.0 * length)

        def emit(rule: str, sev: str, mask: Any, worst: Any, value: Any, limit: Any, msg: Any,
                 skip_if: Any = None) -> None:
            r, c0, c1 = _runs(mask)
            for i, a, b in zip(r.tolist(), c0.tolist(), c1.tolist()):
                if skip_if is not None and skip_if[i, a : b + 1].any():
                    continue
                k = a + int(np.argmax(worst[i, a : b + 1]))
                p = int(rows[i])
                person = people[p]
                s_day, e_day = snap.date_of(int(ws[k])), snap.date_of(int(we[k]))
                val, lim = float(value[i, k]), float(limit[k])
                out.append(Violation(rule, sev, person.id, person.name, s_day, e_day, val, lim,
                                     msg(person.name, val, lim, s_day, e_day)))

        wk_lim = np.full(len(ws), rules.max_hours_per_week)
        emit("H80", "critical", h80, minutes, per_week, wk_lim,
             lambda nm, v, lim, a, b: f"{nm}: {v:.1f} h/week averaged over {_d(a)} - {_d(b)} (limit {_h(lim)})")
        emit("H80W", "warning", h80w, minutes, per_week, np.full(len(ws), rules.max_hours_per_week * rules.warn_fraction),
             lambda nm, v, lim, a, b: (f"{nm}: {v:.1f} h/week averaged over {_d(a)} - {_d(b)}, close to the "
                                       f"limit of {_h(rules.max_hours_per_week)} (warning above {_h(lim)})"),
             skip_if=h80)
        need_free = rules.min_free_days_per_window * length / rules.window_days
        fs, fa = wsum(free_spans), wsum(free_all)
        emit("OFF7", "high", fs < need_free, -fs, fs, need_free,
             lambda nm, v, lim, a, b: (f"{nm}: only {v:.0f} free days in {_d(a)} - {_d(b)} "
                                       f"(at least {_h(lim)} needed)"))
        emit("HC", "high", (fs >= need_free) & (fa < need_free), -fa, fa, need_free,
             lambda nm, v, lim, a, b: (f"{nm}: home call leaves only {v:.0f} free days in {_d(a)} - {_d(b)} "
                                       f"(at least {_h(lim)} needed)"))
        max_calls = rules.max_in_house_calls_per_window * length / rules.window_days
        calls = wsum(ih)
        emit("Q3", "critical", calls > max_calls, calls, calls, max_calls,
             lambda nm, v, lim, a, b: (f"{nm}: {v:.0f} in-house call nights in {_d(a)} - {_d(b)} "
                                       f"(limit {_h(lim)})"))

    # ---- continuous periods: C24, R14, R8
    pp, ps, pe, clin = duty.person, duty.start, duty.end, duty.clinical
    if len(pp):
        total = pe - ps
        hard = (rules.max_continuous_hours + rules.max_transition_hours) * 60.0
        soft = rules.max_continuous_hours * 60.0
        crit = total > hard
        high = ~crit & (clin > soft)
        for i in np.flatnonzero(crit | high).tolist():
            person = people[int(rows[pp[i]])]
            a, b = clock.local(int(ps[i])), clock.local(int(pe[i]))
            if crit[i]:
                val, lim = total[i] / 60.0, hard / 60.0
                msg = (f"{person.name}: {val:.1f} h of continuous duty from {_dt(a)} to {_dt(b)} "
                       f"(limit {_h(lim)} including transition)")
                out.append(Violation("C24", "critical", person.id, person.name, a, b, float(val), float(lim), msg))
            else:
                val, lim = clin[i] / 60.0, soft / 60.0
                msg = (f"{person.name}: {val:.1f} h of continuous clinical work from {_dt(a)} to {_dt(b)} "
                       f"(limit {_h(lim)} plus transition)")
                out.append(Violation("C24", "high", person.id, person.name, a, b, float(val), float(lim), msg))

        same = pp[1:] == pp[:-1]
        gap = ps[1:] - pe[:-1]
        long_before = total[:-1] >= soft
        r14 = same & long_before & (gap < rules.rest_after_24h_hours * 60.0)
        r8 = same & ~r14 & (gap >= rules.break_under_hours * 60.0) & (gap < rules.min_rest_hours * 60.0)
        for i in np.flatnonzero(r14 | r8).tolist():
            person = people[int(rows[pp[i]])]
            a, b = clock.local(int(pe[i])), clock.local(int(ps[i + 1]))
            rest = gap[i] / 60.0
            if r14[i]:
                lim = rules.rest_after_24h_hours
                msg = (f"{person.name}: only {rest:.1f} h of rest after a {total[i] / 60.0:.1f} h duty period, "
                       f"from {_dt(a)} to {_dt(b)} (at least {_h(lim)})")
                out.append(Violation("R14", "critical", person.id, person.name, a, b, float(rest), float(lim), msg))
            else:
                lim = rules.min_rest_hours
                msg = (f"{person.name}: only {rest:.1f} h of rest between duty periods, "
                       f"from {_dt(a)} to {_dt(b)} (at least {_h(lim)})")
                out.append(Violation("R8", "warning", person.id, person.name, a, b, float(rest), float(lim), msg))

    # ---- NF: consecutive night-float nights
    if codes.shape[1]:
        nf = ctx.night_float[codes[:, 0::2]] | ctx.night_float[codes[:, 1::2]]
        r, c0, c1 = _runs(nf)
        lim_nf = rules.max_consecutive_night_float
        for i, a_, b_ in zip(r.tolist(), c0.tolist(), c1.tolist()):
            nights = b_ - a_ + 1
            if nights > lim_nf:
                person = people[int(rows[i])]
                n0, n1 = snap.date_of(a_), snap.date_of(b_)
                msg = (f"{person.name}: {nights} consecutive night-float nights from {_d(n0)} to {_d(n1)} "
                       f"(limit {lim_nf})")
                out.append(Violation("NF", "high", person.id, person.name, n0, n1, float(nights), float(lim_nf),
                                     msg))
    return out


def _away(snap: ScheduleSnapshot, ctx: RuleContext, rows: I64, away: Any) -> list[Violation]:
    rules = snap.rules
    out: list[Violation] = []
    for year, first, last in ctx.academic_years:
        counts = away[:, first : last + 1].sum(axis=1)
        sel = (first, last)
        for i in np.flatnonzero((counts >= rules.warn_away_days_per_year) | (counts > rules.max_away_days_per_year)).tolist():
            n = int(counts[i])
            person = snap.people[int(rows[i])]
            a, b = snap.date_of(int(sel[0])), snap.date_of(int(sel[-1]))
            if n > rules.max_away_days_per_year:
                sev, lim = "high", rules.max_away_days_per_year
                msg = f"{person.name}: {n} days away from the program in AY {year} (limit {lim})"
            else:
                sev, lim = "warning", rules.warn_away_days_per_year
                msg = (f"{person.name}: {n} days away from the program in AY {year}, close to the limit of "
                       f"{rules.max_away_days_per_year}")
            out.append(Violation("AWAY", sev, person.id, person.name, a, b, float(n), float(lim), msg))
    return out


def _qualification(snap: ScheduleSnapshot, ctx: RuleContext, rows: I64, codes: Any) -> list[Violation]:
    A1 = ctx.eligible_static.shape[1]
    codes64 = codes.astype(np.int64)
    cm = codes64 % A1  # "nothing" (-1) -> the last entry, always allowed
    bad = ~ctx.eligible_static.take(rows[:, None] * A1 + cm)
    if ctx.credential_ok is not None:
        need = ctx.needs_credential.take(cm)
        if need.any():
            r_i, s_i = np.nonzero(need)
            D = ctx.n_days
            ok = ctx.credential_ok.ravel().take((rows[r_i] * A1 + cm[r_i, s_i]) * D + s_i // 2)
            bad[r_i, s_i] |= ~ok
    some = np.flatnonzero(bad.any(axis=1))
    if len(some) == 0:
        return []
    rows, codes64, bad = rows[some], codes64[some], bad[some]  # only the people with a problem
    key = np.where(bad, codes64, -1)
    n, S = key.shape
    padded = np.full((n, S + 2), -1, dtype=np.int64)
    padded[:, 1:-1] = key
    change = padded[:, 1:] != padded[:, :-1]
    out: list[Violation] = []
    r0, c0 = np.nonzero(change[:, :-1] & (padded[:, 1:-1] >= 0))
    r1, c1 = np.nonzero(change[:, 1:] & (padded[:, 1:-1] >= 0))
    for i, a, b in zip(r0.tolist(), c0.tolist(), c1.tolist()):
        person = snap.people[int(rows[i])]
        act = snap.activities[int(key[i, a])]
        first, last = snap.date_of(a // 2), snap.date_of(b // 2)
        why = _why_not_eligible(person.kind, person.pgy, act.eligible_kinds, act.eligible_pgy, act.required_credential)
        n_slots = b - a + 1
        msg = (f"{person.name} holds {act.code} in {n_slots} half-day{'s' if n_slots > 1 else ''} from "
               f"{_d(first)} {SLOT_NAMES[a % 2]} to {_d(last)} {SLOT_NAMES[b % 2]} but {why}")
        out.append(Violation("QUAL", "high", person.id, person.name, first, last, float(n_slots), 0.0, msg,
                             activity_code=act.code))
    return out


def _why_not_eligible(kind: str, pgy: int, kinds: Sequence[str], pgys: Sequence[int], cred: str | None) -> str:
    if kind not in kinds:
        return f"it is not open to {kind} staff" if kind == "staff" else f"it is not open to {kind}s"
    if kind == "resident" and pgys and pgy not in pgys:
        return f"it is open to PGY {', '.join(str(x) for x in pgys)} only"
    return f"the {cred} credential is missing or not valid on those days"


def _absence(snap: ScheduleSnapshot, ctx: RuleContext, rows: I64, codes: Any, call: Any, absent: Any) -> list[Violation]:
    some = np.flatnonzero(absent.any(axis=1))
    if len(some) == 0:
        return []
    rows, codes, call, absent = rows[some], codes[some], call[some], absent[some]
    duty = ctx.has_span[codes[:, 0::2], 0] | ctx.has_span[codes[:, 1::2], 1] | (call != 0)
    bad = absent & duty
    out: list[Violation] = []
    r, c0, c1 = _runs(bad)
    for i, a_, b_ in zip(r.tolist(), c0.tolist(), c1.tolist()):
        person = snap.people[int(rows[i])]
        a, b = snap.date_of(a_), snap.date_of(b_)
        n = b_ - a_ + 1
        when = _d(a) if n == 1 else f"{_d(a)} - {_d(b)}"
        msg = f"{person.name} is scheduled for duty during an approved absence ({when})"
        out.append(Violation("ABS", "critical", person.id, person.name, a, b, float(n), 0.0, msg))
    return out


# ----------------------------------------------------------------------------------- slot rules
def _slot_violations(snap: ScheduleSnapshot, ctx: RuleContext, codes: Any, cols: I64) -> list[Violation]:
    """SUP, CAP and COV for the given slot columns; `codes` is [P, len(cols)] for every person."""
    A = len(snap.activities)
    k = len(cols)
    if k == 0 or A == 0:
        return []
    # Head counts per activity and slot, by group of people (0 other, 1 PGY-1, 2 senior resident,
    # 3 faculty): one bincount over every cell.
    idx = codes.astype(np.intp)
    idx[idx < 0] = A
    idx += ((ctx.slot_group.astype(np.intp) * k)[:, None] + np.arange(k, dtype=np.intp)[None, :]) * (A + 1)
    by_group = np.bincount(idx.ravel(), minlength=4 * k * (A + 1)).reshape(4, k, A + 1)[:, :, :A]
    return _slot_rules(snap, ctx, by_group.transpose(0, 2, 1), cols)


def _slot_rules(snap: ScheduleSnapshot, ctx: RuleContext, by_group: Any, cols: I64) -> list[Violation]:
    """SUP, CAP and COV from the head counts `by_group` [4 groups, A, len(cols)] of the slot columns
    `cols`: all the slot-level rules read of the people in a slot."""
    rules = snap.rules
    out: list[Violation] = []
    A = len(snap.activities)
    if len(cols) == 0 or A == 0:
        return out
    pgy1, senior, faculty = by_group[1], by_group[2], by_group[3]
    counts_all = by_group.sum(axis=0)

    # SUP
    need = ctx.needs_supervision[:A, None]
    proc = ctx.procedure[:A, None]
    units = (need * (rules.sup_units_pgy1 * pgy1 + rules.sup_units_senior * senior
                     + rules.sup_units_procedure * proc * (pgy1 + senior))).sum(axis=0)
    required = -(-units // rules.sup_units_per_supervisor)
    # Supervisors are faculty in activities that provide supervision; no medical students are
    # scheduled in this program model, so senior residents never count (sup_seniors_supervise_students).
    supervisors = (ctx.provides_supervision[:A, None] * faculty).sum(axis=0)
    for j in np.flatnonzero(supervisors < required).tolist():
        s = int(cols[j])
        day, slot = snap.date_of(s // 2), s % 2
        u, q, have = int(units[j]), int(required[j]), int(supervisors[j])
        msg = (f"{_d(day)} {SLOT_NAMES[slot]}: {have} supervising faculty for {u} supervision units "
               f"({q} needed)")
        out.append(Violation("SUP", "critical", None, None, day, day, float(have), float(q), msg, day=day, slot=slot))

    # CAP: each activity that counts against clinic capacity is one clinic with its own rooms.
    cap = rules.max_clinic_physicians_per_slot
    cap_counts = pgy1 + senior + faculty
    over = ctx.counts_capacity[:A, None] & (cap_counts > cap)
    for a, j in zip(*np.nonzero(over)):
        a, j = int(a), int(j)
        s = int(cols[j])
        day, slot = snap.date_of(s // 2), s % 2
        code = snap.activities[a].code
        n = int(cap_counts[a, j])
        msg = f"{_d(day)} {SLOT_NAMES[slot]}: {n} physicians in {code} (room capacity {cap})"
        out.append(Violation("CAP", "high", None, None, day, day, float(n), float(cap), msg,
                             day=day, slot=slot, activity_code=code))

    # COV
    if True:
        counts = counts_all
        rmin = snap.req_min[:, cols].astype(np.int64)
        ropt = snap.req_opt[:, cols].astype(np.int64)
        rmax = snap.req_max[:, cols].astype(np.int64)
        below_min = counts < rmin
        below_opt = ~below_min & (counts < ropt)
        above = counts > rmax
        for a, j in zip(*np.nonzero(below_min | below_opt | above)):
            a, j = int(a), int(j)
            s = int(cols[j])
            day, slot = snap.date_of(s // 2), s % 2
            code = snap.activities[a].code
            have = int(counts[a, j])
            where = f"{_d(day)} {SLOT_NAMES[slot]}"
            if below_min[a, j]:
                sev, lim = "critical", int(rmin[a, j])
                msg = f"{where}: {have} on {code}, fewer than the minimum of {lim}"
            elif below_opt[a, j]:
                sev, lim = "warning", int(ropt[a, j])
                msg = f"{where}: {have} on {code}, below the target of {lim}"
            else:
                sev, lim = "high", int(rmax[a, j])
                msg = f"{where}: {have} on {code}, more than the maximum of {lim}"
            out.append(Violation("COV", sev, None, None, day, day, float(have), float(lim), msg,
                                 day=day, slot=slot, activity_code=code))
    return out


# ------------------------------------------------------------------------------------ validate
def _sort_key(snap: ScheduleSnapshot) -> Any:
    order = snap.person_index

    def key(v: Violation) -> tuple[Any, ...]:
        return (_SEV_RANK[v.severity], _RULE_RANK.get(v.rule, 99),
                order.get(v.person_id, -1) if v.person_id else -1,
                v.start.toordinal(), v.start.hour * 60 + v.start.minute if isinstance(v.start, dt.datetime) else -1,
                v.slot if v.slot is not None else -1, v.activity_code or "")

    return key


def _overlaps(v: Violation, start: dt.date | None, end: dt.date | None) -> bool:
    a = v.start.date() if isinstance(v.start, dt.datetime) else v.start
    b = v.end.date() if isinstance(v.end, dt.datetime) else v.end
    return (start is None or b >= start) and (end is None or a <= end)


def _result(snap: ScheduleSnapshot, violations: Iterable[Violation]) -> ValidationResult:
    vs = tuple(sorted(violations, key=_sort_key(snap)))
    by_rule = Counter(v.rule for v in vs)
    by_sev = Counter(v.severity for v in vs)
    return ValidationResult(
        violations=vs,
        counts_by_rule=MappingProxyType({r: by_rule[r] for r in RULE_IDS if by_rule[r]}),
        counts_by_severity=MappingProxyType({s: by_sev[s] for s in SEVERITIES}),
        rule_set_number=snap.rule_set_number,
        revision=snap.revision,
    )


def _rows_of(snap: ScheduleSnapshot, person_ids: Iterable[str]) -> I64:
    rows = []
    for pid in person_ids:
        p = snap.person_index.get(pid)
        if p is None:
            raise ValidationError(f"No person with id {pid} is in this schedule.", field="person_id")
        rows.append(p)
    return np.array(sorted(set(rows)), dtype=np.int64)


class _Known:
    """What full or partial validations of one snapshot already found: each person's violations
    (by row) and each slot's (by slot column). A snapshot is immutable, so these never go stale;
    `check_change` takes its "before" side from here."""

    def __init__(self) -> None:
        self.person: dict[int, list[Violation]] = {}
        self.slot: dict[int, list[Violation]] = {}


_KNOWN: weakref.WeakKeyDictionary[ScheduleSnapshot, _Known] = weakref.WeakKeyDictionary()
_KNOWN_LOCK = threading.Lock()


def _known(snap: ScheduleSnapshot) -> _Known:
    with _KNOWN_LOCK:
        known = _KNOWN.get(snap)
        if known is None:
            known = _KNOWN[snap] = _Known()
        return known


# Person results by content, shared by the snapshots of one structure (one RuleContext): a person's
# violations depend only on the structure and on that person's rows of the schedule arrays. So the
# snapshot made after an edit finds every untouched person (and the edited one, when the edit was
# checked first) without a validation of its own. Keys hold the row bytes themselves (no hash
# collisions); least recently used entries go first.
_BY_CONTENT: weakref.WeakKeyDictionary[RuleContext, OrderedDict[tuple[Any, ...], list[Violation]]] = (
    weakref.WeakKeyDictionary()
)
_BY_CONTENT_SIZE = 2048


def _content_key(row: int, codes: Any, call: Any, hours: Any, absent: Any, away: Any) -> tuple[Any, ...]:
    return (row, codes.tobytes(), call.tobytes(), hours.tobytes(), absent.tobytes(), away.tobytes())


def _snapshot_key(snap: ScheduleSnapshot, row: int) -> tuple[Any, ...]:
    return _content_key(row, snap.codes[row], snap.call[row], snap.call_hours[row], snap.absent[row],
                        snap.away[row])


def _store_content(ctx: RuleContext, items: Iterable[tuple[tuple[Any, ...], list[Violation]]]) -> None:
    with _KNOWN_LOCK:
        cache = _BY_CONTENT.get(ctx)
        if cache is None:
            cache = _BY_CONTENT[ctx] = OrderedDict()
        for key, found in items:
            cache[key] = found
            cache.move_to_end(key)
        while len(cache) > _BY_CONTENT_SIZE:
            cache.popitem(last=False)


def _from_content(ctx: RuleContext, key: tuple[Any, ...]) -> list[Violation] | None:
    with _KNOWN_LOCK:
        cache = _BY_CONTENT.get(ctx)
        found = None if cache is None else cache.get(key)
        if found is not None:
            cache.move_to_end(key)  # type: ignore[union-attr]
        return found


def _group_by_row(snap: ScheduleSnapshot, rows: I64, found: Iterable[Violation]) -> dict[int, list[Violation]]:
    by_row: dict[int, list[Violation]] = {int(r): [] for r in rows.tolist()}
    index = snap.person_index
    for v in found:
        by_row[index[v.person_id]].append(v)  # type: ignore[index]
    return by_row


def _remember_people(snap: ScheduleSnapshot, ctx: RuleContext, rows: I64, found: Iterable[Violation]) -> None:
    by_row = _group_by_row(snap, rows, found)
    _known(snap).person.update(by_row)
    _store_content(ctx, ((_snapshot_key(snap, r), vs) for r, vs in by_row.items()))


def _remember_slots(snap: ScheduleSnapshot, cols: I64, found: Iterable[Violation]) -> None:
    by_col: dict[int, list[Violation]] = {int(c): [] for c in cols.tolist()}
    first = snap.start.toordinal()
    for v in found:
        by_col[2 * (v.day.toordinal() - first) + v.slot].append(v)  # type: ignore[union-attr,operator]
    _known(snap).slot.update(by_col)


def validate(
    snapshot: ScheduleSnapshot,
    *,
    person_ids: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ValidationResult:
    """Check every rule of RULES.md on a snapshot.

    `person_ids` limits the result to those people (slot-level rules SUP/CAP/COV are then left
    out); `start`/`end` keep violations whose period overlaps those dates. Windows and periods are
    always measured over the whole snapshot, so give it a margin of a window on each side.
    """
    snap = snapshot
    ctx = rule_context(snap)
    if person_ids is None:
        rows = np.arange(snap.n_people, dtype=np.int64)
    else:
        rows = _rows_of(snap, person_ids)
    out = _person_violations(snap, ctx, rows, snap.codes[rows], snap.call[rows], snap.call_hours[rows],
                             snap.absent[rows], snap.away[rows])
    _remember_people(snap, ctx, rows, out)
    if person_ids is None:
        if snap.partial:
            raise ValueError("A snapshot of some people has no slot-level rules; name the people to check.")
        cols = np.arange(snap.n_slots, dtype=np.int64)
        slot_out = _slot_violations(snap, ctx, snap.codes, cols)
        _remember_slots(snap, cols, slot_out)
        out += slot_out
    if start is not None or end is not None:
        out = [v for v in out if _overlaps(v, start, end)]
    return _result(snap, out)


# ------------------------------------------------------------------------------- incremental
def _final_slot_edits(change: ProposedChange) -> dict[tuple[str, dt.date, int], str | None]:
    """The assignment edits of a change, the last one winning for a slot named twice."""
    out: dict[tuple[str, dt.date, int], str | None] = {}
    for pid, day, slot, activity_id in change.assignments:
        if slot not in (0, 1):
            raise ValidationError("A slot is 0 (AM) or 1 (PM).", field="slot")
        out[(pid, day, slot)] = activity_id
    return out


def _activity_code(snap: ScheduleSnapshot, activity_id: str | None) -> int:
    if activity_id is None:
        return -1
    if activity_id not in snap.activity_index:
        raise ValidationError(f"No activity with id {activity_id} in this program.", field="activity_id")
    return snap.activity_index[activity_id]


def _head_count_changes(
    snap: ScheduleSnapshot, ctx: RuleContext, edits: Mapping[tuple[str, dt.date, int], str | None]
) -> dict[tuple[dt.date, int], Counter[tuple[int, int]]]:
    """For each edited slot, how the head counts per (group of people, activity) change.

    The slot-level rules read a slot's assignments only through these counts (`_slot_violations`:
    PGY-1, senior, faculty and other per activity), so a slot whose counts do not change (e.g. two
    residents of one group exchanging their activities) keeps exactly the violations it had."""
    out: dict[tuple[dt.date, int], Counter[tuple[int, int]]] = {}
    D = snap.n_days
    for (pid, day, slot), activity_id in edits.items():
        d = snap.day_of(day)
        if not 0 <= d < D:
            raise ValidationError(f"{day.isoformat()} is outside the schedule being checked.", field="date")
        p = snap.person_index.get(pid)
        if p is None:
            raise ValidationError(f"No person with id {pid} is in this schedule.", field="person_id")
        group = int(ctx.slot_group[p])
        counts = out.setdefault((day, slot), Counter())
        counts[(group, _activity_code(snap, activity_id))] += 1
        counts[(group, int(snap.codes[p, 2 * d + slot]))] -= 1
    return out


def changed_slot_days(snapshot: ScheduleSnapshot, change: ProposedChange) -> tuple[dt.date, ...]:
    """The days with a slot whose head counts the change alters: the only slots the slot-level
    rules (SUP, CAP, COV) must look at. `snapshot` needs only the people the change names."""
    counts = _head_count_changes(snapshot, rule_context(snapshot), _final_slot_edits(change))
    return tuple(sorted({day for (day, _slot), c in counts.items() if any(c.values())}))


def check_change(
    snapshot: ScheduleSnapshot, change: ProposedChange, *, slot_snapshot: ScheduleSnapshot | None = None,
    head_counts: HeadCounts | None = None, slots: bool = True,
) -> ChangeCheck:
    """The violations a proposed change would add and remove, writing nothing.

    Only the people the change names are re-checked (over the whole snapshot, so runs of windows
    stay exact), and only the slots whose head counts change for the slot-level rules. The result
    equals the difference of two full validations, before and after the change.

    `slot_snapshot` splits the work: the person rules then read `snapshot`, which may hold only the
    people the change names (`build_snapshot(..., person_ids=...)`, with a window's margin on each
    side), and the slot rules read `slot_snapshot`, which holds everybody over at least the days
    `changed_slot_days` names (only those days, say). The result is the same as with one snapshot
    of everybody over the margin. `head_counts` (everybody's head counts on at least those days,
    `read_head_counts`) does the same without a snapshot: the slot rules read nothing else of the
    people, and the counts after the change are those before plus what the change moves. A partial
    snapshot with neither is refused when some slot's head counts change. `slots=False` leaves the
    slot-level rules out (person rules only).
    """
    snap = snapshot
    ctx = rule_context(snap)
    D = snap.n_days

    def day_index(day: dt.date) -> int:
        d = snap.day_of(day)
        if not 0 <= d < D:
            raise ValidationError(f"{day.isoformat()} is outside the schedule being checked.", field="date")
        return d

    pids = [a[0] for a in change.assignments] + [c[0] for c in change.calls] + [b[0] for b in change.absences]
    rows = _rows_of(snap, pids)
    local = {int(p): i for i, p in enumerate(rows.tolist())}
    codes0, call0, hours0 = snap.codes[rows], snap.call[rows], snap.call_hours[rows]
    absent0, away0 = snap.absent[rows], snap.away[rows]
    codes1, call1, hours1 = codes0.copy(), call0.copy(), hours0.copy()
    absent1, away1 = absent0.copy(), away0.copy()

    edits = _final_slot_edits(change)
    for (pid, day, slot), activity_id in edits.items():
        s = 2 * day_index(day) + slot
        codes1[local[snap.person_index[pid]], s] = _activity_code(snap, activity_id)
    for pid, day, call_type, hours in change.calls:
        d = day_index(day)
        i = local[snap.person_index[pid]]
        if call_type is None:
            call1[i, d], hours1[i, d] = 0, np.nan
        else:
            if call_type not in CALL_CODES:
                raise ValidationError(f"Unknown call type {call_type!r}.", field="call_type")
            call1[i, d] = CALL_CODES[call_type]
            hours1[i, d] = np.nan if hours is None else float(hours)
    for pid, first, last in change.absences:
        if last < first:
            raise ValidationError("The absence ends before it starts.", field="end")
        d0 = max(0, snap.day_of(first))
        d1 = min(D - 1, snap.day_of(last))
        i = local[snap.person_index[pid]]
        if d1 >= d0:
            absent1[i, d0 : d1 + 1] = True
            away1[i, d0 : d1 + 1] = True

    # "before": what a validation of this snapshot already found, else computed now and kept.
    known = _known(snap)
    missing_rows = []
    for r in rows.tolist():
        if r not in known.person:
            found = _from_content(ctx, _snapshot_key(snap, r))
            if found is None:
                missing_rows.append(r)
            else:
                known.person[r] = found
    missing = np.array(missing_rows, dtype=np.int64)
    if len(missing):
        _remember_people(snap, ctx, missing, _person_violations(
            snap, ctx, missing, snap.codes[missing], snap.call[missing], snap.call_hours[missing],
            snap.absent[missing], snap.away[missing]))
    before = [v for r in rows.tolist() for v in known.person[r]]
    # "after": by content too (a person's rows as the change leaves them, e.g. the requester of an
    # offer checked with one candidate after another), else computed now and kept: it is also what
    # the snapshot made once this change is written will hold for these people.
    keys1 = [_content_key(r, codes1[i], call1[i], hours1[i], absent1[i], away1[i]) for i, r in enumerate(rows.tolist())]
    after_by_row: dict[int, list[Violation]] = {}
    todo = []
    for i, r in enumerate(rows.tolist()):
        found = _from_content(ctx, keys1[i])
        if found is None:
            todo.append(i)
        else:
            after_by_row[r] = found
    if todo:
        idx = np.array(todo, dtype=np.int64)
        sub = rows[idx]
        computed = _group_by_row(snap, sub, _person_violations(
            snap, ctx, sub, codes1[idx], call1[idx], hours1[idx], absent1[idx], away1[idx]))
        after_by_row.update(computed)
        _store_content(ctx, ((keys1[i], computed[int(rows[i])]) for i in todo))
    after = [v for r in rows.tolist() for v in after_by_row[r]]

    edited = sorted(_head_count_changes(snap, ctx, edits).items())
    changed = [(day, slot) for (day, slot), c in edited if slots and any(c.values())]
    if changed:
        if slot_snapshot is None and head_counts is not None:
            before_s, after_s = _slot_change_counted(snap, ctx, head_counts, dict(edited), changed)
        else:
            before_s, after_s = _slot_change(snap if slot_snapshot is None else slot_snapshot, edits, changed)
        before += before_s
        after += after_s
    count_before, count_after = Counter(before), Counter(after)
    key = _sort_key(snap)
    added = tuple(sorted((count_after - count_before).elements(), key=key))
    removed = tuple(sorted((count_before - count_after).elements(), key=key))
    return ChangeCheck(
        added=added,
        removed=removed,
        person_ids=tuple(snap.people[int(p)].id for p in rows),
        slots=tuple(day_slot for day_slot, _c in edited),
    )


def _slot_change(
    snap: ScheduleSnapshot, edits: Mapping[tuple[str, dt.date, int], str | None], slots: Sequence[tuple[dt.date, int]]
) -> tuple[list[Violation], list[Violation]]:
    """The slot-level violations of `slots` before and after the edits, on a snapshot of everybody."""
    if snap.partial:
        raise ValueError("The slot-level rules need a snapshot of everybody (pass slot_snapshot).")
    ctx = rule_context(snap)
    D = snap.n_days
    col_of: dict[tuple[dt.date, int], int] = {}
    for day, slot in slots:
        d = snap.day_of(day)
        if not 0 <= d < D:
            raise ValidationError(f"{day.isoformat()} is outside the schedule being checked.", field="date")
        col_of[(day, slot)] = 2 * d + slot
    cols = np.array(sorted(col_of.values()), dtype=np.int64)
    known = _known(snap)
    missing_cols = np.array([c for c in cols.tolist() if c not in known.slot], dtype=np.int64)
    if len(missing_cols):
        _remember_slots(snap, missing_cols, _slot_violations(snap, ctx, snap.codes[:, missing_cols], missing_cols))
    before = [v for c in cols.tolist() for v in known.slot[c]]
    sc1 = snap.codes[:, cols]
    j_of = {int(s): j for j, s in enumerate(cols.tolist())}
    for (pid, day, slot), activity_id in edits.items():
        s = col_of.get((day, slot))
        if s is not None:
            sc1[snap.person_index[pid], j_of[s]] = _activity_code(snap, activity_id)
    return before, _slot_violations(snap, ctx, sc1, cols)


def _slot_change_counted(
    snap: ScheduleSnapshot, ctx: RuleContext, counts: HeadCounts,
    deltas: Mapping[tuple[dt.date, int], Counter[tuple[int, int]]], slots: Sequence[tuple[dt.date, int]],
) -> tuple[list[Violation], list[Violation]]:
    """`_slot_change` from everybody's head counts before the change (`counts`) and the change's
    head-count deltas per slot (`_head_count_changes`); `snap` (any snapshot of the program over the
    slots, partial or not) gives the rule set, the activities and the coverage requirements."""
    if counts.activity_ids != tuple(a.id for a in snap.activities):
        raise ValueError("The head counts were read for another list of activities.")
    if not counts.academic_year == academic_year_of(snap.start) == academic_year_of(snap.end):
        # the people's groups in `snap` (their PGY) must be those the counts were made with
        raise ValueError("The head counts and the snapshot must lie in one and the same academic year.")
    A = len(snap.activities)
    groups = slot_groups(np.array([k for k, _p in counts.classes], dtype=np.int8),
                         np.array([p for _k, p in counts.classes], dtype=np.int64)).astype(np.intp)
    day_rows, slot_of, cols = [], [], []
    for day, slot in slots:
        i = counts.day_index(day)
        if i is None:
            raise ValueError(f"The head counts do not cover {day.isoformat()}.")
        d = snap.day_of(day)
        if not 0 <= d < snap.n_days:
            raise ValidationError(f"{day.isoformat()} is outside the schedule being checked.", field="date")
        day_rows.append(i)
        slot_of.append(slot)
        cols.append(2 * d + slot)
    k = len(cols)
    by_group = np.zeros((4, k, A), dtype=np.int64)
    np.add.at(by_group, groups, counts.counts[:, day_rows, slot_of, :])  # classes summed into groups
    before = by_group.transpose(0, 2, 1)  # [4, A, k]
    after = before.copy()
    for j, day_slot in enumerate(slots):
        for (group, activity), n in deltas[day_slot].items():
            if activity >= 0:  # "nothing" is not counted
                after[group, activity, j] += n
    col_arr = np.array(cols, dtype=np.int64)
    return _slot_rules(snap, ctx, before, col_arr), _slot_rules(snap, ctx, after, col_arr)


def violation_counts(violations: Sequence[Violation]) -> dict[str, int]:
    return dict(Counter(v.rule for v in violations))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b) if b else math.inf  # type: ignore[return-value]
