"""Start the desktop program: build the application context and the main window.

`AppContext` is passed explicitly to every window and view (no global singletons): the QSettings
for UI state, the two thread pools (one single-thread writer for database writes, a QThreadPool
for analyses), the worker manager, the clock and the default database location. The open program
(database + services) is held by `desktop.program.ProgramSession`, which the context creates.

Heavy libraries (matplotlib, OR-Tools, openpyxl) are imported where first needed, never here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QThreadPool

from desktop.workers import WorkerManager

_IMPORTED_AT = time.perf_counter()

APP_NAME = "ResidencyScheduler"
ORG_NAME = "ResidencyScheduler"
EXIT_NO_DISPLAY = 2

NO_DISPLAY_MESSAGE = """\
Residency Scheduler needs a graphical display, and none was found (DISPLAY and WAYLAND_DISPLAY
are not set).

  - On a server or in a terminal session, run it under a virtual display:
        xvfb-run python -m desktop [--db FILE]
  - Or use the command line, which needs no display:
        rsched --help          (e.g. rsched info, rsched check, rsched demo --db FILE)
  - Or choose a Qt platform explicitly, e.g. QT_QPA_PLATFORM=offscreen (no visible window).
"""


def guard_none_refcount() -> None:
    """Work around a reference leak in PySide6 6.12 on CPython < 3.12.

    Reproduced here: with PySide6 6.12.0 on Python 3.11, each call of a void Qt method (e.g.
    QPainter.save/restore/setPen/setBrush/fillRect) drops one reference to None without taking
    one (1000 calls of QPainter.save() lower sys.getrefcount(None) by 1000). The block grid's
    delegate makes about ten such calls per cell, so repainting the large grid a few dozen times
    brought the count to zero and CPython aborted with "none_dealloc: deallocating None".
    None is immortal from Python 3.12 on; before that we give it a very large reference count
    once, which is harmless (None is never freed) and keeps the program alive.
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    import ctypes

    refcnt = ctypes.c_ssize_t.from_address(id(None))
    if refcnt.value < 1 << 40:
        refcnt.value += 1 << 40


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_db_path() -> Path:
    """The per-user program database (the same file the rsched command uses by default)."""
    try:
        from core.commands import default_db_path as core_default
    except ImportError:  # pragma: no cover - the CLI helpers are part of core
        from platformdirs import user_data_dir

        return Path(user_data_dir(APP_NAME, appauthor=False)) / "program.sqlite"
    return core_default()


@dataclass
class AppContext:
    """What the windows need, built once in `main` (or by a test) and passed down."""

    settings: QSettings
    writer_pool: QThreadPool
    analysis_pool: QThreadPool
    workers: WorkerManager
    clock: Callable[[], dt.datetime] = _utcnow
    actor: str = "coordinator"
    default_db: Path = field(default_factory=default_db_path)

    @classmethod
    def create(
        cls,
        *,
        settings: QSettings | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        actor: str | None = None,
        default_db: Path | None = None,
    ) -> AppContext:
        guard_none_refcount()
        writer = QThreadPool()
        writer.setMaxThreadCount(1)  # database writes in order, one at a time
        analysis = QThreadPool()
        analysis.setMaxThreadCount(max(2, QThreadPool.globalInstance().maxThreadCount()))
        return cls(
            settings=settings or QSettings(ORG_NAME, APP_NAME),
            writer_pool=writer,
            analysis_pool=analysis,
            workers=WorkerManager(analysis, writer),
            clock=clock,
            actor=actor or os.environ.get("USER") or os.environ.get("USERNAME") or "coordinator",
            default_db=default_db or default_db_path(),
        )

    def today(self) -> dt.date:
        return self.clock().date()

    # --------------------------------------------------------------------------- UI state
    def last_program(self) -> Path | None:
        value = self.settings.value("last_program", "")
        return Path(str(value)) if value else None

    def recent_programs(self) -> list[Path]:
        value = self.settings.value("recent_programs", [])
        items = [value] if isinstance(value, str) else list(value or [])
        return [Path(str(v)) for v in items if v]

    def remember_program(self, path: Path) -> None:
        recent = [p for p in self.recent_programs() if p != path]
        self.settings.setValue("last_program", str(path))
        self.settings.setValue("recent_programs", [str(p) for p in [path, *recent][:8]])
        self.settings.sync()

    def shutdown(self) -> bool:
        return self.workers.shutdown()


