"""`rsched demo`: write the demo program into a new (or empty) program database."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any

from core.commands import add_db_argument, db_path

EXIT_OK, EXIT_ERROR = 0, 2


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="create the demo program in a new database",
        description="Writes a complete demo program (a full academic year with calls, leave, "
        "requirements and a few deliberate rule violations; see docs/demo.md) into FILE. FILE must "
        "not exist yet, or be empty, or be a program database holding no program.",
    )
    add_db_argument(p, help="the database file to create")
    p.add_argument("--size", choices=("typical", "large"), default="typical",
                   help="typical: 18 residents + 13 faculty; large: 150 residents + 60 faculty")
    p.add_argument("--year", type=int, default=2026, metavar="YYYY", help="the academic year (default 2026)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="the random seed (default 0)")
    p.add_argument("--name", default=None, help="the program's name")
    p.set_defaults(func=cmd_demo)


def _holds_data(path: Path) -> bool:
    """True when `path` is an SQLite file that already holds a program (or any row of one)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "program" not in tables:
            return bool(tables - {"app_meta", "alembic_version"})
        return bool(con.execute("SELECT EXISTS (SELECT 1 FROM program)").fetchone()[0] == 1)
    finally:
        con.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import create_demo
    from core.store.db import is_sqlite_file, open_database

    path = db_path(args)
    if path.exists() and path.is_file() and path.stat().st_size > 0:
        if is_sqlite_file(path) and _holds_data(path):
            print(f"{path} already holds a program; the demo only goes into a new or empty database, "
                  "so nothing was changed.", file=sys.stderr)
            return EXIT_ERROR
    opened = open_database(path)  # refuses folders, non-databases and newer schemas with a sentence
    try:
        summary = create_demo(opened.engine, size=args.size, year=args.year, seed=args.seed, name=args.name)
    finally:
        opened.engine.dispose()
    print(f"Created {summary.program_name} (AY {summary.year}, {summary.size}, seed {summary.seed}) in "
          f"{path}: {summary.residents} residents, {summary.faculty} faculty, {summary.assignments} "
          f"assignments, {summary.calls} calls, {len(summary.deliberate)} deliberate violations "
          "(docs/demo.md).")
    return EXIT_OK
