"""The residency mapping: one block of a schedule snapshot -> a CP-SAT model -> a verified draft.

Written directly on OR-Tools CP-SAT (not on `core.solver.roster`): a residency block is decided per
half-day slot (AM/PM) with overnight calls on top, and its duty-hour rules are about the real duty
spans of each activity, which the one-shift-per-day roster model does not describe.

Input: a `ResidencyProblem` = a snapshot that covers the block plus a margin (28 days before it, so
every 28-day window that touches the block is measured whole, and 2 days after it, for the rest after
a call on the last night), the block's first and last day, the target activity of each replaceable
cell (the rotation's weekly pattern, or what the cell holds now), which calls are fixed, and
year-to-date call counts for fairness.

Decisions, inside the block only (everything else is a constant):
- each resident and faculty slot that is not fixed (fixed = source preload or manual, or locked) holds
  exactly one activity of its domain: its target, OFF, post-call, and every activity that has a
  coverage requirement or provides supervision in that slot and that the person may hold
  (`ScheduleSnapshot.eligible` by kind, PGY and a credential valid on the day). On an approved
  blocking absence the domain is leave or off only.
- calls per night from each call pool (`snapshot.call_pools`) to eligible people who are not absent.

Hard rules, with the numbers of `RuleValues` (the compliance engine's):
- H80: duty minutes in every rolling window <= max_hours_per_week * window / 7 (per-day minutes from
  the activity spans, in-house calls from in_house_call_start for in_house_call_minutes plus the
  scheduled transition, all through the program's time zone);
- OFF7: >= min_free_days_per_window free days per window (no duty span, no home call touching);
- Q3: <= max_in_house_calls_per_window in-house calls per window, never on consecutive nights;
- R14 / C24: the slots of a call day lie inside the call span; nothing touches the call from before
  (or starts within min_rest_hours of it); after the call nothing starts before the call's end + the
  transition + rest_after_24h_hours (the day after a call is free);
- R8: two spans of consecutive slots are never `break_under_hours`..`min_rest_hours` apart, and two
  touching spans never merge into a period longer than 16 h;
- NF: at most max_consecutive_night_float night-float nights in a row;
- QUAL and ABS through the domains; faculty: the morning after a home call has no duty (FPC) when the
  rule set asks for it.
Where the fixed cells alone already break a window rule (a deliberate hand edit), that window's
limit is relaxed to what the fixed cells force: the generator never makes it worse, and the engine
reports it in the draft.

Soft terms, by weight (see `Weights`): coverage below the minimum, supervision shortfall (SUP),
clinic capacity (CAP) and empty call nights first; then coverage above the maximum; then rule warnings
(H80W windows above 95 %, coverage below the optimum); then fairness within each class (residents per
PGY, faculty) of call nights, weekend call nights and holiday call nights, year to date; then
requests (no call on a pending leave request); then each changed cell or call night.

`generate(problem, ...)` solves it with a time limit, progress (objective, bound), cancel within
0.5 s keeping the best schedule found, and checks the result with `core.rules.engine.validate`
before it returns it. Phases (`stats["phases"]`): "hint" completes the current schedule (or, when it
breaks a hard rule, the same without its calls, then everything off) with the decisions fixed in
the domains; "calls" solves the call relaxation (`_call_bound`), whose optimum is a valid cut on the
objective and whose calls start "fixed calls" (the cells re-solved around them); "full" is the
CP-SAT search of the whole model from the best schedule, or "people lns" on a big model
(`BIG_MODEL_VARIABLES`), where the whole model's presolve alone outlasts the time limit; there the
relaxation gives only the bound and runs beside the LNS on one worker. Each better bound of the
relaxation reaches the progress as it is found. A cancel is looked at between small pieces of
work in every phase, the model build included (it polls `cancelled` between its pieces); what it
cannot cut short is a C++ call that holds the GIL (the copy of the model each fixed solve makes:
0.1-0.2 s on the large demo).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

import core.rules.faculty  # noqa: F401 - imported by the engine on its first check: not inside a cancel
from core.errors import NotFoundError, ValidationError
from core.rules.duty import rule_context
from core.rules.engine import ProposedChange, Violation, check_change, validate
from core.snapshot import (
    CALL_CODES,
    CALL_IN_HOUSE,
    NO_MAX,
    SOURCE_MANUAL,
    SOURCE_PRELOAD,
    ScheduleSnapshot,
    with_changes,
)

I16 = NDArray[np.int16]
I8 = NDArray[np.int8]
B = NDArray[np.bool_]
I64 = NDArray[np.int64]

ProgressCallback = Callable[[int, int, float], None]
"""progress(objective, best_bound, elapsed_seconds); called from solver threads."""

BIG_MODEL_VARIABLES = 40_000  # above this the free model's presolve alone outlasts a minute: LNS instead
BIG_BOUND_SECONDS = 20.0  # the call relaxation's time beside the LNS on a big model
MAX_MERGED_MINUTES = 16 * 60  # two touching spans may form one period of at most this length
CALL_NAMES = {v: k for k, v in CALL_CODES.items()}


def _no_progress(objective: int, bound: int, elapsed: float) -> None:
    return None


def _never() -> bool:
    return False


def _split_minutes(opts: Any, slots: tuple[int, ...], minutes: Any) -> tuple[int, list[Any], list[int]]:
    """The minutes that the options of `slots` put on a day, per `minutes[activity][slot]`: the
    fixed part (options without a literal) as a constant, the rest as literals with their weights."""
    const = 0
    lits: list[Any] = []
    weights: list[int] = []
    for s in slots:
        for a, lit in opts[s]:
            k = minutes[a][s]
            if k:
                if lit is None:
                    const += k
                else:
                    lits.append(lit)
                    weights.append(k)
    return const, lits, weights


@dataclass(frozen=True)
class Weights:
    coverage_min: int = 1_000_000  # per person missing below a minimum (also SUP, CAP, empty call)
    coverage_max: int = 100_000  # per person above a maximum
    warning: int = 10_000  # per H80W window, per person below an optimum
    fairness: int = 100  # per unit of (max - min) within a class
    request: int = 10  # per call on a pending leave request
    change: int = 1  # per changed cell or call night


@dataclass(frozen=True)
class ResidencyProblem:
    """One block to generate. Day indices are the snapshot's."""

    snapshot: ScheduleSnapshot
    first_day: int
    last_day: int
    target: I16  # [P, 2D] the activity each replaceable cell should hold (-1: none)
    fixed_calls: B  # [P, D] calls that are never changed (hand-entered)
    ytd_calls: NDArray[np.int64]  # [P] call nights this academic year before the block
    ytd_weekend_calls: NDArray[np.int64]  # [P]
    ytd_holiday_calls: NDArray[np.int64]  # [P]
    label: str = ""
    block_number: int | None = None

    @property
    def block_start(self) -> dt.date:
        return self.snapshot.date_of(self.first_day)

    @property
    def block_end(self) -> dt.date:
        return self.snapshot.date_of(self.last_day)


def problem_from_snapshot(
    snap: ScheduleSnapshot,
    first_day: int,
    last_day: int,
    *,
    target: I16 | None = None,
    fixed_calls: B | None = None,
    label: str = "",
    block_number: int | None = None,
) -> ResidencyProblem:
    """A problem whose targets are the cells as they are now (no rotation information)."""
    P = snap.n_people
    if not 0 <= first_day <= last_day < snap.n_days:
        raise ValidationError("The block lies outside the schedule snapshot.")
    z = np.zeros(P, dtype=np.int64)
    return ResidencyProblem(
        snapshot=snap, first_day=first_day, last_day=last_day,
        target=np.array(snap.codes if target is None else target, dtype=np.int16),
        fixed_calls=np.zeros((P, snap.n_days), dtype=bool) if fixed_calls is None else np.asarray(fixed_calls, bool),
        ytd_calls=z, ytd_weekend_calls=z.copy(), ytd_holiday_calls=z.copy(), label=label, block_number=block_number,
    )


# ----------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CellChange:
    person_id: str
    person: str
    date: dt.date
    slot: int
    before_id: str | None
    before: str | None  # activity code
    after_id: str | None
    after: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "person": self.person, "date": self.date.isoformat(),
                "slot": self.slot, "before_id": self.before_id, "before": self.before,
                "after_id": self.after_id, "after": self.after}


@dataclass(frozen=True)
class CallChange:
    person_id: str
    person: str
    date: dt.date
    service: str
    before: str | None  # call type
    after: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "person": self.person, "date": self.date.isoformat(),
                "service": self.service, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Unfilled:
    """A slot (or call night) the draft leaves short, with the constraint that blocked it."""

    date: dt.date
    slot: int | None  # None for a call night
    what: str  # activity code, "supervision", or the call pool
    needed: int
    have: int
    rule: str  # the blocking constraint: QUAL, ABS, FIXED, COV, H80, OFF7, Q3, R14, ...
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "slot": self.slot, "what": self.what, "needed": self.needed,
                "have": self.have, "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class GenerateResult:
    status: str  # optimal | feasible | infeasible | unknown
    objective: int | None
    bound: int | None
    time_to_first: float | None
    wall_time: float
    cancelled: bool
    codes: I16 | None  # [P, 2D] the whole snapshot with the block as generated
    call: I8 | None  # [P, D]
    call_service: dict[tuple[int, int], str]
    changes: tuple[CellChange, ...]
    call_changes: tuple[CallChange, ...]
    violations: tuple[Violation, ...]
    unfilled: tuple[Unfilled, ...]
    terms: dict[str, int]
    relaxed: tuple[str, ...]  # window limits relaxed because fixed cells already break them
    base_revision: str
    block_start: dt.date
    block_end: dt.date
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.codes is not None

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return (self.objective - self.bound) / max(1, abs(self.objective))

    def counts_by_severity(self) -> dict[str, int]:
        out = {"critical": 0, "high": 0, "warning": 0}
        for v in self.violations:
            out[v.severity] = out.get(v.severity, 0) + 1
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status, "objective": self.objective, "bound": self.bound,
            "gap": self.gap, "time_to_first": self.time_to_first, "wall_time": round(self.wall_time, 3),
            "cancelled": self.cancelled, "changes": len(self.changes), "call_changes": len(self.call_changes),
            "violations": self.counts_by_severity(), "unfilled": len(self.unfilled), "terms": self.terms,
            "relaxed": list(self.relaxed), "block_start": self.block_start.isoformat(),
            "block_end": self.block_end.isoformat(),
        }


