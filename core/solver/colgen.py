"""Column generation for roster models whose people are coupled only by soft cover terms.

In such a model (every Curtois & Qu instance) a roster is one *pattern* per person, each feasible for that
person alone, and the whole objective is the patterns' own costs (their requests) plus the cover penalties
of their sum. The linear relaxation over all patterns (the master LP) is much tighter than the relaxation of
the cell model, and it is solved by generating patterns on demand:

* the master LP (GLOP): choose a convex combination of known patterns per person, with under/over slack on
  every cover term; its duals price the cover cells;
* pricing: each person's cheapest pattern under those prices, found exactly by a shortest path over days
  (:mod:`core.solver.pricing`) where the person's rules allow it and its state space is small, else by a
  one-person CP-SAT model (the person's hard rules, their requests, and the cover prices as costs per worked
  cell); a pattern whose reduced cost is negative joins the master;
* when no person has a negative pattern left, the LP is optimal; before that, the LP value plus every
  person's least reduced cost is a valid lower bound of the roster problem (a Lagrangian bound);
* a dive: people are fixed, a few at a time, to the pattern the LP gives most weight, the others re-priced
  in between; the last few (a third, at most ten) are left free for a CP-SAT search over their cells (in
  :func:`core.solver.roster.solve`). When that search leaves the roster shorter of cover than the LP and
  time allows, the dive is taken again from the same master with its ranking perturbed.

The restricted master IP ("price and branch") was tried first and dropped: on Instance 8, CP-SAT and SCIP
over the 1,700-1,900 generated patterns found only 1,914-2,303 in 25-30 s, and nothing better than the
incumbent (1,409) when given it as a hint: the patterns that combine well are not among those the LP
generates. Cell-level fixing from the LP (RENS, 289 of 840 cells fractional) gave 1,495 in 20 s.

Used by :func:`core.solver.roster.solve` on large models to give the neighbourhood search a start near the
LP optimum, and a bound where the cell model's root LP does not finish in time.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from core.solver.pricing import pattern_dp
from core.solver.roster import (
    Assignment,
    RosterModel,
    _Built,
    _params,
    _set_hint,
    _Shared,
    one_person_model,
)

# the LP counts as close to converged when (LP - bound) <= _CLOSE_GAP * |LP|: its patterns are then worth a
# longer dive (Instance 8: 0.2-0.3 % at 40 % of a 60 s run; Instance 12, far from converged: bound < 0)
_CLOSE_GAP = 0.02
_DP_PATTERNS = 3  # patterns the DP pricer returns per person and round: its best, and the best ending otherwise
_SCALE = 1000  # cover prices are fractional: the pricing model's costs are in thousandths
_EPS = 1e-6


@dataclass
class _Column:
    person: int
    row: tuple[str | None, ...]
    cost: int  # the pattern's own cost (its requests)
    cells: tuple[int, ...]  # indices of the cover terms it works


@dataclass
class ColumnGenerationResult:
    lp_value: float | None
    lower_bound: int | None  # a valid lower bound of the roster objective (None if no round was exact)
    converged: bool
    iterations: int
    columns: int
    roster: tuple[Assignment, frozenset[int]] | None  # the dive's roster and the people it left free
    close: bool = False  # the LP was within _CLOSE_GAP of its bound when the dive began (the dive had longer)
    stats: dict[str, Any] = field(default_factory=dict)
    lp_under: float | None = None  # the weighted under-cover of the last LP solution before the dive


def applicable(model: RosterModel) -> bool:
    """Column generation needs people coupled only through soft cover terms (no hard cover, no fairness),
    one term per (day, shift)."""
    cells = [(c.day, c.shift) for c in model.cover]
    return (not model.fairness and len(set(cells)) == len(cells)
            and not any(c.minimum > 0 or c.maximum is not None for c in model.cover))


class _Pricer:
    """One person's pricing model: their hard rules and requests; cover prices go into the objective."""

    def __init__(self, model: RosterModel, pi: int, cover_index: dict[tuple[int, str], int],
                 exact_dp: bool = True) -> None:
        self.pi = pi
        # the exact DP where the person's rules allow it (5-10 times quicker than CP-SAT), else CP-SAT
        self.dp = pattern_dp(model, pi, cover_index) if exact_dp else None
        one = one_person_model(model, model.people[pi])
        self.built = _Built(one, symmetry_breaking=False)
        self.cells: list[tuple[int, int, int]] = []  # (cover term, x variable index, day)
        for d, cell in enumerate(self.built.x[0]):
            for i, v in cell.items():
                k = cover_index.get((d, self.built.shift_ids[i]))
                if k is not None:
                    self.cells.append((k, v.index, d))
        self.obj_index = self.built.obj_index

    def price(self, duals: Sequence[float], mu: float, shared: _Shared | None, time_limit: float,
              hint: Sequence[str | None] | None) -> tuple[float | None, bool, list[_Column]]:
        """(least reduced cost found, proven least, patterns with a negative reduced cost)."""
        if self.dp is not None:
            patterns = self.dp.price(duals, count=_DP_PATTERNS)
            if not patterns:
                return None, False, []
            negative = [_Column(self.pi, p.row, p.cost, self.dp.cells(p.row)) for p in patterns
                        if p.reduced - mu < -_EPS]
            return patterns[0].reduced - mu - _EPS, True, negative
        cp = self.built.cp.clone()
        cp.clear_objective()  # type: ignore[no-untyped-call]
        obj = cp.proto.objective
        obj.vars.append(self.obj_index)
        obj.coeffs.append(_SCALE)
        for k, vi, _d in self.cells:
            c = -round(duals[k] * _SCALE)
            if c:
                obj.vars.append(vi)
                obj.coeffs.append(c)
        if hint is not None:
            _set_hint(cp.proto, self.built.hint_pairs([hint]))
        solver = _params(time_limit, 1)
        solver.parameters.linearization_level = 2
        found: list[list[int]] = []

        class _Collect(cp_model.CpSolverSolutionCallback):  # type: ignore[misc]
            def on_solution_callback(self) -> None:
                found.append(list(self.response_proto.solution))

        if shared is not None:
            shared.register(solver)
        try:
            status = solver.solve(cp, _Collect())
        finally:
            if shared is not None:
                shared.unregister(solver)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, False, []
        columns: list[_Column] = []
        best_rc: float | None = None
        seen: set[tuple[str | None, ...]] = set()
        for values in found:
            row = self.built.assignment_from_values(values)[0]
            if row in seen:
                continue
            seen.add(row)
            cost = int(values[self.obj_index])
            worked = tuple(k for k, vi, _d in self.cells if values[vi])
            rc = cost - sum(duals[k] for k in worked) - mu
            best_rc = rc if best_rc is None else min(best_rc, rc)
            if rc < -_EPS:
                columns.append(_Column(self.pi, row, cost, worked))
        exact = status == cp_model.OPTIMAL
        if exact and best_rc is not None:
            # the model's cover prices were rounded to thousandths (an error of at most half a thousandth per
            # worked day); the pattern found is the least under the rounded prices, so the true least
            # reduced cost may be below its true reduced cost by at most twice that error per day
            best_rc -= 0.001 * len({d for _k, _vi, d in self.cells}) + _EPS
        return best_rc, exact, columns


