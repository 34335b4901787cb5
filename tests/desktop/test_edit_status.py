"""After an edit the status bar's pending-sync count comes with the write from the writer thread
(no extra worker per edit)."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

JUL_6 = dt.date(2026, 7, 6)


def test_edit_updates_the_pending_sync_count_without_a_status_worker(window, qtbot, sample):
    session = window.session
    qtbot.waitUntil(lambda: session.data is not None and window.sync_label.text().startswith("Pending sync: "),
                    timeout=10_000)
    before = session.data.pending_sync
    kinds: list[str] = []
    workers = window.app.workers
    real_start = workers.start

    def spy(kind, fn, *args, **kwargs):
        kinds.append(kind)
        return real_start(kind, fn, *args, **kwargs)

    workers.start = spy  # type: ignore[method-assign]
    try:
        act = session.data.activity_by_code("ADM")
        assert act is not None
        with qtbot.waitSignal(session.slots_changed, timeout=10_000):
            session.assign([(sample.residents[0], JUL_6, 1, act.id)])
    finally:
        workers.start = real_start  # type: ignore[method-assign]
    assert session.data.pending_sync > before  # the edit's outbox record(s)
    assert window.sync_label.text() == f"Pending sync: {session.data.pending_sync}"
    assert "" in kinds and "status" not in kinds  # the write itself; no worker for the status bar
