"""Passwords, tokens and the login rate limit.

- Passwords: scrypt (stdlib `hashlib.scrypt`, memory-hard) with a random salt per account.
- Access tokens: short-lived (default 5 minutes), HMAC-SHA256 signed with the server's secret;
  they are never stored.
- Refresh tokens: 32 random bytes; only their SHA-256 is stored. Each use returns a new one and
  marks the old one used; presenting a used token again revokes the whole family (someone copied it).
- Login: at most `max_failures` failed attempts per user name and per client address in a sliding
  window; beyond that 429 with Retry-After.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


DUMMY_HASH = hash_password("not a password")
"""Checked against when the user does not exist, so a wrong name costs as long as a wrong password."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class AccessClaims:
    account_id: str
    role: str
    expires: float


def make_access_token(secret: bytes, account_id: str, role: str, ttl_seconds: float, now: float | None = None) -> str:
    exp = (now if now is not None else time.time()) + ttl_seconds
    body = _b64(json.dumps({"sub": account_id, "role": role, "exp": exp}, separators=(",", ":")).encode())
    sig = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def read_access_token(secret: bytes, token: str, now: float | None = None) -> AccessClaims | None:
    """The claims of a valid, unexpired token; None otherwise."""
    try:
        body, sig = token.split(".")
        want = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want, sig):
            return None
        data = json.loads(_unb64(body))
        claims = AccessClaims(str(data["sub"]), str(data["role"]), float(data["exp"]))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if claims.expires <= (now if now is not None else time.time()):
        return None
    return claims


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginLimiter:
    """Failed logins per key (user name, client address) in a sliding window, in memory."""

    def __init__(self, max_failures: int = 5, window_seconds: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, keys: list[str], now: float | None = None) -> float:
        """Seconds to wait before another attempt; 0 = allowed."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= self.max_failures:
                    wait = max(wait, q[0] + self.window - now)
        return wait

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # bound memory under a flood of made-up names
                self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, user_key: str) -> None:
        with self._lock:
            self._failures.pop(user_key, None)
