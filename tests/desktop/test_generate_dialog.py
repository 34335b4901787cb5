"""The Generate dialog offscreen: generate, stop (the best so far becomes the draft), generate again,
review, publish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# The offscreen platform says this when a top-level dialog is shown; it is not about this code.
pytestmark = [pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"), pytest.mark.slow]


@pytest.fixture
def dialog(qtbot: Any, app_context: Any, program_file: Path, sample: Any, fixed_clock: Any) -> Any:
    from core.services.base import ServiceContext
    from core.store.db import open_database
    from desktop.views.generate import GenerateDialog

    opened = open_database(program_file)
    ctx = ServiceContext(opened.engine, actor="tester", clock=fixed_clock)
    dlg = GenerateDialog(ctx, sample.program_id, [(1, "Block 1")], app_context.workers, year=2026)
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    dlg._stop.set()
    app_context.workers.shutdown()
    opened.engine.dispose()


def test_generate_stop_generate_again_review_publish(qtbot: Any, dialog: Any) -> None:
    from sqlalchemy import func, select

    from core.store import models as m

    # 1. generate with a long limit, stop as soon as a first schedule is reported
    dialog.limit_box.setValue(120)
    dialog.generate_button.click()
    assert dialog.running and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: len(dialog.chart.points) > 0, timeout=60_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running and dialog.draft is not None, timeout=30_000)
    assert dialog.result.cancelled and dialog.result.found
    assert dialog.result.objective == min(o for _, o, _ in dialog.chart.points)
    first = dialog.draft.id

    # 2. generate again (a short run to its end); the review shows the diff, violations, unfilled
    dialog.limit_box.setValue(4)
    dialog.generate_button.click()
    qtbot.waitUntil(lambda: not dialog.running and dialog.draft is not None and dialog.draft.id != first,
                    timeout=60_000)
    assert dialog.diff_view.model().rowCount() == len(dialog.draft.changes) + len(dialog.draft.call_changes)
    assert dialog.violation_view.model().rowCount() == len(dialog.draft.violations)
    assert dialog.unfilled_view.model().rowCount() == len(dialog.draft.unfilled)
    assert dialog.publish_button.isEnabled()
    assert "Draft ready" in dialog.status.text()

    # 3. publish: one PublishedVersion, the draft closed
    draft_id = dialog.draft.id
    with qtbot.waitSignal(dialog.published, timeout=30_000):
        dialog.publish_button.click()
    with dialog.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.PublishedVersion)) == 1
        assert s.get(m.Draft, draft_id).status == "published"
        assert s.get(m.Draft, first).status == "open"
