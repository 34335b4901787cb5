"""The sync client (SYNC.md "Client side" and "Protocol"). No Qt: the GUI runs it in a worker.

`SyncClient.sync()` pushes the outbox in batches, then pulls the change feed page by page.

- Push: the outbox's pending ops, oldest first, `push_batch` at a time. The answer is recorded in one
  SQLite transaction: applied/merged ops become `sent`; a conflict or a rejection becomes a
  `sync_conflict` record (both versions kept) and the local row takes the server's values (or goes
  away, when the server never had it), keeping any later pending edits on top. A lost answer is
  harmless: the ops stay pending and the resend gets the stored outcome.
- Pull: each page of changes and the cursor are written in one SQLite transaction, so a crash
  leaves either the whole page or none of it. A row with pending local ops keeps its local values
  for those fields (they are rebased on the server's row; the server decides at push time whether
  they merge or conflict).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from sqlalchemy import Date, DateTime, Engine, Table, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.services.base import HybridClock
from core.store import models as m
from core.store.db import session_factory
from core.sync.auth import Credentials, SyncError
from core.sync.rows import TABLES, RowError, column_decoders, decode_fields, decode_row, natural_key

PUSH_BATCH = 1000
PAGE_SIZE = 5000
PULL_CACHE_KIB = 65536
"""SQLite page cache (KiB) of a connection that applies pulled pages: a page's rows land at random
places of the id index (UUIDs), and with the default 2 MB cache most of those B-tree pages are read
again for every page; 64 MB holds the tables of a large program (CPU of a 100,000-change first pull:
5.3 s -> 3.3 s in SQLite). Only what is used is allocated."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class SyncReport:
    pushed: int
    applied: int
    conflicts: int
    rejected: int
    pulled: int
    cursor: int
    at: dt.datetime


def get_state(session: Session, key: str) -> str | None:
    row = session.get(m.SyncState, key)
    return row.value if row is not None else None


def set_state(session: Session, key: str, value: str) -> None:
    row = session.get(m.SyncState, key)
    if row is None:
        session.add(m.SyncState(key=key, value=value))
    else:
        row.value = value


def pending_count(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).select_from(m.OutboxRecord)
                            .where(m.OutboxRecord.status == "pending")) or 0)


def _pending_overlay(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per row with pending local ops: the fields those ops set (later ops win), JSON values."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if session.scalar(select(m.OutboxRecord.seq).where(m.OutboxRecord.status == "pending").limit(1)) is None:
        return out  # nothing pending (e.g. a new client's first pull): no row to look up
    ids = sorted({rid for _t, rid in keys})
    for i in range(0, len(ids), 900):
        q = (select(m.OutboxRecord.table_name, m.OutboxRecord.row_id, m.OutboxRecord.op, m.OutboxRecord.fields)
             .where(m.OutboxRecord.status == "pending", m.OutboxRecord.row_id.in_(ids[i : i + 900]))
             .order_by(m.OutboxRecord.seq))
        for table, row_id, op, fields in session.execute(q):
            overlay = out.setdefault((table, row_id), {})
            overlay.update({k: v for k, v in (fields or {}).items() if k not in ("id", "version")})
            if op == "delete":
                overlay["deleted"] = True
    return out


Plan = tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]
_UPSERTS: dict[tuple[str, str], Plan | None] = {}


def _upsert_plan(conn: Any, table: Table) -> Plan | None:
    """The INSERT ... ON CONFLICT(id) DO UPDATE text for `table` and, per placeholder, its column and
    SQLAlchemy's own bind processor (so values are stored exactly as the ORM stores them); built once
    per table. None when the dialect does not take positional `?` parameters."""
    dialect = conn.dialect
    key = (table.name, dialect.name)
    if key in _UPSERTS:
        return _UPSERTS[key]
    stmt = sqlite_insert(table)
    cols = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "id"}
    compiled = stmt.on_conflict_do_update(index_elements=[table.c.id], set_=cols).compile(
        dialect=dialect, column_keys=[c.name for c in table.columns])
    names = list(compiled.positiontup or [])
    plan: Plan | None = None
    if dialect.paramstyle == "qmark" and len(names) == len(table.columns):
        plan = (str(compiled), [(n, table.c[n].type.dialect_impl(dialect).bind_processor(dialect)) for n in names])
    _UPSERTS[key] = plan
    return plan


