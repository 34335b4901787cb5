"""UTIL: how loaded is each person, service and week?

u = assigned duty hours / available duty hours. Assigned hours are the compliance engine's duty
minutes (spans, calls, transitions; overlaps once). Available hours are what a person could work
inside the rules and outside absences: the weekly limit (`max_hours_per_week`) for residents, the
program's faculty week (`Params.faculty_week_hours`) for faculty and staff, scaled by the days of
the week the person is not absent. A service's utilization is that of the people who worked it that
week (their assigned over their available hours). Weeks run in 7-day steps from the snapshot's
first day; a last, shorter week is scaled by its length. Bands: GREEN < 0.70 <= YELLOW < 0.80 <=
ORANGE < 0.90 <= RED < 0.95 <= BLACK; queueing intuition: waiting grows like u / (1 - u).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.progress import CancelledFn, ProgressFn, check, never, noop
from core.resilience.common import Level, cached, frozen_array, util_level, util_levels
from core.resilience.foundations import foundations
from core.snapshot import KIND_RESIDENT, ScheduleSnapshot

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Params:
    faculty_week_hours: float = 60.0  # an inpatient attending week; a program setting later


@dataclass(frozen=True, eq=False)
class UtilResult:
    revision: str
    names: tuple[str, ...]
    services: tuple[str, ...]  # activity codes that carry duty
    week_starts: tuple[str, ...]  # ISO dates
    assigned_hours: F64  # [P, W]
    available_hours: F64  # [P, W]
    person_week: F64  # [P, W] u (NaN where nothing was available)
    person: F64  # [P] over the whole period
    service_week: F64  # [S_services, W]
    service: F64  # [S_services] over the whole period
    person_level: NDArray[np.int8]  # [P]
    service_level: NDArray[np.int8]

    @property
    def busiest_service(self) -> tuple[str, float, Level]:
        if not len(self.service) or np.all(np.isnan(self.service)):
            return ("", 0.0, Level.GREEN)
        i = int(np.nanargmax(self.service))
        return (self.services[i], float(self.service[i]), util_level(float(self.service[i])))

    @staticmethod
    def waiting_factor(u: float) -> float:
        """Queueing intuition shown to the user: waiting grows like u / (1 - u)."""
        return float("inf") if u >= 1 else u / (1 - u)


def _ratio(a: F64, b: F64) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)  # type: ignore[no-any-return]


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> UtilResult:
    params = params or Params()

    def compute() -> UtilResult:
        snap = snapshot
        f = foundations(snap)
        check(cancelled)
        P, D = snap.n_people, snap.n_days
        W = -(-D // 7)
        week = np.arange(D) // 7
        hours = f.duty_minutes / 60.0
        assigned = np.zeros((P, W))
        np.add.at(assigned.T, week, hours.T)
        present = (~snap.absent).astype(np.float64)
        days_present = np.zeros((P, W))
        np.add.at(days_present.T, week, present.T)
        weekly = np.where(snap.kind == KIND_RESIDENT, snap.rules.max_hours_per_week, params.faculty_week_hours)
        available = days_present * weekly[:, None] / 7.0
        u_pw = _ratio(assigned, available)
        u_p = _ratio(assigned.sum(axis=1), available.sum(axis=1))
        # services: activities with duty; a person works a service in a week if they hold it once
        dutyful = [a for a, act in enumerate(snap.activities) if max(act.span_minutes) > 0]
        codes = snap.codes.astype(np.int64)
        svc_w = np.full((len(dutyful), W), np.nan)
        svc = np.full(len(dutyful), np.nan)
        slot_week = np.arange(snap.n_slots) // 14
        for i, a in enumerate(dutyful):
            check(cancelled)
            on = codes == a  # [P, S]
            worked = np.zeros((P, W), dtype=bool)
            pp, ss = np.nonzero(on)
            worked[pp, slot_week[ss]] = True
            svc_w[i] = _ratio((assigned * worked).sum(axis=0), (available * worked).sum(axis=0))
            svc[i] = _ratio(np.array([(assigned * worked).sum()]), np.array([(available * worked).sum()]))[0]
        progress(1.0, "utilization")
        return UtilResult(
            revision=snap.revision, names=tuple(p.name for p in snap.people),
            services=tuple(snap.activities[a].code for a in dutyful),
            week_starts=tuple(snap.date_of(7 * w).isoformat() for w in range(W)),
            assigned_hours=frozen_array(assigned), available_hours=frozen_array(available),
            person_week=frozen_array(u_pw), person=frozen_array(u_p), service_week=frozen_array(svc_w),
            service=frozen_array(svc), person_level=frozen_array(util_levels(u_p)),
            service_level=frozen_array(util_levels(svc)),
        )

    return cached("util", snapshot.revision, params, compute, progress)
