"""The general roster model and its CP-SAT solver.

A :class:`RosterModel` is plain data: people, a horizon of days, shift types with their length in minutes,
coverage per (day, shift), the hard rules each person works under, and the soft terms of the objective.
Every scheduling problem of the program is mapped onto it (the Curtois & Qu benchmark in
:mod:`core.solver.curtois`, the residency block later); :func:`solve` turns it into a CP-SAT model and
solves it.

Decision: for every person ``p`` and day ``d`` either exactly one shift type or off.

Hard rules (all optional; ``None`` means "no limit"):

* eligibility: ``Person.eligible`` (shift types the person may work; None = all) and ``max_shifts[s] == 0``;
* ``Person.unavailable`` days (leave; hard off) and :class:`FixedAssignment` (a shift or off, never changed;
  a fixed shift is allowed even where eligibility would forbid it, but every other rule still applies);
* ``RosterModel.forbidden_successions``: ``(a, b)`` forbids shift ``b`` on the day after shift ``a``;
* ``Person.max_shifts``: at most n shifts of a type over the horizon;
* ``Person.min_total_minutes`` / ``max_total_minutes`` over the horizon, and :class:`MinutesWindow` for
  any day range (e.g. sliding 7- or 28-day windows, see :func:`sliding_windows`);
* ``Person.max_consecutive_work``, ``min_consecutive_work``, ``min_consecutive_off``;
  ``Person.history_work_days`` days worked just before day 0 count into the first run for the maximum;
* ``Person.max_weekends``: weekends are Saturday+Sunday pairs found from ``RosterModel.first_weekday``
  (Monday = 0); a weekend counts as worked if either day is worked; a weekend cut by the horizon counts;
* coverage hard limits ``CoverRequirement.minimum`` / ``maximum`` (people on that shift that day).

Boundaries: the day before day 0 and the day after the horizon are days off for the maximum-consecutive
rule. With ``RosterModel.boundary_runs_exempt`` (the default, as in the benchmark) runs of work or of days
off that touch the first or last day are not checked against the minimum-run rules, because they continue
outside the horizon; with it off, such runs are checked as if they ended at the boundary.

Soft terms (the objective, an integer to minimise):

* coverage: ``under_weight`` per person below ``optimum`` and ``over_weight`` per person above it;
* :class:`ShiftRequest`: ``on`` requests cost their weight when not granted (for a shift: when that shift is
  not worked; for ``shift=None``: when the day is off), ``off`` requests when broken (for a shift: when that
  shift is worked; for ``shift=None``: when any shift is worked);
* :class:`FairnessTerm`: ``weight * (max - min)`` over a group of people of their counts of given shift types
  on given days, plus carried counts (e.g. year-to-date calls) -- the hook for fairness of calls,
  weekends and holidays.

Solving (:func:`solve`): a tight Boolean CP-SAT model (run rules as short clauses, aggregated succession
constraints, symmetry breaking between identical people), a start built person by person (each person's
best roster against the others; or a greedy start repaired into the nearest feasible roster), on large
models column generation over whole-horizon patterns (:mod:`core.solver.colgen`: a far tighter bound, and
a dive to a start near the LP optimum), then a full CP-SAT search (proves the bound) running beside a
large-neighbourhood search that
re-optimises parts of the incumbent (a few people over the whole horizon, or everybody over a few days) with
sub-solves limited in deterministic time.
Progress is reported through a callback; ``cancelled()`` is polled every 0.1 s and stops everything,
keeping the best roster found.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from core.errors import ValidationError

ProgressCallback = Callable[[int, int, float], None]
"""progress(objective, best_bound, elapsed_seconds); may be called from solver threads."""


def _no_progress(objective: int, bound: int, elapsed: float) -> None:
    return None


def _never() -> bool:
    return False


# --------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class ShiftType:
    id: str
    minutes: int


@dataclass(frozen=True)
class Person:
    id: str
    eligible: frozenset[str] | None = None
    max_shifts: Mapping[str, int] = field(default_factory=dict)
    min_total_minutes: int | None = None
    max_total_minutes: int | None = None
    max_consecutive_work: int | None = None
    min_consecutive_work: int | None = None
    min_consecutive_off: int | None = None
    max_weekends: int | None = None
    unavailable: frozenset[int] = frozenset()
    history_work_days: int = 0


@dataclass(frozen=True)
class CoverRequirement:
    day: int
    shift: str
    minimum: int = 0
    optimum: int | None = None
    maximum: int | None = None
    under_weight: int = 0
    over_weight: int = 0


@dataclass(frozen=True)
class FixedAssignment:
    person: str
    day: int
    shift: str | None  # None = fixed day off


@dataclass(frozen=True)
class ShiftRequest:
    person: str
    day: int
    shift: str | None  # None = any shift (on: wants to work; off: wants the day off)
    weight: int
    on: bool


@dataclass(frozen=True)
class MinutesWindow:
    person: str | None  # None = everybody
    first_day: int
    last_day: int  # inclusive
    min_minutes: int | None = None
    max_minutes: int | None = None


@dataclass(frozen=True)
class FairnessTerm:
    people: tuple[str, ...]
    weight: int
    shifts: frozenset[str] | None = None  # None = every shift type
    days: frozenset[int] | None = None  # None = every day
    carried: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RosterModel:
    horizon: int
    shift_types: tuple[ShiftType, ...]
    people: tuple[Person, ...]
    cover: tuple[CoverRequirement, ...] = ()
    forbidden_successions: tuple[tuple[str, str], ...] = ()
    fixed: tuple[FixedAssignment, ...] = ()
    requests: tuple[ShiftRequest, ...] = ()
    windows: tuple[MinutesWindow, ...] = ()
    fairness: tuple[FairnessTerm, ...] = ()
    first_weekday: int = 0
    boundary_runs_exempt: bool = True
    name: str = ""

    def weekends(self) -> list[tuple[int, ...]]:
        """Saturday/Sunday day groups inside the horizon (a weekend cut by the horizon keeps its part)."""
        out: list[tuple[int, ...]] = []
        current: list[int] = []
        for d in range(self.horizon):
            wd = (self.first_weekday + d) % 7
            if wd in (5, 6):
                if wd == 5 and current:
                    out.append(tuple(current))
                    current = []
                current.append(d)
            elif current:
                out.append(tuple(current))
                current = []
        if current:
            out.append(tuple(current))
        return out

    def validate(self) -> None:
        """Raise ValidationError (one sentence) if the model refers to unknown ids or days."""
        if self.horizon <= 0:
            raise ValidationError("The roster horizon must be at least one day.")
        shifts = {s.id for s in self.shift_types}
        if len(shifts) != len(self.shift_types):
            raise ValidationError("Two shift types share an id.")
        people = {p.id for p in self.people}
        if len(people) != len(self.people):
            raise ValidationError("Two people share an id.")

        def day(d: int, what: str) -> None:
            if not 0 <= d < self.horizon:
                raise ValidationError(f"{what} refers to day {d}, outside the horizon 0..{self.horizon - 1}.")

        def shift(s: str | None, what: str) -> None:
            if s is not None and s not in shifts:
                raise ValidationError(f"{what} refers to the unknown shift type {s!r}.")

        def person(p: str | None, what: str) -> None:
            if p is not None and p not in people:
                raise ValidationError(f"{what} refers to the unknown person {p!r}.")

        for p in self.people:
            for s in (p.eligible or ()):
                shift(s, f"Person {p.id}")
            for s in p.max_shifts:
                shift(s, f"Person {p.id}")
            for d in p.unavailable:
                day(d, f"Person {p.id}'s unavailable days")
        for c in self.cover:
            day(c.day, "A cover requirement")
            shift(c.shift, "A cover requirement")
        for a, b in self.forbidden_successions:
            shift(a, "A forbidden succession")
            shift(b, "A forbidden succession")
        for f in self.fixed:
            person(f.person, "A fixed assignment")
            day(f.day, "A fixed assignment")
            shift(f.shift, "A fixed assignment")
        for r in self.requests:
            person(r.person, "A request")
            day(r.day, "A request")
            shift(r.shift, "A request")
        for w in self.windows:
            person(w.person, "A minutes window")
            day(w.first_day, "A minutes window")
            day(w.last_day, "A minutes window")
        for t in self.fairness:
            for q in t.people:
                person(q, "A fairness term")
            for s in (t.shifts or ()):
                shift(s, "A fairness term")


def sliding_windows(
    horizon: int, length: int, *, max_minutes: int | None = None, min_minutes: int | None = None,
    person: str | None = None,
) -> tuple[MinutesWindow, ...]:
    """Every window of ``length`` consecutive days (e.g. 28 days of at most 80 h * 4 = 19200 minutes)."""
    return tuple(
        MinutesWindow(person, d, d + length - 1, min_minutes=min_minutes, max_minutes=max_minutes)
        for d in range(max(0, horizon - length + 1))
    )


Assignment = tuple[tuple[str | None, ...], ...]


@dataclass(frozen=True)
class RosterResult:
    status: str  # "optimal", "feasible", "infeasible", "unknown"
    objective: int | None
    best_bound: int | None
    time_to_first_feasible: float | None
    wall_time: float
    assignment: Assignment | None  # [person][day] shift id or None (off), people in model order
    cancelled: bool = False
    stats: Mapping[str, int | float | str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- the CP-SAT model


class _Built:
    """The CP-SAT model of a RosterModel, with the variable indices the search needs."""

    def __init__(self, model: RosterModel, *, symmetry_breaking: bool = True) -> None:
        model.validate()
        self.model = model
        H = model.horizon
        P = len(model.people)
        self.shift_ids = [s.id for s in model.shift_types]
        sidx = {s: i for i, s in enumerate(self.shift_ids)}
        self.minutes = [s.minutes for s in model.shift_types]
        pidx = {p.id: i for i, p in enumerate(model.people)}
        m = cp_model.CpModel()
        self.cp = m

        fixed: dict[tuple[int, int], str | None] = {}
        for f in model.fixed:
            key = (pidx[f.person], f.day)
            if key in fixed and fixed[key] != f.shift:
                raise ValidationError(
                    f"Person {f.person} has two different fixed assignments on day {f.day}."
                )
            fixed[key] = f.shift

        # x[p][d] = {shift index: BoolVar}; w[p][d] = worked literal
        self.x: list[list[dict[int, Any]]] = []
        self.w: list[list[Any]] = []
        for pi, p in enumerate(model.people):
            allowed = [
                i for i, s in enumerate(self.shift_ids)
                if (p.eligible is None or s in p.eligible) and p.max_shifts.get(s, H) > 0
            ]
            xrow: list[dict[int, Any]] = []
            wrow: list[Any] = []
            for d in range(H):
                key = (pi, d)
                cell: dict[int, Any] = {}
                if key in fixed:
                    fs = fixed[key]
                    if fs is not None:
                        v = m.new_bool_var(f"x_{p.id}_{d}_{fs}")
                        m.add(v == 1)
                        cell[sidx[fs]] = v
                elif d not in p.unavailable:
                    for i in allowed:
                        cell[i] = m.new_bool_var(f"x_{p.id}_{d}_{self.shift_ids[i]}")
                wv = m.new_bool_var(f"w_{p.id}_{d}")
                if cell:
                    m.add(sum(cell.values()) == wv)
                else:
                    m.add(wv == 0)
                xrow.append(cell)
                wrow.append(wv)
            self.x.append(xrow)
            self.w.append(wrow)

        # forbidden successions, aggregated: x[d][a] + sum_{b forbidden after a} x[d+1][b] <= 1
        after: dict[int, set[int]] = {}
        for first, then in model.forbidden_successions:
            after.setdefault(sidx[first], set()).add(sidx[then])
        for pi in range(P):
            for d in range(H - 1):
                for ai, bs in after.items():
                    if ai not in self.x[pi][d]:
                        continue
                    nxt = [self.x[pi][d + 1][bi] for bi in sorted(bs) if bi in self.x[pi][d + 1]]
                    if nxt:
                        m.add_at_most_one([self.x[pi][d][ai], *nxt])

        weekends = model.weekends()
        self.person_minutes: list[Any] = []
        for pi, p in enumerate(model.people):
            xs, ws = self.x[pi], self.w[pi]
            # per-type maxima
            for s, n in p.max_shifts.items():
                i = sidx[s]
                vs = [xs[d][i] for d in range(H) if i in xs[d]]
                if 0 < n < len(vs):
                    m.add(sum(vs) <= n)
            total = sum(self.minutes[i] * v for d in range(H) for i, v in xs[d].items())
            lo = p.min_total_minutes
            hi = p.max_total_minutes
            if lo is not None and lo > 0:
                m.add(total >= lo)
            if hi is not None:
                m.add(total <= hi)
            self.person_minutes.append(total)
            # maximum consecutive working days (the day before day 0 is off unless history says so)
            cmax = p.max_consecutive_work
            if cmax is not None and cmax < H:
                for d in range(H - cmax):
                    m.add(sum(ws[d:d + cmax + 1]) <= cmax)
                h = p.history_work_days
                if h > 0:
                    span = cmax - h + 1
                    if span <= 0:
                        m.add(ws[0] == 0)
                    elif span <= H:
                        m.add(sum(ws[0:span]) <= span - 1)
            # minimum runs: if a run starts at d, it covers d..d+k-1 (or reaches the exempt boundary)
            self._min_run(ws, p.min_consecutive_work, model.boundary_runs_exempt)
            self._min_run([w.Not() for w in ws], p.min_consecutive_off, model.boundary_runs_exempt)
            if p.max_weekends is not None and p.max_weekends < len(weekends):
                wk = []
                for days in weekends:
                    y = m.new_bool_var(f"wk_{p.id}_{days[0]}")
                    for d in days:
                        m.add_implication(ws[d], y)
                    wk.append(y)
                m.add(sum(wk) <= p.max_weekends)

        for win in model.windows:
            targets = range(P) if win.person is None else [pidx[win.person]]
            for pi in targets:
                expr = sum(
                    self.minutes[i] * v
                    for d in range(win.first_day, win.last_day + 1)
                    for i, v in self.x[pi][d].items()
                )
                if win.min_minutes is not None:
                    m.add(expr >= win.min_minutes)
                if win.max_minutes is not None:
                    m.add(expr <= win.max_minutes)

        # objective
        self.under_terms: list[tuple[int, int]] = []  # (weight, variable index) of every under-cover slack
        self.under_days: list[int] = []  # the day of each of them
        self.under_shifts: list[int] = []  # and its shift (index into shift_ids)
        self.over_days: list[tuple[int, int]] = []  # (day, variable index) of every over-cover slack
        terms: list[tuple[int, Any]] = []
        const = 0
        upper = 0  # an upper bound of the objective, for the objective variable's domain
        for c in model.cover:
            i = sidx[c.shift]
            vs = [self.x[pi][c.day][i] for pi in range(P) if i in self.x[pi][c.day]]
            n = sum(vs)
            if c.minimum > 0:
                m.add(n >= c.minimum)
            if c.maximum is not None:
                m.add(n <= c.maximum)
            if c.optimum is not None and (c.under_weight or c.over_weight):
                under = m.new_int_var(0, max(0, c.optimum), f"under_{c.day}_{c.shift}")
                over = m.new_int_var(0, max(0, len(vs) - c.optimum), f"over_{c.day}_{c.shift}")
                m.add(n + under - over == c.optimum)
                terms.append((c.under_weight, under))
                if c.under_weight:
                    self.under_terms.append((c.under_weight, under.index))
                    self.under_days.append(c.day)
                    self.under_shifts.append(i)
                self.over_days.append((c.day, over.index))
                terms.append((c.over_weight, over))
                upper += c.under_weight * max(0, c.optimum) + c.over_weight * max(0, len(vs) - c.optimum)
        for r in model.requests:
            pi = pidx[r.person]
            cell = self.x[pi][r.day]
            if r.shift is None:
                lit = self.w[pi][r.day]
                worked: Any = lit
            else:
                worked = cell.get(sidx[r.shift])
            upper += abs(r.weight)
            if worked is None:  # that shift cannot be worked that day
                if r.on:
                    const += r.weight
                continue
            if r.on:  # weight * (1 - worked)
                const += r.weight
                terms.append((-r.weight, worked))
            else:
                terms.append((r.weight, worked))
        for t in model.fairness:
            counts = []
            for q in t.people:
                pi = pidx[q]
                fdays: Iterable[int] = range(H) if t.days is None else sorted(t.days)
                vs = [
                    v for d in fdays for i, v in self.x[pi][d].items()
                    if t.shifts is None or self.shift_ids[i] in t.shifts
                ]
                counts.append(sum(vs) + t.carried.get(q, 0))
            if len(counts) >= 2 and t.weight:
                big = H + max([abs(v) for v in t.carried.values()] + [0])
                hi_v = m.new_int_var(-big, big, "fair_max")
                lo_v = m.new_int_var(-big, big, "fair_min")
                for cexpr in counts:
                    m.add(hi_v >= cexpr)
                    m.add(lo_v <= cexpr)
                terms.append((t.weight, hi_v))
                terms.append((-t.weight, lo_v))
                upper += abs(t.weight) * 2 * big

        self.objective_expr = sum(c * v for c, v in terms) + const
        self.objective_const = const
        self.obj = m.new_int_var(-upper - abs(const) - 1, upper + abs(const) + 1, "objective")
        m.add(self.obj == self.objective_expr)
        m.minimize(self.obj)
        self.obj_index = self.obj.index

        self.num_x = sum(len(cell) for row in self.x for cell in row)
        self.symmetric_groups: list[list[int]] = []
        if symmetry_breaking:
            self._break_symmetry(fixed)

    def _min_run(self, lits: Sequence[Any], k: int | None, exempt: bool) -> None:
        """Runs of true literals are at least k long (runs touching an exempt boundary excepted)."""
        if k is None or k <= 1:
            return
        H = len(lits)
        m = self.cp
        for d in range(H):
            start: list[Any] = [] if d == 0 else [lits[d - 1]]  # clause part "not a run start at d"
            if d == 0 and exempt:
                continue
            for j in range(1, k):
                if d + j > H - 1:
                    if not exempt:  # a run cannot start here: it would end cut short by the horizon
                        m.add_bool_or([*start, lits[d].Not()])
                    break
                m.add_bool_or([*start, lits[d].Not(), lits[d + j]])

    def _break_symmetry(self, fixed: Mapping[tuple[int, int], str | None]) -> None:
        """People identical in every rule and term may be permuted: order them by total minutes."""
        model = self.model
        referenced: set[str] = {r.person for r in model.requests}
        referenced |= {w.person for w in model.windows if w.person is not None}
        for t in model.fairness:
            referenced |= set(t.people)
        fixed_people = {model.people[pi].id for pi, _ in fixed}
        groups: dict[tuple[Any, ...], list[int]] = {}
        for pi, p in enumerate(model.people):
            if p.id in referenced or p.id in fixed_people:
                continue
            key = (
                p.eligible, tuple(sorted(p.max_shifts.items())), p.min_total_minutes, p.max_total_minutes,
                p.max_consecutive_work, p.min_consecutive_work, p.min_consecutive_off, p.max_weekends,
                p.unavailable, p.history_work_days,
            )
            groups.setdefault(key, []).append(pi)
        for members in groups.values():
            if len(members) < 2:
                continue
            self.symmetric_groups.append(members)
            for a, b in zip(members, members[1:]):
                self.cp.add(self.person_minutes[a] >= self.person_minutes[b])

    # -------------------------------------------------------------- solutions as values <-> assignment
    def assignment_from_values(self, values: Sequence[int]) -> Assignment:
        out = []
        for xrow in self.x:
            row: list[str | None] = []
            for cell in xrow:
                chosen = None
                for i, v in cell.items():
                    if values[v.index]:
                        chosen = self.shift_ids[i]
                        break
                row.append(chosen)
            out.append(tuple(row))
        return tuple(out)

    def hint_pairs(self, assignment: Sequence[Sequence[str | None]]) -> list[tuple[int, int]]:
        pairs: list[tuple[int, int]] = []
        for pi, xrow in enumerate(self.x):
            if pi >= len(assignment):
                break
            for d, cell in enumerate(xrow):
                if d >= len(assignment[pi]):
                    break
                s = assignment[pi][d]
                for i, v in cell.items():
                    pairs.append((v.index, 1 if self.shift_ids[i] == s else 0))
                pairs.append((self.w[pi][d].index, 1 if s is not None and any(
                    self.shift_ids[i] == s for i in cell) else 0))
        return pairs

    def canonical(self, assignment: Assignment) -> Assignment:
        """Reorder rows inside symmetric groups so that the symmetry-breaking order holds."""
        if not self.symmetric_groups:
            return assignment
        rows = list(assignment)
        mins = {s: self.minutes[i] for i, s in enumerate(self.shift_ids)}
        for members in self.symmetric_groups:
            sub = sorted((rows[pi] for pi in members),
                         key=lambda r: -sum(mins[s] for s in r if s is not None))
            for pi, r in zip(members, sub):
                rows[pi] = r
        return tuple(rows)


# ---------------------------------------------------------------------------------------- greedy start


def greedy_assignment(model: RosterModel, seed: int = 0) -> Assignment:
    """A fast constructive roster used as a hint: day by day, fill each shift up to its optimum with the
    eligible person who breaks the fewest rules and gains the most from it. Not guaranteed feasible."""
    rng = random.Random(seed)
    H = model.horizon
    sid = [s.id for s in model.shift_types]
    mins = {s.id: s.minutes for s in model.shift_types}
    forbidden = set(model.forbidden_successions)
    fixed = {(f.person, f.day): f.shift for f in model.fixed}
    on: dict[tuple[str, int], dict[str | None, int]] = {}
    off: dict[tuple[str, int], dict[str | None, int]] = {}
    for r in model.requests:
        target = on if r.on else off
        target.setdefault((r.person, r.day), {})
        target[(r.person, r.day)][r.shift] = target[(r.person, r.day)].get(r.shift, 0) + r.weight
    need = {(c.day, c.shift): (c.optimum if c.optimum is not None else c.minimum) for c in model.cover}
    weekends = model.weekends()
    weekend_of = {d: k for k, days in enumerate(weekends) for d in days}
    roster: dict[str, list[str | None]] = {p.id: [None] * H for p in model.people}
    count: dict[tuple[str, str], int] = {}
    minutes: dict[str, int] = {p.id: 0 for p in model.people}
    run: dict[str, int] = {p.id: p.history_work_days for p in model.people}
    wk_worked: dict[str, set[int]] = {p.id: set() for p in model.people}
    for d in range(H):
        taken: set[str] = set()
        for p in model.people:
            if (p.id, d) in fixed:
                s = fixed[(p.id, d)]
                roster[p.id][d] = s
                taken.add(p.id)
        order = sorted(sid, key=lambda s: -need.get((d, s), 0))
        for s in order:
            have = sum(1 for p in model.people if roster[p.id][d] == s)
            while have < need.get((d, s), 0):
                best: tuple[float, str] | None = None
                for p in model.people:
                    if p.id in taken or d in p.unavailable:
                        continue
                    if p.eligible is not None and s not in p.eligible:
                        continue
                    if count.get((p.id, s), 0) >= p.max_shifts.get(s, H):
                        continue
                    if p.max_total_minutes is not None and minutes[p.id] + mins[s] > p.max_total_minutes:
                        continue
                    prev = roster[p.id][d - 1] if d > 0 else None
                    if prev is not None and (prev, s) in forbidden:
                        continue
                    if p.max_consecutive_work is not None and run[p.id] >= p.max_consecutive_work:
                        continue
                    k = weekend_of.get(d)
                    if (k is not None and p.max_weekends is not None and k not in wk_worked[p.id]
                            and len(wk_worked[p.id]) >= p.max_weekends):
                        continue
                    score = 0.0
                    score += 10 * on.get((p.id, d), {}).get(s, 0) + 5 * on.get((p.id, d), {}).get(None, 0)
                    score -= 10 * off.get((p.id, d), {}).get(s, 0) + 10 * off.get((p.id, d), {}).get(None, 0)
                    want = p.min_total_minutes or 0
                    cap = p.max_total_minutes or want or 1
                    score += 8 * (1 - minutes[p.id] / max(1, cap))
                    if want and minutes[p.id] < want:
                        score += 4
                    if 0 < run[p.id] < (p.min_consecutive_work or 0):
                        score += 6
                    if run[p.id] == 0 and prev is None and d > 0:
                        # starting a run right after a short rest breaks the minimum rest
                        rest = 0
                        for dd in range(d - 1, -1, -1):
                            if roster[p.id][dd] is not None:
                                break
                            rest += 1
                        if rest < d and rest < (p.min_consecutive_off or 0):
                            score -= 12
                    score += rng.random()
                    if best is None or score > best[0]:
                        best = (score, p.id)
                if best is None:
                    break
                pid = best[1]
                roster[pid][d] = s
                taken.add(pid)
                have += 1
        for p in model.people:
            s2 = roster[p.id][d]
            if s2 is not None:
                count[(p.id, s2)] = count.get((p.id, s2), 0) + 1
                minutes[p.id] += mins[s2]
                run[p.id] += 1
                if d in weekend_of:
                    wk_worked[p.id].add(weekend_of[d])
            else:
                run[p.id] = 0
    return tuple(tuple(roster[p.id]) for p in model.people)


def one_person_model(model: RosterModel, person: Person, *, extra_requests: Sequence[ShiftRequest] = (),
                     requests: Sequence[ShiftRequest] | None = None,
                     fixed: Sequence[FixedAssignment] | None = None) -> RosterModel:
    """The roster model of one person alone: their hard rules, fixed cells, windows and requests (plus
    ``extra_requests``); no cover. ``requests``/``fixed`` are that person's, when already sorted out."""
    if requests is None:
        requests = [r for r in model.requests if r.person == person.id]
    if fixed is None:
        fixed = [f for f in model.fixed if f.person == person.id]
    return RosterModel(
        horizon=model.horizon, shift_types=model.shift_types, people=(person,),
        forbidden_successions=model.forbidden_successions, fixed=tuple(fixed),
        requests=tuple(requests) + tuple(extra_requests),
        windows=tuple(w for w in model.windows if w.person in (None, person.id)),
        first_weekday=model.first_weekday, boundary_runs_exempt=model.boundary_runs_exempt,
    )