def has_display() -> bool:
    """False on Linux/BSD without an X11 or Wayland display and no explicit Qt platform."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return True
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m desktop", description="Residency Scheduler (desktop).")
    parser.add_argument("--db", type=Path, metavar="FILE", help="the program database to open")
    parser.add_argument("--demo", action="store_true",
                        help="on a first start, build and open the demo program instead of showing the welcome screen")
    parser.add_argument("--self-test", action="store_true",
                        help="check that the installed program works (demo, validation, analysis, generation, "
                        "export), print one line and exit 0 (1 on a failure); no window")
    parser.add_argument("--measure-startup", action="store_true",
                        help="print the seconds from process start until the main window is shown and idle, then quit")
    return parser.parse_args(argv)


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since this module was imported)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED_AT


def report_startup_when_idle(window: Any, app: Any) -> None:
    """--measure-startup: once the window is shown and its program (or the welcome screen) is on
    screen, wait for the event loop to run dry, print the time, what was shown and the process CPU
    time, and quit (exit status 1 when the program could not be opened or nothing came within 60 s)."""
    from PySide6.QtCore import QTimer

    done = False
    shown = "nothing within 60 s"

    def idle() -> None:
        nonlocal done
        if not done:
            done = True
            cpu = os.times()
            print(f"startup: interactive window after {process_age():.2f} s ({shown}; "
                  f"process CPU {cpu.user + cpu.system:.2f} s)", flush=True)
            app.exit(0 if shown.startswith(("block", "welcome")) else 1)

    def ready(what: str) -> None:
        nonlocal shown
        shown = what
        QTimer.singleShot(0, idle)  # runs once the events queued by the first paint are handled

    window.session.block_loaded.connect(lambda data: ready(f"block {data.block.number} shown"))
    window.session.open_failed.connect(lambda message: ready(f"open failed: {message}"))
    window.welcome_shown.connect(lambda: ready("welcome screen"))
    QTimer.singleShot(60_000, idle)  # never hang a measurement


# What the first load of a program imports on its worker threads (SQLAlchemy and the models, the
# services, numpy and the compliance engine): about half of the start-up's CPU time.
PRELOAD_MODULES = ("core.services.queries", "core.store.db", "core.services.schedule", "core.services.undo",
                   "core.rules.engine", "core.snapshot")


def preload_core() -> threading.Thread:
    """Import PRELOAD_MODULES on a thread of their own from the start, while the GUI thread imports
    Qt and builds the window, so that the program's load does not start them only once the window
    is up. The workers import them as before: they find them imported, or wait for the import under
    Python's module locks; an import error is theirs to report, so it is ignored here."""
    import importlib

    def run() -> None:
        for name in PRELOAD_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # reported by the worker that needs the module
                return

    thread = threading.Thread(target=run, name="preload-core", daemon=True)
    thread.start()
    return thread


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m desktop [--db FILE] [--demo] [--self-test] [--measure-startup]` and the rsched-desktop
    gui-script (and the bundled program's entry point)."""
    if getattr(sys, "frozen", False):
        # The bundle: a worker process that multiprocessing spawns (the N-2 analysis) runs this same
        # executable with --multiprocessing-fork; PyInstaller's freeze_support makes it the worker
        # and exits, instead of parsing the program's arguments.
        import multiprocessing

        multiprocessing.freeze_support()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        if not has_display():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the self-test opens no window
        from desktop.selftest import run as self_test

        return self_test()
    if not has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return EXIT_NO_DISPLAY
    preload_core()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationDisplayName("Residency Scheduler")
    app.setDesktopFileName("residency-scheduler")  # resources/residency-scheduler.desktop (Wayland)
    from resources import icon_path

    icon = icon_path("png")
    if icon is not None:
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    context = AppContext.create()
    from desktop.main_window import MainWindow

    window = MainWindow(context)
    window.show()
    if args.measure_startup:
        report_startup_when_idle(window, app)
    window.start(args.db.expanduser() if args.db else None, welcome=not args.demo)
    code = app.exec()
    context.shutdown()
    return int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
