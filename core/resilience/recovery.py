"""RECOVERY: how far is a broken schedule from a valid one after an event?

The event: people out on a range of days. Recovery distance = the number of changed assignments
that restore coverage (the cleared assignments of the people out, which the absence forces, plus
the refills and moves), from the solver's repair mode (`core.solver.repair` through
`core.resilience.scenario.best_repair`): the minimum within the half-days the event vacated when the
solver reports "optimal" (`RecoveryResult.method`, `status`); the greedy refill, an upper bound,
only if CP-SAT finds nothing in its time limit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience.common import cached
from core.resilience.scenario import Change, best_repair, people_rows
from core.snapshot import ScheduleSnapshot


@dataclass(frozen=True)
class Params:
    people: tuple[str, ...] = ()  # ids or names
    first: dt.date | None = None
    last: dt.date | None = None
    time_limit: float = 10.0  # seconds of CP-SAT


@dataclass(frozen=True)
class RecoveryResult:
    revision: str
    distance: int
    restored: bool
    unfilled: int
    changes: tuple[Change, ...]
    new_violations: tuple[str, ...]
    method: str = "cp-sat"
    status: str = ""


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> RecoveryResult:
    params = params or Params()

    def compute() -> RecoveryResult:
        snap = snapshot
        rows = people_rows(snap, params.people)
        d0 = 0 if params.first is None else max(0, snap.day_of(params.first))
        d1 = snap.n_days - 1 if params.last is None else min(snap.n_days - 1, snap.day_of(params.last))
        rep = best_repair(snap, rows, (d0, d1), cancelled, time_limit=params.time_limit)
        progress(1.0, "recovery")
        return RecoveryResult(snap.revision, rep.n_changes, rep.unfilled == 0, rep.unfilled, rep.changes,
                              rep.new_violations, rep.method, rep.status)

    return cached("recovery", snapshot.revision, params, compute, progress)