def person_by_person(model: RosterModel, *, passes: int = 2, deadline: float | None = None,
                     seed: int = 0, shared: _Shared | None = None,
                     on_pass: Callable[[Assignment], None] | None = None) -> Assignment | None:
    """A feasible start built one person at a time, each given their best roster against the others.

    Every hard rule of the roster model except hard cover limits and the symmetry order binds one person
    only, so a roster made of rosters each feasible for its person is feasible. Person by person (in a
    shuffled order; the later passes start from the roster so far) a one-person model is solved exactly:
    the others' cover is folded into that person's cover targets (the remaining shortfall as optimum), so
    the one-person objective is exactly the change of the whole objective (fairness terms aside). Returns
    None when the model has hard cover limits or fairness terms, when a one-person model is infeasible, or
    when ``deadline`` (time.monotonic()) passes before the first pass ends (or ``shared`` is told to stop:
    its halt() also stops the one-person solve under way). ``on_pass`` receives the (feasible) roster after
    each pass but the last.
    """
    if model.fairness or any(c.minimum > 0 or c.maximum is not None for c in model.cover):
        return None
    H = model.horizon
    P = len(model.people)
    rows: list[list[str | None]] = [[None] * H for _ in range(P)]
    count: dict[tuple[int, str], int] = {}
    requests: dict[str, list[ShiftRequest]] = {}
    for r in model.requests:
        requests.setdefault(r.person, []).append(r)
    fixed: dict[str, list[FixedAssignment]] = {}
    for f in model.fixed:
        fixed.setdefault(f.person, []).append(f)
    cover_terms = [(c.day, c.shift, c.optimum, c.under_weight, c.over_weight) for c in model.cover
                   if c.optimum is not None and (c.under_weight or c.over_weight)]
    rng = random.Random(seed)
    for n in range(max(1, passes)):
        order = list(range(P))
        rng.shuffle(order)
        for pi in order:
            if shared is not None and shared.stop.is_set():
                return None
            if deadline is not None and time.monotonic() > deadline:
                return tuple(tuple(r) for r in rows) if n > 0 else None
            person = model.people[pi]
            for d, s in enumerate(rows[pi]):
                if s is not None:
                    count[(d, s)] -= 1
            # one more person on a shift short of its optimum saves under_weight, on any other costs over_weight:
            # as requests of this person, "on" where short and "off" elsewhere (no slack variables needed)
            cover = tuple(
                ShiftRequest(person.id, d, s, under, on=True) if optimum > count.get((d, s), 0)
                else ShiftRequest(person.id, d, s, over, on=False)
                for d, s, optimum, under, over in cover_terms
                if d not in person.unavailable and (person.eligible is None or s in person.eligible)
            )
            one = one_person_model(model, person, extra_requests=cover, requests=requests.get(person.id, ()),
                                   fixed=fixed.get(person.id, ()))
            built = _Built(one, symmetry_breaking=False)
            if n > 0:
                _set_hint(built.cp.proto, built.hint_pairs([rows[pi]]))
            solver = _params(5.0, 1, seed=seed)
            solver.parameters.linearization_level = 2  # a one-person roster is an LP-tight path problem
            status = _solve_registered(shared, solver, built.cp)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                if n == 0:
                    return None
                status_row = rows[pi]
            else:
                status_row = list(built.assignment_from_values(list(solver.response_proto.solution))[0])
            rows[pi] = status_row
            for d, s in enumerate(rows[pi]):
                if s is not None:
                    count[(d, s)] = count.get((d, s), 0) + 1
        if on_pass is not None and n + 1 < passes:
            on_pass(tuple(tuple(r) for r in rows))
    return tuple(tuple(r) for r in rows)


