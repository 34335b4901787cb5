"""The server's own schema (SQLAlchemy 2): accounts, tokens, programs, rows, the change feed.

Rows of the program are kept as JSON images keyed by (table, row id), with the version and
tombstone of SYNC.md and the natural key (the first UNIQUE constraint of core's model) so the
server can refuse what a client database would refuse. Every accepted change is appended to
`change` with the next number of its program's sequence (`program.next_seq`, read and written
under a row lock).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonType = JSON().with_variant(JSONB(), "postgresql")
ROLES = ("admin", "coordinator", "faculty", "resident", "read_only")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType}


class ServerMeta(Base):
    __tablename__ = "server_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Program(Base):
    __tablename__ = "program"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    next_seq: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Account(Base):
    __tablename__ = "account"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # None = every program (admin)
    person_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # who a resident/faculty is
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RefreshToken(Base):
    """A refresh token (only its SHA-256 is stored). Used once; a second use revokes the family."""

    __tablename__ = "refresh_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("account.id"), index=True)
    family: Mapped[str] = mapped_column(String(36), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Row(Base):
    __tablename__ = "row"
    __table_args__ = (Index("ix_row_natural_key", "program_id", "table_name", "natural_key"),)
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    version: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    natural_key: Mapped[str | None] = mapped_column(String(400), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    seq: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Change(Base):
    """The change feed: one entry per accepted op, numbered per program in commit order."""

    __tablename__ = "change"
    __table_args__ = (Index("ix_change_row", "table_name", "row_id", "version"),)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[dict[str, Any]] = mapped_column(JsonType)
    fields: Mapped[list[Any]] = mapped_column(JsonType)  # names of the fields this change set
    op_id: Mapped[str] = mapped_column(String(36))
    actor: Mapped[str] = mapped_column(String(100))
    node: Mapped[str] = mapped_column(String(64))
    hlc: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AppliedOp(Base):
    """The stored outcome of every op the server has seen: a resend gets this answer again."""

    __tablename__ = "applied_op"
    op_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("program.id"))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))  # applied | merged | conflict | rejected
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
