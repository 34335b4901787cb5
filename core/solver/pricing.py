"""Exact pricing of one person's pattern by dynamic programming over days (column generation's subproblem).

Column generation (:mod:`core.solver.colgen`) asks, many times a second, for each person's cheapest pattern
(their own rules kept) under cover prices. A one-person CP-SAT model answers in 35-70 ms, of which about
20 ms is presolve; on Instance 12 (60 people) a round of pricing then takes 1.5 s on two threads and the LP
does not converge within a 60 s solve. The rules a person carries in a Curtois & Qu model are all
"resource" rules along the days, so the same question has an exact answer by a shortest path over days:

* the state of a day is the run in progress (working: its length, whether it started on day 0, the
  group of the shift worked last; off: its length, whether it started on day 0), and the resources used
  so far: minutes (in units of their greatest common divisor), the count of each shift type whose maximum
  binds, and the weekends worked (when their maximum binds);
* a day's choice is off, or one *group* of shift types: the types that are interchangeable for this person's
  rules (same minutes, same forbidden successions, no binding maximum of their own); within a group only the
  day's cheapest type can be on a cheapest path;
* the runs' minimum and maximum lengths, the minimum days off, the forbidden successions, the
  unavailable and fixed days decide which choices a state has; the minimum of minutes is checked at
  the end.

The arrays are indexed [run length, started on day 0, last group, *resources] (working) and [run length,
started on day 0, *resources] (off), and one day is a few dozen numpy operations. The semantics are those of
:class:`core.solver.roster._Built` (the tests compare both on random prices); a person whose model uses a
rule this does not cover (a minutes window, history of worked days) has no DP: :func:`pattern_dp` returns
None and the caller prices with CP-SAT.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.solver.roster import RosterModel

_INF = math.inf
_TOL = 1e-9


@dataclass(frozen=True)
class Pattern:
    row: tuple[str | None, ...]  # shift id per day, None = off
    cost: int  # the pattern's own cost: its requests
    reduced: float  # own cost less the prices of the cover cells it works (mu not included)


class PatternDP:
    """One person's exact pricer. Build with :func:`pattern_dp`."""

    def __init__(self, model: RosterModel, pi: int, cover_index: Mapping[tuple[int, str], int]) -> None:
        person = model.people[pi]
        H = model.horizon
        self.H = H
        ids = [s.id for s in model.shift_types]
        self.ids = ids
        sidx = {s: i for i, s in enumerate(ids)}
        minutes = [s.minutes for s in model.shift_types]
        fixed: dict[int, str | None] = {f.day: f.shift for f in model.fixed if f.person == person.id}
        allowed = [i for i, s in enumerate(ids)
                   if (person.eligible is None or s in person.eligible) and person.max_shifts.get(s, H) > 0]
        # options[d]: shift indices that may be worked on day d; off_ok[d]: the day may be off
        options: list[list[int]] = []
        self.off_ok = np.ones(H, dtype=bool)
        for d in range(H):
            if d in fixed:
                fs = fixed[d]
                options.append([] if fs is None else [sidx[fs]])
                self.off_ok[d] = fs is None
            elif d in person.unavailable:
                options.append([])
            else:
                options.append(list(allowed))
        used = sorted({i for opts in options for i in opts})
        # request costs: base[d, i] for working shift i, off_cost[d] for the day off
        base = np.full((H, len(ids)), _INF)
        for d in range(H):
            base[d, options[d]] = 0.0
        off_cost = np.zeros(H)
        for r in model.requests:
            if r.person != person.id:
                continue
            d = r.day
            worked_mask = np.zeros(len(ids), dtype=bool)  # the choices the request penalises
            if r.on:  # wants to work (that shift): the day off, and any other shift, cost the weight
                off_cost[d] += r.weight
                if r.shift is not None:
                    worked_mask[:] = True
                    worked_mask[sidx[r.shift]] = False
            elif r.shift is None:
                worked_mask[:] = True
            else:
                worked_mask[sidx[r.shift]] = True
            base[d, worked_mask] += r.weight
        self.base = base
        self.off_cost = np.where(self.off_ok, off_cost, _INF)
        # cover terms of the cells: price index per (day, shift), -1 where none
        self.cover = np.full((H, len(ids)), -1, dtype=np.int64)
        for (d, s), k in cover_index.items():
            if s in sidx and 0 <= d < H:
                self.cover[d, sidx[s]] = k
        self.cover_mask = self.cover >= 0
        self.cover_safe = np.where(self.cover_mask, self.cover, 0)

        # resources: minutes in units, binding type maxima, binding weekends
        unit = 0
        for i in used:
            unit = math.gcd(unit, minutes[i])
        unit = unit or 1
        lo = person.min_total_minutes or 0
        hi = person.max_total_minutes
        most = sum(max((minutes[i] for i in options[d]), default=0) for d in range(H)) // unit
        self.t_max = most if hi is None else min(most, hi // unit)
        self.t_min = -(-lo // unit) if lo > 0 else 0
        if self.t_min > self.t_max:
            self.t_max = -1  # no pattern: the person's minimum is out of reach
        binding: list[int] = []  # shift indices whose maximum binds
        self.type_max: list[int] = []
        for s, n in person.max_shifts.items():
            i = sidx[s]
            cells = sum(1 for d in range(H) if i in options[d])
            if 0 < n < cells:
                binding.append(i)
                self.type_max.append(n)
        weekends = model.weekends()
        wk_binding = person.max_weekends is not None and person.max_weekends < len(weekends)
        self.wk_max = person.max_weekends if wk_binding else None
        self.wk_first = np.zeros(H, dtype=bool)  # first day of a weekend: working it always counts
        self.wk_day = np.zeros(H, dtype=bool)
        if wk_binding:
            for days in weekends:
                self.wk_first[days[0]] = True
                for d in days:
                    self.wk_day[d] = True
        shape = [max(0, self.t_max + 1)] + [n + 1 for n in self.type_max]
        if self.wk_max is not None:
            shape.append(self.wk_max + 1)
        self.rshape = tuple(shape)
        self.wk_axis = len(shape) - 1 if self.wk_max is not None else None

        # groups of interchangeable shift types
        after: dict[int, set[int]] = {}
        for a, b in model.forbidden_successions:
            after.setdefault(sidx[a], set()).add(sidx[b])
        usedset = set(used)
        keys: dict[tuple[object, ...], list[int]] = {}
        for i in used:
            key = (minutes[i] // unit, i if i in binding else None,
                   frozenset(after.get(i, set()) & usedset),
                   frozenset(j for j in used if i in after.get(j, set())))
            keys.setdefault(key, []).append(i)
        self.groups = list(keys.values())
        G = len(self.groups)
        self.G = G
        group_of = {i: g for g, members in enumerate(self.groups) for i in members}
        self.members = [np.array(m, dtype=np.int64) for m in self.groups]
        # delta[g]: the resource step of working group g (without the weekend)
        self.delta: list[tuple[int, ...]] = []
        for members in self.groups:
            i = members[0]
            step = [minutes[i] // unit] + [1 if i == b else 0 for b in binding]
            if self.wk_max is not None:
                step.append(0)
            self.delta.append(tuple(step))
        # may[g2] : boolean mask over the last group g, True when g2 may follow g
        self.may = np.ones((G, G), dtype=bool)
        for g, members in enumerate(self.groups):
            forbidden_next = after.get(members[0], set())
            for j in forbidden_next:
                if j in group_of:
                    self.may[group_of[j], g] = False
        cmax = person.max_consecutive_work
        self.cmax = cmax if cmax is not None and cmax < H else None
        self.kmin = max(1, person.min_consecutive_work or 1)
        self.koff = max(1, person.min_consecutive_off or 1)
        self.Lw = self.cmax if self.cmax is not None else self.kmin
        self.Lo = self.koff
        self.exempt = model.boundary_runs_exempt
        # which (length index, started on day 0) run states are long enough to end
        self.w_ok = np.zeros((self.Lw, 2), dtype=bool)
        for li in range(self.Lw):
            self.w_ok[li, :] = li + 1 >= self.kmin
        self.o_ok = np.zeros((self.Lo, 2), dtype=bool)
        for li in range(self.Lo):
            self.o_ok[li, :] = li + 1 >= self.koff
        if self.exempt:
            self.w_ok[:, 1] = True
            self.o_ok[:, 1] = True
        self.states = self.Lw * 2 * G * int(np.prod(self.rshape))  # the working array's size
        # per group: the resource slices of working it, without and with a weekend counted
        self.moves = [(self._slices(step), self._slices(self._wk_step(step))) for step in self.delta]
        # per group: the last groups it may follow (None: all of them)
        self.follows: list[np.ndarray | None] = [None if self.may[g].all() else np.flatnonzero(self.may[g])
                                                 for g in range(G)]

    # ------------------------------------------------------------------------------------------------ util
    def _slices(self, step: Sequence[int]) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
        """(destination, source) slices over the resources that move an array up by ``step``; None when
        the step leaves no room at all."""
        dst: list[slice] = []
        src: list[slice] = []
        for k, n in zip(step, self.rshape):
            if k >= n:
                return None
            dst.append(slice(k, n))
            src.append(slice(0, n - k))
        return tuple(dst), tuple(src)

    def _wk_step(self, step: tuple[int, ...]) -> tuple[int, ...]:
        if self.wk_axis is None:
            return step
        s = list(step)
        s[self.wk_axis] += 1
        return tuple(s)

    # ----------------------------------------------------------------------------------------- pricing
    def price(self, duals: Sequence[float], count: int = 3) -> list[Pattern]:
        """The cheapest patterns under ``duals`` (price per cover term), cheapest first: the cheapest of all
        and up to ``count`` - 1 more that end in other states. Empty if the person has no feasible pattern."""
        H, G = self.H, self.G
        if self.t_max < 0:
            return []
        dual = np.asarray(duals, dtype=float)
        cell = self.base - np.where(self.cover_mask, dual[self.cover_safe], 0.0)
        # per day and group: the cheapest member's cost and which member
        gcost = np.full((H, G), _INF)
        gpick = np.zeros((H, G), dtype=np.int64)
        for g, members in enumerate(self.members):
            sub = cell[:, members]
            j = np.argmin(sub, axis=1)
            gpick[:, g] = members[j]
            gcost[:, g] = sub[np.arange(H), j]
        R = self.rshape
        Lw, Lo = self.Lw, self.Lo
        work_hist: list[np.ndarray] = []
        off_hist: list[np.ndarray] = []
        e0 = 1 if self.exempt else 0
        W = np.full((Lw, 2, G) + R, _INF)
        Off = np.full((Lo, 2) + R, _INF)
        zero = (0,) * len(R)
        Off[(0, e0) + zero] = self.off_cost[0]
        for g in range(G):
            c = gcost[0, g]
            if c < _INF:
                step = self.delta[g]
                if self.wk_day[0]:
                    step = self._wk_step(step)
                if all(k < n for k, n in zip(step, R)):
                    W[(0, e0, g) + tuple(step)] = c
        work_hist.append(W)
        off_hist.append(Off)
        for d in range(1, H):
            W, Off = self._step(d, W, Off, gcost[d])
            work_hist.append(W)
            off_hist.append(Off)
        # the end: runs long enough (or exempt at the horizon), minutes at least the minimum
        if self.exempt:
            w_end = W
            o_end = Off
        else:
            w_end = np.where(self.w_ok[:, :, None][(...,) + (None,) * len(R)], W, _INF)
            o_end = np.where(self.o_ok[(...,) + (None,) * len(R)], Off, _INF)
        if self.t_min > 0:
            w_end = w_end.copy()
            o_end = o_end.copy()
            w_end[(slice(None),) * 3 + (slice(0, self.t_min),)] = _INF
            o_end[(slice(None),) * 2 + (slice(0, self.t_min),)] = _INF
        flat = np.concatenate([w_end.ravel(), o_end.ravel()])
        k = min(count, flat.size)
        if k <= 0:
            return []
        best = np.argpartition(flat, k - 1)[:k] if k < flat.size else np.arange(flat.size)
        best = best[np.argsort(flat[best], kind="stable")]
        out: list[Pattern] = []
        for idx in best:
            value = float(flat[idx])
            if not value < _INF:
                break
            if idx < w_end.size:
                state: tuple[str, tuple[int, ...]] = ("w", tuple(int(v) for v in np.unravel_index(idx, W.shape)))
            else:
                state = ("o", tuple(int(v) for v in np.unravel_index(idx - w_end.size, Off.shape)))
            row = self._trace(state, value, work_hist, off_hist, gcost, gpick)
            out.append(self._pattern(row, value))
        return out

    def _step(self, d: int, W: np.ndarray, Off: np.ndarray, gc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The arrays of day d from those of day d - 1 (``gc``: day d's cost per group)."""
        Lw, Lo = self.Lw, self.Lo
        nW = np.full(W.shape, _INF)
        nOff = np.full(Off.shape, _INF)
        # off today: after a working run long enough to end, or going on with an off run
        oc = self.off_cost[d]
        if oc < _INF:
            if self.w_ok.any():
                nOff[0, 0] = np.min(W[self.w_ok], axis=(0, 1)) + oc
            if Lo > 1:
                nOff[1:] = Off[:-1] + oc
            np.minimum(nOff[Lo - 1], Off[Lo - 1] + oc, out=nOff[Lo - 1])
        # working group g today: a new run after an off run long enough to end, or going on with a run
        o_done = np.min(Off[self.o_ok], axis=0) if self.o_ok.any() else None
        wk = bool(self.wk_day[d])
        wk_cont = wk and bool(self.wk_first[d])  # going on with a run into this day counts a weekend too
        best_prev: dict[int, np.ndarray] = {}
        for g in range(self.G):
            c = gc[g]
            if not c < _INF:
                continue
            plain, counted = self.moves[g]
            move = counted if wk else plain
            if move is not None and o_done is not None:
                dst, src = move
                nW[(0, 0, g) + dst] = o_done[src] + c
            move = counted if wk_cont else plain
            if move is None:
                continue
            follows = self.follows[g]
            key = -1 if follows is None else g
            bp = best_prev.get(key)
            if bp is None:
                if follows is None:
                    bp = np.min(W, axis=2)
                elif len(follows):
                    bp = np.min(W[:, :, follows], axis=2)
                else:
                    continue
                best_prev[key] = bp
            dst, src = move
            full = (slice(None),)
            if Lw > 1:
                nW[(slice(1, None),) + full + (g,) + dst] = bp[(slice(0, Lw - 1),) + full + src] + c
            if self.cmax is None:  # the run length is capped, not bounded
                target = nW[(Lw - 1,) + full + (g,) + dst]
                np.minimum(target, bp[(Lw - 1,) + full + src] + c, out=target)
        return nW, nOff

    def _trace(self, state: tuple[str, tuple[int, ...]], value: float, work_hist: Sequence[np.ndarray],
               off_hist: Sequence[np.ndarray], gcost: np.ndarray, gpick: np.ndarray) -> list[int | None]:
        """The path ending in ``state`` with ``value`` on the last day: shift index per day, None = off."""
        H = self.H
        Lw, Lo = self.Lw, self.Lo
        row: list[int | None] = [None] * H
        kind, idx = state
        for d in range(H - 1, -1, -1):
            if kind == "w":
                li, e, g = idx[0], idx[1], idx[2]
                r = idx[3:]
                row[d] = int(gpick[d, g])
                c = float(gcost[d, g])
            else:
                li, e = idx[0], idx[1]
                r = idx[2:]
                row[d] = None
                c = float(self.off_cost[d])
            if d == 0:
                break
            prev_value = value - c
            W, Off = work_hist[d - 1], off_hist[d - 1]
            found: tuple[str, tuple[int, ...]] | None = None
            if kind == "w":
                wk = bool(self.wk_day[d])
                step = self.delta[g]
                if li == 0:
                    s = self._wk_step(step) if wk else step
                    pr = tuple(a - b for a, b in zip(r, s))
                    if e == 0 and min(pr) >= 0:
                        for pl in range(Lo):
                            for pe in (0, 1):
                                if self.o_ok[pl, pe] and abs(Off[(pl, pe) + pr] - prev_value) <= _TOL:
                                    found = ("o", (pl, pe) + pr)
                                    break
                            if found:
                                break
                if found is None:  # continuing a run (into the capped length too, when no maximum)
                    s = self._wk_step(step) if wk and self.wk_first[d] else step
                    pr = tuple(a - b for a, b in zip(r, s))
                    if min(pr) >= 0:
                        lengths = ([li - 1] if li >= 1 else []) + ([li] if self.cmax is None and li == Lw - 1
                                                                   else [])
                        for pl in lengths:
                            for pg in range(self.G):
                                if self.may[g, pg] and abs(W[(pl, e, pg) + pr] - prev_value) <= _TOL:
                                    found = ("w", (pl, e, pg) + pr)
                                    break
                            if found:
                                break
            else:
                if li == 0 and e == 0:
                    for pl in range(Lw):
                        for pe in (0, 1):
                            if not self.w_ok[pl, pe]:
                                continue
                            for pg in range(self.G):
                                if abs(W[(pl, pe, pg) + r] - prev_value) <= _TOL:
                                    found = ("w", (pl, pe, pg) + r)
                                    break
                            if found:
                                break
                        if found:
                            break
                if found is None:
                    sources = [li - 1] if li >= 1 else []
                    if li == Lo - 1:
                        sources.append(li)
                    for pl in sources:
                        if 0 <= pl < Lo and abs(Off[(pl, e) + r] - prev_value) <= _TOL:
                            found = ("o", (pl, e) + r)
                            break
            if found is None:
                raise AssertionError(f"pattern DP: no predecessor on day {d}")  # a bug, not a bad input
            kind, idx = found
            value = float((W if kind == "w" else Off)[idx])
        return row

    def _pattern(self, row: Sequence[int | None], reduced: float) -> Pattern:
        cost = 0.0
        for d, i in enumerate(row):
            cost += float(self.off_cost[d]) if i is None else float(self.base[d, i])
        return Pattern(tuple(None if i is None else self.ids[i] for i in row), int(round(cost)), reduced)

    def cells(self, row: Sequence[str | None]) -> tuple[int, ...]:
        """The cover terms a row works, in day order."""
        sidx = {s: i for i, s in enumerate(self.ids)}
        out = []
        for d, s in enumerate(row):
            if s is not None and self.cover_mask[d, sidx[s]]:
                out.append(int(self.cover[d, sidx[s]]))
        return tuple(out)


# the most states a day (the working array's size) for which the DP is used: measured against CP-SAT per
# person on random prices (docs/performance.md), the DP took 4-20 ms up to 50,000 states (CP-SAT 10-180 ms),
# but 90-2,000 ms from 128,000 (Instance 8's people with a loose maximum of early or late shifts, 14 of 28)
DP_MAX_STATES = 60_000


def pattern_dp(model: RosterModel, pi: int, cover_index: Mapping[tuple[int, str], int],
               max_states: int = DP_MAX_STATES) -> PatternDP | None:
    """The DP pricer of person ``pi``, or None when their rules include one it does not model (a minutes
    window, worked days before the horizon) or its state space is larger than ``max_states`` a day."""
    person = model.people[pi]
    if person.history_work_days > 0:
        return None
    if any(w.person in (None, person.id) for w in model.windows):
        return None
    dp = PatternDP(model, pi, cover_index)
    return dp if dp.states <= max_states else None
