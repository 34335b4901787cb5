"""`rsched sync --db FILE --server URL --user NAME`: push local edits and pull the server's.

The password is asked only when no sign-in is remembered (the refresh token lives in the system
keyring, never in a file); with no keyring it is asked every time.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from core.commands import add_db_argument, open_existing


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sync", help="synchronise the program database with a sync server")
    add_db_argument(p)
    p.add_argument("--server", required=True, metavar="URL", help="the sync server, e.g. https://sched.example.org")
    p.add_argument("--user", required=True, metavar="NAME", help="your account on the server")
    p.add_argument("--program", metavar="ID", help="the program to sync (default: the only one in the file)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--sign-out", action="store_true", help="end the sign-in and delete the stored credential")
    p.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from core.errors import ValidationError
    from core.store import models as m
    from core.store.db import session_factory
    from core.sync.auth import Credentials, CredentialStore, SignInRequired
    from core.sync.client import SyncClient, http_client, pending_count

    opened = open_existing(args)
    try:
        with session_factory(opened.engine)() as s:
            ids = list(s.scalars(select(m.Program.id).where(m.Program.deleted.is_(False))))
        program_id = args.program or (ids[0] if len(ids) == 1 else None)
        store = CredentialStore()
        with http_client(args.server) as http:
            creds = Credentials(http, args.server, args.user, store)
            if args.sign_out:
                creds.sign_out()
                print(f"Signed out {args.user} from {args.server}; the credential was removed from this computer.")
                return 0
            if program_id is None:
                raise ValidationError("Choose the program to sync with --program ID "
                                      f"({len(ids)} programs are in this file).")
            notice = store.notice()
            if notice:
                print(notice, file=sys.stderr)
            if not creds.remembered:
                _sign_in(creds, args)
            client = SyncClient(opened.engine, creds, program_id)
            try:
                report = client.sync()
            except SignInRequired:
                _sign_in(creds, args)
                report = client.sync()
        print(f"Sent {report.pushed} change(s): {report.applied} applied, {report.conflicts} conflict(s), "
              f"{report.rejected} refused. Received {report.pulled} change(s). "
              f"{pending_count(opened.engine)} waiting to be sent.")
        if report.conflicts or report.rejected:
            print("Open the Sync view to resolve the conflicts.", file=sys.stderr)
            return 1
        return 0
    finally:
        opened.engine.dispose()


def _sign_in(creds: Any, args: argparse.Namespace) -> None:
    password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                else getpass.getpass(f"Password for {args.user} at {args.server}: "))
    creds.sign_in(password)
