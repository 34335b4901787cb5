"""Push and pull (SYNC.md "Protocol").

A push runs in one transaction that first locks the program's row (`SELECT ... FOR UPDATE`), so
two pushes to one program never interleave and the sequence numbers they take are in commit order.
Per op, in order:

1. op id seen before -> the stored outcome (a resent batch applies nothing twice);
2. the op must be well formed for core's schema, refer to rows that exist, keep the natural key
   unique (one activity per person per slot), and be allowed for the caller's role -> else
   **rejected** with the reason;
3. base version = row version -> **applied** (version + 1, appended to the feed);
4. otherwise, when none of the op's fields was changed since its base by another device (or the
   other device wrote the same value, or the field is free text: last writer in server order wins)
   -> **merged**;
5. otherwise -> **conflict**: nothing applied, the server row returned. An edit of a row deleted
   since its base, and a delete of a row edited since its base, are conflicts too.

The batch's rows are read with a few queries up front and written with a few bulk statements at
the end; the per-op work is in memory.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import JSON, String, any_, bindparam, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.sync.rows import TABLES, RowError, decode_fields, decode_row, encode_row, natural_key
from server import models as sm
from server.hard_rules import duty_refusals
from server.permissions import op_refusal
from server.schemas import ChangeOut, OpResult, PushOp, ServerRow
from server.validate import all_fit, constraint_refusal

CHUNK = 900


@dataclass
class RowState:
    table: str
    row_id: str
    program_id: str
    version: int
    deleted: bool
    data: dict[str, Any]
    natural_key: str | None
    seq: int
    actor: str
    at: dt.datetime
    new: bool = False
    dirty: bool = False
    batch_changes: list[tuple[int, str, frozenset[str]]] = field(default_factory=list)  # (version, node, fields)

    def server_row(self) -> ServerRow:
        return ServerRow(table=self.table, row_id=self.row_id, version=self.version, deleted=self.deleted,
                         data=self.data, actor=self.actor, at=self.at)


@dataclass(frozen=True)
class Caller:
    account_id: str
    username: str
    role: str
    person_id: str | None


def _chunks(items: Sequence[Any], n: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


_SEP = "\x1f"  # never inside a row id (pattern of PushOp) or a natural key (JSON escapes control characters)


def _one_of(session: Session, column: Any, values: Sequence[str]) -> Any:
    """`column IN values`: on PostgreSQL as `= ANY(string_to_array(:values, US))`, one text
    parameter however many values (a statement with hundreds of parameters costs more to prepare
    than to run, and an array parameter is escaped element by element in Python)."""
    if session.connection().dialect.name == "postgresql" and not any(_SEP in v for v in values):
        joined = bindparam("values", _SEP.join(values), type_=String)
        return column == any_(func.string_to_array(joined, literal(_SEP, String), type_=ARRAY(String)))
    return column.in_(values)


def lock_program(session: Session, program_id: str) -> sm.Program | None:
    return session.execute(select(sm.Program).where(sm.Program.id == program_id).with_for_update()).scalar_one_or_none()


_ROW_COLUMNS = (sm.Row.table_name, sm.Row.row_id, sm.Row.program_id, sm.Row.version, sm.Row.deleted, sm.Row.data,
                sm.Row.natural_key, sm.Row.seq, sm.Row.actor, sm.Row.at)


def _load_rows(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], RowState]:
    out: dict[tuple[str, str], RowState] = {}
    by_table: dict[str, list[str]] = {}
    for t, rid in keys:
        by_table.setdefault(t, []).append(rid)
    for t, ids in by_table.items():
        for part in _chunks(sorted(ids)):
            q = select(*_ROW_COLUMNS).where(sm.Row.table_name == t, _one_of(session, sm.Row.row_id, part))
            for r in session.execute(q):
                out[(r[0], r[1])] = RowState(r[0], r[1], r[2], r[3], r[4], dict(r[5]), r[6], r[7], r[8], r[9])
    return out


def _load_keys(session: Session, program_id: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    by_table: dict[str, list[str]] = {}
    for t, k in keys:
        by_table.setdefault(t, []).append(k)
    for t, ks in by_table.items():
        for part in _chunks(sorted(ks)):
            q = select(sm.Row.natural_key, sm.Row.row_id).where(
                sm.Row.program_id == program_id, sm.Row.table_name == t, _one_of(session, sm.Row.natural_key, part))
            for nk, rid in session.execute(q):
                out[(t, nk)] = rid
    return out


def _others_fields_since(session: Session, row: RowState, base: int, node: str) -> set[str]:
    """Fields changed after version `base` by devices other than `node`."""
    fields: set[str] = set()
    q = select(sm.Change.fields, sm.Change.node).where(
        sm.Change.table_name == row.table, sm.Change.row_id == row.row_id, sm.Change.version > base)
    for names, who in session.execute(q):
        if who != node:
            fields.update(names)
    for version, who, names in row.batch_changes:
        if version > base and who != node:
            fields.update(names)
    return fields


class PushBatch:
    def __init__(self, session: Session, program: sm.Program, caller: Caller, node: str, now: dt.datetime) -> None:
        self.session = session
        self.program = program
        self.caller = caller
        self.node = node
        self.now = now
        self.rows: dict[tuple[str, str], RowState] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self.changes: list[dict[str, Any]] = []
        self.applied: list[dict[str, Any]] = []
        self.defer_checks = False
        """When set, core's CHECK/NOT NULL probe is not run per op: the accepted rows are collected
        in `deferred` and checked together afterwards (`all_fit`); if any fails, the caller runs the
        batch again with per-op checks, so the outcome is the same either way."""
        self.deferred: list[tuple[str, dict[str, Any]]] = []
        self.refused: dict[str, str] = {}  # op id -> reason (the duty-hour rules, server/hard_rules.py)
        self.before: dict[tuple[str, str], dict[str, Any] | None] = {}  # row images before this batch

    # ---------------------------------------------------------------------------------- lookups
    def row(self, table: str, row_id: str) -> RowState | None:
        r = self.rows.get((table, row_id))
        return r if r is not None and r.program_id == self.program.id else None

    def _image(self, table: str, row_id: str) -> dict[str, Any] | None:
        r = self.row(table, row_id)
        return r.data if r is not None else None

    def prefetch(self, ops: Sequence[PushOp]) -> None:
        wanted: set[tuple[str, str]] = set()
        for op in ops:
            wanted.add((op.table, op.row_id))
            info = TABLES.get(op.table)
            if info is not None:
                for col, ref in info.foreign_keys:
                    v = op.fields.get(col)
                    if isinstance(v, str):
                        wanted.add((ref, v))
        self.rows = _load_rows(self.session, wanted)
        # Rows our rows refer to (e.g. the swap of a swap item) for the role checks.
        more: set[tuple[str, str]] = set()
        for r in list(self.rows.values()):
            info = TABLES.get(r.table)
            if info is not None:
                for col, ref in info.foreign_keys:
                    v = r.data.get(col)
                    if isinstance(v, str) and (ref, v) not in self.rows:
                        more.add((ref, v))
        if more:
            self.rows.update(_load_rows(self.session, more))
        keys: set[tuple[str, str]] = set()
        for op in ops:
            if op.table not in TABLES:
                continue
            base = self.rows.get((op.table, op.row_id))
            image = {**(base.data if base else {}), **op.fields}
            nk = natural_key(op.table, image)
            if nk is not None and len(nk) <= 400:
                keys.add((op.table, nk))
        self.keys = _load_keys(self.session, self.program.id, keys)

    # ------------------------------------------------------------------------------------ one op
    def run(self, op: PushOp) -> OpResult:
        try:
            return self._run(op)
        except RowError as exc:
            return self._finish(op, "rejected", reason=str(exc))

    def _run(self, op: PushOp) -> OpResult:
        info = TABLES.get(op.table)
        if info is None:
            return self._finish(op, "rejected", reason=f"{op.table!r} is not a synced table.")
        existing = self.rows.get((op.table, op.row_id))
        if existing is not None and existing.program_id != self.program.id:
            return self._finish(op, "rejected", reason="That row belongs to another program.")
        if "id" in op.fields and op.fields["id"] != op.row_id:
            return self._finish(op, "rejected", reason="An op may not change a row's id.")
        if "version" in op.fields and op.op != "insert":
            fields = {k: v for k, v in op.fields.items() if k != "version"}
        else:
            fields = dict(op.fields)
        if op.table == "program" and op.row_id != self.program.id:
            return self._finish(op, "rejected", reason="A program row may be pushed only to its own program.")
        if op.op_id in self.refused:
            return self._finish(op, "rejected", reason=self.refused[op.op_id], row=existing)

        if op.op == "insert":
            if existing is not None:
                return self._finish(op, "rejected", reason="A row with that id already exists on the server.",
                                    row=existing)
            image = {**fields, "id": op.row_id, "version": 0}
            decoded = decode_row(op.table, image)
            before: dict[str, Any] | None = None
            changed = set(fields)
            kind = "insert"
        else:
            if existing is None:
                return self._finish(op, "rejected", reason="That row does not exist on the server (it was never "
                                    "accepted, or its creation was refused).")
            decode_fields(op.table, fields)
            if op.op == "delete":
                fields = {**fields, "deleted": True}
            if op.base_version > existing.version:
                return self._finish(op, "rejected", reason="The op is based on a version the server never had.",
                                    row=existing)
            if op.base_version < existing.version:
                since = _others_fields_since(self.session, existing, op.base_version, self.node)
                if since:
                    if op.op == "delete":
                        return self._finish(op, "conflict", row=existing,
                                            reason="The row was edited on another device since you deleted it.")
                    if existing.deleted and "deleted" in since:
                        return self._finish(op, "conflict", row=existing,
                                            reason="The row was deleted on another device since you edited it.")
                    clash = {k for k in fields if k in since and k not in info.free_text
                             and existing.data.get(k) != fields[k]}
                    if clash:
                        return self._finish(op, "conflict", row=existing,
                                            reason=f"Changed on another device too: {', '.join(sorted(clash))}.")
            image = {**existing.data, **fields, "id": op.row_id}
            decoded = decode_row(op.table, image)
            before = existing.data
            changed = {k for k in fields if existing.data.get(k) != fields[k]}
            kind = op.op
        # Domain checks: role, references, unique key, core's constraints.
        refusal = op_refusal(self.caller.role, self.caller.person_id, op.table, kind, before, image, changed,
                             self._image)
        if refusal:
            return self._finish(op, "rejected", reason=refusal, row=existing)
        for col, ref in info.foreign_keys:
            v = image.get(col)
            if v is not None and (before is None or before.get(col) != v) and self.row(ref, str(v)) is None:
                return self._finish(op, "rejected", row=existing,
                                    reason=f"{col} refers to a {ref.replace('_', ' ')} the server does not have.")
        nk = natural_key(op.table, image)
        if nk is not None:
            if len(nk) > 400:
                return self._finish(op, "rejected", reason="The row's key is too long.", row=existing)
            holder = self.keys.get((op.table, nk))
            if holder is not None and holder != op.row_id:
                reason = ("That person already has an activity in that slot (one activity per person per slot)."
                          if op.table == "assignment" else
                          f"Another {op.table.replace('_', ' ')} row already has the same "
                          f"{', '.join(info.natural_key)}.")
                return self._finish(op, "rejected", reason=reason, row=existing)
        if self.defer_checks:
            self.deferred.append((op.table, decoded))
            refusal = None
        else:
            refusal = constraint_refusal(op.table, decoded)
        if refusal:
            return self._finish(op, "rejected", reason=refusal, row=existing)
        # Accept.
        status = "applied" if existing is None or op.base_version == existing.version else "merged"
        return self._apply(op, existing, image, nk, changed, status)

    def _apply(self, op: PushOp, existing: RowState | None, image: dict[str, Any], nk: str | None,
               changed: set[str], status: str) -> OpResult:
        seq = self.program.next_seq
        self.program.next_seq = seq + 1
        version = 1 if existing is None else existing.version + 1
        self.before.setdefault((op.table, op.row_id), None if existing is None else existing.data)
        image = encode_row({**image, "version": version})
        deleted = bool(image.get("deleted", False))
        actor = self.caller.username
        if existing is None:
            existing = RowState(op.table, op.row_id, self.program.id, version, deleted, image, nk, seq, actor,
                                self.now, new=True)
            self.rows[(op.table, op.row_id)] = existing
        else:
            if existing.natural_key is not None and existing.natural_key != nk:
                self.keys.pop((op.table, existing.natural_key), None)
            existing.version, existing.deleted, existing.data = version, deleted, image
            existing.natural_key, existing.seq, existing.actor, existing.at = nk, seq, actor, self.now
            existing.dirty = not existing.new
        if nk is not None:
            self.keys[(op.table, nk)] = op.row_id
        names = sorted(changed | ({"deleted"} if op.op == "delete" else set()))
        existing.batch_changes.append((version, self.node, frozenset(names)))
        self.changes.append(dict(program_id=self.program.id, seq=seq, table_name=op.table, row_id=op.row_id,
                                 version=version, deleted=deleted, data=image, fields=names, op_id=op.op_id,
                                 actor=actor, node=self.node, hlc=op.hlc, at=self.now))
        return self._finish(op, status, version=version, seq=seq)

    def _finish(self, op: PushOp, status: str, *, reason: str | None = None, row: RowState | None = None,
                version: int | None = None, seq: int | None = None) -> OpResult:
        self.applied.append(dict(op_id=op.op_id, program_id=self.program.id, table_name=op.table[:64],
                                 row_id=op.row_id, status=status, version=version, seq=seq, reason=reason,
                                 actor=self.caller.username, at=self.now))
        current = self.row(op.table, op.row_id) if status in ("conflict", "rejected") else None
        return OpResult(op_id=op.op_id, status=status, version=version, seq=seq, reason=reason,  # type: ignore[arg-type]
                        server_row=current.server_row() if current is not None else None)

    # ---------------------------------------------------------------------------------- write out
    def flush(self) -> None:
        new = [r for r in self.rows.values() if r.new]
        dirty = [r for r in self.rows.values() if r.dirty]
        texts: dict[int, str] = {}  # a row's image goes into `row` and `change`: encoded once
        if new:
            _bulk_insert(self.session, sm.Row, [self._row_dict(r) for r in new], texts)
        if dirty:
            self.session.execute(update(sm.Row), [self._row_dict(r) for r in dirty])
        if self.changes:
            _bulk_insert(self.session, sm.Change, self.changes, texts)
        if self.applied:
            _bulk_insert(self.session, sm.AppliedOp, self.applied, texts)

    @staticmethod
    def _row_dict(r: RowState) -> dict[str, Any]:
        return dict(table_name=r.table, row_id=r.row_id, program_id=r.program_id, version=r.version,
                    deleted=r.deleted, natural_key=r.natural_key, data=r.data, seq=r.seq, actor=r.actor, at=r.at)


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits inside a JSON column
        return json.dumps(value)


def _bulk_insert(session: Session, model: Any, rows: list[dict[str, Any]],
                 texts: dict[int, str] | None = None) -> None:
    """Insert many rows: COPY on PostgreSQL (several times faster than INSERTs), else executemany."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or len(rows) < 50:
        session.execute(insert(model), rows)
        return
    table = model.__table__
    cols = [c.name for c in table.columns]
    json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
    raw = conn.connection.driver_connection
    assert raw is not None
    cache: dict[int, str] = {} if texts is None else texts  # by id(): the values outlive the call

    def as_json(value: Any) -> str:
        key = id(value)
        text = cache.get(key)
        if text is None:
            text = cache[key] = _json_text(value)
        return text

    getters = [(c, c in json_cols) for c in cols]
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN') as copy:
        for r in rows:
            copy.write_row([as_json(r[c]) if is_json else r.get(c) for c, is_json in getters])


