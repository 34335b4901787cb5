"""NK: how many people can a service lose in a slot before it breaks?

k[a, s] = (people staffing a at s + qualified people available to step in) - min[a, s], for every
slot with a minimum. k >= 2 healthy, 1 warning, 0 critical, < 0 already short. This is a head
count by design (the refill of N1/N2 is the answer that checks who can really take which slot).

"Available" is the rule-checked availability of the foundations when the snapshot is short
(`Params.rule_checked_max_days`, default one block and a week), and the structural availability
(free, qualified, not absent, not post-call or on call) on longer snapshots such as a whole academic
year, where one engine check per slot would cost minutes; the result says which it used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.progress import CancelledFn, ProgressFn, check, never, noop
from core.resilience.common import cached, frozen_array
from core.resilience.foundations import availability, foundations
from core.snapshot import ScheduleSnapshot

HEALTHY, WARNING, CRITICAL, SHORT = "healthy", "warning", "critical", "short"


def band(k: int) -> str:
    return HEALTHY if k >= 2 else WARNING if k == 1 else CRITICAL if k == 0 else SHORT


@dataclass(frozen=True)
class Params:
    rule_checked_max_days: int = 35
    thinnest: int = 25


@dataclass(frozen=True)
class ThinSlot:
    activity: str
    day: str
    slot: int
    k: int
    staffed: int
    minimum: int
    band: str


@dataclass(frozen=True, eq=False)
class NKResult:
    revision: str
    services: tuple[str, ...]  # activities with a minimum somewhere
    days: tuple[str, ...]
    k: NDArray[np.float64]  # [services, 2D] NaN where no minimum
    day_k: NDArray[np.float64]  # [services, D] worst slot of the day (the heatmap)
    thinnest: tuple[ThinSlot, ...]
    counts: dict[str, int]
    rule_checked: bool

    @property
    def min_k(self) -> float:
        return float(np.nanmin(self.k)) if np.isfinite(self.k).any() else float("inf")


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> NKResult:
    params = params or Params()

    def compute() -> NKResult:
        snap = snapshot
        f = foundations(snap)
        A, S, D = len(snap.activities), snap.n_slots, snap.n_days
        demanded = f.req_min > 0
        services = np.flatnonzero(demanded.any(axis=1))
        checked = snap.n_days <= params.rule_checked_max_days
        day_of_slot = np.arange(S) // 2
        # structural: free and qualified on the day, for every (a, s)
        cand = np.zeros((A, S), dtype=np.int64)
        for a in services.tolist():
            check(cancelled)
            cand[a] = (f.free & f.qualified[:, a, day_of_slot]).sum(axis=0)
        if checked:
            na, ns = np.nonzero(demanded)
            av = availability(snap)
            av.ensure(na.astype(np.int64), ns.astype(np.int64), cancelled)
            for a, s in zip(na.tolist(), ns.tolist()):
                cand[a, s] = int(av.allowed(a, s).sum())
        k = np.where(demanded, f.staffed + cand - f.req_min, np.nan)[services].astype(np.float64)
        with np.errstate(all="ignore"):
            pair = k.reshape(len(services), D, 2)
            day_k = np.where(np.isnan(pair).all(axis=2), np.nan, np.nanmin(np.where(np.isnan(pair), np.inf, pair),
                                                                         axis=2))
        rows = []
        ii, ss = np.nonzero(np.isfinite(k))
        order = np.lexsort((ss, k[ii, ss]))[: params.thinnest]
        for i, s in zip(ii[order].tolist(), ss[order].tolist()):
            a = int(services[i])
            kk = int(k[i, s])
            rows.append(ThinSlot(snap.activities[a].code, snap.date_of(s // 2).isoformat(), s % 2, kk,
                                 int(f.staffed[a, s]), int(f.req_min[a, s]), band(kk)))
        finite = k[np.isfinite(k)]
        counts = {HEALTHY: int((finite >= 2).sum()), WARNING: int((finite == 1).sum()),
                  CRITICAL: int((finite == 0).sum()), SHORT: int((finite < 0).sum())}
        progress(1.0, "N+k")
        return NKResult(
            revision=snap.revision, services=tuple(snap.activities[a].code for a in services.tolist()),
            days=tuple(snap.date_of(d).isoformat() for d in range(D)), k=frozen_array(k),
            day_k=frozen_array(day_k), thinnest=tuple(rows), counts=counts, rule_checked=checked,
        )

    return cached("nk", snapshot.revision, params, compute, progress)
