"""Small read-only queries the screens need (status bar, overviews, lists)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.services.base import ServiceContext
from core.services.records import RuleSetRecord
from core.store import models as m


def pending_sync_count(ctx: ServiceContext) -> int:
    """How many local changes wait to be pushed to the sync server (pending outbox rows)."""
    return ctx.read(
        lambda s: int(s.scalar(select(func.count()).select_from(m.OutboxRecord).where(m.OutboxRecord.status == "pending")) or 0)
    )


def has_program(ctx: ServiceContext) -> bool:
    """Whether the database holds a (not deleted) program."""
    return ctx.read(lambda s: s.scalar(select(m.Program.id).where(m.Program.deleted.is_(False)).limit(1)) is not None)


@dataclass(frozen=True)
class RotationSlot:
    """A resident's rotation in one block (half 0) or half-block (1, 2)."""

    person_id: str
    block_id: str
    block_number: int
    half: int
    rotation_id: str


def rotation_plan(ctx: ServiceContext, academic_year_id: str) -> list[RotationSlot]:
    """Every live rotation assignment of an academic year (people x blocks -> rotation)."""

    def run(s: Session) -> list[RotationSlot]:
        q = (
            select(m.RotationAssignment.person_id, m.Block.id, m.Block.number, m.RotationAssignment.half,
                   m.RotationAssignment.rotation_id)
            .join(m.Block, m.Block.id == m.RotationAssignment.block_id)
            .where(m.Block.academic_year_id == academic_year_id, m.RotationAssignment.deleted.is_(False))
            .order_by(m.Block.number, m.RotationAssignment.half)
        )
        return [RotationSlot(*row) for row in s.execute(q)]

    return ctx.read(run)


def list_rule_sets(ctx: ServiceContext, program_id: str) -> list[RuleSetRecord]:
    """Every version of the program's rule set, newest first."""

    def run(s: Session) -> list[RuleSetRecord]:
        q = (select(m.RuleSet).where(m.RuleSet.program_id == program_id, m.RuleSet.deleted.is_(False))
             .order_by(m.RuleSet.number.desc()))
        return [RuleSetRecord.of(r) for r in s.scalars(q)]

    return ctx.read(run)
