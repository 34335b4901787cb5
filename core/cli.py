"""The `rsched` command line.

Sub-commands live in `core/commands/<area>.py`; each module is listed once in `COMMAND_MODULES` and
adds its sub-commands in `register(subparsers)`. A listed module that does not exist (yet) is
skipped; one that fails to import is reported on stderr and its commands are missing, the others
still work.

Every `SchedulerError` becomes its sentence on stderr and exit status 2; so do raw database and file
errors (they never reach the user as a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from core.commands import add_db_argument
from core.errors import SchedulerError

COMMAND_MODULES = [
    "core.commands.db",
    "core.commands.program_file",
    "core.commands.demo",
    "core.commands.validate",
    "core.commands.solver",
    "core.commands.generate",
    "core.commands.swaps",
    "core.commands.analyze",
    "core.commands.io",
    "core.commands.sync",
]

PLUGIN_GROUP = "rsched.commands"
"""Entry points in this group add sub-commands from packages core must not import (server)."""

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_ERROR = 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("residency-scheduler")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rsched",
        description="Residency Scheduler: build, check and keep a residency program's schedule.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    add_db_argument(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # listed ahead of its arrival
            print(f"rsched: the commands in {name} could not be loaded ({exc}).", file=sys.stderr)
            continue
        except Exception as exc:  # noqa: BLE001 - one broken area must not take the others down
            print(f"rsched: the commands in {name} could not be loaded ({exc}).", file=sys.stderr)
            continue
        module.register(subparsers)
    for entry in entry_points(group=PLUGIN_GROUP):  # commands of optional parts (the sync server)
        try:
            entry.load().register(subparsers)
        except Exception as exc:  # noqa: BLE001 - an optional part must not take the others down
            print(f"rsched: the commands of {entry.name} could not be loaded ({exc}).", file=sys.stderr)
    return parser


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(func(args) or EXIT_OK)
    except SchedulerError as exc:
        print(_sentence(str(exc)), file=sys.stderr)
    except sqlite3.Error as exc:
        print(_sentence(f"The database could not be used ({exc})"), file=sys.stderr)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to say
        return EXIT_OK
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(_sentence(f"{where}{exc.strerror or exc}"), file=sys.stderr)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if not isinstance(exc, SQLAlchemyError):
            raise
        detail = getattr(exc, "orig", None) or exc
        print(_sentence(f"The database could not be used ({detail})"), file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
