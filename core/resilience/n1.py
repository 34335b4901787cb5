"""N1: if one person is out for the whole period, can the schedule be refilled?

For each person: remove their assignments, refill the slots that drop below their minimum by
max-flow from qualified people who are free and stay within the duty-hour rules
(`core.resilience.refill`). A person whose scenario leaves a slot unfilled is a single point of
failure. `head_count` is the naive alternative kept for comparison (and for the tests that show
why refill is needed): a person is flagged when they staff a needed slot alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience.common import Steps, cached, frozen_array
from core.resilience.foundations import foundations
from core.resilience.refill import RefillModel, RefillOutcome, model_for, refill
from core.snapshot import ScheduleSnapshot


@dataclass(frozen=True)
class Params:
    pass


@dataclass(frozen=True)
class UnfilledSlot:
    activity: str
    day: dt.date
    slot: int
    missing: int


@dataclass(frozen=True)
class PersonN1:
    person: int
    name: str
    passes: bool
    needed: int
    unfilled: int
    unfilled_slots: tuple[UnfilledSlot, ...]
    absorbed_by: tuple[tuple[str, int], ...]  # (name, half-days) of who would take the load


@dataclass(frozen=True, eq=False)
class N1Result:
    revision: str
    names: tuple[str, ...]
    passes: NDArray[np.bool_]  # [P]
    needed: NDArray[np.int64]  # [P] half-days to refill
    unfilled: NDArray[np.int64]  # [P]
    absorb: NDArray[np.int32]  # [P, P]: absorb[p, x] = half-days x takes when p is out
    head_count_flags: NDArray[np.bool_]  # [P] the naive "staffs a needed slot alone" flag
    people: tuple[PersonN1, ...]
    engine_calls: int

    @property
    def pass_ratio(self) -> float:
        return float(self.passes.mean()) if len(self.passes) else 1.0

    @property
    def single_points_of_failure(self) -> tuple[PersonN1, ...]:
        return tuple(sorted((p for p in self.people if not p.passes), key=lambda p: -p.unfilled))


def describe(snap: ScheduleSnapshot, model: RefillModel, out: RefillOutcome) -> tuple[UnfilledSlot, ...]:
    missing = out.need - out.filled
    rows = []
    for n, k in zip(out.node[missing > 0].tolist(), missing[missing > 0].tolist()):
        a, s = int(model.node_a[n]), int(model.node_s[n])
        rows.append(UnfilledSlot(snap.activities[a].code, snap.date_of(s // 2), s % 2, int(k)))
    return tuple(rows)


def head_count(snap: ScheduleSnapshot) -> NDArray[np.bool_]:
    """The naive N-1: p is flagged when some slot with a minimum is staffed by p alone.

    It counts bodies, not replacements: a slot two people staff looks safe even when the minimum is
    two and nobody qualified could step in, and a lone person looks fatal even when a qualified
    colleague is free.
    """
    f = foundations(snap)
    codes = snap.codes.astype(np.int64)
    p, s = np.nonzero(codes >= 0)
    a = codes[p, s]
    alone = (f.staffed[a, s] == 1) & (f.req_min[a, s] > 0)
    flags = np.zeros(snap.n_people, dtype=bool)
    flags[p[alone]] = True
    return flags


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> N1Result:
    """N-1 refill for every person of the snapshot."""
    params = params or Params()

    def compute() -> N1Result:
        snap = snapshot
        progress(0.0, "checking availability")
        model = model_for(snap, 1, cancelled)
        P = snap.n_people
        steps = Steps(P, progress, cancelled, lo=0.3)
        passes = np.ones(P, dtype=bool)
        needed = np.zeros(P, dtype=np.int64)
        unfilled = np.zeros(P, dtype=np.int64)
        absorb = np.zeros((P, P), dtype=np.int32)
        rows = []
        names = tuple(p.name for p in snap.people)
        for p in range(P):
            out = refill(model, (p,))
            needed[p], unfilled[p], passes[p] = out.needed, out.unfilled, out.passes
            np.add.at(absorb[p], out.absorb_person, 1)
            takers = np.flatnonzero(absorb[p])
            rows.append(PersonN1(
                p, names[p], out.passes, out.needed, out.unfilled, describe(snap, model, out),
                tuple(sorted(((names[x], int(absorb[p, x])) for x in takers.tolist()), key=lambda t: -t[1])),
            ))
            steps.step(names[p])
        from core.resilience.foundations import availability

        return N1Result(
            revision=snap.revision, names=names, passes=frozen_array(passes), needed=frozen_array(needed),
            unfilled=frozen_array(unfilled), absorb=frozen_array(absorb),
            head_count_flags=frozen_array(head_count(snap)), people=tuple(rows),
            engine_calls=availability(snap).engine_calls,
        )

    return cached("n1", snapshot.revision, params, compute, progress, cancelled)