# --------------------------------------------------------------------------------------------- the search


class _Shared:
    """The incumbent and the bound, shared by the full search and the neighbourhood search."""

    def __init__(self, start: float, progress: ProgressCallback) -> None:
        self.lock = threading.Lock()
        self.start = start
        self.progress = progress
        self.best: int | None = None
        self.values: list[int] | None = None
        self.bound: int | None = None
        self.first: float | None = None
        self.proven_optimal = False
        self.infeasible = False
        self.stop = threading.Event()
        self.solvers: set[Any] = set()
        self.improvements: dict[str, int] = {}

    def offer(self, objective: int, values: list[int] | None, source: str) -> bool:
        with self.lock:
            if self.first is None:
                self.first = time.monotonic() - self.start
            if self.best is not None and objective >= self.best:
                return False
            self.best = objective
            if values is not None:
                self.values = values
            self.improvements[source] = self.improvements.get(source, 0) + 1
            bound = self.bound if self.bound is not None else objective
            bound = min(bound, objective)
            done = self.bound is not None and self.bound >= objective
        self._report(objective, bound)
        if done:
            self.halt()
        return True

    def raise_bound(self, bound: int) -> None:
        with self.lock:
            if self.bound is not None and bound <= self.bound:
                return
            self.bound = bound
            best = self.best
            done = best is not None and bound >= best
        if best is not None:
            self._report(best, min(bound, best))
        if done:
            self.halt()

    def _report(self, objective: int, bound: int) -> None:
        try:
            self.progress(objective, bound, time.monotonic() - self.start)
        except Exception:  # a faulty progress sink must not kill the search
            pass

    def register(self, solver: Any) -> None:
        with self.lock:
            self.solvers.add(solver)
            stop = self.stop.is_set()
        if stop:
            solver.stop_search()

    def unregister(self, solver: Any) -> None:
        with self.lock:
            self.solvers.discard(solver)

    def halt(self) -> None:
        self.stop.set()
        with self.lock:
            solvers = list(self.solvers)
        for s in solvers:
            s.stop_search()


