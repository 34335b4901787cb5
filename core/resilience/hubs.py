"""HUBS: people whose loss hurts most, and where cross-training helps.

Rank people by their N-1 unfilled half-days and by the number of services (activities with a
minimum) for which they are one of at most two qualified people who are not absent for the whole
snapshot. For each such thin service, the advice is to qualify one more person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience import n1 as n1_mod
from core.resilience.common import cached
from core.resilience.foundations import foundations
from core.snapshot import ScheduleSnapshot


@dataclass(frozen=True)
class Params:
    thin: int = 2


@dataclass(frozen=True)
class Hub:
    name: str
    n1_unfilled: int
    thin_services: tuple[str, ...]


@dataclass(frozen=True)
class HubsResult:
    revision: str
    hubs: tuple[Hub, ...]  # ranked
    advice: tuple[tuple[str, int, str], ...]  # (service, qualified people, sentence)


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> HubsResult:
    params = params or Params()

    def compute() -> HubsResult:
        snap = snapshot
        f = foundations(snap)
        def part(x: float, m: str = "") -> None:
            progress(0.9 * x, m)

        one = n1_mod.run(snap, progress=part, cancelled=cancelled)
        present = np.asarray(~snap.absent.all(axis=1), dtype=bool)
        qual: np.ndarray = np.asarray(f.qualified.any(axis=2) & present[:, None])
        services = np.flatnonzero((f.req_min > 0).any(axis=1))
        thin: dict[int, list[str]] = {p: [] for p in range(snap.n_people)}
        advice = []
        for a in services.tolist():
            who = np.flatnonzero(qual[:, a])
            code = snap.activities[a].code
            if len(who) <= params.thin:
                for p in who.tolist():
                    thin[p].append(code)
                advice.append((code, len(who), f"{code}: only {len(who)} qualified; train one more person"))
        hubs = [Hub(snap.people[p].name, int(one.unfilled[p]), tuple(thin[p])) for p in range(snap.n_people)]
        hubs.sort(key=lambda h: (-h.n1_unfilled, -len(h.thin_services), h.name))
        progress(1.0, "hubs")
        return HubsResult(snap.revision, tuple(h for h in hubs if h.n1_unfilled or h.thin_services), tuple(advice))

    return cached("hubs", snapshot.revision, params, compute, progress)
