"""Events and their greedy repair (shared by FALLBACK, RECOVERY and LECHATELIER).

An event takes people out on some days: their assignments and calls on those days are cleared and
the days marked absent (`event_snapshot`). The repair then refills every (activity, slot) that the
event left below its minimum -- up to what it held before, so a shortage that existed before is not
charged to the event -- by the same max-flow as N-1 (qualified, free, within the duty-hour rules by
the engine). Each refilled half-day and each cleared assignment is one changed assignment.

This is the greedy stand-in for the solver's repair mode (CP-SAT with a Hamming-distance objective,
warm-started from the current schedule): same interface, an upper bound on the true minimum number
of changes. It is replaced when the repair mode lands in `core.solver`.
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
    result = Repair(
        revision=snap.revision, removed=tuple(snap.people[p].name for p in removed), changes=tuple(changes),
        cleared=cleared, refilled=len(adds), needed=out.needed, unfilled=out.unfilled,
        new_violations=new_violations,
    )
    return result, ev, out, model