# ------------------------------------------------------------------------------------------ model
@dataclass
class _Pool:
    index: int
    service: str
    call_code: int
    per_night: int
    people: list[int]


class _BuildStopped(Exception):
    """Raised inside `_Built` when its `stop` function turns true: the build is abandoned."""


class _Built:
    """The CP-SAT model of one problem, with the maps back to cells and calls.

    `stop` is polled between small pieces of the build (every few hundred cells, every resident,
    every slot, every fairness class: each a few tens of milliseconds on the large demo, where the
    whole build takes seconds); when it returns True the build raises `_BuildStopped`.
    """

    def __init__(self, problem: ResidencyProblem, weights: Weights, stop: Callable[[], bool] = _never) -> None:
        self.problem = problem
        self.w = weights
        self._stop = stop
        self.check()
        self._requests: list[Any] = []
        snap = problem.snapshot
        self.snap = snap
        self.ctx = rule_context(snap)
        self.m = cp_model.CpModel()
        P, D, A = snap.n_people, snap.n_days, len(snap.activities)
        self.P, self.D, self.A = P, D, A
        d0, d1 = problem.first_day, problem.last_day
        self.d0, self.d1 = d0, d1
        kind = snap.kind
        self.is_res = kind == 0
        self.is_fac = kind == 1
        ctx = self.ctx
        acts = snap.activities
        self.cat = [a.category for a in acts]
        off = [i for i, a in enumerate(acts) if a.category == "off"]
        leave = [i for i, a in enumerate(acts) if a.category == "leave"]
        postcall = [i for i, a in enumerate(acts) if a.category == "postcall"]
        self.off = off[0] if off else -1
        self.leave = leave[0] if leave else self.off
        self.postcall = postcall[0] if postcall else -1
        if self.off < 0:
            raise ValidationError("The program has no 'off' activity; the generator needs one to leave a slot free.")
        span_len = ctx.slot_end[:A] - ctx.slot_start[:A]  # [A, 2D]
        self.span_len = span_len
        self.duty = span_len > 0  # [A, 2D]
        elig_static = ctx.eligible_static[:, :A]
        cred = ctx.credential_ok
        src = snap.source
        fixed = (src == SOURCE_PRELOAD) | (src == SOURCE_MANUAL) | snap.locked
        self.fixed = fixed
        req_any = (snap.req_min > 0) | (snap.req_opt > 0)  # [A, 2D]
        sup_acts = [a for a in range(A) if acts[a].provides_supervision]
        needs_sup = np.array([a.needs_supervision for a in acts], dtype=bool)
        self.needs_sup = needs_sup
        self.provides_sup = np.array([a.provides_supervision for a in acts], dtype=bool)
        self.cap_act = np.array([a.counts_clinic_capacity for a in acts], dtype=bool)
        self.nf_act = np.array([a.is_night_float for a in acts], dtype=bool)
        # sup slots: a slot where supervision could be needed
        sup_slot = (needs_sup[:, None] & (req_any | (snap.codes[:, None, :] == np.arange(A)[None, :, None]).any(axis=0))).any(axis=0)
        self.sup_acts = sup_acts

        # ---------------- cells: x[p, s] -> {a: var}; constants elsewhere
        # The domain of every free cell of the block, as one [P, slots, A] mask (numpy, no per-cell
        # Python work): an absent cell holds leave, off or its target if that is no duty; any other
        # cell off, its target, post-call, every activity with a requirement in the slot and, for
        # faculty where supervision may be needed, the supervising activities, each only where the
        # person may hold it (kind, PGY, a credential valid on the day).
        self.x: dict[tuple[int, int], dict[int, Any]] = {}
        self.const: I16 = np.array(snap.codes, dtype=np.int16)  # the value of constant cells
        S0, S1 = 2 * d0, 2 * d1 + 2
        sdays = np.arange(S0, S1) // 2
        ok = np.repeat(elig_static[:, None, :], S1 - S0, axis=1)  # [P, slots, A]
        if cred is not None:
            ok &= np.transpose(cred[:, :A, :][:, :, sdays], (0, 2, 1))
        cur_b = snap.codes[:, S0:S1].astype(np.int64)
        tgt_b = problem.target[:, S0:S1].astype(np.int64)
        tgt_b = np.where(tgt_b < 0, cur_b, tgt_b)
        is_tgt = tgt_b[:, :, None] == np.arange(A)[None, None, :]
        dom_absent = is_tgt & ~self.duty[:, S0:S1].T[None, :, :]
        dom_absent[:, :, self.leave] = True
        dom_absent[:, :, self.off] = True
        dom = is_tgt & ok
        if self.postcall >= 0:
            dom[:, :, self.postcall] |= ok[:, :, self.postcall]
        dom |= req_any[:, S0:S1].T[None, :, :] & ok
        sup_mask = np.zeros(A, dtype=bool)
        sup_mask[sup_acts] = True
        dom |= self.is_fac[:, None, None] & sup_slot[S0:S1][None, :, None] & sup_mask[None, None, :] & ok
        dom[:, :, self.off] = True
        absent_b = snap.absent[:, sdays]
        dom = np.where(absent_b[:, :, None], dom_absent, dom)
        dom &= ((self.is_res | self.is_fac)[:, None] & ~fixed[:, S0:S1])[:, :, None]
        changes_neg: list[Any] = []  # change = 1 - v (the target's literal)
        changes_pos: list[Any] = []  # change = v
        changes_const = 0
        self.target_cell: dict[int, tuple[int, int]] = {}  # target literal -> (slot, activity)
        self.const_changes_in_slot: dict[int, int] = {}  # cells changed whatever the solution, per slot
        hint_idx: list[int] = []
        hint_val: list[int] = []
        new_bool = self.m.new_bool_var
        exactly_one = self.m.add_exactly_one
        x_rows: list[tuple[int, int, int]] = []  # (person, slot, activity) of each cell literal
        cells_p, cells_s = np.nonzero(dom.any(axis=2))
        tgt_cells = tgt_b[cells_p, cells_s].tolist()
        cur_cells = cur_b[cells_p, cells_s].tolist()
        absent_cells = absent_b[cells_p, cells_s].tolist()
        for i, (p, sb) in enumerate(zip(cells_p.tolist(), cells_s.tolist(), strict=True)):
            if i % 512 == 0:
                self.check()
            s = sb + S0
            vars_ = {a: new_bool(f"x{p}_{s}_{a}") for a in np.flatnonzero(dom[p, sb]).tolist()}
            exactly_one(vars_.values())
            self.x[(p, s)] = vars_
            self.const[p, s] = -2  # marks "variable"
            tgt = tgt_cells[i]
            v_tgt = vars_.get(tgt)
            if v_tgt is not None:
                changes_neg.append(v_tgt)
                self.target_cell[v_tgt.Index()] = (s, tgt)
                want = tgt
            else:
                if cur_cells[i] >= 0:
                    changes_const += 1
                    self.const_changes_in_slot[s] = self.const_changes_in_slot.get(s, 0) + 1
                want = self.leave if absent_cells[i] else self.off
            for a, v in vars_.items():
                hint_idx.append(v.Index())
                hint_val.append(1 if a == want else 0)
                x_rows.append((p, s, a))

        # The cell literals as arrays (variable index; person, slot, activity), to read a solution
        # with numpy: a cancel waits for that reading, and on the large demo there are 100k of them.
        self.x_var = np.array(hint_idx, dtype=np.int64)
        self.x_psa = np.array(x_rows, dtype=np.int64).reshape(-1, 3)

        # ---------------- calls
        self.pools: list[_Pool] = []
        self.c: dict[tuple[int, int, int], Any] = {}  # (pool, p, d) -> var
        cur_call = snap.call
        pgy = snap.pgy
        for k, spec in enumerate(snap.call_pools):
            code = CALL_CODES.get(spec.call_type)
            if code is None:
                continue
            members = [p for p in range(P) if snap.people[p].kind == spec.kind
                       and (spec.kind != "resident" or not spec.eligible_pgy or int(pgy[p]) in spec.eligible_pgy)]
            self.pools.append(_Pool(k, spec.service, code, spec.per_night, members))
        # In-house and home calls per person-day: a constant (0/1) in ih_const/home_const, plus the
        # pool literals in ih_lits/home_lits (at most one of them is true: one call per night).
        pool_member = np.zeros(P, dtype=bool)
        for pool in self.pools:
            pool_member[pool.people] = True
        const_call = ~pool_member[:, None] | problem.fixed_calls
        const_call[:, :d0] = True
        const_call[:, d1 + 1 :] = True
        self.ih_const = (const_call & (cur_call == CALL_IN_HOUSE)).astype(np.int64)
        self.home_const = (const_call & (cur_call != CALL_IN_HOUSE) & (cur_call != 0)).astype(np.int64)
        self.ih_lits: dict[tuple[int, int], list[Any]] = {}
        self.home_lits: dict[tuple[int, int], list[Any]] = {}
        self.empty_call: list[tuple[int, int, Any]] = []
        # The call-only part of the hard constraints, kept for the call relaxation (see
        # `_call_bound`): rows sum(literals) <= rhs over call literals, and call literals forced to 0.
        self.call_rows: list[tuple[list[Any], int]] = []
        self.call_zeros: list[Any] = []
        self.pool_nights: list[tuple[list[Any], int]] = []
        # (call literals, target literals of cells those calls forbid): a call there changes the cells
        self.call_forces: list[tuple[list[Any], list[Any]]] = []
        self.target_lits = {v.Index() for v in changes_neg}  # the cells' target literals so far
        for pool in self.pools:
            lits_of = self.ih_lits if pool.call_code == CALL_IN_HOUSE else self.home_lits
            for d in range(d0, d1 + 1):
                self.check()
                fixed_here = [p for p in pool.people if problem.fixed_calls[p, d] and cur_call[p, d] == pool.call_code]
                vs = []
                for p in pool.people:
                    if problem.fixed_calls[p, d]:
                        continue
                    if snap.absent[p, d]:
                        if cur_call[p, d] == pool.call_code:
                            changes_const += 1
                        continue
                    v = new_bool(f"c{pool.index}_{p}_{d}")
                    self.c[(pool.index, p, d)] = v
                    vs.append(v)
                    hint_idx.append(v.Index())
                    if cur_call[p, d] == pool.call_code:
                        changes_neg.append(v)
                        hint_val.append(1)
                    else:
                        changes_pos.append(v)
                        hint_val.append(0)
                        if snap.pending_absence[p, d]:
                            self._requests.append(v)
                    lits_of.setdefault((p, d), []).append(v)
                need = max(0, pool.per_night - len(fixed_here))
                short = self.m.new_int_var(0, need, f"callshort{pool.index}_{d}")
                self.pool_nights.append((vs, need))
                if vs:
                    self.m.add(cp_model.LinearExpr.sum(vs) + short == need)
                else:
                    self.m.add(short == need)
                self.empty_call.append((pool.index, d, short))
        # one call per person per night, across pools
        for p in range(P):
            for d in range(d0, d1 + 1):
                vs = [self.c[(k.index, p, d)] for k in self.pools if (k.index, p, d) in self.c]
                if len(vs) > 1:
                    self.m.add_at_most_one(vs)
                    self.call_rows.append((vs, 1))
        # ih / home as 0/1 or a linear expression, for the window sums
        self.ih = self.ih_const.astype(object)
        self.home = self.home_const.astype(object)
        for (p, d), lits in self.ih_lits.items():
            self.ih[p, d] = cp_model.LinearExpr.sum(lits) if len(lits) > 1 else lits[0]
        for (p, d), lits in self.home_lits.items():
            self.home[p, d] = cp_model.LinearExpr.sum(lits) if len(lits) > 1 else lits[0]
        self.changes_neg, self.changes_pos, self.changes_const = changes_neg, changes_pos, changes_const
        self.hint_idx, self.hint_val = hint_idx, hint_val
        self.relaxed: list[str] = []
        self._build_duty_rules()
        self._build_slot_rules()
        self._build_objective()

    # ----------------------------------------------------------------------------- helpers
    def check(self) -> None:
        """Abandon the build (raise `_BuildStopped`) when it was asked to stop."""
        if self._stop():
            raise _BuildStopped

    def cell_terms(self, p: int, s: int) -> dict[int, Any] | None:
        return self.x.get((p, s))

    def _options(self, p: int) -> list[list[tuple[int, Any]]]:
        """Per slot of person p: (activity, literal; None for a constant cell) of each possible value."""
        out: list[list[tuple[int, Any]]] = []
        const = self.const[p].tolist()
        for s in range(2 * self.D):
            vs = self.x.get((p, s))
            if vs is None:
                a = const[s]
                out.append([(a, None)] if a >= 0 else [])
            else:
                out.append(list(vs.items()))
        return out

    def _call_lits(self, p: int, d: int, home: bool = False) -> tuple[int, list[Any]]:
        """(constant 0/1, pool literals) of the in-house (or home) call of person p on night d."""
        if not 0 <= d < self.D:
            return 0, []
        if home:
            return int(self.home_const[p, d]), self.home_lits.get((p, d), [])
        return int(self.ih_const[p, d]), self.ih_lits.get((p, d), [])

    # ------------------------------------------------------------------------- duty-hour rules
    def _build_duty_rules(self) -> None:
        """The hard duty-hour rules of every resident (and the faculty post-call morning).

        Conflicts between literals are posted as one `bool_and` per literal, enforced by it (a -> not
        b for every b in conflict), not one two-literal constraint per pair; what a constant forbids
        is collected in one `bool_and` of negated literals. The tables of which activity pairs
        conflict depend on the slots only, so they are computed once with numpy for everybody.
        """
        snap, ctx, rules = self.snap, self.ctx, self.snap.rules
        P, D, A = self.P, self.D, self.A
        m = self.m
        d0, d1 = self.d0, self.d1
        bounds = ctx.day_bounds  # [D + 2]
        st_np, en_np = ctx.slot_start[:A], ctx.slot_end[:A]  # [A, 2D]
        # Minutes of each slot's span inside its own calendar day and the next.
        day_of_slot = np.arange(2 * D) // 2
        own_end = bounds[day_of_slot + 1][None, :]
        in_own_np = np.clip(np.minimum(en_np, own_end) - st_np, 0, None)
        in_next_np = np.clip(en_np - np.maximum(st_np, own_end), 0, None)
        trans = int(round(rules.scheduled_transition_hours * 60))
        duty_np = self.duty
        # Python lists: scalar reads from numpy arrays are slow in these loops.
        in_own, in_next = in_own_np.tolist(), in_next_np.tolist()
        nf_act = self.nf_act.tolist()
        cs_np, ce_np = ctx.in_house_start, ctx.in_house_end  # [D]
        call_head = np.clip(np.minimum(ce_np, bounds[1 : D + 1]) - cs_np, 0, None).tolist()
        call_tail = np.clip(ce_np + trans - np.maximum(cs_np, bounds[1 : D + 1]), 0, None).tolist()
        rest_end_np = ce_np + trans + int(round(rules.rest_after_24h_hours * 60))
        min_rest = int(round(rules.min_rest_hours * 60))
        brk = int(round(rules.break_under_hours * 60))
        W = rules.window_days
        if rules.window_mode == "block":
            wins = [(b.start, b.end) for b in snap.blocks if b.start >= 0 and b.end <= D - 1]
        else:
            wins = [(a, a + W - 1) for a in range(0, max(0, D - W + 1))]
        wins = [(a, b) for a, b in wins if b >= d0 and a <= d1]
        self.h80w: list[Any] = []
        self.h80w_person: list[int] = []
        self.dm_vars: dict[tuple[int, int], Any] = {}

        def table(bad: B) -> dict[int, frozenset[int]]:
            return {int(a): frozenset(np.flatnonzero(bad[a]).tolist()) for a in np.flatnonzero(bad.any(axis=1))}

        # R8 gaps and over-long merged periods: activity pairs (a in slot s, b in slot s2) that conflict.
        pair_bad: dict[tuple[int, int], dict[int, frozenset[int]]] = {}
        for s in range(max(0, 2 * d0 - 3), min(2 * D, 2 * d1 + 5)):
            for s2 in (s + 1, s + 2, s + 3):
                if s2 >= 2 * D:
                    continue
                ea, sa = en_np[:, s][:, None], st_np[:, s][:, None]
                eb, sb = en_np[:, s2][None, :], st_np[:, s2][None, :]
                gap = sb - ea
                merged = np.maximum(ea, eb) - np.minimum(sa, sb)
                bad = np.where(gap <= 0, merged > MAX_MERGED_MINUTES, (brk <= gap) & (gap < min_rest))
                bad &= duty_np[:, s][:, None] & duty_np[:, s2][None, :]
                pair_bad[(s, s2)] = table(bad)
        # Activities of slot s that an in-house call on night d forbids (C24 span, rest before/after).
        call_bad: dict[tuple[int, int], frozenset[int]] = {}
        for d in range(max(0, d0 - 1), min(D, d1 + 2)):
            for s in range(max(0, 2 * d - 2), min(2 * D, 2 * d + 6)):
                a_st, a_en = st_np[:, s], en_np[:, s]
                if s // 2 == d:
                    bad1 = (a_st < cs_np[d]) | (a_en > ce_np[d])
                else:
                    bad1 = np.where(a_en <= cs_np[d], cs_np[d] - a_en < min_rest, a_st < rest_end_np[d])
                call_bad[(d, s)] = frozenset(np.flatnonzero(bad1 & duty_np[:, s]).tolist())
        duty_fpc = duty_np.tolist()
        zeros: list[Any] = []  # literals that must be false

        def forbid(lit: Any, others: list[Any]) -> None:
            if others:
                m.add_bool_and([o.Not() for o in others]).only_enforce_if(lit)

        for p in range(P):
            self.check()
            if not self.is_res[p]:
                if self.is_fac[p] and rules.faculty_postcall_morning_off:
                    for d in range(d0, min(d1 + 1, D - 1)):
                        _, hl = self._call_lits(p, d, home=True)
                        if not hl:
                            continue
                        s = 2 * (d + 1)
                        vs = self.x.get((p, s))
                        if vs is None:
                            a = int(self.const[p, s])
                            if a >= 0 and duty_fpc[a][s]:
                                zeros.extend(hl)
                            continue
                        duty_lits = [v for a, v in vs.items() if duty_fpc[a][s]]
                        for h in hl:
                            forbid(h, duty_lits)
                        forced = [lit for lit in duty_lits if lit.Index() in self.target_lits]
                        if forced:
                            self.call_forces.append((hl, forced))
                continue
            opts = self._options(p)
            var_slot = [bool(o) and o[0][1] is not None for o in opts]
            ih = self.ih[p]
            # --- pairs of consecutive slots: R8 gaps and over-long merged periods
            for (s, s2), bm in pair_bad.items():
                if not bm or not (var_slot[s] or var_slot[s2]):
                    continue
                for a, la in opts[s]:
                    bs = bm.get(a)
                    if bs is None:
                        continue
                    hits = [lb for b, lb in opts[s2] if b in bs]
                    if not hits:
                        continue
                    if la is None:
                        zeros.extend(lb for lb in hits if lb is not None)
                    elif any(lb is None for lb in hits):
                        zeros.append(la)
                    else:
                        forbid(la, hits)
            # --- calls: slots of the call day inside the span; rest before and after
            for d in range(max(0, d0 - 1), min(D, d1 + 2)):
                c_const, c_lits = self._call_lits(p, d)
                if not c_const and not c_lits:
                    continue
                bad_lits: list[Any] = []
                bad_const = False
                for s in range(max(0, 2 * d - 2), min(2 * D, 2 * d + 6)):
                    bset = call_bad[(d, s)]
                    if not bset:
                        continue
                    for a, lit in opts[s]:
                        if a in bset:
                            if lit is None:
                                bad_const = True
                            else:
                                bad_lits.append(lit)
                if c_const:  # a fixed call: the free cells keep clear of it
                    zeros.extend(bad_lits)
                elif bad_const:
                    zeros.extend(c_lits)
                else:
                    for cl in c_lits:
                        forbid(cl, bad_lits)
                    forced = [lit for lit in bad_lits if lit.Index() in self.target_lits]
                    if forced:
                        self.call_forces.append((c_lits, forced))
            # never two nights in a row, never touching another in-house call
            for d in range(max(0, d0 - 2), min(D - 1, d1 + 2)):
                c1, l1 = self._call_lits(p, d)
                c2, l2 = self._call_lits(p, d + 1)
                if not l1 and not l2:
                    continue
                if c1:
                    zeros.extend(l2)
                if c2:
                    zeros.extend(l1)
                if l1 and l2 and not c1 and not c2:
                    m.add_at_most_one(l1 + l2)
                    self.call_rows.append((l1 + l2, 1))
            # --- daily minutes (H80) and free days (OFF7)
            dm: list[Any] = []
            dm_lo: list[int] = []
            free: list[Any] = []
            for d in range(D):
                own_c, own_v, own_k = _split_minutes(opts, (2 * d, 2 * d + 1), in_own)
                prev_c, prev_v, prev_k = (_split_minutes(opts, (2 * d - 1,), in_next) if d > 0
                                          else (0, [], []))
                head: Any = ih[d] * int(call_head[d])
                tail: Any = ih[d - 1] * int(call_tail[d - 1]) if d > 0 else 0
                head_c = int(head) if isinstance(head, int) else 0
                tail_c = int(tail) if isinstance(tail, int) else 0
                lo_day = max(own_c, head_c) + prev_c + tail_c
                dm_lo.append(lo_day)
                if not own_v and not prev_v and isinstance(head, int) and isinstance(tail, int):
                    dm.append(max(own_c, head) + prev_c + tail)
                else:
                    own_e = cp_model.LinearExpr.weighted_sum(own_v, own_k) if own_v else 0
                    prev_e = cp_model.LinearExpr.weighted_sum(prev_v, prev_k) if prev_v else 0
                    v = m.new_int_var(lo_day, 3 * 1440, f"dm{p}_{d}")
                    m.add(v >= own_c + own_e + prev_c + prev_e + tail)
                    m.add(v >= head + prev_c + prev_e + tail)
                    self.dm_vars[(p, d)] = v
                    dm.append(v)
                # free day: no span touches it, no in-house call head or tail, no home call touching
                busy = lo_day > 0
                lits: list[Any] = []
                if not busy:
                    for s in (2 * d, 2 * d + 1):
                        for a, lit in opts[s]:
                            if in_own[a][s] > 0:
                                if lit is None:
                                    busy = True
                                else:
                                    lits.append(lit)
                    if d > 0:
                        for a, lit in opts[2 * d - 1]:
                            if in_next[a][2 * d - 1] > 0:
                                if lit is None:
                                    busy = True
                                else:
                                    lits.append(lit)
                    for dd, is_home in ((d, False), (d - 1, False), (d, True), (d - 1, True)):
                        cc, cl = self._call_lits(p, dd, home=is_home)
                        busy = busy or bool(cc)
                        lits.extend(cl)
                if busy:
                    free.append(0)
                elif not lits:
                    free.append(1)
                else:
                    f = m.new_bool_var(f"free{p}_{d}")
                    forbid(f, lits)
                    free.append(f)
            # --- windows
            name = snap.people[p].name
            dm_c, dm_v = _split(dm)
            lo_c = np.concatenate([[0], np.cumsum(dm_lo)]).tolist()
            fr_c, fr_v = _split(free)
            fr_hi = np.concatenate([[0], np.cumsum([1 if not isinstance(x, int) else x for x in free])]).tolist()
            ih_row = list(ih)
            ih_c, ih_v = _split(ih_row)
            for a_, b_ in wins:
                length = b_ - a_ + 1
                limit = int(math.floor(rules.max_hours_per_week * 60 * length / 7 + 1e-9))
                warn = int(math.floor(rules.warn_fraction * rules.max_hours_per_week * 60 * length / 7 + 1e-6))
                lo = lo_c[b_ + 1] - lo_c[a_]
                if lo > limit:
                    limit = lo
                    self.relaxed.append(f"H80 {name} {snap.date_of(a_)}..{snap.date_of(b_)}")
                wvs = [v for v in dm_v[a_ : b_ + 1] if v is not None]
                if wvs:
                    total = cp_model.LinearExpr.sum(wvs) + (dm_c[b_ + 1] - dm_c[a_])
                    m.add(total <= limit)
                    if lo <= warn:
                        wv = m.new_bool_var(f"h80w{p}_{a_}")
                        m.add(total <= warn).only_enforce_if(wv.Not())
                        self.h80w.append(wv)
                        self.h80w_person.append(p)
                need = int(math.ceil(rules.min_free_days_per_window * length / W - 1e-9))
                hi = fr_hi[b_ + 1] - fr_hi[a_]
                if hi < need:
                    need = hi
                    self.relaxed.append(f"OFF7 {name} {snap.date_of(a_)}..{snap.date_of(b_)}")
                wvs = [v for v in fr_v[a_ : b_ + 1] if v is not None]
                if wvs:
                    m.add(cp_model.LinearExpr.sum(wvs) + (fr_c[b_ + 1] - fr_c[a_]) >= need)
                max_calls = int(math.floor(rules.max_in_house_calls_per_window * length / W + 1e-9))
                fixed_calls = ih_c[b_ + 1] - ih_c[a_]
                if fixed_calls > max_calls:
                    max_calls = fixed_calls
                    self.relaxed.append(f"Q3 {name} {snap.date_of(a_)}..{snap.date_of(b_)}")
                wvs = [v for v in ih_v[a_ : b_ + 1] if v is not None]
                if wvs:
                    m.add(cp_model.LinearExpr.sum(wvs) + fixed_calls <= max_calls)
                    self.call_rows.append(([lit for d in range(a_, b_ + 1) for lit in self.ih_lits.get((p, d), [])],
                                           max_calls - fixed_calls))
            # --- consecutive night float
            L = rules.max_consecutive_night_float
            nf: list[Any] = []
            for d in range(D):
                lits = []
                const = 0
                for s in (2 * d, 2 * d + 1):
                    for a, lit in opts[s]:
                        if nf_act[a]:
                            if lit is None:
                                const = 1
                            else:
                                lits.append(lit)
                if const or not lits:
                    nf.append(const)
                else:
                    v = m.new_bool_var(f"nf{p}_{d}")
                    m.add_max_equality(v, lits)
                    nf.append(v)
            for a_ in range(max(0, d0 - L), min(D - L, d1 + 1)):
                seg = nf[a_ : a_ + L + 1]
                if all(isinstance(x, int) for x in seg):
                    continue
                fixed_nf = sum(x for x in seg if isinstance(x, int))
                if fixed_nf > L:
                    continue
                m.add(cp_model.LinearExpr.sum(seg) <= L)
        if zeros:
            m.add_bool_and([z.Not() for z in zeros])
            call_index = {v.Index() for v in self.c.values()}
            self.call_zeros = [z for z in zeros if z.Index() in call_index]

    # ----------------------------------------------------------------------------- slot rules
    def _count(self, s: int, a: int, people: B | None = None) -> tuple[int, Any]:
        const = 0
        col = self.const[:, s]
        sel = (col == a)
        if people is not None:
            sel &= people
        const = int(sel.sum())
        holders = self._holders.get((s, a), [])
        if people is None:
            terms = [v for _, v in holders]
        else:
            ok = people.tolist()
            terms = [v for p, v in holders if ok[p]]
        return const, cp_model.LinearExpr.sum(terms) if terms else 0

    def _build_slot_rules(self) -> None:
        snap, rules, m, _w = self.snap, self.snap.rules, self.m, self.w
        A = self.A
        # (slot, activity) -> (person, literal) of every cell that may hold it: each count below
        # reads its own list, not every cell of the slot (0.45 s of the large build otherwise)
        self._holders: dict[tuple[int, int], list[tuple[int, Any]]] = {}
        for (p, s), vs in self.x.items():
            for a, v in vs.items():
                self._holders.setdefault((s, a), []).append((p, v))
        pgy = snap.pgy
        self.short_min: list[tuple[int, int, Any]] = []
        self.short_opt: list[Any] = []
        self.over_max: list[Any] = []
        self.sup_short: list[tuple[int, Any]] = []
        self.cap_over: list[Any] = []
        res = self.is_res
        fac = self.is_fac
        physicians = res | fac
        for s in range(2 * self.d0, 2 * self.d1 + 2):
            self.check()
            # coverage
            for a in range(A):
                rmin, ropt, rmax = int(snap.req_min[a, s]), int(snap.req_opt[a, s]), int(snap.req_max[a, s])
                if rmin == 0 and ropt == 0 and rmax >= NO_MAX:
                    continue
                const, expr = self._count(s, a)
                if isinstance(expr, int):
                    continue
                if rmin > 0:
                    sh = m.new_int_var(0, rmin, f"smin{a}_{s}")
                    m.add(const + expr + sh >= rmin)
                    self.short_min.append((a, s, sh))
                if ropt > rmin:
                    so = m.new_int_var(0, ropt, f"sopt{a}_{s}")
                    m.add(const + expr + so >= ropt)
                    self.short_opt.append(so)
                if rmax < NO_MAX:
                    ov = m.new_int_var(0, self.P, f"over{a}_{s}")
                    m.add(const + expr - ov <= rmax)
                    self.over_max.append(ov)
            # supervision (SUP)
            unit_terms: list[Any] = []
            unit_const = 0
            for a in np.flatnonzero(self.needs_sup).tolist():
                proc = snap.activities[a].is_procedure
                for grp, u in ((res & (pgy == 1), rules.sup_units_pgy1), (res & (pgy != 1), rules.sup_units_senior)):
                    uu = u + (rules.sup_units_procedure if proc else 0)
                    c, e = self._count(s, a, grp)
                    unit_const += uu * c
                    if not isinstance(e, int):
                        unit_terms.append(uu * e)
            sup_const = 0
            sup_terms: list[Any] = []
            for a in self.sup_acts:
                c, e = self._count(s, a, fac)
                sup_const += c
                if not isinstance(e, int):
                    sup_terms.append(e)
            if unit_terms or sup_terms:
                if unit_terms or unit_const > 0:
                    sh = m.new_int_var(0, self.P, f"sup{s}")
                    m.add(rules.sup_units_per_supervisor * (sup_const + sum(sup_terms) + sh)
                          >= unit_const + sum(unit_terms))
                    self.sup_short.append((s, sh))
            # capacity (CAP)
            for a in np.flatnonzero(self.cap_act).tolist():
                c, e = self._count(s, a, physicians)
                if isinstance(e, int):
                    continue
                ov = m.new_int_var(0, self.P, f"cap{a}_{s}")
                m.add(c + e - ov <= rules.max_clinic_physicians_per_slot)
                self.cap_over.append(ov)

    # ----------------------------------------------------------------------------- objective
    def _build_objective(self) -> None:
        snap, m, w, pr = self.snap, self.m, self.w, self.problem
        terms: dict[str, Any] = {}
        # one flat sum each (a Python sum() nests thousands of additions that CP-SAT then flattens)
        terms["coverage_min"] = _flat_sum([v for _, _, v in self.short_min] + [v for _, v in self.sup_short]
                                          + list(self.cap_over) + [v for _, _, v in self.empty_call])
        terms["coverage_max"] = _flat_sum(self.over_max)
        terms["warnings"] = _flat_sum(list(self.h80w) + list(self.short_opt))
        # fairness per class: residents per PGY, faculty
        fair: list[Any] = []
        self.fair_counts: list[list[tuple[int, list[Any]]]] = []
        weekend = np.array([snap.date_of(d).weekday() >= 5 for d in range(self.D)])
        holiday = np.asarray(snap.holiday, dtype=bool)
        classes: dict[tuple[str, int], list[int]] = {}
        for pool in self.pools:
            for p in pool.people:
                classes.setdefault((snap.people[p].kind, int(snap.pgy[p])), [])
                if p not in classes[(snap.people[p].kind, int(snap.pgy[p]))]:
                    classes[(snap.people[p].kind, int(snap.pgy[p]))].append(p)
        for members in classes.values():
            self.check()
            if len(members) < 2:
                continue
            for name, days_mask, ytd in (("calls", np.ones(self.D, dtype=bool), pr.ytd_calls),
                                         ("weekend", weekend, pr.ytd_weekend_calls),
                                         ("holiday", holiday, pr.ytd_holiday_calls)):
                sel = np.flatnonzero(days_mask[self.d0 : self.d1 + 1]) + self.d0
                if len(sel) == 0:
                    continue
                counts = []
                lits: list[tuple[int, list[Any]]] = []
                for p in members:
                    const = int(ytd[p])
                    expr: Any = 0
                    for d in sel.tolist():
                        for pool in self.pools:
                            v = self.c.get((pool.index, p, d))
                            if v is not None:
                                expr = expr + v
                            elif snap.call[p, d] == pool.call_code and p in pool.people:
                                const += 1
                    counts.append((const, expr))
                    lits.append((const, [self.c[(pool.index, p, d)] for d in sel.tolist() for pool in self.pools
                                         if (pool.index, p, d) in self.c]))
                self.fair_counts.append(lits)
                ub = max(c for c, _ in counts) + len(sel)
                hi = m.new_int_var(0, ub, f"fmax_{name}_{members[0]}")
                lo = m.new_int_var(0, ub, f"fmin_{name}_{members[0]}")
                for c, e in counts:
                    m.add(hi >= c + e)
                    m.add(lo <= c + e)
                fair.append(hi - lo)
        self.check()
        terms["fairness"] = sum(fair)
        terms["requests"] = _flat_sum(self._requests)
        terms["changes"] = (self.changes_const + len(self.changes_neg) - cp_model.LinearExpr.sum(self.changes_neg)
                            + cp_model.LinearExpr.sum(self.changes_pos))
        self.terms = terms
        weight = {"coverage_min": w.coverage_min, "coverage_max": w.coverage_max, "warnings": w.warning,
                  "fairness": w.fairness, "requests": w.request, "changes": w.change}
        self.weight = weight
        self.term_vars: dict[str, Any] = {}
        for k, v in terms.items():
            self.check()
            if isinstance(v, int):
                self.term_vars[k] = v
                continue
            tv = m.new_int_var(0, 1 << 40, f"term_{k}")
            m.add(tv == v)
            self.term_vars[k] = tv
        obj = sum(weight[k] * v for k, v in self.term_vars.items() if not isinstance(v, int))
        const = sum(weight[k] * v for k, v in self.term_vars.items() if isinstance(v, int))
        self.obj_const = const
        m.minimize(obj + const)
        m.proto.solution_hint.vars.extend(self.hint_idx)
        m.proto.solution_hint.values.extend(self.hint_val)


