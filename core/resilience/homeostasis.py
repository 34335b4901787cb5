"""HOMEOSTASIS: measured metrics against setpoints with tolerances, week by week.

Metrics, each measured per week (7-day steps from the snapshot's first day):
- coverage: half-days staffed up to the minimum / half-days the minimums ask for (0.95 +- 0.05);
- faculty utilization: UTIL of faculty (0.75 +- 0.10);
- weekly-hours spread: standard deviation of residents' weekly duty hours (0 +- 10 h);
- churn: share of assigned half-days edited by hand (`source` manual) -- the snapshot's record of
  changes (0.05 +- 0.05);
- compliance: share of residents without a critical violation in the week (1.0 +- 0.02), from the
  compliance engine.
Severity = |value - setpoint| / tolerance: within (<= 1), minor (<= 2), moderate (<= 3), major (> 3).
A corrective action is suggested when a metric is out of tolerance 3 weeks in a row, or major at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience import util as util_mod
from core.resilience.common import cached, frozen_array
from core.resilience.foundations import foundations
from core.snapshot import KIND_FACULTY, KIND_RESIDENT, SOURCE_MANUAL, ScheduleSnapshot

SETPOINTS = {  # metric: (setpoint, tolerance, corrective action)
    "coverage": (0.95, 0.05, "fill the short slots: call in free qualified people or apply a fallback"),
    "faculty_utilization": (0.75, 0.10, "rebalance faculty clinic and inpatient weeks"),
    "hours_spread": (0.0, 10.0, "even out residents' weekly hours (move half-days from the busiest)"),
    "churn": (0.05, 0.05, "freeze the schedule: too many hand edits; review the causes"),
    "compliance": (1.0, 0.02, "resolve the critical duty-hour violations first"),
}
SEVERITIES = ("within", "minor", "moderate", "major")


def severity(deviation_in_tolerances: float) -> str:
    x = abs(deviation_in_tolerances)
    return "within" if x <= 1 else "minor" if x <= 2 else "moderate" if x <= 3 else "major"


def actions_for(metric: str, values: NDArray[np.float64], setpoint: float, tol: float
                ) -> list[tuple[int, str]]:
    """(week index, action) where the metric is out for the 3rd week in a row, or major at once."""
    out = []
    run = 0
    for w, v in enumerate(values.tolist()):
        if not np.isfinite(v):
            run = 0
            continue
        dev = abs(v - setpoint) / tol
        run = run + 1 if dev > 1 else 0
        if dev > 3 or run >= 3:
            out.append((w, SETPOINTS[metric][2] if metric in SETPOINTS else "review"))
    return out


@dataclass(frozen=True)
class Params:
    pass


@dataclass(frozen=True, eq=False)
class HomeostasisResult:
    revision: str
    week_starts: tuple[str, ...]
    metrics: tuple[str, ...]
    values: NDArray[np.float64]  # [M, W]
    deviation: NDArray[np.float64]  # [M, W] in tolerances (signed)
    actions: tuple[tuple[str, str, str], ...]  # (metric, week start, action)


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> HomeostasisResult:
    params = params or Params()

    def compute() -> HomeostasisResult:
        from core.rules.engine import validate

        snap = snapshot
        f = foundations(snap)
        D = snap.n_days
        W = -(-D // 7)
        slot_week = np.arange(snap.n_slots) // 14
        need = f.req_min
        got = np.minimum(f.staffed, need)
        cov = np.full(W, np.nan)
        for w in range(W):
            tot = need[:, slot_week == w].sum()
            cov[w] = got[:, slot_week == w].sum() / tot if tot else np.nan
        u = util_mod.run(snap, cancelled=cancelled)
        fac = snap.kind == KIND_FACULTY
        with np.errstate(all="ignore"):
            fac_u = np.nanmean(u.person_week[fac], axis=0) if fac.any() else np.full(W, np.nan)
        res = snap.kind == KIND_RESIDENT
        spread = u.assigned_hours[res].std(axis=0) if res.any() else np.full(W, np.nan)
        assigned = snap.codes >= 0
        manual = (snap.source == SOURCE_MANUAL) & assigned
        churn = np.array([manual[:, slot_week == w].sum() / max(assigned[:, slot_week == w].sum(), 1)
                          for w in range(W)])
        progress(0.5, "compliance")
        viol = validate(snap)
        bad = np.zeros((snap.n_people, W), dtype=bool)
        for v in viol.violations:
            if v.severity != "critical" or v.person_id is None:
                continue
            p = snap.person_index[v.person_id]
            a = v.start.date() if hasattr(v.start, "date") and callable(v.start.date) else v.start
            b = v.end.date() if hasattr(v.end, "date") and callable(v.end.date) else v.end
            w0 = max(0, snap.day_of(a) // 7)
            w1 = min(W - 1, snap.day_of(b) // 7)
            bad[p, w0 : w1 + 1] = True
        comp = 1.0 - bad[res].mean(axis=0) if res.any() else np.ones(W)
        metrics = ("coverage", "faculty_utilization", "hours_spread", "churn", "compliance")
        values = np.stack([cov, fac_u, spread, churn, comp]).astype(np.float64)
        dev = np.stack([(values[i] - SETPOINTS[m][0]) / SETPOINTS[m][1] for i, m in enumerate(metrics)])
        weeks = tuple(snap.date_of(7 * w).isoformat() for w in range(W))
        acts = []
        for i, m in enumerate(metrics):
            for w, text in actions_for(m, values[i], *SETPOINTS[m][:2]):
                acts.append((m, weeks[w], text))
        progress(1.0, "setpoints")
        return HomeostasisResult(snap.revision, weeks, metrics, frozen_array(values), frozen_array(dev),
                                 tuple(acts))

    return cached("homeostasis", snapshot.revision, params, compute, progress)
