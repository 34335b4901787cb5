"""Repair mode: the fewest changed assignments that restore coverage after an event.

The event is the one of `core.resilience.scenario.event_snapshot`: people out on a range of days
(their cells and calls there cleared, the days marked absent). The repair is the residency model
(`core.solver.residency`) with every cell's target = what it holds now (an empty cell's target is
OFF, or leave on an absence), so its last objective term counts changed cells; fairness and
warnings are switched off, so the objective is coverage first, then the Hamming distance to the
current schedule. Warm-started from the current schedule (the model's hint).

The neighbourhood: the decisions are, at each half-day the event vacated, the cells of the people who
may hold what it emptied, and of the people who may take one of those people's places (so moves
inside a half-day, one link of a chain: B leaves ICU for the ward, C takes B's ICU place); every
other cell is held fixed. The duty-hour rules are the model's, checked over the whole
snapshot; where the fixed cells already break a window, the model does not make it worse. A breach
that existed before the event is therefore neither charged to it nor "repaired" by it. Within that
neighbourhood the result is the minimum number of changes (when the status is optimal).

`repair(snapshot, removed, days, cancelled=..., time_limit=...)` has the shape of the greedy
`core.resilience.scenario.repair` for its first result (a `Repair`); like it, only a shortage the
event made is charged to it (the minimum of each slot is capped at what the slot held before).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from core.resilience.scenario import Change, Repair, event_snapshot
from core.rules.engine import ProposedChange, check_change
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
    A = len(snap.activities)
    held = _counts(snap.codes, A)
    # Charge only what the event breaks: minimums capped at what each slot held before.
    req_min = np.minimum(snap.req_min, held).astype(snap.req_min.dtype)
    req_min.setflags(write=False)
    vacated = ((snap.codes >= 0) & (ev.codes < 0)).any(axis=0)  # [2D] half-days the event emptied
    out_rows = np.zeros(snap.n_people, dtype=bool)
    out_rows[removed] = True
    locked = np.ones_like(snap.locked, dtype=bool)
    elig = snap.eligible()  # [P, A]
    for s in np.flatnonzero(vacated).tolist():
        lost = np.unique(snap.codes[out_rows, s])
        lost = lost[lost >= 0]
        movers = elig[:, lost].any(axis=1) & ~out_rows  # may take what the event emptied
        held_by = np.unique(ev.codes[movers, s])
        held_by = held_by[held_by >= 0]
        movers |= elig[:, held_by].any(axis=1) & ~out_rows  # may take a mover's place
        locked[movers, s] = False
    locked |= np.asarray(snap.locked, dtype=bool)
    locked.setflags(write=False)
    ev = dataclasses.replace(ev, req_min=req_min, req_opt=req_min, call_pools=(), locked=locked)
    acts = snap.activities
    off = next((i for i, a in enumerate(acts) if a.category == "off"), -1)
    leave = next((i for i, a in enumerate(acts) if a.category == "leave"), off)
    free = (off, leave)
    target = np.array(ev.codes, dtype=np.int16)
    empty = target < 0
    absent_slots = np.repeat(np.asarray(ev.absent, dtype=bool), 2, axis=1)
    target[empty & absent_slots] = leave
    target[empty & ~absent_slots] = off
    vac_days = np.flatnonzero(vacated) // 2
    p0, p1 = (int(vac_days.min()), int(vac_days.max())) if len(vac_days) else (d0, d0)
    problem = problem_from_snapshot(ev, p0, p1, target=target)
    result = generate(problem, time_limit=time_limit, workers=workers, weights=REPAIR_WEIGHTS,
                      cancelled=cancelled or (lambda: False))
    changes: list[Change] = []
    for p in removed:
        for s in np.flatnonzero((snap.codes[p] >= 0) & (ev.codes[p] < 0)).tolist():
            a = int(snap.codes[p, s])
            changes.append(Change(snap.people[p].id, snap.people[p].name, snap.date_of(s // 2).isoformat(),
                                  s % 2, acts[a].code, None, acts[a].id, None))
    cleared = len(changes)
    out_ids = {snap.people[p].id for p in removed}
    free_ids = {acts[a].id for a in free if a >= 0}
    refills = [c for c in result.changes if c.person_id not in out_ids  # theirs are the cleared cells
               and not (c.before_id is None and c.after_id in free_ids)]  # an empty cell left free
    for c in refills:
        changes.append(Change(c.person_id, c.person, c.date.isoformat(), c.slot, c.before, c.after,
                              c.before_id, c.after_id))
    needed = int(np.maximum(0, req_min - _counts(ev.codes, A)).sum())
    after = ev.codes if result.codes is None else result.codes
    missing = np.maximum(0, req_min - _counts(after, A))  # [A, 2D]; zero where the event emptied nothing
    gaps = tuple((snap.date_of(int(s) // 2).isoformat(), int(s) % 2, acts[int(a)].code, int(missing[a, s]))
                 for a, s in zip(*np.nonzero(missing)))
    unfilled = int(missing.sum())
    new_violations: tuple[str, ...] = ()
    if refills:
        checked = check_change(ev, ProposedChange(assignments=tuple(
            (c.person_id, c.date, c.slot, c.after_id) for c in refills)))
        new_violations = tuple(v.message for v in checked.added
                               if v.person_id is not None and v.severity in ("critical", "high"))
    rep = Repair(revision=snap.revision, removed=tuple(snap.people[p].name for p in removed),
                 changes=tuple(changes), cleared=cleared, refilled=len(refills), needed=needed,
                 unfilled=unfilled, new_violations=new_violations, method="cp-sat", status=result.status,
                 gaps=gaps)
    return rep, ev, result


def _counts(codes: np.ndarray, A: int) -> np.ndarray:  # type: ignore[type-arg]
    out = np.zeros((A, codes.shape[1]), dtype=np.int64)
    for a in range(A):
        out[a] = (codes == a).sum(axis=0)
    return out