def _flat_sum(xs: Sequence[Any]) -> Any:
    """The sum of `xs` as one flat CP-SAT expression, or the int 0 when there is none."""
    return cp_model.LinearExpr.sum(list(xs)) if len(xs) else 0


def _split(row: Sequence[Any]) -> tuple[list[int], list[Any]]:
    """Prefix sums of the constant entries, and the variable entries (None where constant)."""
    consts = [x if isinstance(x, int) else 0 for x in row]
    return np.concatenate([[0], np.cumsum(consts)]).astype(np.int64).tolist(), \
        [None if isinstance(x, int) else x for x in row]


# --------------------------------------------------------------------------------------- solving
class _Collector(cp_model.CpSolverSolutionCallback):  # type: ignore[misc]
    def __init__(self, built: _Built, start: float, progress: ProgressCallback) -> None:
        super().__init__()
        self.built = built
        self.start = start
        self.progress = progress
        self.values: list[int] | None = None
        self.objective: int | None = None
        self.bound: int | None = None
        self.first: float | None = None
        self.lock = threading.Lock()

    def on_solution_callback(self) -> None:
        values = list(self.response_proto.solution)
        obj = int(round(self.objective_value))
        bound = int(math.ceil(self.best_objective_bound - 1e-6))
        with self.lock:
            if self.first is None:
                self.first = time.monotonic() - self.start
            if self.objective is not None and obj >= self.objective:
                return
            self.values, self.objective = values, obj
            self.bound = bound if self.bound is None else max(self.bound, bound)
        self._report()

    def offer(self, values: list[int], obj: int) -> None:
        with self.lock:
            if self.first is None:
                self.first = time.monotonic() - self.start
            if self.objective is not None and obj >= self.objective:
                return
            self.values, self.objective = values, obj
        self._report()

    def on_bound(self, bound: float) -> None:
        b = int(math.ceil(bound - 1e-6))
        with self.lock:
            if self.bound is not None and b <= self.bound:
                return
            self.bound = b
        self._report()

    def proven(self) -> bool:
        """Whether the best schedule's objective has reached the bound (it is optimal)."""
        with self.lock:
            return self.objective is not None and self.bound is not None and self.objective <= self.bound

    def _report(self) -> None:
        if self.objective is None:
            return
        try:
            bound = max(0, min(self.bound or 0, self.objective))
            self.progress(self.objective, bound, time.monotonic() - self.start)
        except Exception:  # noqa: BLE001 - a faulty progress sink must not kill the search
            pass


