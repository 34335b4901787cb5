"""`python -m server serve --db-url URL --host 127.0.0.1 --port N` (also `rsched serve`), and
`python -m server add-user --db-url URL --username NAME --role admin` (the first admin; the
password is read from the terminal, or from stdin with --password-stdin)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="The Residency Scheduler sync server.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the server")
    add_serve_arguments(p)
    p = sub.add_parser("add-user", help="create an account directly in the server database")
    p.add_argument("--db-url", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--role", required=True, choices=["admin", "coordinator", "faculty", "resident", "read_only"])
    p.add_argument("--program-id")
    p.add_argument("--person-id")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    return parser


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db-url", required=True, help="postgresql://user@host:port/db (or sqlite:///file for a trial)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--access-ttl", type=int, default=300, help="access token lifetime in seconds")
    p.add_argument("--tls-cert", help="certificate file (PEM) to serve HTTPS")
    p.add_argument("--tls-key", help="private key file (PEM) for --tls-cert")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import Settings, create_app

    app = create_app(Settings(db_url=args.db_url, access_ttl_seconds=args.access_ttl))
    print(f"Sync server on {'https' if args.tls_cert else 'http'}://{args.host}:{args.port} "
          f"(API description at /docs and /openapi.json)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
    return 0


def add_user(args: argparse.Namespace) -> int:
    from server.app import add_account

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.username}: ")
    if len(password) < 8:
        print("The password needs at least 8 characters.", file=sys.stderr)
        return 2
    account_id = add_account(args.db_url, args.username, password, args.role, program_id=args.program_id,
                             person_id=args.person_id)
    print(f"Account {args.username} ({args.role}) created: {account_id}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return serve(args) if args.command == "serve" else add_user(args)


if __name__ == "__main__":
    sys.exit(main())
