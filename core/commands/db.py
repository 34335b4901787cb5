"""Database sub-commands: `info`, `check`, `backup`, `restore`."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

from core.commands import add_db_argument, db_path, existing_database
from core.errors import DatabaseError, NewerSchemaError, SchedulerError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("info", help="what a program database holds")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=cmd_info)

    p = subparsers.add_parser(
        "check",
        help="check a database's integrity (exit 0 = sound, 1 = problems found)",
        description="Runs SQLite's quick_check and foreign_key_check and verifies the audit hash "
        "chain. Reads only; exit status 0 when sound, 1 when problems were found, 2 when the file "
        "cannot be checked.",
    )
    add_db_argument(p)
    p.set_defaults(func=cmd_check)

    p = subparsers.add_parser("backup", help="copy the database with SQLite's backup API")
    add_db_argument(p)
    p.add_argument("--to", type=Path, metavar="DIR", help="folder for the copy (default: FILE.backups)")
    p.set_defaults(func=cmd_backup)

    p = subparsers.add_parser(
        "restore",
        help="replace the database with a backup (the latest sound one when none is named)",
    )
    p.add_argument("backup", nargs="?", type=Path, metavar="BACKUP", help="the backup file to restore")
    add_db_argument(p)
    p.set_defaults(func=cmd_restore)


# -------------------------------------------------------------------------------------------- info
def database_info(path: Path) -> dict[str, Any]:
    """Counts per table, programs, the assignments' date range and the rule set in force."""
    from sqlalchemy import func, select

    from core.store import models as m
    from core.store.db import read_schema_version, session_factory

    opened = open_existing_path(path)
    try:
        with session_factory(opened.engine)() as session:
            counts = {
                table.name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
                for table in sorted(m.Base.metadata.tables.values(), key=lambda t: t.name)
            }
            first, last = session.execute(
                select(func.min(m.Assignment.date), func.max(m.Assignment.date)).where(
                    m.Assignment.deleted.is_(False)
                )
            ).one()
            programs = []
            for program in session.scalars(
                select(m.Program).where(m.Program.deleted.is_(False)).order_by(m.Program.name, m.Program.id)
            ):
                number = session.execute(
                    select(func.max(m.RuleSet.number)).where(
                        m.RuleSet.program_id == program.id, m.RuleSet.deleted.is_(False)
                    )
                ).scalar()
                years = session.scalars(
                    select(m.AcademicYear.start_year)
                    .where(m.AcademicYear.program_id == program.id, m.AcademicYear.deleted.is_(False))
                    .order_by(m.AcademicYear.start_year)
                ).all()
                programs.append(
                    {
                        "id": program.id,
                        "name": program.name,
                        "time_zone": program.time_zone,
                        "rule_set": number,
                        "academic_years": list(years),
                    }
                )
    finally:
        opened.engine.dispose()
    return {
        "path": str(path),
        "schema_version": read_schema_version(path),
        "tables": counts,
        "programs": programs,
        "rule_set": programs[0]["rule_set"] if len(programs) == 1 else None,
        "assignments": {
            "first": first.isoformat() if first else None,
            "last": last.isoformat() if last else None,
        },
    }


def open_existing_path(path: Path) -> Any:
    from core.store.db import open_database

    return open_database(existing_database(path), create=False)


def cmd_info(args: argparse.Namespace) -> int:
    info = database_info(db_path(args))
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    print(f"Database: {info['path']} (schema {info['schema_version']})")
    if not info["programs"]:
        print("No program yet.")
    for program in info["programs"]:
        years = ", ".join(f"{y}-{y + 1}" for y in program["academic_years"]) or "none"
        rule_set = program["rule_set"] if program["rule_set"] is not None else "none"
        print(f"Program: {program['name']} ({program['time_zone']}); academic years: {years}; rule set: {rule_set}")
    span = info["assignments"]
    if span["first"]:
        print(f"Assignments: {span['first']} to {span['last']}")
    width = max(len(name) for name in info["tables"])
    for name, count in info["tables"].items():
        print(f"  {name:<{width}}  {count:>8}")
    return 0


# ------------------------------------------------------------------------------------------- check
def _latest_sound_backup(path: Path) -> Path | None:
    """The newest backup of `path` that passes quick_check (copies taken just before a restore are
    skipped: they may hold the very damage being repaired)."""
    from core.store.db import is_sqlite_file, list_backups, quick_check

    for candidate in reversed(list_backups(path)):
        if candidate.stem.endswith("-before-restore"):
            continue
        if is_sqlite_file(candidate) and not quick_check(candidate):
            return candidate
    return None


