"""Signing in to a sync server: tokens and where they are kept (SYNC.md "Accounts and roles").

- The access token lives in memory only and is refreshed a minute before it expires, and once more
  when the server answers 401, before giving up.
- The refresh token is kept with `keyring` (the system's credential store), never in a file and
  never in the program database. Signing out deletes it.
- With no keyring backend (`keyring_available()` is false) the refresh token is kept in memory for
  this run only: the program says so and asks for the password at each start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from core.errors import SchedulerError
from core.store.models import SCHEMA_VERSION

KEYRING_SERVICE = "residency-scheduler-sync"
SCHEMA_HEADER = "X-Rsched-Schema"
REFRESH_MARGIN_SECONDS = 60.0


class SyncError(SchedulerError):
    """The server could not be used (offline, refused, failing); nothing local was lost."""


class SignInRequired(SyncError):
    """No valid sign-in: the user must give the password again."""


class UpdateRequired(SyncError):
    """The program and the server speak different schema versions."""


def keyring_available() -> bool:
    """Whether the system offers a credential store keyring can use."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0


def keyring_account(server_url: str, username: str) -> str:
    return f"{username}@{server_url.rstrip('/')}"


class CredentialStore:
    """Where the refresh token is kept: keyring when available, else this process's memory."""

    def __init__(self, use_keyring: bool | None = None) -> None:
        self.persistent = keyring_available() if use_keyring is None else use_keyring
        self._memory: dict[str, str] = {}

    def get(self, account: str) -> str | None:
        if not self.persistent:
            return self._memory.get(account)
        import keyring

        value: str | None = keyring.get_password(KEYRING_SERVICE, account)
        return value

    def set(self, account: str, token: str) -> None:
        if not self.persistent:
            self._memory[account] = token
            return
        import keyring

        keyring.set_password(KEYRING_SERVICE, account, token)

    def delete(self, account: str) -> None:
        self._memory.pop(account, None)
        if not self.persistent:
            return
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            keyring.delete_password(KEYRING_SERVICE, account)
        except PasswordDeleteError:
            pass

    def notice(self) -> str | None:
        """The sentence to show when sign-ins cannot be remembered, else None."""
        if self.persistent:
            return None
        return ("This computer has no credential store (keyring), so the sign-in is not remembered: "
                "you will be asked for the password each time the program starts.")


@dataclass(frozen=True)
class Identity:
    account_id: str
    role: str
    program_id: str | None
    person_id: str | None


def raise_for_problem(response: httpx.Response) -> None:
    """Turn an error answer into a SyncError sentence."""
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    text = detail if isinstance(detail, str) else f"the server answered {response.status_code}"
    if response.status_code == 426:
        raise UpdateRequired(text)
    if response.status_code == 401:
        raise SignInRequired(text)
    if response.status_code >= 500:
        raise SyncError(f"The sync server failed ({response.status_code}); your changes are kept and will be sent later.")
    raise SyncError(text)


def send(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    headers = {SCHEMA_HEADER: str(SCHEMA_VERSION), **kwargs.pop("headers", {})}
    try:
        return http.request(method, url, headers=headers, **kwargs)
    except httpx.TransportError as exc:
        raise SyncError(f"The sync server cannot be reached ({exc.__class__.__name__}); your changes are kept "
                        "and will be sent later.") from exc


class Credentials:
    """The sign-in of one user on one server."""

    def __init__(self, http: httpx.Client, server_url: str, username: str, store: CredentialStore,
                 *, now: Callable[[], float] = time.time) -> None:
        self.http = http
        self.server_url = server_url
        self.username = username
        self.store = store
        self._now = now
        self._access: str | None = None
        self._expires = 0.0
        self.identity: Identity | None = None

    @property
    def key(self) -> str:
        return keyring_account(self.server_url, self.username)

    def _take(self, pair: dict[str, Any]) -> None:
        self.store.set(self.key, str(pair["refresh_token"]))
        self._access = str(pair["access_token"])
        self._expires = self._now() + float(pair["expires_in"])
        self.identity = Identity(str(pair["account_id"]), str(pair["role"]), pair.get("program_id"),
                                 pair.get("person_id"))

    def sign_in(self, password: str) -> Identity:
        r = send(self.http, "POST", "/v1/auth/login", json={"username": self.username, "password": password})
        raise_for_problem(r)
        self._take(r.json())
        assert self.identity is not None
        return self.identity

    @property
    def remembered(self) -> bool:
        return self.store.get(self.key) is not None

    def refresh(self) -> None:
        token = self.store.get(self.key)
        if token is None:
            raise SignInRequired(f"Sign in to {self.server_url} as {self.username} to sync.")
        r = send(self.http, "POST", "/v1/auth/refresh", json={"refresh_token": token})
        if r.status_code == 401:
            self.store.delete(self.key)
            self._access = None
        raise_for_problem(r)
        self._take(r.json())

    def access_token(self) -> str:
        if self._access is None or self._now() >= self._expires - REFRESH_MARGIN_SECONDS:
            self.refresh()
        assert self._access is not None
        return self._access

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An authorised request: refreshes ahead of expiry, and once on a 401 before giving up."""
        r = send(self.http, method, url, headers={"Authorization": f"Bearer {self.access_token()}"}, **kwargs)
        if r.status_code == 401:
            self._access = None
            r = send(self.http, method, url, headers={"Authorization": f"Bearer {self.access_token()}"}, **kwargs)
        raise_for_problem(r)
        return r

    def sign_out(self) -> None:
        """End the sign-in on the server (best effort) and delete the credential from this machine."""
        self.revoke(self.forget())

    def forget(self) -> str | None:
        """Delete the credential from this machine (no network); the refresh token, to `revoke`."""
        token = self.store.get(self.key)
        self.store.delete(self.key)
        self._access = None
        self.identity = None
        return token

    def revoke(self, token: str | None) -> None:
        """End a sign-in on the server (best effort: offline, the token expires there)."""
        if token is not None:
            try:
                send(self.http, "POST", "/v1/auth/logout", json={"refresh_token": token})
            except SyncError:
                pass  # offline: the token is gone from this machine; it expires on the server
