"""BURNOUT: a burden score per person from the schedule, and an illustrative spread model.

acute   = 4 x consecutive weekend calls + 2 x nights in the last 28 days + 1.5 x changes absorbed
          + 2 x gap coverage
chronic = 5 x holidays worked + 0.5 x hours over the class mean + cross-coverage events
total   = acute + 1.2 x chronic; bands 25 / 50 / 80 (low, moderate, high, severe).

What the snapshot measures for each term:
- consecutive weekend calls: weekends (Sat/Sun) with a call whose previous weekend also had one;
- nights: night-float half-days and in-house call nights in the last 28 days of the snapshot;
- changes absorbed: half-days edited by hand onto the person (`source` manual);
- gap coverage: of those, the ones on a slot that is at or below its minimum;
- holidays worked: holidays with duty or call;
- hours over the class mean: duty hours above the mean of the person's class (PGY level / faculty);
- cross-coverage events: half-days on a service with a minimum that is not the person's main
  service of that week.
The spread model is a discrete SIR on the real co-working network (edge weight = half-days worked
in the same activity and slot), seeded with people whose burden is >= 80. It is an illustration of
who is exposed, not a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.progress import CancelledFn, ProgressFn, never, noop
from core.resilience.common import cached, frozen_array
from core.resilience.foundations import foundations
from core.snapshot import CALL_IN_HOUSE, CALL_NONE, SOURCE_MANUAL, ScheduleSnapshot

BANDS = (25.0, 50.0, 80.0)
BAND_NAMES = ("low", "moderate", "high", "severe")


@dataclass(frozen=True)
class Params:
    beta: float = 0.05  # transmission per shared half-day per step
    gamma: float = 0.2  # recovery per step
    steps: int = 12


@dataclass(frozen=True, eq=False)
class BurnoutResult:
    revision: str
    names: tuple[str, ...]
    terms: NDArray[np.float64]  # [P, 7] the raw counts, in the order of TERMS
    acute: NDArray[np.float64]
    chronic: NDArray[np.float64]
    total: NDArray[np.float64]
    band: tuple[str, ...]
    exposure: NDArray[np.float64]  # [P] share of the spread model's steps each person was "infected"
    ranking: tuple[tuple[str, float, str], ...]
    note: str = "The spread model is an illustration on the co-working network, not a prediction."


TERMS = ("weekend_calls", "nights", "changes", "gaps", "holidays", "hours_over_mean", "cross_coverage")


def scores(terms: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    acute = 4 * terms[:, 0] + 2 * terms[:, 1] + 1.5 * terms[:, 2] + 2 * terms[:, 3]
    chronic = 5 * terms[:, 4] + 0.5 * terms[:, 5] + terms[:, 6]
    return acute, chronic, acute + 1.2 * chronic


def band_of(total: float) -> str:
    return BAND_NAMES[int(np.searchsorted(np.array(BANDS), total, side="right"))]


def sir(weights: NDArray[np.float64], seeds: NDArray[np.bool_], beta: float, gamma: float, steps: int
        ) -> NDArray[np.float64]:
    """Mean-field SIR on a weighted graph: the expected share of steps each node spends infected."""
    n = len(seeds)
    i = seeds.astype(np.float64)
    r = np.zeros(n)
    exposure = i.copy()
    for _ in range(steps):
        pressure = 1.0 - np.exp(-beta * (weights @ i))
        s = np.clip(1.0 - i - r, 0.0, 1.0)
        new_i = s * pressure
        rec = gamma * i
        i = np.clip(i + new_i - rec, 0.0, 1.0)
        r = np.clip(r + rec, 0.0, 1.0)
        exposure += i
    return exposure / (steps + 1)


def run(snapshot: ScheduleSnapshot, params: Params | None = None, *, progress: ProgressFn = noop,
        cancelled: CancelledFn = never) -> BurnoutResult:
    params = params or Params()

    def compute() -> BurnoutResult:
        snap = snapshot
        f = foundations(snap)
        P, D, S = snap.n_people, snap.n_days, snap.n_slots
        codes = snap.codes.astype(np.int64)
        weekday = np.array([snap.date_of(d).weekday() for d in range(D)])
        has_call = snap.call != CALL_NONE
        # weekends: index by the Monday-based week of each Saturday/Sunday
        wk = (np.arange(D) + snap.start.weekday()) // 7
        weekend = weekday >= 5
        n_w = int(wk.max()) + 1 if D else 0
        wcall = np.zeros((P, n_w), dtype=bool)
        for d in np.flatnonzero(weekend).tolist():
            wcall[:, wk[d]] |= has_call[:, d]
        consecutive = (wcall[:, 1:] & wcall[:, :-1]).sum(axis=1) if n_w > 1 else np.zeros(P)
        nf = np.array([a.is_night_float for a in snap.activities] + [False], dtype=bool)
        last = slice(max(0, D - 28), D)
        nights = nf[codes[:, 2 * last.start :]].sum(axis=1) + (snap.call[:, last] == CALL_IN_HOUSE).sum(axis=1)
        manual = (snap.source == SOURCE_MANUAL) & (codes >= 0)
        tight = np.zeros((P, S), dtype=bool)
        pp, ss = np.nonzero(manual)
        aa = codes[pp, ss]
        tight[pp, ss] = (f.req_min[aa, ss] > 0) & (f.staffed[aa, ss] <= f.req_min[aa, ss])
        worked = (f.duty_minutes > 0) | has_call
        holidays = worked[:, snap.holiday].sum(axis=1)
        hours = f.duty_minutes.sum(axis=1) / 60.0
        classes = np.array([f"PGY-{p.pgy}" if p.kind == "resident" else p.kind for p in snap.people])
        over = np.zeros(P)
        for c in set(classes.tolist()):
            sel = classes == c
            over[sel] = np.maximum(0.0, hours[sel] - hours[sel].mean())
        # cross-coverage: half-days on a demanded service other than the week's main one
        slot_week = np.arange(S) // 14
        cross = np.zeros(P)
        demanded = (f.req_min > 0).any(axis=1)
        A = len(snap.activities)
        for w in range(int(slot_week.max()) + 1 if S else 0):
            cols = codes[:, slot_week == w]
            counts = np.zeros((P, A + 1), dtype=np.int64)
            np.add.at(counts, (np.repeat(np.arange(P), cols.shape[1]), cols.ravel()), 1)
            counts[:, A] = 0
            main = counts.argmax(axis=1)
            on_demanded = np.isin(cols, np.flatnonzero(demanded)) & (cols != main[:, None])
            cross += on_demanded.sum(axis=1)
        terms = np.stack([consecutive, nights, manual.sum(axis=1), tight.sum(axis=1), holidays, over, cross],
                         axis=1).astype(np.float64)
        acute, chronic, total = scores(terms)
        # co-working network: shared half-days in the same activity
        onehot = np.zeros((P, (A + 1) * S), dtype=np.float32)
        onehot[np.repeat(np.arange(P), S), (np.where(codes >= 0, codes, A) * S + np.arange(S)[None, :]).ravel()] = 1
        onehot[:, A * S :] = 0
        weights = (onehot @ onehot.T).astype(np.float64)
        np.fill_diagonal(weights, 0.0)
        exposure = sir(weights, total >= BANDS[2], params.beta, params.gamma, params.steps)
        names = tuple(p.name for p in snap.people)
        bands = tuple(band_of(float(t)) for t in total)
        order = np.argsort(-total, kind="stable")
        ranking = tuple((names[i], float(total[i]), bands[i]) for i in order.tolist())
        progress(1.0, "burden")
        return BurnoutResult(snap.revision, names, frozen_array(terms), frozen_array(acute),
                             frozen_array(chronic), frozen_array(total), bands, frozen_array(exposure), ranking)

    return cached("burnout", snapshot.revision, params, compute, progress)
