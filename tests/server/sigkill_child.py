"""Run by test_sigkill.py in a child process: pull, and stop dead inside the second page's
transaction (rows written, cursor not yet) so the parent can SIGKILL it there."""

from __future__ import annotations

import sys
import time

import httpx
from fastapi.testclient import TestClient

from core.store.db import open_database
from core.sync.auth import Credentials, CredentialStore
from core.sync.client import SyncClient
from server.app import Settings, create_app
from tests.server.harness import PASSWORD


def main() -> None:
    db_url, db_path, user, program_id = sys.argv[1:5]
    app = create_app(Settings(db_url=db_url, run_migrations=False))
    http = httpx.Client(base_url="http://testserver", transport=TestClient(app)._transport)
    engine = open_database(db_path).engine
    creds = Credentials(http, "http://testserver", user, CredentialStore(use_keyring=False))
    creds.sign_in(PASSWORD)
    original = SyncClient._write_page
    pages = [0]

    def write_then_hang(session, changes, overlay):  # type: ignore[no-untyped-def]
        original(session, changes, overlay)
        pages[0] += 1
        if pages[0] == 2:
            print("APPLYING", flush=True)
            time.sleep(120)

    SyncClient._write_page = staticmethod(write_then_hang)  # type: ignore[method-assign]
    SyncClient(engine, creds, program_id, page_size=20).sync()
    print("FINISHED", flush=True)


if __name__ == "__main__":
    main()