def _upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT(id) DO UPDATE for typed rows, as one executemany."""
    conn = session.connection()
    plan = _upsert_plan(conn, table)
    if plan is None:
        stmt = sqlite_insert(table)
        cols = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != "id"}
        session.execute(stmt.on_conflict_do_update(index_elements=[table.c.id], set_=cols), list(rows))
        return
    sql, procs = plan
    params = [tuple(r[n] if p is None else (None if (v := r[n]) is None else p(v)) for n, p in procs) for r in rows]
    conn.exec_driver_sql(sql, params)


_SAMPLE_DAY = dt.date(2026, 7, 1)
_WIRE: dict[tuple[str, str], tuple[str, int, list[tuple[str, Callable[[Any], Any]]]] | None] = {}


def _wire_column(decode: Callable[[Any], Any], bind: Callable[[Any], Any] | None, is_date: bool) -> Callable[[Any], Any]:
    """One column's JSON value -> driver value: `decode` (validates, RowError if bad) then `bind`."""
    if bind is None:
        return decode

    def general(v: Any) -> Any:
        x = decode(v)
        return None if x is None else bind(x)

    if is_date and bind(_SAMPLE_DAY) == _SAMPLE_DAY.isoformat():
        # SQLite stores a date as its ISO text: a canonical ISO date is validated and kept as it came.
        def date(v: Any) -> Any:
            if v.__class__ is str and len(v) == 10 and v[4] == "-" and v[7] == "-" and v.isascii():
                decode(v)
                return v
            return general(v)

        return date
    return general


def _wire_plan(conn: Any, table_name: str) -> tuple[str, int, list[tuple[str, Callable[[Any], Any]]]] | None:
    key = (table_name, conn.dialect.name)
    if key in _WIRE:
        return _WIRE[key]
    info = TABLES.get(table_name)
    plan = _upsert_plan(conn, info.table) if info is not None else None
    wire = None
    if info is not None and plan is not None:
        decoders = column_decoders(table_name)
        t = info.table
        wire = (plan[0], len(plan[1]), [
            (n, _wire_column(decoders[n], p, isinstance(t.c[n].type, Date) and not isinstance(t.c[n].type, DateTime)))
            for n, p in plan[1]])
    _WIRE[key] = wire
    return wire


def _wire_runs(conn: Any, changes: Sequence[dict[str, Any]]) -> list[tuple[str, list[tuple[Any, ...]]]] | None:
    """A page's changes as (statement, parameter rows) runs, decoded straight from the JSON values in
    one pass (a run ends where the table changes or a row repeats the previous row's id). None when any
    row is not the plain case (unknown table, a missing or extra field, a value that fails to decode):
    the caller then takes the general path, which names the problem."""
    runs: list[tuple[str, list[tuple[Any, ...]]]] = []
    params: list[tuple[Any, ...]] = []
    run_table = None
    last_id = None
    sql = ""
    ncols = 0
    cols: list[tuple[str, Callable[[Any], Any]]] = []
    try:
        for c in changes:
            table = c["table"]
            data = c["data"]
            row_id = data["id"]
            if table != run_table or row_id == last_id:
                if params:
                    runs.append((sql, params))
                plan = _wire_plan(conn, table)
                if plan is None:
                    return None
                sql, ncols, cols = plan
                params, run_table = [], table
            if len(data) != ncols:
                return None
            params.append(tuple([f(data[n]) for n, f in cols]))
            last_id = row_id
    except (KeyError, TypeError, RowError):
        return None
    if params:
        runs.append((sql, params))
    return runs


