"""The sync protocol end to end against PostgreSQL: push, pull, merge, conflicts, rejections, resends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.services import schedule
from core.services.schedule import SlotEdit
from core.sync.auth import SyncError
from core.sync.client import pending_count
from core.sync.conflicts import list_conflicts, resolve_conflict
from server import models as sm
from tests.server.harness import Replica, ServerUnderTest, build_program, normalise

pytestmark = pytest.mark.postgres
DAY = dt.date(2026, 9, 14)


@pytest.fixture
def pair(server: ServerUnderTest, tmp_path: Path, tag: str):
    """Two coordinators' laptops on one program: A made it and pushed it, B pulled it."""
    a = Replica(tmp_path / "a.sqlite", server, f"coord_a_{tag}", None)
    prog = build_program(a.ctx)
    pid = prog["program"].id
    a.program_id = pid
    server.add_user(f"coord_a_{tag}", "coordinator", pid)
    server.add_user(f"coord_b_{tag}", "coordinator", pid)
    a.sign_in()
    a.sync()
    b = Replica(tmp_path / "b.sqlite", server, f"coord_b_{tag}", pid)
    b.sign_in()
    b.sync()
    yield a, b, prog
    a.close()
    b.close()


def assign(rep: Replica, prog, person: int, activity: int, slot: int = 0, day: dt.date = DAY, note=None):
    return schedule.assign_slots(rep.ctx, [SlotEdit(prog["residents"][person].id, day, slot,
                                                    prog["activities"][activity].id)], reason=note)


def test_push_and_pull_make_replicas_equal(pair, server: ServerUnderTest) -> None:
    a, b, prog = pair
    pid = prog["program"].id
    assert pending_count(a.engine) == 0
    assert normalise(a.rows()) == normalise(b.rows()) == normalise(server.rows(pid))
    assign(a, prog, 0, 0)
    assert pending_count(a.engine) == 1
    report = a.sync()
    assert (report.pushed, report.applied, report.conflicts, report.rejected) == (1, 1, 0, 0)
    b.sync()
    assert normalise(a.rows()) == normalise(b.rows()) == normalise(server.rows(pid))
    cell = [img for (t, _), img in b.rows().items() if t == "assignment"]
    assert len(cell) == 1 and cell[0]["activity_id"] == prog["activities"][0].id and cell[0]["version"] == 1


def test_edits_of_different_fields_merge(pair, server: ServerUnderTest) -> None:
    a, b, prog = pair
    pid = prog["program"].id
    assign(a, prog, 0, 0)
    a.sync()
    b.sync()
    # A changes the activity, B (not having seen it) changes the free-text note of the same row.
    assign(a, prog, 0, 1)
    row_id = next(rid for (t, rid) in b.rows() if t == "assignment")
    from core.store import models as m

    def set_note(work):
        work.set(work.session.get(m.Assignment, row_id), note="swap with Kim")
    b.ctx.write("note", set_note)
    assert a.sync().applied == 1
    rb = b.sync()
    assert (rb.applied, rb.conflicts) == (1, 0)
    a.sync()
    img = server.rows(pid)[("assignment", row_id)]
    assert img["activity_id"] == prog["activities"][1].id and img["note"] == "swap with Kim"
    assert normalise(a.rows()) == normalise(b.rows()) == normalise(server.rows(pid))


def test_same_field_edits_conflict_and_are_resolved(pair, server: ServerUnderTest) -> None:
    a, b, prog = pair
    pid = prog["program"].id
    assign(a, prog, 0, 0)
    a.sync()
    b.sync()
    assign(a, prog, 0, 1)  # A: Wards
    assign(b, prog, 0, 2)  # B: Lecture, same slot
    a.sync()
    rb = b.sync()
    assert rb.conflicts == 1
    # Nothing applied from B; B now shows the server's value and keeps the conflict with both versions.
    assert normalise(b.rows()) == normalise(server.rows(pid))
    [c] = list_conflicts(b.ctx)
    assert c.kind == "conflict" and c.server_actor == a.username
    assert ("activity_id", prog["activities"][2].id, prog["activities"][1].id) in c.differences()
    # The coordinator keeps theirs (B's) version: a new op, which the server applies.
    resolve_conflict(b.ctx, c.id, "mine")
    assert b.sync().applied == 1
    a.sync()
    row = [img for (t, _), img in server.rows(pid).items() if t == "assignment"][0]
    assert row["activity_id"] == prog["activities"][2].id
    assert list_conflicts(b.ctx) == []
    assert normalise(a.rows()) == normalise(b.rows()) == normalise(server.rows(pid))