def stored_result(session: Session, program_id: str, stored: sm.AppliedOp) -> OpResult:
    row = None
    if stored.status in ("conflict", "rejected"):
        r = session.get(sm.Row, (stored.table_name, stored.row_id))
        if r is not None and r.program_id == program_id:
            row = ServerRow(table=r.table_name, row_id=r.row_id, version=r.version, deleted=r.deleted,
                            data=r.data, actor=r.actor, at=r.at)
    return OpResult(op_id=stored.op_id, status=stored.status, version=stored.version,  # type: ignore[arg-type]
                    seq=stored.seq, reason=stored.reason, server_row=row)


def push(session: Session, program: sm.Program, caller: Caller, node: str, ops: Sequence[PushOp],
         now: dt.datetime) -> list[OpResult]:
    """Apply a batch (the caller holds the program's lock and commits)."""
    ids = list(dict.fromkeys(op.op_id for op in ops))
    seen: dict[str, sm.AppliedOp] = {}
    for part in _chunks(ids):
        for a in session.scalars(select(sm.AppliedOp).where(_one_of(session, sm.AppliedOp.op_id, part))):
            seen[a.op_id] = a
    fresh = [op for op in ops if op.op_id not in seen]
    first_seq = program.next_seq

    def run_all(defer: bool, refused: dict[str, str] | None = None) -> tuple[PushBatch, list[OpResult]]:
        program.next_seq = first_seq
        batch = PushBatch(session, program, caller, node, now)
        batch.defer_checks = defer
        batch.refused = dict(refused or {})
        batch.prefetch(fresh)
        results: list[OpResult] = []
        done: dict[str, OpResult] = {}
        for op in ops:
            if op.op_id in seen:
                stored = seen[op.op_id]
                if stored.program_id != program.id:
                    results.append(OpResult(op_id=op.op_id, status="rejected",
                                            reason="That op id was already used in another program."))
                else:
                    results.append(stored_result(session, program.id, stored))
            elif op.op_id in done:  # the same op twice in one batch
                results.append(done[op.op_id])
            else:
                done[op.op_id] = batch.run(op)
                results.append(done[op.op_id])
        return batch, results

    # Optimistic: check core's constraints for all accepted rows at once; in the rare batch where
    # one fails, run it again with the per-op check (the same outcome, one op at a time).
    batch, results = run_all(defer=True)
    if batch.deferred and not all_fit(batch.deferred):
        batch, results = run_all(defer=False)
    # The duty-hour hard rules (core's engine on the server's copy): ops that would add a critical
    # violation are refused with the rule's sentence, and the batch runs again without them.
    refused: dict[str, str] = {}
    for _round in range(3):
        final = {(r.table, r.row_id): r.data for r in batch.rows.values() if r.new or r.dirty}
        more = duty_refusals(session, program.id, batch.changes, batch.before, final)
        more = {k: v for k, v in more.items() if k not in refused}
        if not more:
            break
        refused.update(more)
        batch, results = run_all(defer=False, refused=refused)
    batch.flush()
    return results