class _Callback(cp_model.CpSolverSolutionCallback):  # type: ignore[misc]
    def __init__(self, shared: _Shared, source: str, obj_index: int) -> None:
        super().__init__()
        self.shared = shared
        self.source = source
        self.obj_index = obj_index

    def on_solution_callback(self) -> None:
        values = list(self.response_proto.solution)
        self.shared.offer(int(values[self.obj_index]), values, self.source)
        if self.shared.stop.is_set():
            self.stop_search()


def _params(time_limit: float, workers: int, seed: int = 0) -> Any:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    solver.parameters.log_search_progress = False
    # Ctrl-C stays Python's: CP-SAT's own SIGINT handler outlives the solve and would end the process
    solver.parameters.catch_sigint_signal = False
    return solver


def _solve_registered(shared: _Shared | None, solver: Any, model: Any) -> Any:
    """solver.solve(model), registered with ``shared`` meanwhile so that halt() stops it."""
    if shared is not None:
        shared.register(solver)
    try:
        return solver.solve(model)
    finally:
        if shared is not None:
            shared.unregister(solver)


def _set_hint(proto: Any, pairs: Iterable[tuple[int, int]]) -> None:
    proto.clear_solution_hint()
    hint = proto.solution_hint
    vs: list[int] = []
    vals: list[int] = []
    for v, val in pairs:
        vs.append(v)
        vals.append(val)
    hint.vars.extend(vs)
    hint.values.extend(vals)


_LP_FULL_SEARCH_MAX_X = 1500  # cell variables up to which the full search's root LP is quick enough
# cell variables above which solve() starts with column generation (where applicable): on Curtois Instances
# 6-12 (1,040-10,452 cells) it gives the bound and a start near the LP optimum; below, the full search
# proves the optimum sooner alone (Instances 1-5)
_CG_MIN_X = 1000


def _full_search(built: _Built, shared: _Shared, time_limit: float, workers: int,
                 hint: list[tuple[int, int]] | None, stats: dict[str, Any]) -> None:
    model = built.cp.clone()
    if hint:
        _set_hint(model.proto, hint)
    solver = _params(time_limit, workers)
    if workers == 1 and built.num_x <= _LP_FULL_SEARCH_MAX_X:
        # One full worker on a small model: the LP-heavy search proves rostering optima much faster.
        # (On larger models its root LP is too slow to give a useful bound within a minute.)
        solver.parameters.linearization_level = 2
    solver.best_bound_callback = lambda b: shared.raise_bound(int(math.ceil(b - 1e-6)))
    shared.register(solver)
    if shared.stop.is_set():  # a stop asked before solve() starts would be lost
        shared.unregister(solver)
        return
    try:
        status = solver.solve(model, _Callback(shared, "full", built.obj_index))
    finally:
        shared.unregister(solver)
    stats["full_status"] = solver.status_name(status)
    if status == cp_model.OPTIMAL:
        shared.raise_bound(int(round(solver.objective_value)))
        shared.proven_optimal = True
        shared.halt()
    elif status == cp_model.INFEASIBLE:
        shared.infeasible = True
        shared.halt()
    elif status == cp_model.FEASIBLE:
        shared.raise_bound(int(math.ceil(solver.best_objective_bound - 1e-6)))
    elif status == cp_model.MODEL_INVALID:
        stats["model_invalid"] = solver.solution_info() or "model invalid"
        shared.halt()


def _first_solution(built: _Built, shared: _Shared, time_limit: float, workers: int,
                    hint: list[tuple[int, int]] | None, stats: dict[str, Any]) -> list[int] | None:
    """A feasible roster fast: the nearest roster to the start roster (greedy or given).

    The objective is replaced by the number of cells that differ from the hint, so the result is a repair of
    the (usually slightly infeasible) greedy roster rather than an arbitrary feasible one (Instance 9: a start
    at about 5,000 instead of 12,400 from a bare feasibility solve; it takes a few seconds longer, so every
    roster found on the way is offered at once). The search stops once a roster is found and a grace period
    of twice that time has passed, or when the distance is proven minimal.
    """
    model = built.cp.clone()
    model.clear_objective()  # type: ignore[no-untyped-call]
    if hint:
        _set_hint(model.proto, hint)
        obj = model.proto.objective
        offset = 0
        for v, val in hint:
            obj.vars.append(v)
            obj.coeffs.append(-1 if val else 1)
            offset += 1 if val else 0
        obj.offset = offset
    solver = _params(time_limit, workers)
    solver.parameters.linearization_level = 0  # no LP: the distance objective's LP only slows the first roster
    shared.register(solver)
    t0 = time.monotonic()

    class _StopSoon(cp_model.CpSolverSolutionCallback):  # type: ignore[misc]
        first: float | None = None

        def on_solution_callback(self) -> None:
            now = time.monotonic() - t0
            if self.first is None:
                self.first = now
            values = list(self.response_proto.solution)
            shared.offer(int(values[built.obj_index]), values, "first")
            if now > max(0.5, 3 * self.first) or shared.stop.is_set():
                self.stop_search()

    try:
        status = solver.solve(model, _StopSoon())
    finally:
        shared.unregister(solver)
    stats["first_status"] = solver.status_name(status)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = list(solver.response_proto.solution)
        stats["first_objective"] = int(values[built.obj_index])
        stats["first_seconds"] = round(time.monotonic() - t0, 2)
        shared.offer(int(values[built.obj_index]), values, "first")
        with shared.lock:  # the search goes on from the best roster found so far
            values = shared.values if shared.values is not None else values
        return values
    if status == cp_model.INFEASIBLE:
        shared.infeasible = True
        shared.halt()
    elif status == cp_model.MODEL_INVALID:
        stats["model_invalid"] = solver.solution_info() or "model invalid"
        shared.halt()
    return None


