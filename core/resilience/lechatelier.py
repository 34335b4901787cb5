"""LECHATELIER: apply stress (people out, or a share of one service lost) and find the new equilibrium.

After the repair (`core.resilience.scenario.best_repair`: the solver's repair mode, the greedy
refill only if CP-SAT finds nothing in time):
- coverage = 1 - unfilled / the half-days the minimums ask for (over slots with a minimum);
- compensation: extra duty hours per remaining person, and per person who absorbs;
- weeks until someone breaks H80: a person whose weekly load rises from B to L > limit breaks the
  4-week average after n = 4 (limit - B) / (L - B) weeks (0 when already above);
- hidden cost: the education and clinic hours SHED would cut to cover what stays unfilled.
State: stable (coverage >= 0.9, nobody absorbs past the limits, no load moved), compensating
(coverage >= 0.9, others absorb within limits), stressed (coverage >= 0.8, or someone heads for
H80), unsustainable (coverage >= 0.6), critical (below).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience import shed as shed_mod
from core.resilience.common import cached
from core.resilience.foundations import foundations
from core.resilience.scenario import best_repair, event_snapshot, people_rows
from core.snapshot import ScheduleSnapshot

STATES = ("stable", "compensating", "stressed", "unsustainable", "critical")


@dataclass(frozen=True)
class Params:
    people: tuple[str, ...] = ()
    service: str | None = None  # activity code
    loss: float = 0.0  # share of the people working `service` who are lost
    time_limit: float = 5.0  # seconds of CP-SAT


@dataclass(frozen=True)
class LeChatelierResult:
    revision: str
    removed: tuple[str, ...]
    coverage: float
    required: int
    unfilled: int
    extra_hours_per_person: float
    absorbers: tuple[tuple[str, float], ...]  # (name, extra hours)
    weeks_to_break: float  # inf when nobody gets there
    hidden_cost_hours: float
    state: str


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> LeChatelierResult:
    params = params or Params()

    def compute() -> LeChatelierResult:
        snap = snapshot
        f = foundations(snap)
        rows = set(people_rows(snap, params.people))
        if params.service and params.loss > 0:
            a = next(i for i, x in enumerate(snap.activities) if x.code == params.service)
            held = (snap.codes == a).sum(axis=1)
            staff = [int(p) for p in np.argsort(-held, kind="stable") if held[p] > 0]
            rows |= set(staff[: math.ceil(params.loss * len(staff))])
        rep = best_repair(snap, sorted(rows), cancelled=cancelled, time_limit=params.time_limit)
        progress(0.7, "equilibrium")
        required = int(np.minimum(f.staffed, f.req_min)[f.req_min > 0].sum())
        coverage = 1.0 - rep.unfilled / required if required else 1.0
        # absorbed hours per person
        weeks = max(snap.n_days / 7.0, 1.0)
        extra = np.zeros(snap.n_people)
        for c in rep.changes:
            if c.after_id is not None:
                a = snap.activity_index[c.after_id]
                extra[snap.person_index[c.person_id]] += snap.activities[a].span_minutes[c.slot] / 60.0
        remaining = snap.n_people - len(rows)
        per_person = float(extra.sum() / remaining) if remaining else 0.0
        limit = snap.rules.max_hours_per_week
        base = f.duty_minutes.sum(axis=1) / 60.0 / weeks
        load = base + extra / weeks
        wtb = math.inf
        for p in np.flatnonzero((extra > 0) & f.is_resident).tolist():
            b, lo = float(base[p]), float(load[p])
            if lo <= limit:
                continue
            wtb = min(wtb, 0.0 if b >= limit else 4.0 * (limit - b) / (lo - b))
        hidden = 0.0
        if rep.unfilled:
            per_slot: dict[int, int] = {}
            for day, half, _code, k in rep.gaps:
                s = 2 * snap.day_of(dt.date.fromisoformat(day)) + half
                per_slot[s] = per_slot.get(s, 0) + int(k)
            ev = event_snapshot(snap, sorted(rows))
            cut = shed_mod.run(ev, shed_mod.Params(slots=tuple(sorted(per_slot.items()))))
            hidden = float(sum(c.hours for c in cut.cuts if c.category >= 3))
        over = wtb != math.inf
        if coverage >= 0.9 and not over:
            state = "stable" if extra.sum() == 0 else "compensating"
        elif coverage >= 0.8:
            state = "stressed"
        elif coverage >= 0.6:
            state = "unsustainable"
        else:
            state = "critical"
        absorbers = tuple(sorted(((snap.people[p].name, float(extra[p])) for p in np.flatnonzero(extra).tolist()),
                                 key=lambda t: -t[1]))
        progress(1.0, "done")
        return LeChatelierResult(snap.revision, rep.removed, float(coverage), required, rep.unfilled, per_person,
                                 absorbers, wtb, hidden, state)

    return cached("lechatelier", snapshot.revision, params, compute, progress)