class _Master:
    def __init__(self, model: RosterModel, cover_terms: Sequence[tuple[int, str, int, int, int]]) -> None:
        self.lp = pywraplp.Solver.CreateSolver("GLOP")
        inf = self.lp.infinity()
        self.objective = self.lp.Objective()
        self.objective.SetMinimization()
        self.cover_rows = []
        self.unders: list[tuple[int, Any]] = []  # (weight, under-cover slack) of every cover term
        for k, (_d, _s, optimum, under, over) in enumerate(cover_terms):
            row = self.lp.Constraint(optimum, optimum)
            u = self.lp.NumVar(0, inf, f"u{k}")
            o = self.lp.NumVar(0, inf, f"o{k}")
            row.SetCoefficient(u, 1)
            row.SetCoefficient(o, -1)
            self.objective.SetCoefficient(u, under)
            if under:
                self.unders.append((under, u))
            self.objective.SetCoefficient(o, over)
            self.cover_rows.append(row)
        self.person_rows = [self.lp.Constraint(1, 1) for _ in model.people]
        self.columns: list[_Column] = []
        self.known: set[tuple[int, tuple[str | None, ...]]] = set()
        self.vars: list[Any] = []

    def add(self, col: _Column) -> bool:
        key = (col.person, col.row)
        if key in self.known:
            return False
        self.known.add(key)
        v = self.lp.NumVar(0, self.lp.infinity(), f"c{len(self.columns)}")
        self.objective.SetCoefficient(v, col.cost)
        self.person_rows[col.person].SetCoefficient(v, 1)
        for k in col.cells:
            self.cover_rows[k].SetCoefficient(v, 1)
        self.columns.append(col)
        self.vars.append(v)
        return True

    def under_cover(self) -> float:
        """The weighted under-cover of the LP solution just found."""
        return float(sum(w * u.solution_value() for w, u in self.unders))

    def solve(self) -> tuple[float, list[float], list[float]] | None:
        if self.lp.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        return (self.objective.Value(), [r.dual_value() for r in self.cover_rows],
                [r.dual_value() for r in self.person_rows])