def _complete(built: _Built, shared: _Shared, pairs: Sequence[tuple[int, int]], time_limit: float,
              stats: dict[str, Any]) -> list[int] | None:
    """The full solution of a roster given as (variable, value) pairs for every cell, or None if it breaks a
    rule: every cell variable fixed, one worker, no LP (the cover slack, weekend and objective variables
    follow by propagation). Much cheaper than a repair search when the roster is already feasible."""
    model = built.cp.clone()
    model.proto.clear_solution_hint()
    for v, val in pairs:
        dom = model.proto.variables[v].domain
        dom[0] = val
        dom[1] = val
    solver = _params(time_limit, 1)
    solver.parameters.linearization_level = 0
    status = _solve_registered(shared, solver, model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    values = list(solver.response_proto.solution)
    stats["first_objective"] = int(values[built.obj_index])
    shared.offer(int(values[built.obj_index]), values, "start")
    return values


def _cell_vars(built: _Built) -> list[list[list[int]]]:
    """[person][day] -> the indices of that cell's shift variables and its worked literal."""
    return [
        [[v.index for v in cell.values()] + [built.w[pi][d].index] for d, cell in enumerate(row)]
        for pi, row in enumerate(built.x)
    ]


def _fix_cells(proto: Any, cell_vars: Sequence[Sequence[Sequence[int]]], values: Sequence[int],
               open_cells: AbstractSet[tuple[int, int]]) -> None:
    """Fix, through their domains in ``proto``, the variables of every cell (person, day) outside
    ``open_cells`` to their ``values``."""
    for pi, row in enumerate(cell_vars):
        for d, idxs in enumerate(row):
            if (pi, d) in open_cells:
                continue
            for vi in idxs:
                dom = proto.variables[vi].domain
                val = values[vi]
                dom[0] = val
                dom[1] = val


def _solve_people(built: _Built, shared: _Shared, rows: Assignment, free: Iterable[int], time_limit: float,
                  workers: int, stats: dict[str, Any], seed: int = 0, windows: bool = True,
                  target: int = 0) -> None:
    """Search the roster ``rows`` with only the ``free`` people's cells open (everybody else kept), offering
    every better roster found. ``rows`` must keep every person's own rules (cover may be anything). Where
    cover is short-weighted: first the least under-cover over the free people's cells, then (with
    ``windows``) windows of days around the shifts still short (:func:`_cover_windows`, everybody's cells),
    then the whole objective over the free people's cells with no more under-cover (with ``windows``, at
    most _CLOSE_POLISH_MAX seconds of it). ``target``: the windows stop once the roster is short by no more
    than that."""
    end = time.monotonic() + time_limit
    values = _people_cover(built, shared, rows, free, time_limit, workers, stats, seed, windows, target)
    if values is not None and not shared.stop.is_set():
        _people_polish(built, shared, values, free, end - time.monotonic(), workers, stats, windows)


def _people_cover(built: _Built, shared: _Shared, rows: Assignment, free: Iterable[int], time_limit: float,
                  workers: int, stats: dict[str, Any], seed: int = 0, windows: bool = True,
                  target: int = 0) -> list[int] | None:
    """The first parts of :func:`_solve_people`: the roster ``rows`` completed, then (where cover is
    short-weighted) its least under-cover over the free people's cells and the windows. ``time_limit`` is
    the whole of _solve_people's: these parts take their shares of it. Returns the roster's values, None if
    stopped or nothing was found."""
    values = _complete(built, shared, built.hint_pairs(rows), 5.0, {})
    if values is None or shared.stop.is_set() or not built.under_terms:
        return values
    # the cover first: the least under-cover alone (the request terms only blur that search), then the whole
    # objective with no more under-cover than that (in _people_polish)
    first = _fixed_model(built, values, free)
    _under_objective(built, first)
    part = _COVER_FIRST if windows else _COVER_FIRST_ALONE
    status, best = _search(first, shared, built, part * time_limit, workers)
    stats["dive_cover_first"] = f"{status} {None if best is None else _under(built, best)}"
    if best is None or shared.stop.is_set():
        return None
    if windows:
        return _cover_windows(built, shared, best, _COVER_WINDOWS * time_limit, workers, seed, stats, target)
    return best


def _people_polish(built: _Built, shared: _Shared, values: list[int], free: Iterable[int], time_limit: float,
                   workers: int, stats: dict[str, Any], windows: bool = True) -> None:
    """The last part of :func:`_solve_people`: the whole objective over the free people's cells, with no
    more under-cover than ``values`` has (with ``windows``, at most _CLOSE_POLISH_MAX seconds)."""
    free_set = set(free)
    model = _fixed_model(built, values, free_set)
    if built.under_terms:
        _cap_under(built, model, _under(built, values))
    limit = time_limit
    if windows and _CLOSE_POLISH_MAX is not None:
        limit = min(limit, _CLOSE_POLISH_MAX)
    status, _best = _search(model, shared, built, limit, workers)
    stats["dive_search"] = f"{status} {len(free_set)} people"


def _fixed_model(built: _Built, values: Sequence[int], free: Iterable[int]) -> Any:
    """The cell model with every cell but the ``free`` people's fixed to ``values``, hinted with them."""
    model = built.cp.clone()
    free_cells = {(pi, d) for pi in set(free) for d in range(built.model.horizon)}
    _fix_cells(model.proto, _cell_vars(built), values, free_cells)
    _set_hint(model.proto, enumerate(values))
    return model


# parts of the search over the people the dive left free: the least under-cover over their cells, then over
# windows of days around the shifts still short (everybody's cells), then the rest: the whole objective over
# the free people's cells
_COVER_FIRST, _COVER_WINDOWS = 0.25, 0.5
_COVER_FIRST_ALONE = 0.5  # the cover-first part without the windows
_WINDOW_CELLS = 240  # person-days in the first window (8 days of 30 people); it grows while its searches end
# quickly, shrinks when they do not
_WINDOW_PATIENCE = 16  # windows in a row that lower nothing, after which the windows stop
_WINDOW_DTIME = 0.3  # deterministic-time limit of one window's search
# after a close dive, the longest search (s) of the whole objective over the free people's cells; the rest of
# the time goes to the neighbourhood search over everybody. Instance 7 (6 free people of 20, the dive done at
# 25 s) used to search them until 90 % of the time: within 1 % in 6 of 9 runs before, 8 of 8 with the cap
_CLOSE_POLISH_MAX: float | None = 5.0


@dataclass
class _WindowState:
    """The roster that _cover_windows's threads share."""
    values: list[int]  # the roster the windows start from (it drifts across rosters as short)
    under: int  # its under-cover
    length: float  # of the next window, days
    kept: list[int]  # the best by (under-cover, whole objective): returned
    version: int = 0  # raised at every replacement: a window solved from an older roster is dropped
    tries: int = 0
    better: list[int] = field(default_factory=list)  # the windows (by count of tries) that lowered it
    paired: bool = False  # windows of two half-length runs of days (around a short shift, around a spare one)
    switched: int = 0  # tries at the last switch between single and paired windows


def _cover_windows(built: _Built, shared: _Shared, values: list[int], time_limit: float, workers: int,
                   seed: int, stats: dict[str, Any], target: int = 0) -> list[int]:
    """Lower the under-cover of the roster ``values`` by re-solving, under-cover alone, everybody's cells
    over a window of days around a shift still short; one window per thread (``workers`` threads) until
    ``time_limit``. A roster with no more under-cover than the current one replaces it (so the search
    drifts across plateaus) and is offered. Only shifts short by more than their floor (:func:`_short_floor`)
    are aimed at: no window can cover the rest, and when none is left the windows stop; they stop as well
    once the roster is short by no more than ``target`` (the caller gives the pattern LP's own under-cover,
    rounded up: Instance 7's LP is 10 shifts short, as short as its rosters come, and the windows then leave
    the time to the search over the whole objective). After _WINDOW_PATIENCE windows in a row that lower
    nothing the windows switch to pairs of half windows (one around a short shift, one around a shift
    worked more than wanted, anywhere if none: work can move from one to the other), and back while a
    switch pays; when a run of windows ends without lowering anything, after the first, they stop.
    Returns the roster with the least under-cover seen and, among those, the best whole objective.

    Measured on Instance 8 from eight cached dives, after 3.5 s of the cover-first search over the ten
    people left free (12-14 shifts short), 10 s of windows ended at 12 short (its floor) in 12 of 16 runs
    (two seeds) with the second half of a pair anywhere, and in 11 of 16 with single windows aimed at every
    short shift (session 6's). On the three dives left at 13, three seeds each: 5 of 9 with the second half
    around a spare shift, and about as many with it anywhere, but the dive left short of a late shift
    reached 12 in 3 of 3 against 1 of 3. Freeing sets of people over the whole horizon instead of the
    pairs found nothing more in four stuck cases. In whole 60 s runs none of these changed Instance 8's
    odds measurably (see docs/performance.md).
    """
    H, P = built.model.horizon, len(built.model.people)
    base = built.cp.clone()
    base.proto.clear_solution_hint()
    _under_objective(built, base)
    cell_vars = _cell_vars(built)
    short_cells = list(zip(built.under_days, built.under_shifts, (vi for _w, vi in built.under_terms)))
    floor = _short_floor(built)
    lock = threading.Lock()
    state = _WindowState(values, _under(built, values), max(2.0, min(H, _WINDOW_CELLS / P)), values)
    end = time.monotonic() + time_limit

    def loop(thread_seed: int) -> None:
        rng = random.Random(thread_seed)
        while not shared.stop.is_set() and time.monotonic() < end - 0.05:
            with lock:
                if state.tries - max(state.better[-1] if state.better else 0, state.switched) >= _WINDOW_PATIENCE:
                    first = state.switched == 0 and not state.paired
                    if not first and not (state.better and state.better[-1] > state.switched):
                        return  # stuck: the time is the search's after this
                    state.paired = not state.paired
                    state.switched = state.tries
                current, under, version = state.values, state.under, state.version
                length = max(2, min(H, round(state.length)))
                paired = state.paired
                tries = state.tries
            short_by = dict.fromkeys(floor, 0)
            for _d, i, vi in short_cells:
                short_by[i] += current[vi]
            short = [d for d, i, vi in short_cells if current[vi] > 0 and short_by[i] > floor[i]]
            if not short or under <= target:
                return  # nothing left that a window could cover, or as little short as wanted
            day = rng.choice(short)
            if paired:
                half = max(1, length // 2)
                d0 = max(0, min(H - half, day - rng.randrange(half)))
                spare = [d for d, vi in built.over_days if current[vi] > 0]
                if spare:  # the other half around a shift worked more than wanted: work can move from it
                    d1 = max(0, min(H - half, rng.choice(spare) - rng.randrange(half)))
                else:
                    d1 = rng.randrange(0, H - half + 1)
                days = set(range(d0, d0 + half)) | set(range(d1, d1 + half))
            else:
                d0 = max(0, min(H - length, day - rng.randrange(length)))
                days = set(range(d0, d0 + length))
            cells = {(pi, d) for pi in range(P) for d in days}
            sub = base.clone()
            _fix_cells(sub.proto, cell_vars, current, cells)
            _set_hint(sub.proto, enumerate(current))
            _cap_under(built, sub, under)  # no worse than now: the search looks for better or equal only
            solver = _params(end - time.monotonic(), 1, seed=thread_seed + tries)
            solver.parameters.max_deterministic_time = _WINDOW_DTIME
            solver.parameters.linearization_level = 2
            status = _solve_registered(shared, solver, sub)
            quick = solver.response_proto.deterministic_time < _WINDOW_DTIME / 3
            new = list(solver.response_proto.solution) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
            with lock:
                state.tries += 1
                if not paired:  # the length is the single windows' own
                    if status == cp_model.OPTIMAL and quick:
                        state.length = min(float(H), state.length + 0.5)
                    elif status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
                        state.length = max(2.0, state.length - 1.0)
                if new is None or state.version != version:
                    continue
                new_under = _under(built, new)
                if new_under > state.under:
                    continue
                if new_under < state.under:
                    state.better.append(state.tries)
                    state.kept = new
                elif new[built.obj_index] < state.kept[built.obj_index]:
                    state.kept = new
                state.values, state.under, state.version = new, new_under, version + 1
            shared.offer(int(new[built.obj_index]), new, "cover")

    threads = [threading.Thread(target=loop, args=(seed + 1000 * k,), name=f"roster-cover-{k}", daemon=True)
               for k in range(1, max(1, workers))]
    for t in threads:
        t.start()
    loop(seed)
    for t in threads:
        t.join()
    stats["cover_windows"] = f"{state.under} after {state.tries} windows (better at {state.better}), " \
                             f"{round(state.length)} days, switched at {state.switched}"
    return state.kept


def _short_floor(built: _Built) -> dict[int, int]:
    """For each shift (index) with under-cover terms, a lower bound of the shifts short over the horizon:
    its requirement summed over the days less what everybody could work of it (each person's days able to
    work it, capped by their maximum of it). On Instance 8 the nights' floor is 12: everybody's night
    maximums add up to 74 against 86 required."""
    model, H = built.model, built.model.horizon
    required: dict[tuple[int, str], int] = {}
    for c in model.cover:
        if c.under_weight and c.optimum:
            required[(c.day, c.shift)] = max(required.get((c.day, c.shift), 0), c.optimum)
    floor = {}
    for i in set(built.under_shifts):
        sid = built.shift_ids[i]
        need = sum(n for (_d, s), n in required.items() if s == sid)
        supply = 0
        for pi, person in enumerate(model.people):
            days = sum(1 for d in range(H) if i in built.x[pi][d])
            supply += min(days, person.max_shifts.get(sid, days))
        floor[i] = max(0, need - supply)
    return floor


def _under(built: _Built, values: Sequence[int]) -> int:
    return sum(w * values[vi] for w, vi in built.under_terms)


def _under_objective(built: _Built, model: Any) -> None:
    """Make the under-cover alone ``model``'s objective (a copy of built's)."""
    model.clear_objective()
    obj = model.proto.objective
    for weight, vi in built.under_terms:
        obj.vars.append(vi)
        obj.coeffs.append(weight)


def _cap_under(built: _Built, model: Any, limit: int) -> None:
    """Allow ``model`` (a copy of built's) no more under-cover than ``limit``."""
    cap = model.proto.constraints.add()
    cap.linear.vars.extend(vi for _w, vi in built.under_terms)
    cap.linear.coeffs.extend(w for w, _vi in built.under_terms)
    cap.linear.domain.extend([0, limit])


def _search(model: Any, shared: _Shared, built: _Built, time_limit: float, workers: int
            ) -> tuple[str, list[int] | None]:
    """One CP-SAT search of ``model`` (a copy of built's), offering every roster it finds by its true
    objective; (status name, the last roster found)."""
    solver = _params(time_limit, workers)
    solver.parameters.linearization_level = 2
    callback = _Callback(shared, "dive", built.obj_index)
    shared.register(solver)
    try:
        if shared.stop.is_set():
            return "STOPPED", None
        status = solver.solve(model, callback)
    finally:
        shared.unregister(solver)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver.status_name(status), list(solver.response_proto.solution)
    return solver.status_name(status), None


class _Neighbourhoods:
    """Chooses which cells (person, day) to free.

    Kinds: ``days`` (everybody over a window of days), ``people`` (a few people over the whole horizon),
    ``block`` (some people over a window), ``cover`` (the people able to work a badly covered shift, around
    that day). Each kind keeps its own size and grows it while its sub-problems solve quickly, shrinks it
    when they time out; kinds are drawn in proportion to their recent success.
    """

    KINDS = ("days", "people", "block", "cover")

    def __init__(self, built: _Built, rng: random.Random, by_gain: bool = False) -> None:
        self.built = built
        self.rng = rng
        self.H = built.model.horizon
        self.P = len(built.model.people)
        # size = number of days (days), of people (people), of people (block, cover; the window grows too)
        self.size: dict[str, float] = {"days": 3.0, "people": 2.0, "block": max(3.0, self.P / 4), "cover": 3.0}
        self.score = {k: 1.0 for k in self.KINDS}
        self.tries = {k: 0 for k in self.KINDS}
        self.wins = {k: 0 for k in self.KINDS}
        self.cpu = {k: 0.0 for k in self.KINDS}  # thread CPU seconds spent in each kind
        # by_gain: kinds drawn in proportion to their recent objective gain per CPU second (15 % at random);
        # otherwise in proportion to their recent share of improving moves
        self.by_gain = by_gain
        self.gain_rate = {k: 0.0 for k in self.KINDS}
        self.sidx = {s: i for i, s in enumerate(built.shift_ids)}
        self.able: dict[int, list[int]] = {
            i: [pi for pi in range(self.P) if any(i in self.built.x[pi][dd] for dd in range(self.H))]
            for i in range(len(built.shift_ids))
        }

    def _bad_cover(self, values: Sequence[int]) -> list[tuple[int, int]]:
        bad = []
        P = self.P
        for c in self.built.model.cover:
            if c.optimum is None:
                continue
            i = self.sidx[c.shift]
            n = sum(values[self.built.x[pi][c.day][i].index] for pi in range(P) if i in self.built.x[pi][c.day])
            if n < c.optimum and c.under_weight or n > c.optimum and c.over_weight:
                bad.append((c.day, i))
        return bad

    def _choose(self) -> str:
        if self.by_gain:
            untried = [k for k in self.KINDS if self.tries[k] == 0 and self.score[k] > 0]
            if untried:
                return untried[0]
            if self.rng.random() < 0.15:  # keep every kind's figure fresh
                return self.rng.choice([k for k in self.KINDS if self.score[k] > 0] or list(self.KINDS))
            weights = self.gain_rate
        else:
            weights = self.score
        total = sum(weights[k] for k in self.KINDS if self.score[k] > 0)
        r = self.rng.random() * total
        for candidate in self.KINDS:
            if self.score[candidate] <= 0:
                continue
            r -= weights[candidate]
            if r <= 0:
                return candidate
        return self.KINDS[0]

    def pick(self, values: Sequence[int]) -> tuple[str, set[tuple[int, int]]]:
        kind = self._choose()
        H, P = self.H, self.P
        size = self.size[kind]
        cells: set[tuple[int, int]] = set()
        if kind == "days":
            L = max(1, min(H, round(size)))
            d0 = self.rng.randrange(0, H - L + 1)
            cells.update((pi, d) for pi in range(P) for d in range(d0, d0 + L))
        elif kind == "people":
            k = max(1, min(P, round(size)))
            for pi in self.rng.sample(range(P), k):
                cells.update((pi, d) for d in range(H))
        elif kind == "block":
            k = min(P, max(2, round(size)))
            L = min(H, max(3, round(H * 0.3)))
            d0 = self.rng.randrange(0, H - L + 1)
            for pi in self.rng.sample(range(P), k):
                cells.update((pi, d) for d in range(d0, d0 + L))
        else:
            bad = self._bad_cover(values)
            if not bad:
                self.score["cover"] = max(0.05, self.score["cover"] * 0.5)
                self.gain_rate["cover"] = 0.0
                self.tries["cover"] = max(1, self.tries["cover"])  # counts as tried: not drawn first again
                return self.pick(values)
            d, i = self.rng.choice(bad)
            able = self.able[i]
            k = min(len(able), max(2, round(size)))
            L = min(H, 7)
            d0 = max(0, min(H - L, d - L // 2))
            for pi in self.rng.sample(able, k):
                cells.update((pi, dd) for dd in range(d0, d0 + L))
        return kind, cells

    def feedback(self, kind: str, solved: bool, fast: bool, improved: bool, gain: int = 0,
                 cpu: float = 0.0) -> None:
        self.tries[kind] += 1
        self.cpu[kind] += cpu
        rate = max(0, gain) / max(cpu, 0.005)
        self.gain_rate[kind] = rate if self.tries[kind] == 1 else 0.7 * self.gain_rate[kind] + 0.3 * rate
        if improved:
            self.wins[kind] += 1
        if solved and fast:
            self.size[kind] = min(self.size[kind] * 1.25 + 0.3, float(max(self.H, self.P)))
        elif not solved:
            self.size[kind] = max(1.0, self.size[kind] * 0.8)
        self.score[kind] = 0.8 * self.score[kind] + 0.2 * (1.0 if improved else 0.1)


_SUB_DTIME = 0.3


def _lns(built: _Built, shared: _Shared, deadline: float, seed: int, stats: dict[str, Any],
         sub_dtime: float = _SUB_DTIME, det_budget: float | None = None, by_gain: bool = False) -> None:
    """Re-optimise neighbourhoods of the incumbent until the deadline.

    Sub-solves are limited in CP-SAT's deterministic time, not in wall time, and a neighbourhood counts
    as "fast" by the same measure: on a loaded machine wall time mostly measures waiting for a core, and
    wall-time feedback kept the neighbourhoods tiny, so that the fixed cost of a sub-solve (copying and
    presolving the whole model, about 0.1 s of CPU) dwarfed the search itself (about 0.01 deterministic s).
    """
    rng = random.Random(seed)
    hood = _Neighbourhoods(built, rng, by_gain)
    base = built.cp.clone()
    base.proto.clear_solution_hint()
    cell_vars = _cell_vars(built)
    iterations = 0
    det_total = 0.0
    while not shared.stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining < 0.05 or (det_budget is not None and det_total >= det_budget):
            break
        with shared.lock:
            values = shared.values
            best = shared.best
            bound = shared.bound
        if values is None or best is None:
            time.sleep(0.05)
            continue
        kind, free = hood.pick(values)
        cpu0 = time.thread_time()
        sub = base.clone()
        proto = sub.proto
        _fix_cells(proto, cell_vars, values, free)
        odom = proto.variables[built.obj_index].domain
        odom[0] = max(odom[0], bound if bound is not None else odom[0])
        odom[1] = best
        _set_hint(proto, ((i, values[i]) for i in range(len(values))))
        solver = _params(remaining, 1, seed=iterations)
        solver.parameters.max_deterministic_time = sub_dtime
        solver.parameters.linearization_level = 2  # the LP is tight for rostering; it pays off here
        # most of the model is fixed: a light presolve is enough and saves a third of the fixed cost
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
        solver.parameters.max_presolve_iterations = 1
        status = _solve_registered(shared, solver, sub)
        iterations += 1
        spent = solver.response_proto.deterministic_time
        det_total += spent
        improved = False
        gain = 0
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            new_values = list(solver.response_proto.solution)
            obj = int(new_values[built.obj_index])
            if obj < best:
                improved = shared.offer(obj, new_values, "lns")
                gain = best - obj if improved else 0
            elif obj == best:  # a sideways move: keep it to drift across plateaus
                with shared.lock:
                    if shared.best == obj:
                        shared.values = new_values
        hood.feedback(kind, status in (cp_model.OPTIMAL, cp_model.INFEASIBLE), spent < sub_dtime / 3, improved,
                      gain, time.thread_time() - cpu0)
    with shared.lock:
        stats["lns_iterations"] = int(stats.get("lns_iterations", 0)) + iterations
        stats["lns_dtime"] = round(float(stats.get("lns_dtime", 0.0)) + det_total, 2)
        wins = ",".join(f"{k}:{hood.wins[k]}/{hood.tries[k]}@{hood.size[k]:.1f}/{hood.cpu[k]:.0f}s"
                        for k in hood.KINDS)
        stats["lns_wins"] = f"{stats['lns_wins']} | {wins}" if "lns_wins" in stats else wins


# the column-generation phase's time, as parts of the limit. The pattern LP until _CG_END; if it is close to
# converged then (colgen._CLOSE_GAP), the dive until _CLOSE_DIVE_END and the search over the people it left
# free until _CLOSE_PEOPLE_END; if not, the LP on until _FAR_CG_END, the dive until _DIVE_END and the search
# until _PEOPLE_END (more time left for the neighbourhood search). Measured at 60 s, runs within 5 % of the
# best known: Instance 8 (close at 40 %) 6 of 12 with these times (4 of 4 in the first set, 1 of 4 in each of
# the next two), 3 of 6 with session 4's 40/55/75 % and its dive (which, rushed at its deadline, fixed five
# people at once without re-pricing: LP 1,301 -> 1,531), 1 of 4 when the LP stopped early (0.3 % from its
# bound) to give the dive more time. Instance 12 (bound < 0 at 40 %) 5 of 12 with these times, 3 of 4 with
# 40/55/75 %, 1 of 4 with the close times; the LP going on to 50 % gives it a pattern bound (3,545) in half
# the runs. One 60 s run is a sample: see docs/performance.md. (Those figures are session 5's, before the
# under-cover windows; the close search then ended at 85 %. With the windows it ends at 90 %, which gives
# them time: Instance 8 within 5 % in 13 of 19 runs, see docs/performance.md.)
_CG_END, _FAR_CG_END, _DIVE_END, _PEOPLE_END = 0.4, 0.5, 0.6, 0.75
_CLOSE_DIVE_END, _CLOSE_PEOPLE_END = 0.65, 0.9
# the people the dive leaves free for the CP-SAT search: a third, at least 4 and at most _DIVE_FREE_MAX. That
# search's own bound is weak (the cell model's LP), so it covers well only over a few people. On Instance 12
# (60 people), from the dives of seeds 0-7 cached, the search was 41-48 shifts short after 4 s with 20 people
# left free, 41-43 with 10, though the LP over the 50 fixed rose further (4,110-4,480; 4,054 over 40 in the
# run logged); with 14 free, 42-43; with 6, the LP rose to 4,570-4,730 and the search ended 42-46 short
# after 12 s. Whole 60 s runs show no measurable gain: within 5 % in 10 of 12 with 10 and 11 of 12 with 20,
# interleaved in one bench run (docs/performance.md, session 9)
_DIVE_FREE_MAX = 10
# another dive (its ranking perturbed) ends by this share of the time at the latest, and starts only if half
# the last dive's time is left before it: Instance 8 on session 10's machine ends its first dive at about
# 40 % and, in about one run in ten, its cover search 13 shifts short where the LP says 12; on a slower
# machine the first dive ends too late for another
_REDIVE_END = 0.75


def _column_generation_phase(model: RosterModel, built: _Built, shared: _Shared, found: list[int],
                             start: float, time_limit: float, workers: int, stats: dict[str, Any],
                             seed: int = 0) -> None:
    """The master LP by column generation (its bound), a dive that fixes all but a third of the people (at
    most _DIVE_FREE_MAX left) to the patterns the LP likes best, and a search over the others (see
    :mod:`core.solver.colgen`)."""
    from core.solver import colgen

    rows = built.assignment_from_values(found)
    P = len(model.people)
    # each dive's roster gets the cover parts of the search over the people it left free; after a close LP,
    # a roster still short of the LP's under-cover is dived for again while a dive as long as the last fits
    # before _REDIVE_END of the time, and the roster with the least under-cover goes on to the polish
    kept: list[tuple[tuple[int, int], list[int], frozenset[int], bool]] = []

    def on_dive(dive_rows: Assignment, free: frozenset[int], lp_under: float | None, close: bool) -> bool:
        end = start + (_CLOSE_PEOPLE_END if close else _PEOPLE_END) * time_limit
        target = 0 if lp_under is None else math.ceil(lp_under - 1e-6)
        values = _people_cover(built, shared, dive_rows, free, end - time.monotonic(), workers, stats, seed,
                               windows=close, target=target)
        if values is None:
            return True
        key = (_under(built, values), values[built.obj_index])
        stats.setdefault("dive_unders", []).append(key[0])  # each dive's under-cover after its cover parts
        if not kept or key < kept[0][0]:
            kept[:] = [(key, values, free, close)]
        return not close or key[0] <= target

    result = colgen.column_generation(
        model, rows, deadline=start + _CG_END * time_limit, far_deadline=start + _FAR_CG_END * time_limit,
        dive_deadline=start + _DIVE_END * time_limit, close_dive_deadline=start + _CLOSE_DIVE_END * time_limit,
        workers=workers, shared=shared, leave_free=max(4, min(P // 3, _DIVE_FREE_MAX)), on_dive=on_dive,
        redive_deadline=start + _REDIVE_END * time_limit, seed=seed,
    )
    stats.update(result.stats)
    if result.lower_bound is not None:
        stats["cg_bound"] = result.lower_bound
    stats["cg_close"] = result.close
    if result.lp_under is not None:
        stats["cg_lp_under"] = round(result.lp_under, 1)
    if not kept or shared.stop.is_set():
        return
    (under, _obj), values, free, close = kept[0]
    stats["dive_under"] = under
    # the windows only after a dive from a close LP: there a few shifts are short of a near-optimal roster
    # (Instance 8 within 5 % in 13 of 19 runs with session 6's, 11 of 18 with session 7's, 6 of 12 without;
    # 11 of 12 once the DP pricer let the LP converge before the dive, session 8; see docs/performance.md);
    # after a dive from an LP far from its bound the neighbourhood search did better with the time
    # (Instance 12 before the DP pricer: 5 of 12 within 5 % without the windows, 3 of 14 with them; with
    # it, its LP is close by 40 % and it takes this path: 12 of 18; about 9 in 10 in session 9's runs)
    end = start + (_CLOSE_PEOPLE_END if close else _PEOPLE_END) * time_limit
    _people_polish(built, shared, values, free, end - time.monotonic(), workers, stats, windows=close)


def solve(
    model: RosterModel,
    *,
    time_limit: float,
    workers: int = 2,
    hint: Sequence[Sequence[str | None]] | None = None,
    progress: ProgressCallback = _no_progress,
    cancelled: Callable[[], bool] = _never,
    seed: int = 0,
    lns: bool = True,
    symmetry_breaking: bool = True,
    person_start: bool = True,
    second_lns: bool = True,
    column_generation: bool | None = None,
) -> RosterResult:
    """Solve a roster model within ``time_limit`` seconds on ``workers`` threads.

    With ``lns`` (the default) and two or more workers, one thread runs the neighbourhood search and the
    others a full CP-SAT search that also proves the bound (on a large model, with ``second_lns``, only for
    a tenth of the time, at least 5 s: then that thread runs a second neighbourhood search); with one worker the two
    alternate
    (a third of the time for the full search first). Before that, on a large model (``column_generation``
    None) or when ``column_generation`` is True, where people are coupled only by soft cover terms:
    column generation (:mod:`core.solver.colgen`) for the LP bound, then a dive and a search over the people it
    left free (40 %, 65 % and 90 % of the time when the LP is close to its bound by 40 %; else 50 %, 60 % and
    75 %; after a close LP, another dive, ending by 75 %, while the roster stays shorter of cover than the LP). ``hint`` (people x days, shift id or None) replaces the
    start (built person by person when ``person_start``, the model is large and allows it, else greedy).
    ``cancelled`` is polled every 0.1 s; when it returns True the search stops and the best
    roster found so far is returned with ``cancelled=True``. Raises ValidationError for a malformed model.
    """
    start = time.monotonic()
    deadline = start + max(0.0, time_limit)
    built = _Built(model, symmetry_breaking=symmetry_breaking)
    shared = _Shared(start, progress)
    stats: dict[str, Any] = {"build_seconds": round(time.monotonic() - start, 3)}
    was_cancelled = threading.Event()

    def watch() -> None:
        while not shared.stop.is_set():
            if cancelled():
                was_cancelled.set()
                shared.halt()
                return
            shared.stop.wait(0.1)

    watcher = threading.Thread(target=watch, name="roster-cancel-watch", daemon=True)
    watcher.start()
    try:
        if cancelled():
            was_cancelled.set()
            shared.halt()
        if hint is None:
            # person by person when the model allows it (a feasible, well-covered start); the greedy otherwise
            built_start = None
            # on small models the person-by-person start was worse (Instance 5: 1337 against 1241 from the
            # repaired greedy start, same deterministic LNS budget): it settles in a deep local optimum
            if lns and person_start and built.num_x > _LP_FULL_SEARCH_MAX_X and not shared.stop.is_set():
                def offer_pass(rows: Assignment) -> None:  # an early first roster for the progress display
                    _complete(built, shared, built.hint_pairs(built.canonical(rows)), 5.0, stats)

                built_start = person_by_person(model, passes=3, deadline=start + 0.2 * max(0.0, time_limit),
                                               seed=seed, shared=shared, on_pass=offer_pass)
            stats["start"] = "person-by-person" if built_start is not None else "greedy"
            if built_start is None:
                built_start = greedy_assignment(model, seed)
            start_roster = built.canonical(built_start)
        else:
            start_roster = tuple(tuple(r) for r in hint)
        hint_pairs = built.hint_pairs(start_roster)
        workers = max(1, workers)
        found: list[int] | None = None
        if lns and not shared.stop.is_set():
            budget = max(0.5, (deadline - time.monotonic()) * 0.25)
            if stats.get("start") == "person-by-person":  # feasible already: only the other variables to fill
                found = _complete(built, shared, hint_pairs, budget, stats)
            if found is None and not shared.stop.is_set():
                found = _first_solution(built, shared, budget, min(workers, 2), hint_pairs, stats)
            if found is not None:
                hint_pairs = list(enumerate(found))
        from core.solver import colgen

        use_cg = built.num_x > _CG_MIN_X if column_generation is None else column_generation
        use_cg = use_cg and lns and colgen.applicable(model) and not built.symmetric_groups
        if use_cg and found is not None and not shared.stop.is_set():
            _column_generation_phase(model, built, shared, found, start, time_limit, workers, stats, seed)
            with shared.lock:
                if shared.values is not None:
                    hint_pairs = list(enumerate(shared.values))
        if shared.stop.is_set():
            pass  # cancelled, proven or infeasible during the first roster: nothing more to search
        elif not lns:
            _full_search(built, shared, deadline - time.monotonic(), workers, hint_pairs, stats)
        elif workers >= 2:
            full_limit = deadline - time.monotonic()
            if second_lns and found is not None and built.num_x > _LP_FULL_SEARCH_MAX_X:
                # on a large model the full search found no better roster in any benchmark run (its bound
                # comes in its first seconds): it gives up its thread to a second neighbourhood search
                # (not without a roster yet: then it searches on, the neighbourhood searches need one)
                full_limit = min(full_limit, max(5.0, 0.1 * time_limit))

            def full_then_lns() -> None:
                _full_search(built, shared, full_limit, workers - 1, hint_pairs, stats)
                if not shared.stop.is_set() and time.monotonic() < deadline - 0.5:
                    stats["second_lns_from"] = round(time.monotonic() - start, 1)
                    _lns(built, shared, deadline, seed + 1, stats)

            full = threading.Thread(target=full_then_lns, name="roster-full-search", daemon=True)
            full.start()
            _lns(built, shared, deadline, seed, stats)
            full.join()
        else:
            first = max(1.0, (deadline - time.monotonic()) / 3)
            _full_search(built, shared, first, 1, hint_pairs, stats)
            if not shared.stop.is_set():
                _lns(built, shared, deadline, seed, stats)
    finally:
        shared.stop.set()
        watcher.join(timeout=1.0)

    elapsed = time.monotonic() - start
    assignment = built.assignment_from_values(shared.values) if shared.values is not None else None
    best, bound = shared.best, shared.bound
    if best is not None and bound is not None and bound >= best:
        status = "optimal"
        bound = best
    elif best is not None:
        status = "feasible"
    elif shared.infeasible:
        status = "infeasible"
    else:
        status = "unknown"
    if "model_invalid" in stats:
        raise ValidationError(f"The roster model is invalid: {stats['model_invalid']}.")
    stats["improvements"] = ",".join(f"{k}:{v}" for k, v in sorted(shared.improvements.items()))
    return RosterResult(
        status=status,
        objective=best,
        best_bound=bound,
        time_to_first_feasible=shared.first,
        wall_time=elapsed,
        assignment=assignment,
        cancelled=was_cancelled.is_set(),
        stats=stats,
    )
