"""Client side of a new client's first pull, without a server: apply a 100,000-assignment feed
(pages of 5,000, as `SyncClient.pull` does) into a fresh SQLite file, with the one-pass path
(JSON values straight into the upserts' parameters) and with the general path (decode each row
into a dict, then the bind processors), alternately in one process; prints CPU and wall time of each
and the ratio.

    .venv/bin/python tests/perf/bench_sync_apply.py [--feed 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

import core.sync.client as client_mod  # noqa: E402
from core.services import catalog, people, programs  # noqa: E402
from core.services.base import ServiceContext  # noqa: E402
from core.store import models as m  # noqa: E402
from core.store.db import open_database, session_factory  # noqa: E402
from core.sync.client import PAGE_SIZE, SyncClient  # noqa: E402
from core.sync.rows import TABLES, encode_row  # noqa: E402


def feed(tmp: Path, n: int) -> tuple[str, list[dict]]:
    ctx = ServiceContext(open_database(tmp / "src.sqlite").engine)
    prog = programs.create_program(ctx, "Bench FM", start_year=2026).value
    act = catalog.create_activity(ctx, prog.id, code="C", name="Clinic", category="clinic").value.id
    res = [people.create_person(ctx, prog.id, f"Dr {i}", "resident", academic_year=2026, pgy=1).value.id
           for i in range(-(-n // 730))]
    changes = []
    with session_factory(ctx.engine)() as s:
        for table in (t for t in m.Base.metadata.sorted_tables if t.name in TABLES):
            for row in s.execute(select(table)).mappings():
                changes.append({"table": table.name, "row_id": row["id"], "data": encode_row(dict(row)), "hlc": ""})
    days = [dt.date(2026, 7, 1) + dt.timedelta(days=i) for i in range(365)]
    cells = ((p, d, sl) for p in res for d in days for sl in (0, 1))
    for _n, (p, d, sl) in zip(range(n), cells):
        rid = str(uuid.uuid4())
        changes.append({"table": "assignment", "row_id": rid, "hlc": "", "data": encode_row({
            "id": rid, "version": 1, "deleted": False, "person_id": p, "date": d, "slot": sl, "activity_id": act,
            "rotation_id": None, "source": "generated", "locked": False, "note": None})})
    return prog.id, changes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feed", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    one_pass = client_mod._wire_runs
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        pid, changes = feed(tmp, args.feed)
        pages = [changes[i:i + PAGE_SIZE] for i in range(0, len(changes), PAGE_SIZE)]
        cpu: dict[str, list[float]] = {"general": [], "one-pass": []}
        for rnd in range(args.rounds):
            for mode in ("general", "one-pass"):
                client_mod._wire_runs = one_pass if mode == "one-pass" else (lambda conn, page: None)  # type: ignore[assignment]
                engine = open_database(tmp / f"{mode}{rnd}.sqlite").engine
                sc = SyncClient(engine, None, pid)  # type: ignore[arg-type]
                c0, t0 = time.process_time(), time.perf_counter()
                cursor = 0
                for page in pages:
                    assert sc.apply_page(page, cursor + len(page), expect_cursor=cursor)
                    cursor += len(page)
                c, w = time.process_time() - c0, time.perf_counter() - t0
                engine.dispose()
                cpu[mode].append(c)
                print(f"round {rnd + 1} {mode}: applied {len(changes)} changes, CPU {c:.2f} s, wall {w:.2f} s",
                      flush=True)
        client_mod._wire_runs = one_pass
        g, o = min(cpu["general"]), min(cpu["one-pass"])
        print(f"client CPU to apply {len(changes)} changes (best of {args.rounds}): general {g:.2f} s, "
              f"one-pass {o:.2f} s, ratio {o / g:.2f} (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
