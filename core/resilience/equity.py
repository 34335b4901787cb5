"""EQUITY: is the load fair?

Per person: call nights, weekend days worked, holidays worked, nights (night-float half-days and
in-house call nights), total duty hours -- over the snapshot (give it the academic year to date for
year-to-date figures). Per class (PGY level for residents; faculty; staff) and metric: the Gini
coefficient G = sum_i sum_j |x_i - x_j| / (2 n^2 mean) (target < 0.15), the Lorenz curve, and the
people beyond +-20 % of the class mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.progress import CancelledFn, ProgressFn, check, never, noop
from core.resilience.common import cached, frozen_array
from core.resilience.foundations import foundations
from core.snapshot import CALL_IN_HOUSE, CALL_NONE, ScheduleSnapshot

METRICS = ("call_nights", "weekends", "holidays", "nights", "hours")


def gini(x: Any) -> float:
    """G = sum_i sum_j |x_i - x_j| / (2 n^2 mean); 0 for an empty or all-zero list."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    n = len(v)
    if n == 0 or v.sum() <= 0:
        return 0.0
    # sum_i sum_j |x_i - x_j| = 2 sum_i (2 i - n + 1) x_(i) over the sorted values (i from 0)
    total = 2.0 * float(((2 * np.arange(n) - n + 1) * v).sum())
    return total / (2.0 * n * n * float(v.mean()))


def lorenz(x: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lorenz curve points (population share, load share), both starting at 0."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    n = len(v)
    pop = np.linspace(0.0, 1.0, n + 1)
    tot = v.sum()
    share = np.concatenate([[0.0], np.cumsum(v) / tot]) if tot > 0 else pop.copy()
    return pop, share


@dataclass(frozen=True)
class Params:
    target: float = 0.15
    band: float = 0.20


@dataclass(frozen=True)
class ClassMetric:
    klass: str
    metric: str
    gini: float
    mean: float
    meets_target: bool
    lorenz_x: tuple[float, ...]
    lorenz_y: tuple[float, ...]
    outliers: tuple[tuple[str, float, float], ...]  # (name, value, deviation from class mean)


@dataclass(frozen=True, eq=False)
class EquityResult:
    revision: str
    names: tuple[str, ...]
    classes: tuple[str, ...]  # class of each person
    values: NDArray[np.float64]  # [P, len(METRICS)]
    table: tuple[ClassMetric, ...]

    def gini_of(self, klass: str, metric: str) -> float:
        for row in self.table:
            if row.klass == klass and row.metric == metric:
                return row.gini
        raise KeyError((klass, metric))


def person_metrics(snap: ScheduleSnapshot) -> NDArray[np.float64]:
    f = foundations(snap)
    D = snap.n_days
    worked = f.duty_minutes > 0  # [P, D]
    weekday = np.array([snap.date_of(d).weekday() for d in range(D)])
    weekend = weekday >= 5
    nf = np.array([a.is_night_float for a in snap.activities] + [False], dtype=bool)
    codes = snap.codes.astype(np.int64)
    nights = nf[codes].sum(axis=1) + (snap.call == CALL_IN_HOUSE).sum(axis=1)
    return np.stack([
        (snap.call != CALL_NONE).sum(axis=1),
        (worked | (snap.call != CALL_NONE))[:, weekend].sum(axis=1),
        (worked | (snap.call != CALL_NONE))[:, snap.holiday].sum(axis=1),
        nights,
        f.duty_minutes.sum(axis=1) / 60.0,
    ], axis=1).astype(np.float64)


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> EquityResult:
    params = params or Params()

    def compute() -> EquityResult:
        snap = snapshot
        values = person_metrics(snap)
        classes = tuple(f"PGY-{p.pgy}" if p.kind == "resident" else p.kind for p in snap.people)
        names = tuple(p.name for p in snap.people)
        table = []
        for klass in sorted(set(classes)):
            check(cancelled)
            rows = np.array([i for i, c in enumerate(classes) if c == klass])
            for m, metric in enumerate(METRICS):
                x = values[rows, m]
                mean = float(x.mean())
                g = gini(x)
                lx, ly = lorenz(x)
                out = []
                if mean > 0:
                    dev = x / mean - 1.0
                    for i in np.flatnonzero(np.abs(dev) > params.band + 1e-12).tolist():
                        out.append((names[int(rows[i])], float(x[i]), float(dev[i])))
                table.append(ClassMetric(klass, metric, g, mean, g < params.target, tuple(lx.tolist()),
                                         tuple(ly.tolist()), tuple(out)))
        progress(1.0, "fairness")
        return EquityResult(revision=snap.revision, names=names, classes=classes, values=frozen_array(values),
                            table=tuple(table))

    return cached("equity", snapshot.revision, params, compute, progress)
