"""Events and their repair (shared by FALLBACK, RECOVERY and LECHATELIER).

An event takes people out on some days: their assignments and calls on those days are cleared and
the days marked absent (`event_snapshot`). The repair then refills every (activity, slot) that the
event left below its minimum -- up to what it held before, so a shortage that existed before is not
charged to the event -- by the same max-flow as N-1 (qualified, free, within the duty-hour rules by
the engine). Each refilled half-day and each cleared assignment is one changed assignment.

`best_repair` is what the analyses call: the solver's repair mode (`core.solver.repair`: CP-SAT,
coverage first, then the fewest changed cells, warm-started from the current schedule) run in a
plain Python thread, with a time limit and the caller's cancel. The greedy `repair` here (one
max-flow, no moves of people already working; milliseconds) stays as its documented fallback: it
answers only when CP-SAT returns no schedule within its time limit, or a worse one (more unfilled
half-days, or as many and more changes: possible when the limit stops the search early on a large
program). `Repair.method` says which one answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ValidationError
from core.resilience.foundations import foundations
from core.resilience.refill import RefillModel, RefillOutcome, build_model, refill_nodes
from core.rules.engine import ProposedChange, check_change
from core.snapshot import ScheduleSnapshot, with_changes


@dataclass(frozen=True)
class Change:
    person_id: str
    person: str
    day: str
    slot: int
    before: str | None  # activity code
    after: str | None
    before_id: str | None
    after_id: str | None


@dataclass(frozen=True)
class Repair:
    revision: str  # of the schedule it repairs
    removed: tuple[str, ...]  # names
    changes: tuple[Change, ...]
    cleared: int
    refilled: int
    needed: int
    unfilled: int
    new_violations: tuple[str, ...]  # critical/high violations the refill itself would add
    method: str = "greedy"  # "cp-sat" (the solver's repair mode) or "greedy" (max-flow refill)
    status: str = ""  # the solver's status for "cp-sat": optimal | feasible
    gaps: tuple[tuple[str, int, str, int], ...] = ()  # (day, slot, activity code, half-days missing)

    @property
    def n_changes(self) -> int:
        return len(self.changes)

    def to_proposed_change(self) -> ProposedChange:
        """The repair as an edit the compliance engine and the schedule services understand."""
        return ProposedChange(assignments=tuple(
            (c.person_id, _date(c.day), c.slot, c.after_id) for c in self.changes
        ))


def _date(iso: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(iso)


def people_rows(snap: ScheduleSnapshot, people: Sequence[str | int]) -> list[int]:
    rows = []
    for p in people:
        if isinstance(p, int):
            rows.append(p)
            continue
        if p in snap.person_index:
            rows.append(snap.person_index[p])
            continue
        named = [i for i, x in enumerate(snap.people) if x.name == p]
        if not named:
            raise ValidationError(f"Nobody called {p} is in this schedule.", field="people")
        rows.append(named[0])
    return rows


def event_snapshot(snap: ScheduleSnapshot, removed: Sequence[int], days: tuple[int, int] | None = None
                   ) -> ScheduleSnapshot:
    d0, d1 = days if days is not None else (0, snap.n_days - 1)
    codes = np.array(snap.codes)
    call = np.array(snap.call)
    absent = np.array(snap.absent)
    for p in removed:
        codes[p, 2 * d0 : 2 * d1 + 2] = -1
        call[p, d0 : d1 + 1] = 0
        absent[p, d0 : d1 + 1] = True
    return with_changes(snap, codes=codes, call=call, absent=absent)


def repair(snap: ScheduleSnapshot, removed: Sequence[int], days: tuple[int, int] | None = None,
           cancelled: Any = None) -> tuple[Repair, ScheduleSnapshot, RefillOutcome, RefillModel]:
    """Take `removed` out on `days` (default: the whole snapshot) and refill greedily."""
    removed = sorted(set(int(p) for p in removed))
    ev = event_snapshot(snap, removed, days)
    f0, f1 = foundations(snap), foundations(ev)
    target = np.minimum(f0.staffed, f0.req_min)
    need_m = np.maximum(0, target - f1.staffed)
    model = build_model(ev, 0, node_mask=need_m > 0, cancelled=cancelled)
    need = need_m[model.node_a, model.node_s]
    out = refill_nodes(model, np.arange(len(need)), need)
    changes: list[Change] = []
    acts = snap.activities
    for p in removed:
        ss = np.flatnonzero((snap.codes[p] >= 0) & (ev.codes[p] < 0))
        for s in ss.tolist():
            a = int(snap.codes[p, s])
            changes.append(Change(snap.people[p].id, snap.people[p].name, snap.date_of(s // 2).isoformat(),
                                  s % 2, acts[a].code, None, acts[a].id, None))
    cleared = len(changes)
    adds = []
    for n, x in zip(out.absorb_node.tolist(), out.absorb_person.tolist()):
        a, s = int(model.node_a[n]), int(model.node_s[n])
        old = int(snap.codes[x, s])
        changes.append(Change(snap.people[x].id, snap.people[x].name, snap.date_of(s // 2).isoformat(), s % 2,
                              acts[old].code if old >= 0 else None, acts[a].code,
                              acts[old].id if old >= 0 else None, acts[a].id))
        adds.append((snap.people[x].id, snap.date_of(s // 2), s % 2, acts[a].id))
    new_violations: tuple[str, ...] = ()
    if adds:
        checked = check_change(ev, ProposedChange(assignments=tuple(adds)))
        new_violations = tuple(v.message for v in checked.added
                               if v.person_id is not None and v.severity in ("critical", "high"))
    gaps = []
    for n, k in zip(out.node.tolist(), (out.need - out.filled).tolist()):
        if k > 0:
            a, s = int(model.node_a[n]), int(model.node_s[n])
            gaps.append((snap.date_of(s // 2).isoformat(), s % 2, acts[a].code, int(k)))
    result = Repair(
        revision=snap.revision, removed=tuple(snap.people[p].name for p in removed), changes=tuple(changes),
        cleared=cleared, refilled=len(adds), needed=out.needed, unfilled=out.unfilled,
        new_violations=new_violations, gaps=tuple(gaps),
    )
    return result, ev, out, model


def best_repair(snap: ScheduleSnapshot, removed: Sequence[int], days: tuple[int, int] | None = None,
                cancelled: Any = None, *, time_limit: float = 5.0) -> Repair:
    """The solver's repair of the event; the greedy one only when CP-SAT found nothing better in time.

    CP-SAT runs in a plain Python thread (its search threads calling back into a Qt pool thread
    crashed the process, see docs/development.md); this thread waits for it, polling `cancelled`
    (the solver itself polls it every 0.05 s and stops), and raises `Cancelled` when asked to stop.
    """
    import threading

    from core.errors import Cancelled
    from core.solver.repair import repair as solver_repair

    stop = cancelled or (lambda: False)
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["value"] = solver_repair(snap, removed, days, stop, time_limit=time_limit)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, on the caller's thread
            out["error"] = exc

    thread = threading.Thread(target=body, name="resilience-repair", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.05)
        if stop():
            thread.join(1.0)  # the solver stops within its 0.05 s poll; do not wait on it longer
            raise Cancelled("The computation was cancelled.")
    if isinstance(out.get("error"), ValidationError):  # a program the model cannot describe (no OFF activity)
        return repair(snap, removed, days, cancelled)[0]
    if "error" in out:
        raise out["error"]
    rep, _ev, result = out["value"]
    if result.cancelled:
        raise Cancelled("The computation was cancelled.")
    greedy = repair(snap, removed, days, cancelled)[0]
    if result.found and (rep.unfilled, rep.n_changes) <= (greedy.unfilled, greedy.n_changes):
        return rep  # type: ignore[no-any-return]
    return greedy
