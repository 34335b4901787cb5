"""Repair mode: the fewest changed assignments that restore every hard rule after an event.

The event is the one of `core.resilience.scenario.event_snapshot`: people out on a range of days
(their cells and calls there cleared, the days marked absent). The repair is the residency model
(`core.solver.residency`) over those days with every cell's target = what it holds now, so its last
objective term counts changed cells and call nights; fairness and warnings are switched off, so the
objective is coverage first, then the Hamming distance to the current schedule. Warm-started from
the current schedule (the model's hint).

`repair(snapshot, removed, days, cancelled=..., time_limit=...)` has the shape of the greedy stand-in
`core.resilience.scenario.repair` for its first result (a `Repair`), so FALLBACK and RECOVERY can
use `repair(...)[0]`; like the stand-in, only a shortage the event made is charged to it (the minimum
of each slot is capped at what the slot held before the event).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from core.resilience.scenario import Change, Repair, event_snapshot
from core.snapshot import ScheduleSnapshot
from core.solver.residency import GenerateResult, Weights, generate, problem_from_snapshot

REPAIR_WEIGHTS = Weights(coverage_min=1_000_000, coverage_max=0, warning=0, fairness=0, request=0, change=1)


def repair(
    snapshot: ScheduleSnapshot,
    removed: Sequence[int],
    days: tuple[int, int] | None = None,
    cancelled: Callable[[], bool] | None = None,
    *,
    time_limit: float = 10.0,
    workers: int = 2,
) -> tuple[Repair, ScheduleSnapshot, GenerateResult]:
    """Take `removed` (people rows) out on `days` (default: the whole snapshot) and repair with CP-SAT."""
    snap = snapshot
    removed = sorted({int(p) for p in removed})
    d0, d1 = days if days is not None else (0, snap.n_days - 1)
    ev = event_snapshot(snap, removed, (d0, d1))
    # Charge only what the event breaks: minimums capped at what each slot held before.
    A = len(snap.activities)
    held = np.zeros((A, snap.n_slots), dtype=np.int16)
    for a in range(A):
        held[a] = (snap.codes == a).sum(axis=0)
    req_min = np.minimum(snap.req_min, held)
    req_min.setflags(write=False)
    ev = dataclasses.replace(ev, req_min=req_min, req_opt=req_min, call_pools=())
    problem = problem_from_snapshot(ev, d0, d1)
    result = generate(problem, time_limit=time_limit, workers=workers, weights=REPAIR_WEIGHTS,
                      cancelled=cancelled or (lambda: False))
    acts = snap.activities
    changes: list[Change] = []
    for p in removed:
        for s in np.flatnonzero((snap.codes[p] >= 0) & (ev.codes[p] < 0)).tolist():
            a = int(snap.codes[p, s])
            changes.append(Change(snap.people[p].id, snap.people[p].name, snap.date_of(s // 2).isoformat(),
                                  s % 2, acts[a].code, None, acts[a].id, None))
    cleared = len(changes)
    out_ids = {snap.people[p].id for p in removed}
    refills = [c for c in result.changes if c.person_id not in out_ids]  # theirs are the cleared cells
    for c in refills:
        changes.append(Change(c.person_id, c.person, c.date.isoformat(), c.slot, c.before, c.after,
                              c.before_id, c.after_id))
    needed = int(np.maximum(0, req_min - _counts(ev.codes, A)).sum())
    unfilled = sum(u.needed - u.have for u in result.unfilled if u.slot is not None and u.what != "supervision")
    new_violations = tuple(v.message for v in result.violations
                           if v.person_id is not None and v.severity in ("critical", "high"))
    rep = Repair(revision=snap.revision, removed=tuple(snap.people[p].name for p in removed),
                 changes=tuple(changes), cleared=cleared, refilled=len(refills), needed=needed,
                 unfilled=unfilled, new_violations=new_violations)
    return rep, ev, result


def _counts(codes: np.ndarray, A: int) -> np.ndarray:  # type: ignore[type-arg]
    out = np.zeros((A, codes.shape[1]), dtype=np.int64)
    for a in range(A):
        out[a] = (codes == a).sum(axis=0)
    return out
