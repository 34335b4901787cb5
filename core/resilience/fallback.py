"""FALLBACK: what would I do if it happens? Ready repairs for the worst N-1 and N-2 scenarios.

Each fallback is a repaired schedule with the fewest changed assignments (the solver's repair mode,
CP-SAT with a Hamming-distance objective warm-started from the current schedule, through
`core.resilience.scenario.best_repair`; the greedy refill only if CP-SAT finds nothing in its time
limit), stored with the revision of the schedule it repairs: it is *ready* while the schedule is
unchanged and *stale* after any edit. Applying one saves it as a draft
(`core.services.drafts.save_repair_draft`) for review and publication.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience import n1 as n1_mod
from core.resilience import n2 as n2_mod
from core.resilience.common import Steps, cached
from core.resilience.scenario import Repair, best_repairs
from core.snapshot import ScheduleSnapshot


@dataclass(frozen=True)
class Params:
    singles: int = 5
    pairs: int = 5
    include_pairs: bool = True
    time_limit: float = 2.0  # seconds of CP-SAT per scenario (the greedy answers if CP-SAT does worse)


@dataclass(frozen=True)
class FallbackResult:
    revision: str
    fallbacks: tuple[Repair, ...]

    def ready(self, current_revision: str) -> bool:
        return current_revision == self.revision


def is_stale(fallback: Repair, snapshot: ScheduleSnapshot) -> bool:
    return fallback.revision != snapshot.revision


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> FallbackResult:
    params = params or Params()

    def compute() -> FallbackResult:
        snap = snapshot
        one = n1_mod.run(snap, cancelled=cancelled)
        scenarios: list[tuple[int, ...]] = []
        ranked = sorted((p for p in one.people if p.needed > 0), key=lambda p: (-p.unfilled, -p.needed))
        scenarios += [(p.person,) for p in ranked[: params.singles]]
        if params.include_pairs:
            two = n2_mod.run(snap, cancelled=cancelled)
            for p, q in zip(two.fatal_p[: params.pairs].tolist(), two.fatal_q[: params.pairs].tolist()):
                scenarios.append((p, q))
        steps = Steps(len(scenarios), progress, cancelled, lo=0.5)
        out = best_repairs(snap, [(sc, None) for sc in scenarios], cancelled, time_limit=params.time_limit,
                           on_each=lambda _i, rep: steps.step(" + ".join(rep.removed)))
        progress(1.0, "fallbacks")
        return FallbackResult(snap.revision, tuple(out))

    return cached("fallback", snapshot.revision, params, compute, progress)
