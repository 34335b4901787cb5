"""`rsched serve --db-url URL --host 127.0.0.1 --port N`: run the sync server.

The server lives in the `server` package (installed with the `server` extra); core never imports
it at module level, so it is loaded here, inside the handler, by name.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from core.errors import SchedulerError

SERVER_ENTRY = "server.__main__"
"""Loaded by name inside the handler only: core never imports the server package at module level."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="run the sync server (PostgreSQL; an SQLite URL for a one-person trial)")
    p.add_argument("--db-url", required=True, help="postgresql://user@host:port/db, or sqlite:///file for a trial")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--access-ttl", type=int, default=300, help="access token lifetime in seconds (default 300)")
    p.add_argument("--tls-cert", help="certificate (PEM) to serve HTTPS")
    p.add_argument("--tls-key", help="private key (PEM) of --tls-cert")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        entry = importlib.import_module(SERVER_ENTRY)
    except ModuleNotFoundError as exc:
        raise SchedulerError(f"The sync server is not installed ({exc.name} is missing); install the "
                             "program with its server extra: pip install 'residency-scheduler[server]'.") from exc
    return int(entry.serve(args))
