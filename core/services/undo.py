"""Undo and redo: apply a change set's row images backwards (or forwards) as a new edit.

The desktop keeps a QUndoStack of `ChangeSet`s; undo calls `undo(ctx, changes)`, redo calls
`redo(ctx, changes)`. Each is itself an audited edit with outbox records. A row that was changed
by someone else since the edit refuses the undo with a clear message instead of overwriting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, DateTime, select

from core.errors import ConflictError
from core.services.base import ChangeSet, Result, RowChange, ServiceContext, Work, row_image
from core.store import models as m

_TABLES = {mapper.class_.__tablename__: mapper.class_ for mapper in m.Base.registry.mappers}
_IGNORED = {"version"}


def _python_value(model: Any, key: str, value: Any) -> Any:
    col = model.__table__.c[key]
    if value is None:
        return None
    if isinstance(col.type, DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(col.type, Date):
        return dt.date.fromisoformat(value)
    return value


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is b
    keys = (set(a) | set(b)) - _IGNORED
    return all(a.get(k) == b.get(k) for k in keys)


def _apply(work: Work, rc: RowChange) -> None:
    """Make the row look like rc.after, given that it now looks like rc.before."""
    model = _TABLES[rc.table]
    obj = work.session.get(model, rc.row_id)
    current = row_image(obj) if obj is not None else None
    if current is not None and current.get("deleted") and rc.before is None:
        current = None
    if not _same(current, rc.before):
        raise ConflictError("That change cannot be undone: the same entries were changed again since.")
    if rc.after is None:
        if obj is None:
            return
        if "deleted" in model.__table__.c:
            work.tombstone(obj)
        else:
            work.session.delete(obj)
        return
    values = {k: _python_value(model, k, v) for k, v in rc.after.items() if k not in _IGNORED and k != "id"}
    if obj is None:
        work.add(model(id=rc.row_id, **values))
    else:
        work.set(obj, **values)


def prefetch(work: Work, rows: tuple[RowChange, ...]) -> None:
    """Load every row the changes touch with one query per table and 500 ids, so `_apply`'s
    lookups hit the session's identity map (undoing a year's import touches ~20,000 rows)."""
    by_table: dict[str, list[str]] = {}
    for rc in rows:
        by_table.setdefault(rc.table, []).append(rc.row_id)
    for table, ids in by_table.items():
        model = _TABLES[table]
        key = model.__table__.c.get("id")
        if key is None:
            continue
        for i in range(0, len(ids), 500):
            list(work.session.scalars(select(model).where(key.in_(ids[i : i + 500]))))


def apply_rows(ctx: ServiceContext, rows: tuple[RowChange, ...], action: str) -> Result[None]:
    def run(work: Work) -> None:
        prefetch(work, rows)
        with work.session.no_autoflush:
            for rc in rows:
                _apply(work, rc)

    return ctx.write(action, run)


def undo(ctx: ServiceContext, changes: ChangeSet) -> Result[None]:
    return apply_rows(ctx, changes.inverse_rows(), f"undo:{changes.action}")


def redo(ctx: ServiceContext, changes: ChangeSet) -> Result[None]:
    return apply_rows(ctx, changes.rows, f"redo:{changes.action}")
