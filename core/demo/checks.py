"""Plain checks of RULES.md used to build and to test the demo program.

Not the compliance engine (`core.rules`): a small, readable second opinion written straight from
the rule text, on a one-hour grid of local wall-clock time (the demo's spans all start and end on
the hour; daylight-saving changes are ignored here, the engine handles them). The demo builder uses
it to keep its schedule inside the rules and the tests use it to find the planted violations.

Inputs are plain arrays shaped like the snapshot's: `codes[p, 2d + slot]` (activity index or -1)
and `in_house[p, d]` (an in-house call starting on day d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.rules.ruleset import RuleValues

BoolArray = NDArray[np.bool_]
IntArray = NDArray[Any]


@dataclass(frozen=True)
class Finding:
    """A rule broken: rule id, person index (or -1), first and last day index, measured value."""

    rule: str
    person: int
    first_day: int
    last_day: int
    value: float
    detail: str = ""


def slot_hours(span_start: IntArray, span_minutes: IntArray) -> BoolArray:
    """[A, 2, 48]: the local hours (of the slot's day and the next) each activity's span covers."""
    n = span_start.shape[0]
    out = np.zeros((n, 2, 48), dtype=bool)
    for a in range(n):
        for s in range(2):
            first = int(span_start[a, s]) // 60
            hours = math.ceil(int(span_minutes[a, s]) / 60)
            out[a, s, first : first + hours] = True
    return out


def duty_grid(
    codes: IntArray, in_house: BoolArray, span_start: IntArray, span_minutes: IntArray, rules: RuleValues,
    cover: BoolArray | None = None,
) -> BoolArray:
    """[P, (D + 1) * 24] local hours on duty: slot spans, in-house calls and their transition.

    `cover` is `slot_hours(span_start, span_minutes)` when the caller already has it."""
    P, S = codes.shape
    D = S // 2
    if cover is None:
        cover = slot_hours(span_start, span_minutes)
    none = np.zeros((1, 48), dtype=bool)
    am = np.where((codes[:, 0::2] >= 0)[..., None], cover[codes[:, 0::2].clip(0), 0], none)
    pm = np.where((codes[:, 1::2] >= 0)[..., None], cover[codes[:, 1::2].clip(0), 1], none)
    days = am | pm  # [P, D, 48]
    call = np.zeros(48, dtype=bool)
    c0 = rules.in_house_call_start // 60
    c1 = c0 + math.ceil((rules.in_house_call_minutes + 60 * rules.scheduled_transition_hours) / 60)
    call[c0 : min(c1, 48)] = True
    days = days | (in_house[..., None] & call)
    grid = np.zeros((P, D + 1, 24), dtype=bool)
    grid[:, :D] |= days[:, :, :24]
    grid[:, 1:] |= days[:, :, 24:]
    return grid.reshape(P, (D + 1) * 24)


def _runs(mask: BoolArray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    if not mask.any():
        return []
    padded = np.concatenate(([False], mask, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[0::2], edges[1::2])]


def _window_sums(per_day: IntArray, window: int) -> IntArray:
    """[P, D - window + 1] sums over every window of `window` days inside the range."""
    c = np.concatenate([np.zeros((per_day.shape[0], 1)), np.cumsum(per_day, axis=1)], axis=1)
    sums: IntArray = c[:, window:] - c[:, :-window]
    return sums


def _window_findings(rule: str, bad: BoolArray, value: IntArray, window: int, worst: str) -> list[Finding]:
    out = []
    for p in range(bad.shape[0]):
        for first, last in _runs(bad[p]):
            vals = value[p, first : last + 1]
            w = first + int(np.argmax(vals) if worst == "max" else np.argmin(vals))
            out.append(Finding(rule, p, w, w + window - 1, float(value[p, w])))
    return out


def duty_findings(
    codes: IntArray,
    in_house: BoolArray,
    night_float: BoolArray,
    span_start: IntArray,
    span_minutes: IntArray,
    rules: RuleValues | None = None,
    cover: BoolArray | None = None,
) -> list[Finding]:
    """H80, OFF7, C24, R14, Q3, NF and the every-third-night spacing (GAP3) for every person.

    Windows are the rolling 28-day windows lying wholly inside the range. Residents only: pass the
    residents' rows.
    """
    rules = rules or RuleValues()
    P, S = codes.shape
    D = S // 2
    W = rules.window_days
    out: list[Finding] = []
    grid = duty_grid(codes, in_house, span_start, span_minutes, rules, cover)
    hours_per_day = grid[:, : D * 24].reshape(P, D, 24).sum(axis=2)
    if D >= W:
        hours = _window_sums(hours_per_day, W)
        out += _window_findings("H80", hours > rules.max_hours_per_week * W / 7, hours, W, "max")
        free = _window_sums((hours_per_day == 0).astype(np.int64), W)
        out += _window_findings("OFF7", free < rules.min_free_days_per_window, free, W, "min")
        calls = _window_sums(in_house.astype(np.int64), W)
        out += _window_findings("Q3", calls > rules.max_in_house_calls_per_window, calls, W, "max")
    limit = rules.max_continuous_hours + rules.max_transition_hours
    for p in range(P):
        periods = _runs(grid[p])
        for i, (a, b) in enumerate(periods):
            length = b - a + 1
            if length > limit:
                out.append(Finding("C24", p, a // 24, b // 24, float(length)))
            if length >= rules.max_continuous_hours and i + 1 < len(periods):
                rest = periods[i + 1][0] - b - 1
                if rest < rules.rest_after_24h_hours:
                    out.append(Finding("R14", p, a // 24, periods[i + 1][0] // 24, float(rest)))
        nf = night_float[codes[p, 1::2].clip(0)] & (codes[p, 1::2] >= 0)
        for a, b in _runs(nf):
            if b - a + 1 > rules.max_consecutive_night_float:
                out.append(Finding("NF", p, a, b, float(b - a + 1)))
        days = np.flatnonzero(in_house[p])
        for x, y in zip(days[:-1], days[1:]):
            if y - x < 3:
                out.append(Finding("GAP3", p, int(x), int(y), float(y - x)))
    return out


def supervision_required(units: int, rules: RuleValues) -> int:
    return math.ceil(units / rules.sup_units_per_supervisor) if units > 0 else 0


def program_findings(snap: Any) -> list[Finding]:
    """SUP, CAP, COV (min), QUAL, ABS, AWAY on a `ScheduleSnapshot`, straight from RULES.md.

    SUP is counted per slot over all activities (the rule's text); CAP per clinic activity and slot.
    """
    rules: RuleValues = snap.rules
    out: list[Finding] = []
    codes = np.asarray(snap.codes)
    P, S = codes.shape
    acts = snap.activities
    A = len(acts)
    pgy = np.array([p.pgy for p in snap.people])
    is_res = np.array([p.kind == "resident" for p in snap.people])
    onehot = np.zeros((P, S, A + 1), dtype=bool)
    onehot[np.arange(P)[:, None], np.arange(S)[None, :], np.where(codes >= 0, codes, A)] = True
    onehot = onehot[..., :A]
    needs = np.array([a.needs_supervision for a in acts])
    provides = np.array([a.provides_supervision for a in acts])
    proc = np.array([a.is_procedure for a in acts])
    cap = np.array([a.counts_clinic_capacity for a in acts])
    unit = np.where(pgy == 1, rules.sup_units_pgy1, rules.sup_units_senior) * is_res
    held_needs = onehot[..., needs].sum(axis=2)
    units = (held_needs * unit[:, None]).sum(axis=0) + onehot[..., proc].sum(axis=(0, 2)) * rules.sup_units_procedure
    sups = onehot[..., provides].sum(axis=(0, 2))
    for s in range(S):
        need = supervision_required(int(units[s]), rules)
        if sups[s] < need:
            out.append(Finding("SUP", -1, s // 2, s // 2, float(sups[s]), f"slot {s % 2}, need {need}"))
    count = onehot.sum(axis=0)  # [S, A]
    for a_ in np.flatnonzero(cap):
        for s_ in np.flatnonzero(count[:, a_] > rules.max_clinic_physicians_per_slot):
            out.append(Finding("CAP", -1, int(s_) // 2, int(s_) // 2, float(count[s_, a_]), acts[a_].code))
    req_min = np.asarray(snap.req_min).T  # [S, A]
    short = count < req_min
    for s, a in zip(*np.nonzero(short)):
        out.append(Finding("COV", -1, int(s) // 2, int(s) // 2, float(count[s, a]), acts[a].code))
    eligible = snap.eligible()
    for p, s in zip(*np.nonzero(codes >= 0)):
        if not eligible[p, codes[p, s]]:
            out.append(Finding("QUAL", int(p), int(s) // 2, int(s) // 2, 0.0, acts[codes[p, s]].code))
    span = np.array([a.span_minutes for a in acts]).reshape(-1, 2)
    has_duty = (codes >= 0) & (span[codes.clip(0), np.arange(S) % 2] > 0)
    day_duty = has_duty[:, 0::2] | has_duty[:, 1::2] | (np.asarray(snap.call) == 1)
    absent = np.asarray(snap.absent)
    for p in range(P):
        for first, last in _runs(day_duty[p] & absent[p]):
            out.append(Finding("ABS", p, first, last, float(last - first + 1)))
    away_days = np.asarray(snap.away).sum(axis=1)
    for p in np.flatnonzero((away_days > rules.max_away_days_per_year) & is_res):
        out.append(Finding("AWAY", int(p), 0, snap.n_days - 1, float(away_days[p])))
    return out
