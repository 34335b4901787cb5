"""Sub-commands of `rsched`, one module per area.

Each module exposes `register(subparsers)`; every sub-command it adds calls
`set_defaults(func=handler)` with `handler(args) -> int` (the exit status). Modules are listed once
in `core.cli.COMMAND_MODULES`. Keep heavy imports inside the handlers so `rsched --help` stays quick.

Helpers shared by the command modules:
- `add_db_argument(parser)`: the `--db FILE` option (defaults to the per-user program database);
- `db_path(args)`: the chosen path;
- `existing_database(path)`: refuses, with one sentence, a path that is not an existing program
  database file (missing, a folder, empty, not SQLite) before anything touches it;
- `open_existing(args)`: `existing_database` + `core.store.db.open_database` (refuses newer schemas,
  backs up and migrates older ones, runs the integrity check).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import DatabaseError

if TYPE_CHECKING:
    from core.store.db import OpenResult

APP_NAME = "ResidencyScheduler"
DEFAULT_DB_NAME = "program.sqlite"


def default_db_path() -> Path:
    """The program database in the per-user data folder (never in the install folder)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / DEFAULT_DB_NAME


def add_db_argument(parser: argparse.ArgumentParser, *, help: str | None = None) -> None:
    # SUPPRESS: a sub-command's --db must not overwrite the top-level --db with None.
    parser.add_argument(
        "--db",
        type=Path,
        metavar="FILE",
        default=argparse.SUPPRESS,
        help=help or f"the program database (default: {default_db_path()})",
    )


def db_path(args: argparse.Namespace) -> Path:
    chosen = getattr(args, "db", None)
    return Path(chosen).expanduser() if chosen is not None else default_db_path()


def existing_database(path: Path) -> Path:
    """`path` if it is an existing SQLite file; otherwise DatabaseError naming the problem."""
    from core.store.db import is_sqlite_file

    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a program database file.")
    if not path.exists():
        if not path.parent.exists():
            raise DatabaseError(f"{path} does not exist (there is no folder {path.parent}).")
        raise DatabaseError(
            f"{path} does not exist; create a program with `rsched demo --db {path}` or "
            f"`rsched import-json FILE --db {path}`."
        )
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise DatabaseError(f"{path} cannot be read ({exc.strerror or exc}).") from exc
    if size == 0:
        raise DatabaseError(f"{path} is an empty file, not a program database.")
    if not is_sqlite_file(path):
        raise DatabaseError(f"{path} is not a program database (not an SQLite file).")
    return path


def open_existing(args: argparse.Namespace) -> OpenResult:
    from core.store.db import open_database

    return open_database(existing_database(db_path(args)), create=False)
