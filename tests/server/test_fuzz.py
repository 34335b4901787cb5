"""A property-based fuzz of the whole API from its OpenAPI document (schemathesis): no 5xx.

Every operation of the served document is fuzzed with schemathesis' hypothesis strategies (its
pytest plugin does not run under pytest 9 here, so the strategies are driven directly). Requests
go once as the admin with the right schema version (so they reach the deep paths: push with
generated ops, accounts, programs) and once without credentials; schemathesis generates the rest,
including malformed bodies and parameters.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from server.app import Settings, create_app
from tests.server.harness import H, ServerUnderTest

pytestmark = pytest.mark.postgres


@pytest.fixture
def fuzzed_app(server: ServerUnderTest):
    """A second app on the same database: its login limiter (which the fuzz trips) is its own."""
    app = create_app(Settings(db_url=server.db_url, run_migrations=False))
    yield app
    app.state.engine.dispose()


def fuzz(app, headers_for, examples: int) -> list[str]:
    failures: list[str] = []
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) >= 11

    for op in ops:
        @given(case=op.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            response = case.call(headers={**(case.headers or {}), **headers_for()})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200}: "
                                f"{response.status_code} {response.text[:200]}")

        check()
    return failures


def test_no_server_errors_as_admin(server: ServerUnderTest, fuzzed_app) -> None:
    assert fuzz(fuzzed_app, lambda: server.auth("admin"), examples=10) == []


def test_no_server_errors_without_credentials(fuzzed_app) -> None:
    assert fuzz(fuzzed_app, lambda: H, examples=5) == []


@pytest.mark.slow
def test_no_server_errors_as_admin_many_examples(server: ServerUnderTest, fuzzed_app) -> None:
    assert fuzz(fuzzed_app, lambda: server.auth("admin"), examples=150) == []
