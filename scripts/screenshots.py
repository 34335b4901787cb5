"""Screenshots of each main view of the desktop program, from the real window.

    .venv/bin/python scripts/screenshots.py [--db FILE] [--out docs/screenshots]

Without --db the typical demo is built into a temporary file (`core.demo.create_demo`). The window
runs on Qt's offscreen platform unless a display is set (xvfb-run works too) and each page is
grabbed with QWidget.grab() into a PNG.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VIEWS = (
    ("block-grid", "Schedule", 0),
    ("person-month", "Schedule", 1),
    ("academic-year", "Schedule", 2),
    ("today", "Schedule", 3),
    ("compliance", "Compliance", None),
    ("people", "People", None),
    ("rotations", "Rotations & Activities", 0),
    ("activities", "Rotations & Activities", 1),
    ("rule-set", "Settings", None),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    tmp = Path(tempfile.mkdtemp(prefix="rsched-shots-"))
    db = args.db
    if db is None:
        from core.demo import create_demo
        from core.store.db import open_database

        db = tmp / "demo.sqlite"
        opened = open_database(db)
        create_demo(opened.engine, size="typical", year=2026)
        opened.engine.dispose()

    from desktop.app import AppContext
    from desktop.main_window import MainWindow

    # A fixed "today" inside the demo year, so the Today page and the first block have content.
    now = dt.datetime(2026, 10, 13, 9, 0, tzinfo=dt.UTC)
    context = AppContext.create(settings=QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat),
                                clock=lambda: now, default_db=tmp / "default.sqlite")
    window = MainWindow(context)
    window.resize(1400, 860)
    window.show()
    window.start(db)

    def wait(cond: object, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.01)

    def settle(seconds: float = 1.0) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    wait(lambda: window.session.block is not None)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, page, tab in VIEWS:
        widget = window.show_page(page)
        if tab is not None:
            (window.schedule_tabs if page == "Schedule" else widget).setCurrentIndex(tab)
        if name == "compliance":
            view = widget.view
            row = next((r for r in range(widget.proxy.rowCount())
                        if widget.proxy.index(r, 0).data() in ("H80", "H80W", "C24", "R14", "OFF7")), 0)
            view.setCurrentIndex(widget.proxy.index(row, 0))
        if name == "people":
            widget.view.selectRow(0)
        if name in ("rotations", "activities"):
            window.pages[page].widget(tab).view.selectRow(0)
        settle(1.5)
        path = args.out / f"{name}.png"
        window.grab().save(str(path))
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    window.close()
    context.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
