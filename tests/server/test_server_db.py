"""The server's engine (server/db.py)."""

from __future__ import annotations

import pytest

from server.db import make_engine

pytestmark = pytest.mark.postgres


def test_postgresql_connections_do_not_prepare_statements(pg_url: str) -> None:
    # psycopg prepares a statement on its 5th use by default; PostgreSQL then may keep a generic plan
    # made while the tables were small: the push's `row_id = ANY(...)` lookups became sequential
    # scans (0.5 s per batch instead of a few ms). The server's connections never prepare.
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None and raw.prepare_threshold is None
    finally:
        engine.dispose()