_PAGE_SQL = text(
    "SELECT seq, json_build_object('seq', seq, 'table', table_name, 'row_id', row_id, 'version', version, "
    "'deleted', deleted, 'data', data, 'fields', fields, 'actor', actor, 'node', node, 'hlc', hlc, "
    "'at', at)::text FROM change WHERE program_id = :program AND seq > :after ORDER BY seq LIMIT :n")


def changes_page_json(session: Session, program_id: str, after: int, limit: int) -> bytes | None:
    """The page of `ChangesPage` as JSON text, built by PostgreSQL (None on another database).

    The same document the response model would give (the row images are stored JSON; PostgreSQL
    writes each change as one JSON object), without building and serialising a pydantic model per
    change: the feed is the hot path of a new client's first sync.
    """
    if session.connection().dialect.name != "postgresql":
        return None
    rows = session.execute(_PAGE_SQL, {"program": program_id, "after": after, "n": limit + 1}).all()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1][0] if rows else after
    body = ",".join(r[1] for r in rows)
    return (f'{{"changes":[{body}],"next_cursor":{int(cursor)},"has_more":{"true" if more else "false"}}}'
            .encode())


def changes_after(session: Session, program_id: str, after: int, limit: int) -> tuple[list[ChangeOut], bool]:
    q = (select(sm.Change).where(sm.Change.program_id == program_id, sm.Change.seq > after)
         .order_by(sm.Change.seq).limit(limit + 1))
    rows = list(session.scalars(q))
    more = len(rows) > limit
    out = [ChangeOut(seq=c.seq, table=c.table_name, row_id=c.row_id, version=c.version, deleted=c.deleted,
                     data=c.data, fields=list(c.fields), actor=c.actor, node=c.node, hlc=c.hlc, at=c.at)
           for c in rows[:limit]]
    return out, more

