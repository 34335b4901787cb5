"""Conflicts and rejections the sync client kept, and their resolution (SYNC.md "Conflicts").

Nothing is resolved silently: each record shows both versions (the local fields with the values
they replaced, and the server's row with who changed it and when). Resolving is an edit like any
other: keeping "mine" (or a merge) writes the chosen values as a new op through the unit of work,
so it is audited and pushed; taking "theirs" (or dismissing a rejection) only closes the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select

from core.errors import NotFoundError, ValidationError
from core.services.base import Result, ServiceContext, Work
from core.store import models as m
from core.sync.rows import SYNC_META_COLUMNS, decode_fields

Choice = Literal["mine", "theirs", "merge", "dismiss"]


@dataclass(frozen=True)
class ConflictRecord:
    id: str
    kind: str  # conflict | rejected
    table: str
    row_id: str
    op: str
    local_fields: dict[str, Any]
    local_previous: dict[str, Any]
    server_row: dict[str, Any] | None
    server_version: int | None
    server_actor: str | None
    server_at: dt.datetime | None
    reason: str
    created_at: dt.datetime
    resolution: str | None

    @classmethod
    def of(cls, c: m.SyncConflict) -> ConflictRecord:
        return cls(c.id, c.kind, c.table_name, c.row_id, c.op, dict(c.local_fields), dict(c.local_previous),
                   dict(c.server_row) if c.server_row is not None else None, c.server_version, c.server_actor,
                   c.server_at, c.reason, c.created_at, c.resolution)

    def differences(self) -> list[tuple[str, Any, Any]]:
        """(field, mine, server's) for every field this op set."""
        server = self.server_row or {}
        return [(k, v, server.get(k)) for k, v in sorted(self.local_fields.items()) if k not in SYNC_META_COLUMNS]


def list_conflicts(ctx: ServiceContext, *, include_resolved: bool = False) -> list[ConflictRecord]:
    def run(session: Any) -> list[ConflictRecord]:
        q = select(m.SyncConflict).order_by(m.SyncConflict.created_at, m.SyncConflict.id)
        if not include_resolved:
            q = q.where(m.SyncConflict.resolved_at.is_(None))
        return [ConflictRecord.of(c) for c in session.scalars(q)]

    return ctx.read(run)


def _model_for(table: str) -> Any:
    for mapper in m.Base.registry.mappers:
        if getattr(mapper.local_table, "name", None) == table:
            return mapper.class_
    raise NotFoundError(f"Unknown table {table!r}.")


def resolve_conflict(ctx: ServiceContext, conflict_id: str, choice: Choice,
                     merged: dict[str, Any] | None = None) -> Result[ConflictRecord]:
    """Close a conflict: keep mine, take theirs, use `merged` values, or dismiss a rejection."""

    def run(work: Work) -> ConflictRecord:
        c = work.session.get(m.SyncConflict, conflict_id)
        if c is None:
            raise NotFoundError("That conflict does not exist.")
        if c.resolved_at is not None:
            raise ValidationError("That conflict was already resolved.")
        if choice in ("mine", "merge"):
            if c.kind == "rejected" or c.server_row is None:
                raise ValidationError("The server refused this change; it cannot be kept. Dismiss it, or make "
                                      "a new edit that the rules allow.")
            wanted = dict(c.local_fields) if choice == "mine" else dict(merged or {})
            if c.op == "delete" and choice == "mine":
                wanted = {"deleted": True}
            values = decode_fields(c.table_name, {k: v for k, v in wanted.items() if k not in ("id", "version")})
            row = work.session.get(_model_for(c.table_name), c.row_id)
            if row is None:
                raise NotFoundError("The row of this conflict is no longer in this database.")
            work.set(row, **values)
        c.resolved_at = work.ctx.clock()
        c.resolution = choice
        return ConflictRecord.of(c)

    return ctx.write("resolve_conflict", run, entity="sync_conflict", entity_id=conflict_id,
                     detail={"choice": choice})
