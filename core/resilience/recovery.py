"""RECOVERY: how far is a broken schedule from a valid one after an event?

The event: people out on a range of days. Recovery distance = the number of changed assignments
that restore coverage (the cleared assignments of the people out, which the absence forces, plus
the refills); with the greedy repair of `core.resilience.scenario` it is an upper bound on the
minimum until the solver's repair mode replaces it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience.common import cached
from core.resilience.scenario import Change, people_rows, repair
from core.snapshot import ScheduleSnapshot


@dataclass(frozen=True)
class Params:
    people: tuple[str, ...] = ()  # ids or names
    first: dt.date | None = None
    last: dt.date | None = None


@dataclass(frozen=True)
class RecoveryResult:
    revision: str
    distance: int
    restored: bool
    unfilled: int
    changes: tuple[Change, ...]
    new_violations: tuple[str, ...]


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> RecoveryResult:
    params = params or Params()

    def compute() -> RecoveryResult:
        snap = snapshot
        rows = people_rows(snap, params.people)
        d0 = 0 if params.first is None else max(0, snap.day_of(params.first))
        d1 = snap.n_days - 1 if params.last is None else min(snap.n_days - 1, snap.day_of(params.last))
        rep, _, _, _ = repair(snap, rows, (d0, d1), cancelled)
        progress(1.0, "recovery")
        return RecoveryResult(snap.revision, rep.n_changes, rep.unfilled == 0, rep.unfilled, rep.changes,
                              rep.new_violations)

    return cached("recovery", snapshot.revision, params, compute, progress)
