"""SPC: is someone drifting toward a violation?

Weekly duty hours of each resident as an individuals control chart: centre line = the mean,
sigma = mean moving range / 1.128 (d2 for n = 2). Western Electric rules, each flagged at the point
that completes it:
  1. one point beyond 3 sigma;
  2. two of three consecutive points beyond 2 sigma on the same side;
  3. four of five consecutive points beyond 1 sigma on the same side;
  4. eight consecutive points on the same side of the centre line.
Also P(week > limit) from the fitted normal tail. Only whole weeks are charted (a last partial week
of the snapshot is left out). A series with zero sigma raises no alarm: it never moves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.progress import CancelledFn, ProgressFn, check, never, noop
from core.resilience.common import cached, frozen_array
from core.resilience.foundations import foundations
from core.snapshot import KIND_RESIDENT, ScheduleSnapshot

D2 = 1.128


@dataclass(frozen=True)
class Params:
    pass


def _k_of_n(flag: NDArray[np.bool_], k: int, n: int) -> NDArray[np.bool_]:
    """[..., T]: at t, at least k of the n points ending at t are flagged (needs t >= n - 1)."""
    T = flag.shape[-1]
    c = np.zeros(flag.shape[:-1] + (T + 1,), dtype=np.int64)
    np.cumsum(flag, axis=-1, out=c[..., 1:])
    out = np.zeros(flag.shape, dtype=bool)
    if T >= n:
        window = c[..., n:] - c[..., :-n]
        out[..., n - 1 :] = window >= k
    return out & flag  # the completing point is itself one of the k


def western_electric(x: Any, centre: Any, sigma: Any) -> NDArray[np.bool_]:
    """[..., T, 4] alarms of rules 1-4 for series x (last axis = time) with the given centre/sigma."""
    x = np.asarray(x, dtype=np.float64)
    c = np.asarray(centre, dtype=np.float64)[..., None]
    sg = np.asarray(sigma, dtype=np.float64)[..., None]
    live = sg > 0
    z = np.where(live, (x - c) / np.where(live, sg, 1.0), 0.0)
    r1 = np.abs(z) > 3
    r2 = _k_of_n(z > 2, 2, 3) | _k_of_n(z < -2, 2, 3)
    r3 = _k_of_n(z > 1, 4, 5) | _k_of_n(z < -1, 4, 5)
    r4 = _k_of_n(z > 0, 8, 8) | _k_of_n(z < 0, 8, 8)
    out = np.stack([r1, r2, r3, r4], axis=-1)
    return out & live[..., None]  # type: ignore[no-any-return]


def fit(x: Any) -> tuple[Any, Any]:
    """Centre line and sigma (mean moving range / d2) of each series along the last axis."""
    x = np.asarray(x, dtype=np.float64)
    centre = x.mean(axis=-1)
    if x.shape[-1] < 2:
        return centre, np.zeros_like(centre)
    mr = np.abs(np.diff(x, axis=-1)).mean(axis=-1)
    return centre, mr / D2


def tail_probability(limit: float, centre: Any, sigma: Any) -> Any:
    """P(X > limit) for X ~ Normal(centre, sigma); 0/1 when sigma is 0."""
    centre = np.asarray(centre, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    z = (limit - centre) / np.where(sigma > 0, sigma, 1.0)
    erfc = np.vectorize(math.erfc)
    p = 0.5 * erfc(z / math.sqrt(2.0)) if z.size else np.zeros_like(z)
    return np.where(sigma > 0, p, (centre > limit).astype(np.float64))


@dataclass(frozen=True, eq=False)
class SPCResult:
    revision: str
    names: tuple[str, ...]  # residents charted
    people: NDArray[np.int64]  # snapshot rows of those residents
    week_starts: tuple[str, ...]
    hours: NDArray[np.float64]  # [R, T]
    centre: NDArray[np.float64]  # [R]
    sigma: NDArray[np.float64]
    alarms: NDArray[np.bool_]  # [R, T, 4]
    p_over_limit: NDArray[np.float64]  # [R]
    limit: float

    def alarm_list(self) -> list[tuple[str, str, int]]:
        """(name, week start, rule number) of every alarm."""
        r, t, k = np.nonzero(self.alarms)
        return [(self.names[i], self.week_starts[j], int(q) + 1) for i, j, q in zip(r, t, k)]

    @property
    def rule1_count(self) -> int:
        return int(self.alarms[..., 0].sum())


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> SPCResult:
    params = params or Params()

    def compute() -> SPCResult:
        snap = snapshot
        f = foundations(snap)
        check(cancelled)
        rows = np.flatnonzero(snap.kind == KIND_RESIDENT)
        T = snap.n_days // 7
        daily = f.duty_minutes[rows, : 7 * T] / 60.0
        hours = daily.reshape(len(rows), T, 7).sum(axis=2)
        centre, sigma = fit(hours) if T else (np.zeros(len(rows)), np.zeros(len(rows)))
        alarms = western_electric(hours, centre, sigma) if T else np.zeros((len(rows), 0, 4), dtype=bool)
        limit = snap.rules.max_hours_per_week
        p = tail_probability(limit, centre, sigma) if len(rows) else np.zeros(0)
        progress(1.0, "control charts")
        return SPCResult(
            revision=snap.revision, names=tuple(snap.people[i].name for i in rows.tolist()),
            people=frozen_array(rows), week_starts=tuple(snap.date_of(7 * t).isoformat() for t in range(T)),
            hours=frozen_array(hours), centre=frozen_array(centre), sigma=frozen_array(sigma),
            alarms=frozen_array(alarms), p_over_limit=frozen_array(p), limit=limit,
        )

    return cached("spc", snapshot.revision, params, compute, progress)
