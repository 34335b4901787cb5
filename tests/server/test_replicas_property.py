"""The multi-replica property test of SYNC.md ("Proof that nothing is lost").

Three laptops edit one program offline (slots, and names: a non-free-text field that conflicts),
sync, lose replies after the server committed, go offline, resend, restart. At the end, after
everyone syncs twice with a working network: every replica equals the server, and every edit any
replica made is either applied on the server or recorded locally as a conflict or a rejection.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from sqlalchemy import select

from core.errors import ValidationError
from core.services import schedule
from core.services.schedule import SlotEdit
from core.store import models as m
from core.store.db import open_database
from core.sync.auth import SyncError
from server import models as sm
from tests.server.harness import Replica, ServerUnderTest, build_program, normalise

pytestmark = pytest.mark.postgres
DAYS = (dt.date(2026, 9, 14),)  # few cells, so laptops collide often


@pytest.fixture(scope="module")
def shared(server: ServerUnderTest, tmp_path_factory: pytest.TempPathFactory):
    """One program on the server and an empty migrated database file to copy for each laptop."""
    base = Path(tmp_path_factory.mktemp("replicas"))
    template = base / "template.sqlite"
    open_database(template).engine.dispose()
    tag = uuid.uuid4().hex[:8]
    user = f"coord_{tag}"
    first = Replica(base / "first.sqlite", server, user, None)
    prog = build_program(first.ctx)
    first.program_id = prog["program"].id
    server.add_user(user, "coordinator", prog["program"].id)
    first.sign_in()
    first.sync()
    first.close()
    return {"server": server, "template": template, "prog": prog, "user": user, "base": base}


def run_machine(shared, examples: int, steps: int) -> None:
    server: ServerUnderTest = shared["server"]
    prog = shared["prog"]
    pid = prog["program"].id
    people = [p.id for p in prog["residents"]] + [prog["faculty"].id]
    activities = [a.id for a in prog["activities"]]

    class Laptops(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            folder = shared["base"] / uuid.uuid4().hex[:8]
            folder.mkdir()
            self.replicas: list[Replica] = []
            for i in range(3):
                path = folder / f"laptop{i}.sqlite"
                shutil.copy(shared["template"], path)
                rep = Replica(path, server, shared["user"], pid)
                rep.sign_in()
                rep.sync()
                rep.push_batch, rep.page_size = 3, 7  # small batches and pages from here on
                self.replicas.append(rep)

        @rule(i=st.integers(0, 2), person=st.integers(0, 1), day=st.sampled_from(DAYS), slot=st.integers(0, 1),
              activity=st.one_of(st.none(), st.integers(0, 2)))
        def edit_slot(self, i: int, person: int, day: dt.date, slot: int, activity: int | None) -> None:
            act = activities[activity] if activity is not None else None
            schedule.assign_slots(self.replicas[i].ctx, [SlotEdit(people[person], day, slot, act)], reason="test")

        @rule(i=st.integers(0, 2), person=st.integers(0, 2), name=st.sampled_from(["Ann", "Bo", "Cy"]))
        def rename(self, i: int, person: int, name: str) -> None:
            def run(work):
                work.set(work.session.get(m.Person, people[person]), name=name)
            try:
                self.replicas[i].ctx.write("rename", run)
            except ValidationError:
                pass

        @rule(i=st.integers(0, 2), lose=st.integers(0, 2), offline=st.booleans())
        def sync(self, i: int, lose: int, offline: bool) -> None:
            rep = self.replicas[i]
            rep.transport.drop_next = lose
            rep.transport.offline = offline
            try:
                rep.sync()
            except SyncError:
                pass
            finally:
                rep.transport.drop_next = 0
                rep.transport.offline = False

        @rule(i=st.integers(0, 2))
        def restart(self, i: int) -> None:
            self.replicas[i].restart()

        def teardown(self) -> None:
            if not getattr(self, "replicas", None):
                return
            try:
                for _round in range(2):
                    for rep in self.replicas:
                        rep.sync()
                expected = normalise(server.rows(pid))
                with server.app.state.sessions() as s:
                    outcome = dict(s.execute(select(sm.AppliedOp.op_id, sm.AppliedOp.status)
                                             .where(sm.AppliedOp.program_id == pid)).all())
                for rep in self.replicas:
                    assert normalise(rep.rows()) == expected, f"{rep.path.name} differs from the server"
                    with rep.ctx.sessions() as s:
                        ops = list(s.scalars(select(m.OutboxRecord)))
                        kept = {c.op_id: c.kind for c in s.scalars(select(m.SyncConflict))}
                    for op in ops:
                        assert op.status != "pending", "an edit was never sent"
                        if op.status == "sent":
                            assert outcome.get(op.op_id) in ("applied", "merged"), "a sent edit is not on the server"
                        else:
                            assert kept.get(op.op_id) == op.status, "a refused edit is not visible as such"
            finally:
                for rep in self.replicas:
                    rep.close()

    run_state_machine_as_test(Laptops, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=False,
        suppress_health_check=list(HealthCheck)))


def test_three_replicas_converge_and_lose_nothing(shared) -> None:
    run_machine(shared, examples=3, steps=16)


@pytest.mark.slow
def test_three_replicas_converge_and_lose_nothing_many_examples(shared) -> None:
    run_machine(shared, examples=40, steps=30)