class SyncClient:
    """Synchronises one program database with one program on a server."""

    def __init__(self, engine: Engine, credentials: Credentials, program_id: str, *,
                 push_batch: int = PUSH_BATCH, page_size: int = PAGE_SIZE,
                 clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.engine = engine
        self.credentials = credentials
        self.program_id = program_id
        self.push_batch = push_batch
        self.page_size = page_size
        self.clock = clock
        self.sessions = session_factory(engine)

    # --------------------------------------------------------------------------------- state
    def node(self) -> str:
        with self.sessions() as s:
            value = get_state(s, "node")
            if value is None:
                value = uuid.uuid4().hex
                set_state(s, "node", value)
                s.commit()
            return value

    def cursor(self) -> int:
        with self.sessions() as s:
            return int(get_state(s, f"cursor:{self.program_id}") or 0)

    def last_sync(self) -> dt.datetime | None:
        with self.sessions() as s:
            v = get_state(s, "last_sync")
            return dt.datetime.fromisoformat(v) if v else None

    # ---------------------------------------------------------------------------------- sync
    def sync(self) -> SyncReport:
        """Push everything pending, then pull everything new."""
        pushed, applied, conflicts, rejected = self.push()
        pulled = self.pull()
        now = self.clock()
        with self.sessions() as s:
            set_state(s, "last_sync", now.isoformat())
            set_state(s, "last_server", self.credentials.server_url)
            s.commit()
        return SyncReport(pushed, applied, conflicts, rejected, pulled, self.cursor(), now)

    # ---------------------------------------------------------------------------------- push
    def push(self) -> tuple[int, int, int, int]:
        node = self.node()
        pushed = applied = conflicts = rejected = 0
        while True:
            with self.sessions() as s:
                o = m.OutboxRecord
                ops = s.execute(select(o.seq, o.op_id, o.table_name, o.row_id, o.op, o.base_version, o.fields,
                                       o.previous, o.hlc).where(o.status == "pending")
                                .order_by(o.seq).limit(self.push_batch)).all()
            if not ops:
                return pushed, applied, conflicts, rejected
            body = {"node": node, "ops": [
                {"op_id": o.op_id, "table": o.table_name, "row_id": o.row_id, "op": o.op,
                 "base_version": o.base_version, "fields": o.fields, "hlc": o.hlc} for o in ops]}
            r = self.credentials.request("POST", f"/v1/programs/{self.program_id}/push", json=body)
            results = r.json()["results"]
            counts = self._record_push(ops, results)
            pushed += len(ops)
            applied += counts["applied"]
            conflicts += counts["conflict"]
            rejected += counts["rejected"]

    def _record_push(self, ops: Sequence[Any], results: Sequence[dict[str, Any]]) -> dict[str, int]:
        by_id = {o.op_id: o for o in ops}
        counts = {"applied": 0, "conflict": 0, "rejected": 0}
        with self.sessions() as s, s.begin():
            refused: dict[tuple[str, str], dict[str, Any] | None] = {}
            sent: list[int] = []
            for res in results:
                op = by_id.get(res["op_id"])
                if op is None:
                    continue
                status = res["status"]
                if status in ("applied", "merged"):
                    sent.append(op.seq)
                    counts["applied"] += 1
                    continue
                counts[status] += 1
                s.execute(update(m.OutboxRecord).where(m.OutboxRecord.seq == op.seq).values(status=status))
                row = res.get("server_row")
                s.add(m.SyncConflict(
                    op_id=op.op_id, kind=status, table_name=op.table_name, row_id=op.row_id, op=op.op,
                    local_fields=op.fields, local_previous=op.previous, local_hlc=op.hlc,
                    server_row=row["data"] if row else None, server_version=row["version"] if row else None,
                    server_actor=row["actor"] if row else None,
                    server_at=dt.datetime.fromisoformat(row["at"].replace("Z", "+00:00")) if row else None,
                    reason=res.get("reason") or "", created_at=self.clock(),
                ))
                refused[(op.table_name, op.row_id)] = row["data"] if row else None
            for i in range(0, len(sent), 900):
                s.execute(update(m.OutboxRecord).where(m.OutboxRecord.seq.in_(sent[i : i + 900]))
                          .values(status="sent"))
            if refused:
                s.flush()
                self._reset_rows(s, refused)
        return counts

    def _reset_rows(self, s: Session, rows: dict[tuple[str, str], dict[str, Any] | None]) -> None:
        """Give refused rows the server's values (keeping later pending edits), or remove them."""
        overlay = _pending_overlay(s, rows.keys())
        gone: list[tuple[str, str]] = []
        for key, data in rows.items():
            table, row_id = key
            if data is None:
                if key not in overlay:
                    gone.append(key)
                continue
            values = decode_row(table, data)
            if key in overlay:
                values.update(decode_fields(table, overlay[key]))
            _upsert(s, TABLES[table].table, [values])
        for table, row_id in reversed(gone):
            t = TABLES[table].table
            try:
                with s.begin_nested():
                    s.execute(delete(t).where(t.c.id == row_id))
            except IntegrityError:
                # Something local still refers to it: keep it as a tombstone instead.
                s.execute(update(t).where(t.c.id == row_id).values(deleted=True))

    # ---------------------------------------------------------------------------------- pull
    def _page(self, after: int) -> dict[str, Any]:
        r = self.credentials.request("GET", f"/v1/programs/{self.program_id}/changes",
                                     params={"after": after, "limit": self.page_size})
        page: dict[str, Any] = orjson.loads(r.content)
        return page

    def pull(self) -> int:
        """Pull every new change, page by page. The next page is fetched (one request, on a helper
        thread) while this one is written, so the server's time overlaps the client's."""
        total = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pull") as fetcher:
            cursor = self.cursor()
            ahead = fetcher.submit(self._page, cursor)
            while True:
                page = ahead.result()
                changes = page["changes"]
                next_cursor = int(page["next_cursor"])
                more = bool(page["has_more"]) and bool(changes)
                if more:
                    ahead = fetcher.submit(self._page, next_cursor)
                if changes and not self.apply_page(changes, next_cursor, expect_cursor=cursor):
                    # Another sync moved the cursor meanwhile: go on from where it is now.
                    if more:
                        ahead.result()
                    cursor = self.cursor()
                    ahead = fetcher.submit(self._page, cursor)
                    continue
                total += len(changes)
                if not more:
                    return total
                cursor = next_cursor

    def apply_page(self, changes: Sequence[dict[str, Any]], next_cursor: int, *, expect_cursor: int) -> bool:
        """Write one page of changes and the new cursor in one transaction; False (nothing
        written) when the cursor is no longer `expect_cursor`."""
        key = f"cursor:{self.program_id}"
        with self.sessions() as s, s.begin():
            current = int(get_state(s, key) or 0)
            if current != expect_cursor:
                return False  # another sync applied this page meanwhile
            conn = s.connection()
            if conn.dialect.name == "sqlite":
                cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
                if -cache < PULL_CACHE_KIB:
                    conn.exec_driver_sql(f"PRAGMA cache_size = -{PULL_CACHE_KIB}")
            overlay = _pending_overlay(s, ((c["table"], c["row_id"]) for c in changes))
            # Nothing pending on these rows (always so for a new client): the page goes from its JSON
            # values straight into the statements' parameters.
            try:
                with s.begin_nested():
                    self._write_page(s, changes, overlay)
            except IntegrityError:
                for table, values in self._decode_page(changes, overlay):
                    self._write_one(s, table, values)
            newest = max((c.get("hlc") or "" for c in changes), default="")
            if newest:
                clock = HybridClock("pull", lambda: 0)
                stored = get_state(s, "hlc")
                for stamp in (stored, newest):
                    if stamp and stamp.count("-") >= 2:
                        clock.observe(stamp)
                set_state(s, "hlc", f"{clock.physical:015d}-{clock.counter:05d}-server")
            set_state(s, key, str(next_cursor))
        return True

    @classmethod
    def _write_page(cls, s: Session, changes: Sequence[dict[str, Any]],
                    overlay: dict[tuple[str, str], dict[str, Any]]) -> None:
        """Upsert a page's rows (IntegrityError when one collides with a local row)."""
        conn = s.connection()
        runs = None if overlay else _wire_runs(conn, changes)
        if runs is None:
            cls._write_runs(s, cls._decode_page(changes, overlay))
            return
        for sql, params in runs:
            conn.exec_driver_sql(sql, params)

    @staticmethod
    def _decode_page(changes: Sequence[dict[str, Any]],
                     overlay: dict[tuple[str, str], dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        decoded: list[tuple[str, dict[str, Any]]] = []
        for c in changes:
            try:
                values = decode_row(c["table"], c["data"])
                k = (c["table"], c["row_id"])
                if k in overlay:
                    values.update(decode_fields(c["table"], overlay[k]))
            except RowError as exc:
                raise SyncError(f"The server sent a row this program cannot store ({exc}); "
                                "update the program.") from exc
            decoded.append((c["table"], values))
        return decoded

    @staticmethod
    def _write_runs(s: Session, decoded: Sequence[tuple[str, dict[str, Any]]]) -> None:
        run: list[dict[str, Any]] = []
        run_table = ""
        for table, values in decoded:
            if table != run_table or any(v["id"] == values["id"] for v in run[-1:]):
                if run:
                    _upsert(s, TABLES[run_table].table, run)
                run, run_table = [], table
            run.append(values)
        if run:
            _upsert(s, TABLES[run_table].table, run)

    def _write_one(self, s: Session, table: str, values: dict[str, Any]) -> None:
        """Write one server row; a local row holding the same natural key with unsent edits loses it."""
        try:
            with s.begin_nested():
                _upsert(s, TABLES[table].table, [values])
            return
        except IntegrityError:
            pass
        info = TABLES[table]
        nk = natural_key(table, values)
        t = info.table
        holder = None
        if nk is not None:
            cond = [t.c[c] == values[c] for c in info.natural_key]
            holder = s.execute(select(t.c.id).where(*cond, t.c.id != values["id"])).scalar()
        pending = (list(s.scalars(select(m.OutboxRecord).where(m.OutboxRecord.row_id == holder,
                                                                m.OutboxRecord.status == "pending")))
                   if holder else [])
        if holder is None or not pending or any(o.op != "insert" for o in pending[:1]):
            raise SyncError(f"This database disagrees with the server about a {table} row; run `rsched check` "
                            "and ask the coordinator.")
        for op in pending:
            op.status = "rejected"
            s.add(m.SyncConflict(
                op_id=op.op_id, kind="rejected", table_name=op.table_name, row_id=op.row_id, op=op.op,
                local_fields=op.fields, local_previous=op.previous, local_hlc=op.hlc, server_row=None,
                reason="Another device filled this first (one activity per person per slot); "
                       "your entry was not sent.",
                created_at=self.clock()))
        s.flush()
        s.execute(delete(t).where(t.c.id == holder))
        _upsert(s, t, [values])


def http_client(server_url: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The HTTP client for a server URL (TLS verification on)."""
    return httpx.Client(base_url=server_url.rstrip("/"), timeout=timeout, verify=True, transport=transport)