def column_generation(
    model: RosterModel,
    start: Assignment,
    *,
    deadline: float,
    dive_deadline: float | None = None,
    far_deadline: float | None = None,
    close_dive_deadline: float | None = None,
    workers: int = 2,
    shared: _Shared | None = None,
    pricing_seconds: float = 2.0,
    leave_free: int = 0,
    smoothing: float = 0.5,
    log: Callable[[str], None] | None = None,
    exact_dp: bool = True,
    on_dive: Callable[[Assignment, frozenset[int], float | None, bool], bool] | None = None,
    redive_deadline: float | None = None,
    seed: int = 0,
) -> ColumnGenerationResult:
    """Solve the master LP by column generation until it converges or ``deadline`` (time.monotonic())
    passes (when the LP is not close to converged by then, until ``far_deadline`` if given), then dive to a
    roster until ``dive_deadline`` (no dive when None), or until ``close_dive_deadline`` when it is given and
    the LP is close to converged. ``start`` (people x days,
    each row feasible for its person) seeds the columns. ``shared.halt()`` stops everything; the bound is
    raised in ``shared`` as it improves.

    ``on_dive(rows, free, lp_under, close)`` is called with each dive's roster (the LP's under-cover before
    the dive, and whether the LP was close); while it returns False and half the last dive's time is left
    before ``redive_deadline``, the dive is taken again, until then at the latest (its steps are sized to
    fit), with its ranking perturbed (``seed``), from the same master (its columns kept). The result's
    roster is the last dive's."""
    t0 = time.monotonic()
    P = len(model.people)
    cover_terms = [(c.day, c.shift, c.optimum, c.under_weight, c.over_weight) for c in model.cover
                   if c.optimum is not None and (c.under_weight or c.over_weight)]
    cover_index = {(d, s): k for k, (d, s, *_rest) in enumerate(cover_terms)}
    def stopped() -> bool:
        return shared is not None and shared.stop.is_set()

    def is_close() -> bool:
        return converged or (lp_value is not None and bound is not None
                             and lp_value - bound <= _CLOSE_GAP * max(1.0, abs(lp_value)))

    last_deadline = deadline if far_deadline is None else max(deadline, far_deadline)

    def running() -> bool:
        now = time.monotonic()
        return now < deadline or (now < last_deadline and not is_close())

    lp_value: float | None = None
    lp_under: float | None = None
    bound: float | None = None
    converged = False
    iterations = 0
    hints: list[Sequence[str | None]] = [tuple(r) for r in start]
    roster: tuple[Assignment, frozenset[int]] | None = None
    close = False
    stats: dict[str, Any] = {}
    master = _Master(model, cover_terms)
    pricers: list[_Pricer] = []
    for pi, row in enumerate(start):  # a person at a time: a stop is seen within one person's model
        if stopped():
            return ColumnGenerationResult(None, None, False, 0, 0, None, stats=stats)
        pricers.append(_Pricer(model, pi, cover_index, exact_dp))
        cost, cells = _pattern_cost(pricers[pi], row)
        master.add(_Column(pi, tuple(row), cost, cells))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # Wentges smoothing: price at a mix of the LP duals and the duals of the best Lagrangian bound so far
        # (fewer rounds); a round that finds nothing at the mix is repeated at the LP duals
        center: tuple[list[float], list[float]] | None = None
        plain = False
        opt = [t[2] for t in cover_terms]
        while not stopped() and running():
            solved = master.solve()
            if solved is None:
                break
            lp_value, duals, mus = solved
            lp_under = master.under_cover()
            iterations += 1
            if center is None or plain or smoothing <= 0:
                sep_d, sep_m = duals, mus
            else:
                sep_d = [smoothing * c + (1 - smoothing) * v for c, v in zip(center[0], duals)]
                sep_m = [smoothing * c + (1 - smoothing) * v for c, v in zip(center[1], mus)]
            limit = max(0.05, min(pricing_seconds, last_deadline - time.monotonic()))
            added, exact, total_rc = _price_round(pool, pricers, range(P), master, sep_d, sep_m, hints, shared,
                                                  limit)
            if stopped():
                break
            if exact:
                candidate = sum(p * o for p, o in zip(sep_d, opt)) + sum(sep_m) + total_rc
                if bound is None or candidate > bound:
                    bound = candidate
                    center = (list(sep_d), list(sep_m))
                    if shared is not None:
                        shared.raise_bound(int(math.ceil(candidate - 1e-6)))
            if log is not None:
                log(f"cg {iterations}: lp {lp_value:.2f} added {added} bound {bound} "
                    f"t {time.monotonic() - t0:.1f}{' plain' if sep_d is duals else ''}")
            if bound is not None and math.ceil(bound - 1e-6) >= math.ceil(lp_value - 1e-6):
                converged = True  # the objective is integral: the LP cannot give a better bound
                break
            if added == 0:
                if sep_d is not duals:
                    plain = True  # mispriced: look again at the LP duals themselves
                    continue
                converged = exact
                if exact:
                    bound = lp_value
                break
            plain = False
        stats.update(cg_iterations=iterations, cg_columns=len(master.columns),
                     cg_seconds=round(time.monotonic() - t0, 2))
        close = is_close()
        if dive_deadline is not None and not stopped():
            t1 = time.monotonic()
            if close and close_dive_deadline is not None:
                dive_deadline = max(dive_deadline, close_dive_deadline)
            roster = dive(model, master, pricers, hints, pool, deadline=dive_deadline, shared=shared,
                          pricing_seconds=pricing_seconds, leave_free=leave_free, log=log)
            took = time.monotonic() - t1
            stats["dive_seconds"] = round(took, 2)
            rng = random.Random(seed)
            dives = 1
            while (roster is not None and on_dive is not None and not on_dive(*roster, lp_under, close)
                   and redive_deadline is not None and not stopped()):
                t1 = time.monotonic()
                if t1 + took / 2 > redive_deadline:
                    break
                again = dive(model, master, pricers, hints, pool, deadline=min(t1 + took, redive_deadline),
                             shared=shared,
                             pricing_seconds=pricing_seconds, leave_free=leave_free, log=log, rng=rng)
                if again is None:
                    break
                roster = again
                dives += 1
                took = time.monotonic() - t1
            stats["dives"] = dives
    return ColumnGenerationResult(
        lp_value=lp_value,
        lp_under=lp_under,
        lower_bound=None if bound is None else int(math.ceil(bound - 1e-6)),
        converged=converged,
        iterations=iterations,
        columns=len(master.columns),
        roster=roster,
        close=close,
        stats=stats,
    )