def generate(
    problem: ResidencyProblem,
    *,
    time_limit: float = 30.0,
    workers: int = 2,
    weights: Weights | None = None,
    progress: ProgressCallback = _no_progress,
    cancelled: Callable[[], bool] = _never,
    seed: int = 0,
    stop_at_gap: float = 0.0,
) -> GenerateResult:
    """Build and solve the block; return the best schedule found, checked by the compliance engine.

    `cancelled` is polled every 0.05 s (and, on the caller's thread, between the pieces of the model
    build); when it returns True the search stops and the best schedule so far is returned
    (`cancelled=True`). A cancel during the build returns at once with no schedule (`found` false,
    `stats["stopped_in"] == "build"`). `stop_at_gap` stops once (objective - bound) / objective is
    at most that fraction.
    """
    start = time.monotonic()
    done = threading.Event()
    was_cancelled = threading.Event()
    current: dict[str, Any] = {}
    cancel_seen: list[float] = []
    seen_lock = threading.Lock()

    def poll() -> bool:
        """Whether the run was cancelled; asks `cancelled` (from the watcher, and between the pieces
        of the model build on the caller's thread) until it says yes once."""
        if was_cancelled.is_set():
            return True
        if not cancelled():
            return False
        with seen_lock:
            if not was_cancelled.is_set():
                cancel_seen.append(time.monotonic())
                was_cancelled.set()
        return True

    def register(s: Any, role: str = "search") -> None:
        """`s` is the solver of `role` that a cancel stops (the relaxation of a big model runs
        beside the search, as role "bound")."""
        # Ctrl-C is the caller's to handle (`rsched generate` turns it into a cancel): CP-SAT's own
        # SIGINT handler would end only the solve under way, and the next phase would start.
        s.parameters.catch_sigint_signal = False
        current[role] = s
        if was_cancelled.is_set():
            s.stop_search()

    def watch() -> None:
        while not done.is_set():
            if poll():
                # Again every tick: a solver registered just before its solve() started ignores
                # the first stop_search() (the search it stops does not exist yet).
                for s in list(current.values()):
                    s.stop_search()
            done.wait(0.05)

    watcher = threading.Thread(target=watch, name="residency-cancel-watch", daemon=True)
    watcher.start()
    try:
        # Seconds on a large block: the build polls `cancelled` itself and gives up when asked.
        built = _Built(problem, weights or Weights(), stop=poll)
    except BaseException as exc:
        done.set()
        watcher.join(timeout=1.0)
        if not isinstance(exc, _BuildStopped):
            raise
        _release_later(exc)  # its traceback holds the half-built model
        return _stopped_in_build(problem, start, cancel_seen[0] if cancel_seen else None)
    build_s = time.monotonic() - start
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit - build_s)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    if stop_at_gap > 0:
        solver.parameters.relative_gap_limit = stop_at_gap
    collector = _Collector(built, start, progress)
    solver.best_bound_callback = collector.on_bound
    status = cp_model.UNKNOWN
    solved = False
    phases: list[str] = []
    start_name = ""
    big = len(built.m.proto.variables) > BIG_MODEL_VARIABLES
    bound_thread: threading.Thread | None = None
    bound_stop = threading.Event()
    try:
        if not poll():
            # Phase 1: the current schedule (the hint) completed into a full solution, fast.
            phases.append("hint")
            first, start_name = _complete_hint(built, collector, start, min(5.0, max(0.5, time_limit / 4)),
                                               workers, register, was_cancelled)
            if first is not None:
                built.m.clear_hints()  # type: ignore[no-untyped-call]
                built.m.proto.solution_hint.vars.extend(range(len(first)))
                built.m.proto.solution_hint.values.extend(first)
            # Phase 2: a lower bound from the calls alone (fairness, call coverage, requests), as a cut.
            if not poll() and big:
                # On a big model the relaxation gives only the bound (its calls are no start there:
                # re-solving the cells around them is the whole model's presolve). It runs beside the
                # neighbourhood search, with one worker, for at most BIG_BOUND_SECONDS (on the large
                # demo its bound stops moving after about 5 s of search, and it takes a core from the
                # search as long as it runs); each better bound is reported as it comes.
                phases.append("calls")

                def relax() -> None:
                    left = time_limit - (time.monotonic() - start)
                    lb, _ = _call_bound(built, max(0.5, min(BIG_BOUND_SECONDS, left)), 1,
                                        lambda s: register(s, "bound"), lambda: poll() or bound_stop.is_set(),
                                        on_bound=collector.on_bound, refine=False)
                    if lb is not None:
                        collector.on_bound(lb)

                bound_thread = threading.Thread(target=relax, name="residency-call-bound", daemon=True)
                bound_thread.start()
            elif not poll():
                phases.append("calls")
                lb, calls = _call_bound(built, min(10.0, max(0.5, time_limit / 6)), workers, register, poll,
                                        on_bound=collector.on_bound)
                if lb is not None and lb > 0:
                    keys = ("coverage_min", "fairness", "requests", "changes")
                    cut = [built.weight[k] * built.term_vars[k] for k in keys if built.weight[k]]
                    built.m.add(cp_model.LinearExpr.sum(cut) >= lb)
                    collector.on_bound(lb)
                # the calls of the relaxation with the cells re-solved around them: a good start
                if calls and not poll() and not big:
                    phases.append("fixed calls")
                    better = _solve_fixed(built, collector, calls, first, min(30.0, max(0.5, 0.4 * time_limit)),
                                          workers, register, poll)
                    if better is not None and collector.values is better:
                        first = better
                        built.m.clear_hints()  # type: ignore[no-untyped-call]
                        built.m.proto.solution_hint.vars.extend(range(len(first)))
                        built.m.proto.solution_hint.values.extend(first)
            # Phase 3: the full model from the completed hint; on a big model (whose presolve alone
            # takes longer than the time limit) a neighbourhood search over groups of people instead.
            remaining = time_limit - (time.monotonic() - start)
            solved = False
            if big and collector.values is not None and remaining > 1.0 and not poll():
                phases.append("people lns")
                _people_lns(built, collector, start + time_limit, workers, register, was_cancelled, seed)
            elif remaining > 0.05 and not poll():
                solver.parameters.max_time_in_seconds = remaining
                phases.append("full")
                register(solver)
                status = solver.solve(built.m, collector)
                solved = True
            if not solved and first is not None:
                status = cp_model.FEASIBLE
    finally:
        if bound_thread is not None:  # the search is over: so is the relaxation beside it
            bound_stop.set()
            while bound_thread.is_alive():
                bound_solver = current.get("bound")
                if bound_solver is not None:
                    bound_solver.stop_search()
                bound_thread.join(0.05)
        done.set()
        watcher.join(timeout=1.0)
    wall = time.monotonic() - start
    cancel_latency = (time.monotonic() - cancel_seen[0]) if cancel_seen else None
    values = collector.values
    if values is not None and (status == cp_model.OPTIMAL or collector.proven()):
        name = "optimal"
        collector.bound = collector.objective
    elif values is not None:
        name = "feasible"
        if status == cp_model.FEASIBLE and solved:
            collector.on_bound(solver.best_objective_bound)
    elif status == cp_model.INFEASIBLE:
        name = "infeasible"
    elif status == cp_model.MODEL_INVALID:
        raise ValidationError(f"The schedule model is invalid: {solver.solution_info() or 'model invalid'}.")
    else:
        name = "unknown"
    stats = {"build_seconds": round(build_s, 3), "cells": len(built.x), "calls": len(built.c),
             "solver_status": solver.status_name(status), "cancel_latency": cancel_latency, "phases": phases,
             "start": start_name}
    result = _decode(built, values, name, collector, wall, was_cancelled.is_set(), stats)
    _release_later(built, collector, solver, current)
    return result