def _find_chain_verifier() -> Any:
    """`verify_chain(session)` from the audit service, wherever this version keeps it (or None)."""
    import importlib

    for name in ("core.services.audit", "core.services.base"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        verify = getattr(module, "verify_chain", None)
        if verify is not None:
            return verify
    return None


def _verify_audit_chain(path: Path) -> tuple[bool | None, str]:
    """(True, note) sound, (False, problem) broken, (None, why) when no verifier exists."""
    verify = _find_chain_verifier()
    if verify is None:
        return None, "not checked (no audit chain verifier in this version)"
    from core.store.db import make_engine, session_factory

    engine = make_engine(path)
    try:
        with session_factory(engine)() as session:
            result = verify(session)
    except SchedulerError as exc:
        return False, str(exc)
    finally:
        engine.dispose()
    ok = bool(getattr(result, "ok", result))
    message = getattr(result, "message", None) or ("ok" if ok else "the audit hash chain does not verify")
    return ok, str(message)


def cmd_check(args: argparse.Namespace) -> int:
    from core.store.db import quick_check, read_schema_version
    from core.store.models import SCHEMA_VERSION

    path = existing_database(db_path(args))
    problems = quick_check(path)
    if problems:
        print(f"{path}: integrity check FAILED: {problems[0]}")
        for extra in problems[1:10]:
            print(f"  {extra}")
        backup = _latest_sound_backup(path)
        if backup is not None:
            print(f"Restore the latest sound backup ({backup.name}) with: rsched restore --db {path}")
        else:
            print("No sound backup was found next to the file; restore one with: rsched restore BACKUP --db FILE")
        return 1
    version = read_schema_version(path)
    if version == 0:
        raise DatabaseError(f"{path} is an SQLite file but not a program database.")
    if version is not None and version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{path} was written by a newer version of the program (schema {version}); "
            "update the program to check it."
        )
    print(f"{path}: quick_check ok")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        dangling = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    status = 0
    if dangling:
        status = 1
        print(f"foreign keys: {len(dangling)} row(s) point at missing rows, e.g. "
              f"{dangling[0][0]} row {dangling[0][1]} -> {dangling[0][2]}")
    else:
        print("foreign keys: ok")
    ok, note = _verify_audit_chain(path)
    print(f"audit chain: {note}")
    if ok is False:
        status = 1
    return status


# ------------------------------------------------------------------------------- backup / restore
def cmd_backup(args: argparse.Namespace) -> int:
    from core.store.db import backup_database, quick_check, read_schema_version

    path = existing_database(db_path(args))
    if read_schema_version(path) == 0:
        raise DatabaseError(f"{path} is an SQLite file but not a program database.")
    problems = quick_check(path)
    if problems:
        raise DatabaseError(
            f"{path} failed its integrity check ({problems[0]}), so it was not backed up; "
            f"restore a backup with `rsched restore --db {path}`."
        )
    to: Path | None = args.to
    if to is not None and to.exists() and not to.is_dir():
        raise DatabaseError(f"{to} is a file, not a folder for backups.")
    # A folder the user chose is never pruned; the rolling folder next to the file keeps the newest.
    dest = backup_database(path, to, label="manual", keep=0 if to is not None else 10)
    print(f"Backed up {path} to {dest}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from core.store.db import backup_dir_for, is_sqlite_file, read_schema_version, restore_backup
    from core.store.models import SCHEMA_VERSION

    target = db_path(args)
    if target.is_dir():
        raise DatabaseError(f"{target} is a folder, not a program database file.")
    if not target.parent.exists():
        raise DatabaseError(f"The folder {target.parent} does not exist; nothing was restored.")
    backup: Path | None = args.backup
    if backup is None:
        backup = _latest_sound_backup(target)
        if backup is None:
            raise DatabaseError(
                f"No sound backup of {target} was found in {backup_dir_for(target)}; nothing was restored."
            )
    elif not backup.is_file():
        raise DatabaseError(f"The backup {backup} does not exist; nothing was restored.")
    if is_sqlite_file(backup):
        try:
            version = read_schema_version(backup)
        except DatabaseError:
            version = None  # restore_backup's own check names the damage
        if version is not None and version > SCHEMA_VERSION:
            raise NewerSchemaError(
                f"The backup {backup} was written by a newer version of the program (schema {version}); "
                "nothing was restored."
            )
    restore_backup(backup, target)
    print(f"Restored {target} from {backup}")
    return 0

