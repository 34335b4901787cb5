"""The schedule's calendar tabs (person, academic year, today) read nothing while hidden: opening
a program and loading its first block runs only the block's own load; a tab loads when shown."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

CALENDAR_KINDS = {"person-calendar", "year-overview", "today"}


def test_hidden_calendar_tabs_load_when_first_shown(qtbot, app_context, program_file):
    from desktop.main_window import MainWindow

    kinds: list[str] = []
    real_start = app_context.workers.start

    def spy(kind, fn, *args, **kwargs):
        kinds.append(kind)
        return real_start(kind, fn, *args, **kwargs)

    app_context.workers.start = spy
    w = MainWindow(app_context)
    qtbot.addWidget(w)
    w.show()
    w.start(program_file)
    qtbot.waitUntil(lambda: w.session.block is not None, timeout=30_000)
    qtbot.wait(50)
    assert not CALENDAR_KINDS & set(kinds), kinds
    tabs = w.schedule_tabs
    year = tabs.widget(2)
    tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: year.model.rowCount() > 0, timeout=10_000)
    assert "year-overview" in kinds and not {"person-calendar", "today"} & set(kinds)
    # shown again after a hidden change: it reloads once more
    tabs.setCurrentIndex(0)
    n = kinds.count("year-overview")
    year.reload()
    assert kinds.count("year-overview") == n
    tabs.setCurrentIndex(2)
    assert kinds.count("year-overview") == n + 1
    w.close()
