"""The Sync view: offline never blocks, conflicts are listed and resolved."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool

from core.services import programs
from core.services.base import ServiceContext
from core.store import models as m
from core.store.db import open_database
from core.sync.auth import CredentialStore
from desktop.views.sync_view import SyncView
from desktop.workers import WorkerManager


@pytest.fixture
def view(qtbot, tmp_path: Path):
    engine = open_database(tmp_path / "p.sqlite").engine
    ctx = ServiceContext(engine, clock=lambda: dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    prog = programs.create_program(ctx, "V", start_year=2026).value
    pool, writer = QThreadPool(), QThreadPool()
    writer.setMaxThreadCount(1)
    workers = WorkerManager(pool, writer)
    v = SyncView(ctx, prog.id, workers, store=CredentialStore(use_keyring=False))
    qtbot.addWidget(v)
    yield v, ctx, prog
    workers.shutdown()
    engine.dispose()


def test_unreachable_server_is_reported_without_blocking(qtbot, view) -> None:
    v, _ctx, _prog = view
    assert "asked for the password each time" in v.notice.text()
    assert not v.pending_label.text().startswith("0 ")  # the program's creation waits to be sent
    v.url.setText("http://127.0.0.1:9")
    v.user.setText("coord")
    v.password.setText("secret password")
    v.sign_in()
    assert v.password.text() == ""  # never kept in the widget
    qtbot.waitUntil(lambda: "cannot be reached" in v.status.text(), timeout=10_000)
    assert v.sync_button.isEnabled()


def test_conflicts_are_listed_and_resolved(qtbot, view) -> None:
    v, ctx, prog = view
    with ctx.sessions() as s:
        s.add(m.SyncConflict(op_id="op1", kind="conflict", table_name="program", row_id=prog.id, op="update",
                             local_fields={"name": "Mine"}, local_previous={"name": "V"},
                             server_row={"name": "Theirs"}, server_version=2, server_actor="other",
                             reason="Changed on another device too: name.", created_at=ctx.clock()))
        s.commit()
    v.refresh()
    assert v.model.rowCount() == 1
    assert "name: Mine / Theirs" in v.model.data(v.model.index(0, 2))
    v.table.selectRow(0)
    v.theirs_button.click()
    assert v.model.rowCount() == 0
