"""The integrity check of a program database file, with the standard library only.

`core.store.db.open_database` runs it before opening; it lives apart from db.py (which imports
SQLAlchemy) so that the desktop program can start it on a thread of its own while SQLAlchemy and
the rest of the core are still being imported: `PRAGMA quick_check` runs in SQLite's C code with
the GIL released, so on a large file it costs the start-up no wall time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def quick_check(path: Path) -> list[str]:
    """`PRAGMA quick_check`; an empty list means the file is sound."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in con.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        con.close()
    return [] if rows == ["ok"] else rows
