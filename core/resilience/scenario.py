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


ISOLATE_PEOPLE = 60  # programs this large build the solver's model in a separate process


def best_repair(snap: ScheduleSnapshot, removed: Sequence[int], days: tuple[int, int] | None = None,
                cancelled: Any = None, *, time_limit: float = 5.0, isolate: bool | None = None) -> Repair:
    """The solver's repair of the event; the greedy one only when CP-SAT found nothing better in time."""
    return best_repairs(snap, [(removed, days)], cancelled, time_limit=time_limit, isolate=isolate)[0]


def best_repairs(snap: ScheduleSnapshot, scenarios: Sequence[tuple[Sequence[int], tuple[int, int] | None]],
                 cancelled: Any = None, *, time_limit: float = 5.0, isolate: bool | None = None,
                 on_each: Any = None) -> list[Repair]:
    """`best_repair` of each (removed, days) scenario; `on_each(i, repair)` after each one.

    Where CP-SAT runs: building its model is seconds of pure Python on a large program, and in a
    desktop that would hold the GIL (and trigger full garbage collections of hundreds of ms) against
    the GUI thread. So from `ISOLATE_PEOPLE` people on (or with `isolate=True`) the solver runs in one
    spawned process for all the scenarios, which a cancel terminates at once; below it, in a plain
    Python thread here (its search threads calling back into a Qt pool thread crashed the process,
    see docs/development.md). Either way `cancelled` is polled every 0.05 s and `Cancelled` raised.
    """
    from core.errors import Cancelled

    stop = cancelled or (lambda: False)
    if isolate is None:
        isolate = snap.n_people >= ISOLATE_PEOPLE
    out: list[Repair] = []

    def finish(i: int, answer: Repair | None) -> None:
        removed, days = scenarios[i]
        greedy = repair(snap, removed, days, cancelled)[0]
        best = answer if answer is not None and (answer.unfilled, answer.n_changes) <= (
            greedy.unfilled, greedy.n_changes) else greedy
        out.append(best)
        if on_each is not None:
            on_each(i, best)

    if isolate:
        from contextlib import closing

        with closing(_solve_in_process(snap, scenarios, stop, time_limit)) as answers_in_order:
            for i, answer in answers_in_order:
                finish(i, answer)
        return out
    import threading

    for i, (removed, days) in enumerate(scenarios):
        box: dict[str, Any] = {}

        def body(removed: Sequence[int] = removed, days: tuple[int, int] | None = days,
                 box: dict[str, Any] = box) -> None:
            try:
                box["value"] = _solver_answer(snap, removed, days, stop, time_limit)
            except BaseException as exc:  # noqa: BLE001 - re-raised below, on the caller's thread
                box["error"] = exc

        thread = threading.Thread(target=body, name="resilience-repair", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.05)
            if stop():
                thread.join(1.0)  # the solver stops within its 0.05 s poll; do not wait on it longer
                raise Cancelled("The computation was cancelled.")
        if "error" in box:
            raise box["error"]
        finish(i, box["value"])
    return out


def _solver_answer(snap: ScheduleSnapshot, removed: Sequence[int], days: tuple[int, int] | None,
                   stop: Any, time_limit: float) -> Repair | None:
    """The CP-SAT repair, or None when it found nothing (or the model cannot describe the program)."""
    from core.errors import Cancelled
    from core.solver.repair import repair as solver_repair

    try:
        rep, _ev, result = solver_repair(snap, removed, days, stop, time_limit=time_limit)
    except ValidationError:  # a program the model cannot describe (no OFF activity)
        return None
    if result.cancelled:
        raise Cancelled("The computation was cancelled.")
    return rep if result.found else None


def _solve_in_process(snap: ScheduleSnapshot, scenarios: Sequence[tuple[Sequence[int], tuple[int, int] | None]],
                      stop: Any, time_limit: float) -> Any:
    """Yield (index, answer) as the child process reports each scenario; terminate it on a cancel."""
    import multiprocessing

    from core.errors import Cancelled

    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    plain = [(tuple(int(p) for p in removed), days) for removed, days in scenarios]
    proc = ctx.Process(target=_child, args=(send, snap, plain, time_limit), name="resilience-repair", daemon=True)
    proc.start()
    send.close()
    try:
        got = 0
        while got < len(plain):
            if stop():
                raise Cancelled("The computation was cancelled.")
            if not recv.poll(0.05):
                if not proc.is_alive() and not recv.poll(0):
                    raise RuntimeError("The repair process ended without an answer.")
                continue
            kind, i, value = recv.recv()
            if kind == "error":
                raise value
            got += 1
            yield i, value
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(1.0)
        recv.close()


def _child(conn: Any, snap: ScheduleSnapshot, scenarios: list[tuple[tuple[int, ...], tuple[int, int] | None]],
           time_limit: float) -> None:
    """The spawned process: solve each scenario and send ("ok", i, answer) or ("error", i, exception)."""
    from core.resilience.common import background_priority

    background_priority()
    for i, (removed, days) in enumerate(scenarios):
        try:
            conn.send(("ok", i, _solver_answer(snap, removed, days, lambda: False, time_limit)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            conn.send(("error", i, exc))
    conn.close()
