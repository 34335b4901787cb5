"""PostgreSQL for the server tests (SYNC.md: a real PostgreSQL on loopback only).

Where the server comes from, in order:
1. `RSCHED_TEST_PG_URL` (set by `.ci/run`), e.g. postgresql://postgres@127.0.0.1:54329/postgres;
2. a throwaway cluster this session starts itself (initdb in a temporary folder, loopback only,
   a unix socket in that folder), when the PostgreSQL binaries are installed;
3. neither: the tests fail when CI=true, and are skipped with the reason otherwise.
Each test gets a fresh database on that server, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.server.harness import ServerUnderTest, start_throwaway_cluster


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"no PostgreSQL: {reason} (set RSCHED_TEST_PG_URL or install postgresql)")


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("RSCHED_TEST_PG_URL")
    if url:
        yield url
        return
    cluster = None
    try:
        cluster = start_throwaway_cluster(tmp_path_factory.mktemp("pg"))
    except RuntimeError as exc:
        _fail_or_skip(str(exc))
    assert cluster is not None
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for this test session (tests keep apart by program and user names)."""
    import psycopg

    name = f"rsched_test_{uuid.uuid4().hex[:12]}"
    base = pg_admin_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _fail_or_skip(f"cannot connect to {base} ({exc})")
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with psycopg.connect(base, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def server(pg_url: str) -> Iterator[ServerUnderTest]:
    srv = ServerUnderTest.start(pg_url)
    yield srv
    srv.close()


@pytest.fixture
def tag() -> str:
    """A suffix that keeps this test's user names apart from other tests' on the shared server."""
    return uuid.uuid4().hex[:8]