def _release_later(*objects: Any) -> None:
    """Free `objects` on a thread of their own once the caller has dropped them, not on the way out
    of `generate`: the large model's 100k variables and their maps take 0.1 s of CPU to free on the
    idle machine and 0.2-0.4 s at load 7, which a cancel would otherwise wait for."""

    def release(*_held: Any) -> None:
        time.sleep(0.5)  # the caller's references are gone by then; the last ones go with this frame

    threading.Thread(target=release, args=objects, name="residency-release", daemon=True).start()


def _stopped_in_build(problem: ResidencyProblem, start: float, cancel_seen: float | None) -> GenerateResult:
    """The result of a run cancelled while its model was being built: no schedule (none was
    searched for yet), `cancelled` true, `stats["stopped_in"] == "build"`."""
    now = time.monotonic()
    stats: dict[str, Any] = {"build_seconds": None, "cells": None, "calls": None, "solver_status": "UNKNOWN",
             "cancel_latency": None if cancel_seen is None else now - cancel_seen, "phases": [],
             "start": "", "stopped_in": "build"}
    return GenerateResult(
        status="unknown", objective=None, bound=None, time_to_first=None, wall_time=now - start, cancelled=True,
        codes=None, call=None, call_service={}, changes=(), call_changes=(), violations=(), unfilled=(), terms={},
        relaxed=(), base_revision=problem.snapshot.revision, block_start=problem.block_start,
        block_end=problem.block_end, stats=stats,
    )


