"""Request and response models of the HTTP API (every endpoint declares its response model)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "coordinator", "faculty", "resident", "read_only"]
Id = Field(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_.:-]+$")
MAX_OPS_PER_PUSH = 1000
MAX_PAGE = 5000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    detail: str


class Health(BaseModel):
    status: Literal["ok"]
    schema_version: int
    server_version: str


NO_NUL = r"^[^\x00]*$"


class LoginRequest(Strict):
    username: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    password: str = Field(min_length=1, max_length=1000)


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")
    role: Role
    account_id: str
    program_id: str | None
    person_id: str | None


class LoggedOut(BaseModel):
    revoked: int


class AccountIn(Strict):
    username: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
    password: str = Field(min_length=8, max_length=1000)
    role: Role
    program_id: str | None = Field(default=None, min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_.:-]+$")
    person_id: str | None = Field(default=None, min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_.:-]+$")


class AccountOut(BaseModel):
    id: str
    username: str
    role: Role
    program_id: str | None
    person_id: str | None
    active: bool


class ProgramIn(Strict):
    id: str = Id
    name: str = Field(default="", max_length=200, pattern=r"^[^\x00]*$")


class ProgramOut(BaseModel):
    id: str
    name: str
    last_seq: int


class PushOp(Strict):
    op_id: str = Id
    table: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")
    row_id: str = Id
    op: Literal["insert", "update", "delete"]
    base_version: int = Field(ge=0, le=2**31 - 1)
    fields: dict[str, Any] = Field(default_factory=dict)
    hlc: str = Field(default="", max_length=64, pattern=r"^[^\x00]*$")


class PushRequest(Strict):
    node: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    ops: list[PushOp] = Field(max_length=MAX_OPS_PER_PUSH)


class ServerRow(BaseModel):
    table: str
    row_id: str
    version: int
    deleted: bool
    data: dict[str, Any]
    actor: str
    at: dt.datetime


class OpResult(BaseModel):
    op_id: str
    status: Literal["applied", "merged", "conflict", "rejected"]
    version: int | None = None
    seq: int | None = None
    reason: str | None = None
    server_row: ServerRow | None = Field(
        default=None, description="for a conflict or rejection: the row as the server has it now"
    )


class PushResponse(BaseModel):
    results: list[OpResult]
    last_seq: int


class ChangeOut(BaseModel):
    seq: int
    table: str
    row_id: str
    version: int
    deleted: bool
    data: dict[str, Any]
    fields: list[str]
    actor: str
    node: str
    hlc: str
    at: dt.datetime


class ChangesPage(BaseModel):
    changes: list[ChangeOut]
    next_cursor: int
    has_more: bool
