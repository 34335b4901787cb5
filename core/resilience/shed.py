"""SHED: what do I cut first when short?

Sacrifice hierarchy (each activity's `shed_priority`): 1 patient safety (never cut), 2 duty-hour
compliance, 3 continuity of care, 4 core education, 5 research, 6 administration, 7 optional
education. Given a shortfall, activities are dropped from the lowest priority (7) upwards; an
activity of a higher category is never dropped while one of a lower category that could cover the
same need is kept -- no first fit, no skipping a big low-priority item for a small important one.

Two forms of shortfall:
- `half_days`: a number of person-half-days to free anywhere in the snapshot;
- `slots`: per slot, how many people must be freed in that very slot (e.g. the unfilled slots of a
  refill). Only assignments in that slot can cover it.
The level implied is the most important category that had to be cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience.common import cached
from core.snapshot import ScheduleSnapshot

CATEGORIES = {
    1: "patient safety", 2: "duty-hour compliance", 3: "continuity of care", 4: "core education",
    5: "research", 6: "administration", 7: "optional education",
}


@dataclass(frozen=True)
class Params:
    half_days: int = 0
    slots: tuple[tuple[int, int], ...] = ()  # (slot index, people to free there)


@dataclass(frozen=True)
class Cut:
    person: str
    day: str
    slot: int
    activity: str
    category: int
    hours: float


@dataclass(frozen=True)
class ShedResult:
    revision: str
    cuts: tuple[Cut, ...]
    freed: int
    uncovered: int  # half-days that could not be freed without touching patient safety
    level: int  # most important category cut (8 = nothing cut)

    @property
    def level_name(self) -> str:
        return CATEGORIES.get(self.level, "nothing cut")


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> ShedResult:
    params = params or Params()

    def compute() -> ShedResult:
        snap = snapshot
        codes = snap.codes.astype(np.int64)
        prio = np.array([a.shed_priority for a in snap.activities] + [0], dtype=np.int64)
        _, span_len = snap.span_arrays()
        has_duty = np.zeros((len(snap.activities) + 1, 2), dtype=bool)
        has_duty[:-1] = span_len > 0
        half = np.arange(snap.n_slots) % 2
        cuttable = (codes >= 0) & (prio[codes] >= 2) & has_duty[codes, half[None, :]]
        chosen: list[tuple[int, int]] = []
        uncovered = 0

        def take(p_idx: np.ndarray, s_idx: np.ndarray, n: int) -> int:
            """Take n items, lowest category (highest number) first; returns how many are missing."""
            pr = prio[codes[p_idx, s_idx]]
            order = np.lexsort((s_idx, p_idx, -pr))
            got = order[:n]
            chosen.extend(zip(p_idx[got].tolist(), s_idx[got].tolist()))
            return max(0, n - len(got))

        if params.half_days > 0:
            pp, ss = np.nonzero(cuttable)
            uncovered += take(pp, ss, params.half_days)
        for s, n in params.slots:
            pp = np.flatnonzero(cuttable[:, s])
            pp = np.array([p for p in pp.tolist() if (p, s) not in set(chosen)], dtype=np.int64)
            uncovered += take(pp, np.full(len(pp), s, dtype=np.int64), n)
        cuts = []
        for p, s in chosen:
            a = int(codes[p, s])
            act = snap.activities[a]
            cuts.append(Cut(snap.people[p].name, snap.date_of(s // 2).isoformat(), s % 2, act.code,
                            act.shed_priority, act.span_minutes[s % 2] / 60.0))
        level = min((c.category for c in cuts), default=8)
        progress(1.0, "shed")
        return ShedResult(snap.revision, tuple(cuts), len(cuts), uncovered, level)

    return cached("shed", snapshot.revision, params, compute, progress)