def test_edit_versus_delete_is_surfaced(pair, server: ServerUnderTest) -> None:
    a, b, prog = pair
    assign(a, prog, 0, 0)
    a.sync()
    b.sync()
    schedule.clear_slots(a.ctx, [(prog["residents"][0].id, DAY, 0)])  # A deletes
    assign(b, prog, 0, 2)  # B edits
    a.sync()
    rb = b.sync()
    assert rb.conflicts == 1
    [c] = list_conflicts(b.ctx)
    assert "deleted" in c.reason
    assert normalise(b.rows()) == normalise(server.rows(prog["program"].id))


def test_one_activity_per_slot_is_enforced_by_the_server(pair, server: ServerUnderTest) -> None:
    a, b, prog = pair
    assign(a, prog, 1, 0, slot=1)
    assign(b, prog, 1, 2, slot=1)  # both create a row for the same person x date x slot
    a.sync()
    rb = b.sync()
    assert rb.rejected == 1
    [c] = list_conflicts(b.ctx)
    assert c.kind == "rejected" and "one activity per person per slot" in c.reason
    assert normalise(a.rows()) == normalise(b.rows()) == normalise(server.rows(prog["program"].id))
    with pytest.raises(Exception, match="cannot be kept"):
        resolve_conflict(b.ctx, c.id, "mine")
    resolve_conflict(b.ctx, c.id, "dismiss")
    assert list_conflicts(b.ctx) == []


def test_resend_after_a_lost_reply_applies_nothing_twice(pair, server: ServerUnderTest) -> None:
    a, b, prog = pair
    pid = prog["program"].id
    for person, act in ((0, 0), (1, 1)):
        assign(a, prog, person, act)
    def count(model, **where):
        with server.app.state.sessions() as s:
            return s.query(model).filter_by(program_id=pid, **where).count()
    before = count(sm.Change)
    a.transport.drop_next = 1  # the server commits, the reply never arrives
    with pytest.raises(SyncError):
        a.sync()
    assert pending_count(a.engine) == 2
    assert count(sm.Change) == before + 2
    report = a.sync()  # resend: the stored outcomes come back
    assert report.applied == 2 and pending_count(a.engine) == 0
    assert count(sm.Change) == before + 2
    assert count(sm.AppliedOp, status="applied") == before + 2
    b.sync()
    assert normalise(a.rows()) == normalise(b.rows()) == normalise(server.rows(pid))


def test_sequence_numbers_are_dense_and_the_feed_pages(pair, server: ServerUnderTest) -> None:
    a, _b, prog = pair
    pid = prog["program"].id
    r = server.client.get(f"/v1/programs/{pid}/changes", params={"after": 0, "limit": 5}, headers=server.auth("admin"))
    page = r.json()
    assert r.status_code == 200 and page["has_more"] and [c["seq"] for c in page["changes"]] == [1, 2, 3, 4, 5]
    assert page["next_cursor"] == 5
    seqs = []
    cursor = 0
    while True:
        page = server.client.get(f"/v1/programs/{pid}/changes", params={"after": cursor, "limit": 50},
                                 headers=server.auth("admin")).json()
        seqs += [c["seq"] for c in page["changes"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == len(server.rows(pid))


def test_schema_mismatch_gets_update_the_program(server: ServerUnderTest) -> None:
    r = server.client.post("/v1/auth/login", json={"username": "admin", "password": "x"},
                           headers={"X-Rsched-Schema": "999"})
    assert r.status_code == 426 and "update the program" in r.json()["detail"]
    r = server.client.get("/v1/me")
    assert r.status_code == 426


def test_openapi_is_served(server: ServerUnderTest) -> None:
    doc = server.client.get("/openapi.json").json()
    assert "/v1/programs/{program_id}/push" in doc["paths"]
    for path, ops in doc["paths"].items():
        for method, spec in ops.items():
            assert "200" in spec["responses"] or "201" in spec["responses"], (path, method)
            ok = spec["responses"].get("200") or spec["responses"].get("201")
            assert ok["content"]["application/json"]["schema"], (path, method)
