"""The role matrix: every endpoint x every role, allowed and refused (SYNC.md "Accounts and roles")."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from core.sync.rows import encode_row
from tests.server.harness import ROLES, H, Replica, ServerUnderTest, build_program

pytestmark = pytest.mark.postgres

ALLOWED = {
    "me": set(ROLES),
    "list_accounts": {"admin"},
    "create_account": {"admin"},
    "list_programs": set(ROLES),
    "create_program": {"admin"},
    "push": {"admin", "coordinator", "faculty", "resident"},
    "changes": set(ROLES),
}


@pytest.fixture(scope="module")
def world(server: ServerUnderTest, tmp_path_factory: pytest.TempPathFactory):
    tag = uuid.uuid4().hex[:8]
    rep = Replica(Path(tmp_path_factory.mktemp("roles")) / "c.sqlite", server, f"coord_{tag}", None)
    prog = build_program(rep.ctx)
    pid = prog["program"].id
    rep.program_id = pid
    users = {}
    for role in ROLES:
        name = f"{role}_{tag}"
        person = prog["residents"][0].id if role == "resident" else prog["faculty"].id if role == "faculty" else None
        server.add_user(name, role, None if role == "admin" else pid, person)
        users[role] = name
    server.add_user(rep.username, "coordinator", pid)
    rep.sign_in()
    rep.sync()
    yield server, pid, prog, users
    rep.close()


def call(server: ServerUnderTest, endpoint: str, headers: dict[str, str], pid: str, prog) -> int:
    c = server.client
    if endpoint == "me":
        return c.get("/v1/me", headers=headers).status_code
    if endpoint == "list_accounts":
        return c.get("/v1/accounts", headers=headers).status_code
    if endpoint == "create_account":
        return c.post("/v1/accounts", headers=headers, json={
            "username": f"new_{uuid.uuid4().hex[:8]}", "password": "long enough", "role": "read_only",
            "program_id": pid}).status_code
    if endpoint == "list_programs":
        return c.get("/v1/programs", headers=headers).status_code
    if endpoint == "create_program":
        return c.post("/v1/programs", headers=headers, json={"id": uuid.uuid4().hex, "name": "x"}).status_code
    if endpoint == "push":
        return c.post(f"/v1/programs/{pid}/push", headers=headers, json={"node": "matrix", "ops": []}).status_code
    if endpoint == "changes":
        return c.get(f"/v1/programs/{pid}/changes", headers=headers, params={"limit": 2}).status_code
    raise AssertionError(endpoint)


@pytest.mark.parametrize("endpoint", sorted(ALLOWED))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(world, endpoint: str, role: str) -> None:
    server, pid, prog, users = world
    status = call(server, endpoint, server.auth(users[role]), pid, prog)
    if role in ALLOWED[endpoint]:
        assert 200 <= status < 300, (endpoint, role, status)
    else:
        assert status == 403, (endpoint, role, status)


@pytest.mark.parametrize("endpoint", sorted(ALLOWED))
def test_every_protected_endpoint_refuses_no_or_bad_token(world, endpoint: str) -> None:
    server, pid, prog, _users = world
    assert call(server, endpoint, H, pid, prog) == 401
    assert call(server, endpoint, {**H, "Authorization": "Bearer forged.token"}, pid, prog) == 401


def test_other_programs_are_refused(world) -> None:
    server, _pid, prog, users = world
    for role in ("coordinator", "resident", "read_only"):
        assert call(server, "changes", server.auth(users[role]), "someone-elses", prog) == 403
        assert call(server, "push", server.auth(users[role]), "someone-elses", prog) == 403


def _op(table: str, fields: dict, op: str = "insert", row_id: str | None = None, base: int = 0) -> dict:
    return {"op_id": str(uuid.uuid4()), "table": table, "row_id": row_id or str(uuid.uuid4()), "op": op,
            "base_version": base, "fields": encode_row(fields), "hlc": ""}


def _absence(person_id: str, status: str = "pending") -> dict:
    import datetime as dt
    return {"person_id": person_id, "type": "vacation", "start_date": dt.date(2026, 10, 5),
            "end_date": dt.date(2026, 10, 9), "status": status, "blocking": True, "counts_away": True,
            "note": None, "deleted": False}


def _assignment(prog) -> dict:
    import datetime as dt
    return {"person_id": prog["residents"][0].id, "date": dt.date(2026, 10, 20), "slot": 0,
            "activity_id": prog["activities"][0].id, "rotation_id": None, "source": "manual", "locked": True,
            "note": None, "deleted": False}


@pytest.mark.parametrize("role", ROLES)
def test_op_level_permissions(world, role: str) -> None:
    """Only a coordinator (or admin) edits assignments; residents/faculty request their own leave."""
    server, pid, prog, users = world
    me = prog["residents"][0].id if role == "resident" else prog["faculty"].id
    other = prog["residents"][1].id
    ops = [_op("assignment", _assignment(prog) | {"date": __import__("datetime").date(2026, 10, 20 + ROLES.index(role))}),
           _op("absence", _absence(me)), _op("absence", _absence(other)), _op("absence", _absence(me, "approved"))]
    r = server.client.post(f"/v1/programs/{pid}/push", headers=server.auth(users[role]),
                           json={"node": f"n-{role}", "ops": ops})
    if role == "read_only":
        assert r.status_code == 403
        return
    assert r.status_code == 200, r.text
    statuses = [res["status"] for res in r.json()["results"]]
    reasons = [res["reason"] for res in r.json()["results"]]
    if role in ("admin", "coordinator"):
        assert statuses == ["applied"] * 4
    else:
        assert statuses == ["rejected", "applied", "rejected", "rejected"], reasons
        assert "coordinator" in reasons[0] and "own" in reasons[2] and "pending" in reasons[3]


def test_resident_accepts_only_swaps_offered_to_them(world) -> None:
    import datetime as dt
    server, pid, prog, users = world
    r1, r2 = prog["residents"][0].id, prog["residents"][1].id
    swap = {"program_id": pid, "kind": "giveaway", "status": "requested", "requester_id": r2,
            "counterpart_id": r1, "created_at": dt.datetime(2026, 6, 1, tzinfo=dt.UTC), "expires_at": None,
            "accepted_at": None, "approved_at": None, "approved_by": None, "executed_at": None, "note": None,
            "override_reason": None, "checks": {}, "executed_changes": {}, "deleted": False}
    offered = _op("swap_request", swap)
    not_mine = _op("swap_request", swap | {"counterpart_id": prog["faculty"].id})
    r = server.client.post(f"/v1/programs/{pid}/push", headers=server.auth(users["coordinator"]),
                           json={"node": "coord", "ops": [offered, not_mine]})
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied"]
    accept = _op("swap_request", {"status": "accepted"}, "update", offered["row_id"], 1)
    steal = _op("swap_request", {"status": "accepted"}, "update", not_mine["row_id"], 1)
    approve = _op("swap_request", {"status": "approved"}, "update", offered["row_id"], 2)
    r = server.client.post(f"/v1/programs/{pid}/push", headers=server.auth(users["resident"]),
                           json={"node": "res", "ops": [accept, steal, approve]})
    assert [x["status"] for x in r.json()["results"]] == ["applied", "rejected", "rejected"]
