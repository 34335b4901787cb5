"""The server runs core's duty-hour hard rules before accepting assignment and call ops."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.services import schedule
from core.services.schedule import CallEdit
from core.sync.conflicts import list_conflicts
from tests.server.harness import Replica, ServerUnderTest, build_program

pytestmark = pytest.mark.postgres
NIGHT = dt.date(2026, 10, 5)


@pytest.fixture
def coordinator(server: ServerUnderTest, tmp_path: Path, tag: str):
    a = Replica(tmp_path / "a.sqlite", server, f"coord_hr_{tag}", None)
    prog = build_program(a.ctx)
    a.program_id = prog["program"].id
    server.add_user(f"coord_hr_{tag}", "coordinator", a.program_id)
    a.sign_in()
    a.sync()
    yield a, prog
    a.close()


def _calls(rep: Replica, person: str, nights: list[dt.date]) -> None:
    schedule.set_calls(rep.ctx, [CallEdit(person, d, "in_house") for d in nights], reason="test")


def test_a_call_that_breaks_a_critical_duty_rule_is_rejected_with_the_rule(coordinator, server) -> None:
    a, prog = coordinator
    lee, kim = (r.id for r in prog["residents"])
    _calls(a, lee, [NIGHT])
    first = a.sync()
    assert (first.applied, first.rejected) == (1, 0)  # one call night is fine
    # Back-to-back in-house nights for Lee (an unbroken duty period far beyond 24 + 4 h), and an
    # ordinary night for Kim in the same push.
    _calls(a, lee, [NIGHT + dt.timedelta(days=1)])
    _calls(a, kim, [NIGHT + dt.timedelta(days=10)])
    report = a.sync()
    assert (report.pushed, report.applied, report.rejected) == (2, 1, 1)
    [refused] = [c for c in list_conflicts(a.ctx) if c.kind == "rejected"]
    assert refused.table == "call_assignment"
    assert refused.reason.startswith("A hard rule would be broken (C24)")
    rows = server.rows(a.program_id)
    nights = sorted((img["person_id"], img["date"]) for (t, _), img in rows.items()
                    if t == "call_assignment" and not img["deleted"])
    assert nights == sorted([(lee, NIGHT.isoformat()), (kim, (NIGHT + dt.timedelta(days=10)).isoformat())])


def test_an_edit_that_adds_no_violation_passes_even_when_one_exists(coordinator, server) -> None:
    a, prog = coordinator
    lee = prog["residents"][0].id
    _calls(a, lee, [NIGHT])
    a.sync()
    # Lee's second night is refused; clearing the first night afterwards adds nothing and passes.
    _calls(a, lee, [NIGHT + dt.timedelta(days=1)])
    assert a.sync().rejected == 1
    schedule.set_calls(a.ctx, [CallEdit(lee, NIGHT, None)], reason="test")
    report = a.sync()
    assert (report.applied, report.rejected) == (1, 0)


def test_the_scratch_database_is_empty_again_after_each_check() -> None:
    # The checks share one in-memory engine (statements compiled once); each check's rows must be
    # gone afterwards, or the next check in that thread would collide with them and be skipped.
    from sqlalchemy import func, insert, select
    from sqlalchemy.orm import Session

    from core.store import models as m
    from server.hard_rules import _scratch

    row = {"id": "p1", "version": 1, "deleted": False, "name": "P", "time_zone": "UTC", "settings": {}}
    for _ in range(2):
        with Session(_scratch()) as s:
            s.execute(insert(m.Program.__table__), [row])
            assert s.scalar(select(func.count()).select_from(m.Program)) == 1
            s.rollback()
        with Session(_scratch()) as s:
            assert s.scalar(select(func.count()).select_from(m.Program)) == 0
