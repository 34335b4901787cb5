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

The arrays are indexed [run state, last group, *resources] (working) and [run state, *resources] (off),
a run state being the run's length and, while it is shorter than its minimum, whether it began on day 0; one
day is a few dozen numpy operations. The semantics are those of
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
        self.sidx = sidx
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
        kmin = max(1, person.min_consecutive_work or 1)
        koff = max(1, person.min_consecutive_off or 1)
        self.exempt = model.boundary_runs_exempt
        # run states: (length - 1, started on day 0); the second only while the run is shorter than its
        # minimum (and the boundary exempt): from there on both are the same state
        Lw = self.cmax if self.cmax is not None else kmin
        self.wrun = [(li, 0) for li in range(Lw)] + [(li, 1) for li in range(kmin - 1) if self.exempt and li < Lw]
        self.orun = [(li, 0) for li in range(koff)] + [(li, 1) for li in range(koff - 1) if self.exempt]
        self.w_ok = np.array([li + 1 >= kmin or e == 1 for li, e in self.wrun])
        self.o_ok = np.array([li + 1 >= koff or e == 1 for li, e in self.orun])
        self.w_start = self.wrun.index((0, 1)) if (0, 1) in self.wrun else 0  # a run begun on day 0
        self.o_start = self.orun.index((0, 1)) if (0, 1) in self.orun else 0

        def successor(runs: list[tuple[int, int]], li: int, e: int, cap: int, capped: bool,
                      k: int) -> int | None:
            nl = li + 1
            if nl >= cap:
                if not capped:
                    return None
                nl = cap - 1
            return runs.index((nl, e if nl + 1 < k else 0))

        w_next = [successor(self.wrun, li, e, Lw, self.cmax is None, kmin) for li, e in self.wrun]
        o_next = [successor(self.orun, li, e, koff, True, koff) for li, e in self.orun]
        # going on with a run: per state the states it comes from (for the trace); for the forward step the
        # pairs as index arrays, the first source of every state in one assignment, the others after it
        self.w_from = [[s for s, t in enumerate(w_next) if t == u] for u in range(len(self.wrun))]
        self.o_from = [[s for s, t in enumerate(o_next) if t == u] for u in range(len(self.orun))]
        self.w_first = (np.array([f[0] for f in self.w_from if f], dtype=np.int64),
                        np.array([u for u, f in enumerate(self.w_from) if f], dtype=np.int64))
        self.w_more = [(s, u) for u, f in enumerate(self.w_from) for s in f[1:]]
        self.o_first = (np.array([f[0] for f in self.o_from if f], dtype=np.int64),
                        np.array([u for u, f in enumerate(self.o_from) if f], dtype=np.int64))
        self.o_more = [(s, u) for u, f in enumerate(self.o_from) for s in f[1:]]
        self.w_ok_idx = np.flatnonzero(self.w_ok)
        self.o_ok_idx = np.flatnonzero(self.o_ok)
        self.states = len(self.wrun) * G * int(np.prod(self.rshape))  # the working array's size
        # per group: the resource slices of working it, without and with a weekend counted
        self.moves = [(self._slices(step), self._slices(self._wk_step(step))) for step in self.delta]
        # per group: the last groups it may follow; the minimum over them is built on the largest smaller
        # set already built that day (the sets are often nested: early < day < late < night)
        self.follows = [tuple(int(j) for j in np.flatnonzero(self.may[g])) for g in range(G)]
        plans: dict[tuple[int, ...], tuple[tuple[int, ...] | None, tuple[int, ...]]] = {}
        for f in sorted(set(self.follows), key=len):
            base_set = max((q for q in plans if q and set(q) < set(f)), key=len, default=None)
            plans[f] = (base_set, tuple(j for j in f if base_set is None or j not in base_set))
        self.plans = plans

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
        work_hist: list[np.ndarray] = []
        off_hist: list[np.ndarray] = []
        W = np.full((len(self.wrun), G) + R, _INF)
        Off = np.full((len(self.orun),) + R, _INF)
        zero = (0,) * len(R)
        Off[(self.o_start,) + zero] = self.off_cost[0]
        for g in range(G):
            c = gcost[0, g]
            if c < _INF:
                step = self.delta[g]
                if self.wk_day[0]:
                    step = self._wk_step(step)
                if all(k < n for k, n in zip(step, R)):
                    W[(self.w_start, g) + tuple(step)] = c
        work_hist.append(W)
        off_hist.append(Off)
        for d in range(1, H):
            W, Off = self._step(d, W, Off, gcost[d])
            work_hist.append(W)
            off_hist.append(Off)
        # the end: runs long enough (or exempt at the horizon), minutes at least the minimum
        w_end = W.copy()
        o_end = Off.copy()
        if not self.exempt:
            w_end[~self.w_ok] = _INF
            o_end[~self.o_ok] = _INF
        if self.t_min > 0:
            w_end[(slice(None),) * 2 + (slice(0, self.t_min),)] = _INF
            o_end[(slice(None),) + (slice(0, self.t_min),)] = _INF
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
        nW = np.full(W.shape, _INF)
        nOff = np.full(Off.shape, _INF)
        # off today: after a working run long enough to end, or going on with an off run
        oc = self.off_cost[d]
        if oc < _INF:
            o_src, o_dst = self.o_first
            nOff[o_dst] = Off[o_src] + oc
            for s, u in self.o_more:
                np.minimum(nOff[u], Off[s] + oc, out=nOff[u])
            if len(self.w_ok_idx) and self.G:
                np.minimum(nOff[0], np.min(W[self.w_ok_idx], axis=(0, 1)) + oc, out=nOff[0])
        # working group g today: a new run after an off run long enough to end, or going on with a run
        o_done = np.min(Off[self.o_ok_idx], axis=0) if len(self.o_ok_idx) else None
        wk = bool(self.wk_day[d])
        wk_cont = wk and bool(self.wk_first[d])  # going on with a run into this day counts a weekend too
        best_prev: dict[tuple[int, ...], np.ndarray] = {}
        w_src, w_dst = self.w_first
        for g in range(self.G):
            c = gc[g]
            if not c < _INF:
                continue
            plain, counted = self.moves[g]
            move = counted if wk_cont else plain
            follows = self.follows[g]
            if move is not None and follows and len(w_src):
                bp = self._best_prev(W, follows, best_prev)
                dst, src = move
                nW[(w_dst, g) + dst] = bp[(w_src,) + src] + c
                for s, u in self.w_more:
                    target = nW[(u, g) + dst]
                    np.minimum(target, bp[(s,) + src] + c, out=target)
            move = counted if wk else plain
            if move is not None and o_done is not None:
                dst, src = move
                target = nW[(0, g) + dst]
                np.minimum(target, o_done[src] + c, out=target)
        return nW, nOff

    def _best_prev(self, W: np.ndarray, follows: tuple[int, ...],
                   cache: dict[tuple[int, ...], np.ndarray]) -> np.ndarray:
        """The least of W over the last groups ``follows`` (cached for the day)."""
        got = cache.get(follows)
        if got is None:
            base_set, rest = self.plans[follows]
            got = self._best_prev(W, base_set, cache) if base_set is not None else W[:, rest[0]]
            for j in rest if base_set is not None else rest[1:]:
                got = np.minimum(got, W[:, j])
            cache[follows] = got
        return got

    def _trace(self, state: tuple[str, tuple[int, ...]], value: float, work_hist: Sequence[np.ndarray],
               off_hist: Sequence[np.ndarray], gcost: np.ndarray, gpick: np.ndarray) -> list[int | None]:
        """The path ending in ``state`` with ``value`` on the last day: shift index per day, None = off."""
        H = self.H
        row: list[int | None] = [None] * H
        kind, idx = state
        for d in range(H - 1, -1, -1):
            if kind == "w":
                u, g = idx[0], idx[1]
                r = idx[2:]
                row[d] = int(gpick[d, g])
                c = float(gcost[d, g])
            else:
                u = idx[0]
                r = idx[1:]
                row[d] = None
                c = float(self.off_cost[d])
            if d == 0:
                break
            prev_value = value - c
            W, Off = work_hist[d - 1], off_hist[d - 1]
            candidates: list[tuple[str, tuple[int, ...]]] = []
            if kind == "w":
                wk = bool(self.wk_day[d])
                step = self.delta[g]
                s = self._wk_step(step) if wk and self.wk_first[d] else step
                pr = tuple(a - b for a, b in zip(r, s))
                if min(pr) >= 0:
                    candidates += [("w", (su, pg) + pr) for su in self.w_from[u] for pg in self.follows[g]]
                if u == 0:
                    s = self._wk_step(step) if wk else step
                    pr = tuple(a - b for a, b in zip(r, s))
                    if min(pr) >= 0:
                        candidates += [("o", (int(su),) + pr) for su in self.o_ok_idx]
            else:
                candidates += [("o", (su,) + r) for su in self.o_from[u]]
                if u == 0:
                    candidates += [("w", (int(su), pg) + r) for su in self.w_ok_idx for pg in range(self.G)]
            found = next((cand for cand in candidates
                          if abs((W if cand[0] == "w" else Off)[cand[1]] - prev_value) <= _TOL), None)
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
        out = []
        for d, s in enumerate(row):
            if s is not None and self.cover_mask[d, self.sidx[s]]:
                out.append(int(self.cover[d, self.sidx[s]]))
        return tuple(out)


# the most states a day (the working array's size) for which the DP is used: measured against CP-SAT per
# person on random prices (docs/performance.md), the DP took 2-19 ms up to 30,000 states (CP-SAT 5-250 ms)
# and 30-40 ms at 77,000-90,000 (CP-SAT 19-115 ms), but 75-880 ms from 210,000 (Instance 8's people
# with a loose maximum of early or late shifts, 14 of 28, and of nights)
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
