"""Sync benchmarks (not collected by pytest). Figures go into docs/performance.md, "## Sync".

    RSCHED_TEST_PG_URL=postgresql://postgres@127.0.0.1:54329/postgres \
        .venv/bin/python tests/perf/bench_sync.py [--ops 10000] [--feed 100000]

1. push/pull: one client pushes `--ops` assignment edits (and the program they belong to) to a real
   server (uvicorn in a child process, PostgreSQL, loopback); a second, new client pulls them.
2. feed: the server's feed holds `--feed` assignment changes (written straight into PostgreSQL,
   as if many pushes had happened); a new client pulls the whole feed.
Each phase creates and drops its own database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from core.services import catalog, people, programs, schedule  # noqa: E402
from core.services.base import ServiceContext  # noqa: E402
from core.services.schedule import SlotEdit  # noqa: E402
from core.store.db import open_database  # noqa: E402
from core.sync.auth import Credentials, CredentialStore  # noqa: E402
from core.sync.client import SyncClient, pending_count  # noqa: E402
from core.sync.rows import encode_row, natural_key  # noqa: E402
from server import models as sm  # noqa: E402
from server.app import add_account  # noqa: E402
from server.db import make_engine, session_factory  # noqa: E402

PASSWORD = "benchmark password"


def _load() -> str:
    """The 1-minute load average (the figures mean little on a busy machine)."""
    return f"{os.getloadavg()[0]:.1f}"


@contextmanager
def database(admin_url: str):
    name = f"rsched_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_server(db_url: str):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    add_account(db_url, "coord", PASSWORD, "admin")
    proc = subprocess.Popen([sys.executable, "-m", "server", "serve", "--db-url", db_url, "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def client(url: str, path: Path, program_id: str) -> tuple[SyncClient, httpx.Client]:
    engine = open_database(path).engine
    http = httpx.Client(base_url=url, timeout=120)
    creds = Credentials(http, url, "coord", CredentialStore(use_keyring=False))
    creds.sign_in(PASSWORD)
    return SyncClient(engine, creds, program_id), http


def make_program(ctx: ServiceContext, residents: int) -> tuple[str, list[str], str]:
    prog = programs.create_program(ctx, "Bench", start_year=2026).value
    act = catalog.create_activity(ctx, prog.id, code="C", name="Clinic", category="clinic").value
    ids = [people.create_person(ctx, prog.id, f"R{i}", "resident", academic_year=2026, pgy=1 + i % 3).value.id
           for i in range(residents)]
    return prog.id, ids, act.id


def bench_push_pull(admin_url: str, ops: int, tmp: Path) -> None:
    with database(admin_url) as db_url, running_server(db_url) as url:
        a_path = tmp / "a.sqlite"
        ctx = ServiceContext(open_database(a_path).engine, clock=lambda: dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        per_person = 2 * 365
        pid, residents, act = make_program(ctx, -(-ops // per_person))
        days = [dt.date(2026, 7, 1) + dt.timedelta(days=i) for i in range(365)]
        edits = [SlotEdit(p, d, s, act) for p in residents for d in days for s in (0, 1)][:ops]
        for i in range(0, len(edits), 2000):
            schedule.assign_slots(ctx, edits[i:i + 2000], reason="bench")
        total = pending_count(ctx.engine)
        a, http_a = client(url, a_path, pid)
        t0 = time.perf_counter()
        pushed = a.push()
        t_push = time.perf_counter() - t0
        b, http_b = client(url, tmp / "b.sqlite", pid)
        t0 = time.perf_counter()
        pulled = b.pull()
        t_pull = time.perf_counter() - t0
        print(f"push/pull: {total} outbox ops ({ops} assignment edits + the program's rows): "
              f"push {t_push:.2f} s ({pushed[1]} applied), pull by a new client {t_pull:.2f} s ({pulled} changes), "
              f"together {t_push + t_pull:.2f} s (target < 10 s; load average {_load()})")
        http_a.close()
        http_b.close()


def bench_feed(admin_url: str, feed: int, tmp: Path) -> None:
    with database(admin_url) as db_url, running_server(db_url) as url:
        a_path = tmp / "feed_a.sqlite"
        ctx = ServiceContext(open_database(a_path).engine, clock=lambda: dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
        pid, residents, act = make_program(ctx, -(-feed // 730))
        a, http_a = client(url, a_path, pid)
        a.push()
        http_a.close()
        # Write `feed` assignment changes straight into the server's tables.
        engine = make_engine(db_url)
        now = dt.datetime.now(dt.UTC)
        with session_factory(engine)() as s:
            program = s.execute(select(sm.Program).where(sm.Program.id == pid).with_for_update()).scalar_one()
            seq = program.next_seq
            rows, changes = [], []
            days = [dt.date(2026, 7, 1) + dt.timedelta(days=i) for i in range(365)]
            cells = ((p, d, sl) for p in residents for d in days for sl in (0, 1))
            for _n, (p, d, sl) in zip(range(feed), cells):
                rid = str(uuid.uuid4())
                data = encode_row({"id": rid, "version": 1, "deleted": False, "person_id": p, "date": d, "slot": sl,
                                   "activity_id": act, "rotation_id": None, "source": "generated", "locked": False,
                                   "note": None})
                rows.append(dict(table_name="assignment", row_id=rid, program_id=pid, version=1, deleted=False,
                                 natural_key=natural_key("assignment", data), data=data, seq=seq, actor="coord",
                                 at=now))
                changes.append(dict(program_id=pid, seq=seq, table_name="assignment", row_id=rid, version=1,
                                    deleted=False, data=data, fields=sorted(data), op_id=str(uuid.uuid4()),
                                    actor="coord", node="bench", hlc="", at=now))
                seq += 1
            for i in range(0, len(rows), 5000):
                s.execute(insert(sm.Row), rows[i:i + 5000])
                s.execute(insert(sm.Change), changes[i:i + 5000])
            s.execute(update(sm.Program).where(sm.Program.id == pid).values(next_seq=seq))
            s.commit()
        engine.dispose()
        b, http_b = client(url, tmp / "feed_b.sqlite", pid)
        t0 = time.perf_counter()
        pulled = b.pull()
        t_pull = time.perf_counter() - t0
        print(f"feed: a new client pulled {pulled} changes ({feed} assignments + the program's rows) "
              f"in {t_pull:.2f} s ({pulled / t_pull:,.0f} changes/s, pages of {b.page_size}; target < 20 s; "
              f"load average {_load()})")
        http_b.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=10_000)
    ap.add_argument("--feed", type=int, default=100_000)
    ap.add_argument("--only", choices=["push-pull", "feed"])
    args = ap.parse_args()
    admin_url = os.environ.get("RSCHED_TEST_PG_URL", "postgresql://postgres@127.0.0.1:54329/postgres")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "push-pull"):
            bench_push_pull(admin_url, args.ops, Path(tmp))
        if args.only in (None, "feed"):
            bench_feed(admin_url, args.feed, Path(tmp))


if __name__ == "__main__":
    main()
