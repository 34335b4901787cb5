"""`rsched serve`: the sync server's sub-command of the rsched command line.

The core never imports the server (DESIGN.md principle 1). Instead the server plugs its command
into `rsched` through the `rsched.commands` entry-point group (pyproject.toml), which core/cli.py
reads; without the server installed, `rsched serve` simply does not exist.
"""

from __future__ import annotations

from typing import Any

from server.__main__ import add_serve_arguments, serve


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="run the sync server (PostgreSQL; an SQLite URL for a one-person trial)")
    add_serve_arguments(p)
    p.set_defaults(func=serve)
