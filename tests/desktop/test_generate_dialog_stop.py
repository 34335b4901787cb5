"""The Generate dialog stopped while the model is still being built: the build gives up, the dialog
says that no schedule was found, keeps no draft and is ready to generate again."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

# The offscreen platform says this when a top-level dialog is shown; it is not about this code.
pytestmark = [pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")]


def test_stop_during_the_model_build(qtbot: Any, app_context: Any, program_file: Path, sample: Any,
                                     fixed_clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.solver.residency as residency
    from core.services.base import ServiceContext
    from core.store.db import open_database
    from desktop.views.generate import GenerateDialog

    entered = threading.Event()
    parts: list[str] = []
    real_slot_rules = residency._Built._build_slot_rules

    def slot_rules(self: Any) -> None:  # on the solve thread: hold the build until Stop was pressed
        parts.append("slot rules")
        entered.set()
        dlg._stop.wait(30)
        real_slot_rules(self)

    def objective(self: Any) -> None:
        parts.append("objective")

    monkeypatch.setattr(residency._Built, "_build_slot_rules", slot_rules)
    monkeypatch.setattr(residency._Built, "_build_objective", objective)
    opened = open_database(program_file)
    ctx = ServiceContext(opened.engine, actor="tester", clock=fixed_clock)
    dlg = GenerateDialog(ctx, sample.program_id, [(1, "Block 1")], app_context.workers, year=2026)
    qtbot.addWidget(dlg)
    dlg.show()
    try:
        dlg.limit_box.setValue(60)
        dlg.generate_button.click()
        qtbot.waitUntil(entered.is_set, timeout=60_000)
        assert dlg.running and dlg.cancel_button.isEnabled()
        dlg.cancel_button.click()
        qtbot.waitUntil(lambda: not dlg.running and dlg.generate_button.isEnabled(), timeout=30_000)
        assert parts == ["slot rules"]  # the build stopped before its objective
        assert "No schedule was found for this block before it was cancelled." in dlg.status.text()
        assert dlg.draft is None and dlg.result is None and not dlg.chart.points
        assert not dlg.publish_button.isEnabled() and not dlg.cancel_button.isEnabled()
        assert dlg.generate_button.isEnabled()
    finally:
        dlg._stop.set()
        app_context.workers.shutdown()
        opened.engine.dispose()
