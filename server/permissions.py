"""The five roles (SYNC.md) and what each may do.

Endpoint level: `ENDPOINT_ROLES` says which roles may call what. Op level (`op_refusal`): a
coordinator (and an admin) may change any row; a resident or faculty member may request leave for
themselves, cancel their own pending request, request a swap of their own shifts, cancel their own
swap, and accept or decline a swap offered to them; nothing else. read_only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EDITORS = frozenset({"admin", "coordinator"})
MEMBERS = frozenset({"admin", "coordinator", "faculty", "resident", "read_only"})

ENDPOINT_ROLES: dict[str, frozenset[str]] = {
    "me": MEMBERS,
    "list_accounts": frozenset({"admin"}),
    "create_account": frozenset({"admin"}),
    "list_programs": MEMBERS,
    "create_program": frozenset({"admin"}),
    "push": frozenset({"admin", "coordinator", "faculty", "resident"}),
    "changes": MEMBERS,
}

SELF_SERVICE = {"absence", "swap_request", "swap_item"}
ABSENCE_FIELDS = {"type", "start_date", "end_date", "note", "status", "blocking", "counts_away"}


def op_refusal(
    role: str,
    person_id: str | None,
    table: str,
    kind: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    changed: set[str],
    lookup: Any,
) -> str | None:
    """Why this role may not make this change, or None when it may.

    `before`/`after` are the row images (None before an insert); `lookup(table, id)` returns
    another row's image (the swap of a swap item).
    """
    if role in EDITORS:
        return None
    if role == "read_only":
        return "A read-only account cannot change the schedule."
    if table not in SELF_SERVICE:
        return f"A {role} account may not change {table.replace('_', ' ')} rows; a coordinator does that."
    if not person_id:
        return "Your account is not linked to a person in this program; ask the coordinator."
    if table == "absence":
        if after.get("person_id") != person_id or (before is not None and before.get("person_id") != person_id):
            return "You may request or cancel only your own leave."
        if kind == "insert":
            return None if after.get("status") == "pending" else "A leave request starts as pending; a coordinator approves it."
        assert before is not None
        if before.get("status") != "pending":
            return "Only a pending leave request can be changed by its requester."
        if not changed <= ABSENCE_FIELDS | {"deleted"}:
            return "You may change only the dates, type, note or status of your request."
        if after.get("status") not in ("pending", "cancelled"):
            return "Only a coordinator approves or denies leave."
        return None
    if table == "swap_request":
        if kind == "insert":
            if after.get("requester_id") != person_id:
                return "You may request swaps only of your own shifts."
            return None if after.get("status") == "requested" else "A swap request starts as requested."
        assert before is not None
        if not changed <= {"status", "note", "accepted_at"}:
            return "You may only accept, decline or cancel a swap; a coordinator approves it."
        new_status = after.get("status")
        if before.get("requester_id") == person_id and new_status in (before.get("status"), "cancelled"):
            return None
        if (
            before.get("counterpart_id") == person_id
            and before.get("status") == "requested"
            and new_status in ("accepted", "declined", "requested")
        ):
            return None
        return "You may cancel your own swap, or accept or decline one offered to you; a coordinator approves swaps."
    # swap_item: belongs to a swap the person requested that is still open.
    swap = lookup("swap_request", str(after.get("swap_id")))
    if swap is None or swap.get("requester_id") != person_id or swap.get("status") != "requested":
        return "You may change the items only of your own open swap request."
    return None