def _complete_hint(built: _Built, collector: _Collector, start: float, limit: float, workers: int,
                   register: Callable[[Any], None], was_cancelled: threading.Event) -> tuple[list[int] | None, str]:
    """A first full solution from the hinted schedule: (values, which start) or (None, "").

    The decisions of a start are fixed in the variables' domains of a copy of the model (not passed
    as assumptions: presolve cannot use assumptions, and on a large block the presolve of the free
    model alone takes longer than the whole time limit). With every decision fixed, presolve only
    propagates the auxiliary variables (daily minutes, free days, shortages), so each try takes about
    a second even on the large demo. The starts, in order: the hint (the current schedule, rotation
    targets where empty); the hint without its calls, when a call breaks a hard rule; every free
    cell off and no calls, which keeps every hard rule (window limits are relaxed to what the fixed
    cells force), so a schedule is always found unless the time runs out.
    """
    if not built.hint_idx or was_cancelled.is_set():
        return None, ""
    calls = {v.Index() for v in built.c.values()}
    hint = dict(zip(built.hint_idx, built.hint_val, strict=True))
    no_calls = {i: (0 if i in calls else v) for i, v in hint.items()}
    all_off = {i: 0 for i in calls}
    for vs in built.x.values():
        for a, v in vs.items():
            all_off[v.Index()] = 1 if a == built.off else 0
    for name, fixed in (("hint", hint), ("hint without calls", no_calls), ("all off", all_off)):
        if was_cancelled.is_set():
            break
        values = _solve_fixed(built, collector, fixed, None, limit, workers, register, was_cancelled.is_set)
        if values is not None:
            return values, name
    return None, ""


