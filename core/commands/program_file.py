"""Program-file sub-commands: `export-json` and `import-json`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from core.commands import add_db_argument, db_path, existing_database
from core.errors import DatabaseError, SchedulerError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("export-json", help="write the whole program as one JSON program file")
    add_db_argument(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write ('-' = standard output)")
    p.add_argument("--program", metavar="ID", help="the program to export when the database holds several")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser(
        "import-json",
        help="read a JSON program file into a new, empty database",
        description="Validates the whole file first and writes nothing when anything is wrong, naming "
        "the JSON path of each bad field. The database must not hold a program yet.",
    )
    p.add_argument("input", metavar="IN", help="the program file ('-' = standard input)")
    add_db_argument(p)
    p.set_defaults(func=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    from core.io.program_file import export_program
    from core.store.db import open_database, session_factory

    path = existing_database(db_path(args))
    out = str(args.output)
    target = None if out == "-" else Path(out).expanduser()
    if target is not None:
        if target.is_dir():
            raise SchedulerError(f"{target} is a folder; name the file to write.")
        if not target.parent.exists():
            raise SchedulerError(f"The folder {target.parent} does not exist; nothing was written.")
    opened = open_database(path, create=False)
    try:
        with session_factory(opened.engine)() as session:
            text = export_program(session, args.program)
    finally:
        opened.engine.dispose()
    if target is None:
        sys.stdout.write(text)
        return 0
    # Write beside the target and rename, so a half-written file never replaces a good one.
    tmp = target.with_name(f".{target.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    print(f"Exported the program to {target}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from core.io.program_file import import_program, parse_text
    from core.store.db import open_database

    if args.input == "-":
        data = sys.stdin.buffer.read()
        source = "<stdin>"
    else:
        src = Path(args.input).expanduser()
        if not src.is_file():
            raise SchedulerError(f"The program file {src} does not exist; nothing was imported.")
        data = src.read_bytes()
        source = src.name
    parsed = parse_text(data)  # everything is checked before the database is touched
    path = db_path(args)
    if path.exists() and path.stat().st_size > 0:
        existing_database(path)
    elif path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a program database file.")
    opened = open_database(path, create=True)
    try:
        summary = import_program(opened.engine, parsed, source=source)
    finally:
        opened.engine.dispose()
    rows = sum(summary.counts.values())
    print(f"Imported {summary.program_name} into {path} ({rows} rows).", file=sys.stderr)
    return 0
