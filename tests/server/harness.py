"""Test helpers for the sync server and clients: a PostgreSQL cluster, the app, replicas."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select

from core.services import catalog, people, programs
from core.services.base import ServiceContext
from core.store.db import open_database, session_factory
from core.store.models import SCHEMA_VERSION
from core.sync.auth import Credentials, CredentialStore
from core.sync.client import SyncClient
from core.sync.rows import TABLES
from server.app import Settings, add_account, create_app

PASSWORD = "correct horse battery"
H = {"X-Rsched-Schema": str(SCHEMA_VERSION)}
ROLES = ("admin", "coordinator", "faculty", "resident", "read_only")


# ------------------------------------------------------------------------------------ PostgreSQL
@dataclass
class Cluster:
    datadir: Path
    port: int
    runner: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self.runner, self._bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    @staticmethod
    def _bin(name: str) -> str:
        found = shutil.which(name)
        if found:
            return found
        for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (d / name).exists():
                return str(d / name)
        raise RuntimeError(f"{name} is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_throwaway_cluster(_hint: Path) -> Cluster:
    """initdb + pg_ctl start on loopback, in a temporary folder; RuntimeError when impossible."""
    initdb = Cluster._bin("initdb")
    runner: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="rsched-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root and runuser is missing")
        runner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
    datadir = base / "data"
    port = _free_port()
    r = subprocess.run([*runner, initdb, "-D", str(datadir), "-A", "trust", "-U", "postgres", "--no-sync",
                        "-E", "UTF8"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"initdb failed: {r.stderr.strip()[-300:]}")
    cluster = Cluster(datadir, port, runner)
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    r = subprocess.run([*runner, Cluster._bin("pg_ctl"), "-D", str(datadir), "-l", str(base / "log"), "-o", opts,
                        "-w", "-t", "30", "start"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"pg_ctl start failed: {r.stderr.strip()[-300:]}")
    return cluster


# ------------------------------------------------------------------------------------ the server
class LossyTransport(httpx.BaseTransport):
    """Forwards to the server; can drop the reply after the server handled the request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.drop_next = 0
        self.offline = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("offline", request=request)
        response = self.inner.handle_request(request)
        if self.drop_next > 0:
            self.drop_next -= 1
            response.read()
            raise httpx.ReadError("reply lost", request=request)
        return response


@dataclass
class ServerUnderTest:
    db_url: str
    app: Any
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    signed_in_at: dict[str, float] = field(default_factory=dict)
    token_reuse_seconds: float = 120.0
    """A cached access token is used for this long only (the server's lifetime is 300 s): a
    session-scoped server outlives many tokens when the suite runs slowly."""

    @classmethod
    def start(cls, db_url: str, **settings: Any) -> ServerUnderTest:
        app = create_app(Settings(db_url=db_url, **settings))
        add_account(db_url, "admin", PASSWORD, "admin")
        return cls(db_url, app, TestClient(app))

    def close(self) -> None:
        self.client.close()
        self.app.state.engine.dispose()

    def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        r = self.client.post("/v1/auth/login", json={"username": username, "password": password}, headers=H)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def auth(self, username: str) -> dict[str, str]:
        fresh = time.monotonic() - self.signed_in_at.get(username, -1e9) < self.token_reuse_seconds
        if username not in self.tokens or not fresh:
            self.tokens[username] = self.login(username)["access_token"]
            self.signed_in_at[username] = time.monotonic()
        return {**H, "Authorization": f"Bearer {self.tokens[username]}"}

    def add_user(self, username: str, role: str, program_id: str | None, person_id: str | None = None) -> None:
        self.tokens.pop(username, None)
        r = self.client.post("/v1/accounts", headers=self.auth("admin"), json={
            "username": username, "password": PASSWORD, "role": role, "program_id": program_id,
            "person_id": person_id})
        assert r.status_code == 201, r.text

    def http(self) -> tuple[httpx.Client, LossyTransport]:
        transport = LossyTransport(self.client._transport)
        return httpx.Client(base_url="http://testserver", transport=transport), transport

    def rows(self, program_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        """The server's rows of a program, as (table, id) -> JSON image."""
        from server import models as sm

        with session_factory(self.app.state.engine)() as s:
            return {(r.table_name, r.row_id): dict(r.data)
                    for r in s.scalars(select(sm.Row).where(sm.Row.program_id == program_id))}


# ------------------------------------------------------------------------------------ replicas
class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=1)
        return self.now


class Replica:
    """One laptop: a program database file, a signed-in user, a sync client."""

    def __init__(self, path: Path, server: ServerUnderTest, username: str, program_id: str | None,
                 store: CredentialStore | None = None, *, push_batch: int = 500, page_size: int = 1000) -> None:
        self.push_batch, self.page_size = push_batch, page_size
        self.path = path
        self.server = server
        self.username = username
        self.program_id = program_id
        self.store = store or CredentialStore(use_keyring=False)
        self.clock = Clock(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC))
        self._open()

    def _open(self) -> None:
        self.engine = open_database(self.path).engine
        self.ctx = ServiceContext(self.engine, actor=self.username, clock=self.clock, node=self.path.stem)
        self.http, self.transport = self.server.http()
        self.credentials = Credentials(self.http, "http://testserver", self.username, self.store)

    def sign_in(self) -> None:
        self.credentials.sign_in(PASSWORD)

    @property
    def sync_client(self) -> SyncClient:
        assert self.program_id is not None
        return SyncClient(self.engine, self.credentials, self.program_id, push_batch=self.push_batch, page_size=self.page_size)

    def sync(self) -> Any:
        return self.sync_client.sync()

    def restart(self) -> None:
        """Close everything in memory and open the file again (the refresh token stays in the store)."""
        self.http.close()
        self.engine.dispose()
        self._open()

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()

    def rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        return replica_rows(self.path)


def replica_rows(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every synced row of a database file, as (table, id) -> JSON image comparable with the server's."""
    from core.sync.rows import encode_row

    engine = create_engine(f"sqlite:///{path}")
    out: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        with engine.connect() as con:
            for name, info in TABLES.items():
                for row in con.execute(info.table.select()).mappings():
                    out[(name, row["id"])] = encode_row(dict(row))
    finally:
        engine.dispose()
    return out


def normalise(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Compare images by value: datetimes in UTC ISO form."""
    def fix(v: Any) -> Any:
        if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] in "T ":
            try:
                d = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                return v
            return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
        return v

    return {k: {c: fix(v) for c, v in img.items()} for k, img in rows.items()}


def build_program(ctx: ServiceContext) -> dict[str, Any]:
    """A tiny program: AY 2026, three activities, two residents and a faculty member."""
    prog = programs.create_program(ctx, "Sync FM", start_year=2026).value
    acts = [catalog.create_activity(ctx, prog.id, code=code, name=name, category=cat).value
            for code, name, cat in (("C", "Clinic", "clinic"), ("W", "Wards", "inpatient"),
                                    ("LEC", "Lecture", "didactics"))]
    res1 = people.create_person(ctx, prog.id, "Dr Lee", "resident", academic_year=2026, pgy=1).value
    res2 = people.create_person(ctx, prog.id, "Dr Kim", "resident", academic_year=2026, pgy=2).value
    fac = people.create_person(ctx, prog.id, "Dr Smith", "faculty", faculty_role="core").value
    return {"program": prog, "activities": acts, "residents": [res1, res2], "faculty": fac}


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")