def _people_lns(built: _Built, collector: _Collector, deadline: float, workers: int,
                register: Callable[[Any], None], was_cancelled: threading.Event, seed: int) -> None:
    """Improve the best schedule by re-solving groups of people with everyone else fixed.

    Each step frees the cells and calls of about 24 people (those with an H80 warning in the best
    schedule first, then people of one random class, so that its fairness can move) and fixes every
    other decision in the domains of a copy of the model, like the hint completion, so that its
    presolve takes about a second even on the large demo. Stops at the deadline or on a cancel.
    """
    rng = random.Random(seed)
    owned: dict[int, list[int]] = {}
    for (p, _s), vs in built.x.items():
        owned.setdefault(p, []).extend(v.Index() for v in vs.values())
    for (_k, p, _d), v in built.c.items():
        owned.setdefault(p, []).append(v.Index())
    people = sorted(owned)
    classes: dict[tuple[int, int], list[int]] = {}
    for p in people:
        classes.setdefault((int(built.snap.kind[p]), int(built.snap.pgy[p])), []).append(p)
    groups = list(classes.values())
    size = 24
    while not was_cancelled.is_set():
        left = deadline - time.monotonic()
        if left < 1.0 or collector.proven():
            return
        best = collector.values
        if best is None:
            return
        warned = sorted({p for v, p in zip(built.h80w, built.h80w_person, strict=True) if best[v.Index()]})
        free = set(rng.sample(warned, min(len(warned), size // 2)))
        pool = [p for p in rng.choice(groups) if p not in free]
        free.update(rng.sample(pool, min(len(pool), size - len(free))))
        fixed = {i: best[i] for p in people if p not in free for i in owned[p]}
        _solve_fixed(built, collector, fixed, best, min(8.0, left), workers, register, was_cancelled.is_set)


def _call_bound(built: _Built, limit: float, workers: int, register: Callable[[Any], None],
                stop: Callable[[], bool] = _never, *, on_bound: Callable[[float], None] | None = None,
                refine: bool = True) -> tuple[int | None, dict[int, int]]:
    """A lower bound on the call part of the objective: coverage of the call nights, fairness, requests.

    Solves the relaxation that keeps the call variables and only the constraints among them (one call
    per pool and night, one call per person and night, Q3 windows, never two in-house nights in a
    row, calls a fixed cell forbids) with the objective's call terms. Every schedule of the full
    model is a solution of it with the same call terms, so its optimum (or its best bound when the
    time runs out) bounds the full model's `w_cov * coverage + w_fair * fairness + w_req * requests`
    from below. The full model's LP relaxation spreads calls fractionally and sees almost none of
    this; the cut lets its bound count the fairness that no whole assignment of calls can avoid.
    """
    if not built.c or (built.w.fairness == 0 and not built.pool_nights):
        return None, {}
    w = built.w
    rm = cp_model.CpModel()
    var = {v.Index(): rm.new_bool_var(f"c{i}") for i, v in enumerate(built.c.values())}

    def tr(lits: Sequence[Any]) -> list[Any]:
        return [var[lit.Index()] for lit in lits]

    for n, (lits, rhs) in enumerate(built.call_rows):
        if lits:
            rm.add(cp_model.LinearExpr.sum(tr(lits)) <= rhs)
        if n % 256 == 0 and stop():  # building this takes seconds on the large demo: keep cancel fast
            return None, {}
    for z in built.call_zeros:
        rm.add(var[z.Index()] == 0)
    obj: list[Any] = []
    const = 0
    for lits, need in built.pool_nights:
        if lits:
            rm.add(cp_model.LinearExpr.sum(tr(lits)) <= need)
            obj.append(-w.coverage_min * cp_model.LinearExpr.sum(tr(lits)))
        const += w.coverage_min * need
    if stop():
        return None, {}
    if w.fairness:
        for counts in built.fair_counts:
            ub = max(c for c, _ in counts) + max(len(lits) for _, lits in counts)
            hi = rm.new_int_var(0, ub, "hi")
            lo = rm.new_int_var(0, ub, "lo")
            for c, lits in counts:
                e = c + cp_model.LinearExpr.sum(tr(lits))
                rm.add(hi >= e)
                rm.add(lo <= e)
            obj.append(w.fairness * (hi - lo))
    if w.request and built._requests:
        obj.append(w.request * cp_model.LinearExpr.sum(tr(built._requests)))
    forced: dict[int, Any] = {}  # target literal of a cell -> "some call forces it off"
    if w.change:
        # changed call nights, and the cells a call forces off their target (each cell counted once)
        const += w.change * built.changes_const
        neg = [var[v.Index()] for v in built.changes_neg if v.Index() in var]
        pos = [var[v.Index()] for v in built.changes_pos if v.Index() in var]
        for n, (c_lits, cells) in enumerate(built.call_forces):
            if n % 256 == 255 and stop():
                return None, {}
            for cell in cells:
                z = forced.get(cell.Index())
                if z is None:
                    z = forced[cell.Index()] = rm.new_bool_var("z")
                for cl in tr(c_lits):
                    rm.add_implication(cl, z)
        const += w.change * len(neg)
        obj.append(w.change * (cp_model.LinearExpr.sum(pos) - cp_model.LinearExpr.sum(neg)
                               + cp_model.LinearExpr.sum(list(forced.values()))))
    rm.minimize(cp_model.LinearExpr.sum(obj) + const)
    if stop():
        return None, {}
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = limit
    solver.parameters.num_workers = max(1, workers)
    if on_bound is not None:  # each better bound of the relaxation bounds the full objective too
        solver.best_bound_callback = on_bound
    register(solver)
    status = solver.solve(rm)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, {}
    # the relaxation's variables are its first ones, in the order of `var` (read in bulk: a cancel
    # waits for this on the large demo, where solver.value() per variable takes 0.1 s)
    calls = dict(zip(var, list(solver.response_proto.solution)[: len(var)], strict=True))
    if status != cp_model.OPTIMAL:
        return int(math.ceil(solver.best_objective_bound - 1e-6)), calls
    lb = int(round(solver.objective_value))
    if not refine:
        return lb, calls
    # Among the optimal call sets, one that takes the fewest people off services that have no one
    # to spare (the cells around the calls then need the fewest refills). Only the calls of the
    # start change: the bound is the optimum above.
    forced_at: dict[tuple[int, int], list[Any]] = {}
    for i, z in forced.items():
        s, a = built.target_cell[i]
        forced_at.setdefault((a, s), []).append(z)
    holders: dict[tuple[int, int], int] = {}
    for s, a in built.target_cell.values():
        holders[(a, s)] = holders.get((a, s), 0) + 1
    deficits: list[Any] = []
    for a, s, _sh in built.short_min:
        zs = forced_at.get((a, s))
        if not zs:
            continue
        spare = holders.get((a, s), 0) + int((built.const[:, s] == a).sum()) - int(built.snap.req_min[a, s])
        if spare >= len(zs):
            continue
        dv = rm.new_int_var(0, len(zs), "deficit")
        rm.add(dv >= cp_model.LinearExpr.sum(zs) - max(0, spare))
        deficits.append(dv)
    if not deficits or stop():
        return lb, calls
    rm.add(cp_model.LinearExpr.sum(obj) + const <= lb)
    rm.minimize(cp_model.LinearExpr.sum(deficits))
    rm.clear_hints()  # type: ignore[no-untyped-call]
    for i, v in var.items():
        rm.add_hint(v, calls[i])
    solver.parameters.max_time_in_seconds = max(0.2, limit / 3)
    register(solver)
    if solver.solve(rm) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        calls = dict(zip(var, list(solver.response_proto.solution)[: len(var)], strict=True))
    return lb, calls


def _solve_fixed(built: _Built, collector: _Collector, fixed: dict[int, int], hint: list[int] | None,
                 limit: float, workers: int, register: Callable[[Any], None],
                 stop: Callable[[], bool] = _never) -> list[int] | None:
    """The full model with the variables of `fixed` fixed (index -> value), from `hint`; its best
    solution (offered to the collector), or None."""
    model = built.m.clone()
    model.clear_hints()  # type: ignore[no-untyped-call]
    proto = model.proto
    # About 7 us per variable through the proto wrapper (0.6 s for the 88k of the large demo, with
    # the GIL held): look at `stop` every few thousand so that a cancel is not kept waiting. (Fixing
    # them with one bool_and, or through fix_variables_to_their_hinted_value, is quicker to write but
    # presolves three times slower.)
    for n, (i, val) in enumerate(fixed.items()):
        if n % 4096 == 4095 and stop():
            return None
        dom = proto.variables[i].domain
        dom.clear()
        dom.extend((val, val))
    if hint is not None:
        proto.solution_hint.vars.extend(range(len(hint)))
        proto.solution_hint.values.extend(hint)
    if stop():  # the copy takes about a second on the large demo
        return None
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = limit
    solver.parameters.num_workers = max(1, workers)
    register(solver)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    values = list(solver.response_proto.solution)
    collector.offer(values, int(round(solver.objective_value)))
    return values


def _value(values: Sequence[int], v: Any) -> int:
    if isinstance(v, int):
        return v
    return int(values[v.Index()])


def _decode(built: _Built, values: list[int] | None, status: str, col: _Collector, wall: float,
            was_cancelled: bool, stats: dict[str, Any]) -> GenerateResult:
    pr = built.problem
    snap = pr.snapshot
    if values is None:
        return GenerateResult(
            status=status, objective=None, bound=col.bound, time_to_first=None, wall_time=wall,
            cancelled=was_cancelled, codes=None, call=None, call_service={}, changes=(), call_changes=(),
            violations=(), unfilled=(), terms={}, relaxed=tuple(built.relaxed), base_revision=snap.revision,
            block_start=pr.block_start, block_end=pr.block_end, stats=stats,
        )
    codes = np.array(snap.codes, dtype=np.int16)
    on = np.asarray(values, dtype=np.int64)[built.x_var] != 0
    psa = built.x_psa[on]
    codes[psa[:, 0], psa[:, 1]] = psa[:, 2]
    call = np.array(snap.call, dtype=np.int8)
    service: dict[tuple[int, int], str] = {}
    pool_by_index = {pool.index: pool for pool in built.pools}
    variable_pd = {(p, d) for (_, p, d) in built.c}
    for p, d in variable_pd:
        call[p, d] = 0
    for (k, p, d), v in built.c.items():
        if values[v.Index()]:
            call[p, d] = pool_by_index[k].call_code
            service[(p, d)] = pool_by_index[k].service
    # absent people lose their (replaceable) calls
    for pool in built.pools:
        for d in range(built.d0, built.d1 + 1):
            for p in pool.people:
                if snap.absent[p, d] and not pr.fixed_calls[p, d] and snap.call[p, d] == pool.call_code:
                    call[p, d] = 0
    acts = snap.activities
    changes = []
    for p, s in zip(*np.nonzero(codes != snap.codes)):
        p, s = int(p), int(s)
        b, a = int(snap.codes[p, s]), int(codes[p, s])
        changes.append(CellChange(
            snap.people[p].id, snap.people[p].name, snap.date_of(s // 2), s % 2,
            acts[b].id if b >= 0 else None, acts[b].code if b >= 0 else None,
            acts[a].id if a >= 0 else None, acts[a].code if a >= 0 else None))
    call_changes = []
    for p, d in zip(*np.nonzero(call != snap.call)):
        p, d = int(p), int(d)
        b, a = int(snap.call[p, d]), int(call[p, d])
        call_changes.append(CallChange(snap.people[p].id, snap.people[p].name, snap.date_of(d),
                                       service.get((p, d), _service_of(built, p, b)),
                                       CALL_NAMES.get(b), CALL_NAMES.get(a)))
    new = with_changes(snap, codes=codes, call=call)
    result = validate(new, start=pr.block_start, end=pr.block_end)
    terms = {k: _value(values, v) for k, v in built.term_vars.items()}
    unfilled = _unfilled(built, new, codes, call, values)
    return GenerateResult(
        status=status, objective=col.objective, bound=col.bound, time_to_first=col.first, wall_time=wall,
        cancelled=was_cancelled, codes=codes, call=call, call_service=service, changes=tuple(changes),
        call_changes=tuple(call_changes), violations=result.violations, unfilled=tuple(unfilled), terms=terms,
        relaxed=tuple(built.relaxed), base_revision=snap.revision, block_start=pr.block_start,
        block_end=pr.block_end, stats=stats,
    )


def _service_of(built: _Built, p: int, code: int) -> str:
    for pool in built.pools:
        if pool.call_code == code and p in pool.people:
            return pool.service
    return ""


# ------------------------------------------------------------------------------- unfilled reasons
RULE_WORDS = {
    "QUAL": "nobody who may hold it", "ABS": "on approved leave", "FIXED": "fixed by hand elsewhere",
    "COV": "needed on another service", "CALL": "on call or resting after a call",
}


def _unfilled(built: _Built, new: ScheduleSnapshot, codes: I16, call: I8, values: Sequence[int]) -> list[Unfilled]:
    snap = built.snap
    out: list[Unfilled] = []
    acts = snap.activities
    elig = snap.eligible()
    counts_cache: dict[int, Any] = {}

    def counts(s: int) -> Any:
        if s not in counts_cache:
            col = codes[:, s]
            counts_cache[s] = np.bincount(col[col >= 0], minlength=built.A)
        return counts_cache[s]

    for a, s, sh in built.short_min:
        if not values[sh.Index()]:
            continue
        have = int(counts(s)[a])
        need = int(snap.req_min[a, s])
        if have >= need:
            continue
        rule, reason = _why_short(built, new, codes, call, a, s, elig, counts(s))
        out.append(Unfilled(snap.date_of(s // 2), s % 2, acts[a].code, need, have, rule,
                            f"{acts[a].code} {snap.date_of(s // 2)} {('AM', 'PM')[s % 2]}: {have} of {need}; {reason}"))
    for s, sh in built.sup_short:
        k = values[sh.Index()]
        if not k:
            continue
        day = snap.date_of(s // 2)
        out.append(Unfilled(day, s % 2, "supervision", k, 0, "SUP",
                            f"Supervision {day} {('AM', 'PM')[s % 2]}: {k} more supervising faculty needed; "
                            "no faculty member free of clinic, ward, leave and call duties can precept"))
    for k, d, sh in built.empty_call:
        n = values[sh.Index()]
        if not n:
            continue
        pool = next(p for p in built.pools if p.index == k)
        day = snap.date_of(d)
        blocked = _why_no_call(built, pool, d)
        out.append(Unfilled(day, None, f"call:{pool.service or 'in-house'}", pool.per_night,
                            pool.per_night - n, blocked[0], f"Call {day}: {n} night(s) unfilled; {blocked[1]}"))
    out.sort(key=lambda u: (u.date, -1 if u.slot is None else u.slot, u.what))
    return out


def _why_short(built: _Built, new: ScheduleSnapshot, codes: I16, call: I8, a: int, s: int, elig: B,
               counts: Any) -> tuple[str, str]:
    snap = built.snap
    d = s // 2
    cands = [p for p in range(built.P) if elig[p, a] and codes[p, s] != a]
    if not cands:
        return "QUAL", "nobody else may hold it (kind, PGY level or credential)"
    tally: dict[str, int] = {}
    probes = 0
    for p in cands:
        if snap.absent[p, d]:
            why = "ABS"
        elif built.fixed[p, s]:
            why = "FIXED"
        elif (p, s) not in built.x or a not in built.x[(p, s)]:
            why = "QUAL"
        elif codes[p, s] >= 0 and snap.req_min[codes[p, s], s] > 0 and counts[codes[p, s]] <= snap.req_min[codes[p, s], s]:
            why = "COV"
        elif call[p, d] == CALL_IN_HOUSE or (d > 0 and call[p, d - 1] == CALL_IN_HOUSE):
            why = "CALL"
        elif probes < 12:
            probes += 1
            check = check_change(new, ProposedChange(assignments=(
                (snap.people[p].id, snap.date_of(d), s % 2, snap.activities[a].id),)))
            bad = [v for v in check.added if v.severity in ("critical", "high") and v.person_id is not None]
            why = bad[0].rule if bad else "OPT"
        else:
            why = "OPT"
        tally[why] = tally.get(why, 0) + 1
    words = {**RULE_WORDS, "OPT": "free but not moved (a costlier trade-off or the time limit)"}
    main = max(tally.items(), key=lambda kv: (kv[0] != "OPT", kv[1]))[0]
    parts = [f"{n} {words.get(r, 'would break ' + r)}" for r, n in sorted(tally.items(), key=lambda kv: -kv[1])]
    return main, f"of {len(cands)} people who may hold it: " + ", ".join(parts)


def _why_no_call(built: _Built, pool: _Pool, d: int) -> tuple[str, str]:
    snap = built.snap
    absent = sum(1 for p in pool.people if snap.absent[p, d])
    if not pool.people:
        return "QUAL", "nobody is in this call pool"
    if absent == len(pool.people):
        return "ABS", "everyone in the pool is on leave"
    return "Q3", (f"{absent} of {len(pool.people)} in the pool on leave; the others would break the call "
                  "limits (every 3rd night, rest after call) or leave a service short")


# -------------------------------------------------------------------------------- from a database
def load_problem(session: Any, program_id: str, block_number: int, *, year: int | None = None,
                 margin_before: int = 28, margin_after: int = 2) -> ResidencyProblem:
    """The problem of block `block_number` of academic year `year` (default: the year holding today,
    else the latest one) read from the database: snapshot with margins, rotation-pattern targets,
    hand-entered calls fixed, year-to-date call counts."""
    from sqlalchemy import select

    from core.calendar import academic_year_bounds, academic_year_of
    from core.snapshot import build_snapshot
    from core.store import models as m

    years = list(session.scalars(select(m.AcademicYear).where(
        m.AcademicYear.program_id == program_id, m.AcademicYear.deleted.is_(False)).order_by(m.AcademicYear.start_year)))
    if not years:
        raise NotFoundError("The program has no academic year set up.")
    if year is None:
        this = academic_year_of(dt.date.today())
        chosen = next((y for y in years if y.start_year == this), years[-1])
    else:
        chosen = next((y for y in years if y.start_year == year), None)
        if chosen is None:
            raise NotFoundError(f"The program has no academic year {year}.")
    block = session.scalars(select(m.Block).where(
        m.Block.academic_year_id == chosen.id, m.Block.number == block_number, m.Block.deleted.is_(False))).first()
    if block is None:
        numbers = sorted(b.number for b in chosen.blocks if not b.deleted)
        raise NotFoundError(f"AY {chosen.start_year} has no block {block_number} (blocks {numbers[0]}-{numbers[-1]}).")
    start = block.start_date - dt.timedelta(days=margin_before)
    end = block.end_date + dt.timedelta(days=margin_after)
    snap = build_snapshot(session, program_id, start, end)
    d0, d1 = snap.day_of(block.start_date), snap.day_of(block.end_date)
    target = np.array(snap.codes, dtype=np.int16)
    # Rotation patterns for cells that hold nothing yet.
    aidx = snap.activity_index
    rows = session.execute(select(m.RotationAssignment.person_id, m.RotationAssignment.half,
                                  m.RotationAssignment.rotation_id).where(
        m.RotationAssignment.block_id == block.id, m.RotationAssignment.deleted.is_(False))).all()
    patterns: dict[str, dict[tuple[int, int], int]] = {}
    for rid in {r[2] for r in rows}:
        pat = {}
        for e in session.scalars(select(m.RotationPatternEntry).where(
                m.RotationPatternEntry.rotation_id == rid, m.RotationPatternEntry.deleted.is_(False))):
            if e.activity_id in aidx:
                pat[(e.weekday, e.slot)] = aidx[e.activity_id]
        patterns[rid] = pat
    mid = d0 + 14
    for pid, half, rid in rows:
        p = snap.person_index.get(pid)
        if p is None:
            continue
        lo, hi = (d0, d1) if half == 0 else ((d0, min(d1, mid - 1)) if half == 1 else (mid, d1))
        pat = patterns.get(rid, {})
        for d in range(lo, hi + 1):
            wd = snap.date_of(d).weekday()
            for slot in (0, 1):
                s = 2 * d + slot
                if target[p, s] < 0 and (wd, slot) in pat:
                    target[p, s] = pat[(wd, slot)]
    # Calls: hand-entered ones are fixed; year-to-date counts for fairness.
    fixed_calls = np.zeros((snap.n_people, snap.n_days), dtype=bool)
    for pid, day in session.execute(select(m.CallAssignment.person_id, m.CallAssignment.date).where(
            m.CallAssignment.date >= block.start_date, m.CallAssignment.date <= block.end_date,
            m.CallAssignment.deleted.is_(False), m.CallAssignment.source.in_(("manual", "preload")))):
        p = snap.person_index.get(pid)
        if p is not None:
            fixed_calls[p, snap.day_of(day)] = True
    ay_start, _ = academic_year_bounds(chosen.start_year)
    holidays = {h.date for h in session.scalars(select(m.Holiday).where(
        m.Holiday.program_id == program_id, m.Holiday.deleted.is_(False)))}
    P = snap.n_people
    ytd = np.zeros(P, dtype=np.int64)
    ytd_we = np.zeros(P, dtype=np.int64)
    ytd_hol = np.zeros(P, dtype=np.int64)
    for pid, day in session.execute(select(m.CallAssignment.person_id, m.CallAssignment.date).where(
            m.CallAssignment.date >= ay_start, m.CallAssignment.date < block.start_date,
            m.CallAssignment.deleted.is_(False))):
        p = snap.person_index.get(pid)
        if p is None:
            continue
        ytd[p] += 1
        ytd_we[p] += day.weekday() >= 5
        ytd_hol[p] += day in holidays
    return ResidencyProblem(
        snapshot=snap, first_day=d0, last_day=d1, target=target, fixed_calls=fixed_calls, ytd_calls=ytd,
        ytd_weekend_calls=ytd_we, ytd_holiday_calls=ytd_hol,
        label=f"Block {block.number} (AY {chosen.start_year}): {block.start_date} - {block.end_date}",
        block_number=block.number,
    )
