"""Foundations of every analysis: qualification matrix, requirement table, availability.

- `Foundations.qualified[p, a, d]`: may person p hold activity a on day d (role, PGY level, the
  activity's eligibility and credentials valid on that day) -- the compliance engine's own tables
  (`core.rules.duty.rule_context`), so QUAL and the analyses never disagree.
- `Foundations.req_min/req_opt/req_max[a, s]` and `staffed[a, s]`: the requirement table and how
  many people hold each activity in each slot.
- `Foundations.free[p, s]`: structurally available -- not absent that day, nothing with duty
  assigned in the slot (empty or a day-off activity), not post-call (a post-call activity or the day
  after an in-house call), not on in-house call that day.
- `Availability`: the rule-checked part. `allowed(p, a, s)` = free, qualified, and *adding the slot
  keeps the person within the duty-hour rules*, decided by the compliance engine's incremental
  check (`core.rules.engine.check_change`): the slot is refused when the change would add a
  critical or high duty-hour violation (H80, OFF7, C24, R14, Q3, NF, HC); warnings (H80W, R8) do not
  refuse it. One `check_change` per (person, slot) pair would be too slow for the N-2 inner loop, so
  the checks are batched -- each engine call proposes one slot to many people at once, each person
  at most once per call -- and the answers are kept per snapshot (an eligibility matrix computed
  once, on the slots a question needs) and reused by every scenario.
- `capacity[p]`: how many refilled half-days one person may absorb in one scenario. Each slot is
  checked alone by the engine; a combination is bounded by the person's H80 headroom (the smallest
  gap to the weekly limit over the averaging windows, from the engine's duty minutes) divided by the
  longest span the person could be asked to take. Faculty and staff are not under the duty-hour
  rules: their capacity is the number of slots they are free for.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.rules.duty import duty_intervals, rule_context
from core.rules.engine import ProposedChange, check_change
from core.snapshot import CALL_IN_HOUSE, KIND_RESIDENT, ScheduleSnapshot

B = NDArray[np.bool_]
I64 = NDArray[np.int64]

# Rules whose critical/high violations make a refill slot unacceptable for a person.
DUTY_RULES = frozenset({"H80", "OFF7", "C24", "R14", "Q3", "NF", "HC", "ABS"})
BLOCKING_SEVERITIES = frozenset({"critical", "high"})
FREE_CATEGORIES = frozenset({"off"})  # a day off can be called in; leave and post-call cannot
NOT_FREE_CATEGORIES = frozenset({"leave", "postcall"})


@dataclass(frozen=True, eq=False)
class Foundations:
    revision: str
    qualified: B  # [P, A, D]
    req_min: I64  # [A, S]
    req_opt: I64  # [A, S]
    req_max: I64  # [A, S]
    staffed: I64  # [A, S]
    free: B  # [P, S]
    duty_minutes: I64  # [P, D] the engine's duty minutes per local day
    headroom_minutes: NDArray[np.float64]  # [P] to the H80 limit over the worst window (inf: not a resident)
    span_minutes: I64  # [A, 2] duty length of each activity in AM / PM
    group: I64  # [A, 2] span group of each activity in AM / PM (same span and night-float flag)
    is_resident: B  # [P]

    def qualified_any(self) -> B:
        """[P, A]: qualified on at least one day of the snapshot."""
        return self.qualified.any(axis=2)  # type: ignore[return-value]


_FOUNDATIONS: weakref.WeakKeyDictionary[ScheduleSnapshot, Foundations] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()


def foundations(snap: ScheduleSnapshot) -> Foundations:
    """The foundations of a snapshot (built once per snapshot object)."""
    with _LOCK:
        hit = _FOUNDATIONS.get(snap)
    if hit is not None:
        return hit
    built = _build(snap)
    with _LOCK:
        _FOUNDATIONS[snap] = built
    return built


def _build(snap: ScheduleSnapshot) -> Foundations:
    ctx = rule_context(snap)
    P, A, D, S = snap.n_people, len(snap.activities), snap.n_days, snap.n_slots
    qualified = np.repeat(ctx.eligible_static[:, :A, None], D, axis=2)
    if ctx.credential_ok is not None:
        qualified &= ctx.credential_ok[:, :A, :]
    codes = snap.codes.astype(np.int64)
    staffed = np.zeros((A, S), dtype=np.int64)
    if P and A:
        flat = np.where(codes >= 0, codes * S + np.arange(S)[None, :], -1).ravel()
        flat = flat[flat >= 0]
        staffed = np.bincount(flat, minlength=A * S).reshape(A, S).astype(np.int64)

    category = [a.category for a in snap.activities]
    _, span_len = snap.span_arrays()
    free_cat = np.array([c in FREE_CATEGORIES for c in category] + [True], dtype=bool)
    blocked_cat = np.array([c in NOT_FREE_CATEGORIES for c in category] + [False], dtype=bool)
    free = free_cat[codes]  # index -1 = nothing assigned = free
    day_blocked = snap.absent | (snap.call == CALL_IN_HOUSE)
    post_call = np.zeros((P, D), dtype=bool)
    post_call[:, 1:] = snap.call[:, :-1] == CALL_IN_HOUSE
    pc_activity = blocked_cat[codes]
    pc_day = pc_activity[:, 0::2] | pc_activity[:, 1::2]
    day_blocked = day_blocked | post_call | pc_day
    free &= ~np.repeat(day_blocked, 2, axis=1)

    duty = duty_intervals(snap)
    daily = duty.daily.astype(np.int64)
    ws, we = ctx.windows
    head = np.full(P, np.inf)
    res = ctx.is_resident
    if len(ws) and res.any():
        cum = np.zeros((P, D + 1), dtype=np.int64)
        np.cumsum(daily, axis=1, out=cum[:, 1:])
        minutes = cum[:, we + 1] - cum[:, ws]
        length = (we - ws + 1).astype(np.float64)
        limit = snap.rules.max_hours_per_week * 60.0 * length / 7.0
        head_res = (limit[None, :] - minutes).min(axis=1)
        head[res] = np.maximum(head_res[res], 0.0)

    span_start, _ = snap.span_arrays()
    nf = np.array([a.is_night_float for a in snap.activities], dtype=bool)
    keys: dict[tuple[int, int, bool], int] = {}
    group = np.zeros((A, 2), dtype=np.int64)
    for a in range(A):
        for h in (0, 1):
            key = (int(span_start[a, h]), int(span_len[a, h]), bool(nf[a]))
            group[a, h] = keys.setdefault(key, len(keys))

    return Foundations(
        revision=snap.revision, qualified=qualified, req_min=snap.req_min.astype(np.int64),
        req_opt=snap.req_opt.astype(np.int64), req_max=snap.req_max.astype(np.int64), staffed=staffed,
        free=free, duty_minutes=daily, headroom_minutes=head, span_minutes=span_len.astype(np.int64),
        group=group, is_resident=snap.kind == KIND_RESIDENT,
    )


# ------------------------------------------------------------------------------- availability
@dataclass(eq=False)
class Availability:
    """Rule-checked availability, filled on demand and kept for the snapshot's lifetime.

    `ok[(g, s)]` is a [P] boolean: adding a slot of span group g at slot s to each person keeps
    them within the duty-hour rules (only people who are free at s are ever checked).
    """

    snap: ScheduleSnapshot
    found: Foundations
    ok: dict[tuple[int, int], B] = field(default_factory=dict)
    engine_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure(self, nodes_a: I64, nodes_s: I64, cancelled: Any = None) -> None:
        """Check, with the engine, every free qualified person for each node (activity, slot)."""
        snap, f = self.snap, self.found
        pending: dict[tuple[int, int], int] = {}
        for a, s in zip(nodes_a.tolist(), nodes_s.tolist()):
            key = (int(f.group[a, s % 2]), s)
            if key not in self.ok and key not in pending:
                pending[key] = a
        if not pending:
            return
        # Who is checked for a (group, slot): free people qualified for an activity of the group
        # that is demanded there.
        members: dict[tuple[int, int], list[int]] = {}
        for a, s in zip(nodes_a.tolist(), nodes_s.tolist()):
            key = (int(f.group[a, s % 2]), s)
            if key in pending:
                members.setdefault(key, []).append(a)
        triples: list[tuple[int, int, int, tuple[int, int]]] = []  # (person, slot, activity, key)
        results: dict[tuple[int, int], B] = {}
        for key, acts in members.items():
            g, s = key
            d = s // 2
            who = f.free[:, s] & f.qualified[:, acts, d].any(axis=1)
            results[key] = np.zeros(snap.n_people, dtype=bool)
            rep = acts[0]
            for p in np.flatnonzero(who).tolist():
                triples.append((p, s, rep, key))
        if triples:
            # batch k holds each person's k-th pending check: one engine call per batch
            triples.sort(key=lambda t: (t[0], t[1]))
            rank: list[int] = []
            last, k = -1, 0
            for p, _, _, _ in triples:
                k = k + 1 if p == last else 0
                last = p
                rank.append(k)
            batches: dict[int, list[tuple[int, int, int, tuple[int, int]]]] = {}
            for r, t in zip(rank, triples):
                batches.setdefault(r, []).append(t)
            for batch in batches.values():
                if cancelled is not None and cancelled():
                    from core.errors import Cancelled

                    raise Cancelled("The computation was cancelled.")
                change = ProposedChange(assignments=tuple(
                    (snap.people[p].id, snap.date_of(s // 2), s % 2, snap.activities[a].id)
                    for p, s, a, _ in batch
                ))
                checked = check_change(snap, change)
                self.engine_calls += 1
                refused = {
                    v.person_id for v in checked.added
                    if v.person_id is not None and v.rule in DUTY_RULES and v.severity in BLOCKING_SEVERITIES
                }
                for p, _, _, key in batch:
                    if snap.people[p].id not in refused:
                        results[key][p] = True
        with self.lock:
            for key, arr in results.items():
                arr.setflags(write=False)
                self.ok[key] = arr

    def allowed(self, a: int, s: int) -> B:
        """[P]: free, qualified for a on the slot's day, and within the rules (after `ensure`)."""
        f = self.found
        key = (int(f.group[a, s % 2]), s)
        return self.ok[key] & f.free[:, s] & f.qualified[:, a, s // 2]  # type: ignore[no-any-return]


_AVAIL: weakref.WeakKeyDictionary[ScheduleSnapshot, Availability] = weakref.WeakKeyDictionary()


def availability(snap: ScheduleSnapshot) -> Availability:
    """The rule-checked availability of a snapshot (shared by every analysis on it)."""
    with _LOCK:
        hit = _AVAIL.get(snap)
        if hit is None:
            hit = Availability(snap, foundations(snap))
            _AVAIL[snap] = hit
        return hit


def structural_count(found: Foundations, a: int, s: int) -> int:
    """People free and qualified for (a, s), without the duty-hour check."""
    return int((found.free[:, s] & found.qualified[:, a, s // 2]).sum())
