"""Sign-in, tokens and where they are kept: keyring only, never a file (SYNC.md)."""

from __future__ import annotations

import uuid
from pathlib import Path

import keyring
import pytest
from fastapi.testclient import TestClient
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from core.services import schedule
from core.services.schedule import SlotEdit
from core.sync.auth import KEYRING_SERVICE, Credentials, CredentialStore, SignInRequired
from server.app import Settings, create_app
from tests.server.harness import PASSWORD, H, Replica, ServerUnderTest, build_program

pytestmark = pytest.mark.postgres


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.data.pop((service, username), None) is None:
            raise PasswordDeleteError("no such credential")


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def laptop(server: ServerUnderTest, tmp_path: Path, memory_keyring):
    folder = tmp_path / "data"
    folder.mkdir()
    user = f"coord_{uuid.uuid4().hex[:8]}"
    rep = Replica(folder / "program.sqlite", server, user, None, store=CredentialStore())
    prog = build_program(rep.ctx)
    rep.program_id = prog["program"].id
    server.add_user(user, "coordinator", rep.program_id)
    yield rep, prog, folder
    rep.close()


def test_no_token_in_any_file_of_the_data_folder(laptop, memory_keyring: MemoryKeyring) -> None:
    rep, prog, folder = laptop
    assert rep.store.persistent
    rep.sign_in()
    seen = {rep.credentials.access_token(), *memory_keyring.data.values()}
    rep.sync()
    schedule.assign_slots(rep.ctx, [SlotEdit(prog["residents"][0].id, __import__("datetime").date(2026, 9, 1), 0,
                                             prog["activities"][0].id)])
    rep.restart()  # a new start: the access token is gone, the refresh token comes from keyring
    rep.sync()
    seen |= {rep.credentials.access_token(), *memory_keyring.data.values()}
    [stored] = memory_keyring.data.values()
    assert list(memory_keyring.data) == [(KEYRING_SERVICE, rep.credentials.key)]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "program.sqlite" for p in files) and any(p.name.endswith("-wal") for p in files)
    for path in files:
        blob = path.read_bytes()
        for token in seen:
            assert token.encode() not in blob, f"a token is in {path.name}"
    assert stored in seen
    # Signing out deletes the credential; the next sync needs the password again.
    rep.credentials.sign_out()
    assert memory_keyring.data == {}
    rep.restart()
    with pytest.raises(SignInRequired):
        rep.sync()


def test_without_keyring_the_user_is_told_and_nothing_is_remembered(laptop, monkeypatch) -> None:
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    store = CredentialStore()
    assert not store.persistent
    assert "asked for the password each time" in (store.notice() or "")
    rep, _prog, folder = laptop
    creds = Credentials(rep.http, "http://testserver", rep.username, store)
    creds.sign_in(PASSWORD)
    assert creds.remembered  # for this run only
    assert CredentialStore().get(creds.key) is None  # a new start remembers nothing


def test_access_token_is_refreshed_before_expiry_and_once_on_401(laptop, memory_keyring) -> None:
    rep, _prog, _folder = laptop
    now = [1000.0]
    creds = Credentials(rep.http, "http://testserver", rep.username, rep.store, now=lambda: now[0])
    creds.sign_in(PASSWORD)
    first_access, first_refresh = creds.access_token(), rep.store.get(creds.key)
    now[0] += 300 - 61
    assert creds.access_token() == first_access
    now[0] += 2  # within a minute of expiry
    second = creds.access_token()
    assert second != first_access and rep.store.get(creds.key) != first_refresh
    creds._access = "not.valid"  # the server says 401: refresh once, then succeed
    assert creds.request("GET", "/v1/me").json()["username"] == rep.username


def test_reused_refresh_token_ends_the_sign_in(server: ServerUnderTest) -> None:
    app = create_app(Settings(db_url=server.db_url, run_migrations=False, refresh_reuse_grace_seconds=0))
    try:
        with TestClient(app) as c:
            first = c.post("/v1/auth/login", json={"username": "admin", "password": PASSWORD}, headers=H).json()
            r = c.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}, headers=H)
            assert r.status_code == 200
            second = r.json()
            r = c.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}, headers=H)
            assert r.status_code == 401 and "already used" in r.json()["detail"]
            # The whole family is revoked: the newest token no longer works either.
            r = c.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}, headers=H)
            assert r.status_code == 401
    finally:
        app.state.engine.dispose()


def test_a_lost_refresh_reply_does_not_sign_out(server: ServerUnderTest) -> None:
    """Found by the replica property test: the reply to a refresh is lost, the client retries
    with the same token. Within the grace period it gets a new pair; the lost pair is revoked."""
    first = server.login("admin")
    lost = server.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}, headers=H).json()
    r = server.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}, headers=H)
    assert r.status_code == 200
    again = r.json()
    r = server.client.post("/v1/auth/refresh", json={"refresh_token": lost["refresh_token"]}, headers=H)
    assert r.status_code == 401
    r = server.client.post("/v1/auth/refresh", json={"refresh_token": again["refresh_token"]}, headers=H)
    assert r.status_code == 200


def test_logout_revokes(server: ServerUnderTest) -> None:
    pair = server.login("admin")
    r = server.client.post("/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=H)
    assert r.status_code == 200 and r.json()["revoked"] == 1
    r = server.client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}, headers=H)
    assert r.status_code == 401


def test_login_is_rate_limited(server: ServerUnderTest) -> None:
    app = create_app(Settings(db_url=server.db_url, run_migrations=False, login_max_failures=3))
    try:
        with TestClient(app) as c:
            for _ in range(3):
                r = c.post("/v1/auth/login", json={"username": "admin", "password": "wrong"}, headers=H)
                assert r.status_code == 401
            r = c.post("/v1/auth/login", json={"username": "admin", "password": PASSWORD}, headers=H)
            assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    finally:
        app.state.engine.dispose()


def test_passwords_are_stored_as_slow_hashes(server: ServerUnderTest) -> None:
    from sqlalchemy import select

    from server import models as sm
    with server.app.state.sessions() as s:
        stored = s.scalars(select(sm.Account.password_hash).where(sm.Account.username == "admin")).one()
    assert stored.startswith("scrypt$16384$") and PASSWORD not in stored
