"""Duty spans -> merged duty intervals, continuous periods and per-day duty minutes (RULES.md time model).

All times are elapsed minutes since local midnight of the snapshot's first day, through the
program's time zone (`ScheduleSnapshot.abs_minutes`), so a 24 h call across the November change
lasts 25 h and one across the March change 23 h.

Everything here is vectorized over all people at once: intervals of every person live in flat
arrays sorted by (person, start); a person's intervals are kept apart from the next person's by
adding `person * stride` to their times, which lets one `np.maximum.accumulate` merge every
person's spans and one `np.searchsorted` measure duty in every day of every person.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.snapshot import (
    CALL_BACKUP,
    CALL_HOME,
    CALL_IN_HOUSE,
    KIND_FACULTY,
    KIND_RESIDENT,
    ScheduleSnapshot,
)

I64 = NDArray[np.int64]
B = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class RuleContext:
    """Per-snapshot lookup tables the rules share (built once per snapshot, then cached).

    Activity arrays have one extra entry at the end (index -1) for "nothing assigned", so
    `table[codes]` works without masking.
    """

    n_days: int
    stride: int  # added per person to keep people's times apart
    day_bounds: I64  # [D + 2] elapsed minute of local midnight of day 0 .. D + 1
    slot_start: I64  # [A + 1, 2D] elapsed start of each activity's span in each slot
    slot_end: I64  # [A + 1, 2D]
    in_house_start: I64  # [D]
    in_house_end: I64  # [D]
    home_start: I64  # [D]
    has_span: B  # [A + 1, 2] the activity has a duty span in AM / PM
    night_float: B  # [A + 1]
    needs_supervision: B  # [A + 1]
    provides_supervision: B  # [A + 1]
    counts_capacity: B  # [A + 1]
    procedure: B  # [A + 1]
    inpatient: B  # [A + 1]
    kind: NDArray[np.int8]  # [P]
    pgy: NDArray[np.int8]  # [P]
    is_resident: B  # [P]
    is_faculty: B  # [P]
    slot_group: NDArray[np.int8]  # [P] 0 other, 1 PGY-1 resident, 2 senior resident, 3 faculty (SUP/CAP)
    eligible_static: B  # [P, A + 1] kind and PGY allow the activity (credentials apart)
    credential_ok: B | None  # [P, A + 1, D] credential valid on the day (None: no activity needs one)
    needs_credential: B  # [A + 1]
    academic_year_of_day: NDArray[np.int32]  # [D]
    academic_years: tuple[tuple[int, int, int], ...]  # (start year, first day, last day) in the snapshot
    windows: tuple[I64, I64]  # averaging windows: first and last day index (inclusive)


_CACHE: weakref.WeakKeyDictionary[ScheduleSnapshot, RuleContext] = weakref.WeakKeyDictionary()
# The tables depend only on a snapshot's structure (dates, time zone, people, activities,
# credentials, blocks, rules), never on its schedule arrays, so the snapshots made after each
# edit of the same program share them: a small cache keyed by that structure.
_BY_STRUCTURE: dict[tuple[Any, ...], RuleContext] = {}
_BY_STRUCTURE_SIZE = 8
_LOCK = threading.Lock()


def _structure_key(snap: ScheduleSnapshot) -> tuple[Any, ...]:
    return (snap.start, snap.end, snap.time_zone, snap.utc_offset.tobytes(), snap.people, snap.activities,
            snap.credentials, snap.blocks, snap.rules)


def slot_groups(kind: Any, pgy: Any) -> NDArray[np.int8]:
    """The group each person counts in for the slot-level rules (SUP, CAP, COV): 0 other, 1 PGY-1
    resident, 2 senior resident, 3 faculty; `kind` as KIND_* codes, `pgy` 0 for non-residents."""
    kind, pgy = np.asarray(kind), np.asarray(pgy)
    return np.where(kind == KIND_FACULTY, 3, np.where(kind == KIND_RESIDENT, np.where(pgy == 1, 1, 2), 0)).astype(np.int8)


def rule_context(snap: ScheduleSnapshot) -> RuleContext:
    """The lookup tables of a snapshot (cached per snapshot object and per snapshot structure)."""
    ctx = _CACHE.get(snap)
    if ctx is None:
        key = _structure_key(snap)
        with _LOCK:
            ctx = _BY_STRUCTURE.pop(key, None)
        if ctx is None:
            ctx = _build_context(snap)
        with _LOCK:
            _BY_STRUCTURE[key] = ctx  # most recently used last
            while len(_BY_STRUCTURE) > _BY_STRUCTURE_SIZE:
                del _BY_STRUCTURE[next(iter(_BY_STRUCTURE))]
            _CACHE[snap] = ctx
    return ctx


def _activity_flag(snap: ScheduleSnapshot, attr: str) -> B:
    return np.array([bool(getattr(a, attr)) for a in snap.activities] + [False], dtype=bool)


def _build_context(snap: ScheduleSnapshot) -> RuleContext:
    rules = snap.rules
    D, A, P = snap.n_days, len(snap.activities), snap.n_people
    days = np.arange(D, dtype=np.int64)
    day_bounds = np.asarray(snap.abs_minutes(np.arange(D + 2), 0), dtype=np.int64)
    span_start, span_len = snap.span_arrays()
    slot_start = np.zeros((A + 1, 2 * D), dtype=np.int64)
    slot_end = np.zeros((A + 1, 2 * D), dtype=np.int64)
    for half in (0, 1):
        if A:
            st = span_start[:, half].astype(np.int64)[:, None]
            ln = span_len[:, half].astype(np.int64)[:, None]
            s = snap.abs_minutes(days[None, :], st)
            e = snap.abs_minutes(days[None, :], st + ln)
            slot_start[:A, half::2] = s
            slot_end[:A, half::2] = np.where(ln > 0, e, s)
    has_span = np.zeros((A + 1, 2), dtype=bool)
    has_span[:A] = span_len > 0
    in_house_start = np.asarray(snap.abs_minutes(days, rules.in_house_call_start), dtype=np.int64)
    in_house_end = np.asarray(
        snap.abs_minutes(days, rules.in_house_call_start + rules.in_house_call_minutes), dtype=np.int64
    )
    home_start = np.asarray(snap.abs_minutes(days, rules.home_call_start), dtype=np.int64)

    kind = snap.kind
    pgy = snap.pgy
    elig = np.zeros((P, A + 1), dtype=bool)
    elig[:, A] = True
    for a, act in enumerate(snap.activities):
        ok = np.array([p.kind in act.eligible_kinds for p in snap.people], dtype=bool)
        if act.eligible_pgy:
            ok &= (kind != KIND_RESIDENT) | np.isin(pgy, np.array(act.eligible_pgy))
        elig[:, a] = ok

    credential_ok: B | None = None
    needed = {act.required_credential for act in snap.activities if act.required_credential}
    if needed and P:
        held: dict[str, B] = {what: np.zeros((P, D), dtype=bool) for what in needed}
        for c in snap.credentials:
            if c.what not in held:
                continue
            d0 = 0 if c.valid_from is None else max(0, snap.day_of(c.valid_from))
            d1 = D - 1 if c.valid_to is None else min(D - 1, snap.day_of(c.valid_to))
            if d1 >= d0:
                held[c.what][c.person, d0 : d1 + 1] = True
        credential_ok = np.ones((P, A + 1, D), dtype=bool)
        for a, act in enumerate(snap.activities):
            if act.required_credential:
                credential_ok[:, a, :] = held[act.required_credential]

    ay = np.array(
        [(snap.date_of(d).year if snap.date_of(d).month >= 7 else snap.date_of(d).year - 1) for d in range(D)],
        dtype=np.int32,
    )
    if rules.window_mode == "block":
        spans = [(b.start, b.end) for b in snap.blocks if b.start >= 0 and b.end <= D - 1]
        ws = np.array([s for s, _ in spans], dtype=np.int64)
        we = np.array([e for _, e in spans], dtype=np.int64)
    else:
        W = rules.window_days
        ws = np.arange(max(0, D - W + 1), dtype=np.int64)
        we = ws + W - 1
    return RuleContext(
        n_days=D,
        stride=int((D + 8) * 1440 * 2),
        day_bounds=day_bounds,
        slot_start=slot_start,
        slot_end=slot_end,
        in_house_start=in_house_start,
        in_house_end=in_house_end,
        home_start=home_start,
        has_span=has_span,
        night_float=_activity_flag(snap, "is_night_float"),
        needs_supervision=_activity_flag(snap, "needs_supervision"),
        provides_supervision=_activity_flag(snap, "provides_supervision"),
        counts_capacity=_activity_flag(snap, "counts_clinic_capacity"),
        procedure=_activity_flag(snap, "is_procedure"),
        inpatient=np.array([a.category == "inpatient" for a in snap.activities] + [False], dtype=bool),
        kind=kind,
        pgy=pgy,
        is_resident=kind == KIND_RESIDENT,
        is_faculty=kind == KIND_FACULTY,
        slot_group=slot_groups(kind, pgy),
        eligible_static=elig,
        credential_ok=credential_ok,
        needs_credential=np.array([bool(a.required_credential) for a in snap.activities] + [False], dtype=bool),
        academic_year_of_day=ay,
        academic_years=tuple(
            (int(y), int(np.flatnonzero(ay == y)[0]), int(np.flatnonzero(ay == y)[-1])) for y in np.unique(ay)
        ),
        windows=(ws, we),
    )


@dataclass(frozen=True)
class DutyIntervals:
    """Merged duty of a set of people, as flat arrays sorted by (person, start).

    `person` is the row in the arrays the intervals were built from (0..n-1). `start`/`end` are
    elapsed minutes. A *period* is a maximal run of spans that touch or overlap (RULES.md C24).
    `clinical` is the part of each period that is not transition time after an in-house call.
    """

    person: I64
    start: I64
    end: I64
    clinical: I64
    daily: I64  # [n, D] duty minutes in each local calendar day

    def for_person(self, row: int) -> list[tuple[int, int]]:
        sel = self.person == row
        return list(zip(self.start[sel].tolist(), self.end[sel].tolist()))


def raw_spans(
    ctx: RuleContext, codes: Any, call: Any, call_hours: Any, transition_minutes: int
) -> tuple[I64, I64, I64, B]:
    """Every duty span of the given rows: (person row, start, end, is_transition), unsorted.

    Slot spans come out in (row, slot) order, so the spans are nearly sorted by (row, start).
    """
    n, S = codes.shape
    rows = np.arange(n, dtype=np.int64)
    # One flat gather of the span table per slot: index = activity * S + slot ("nothing" = last row).
    idx = codes.astype(np.intp)
    idx[idx < 0] = ctx.slot_start.shape[0] - 1
    idx *= S
    idx += np.arange(S, dtype=np.intp)
    st = ctx.slot_start.take(idx)
    en = ctx.slot_end.take(idx)
    keep = en > st
    p1 = np.repeat(rows, keep.sum(axis=1))
    st1, en1 = st[keep], en[keep]

    D = call.shape[1]
    ih = call == CALL_IN_HOUSE
    p2 = np.repeat(rows, ih.sum(axis=1))
    d2 = np.flatnonzero(ih) % D
    st2 = ctx.in_house_start[d2]
    en2 = ctx.in_house_end[d2]
    if transition_minutes > 0:
        p3, st3, en3 = p2, en2, en2 + transition_minutes
    else:
        p3 = st3 = en3 = np.zeros(0, dtype=np.int64)

    home = (call == CALL_HOME) | (call == CALL_BACKUP)
    if home.any():
        hours = np.asarray(call_hours, dtype=np.float64)
        worked = home & (hours > 0)  # NaN (not entered) compares False
        p4 = np.repeat(rows, worked.sum(axis=1))
        flat4 = np.flatnonzero(worked)
        st4 = ctx.home_start[flat4 % D]
        en4 = st4 + np.rint(hours.ravel()[flat4] * 60).astype(np.int64)
    else:
        p4 = st4 = en4 = np.zeros(0, dtype=np.int64)

    person = np.concatenate([p1, p2, p3, p4])
    start = np.concatenate([st1, st2, st3, st4])
    end = np.concatenate([en1, en2, en3, en4])
    trans = np.zeros(len(person), dtype=bool)
    trans[len(p1) + len(p2) : len(p1) + len(p2) + len(p3)] = True
    return person, start, end, trans


def merge(person: I64, start: I64, end: I64, stride: int) -> tuple[I64, I64, I64]:
    """Union of intervals per person (touching intervals join). Returns sorted (person, start, end)."""
    if len(person) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    off = person * stride
    s = start + off
    e = end + off
    order = np.argsort(s, kind="stable")  # person offsets make a plain sort by s group people
    s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    new = np.empty(len(s), dtype=bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    first = np.flatnonzero(new)
    pe = np.maximum.reduceat(e, first)
    ps = s[first]
    pp = person[order[first]]
    off = pp * stride
    return pp, ps - off, pe - off


def duty_minutes_by_day(ctx: RuleContext, person: I64, start: I64, end: I64, n_rows: int) -> I64:
    """[n_rows, D] minutes of (merged, disjoint) duty falling in each local calendar day."""
    D = ctx.n_days
    if len(person) == 0 or n_rows == 0:
        return np.zeros((n_rows, D), dtype=np.int64)
    stride = ctx.stride
    s = start + person * stride
    length = end - start
    cum = np.concatenate([[0], np.cumsum(length)])
    q = (np.arange(n_rows, dtype=np.int64) * stride)[:, None] + ctx.day_bounds[None, : D + 1]
    idx = np.searchsorted(s, q, side="right") - 1
    safe = np.maximum(idx, 0)
    inside = np.clip(q - s[safe], 0, length[safe])
    F = np.where(idx >= 0, cum[safe] + inside, 0)
    return np.diff(F, axis=1)


def duty_intervals_rows(
    ctx: RuleContext, codes: Any, call: Any, call_hours: Any, transition_minutes: int
) -> DutyIntervals:
    """Merged duty intervals, periods with their clinical minutes, and daily minutes for some rows."""
    n = codes.shape[0]
    person, start, end, trans = raw_spans(ctx, codes, call, call_hours, transition_minutes)
    if trans.any():
        # Union of the clinical spans first, then of those with the transitions (a union of unions).
        nt = ~trans
        cp, cs, ce = merge(person[nt], start[nt], end[nt], ctx.stride)
        pp, ps, pe = merge(np.concatenate([cp, person[trans]]), np.concatenate([cs, start[trans]]),
                           np.concatenate([ce, end[trans]]), ctx.stride)
        owner = np.searchsorted(ps + pp * ctx.stride, cs + cp * ctx.stride, side="right") - 1
        clinical = np.bincount(owner, weights=(ce - cs), minlength=len(pp)).astype(np.int64)
    else:
        pp, ps, pe = merge(person, start, end, ctx.stride)
        clinical = pe - ps
    daily = duty_minutes_by_day(ctx, pp, ps, pe, n)
    return DutyIntervals(person=pp, start=ps, end=pe, clinical=clinical, daily=daily)


def duty_intervals(snap: ScheduleSnapshot) -> DutyIntervals:
    """Every person's merged duty intervals (elapsed minutes) for the whole snapshot.

    Spans come from each slot's activity (its span per slot), in-house calls (RuleValues
    in_house_call_start / in_house_call_minutes, then the scheduled transition) and home or backup
    calls (the hours actually worked, placed from home_call_start).
    """
    ctx = rule_context(snap)
    return duty_intervals_rows(
        ctx, snap.codes, snap.call, snap.call_hours, int(round(snap.rules.scheduled_transition_hours * 60))
    )