def _price_round(pool: ThreadPoolExecutor, pricers: Sequence[_Pricer], people: Sequence[int], master: _Master,
                 duals: Sequence[float], mus: Sequence[float], hints: list[Sequence[str | None]],
                 shared: _Shared | None, limit: float) -> tuple[int, bool, float]:
    """Price ``people`` once; add their negative patterns. (added, all exact, sum of their least reduced
    costs)"""
    def price(pi: int) -> tuple[float | None, bool, list[_Column]]:
        return pricers[pi].price(duals, mus[pi], shared, limit, hints[pi])

    # the CP-SAT pricers in the pool; the DP ones here meanwhile, one after the other: the DP is numpy on
    # small arrays and holds the interpreter lock, so two threads of it took longer than one (Instance 12's
    # column generation converged in 25.6 s with two, 20.2 s with one)
    futures = {pi: pool.submit(price, pi) for pi in people if pricers[pi].dp is None}
    inline = {pi: price(pi) for pi in people if pricers[pi].dp is not None}
    results = [inline[pi] if pi in inline else futures[pi].result() for pi in people]
    added = 0
    exact = True
    least = 0.0
    for pi, (rc, proven, cols) in zip(people, results):
        if rc is None or not proven:
            exact = False
        else:
            least += rc
        for col in cols:
            added += master.add(col)
        if cols:
            hints[pi] = min(cols, key=lambda c: c.cost - sum(duals[k] for k in c.cells)).row
    return added, exact, least


_DIVE_ROUNDS = 2  # pricing rounds between two dive steps
_FINAL_ROUNDS = 4  # at most, re-pricing the people left free after the last step
_DIVE_NOISE = 0.3  # a second dive's random addition to the LP weights that rank the people to fix


