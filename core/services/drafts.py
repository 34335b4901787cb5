"""Drafts: a generated schedule awaiting publication (DOMAIN.md change control).

`generate_draft` runs the residency generator for a block and stores its result as a `Draft` row:
the diff against the current schedule (cells and call nights), the violations the compliance
engine finds in it, and each unfilled slot with the constraint that blocked it. `publish_draft`
applies the diff through `put_slot` / `put_call` in one unit of work (audit + outbox), never over a
preload or manual cell, and records a `PublishedVersion`; `discard_draft` closes it unapplied.
A draft is refused at publication when the schedule changed since it was made (its base revision).

`save_repair_draft` keeps a resilience fallback (a `core.resilience.scenario.Repair`: the diff
against the schedule it repairs) as a draft of kind "fallback", with the violations of the repaired
schedule on the days it touches and the half-days it leaves unfilled. Such a draft is published the
same way (audit, outbox, PublishedVersion); it clears the cells of the people out even where they
were entered by hand (that is the event it answers), and it is refused when the cells, calls or
absences of the schedule it repaired changed since (a fingerprint of that content, since the
snapshot in the desktop is patched after edits and its revision is not a database one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConflictError, NotFoundError, ValidationError
from core.progress import CancelledFn, never
from core.services.base import Result, ServiceContext, Work
from core.services.schedule import _check_freeze, put_call, put_slot
from core.snapshot import ScheduleSnapshot, build_snapshot
from core.store import models as m

OPEN, PUBLISHED, DISCARDED = "open", "published", "discarded"
FALLBACK = "fallback"


@dataclass(frozen=True)
class DraftRecord:
    id: str
    program_id: str
    kind: str
    label: str
    status: str
    created_at: dt.datetime
    base_revision: str
    block_start: dt.date | None
    block_end: dt.date | None
    changes: tuple[dict[str, Any], ...]
    call_changes: tuple[dict[str, Any], ...]
    violations: tuple[dict[str, Any], ...]
    unfilled: tuple[dict[str, Any], ...]
    summary: dict[str, Any]

    @classmethod
    def of(cls, row: m.Draft) -> DraftRecord:
        p = row.payload or {}
        return cls(
            id=row.id, program_id=row.program_id, kind=row.kind, label=row.label, status=row.status,
            created_at=row.created_at, base_revision=row.base_revision,
            block_start=dt.date.fromisoformat(p["block_start"]) if p.get("block_start") else None,
            block_end=dt.date.fromisoformat(p["block_end"]) if p.get("block_end") else None,
            changes=tuple(p.get("changes", ())), call_changes=tuple(p.get("call_changes", ())),
            violations=tuple(p.get("violations", ())), unfilled=tuple(p.get("unfilled", ())),
            summary=dict(p.get("summary", {})),
        )

    @property
    def critical(self) -> int:
        return sum(1 for v in self.violations if v.get("severity") == "critical")


def _draft(session: Session, draft_id: str) -> m.Draft:
    row = session.get(m.Draft, draft_id)
    if row is None or row.deleted:
        raise NotFoundError("That draft does not exist.", field="draft_id")
    return row


def payload_of(result: Any, problem: Any) -> dict[str, Any]:
    """The JSON payload of a draft from a `GenerateResult` and its `ResidencyProblem`."""
    snap = problem.snapshot
    return {
        "block_number": problem.block_number,
        "block_start": result.block_start.isoformat(),
        "block_end": result.block_end.isoformat(),
        "range_start": snap.start.isoformat(),
        "range_end": snap.end.isoformat(),
        "changes": [c.to_dict() for c in result.changes],
        "call_changes": [c.to_dict() for c in result.call_changes],
        "violations": [v.to_dict() for v in result.violations],
        "unfilled": [u.to_dict() for u in result.unfilled],
        "summary": result.summary(),
    }


def save_draft(ctx: ServiceContext, program_id: str, result: Any, problem: Any, *, kind: str = "generate",
               label: str | None = None) -> Result[DraftRecord]:
    """Store a generated result as an open draft."""
    if not result.found:
        raise ValidationError("The generator found no schedule to keep as a draft.")

    def run(work: Work) -> DraftRecord:
        if work.session.get(m.Program, program_id) is None:
            raise NotFoundError("That program does not exist.", field="program_id")
        row = work.add(m.Draft(
            program_id=program_id, kind=kind, label=label or problem.label or "Generated schedule",
            created_at=work.ctx.clock(), status=OPEN, base_revision=result.base_revision,
            payload=payload_of(result, problem),
        ))
        return DraftRecord.of(row)

    return ctx.write("save_draft", run, entity="draft")


def content_fingerprint(snap: ScheduleSnapshot) -> str:
    """A hash of what a repair depends on: who holds what, calls and absences, over the snapshot."""
    import hashlib

    h = hashlib.sha256()
    h.update(repr((snap.start, snap.end, [p.id for p in snap.people], [a.id for a in snap.activities])).encode())
    for arr in (snap.codes, snap.call, snap.absent):
        h.update(arr.tobytes())
    return h.hexdigest()


def repair_payload(repair: Any, snap: ScheduleSnapshot) -> dict[str, Any]:
    """The JSON payload of a draft from a resilience `Repair` and the snapshot it repairs."""
    import numpy as np

    from core.rules.engine import validate
    from core.snapshot import with_changes

    if repair.revision != snap.revision:
        raise ConflictError("This fallback was computed for an older version of the schedule; run the analysis again.")
    changes = [{"person_id": c.person_id, "person": c.person, "date": c.day, "slot": c.slot,
                "before_id": c.before_id, "before": c.before, "after_id": c.after_id, "after": c.after}
               for c in repair.changes]
    codes = np.array(snap.codes)
    for c in repair.changes:
        s = 2 * snap.day_of(dt.date.fromisoformat(c.day)) + c.slot
        codes[snap.person_index[c.person_id], s] = -1 if c.after_id is None else snap.activity_index[c.after_id]
    days = sorted({c.day for c in repair.changes}) or [snap.start.isoformat()]
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    violations = validate(with_changes(snap, codes=codes), start=first, end=last).violations
    code_index = {a.code: i for i, a in enumerate(snap.activities)}
    unfilled = []
    for day, slot, what, missing in repair.gaps:
        s = 2 * snap.day_of(dt.date.fromisoformat(day)) + slot
        held = int((snap.codes[:, s] == code_index[what]).sum())
        needed = min(int(snap.req_min[code_index[what], s]), held)
        unfilled.append({"date": day, "slot": slot, "what": what, "needed": needed, "have": needed - missing,
                         "rule": "COV", "reason": f"{what} {day} {('AM', 'PM')[slot]}: nobody qualified and free "
                                                  "within the duty-hour rules is left to take it"})
    return {
        "block_start": first.isoformat(), "block_end": last.isoformat(),
        "range_start": snap.start.isoformat(), "range_end": snap.end.isoformat(),
        "fingerprint": content_fingerprint(snap),
        "removed": list(repair.removed),
        "changes": changes, "call_changes": [],
        "violations": [v.to_dict() for v in violations],
        "unfilled": unfilled,
        "summary": {"kind": FALLBACK, "removed": list(repair.removed), "changes": len(changes),
                    "cleared": repair.cleared, "refilled": repair.refilled, "unfilled": repair.unfilled,
                    "method": repair.method, "status": repair.status,
                    "block_start": first.isoformat(), "block_end": last.isoformat()},
    }


def save_repair_draft(ctx: ServiceContext, program_id: str, repair: Any, snapshot: ScheduleSnapshot, *,
                      label: str | None = None) -> Result[DraftRecord]:
    """Store a resilience fallback (`Repair` of `snapshot`) as an open draft of kind "fallback"."""
    if not repair.changes:
        raise ValidationError("This fallback changes nothing; there is no draft to make.")
    payload = repair_payload(repair, snapshot)
    name = label or "Fallback: " + " + ".join(repair.removed) + " out"

    def run(work: Work) -> DraftRecord:
        if work.session.get(m.Program, program_id) is None:
            raise NotFoundError("That program does not exist.", field="program_id")
        row = work.add(m.Draft(program_id=program_id, kind=FALLBACK, label=name, created_at=work.ctx.clock(),
                               status=OPEN, base_revision=repair.revision, payload=payload))
        return DraftRecord.of(row)

    return ctx.write("save_draft", run, entity="draft")


def generate_draft(
    ctx: ServiceContext,
    program_id: str,
    block_number: int,
    *,
    year: int | None = None,
    time_limit: float = 30.0,
    workers: int = 2,
    on_progress: Callable[[int, int, float], None] | None = None,
    cancelled: CancelledFn = never,
) -> tuple[DraftRecord, Any]:
    """Generate block `block_number` and keep the best schedule found as an open draft.

    Returns the draft and the `GenerateResult`. A cancelled run still keeps the best schedule found
    so far (if any)."""
    from core.solver.residency import generate, load_problem

    problem = ctx.read(lambda s: load_problem(s, program_id, block_number, year=year))
    result = generate(problem, time_limit=time_limit, workers=workers,
                      progress=on_progress or (lambda o, b, t: None), cancelled=cancelled)
    if not result.found:
        raise ValidationError(
            "No schedule was found for this block" + (" before it was cancelled." if result.cancelled
                                                      else " within the time limit; give it more time."))
    draft = save_draft(ctx, program_id, result, problem).value
    return draft, result


def get_draft(ctx: ServiceContext, draft_id: str) -> DraftRecord:
    return ctx.read(lambda s: DraftRecord.of(_draft(s, draft_id)))


def list_drafts(ctx: ServiceContext, program_id: str, status: str | None = OPEN) -> list[DraftRecord]:
    def run(s: Session) -> list[DraftRecord]:
        q = select(m.Draft).where(m.Draft.program_id == program_id, m.Draft.deleted.is_(False))
        if status is not None:
            q = q.where(m.Draft.status == status)
        return [DraftRecord.of(r) for r in s.scalars(q.order_by(m.Draft.created_at.desc()))]

    return ctx.read(run)


def publish_draft(ctx: ServiceContext, draft_id: str, *, reason: str | None = None) -> Result[DraftRecord]:
    """Apply an open draft in one unit of work and record the published version."""

    def run(work: Work) -> DraftRecord:
        row = _draft(work.session, draft_id)
        if row.status != OPEN:
            raise ValidationError(f"This draft is {row.status}; only an open draft can be published.")
        p = row.payload or {}
        if p.get("range_start") and p.get("range_end"):
            snap = build_snapshot(work.session, row.program_id, dt.date.fromisoformat(p["range_start"]),
                                  dt.date.fromisoformat(p["range_end"]))
            if p.get("fingerprint"):
                if content_fingerprint(snap) != p["fingerprint"]:
                    raise ConflictError("The schedule changed after this fallback was computed; run the "
                                        "resilience analysis again.")
            elif snap.revision != row.base_revision:
                raise ConflictError("The schedule changed after this draft was made; generate the block again.")
        cells = p.get("changes", [])
        repair = row.kind == FALLBACK
        calls = p.get("call_changes", [])
        dates = [dt.date.fromisoformat(c["date"]) for c in cells + calls]
        _check_freeze(work, row.program_id, dates, reason)
        applied = 0
        for c in cells:
            applied += put_slot(work, c["person_id"], dt.date.fromisoformat(c["date"]), int(c["slot"]),
                                c["after_id"], source="generated", locked=False, overwrite_hand=repair)
        for c in calls:
            applied += put_call(work, c["person_id"], dt.date.fromisoformat(c["date"]), c["after"],
                                service=c.get("service") or "", source="generated")
        work.add(m.PublishedVersion(
            program_id=row.program_id, at=work.ctx.clock(), label=row.label,
            changes={"draft_id": row.id, "cells": cells, "calls": calls, "applied": applied},
        ))
        work.set(row, status=PUBLISHED)
        return DraftRecord.of(row)

    return ctx.write("publish_draft", run, entity="draft", entity_id=draft_id, reason=reason)


def discard_draft(ctx: ServiceContext, draft_id: str) -> Result[DraftRecord]:
    def run(work: Work) -> DraftRecord:
        row = _draft(work.session, draft_id)
        if row.status != OPEN:
            raise ValidationError(f"This draft is {row.status}; only an open draft can be discarded.")
        work.set(row, status=DISCARDED)
        return DraftRecord.of(row)

    return ctx.write("discard_draft", run, entity="draft", entity_id=draft_id)