def dive(model: RosterModel, master: _Master, pricers: Sequence[_Pricer], hints: list[Sequence[str | None]],
         pool: ThreadPoolExecutor, *, deadline: float, shared: _Shared | None = None,
         rounds_per_step: int = _DIVE_ROUNDS, pricing_seconds: float = 2.0, leave_free: int = 0,
         log: Callable[[str], None] | None = None,
         rng: random.Random | None = None) -> tuple[Assignment, frozenset[int]] | None:
    """Fix people to patterns one step at a time (each step fixes the people whose LP pattern weighs most),
    re-pricing the others a few rounds in between, until all but ``leave_free`` people have a pattern. The
    steps are sized from the time a step takes so that the last one ends before ``deadline``, leaving the
    time of one step to re-price the people left free. Returns the roster (the fixed patterns, and for the
    people left free their heaviest pattern) and the people left free; None if stopped or the LP fails.
    With ``rng``, a person whose heaviest pattern is not integral in the LP ranks by its weight plus up to
    _DIVE_NOISE at random (a different dive from the same LP); the integral ones still come first."""
    P = len(model.people)
    target = max(0, P - leave_free)
    fixed: dict[int, int] = {}
    step_seconds: float | None = None  # the last step's duration

    def stopped() -> bool:
        return shared is not None and shared.stop.is_set()

    def reprice(rounds: int, until: float) -> bool:
        """Price the people not fixed until nothing is added, ``rounds`` rounds or ``until``; False if the
        LP fails."""
        for _ in range(rounds):
            if time.monotonic() >= until or stopped():
                break
            solved = master.solve()
            if solved is None:
                return False
            _lp, duals, mus = solved
            free = [pi for pi in range(P) if pi not in fixed]
            limit = max(0.05, min(pricing_seconds, until - time.monotonic()))
            added, _exact, _least = _price_round(pool, pricers, free, master, duals, mus, hints, shared, limit)
            if added == 0:
                break
        return True

    while True:
        if stopped():
            return None
        began = time.monotonic()
        if len(fixed) < target:
            # re-price before the step while there is time for it and for the final re-pricing
            reserve = step_seconds or 0.0
            if not reprice(rounds_per_step, deadline - reserve):
                return None
        solved = master.solve()
        if solved is None:
            return None
        weights: dict[int, tuple[float, int]] = {}
        for j, v in enumerate(master.vars):
            col = master.columns[j]
            if col.person in fixed:
                continue
            val = v.solution_value()
            if col.person not in weights or val > weights[col.person][0]:
                weights[col.person] = (val, j)
        if len(fixed) >= target:
            if log is not None:
                log(f"dive: done {len(fixed)}/{P} lp {solved[0]:.1f} t {time.monotonic():.1f}")
            rows = [master.columns[fixed[pi] if pi in fixed else weights[pi][1]].row for pi in range(P)]
            for j in fixed.values():
                master.vars[j].SetLb(0.0)
            return tuple(rows), frozenset(pi for pi in range(P) if pi not in fixed)
        noise = {pi: 0.0 if rng is None else 1.0 if w > 0.99 else rng.uniform(0.0, _DIVE_NOISE)
                 for pi, (w, _j) in weights.items()}
        ranked = sorted(weights.items(), key=lambda kv: -(kv[1][0] + noise[kv[0]]))
        remaining = target - len(fixed)
        now = time.monotonic()
        if step_seconds is None:
            size = max(1, (P - len(fixed)) // 8)
        else:
            # the steps left before the deadline, one step's time kept for the final re-pricing
            steps_left = max(1, int((deadline - now) / max(step_seconds, 1e-3)) - 1)
            size = -(-remaining // steps_left)
        integral = sum(1 for kv in ranked if kv[1][0] > 0.99)
        step = ranked[:min(remaining, max(size, integral))]
        for pi, (_val, j) in step:
            fixed[pi] = j
            master.vars[j].SetLb(1.0)
        step_seconds = time.monotonic() - began
        if log is not None:
            log(f"dive: fixed {len(fixed)}/{P} lp {solved[0]:.1f} step {step_seconds:.2f} s t {time.monotonic():.1f}")
        if len(fixed) >= target and not reprice(_FINAL_ROUNDS, max(deadline, time.monotonic() + step_seconds)):
            return None


def _pattern_cost(pricer: _Pricer, row: Sequence[str | None]) -> tuple[int, tuple[int, ...]]:
    """A pattern's own cost (its requests) and the cover terms it works, by fixing it in the pricer model."""
    cp = pricer.built.cp.clone()
    for v, val in pricer.built.hint_pairs([row]):
        dom = cp.proto.variables[v].domain
        dom[0] = val
        dom[1] = val
    solver = _params(5.0, 1)
    status = solver.solve(cp)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ValueError(f"The start pattern of person {pricer.pi} breaks one of their rules.")
    values = list(solver.response_proto.solution)
    return int(values[pricer.obj_index]), tuple(k for k, vi, _d in pricer.cells if values[vi])
