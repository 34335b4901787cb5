"""The main window: File menu, navigation list, pages, status bar.

Pages are built when first shown (the Schedule page at once), so start-up only pays for what is on
screen. Errors from the core arrive as sentences and are shown in a message bar above the pages
(never a raw database error); nothing here blocks the event loop on I/O.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMenu,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.app import AppContext
from desktop.program import ProgramData, ProgramSession, user_message

log = logging.getLogger(__name__)

PAGES = ("Schedule", "People", "Rotations & Activities", "Absences", "Swaps", "Compliance",
         "Resilience", "Sync", "Settings")


def create_new_program(path: Path, name: str, year: int, layout: str, *, actor: str, clock: Any, **_: Any) -> str:
    from core.services import programs
    from core.services.base import ServiceContext
    from core.store.db import open_database

    opened = open_database(path)
    try:
        return programs.create_program(ServiceContext(opened.engine, actor=actor, clock=clock), name,
                                       start_year=year, layout=layout).value.id
    finally:
        opened.engine.dispose()


class MainWindow(QMainWindow):
    welcome_shown = Signal()  # the first-run welcome screen is on screen
    MESSAGE_TIMEOUT_MS = 15_000  # an info message clears itself after this

    def __init__(self, app: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.welcome: QDialog | None = None
        self.session = ProgramSession(app, self)
        self.setWindowTitle("Residency Scheduler")
        self.resize(1280, 800)
        self.pages: dict[str, QWidget] = {}
        self.progress_dialog: QProgressDialog | None = None

        # navigation + pages
        self.nav = QListWidget(self)
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName("Navigation")
        self.nav.addItems(list(PAGES))
        self.nav.setMaximumWidth(200)
        self.stack = QStackedWidget(self)
        for name in PAGES:
            holder = QWidget(self.stack)
            holder.setObjectName(f"page-holder-{name}")
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
            self.stack.addWidget(holder)
        self.message_bar = QLabel(self)
        self.message_bar.setObjectName("messageBar")
        self.message_bar.setAccessibleName("Messages")
        self.message_bar.setWordWrap(True)
        self.message_bar.setStyleSheet("QLabel { padding: 6px; border: 1px solid #c00000; border-radius: 3px; }")
        self.message_bar.hide()
        self._message_shown = ""
        self.fallback_dialog: Any = None  # the Generate dialog reviewing a fallback applied as a draft
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self._message_timeout)
        dismiss = QPushButton("Dismiss", self)
        dismiss.setAccessibleName("Dismiss the message")
        dismiss.hide()
        dismiss.clicked.connect(self.clear_message)
        self._dismiss = dismiss
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.message_bar, 1)
        bar_row.addWidget(dismiss)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(bar_row)
        rl.addWidget(self.stack, 1)
        split = QSplitter(self)
        split.addWidget(self.nav)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        self.setCentralWidget(split)
        self.nav.currentRowChanged.connect(self.show_page_index)

        # status bar
        self.status_label = QLabel("No program open", self)
        self.status_label.setAccessibleName("Program status")
        self.rules_label = QLabel("", self)
        self.rules_label.setAccessibleName("Active rule set")
        self.sync_label = QLabel("", self)
        self.sync_label.setAccessibleName("Changes waiting to be synchronised")
        for w in (self.status_label, self.rules_label, self.sync_label):
            self.statusBar().addPermanentWidget(w)

        self._build_menus()
        self.session.opened.connect(self._opened)
        self.session.open_failed.connect(self._open_failed)
        self.session.error.connect(self.show_error)
        self.session.message.connect(self.show_message)
        self.session.status_changed.connect(self.update_status)
        self.session.reason_needed.connect(self._reason_needed)
        self.session.block_loading.connect(lambda b: self.statusBar().showMessage(f"Loading block {b.number}…"))
        self.session.block_loaded.connect(lambda _b: self.statusBar().clearMessage())
        self.session.opening.connect(lambda p: self.statusBar().showMessage(f"Opening {p}…"))
        self.nav.setCurrentRow(0)
        geometry = self.app.settings.value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)

    # -------------------------------------------------------------------------------- menus
    def _action(self, menu: QMenu, text: str, slot: Callable[[], Any], shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.new_action = self._action(file, "&New program…", self.new_program, QKeySequence.StandardKey.New)
        self.open_action = self._action(file, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        self.backup_action = self._action(file, "&Back up now", self.backup, "Ctrl+Shift+B")
        self.restore_action = self._action(file, "Res&tore a backup…", self.restore, "Ctrl+Shift+R")
        file.addSeparator()
        self.import_export_action = self._action(file, "&Import / Export…", self.import_export, "Ctrl+Shift+I")
        file.addSeparator()
        self.quit_action = self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        self.undo_action = self.session.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.session.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        self._action(edit, "&Assign activity to the selection…", lambda: self.schedule_page().open_picker(""),
                     "Ctrl+E")
        self._action(edit, "&Clear the selection", lambda: self.schedule_page().clear_selection(), "Ctrl+Delete")
        edit.addSeparator()
        self._action(edit, "&Generate…", self._generate, "Ctrl+Shift+G")

        view = bar.addMenu("&View")
        for i, name in enumerate(PAGES):
            self._action(view, name, lambda i=i: self.nav.setCurrentRow(i), f"Ctrl+{i + 1}")
        view.addSeparator()
        self._action(view, "&Previous block", lambda: self.session.step_block(-1), "Alt+Left")
        self._action(view, "&Next block", lambda: self.session.step_block(1), "Alt+Right")
        self._action(view, "&Jump to date…", self._focus_date, "Ctrl+G")
        self._action(view, "Zoom &in", lambda: self.schedule_page().apply_zoom(self.schedule_page().zoom * 1.2),
                     QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom &out", lambda: self.schedule_page().apply_zoom(self.schedule_page().zoom / 1.2),
                     QKeySequence.StandardKey.ZoomOut)
        self._action(view, "Reset &zoom", lambda: self.schedule_page().apply_zoom(1.0), "Ctrl+0")
        self._action(view, "&Filter people", self._focus_filter, "Ctrl+F")
        view.addSeparator()
        self.kiosk_action = self._action(view, "&Kiosk mode", self._kiosk)

    def import_export(self) -> Any:
        """File > Import / Export: the wizard with its preview; an import lands on the undo stack
        as one edit and the block reloads."""
        if self.session.ctx is None:
            self.show_message("Open a program first.")
            return None
        from desktop.io.wizard import ImportExportWizard
        from desktop.program import ChangeCommand

        wizard = ImportExportWizard(self.session.ctx, self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def imported(changes: Any) -> None:
            if not changes.empty:
                self.session.undo_stack.push(ChangeCommand(self.session, changes, "Import from Excel"))
            self.session.reload_block()

        wizard.imported.connect(imported)
        wizard.open()
        return wizard

    def _kiosk(self) -> None:
        from desktop.views.kiosk import open_kiosk

        self._kiosk_window = open_kiosk(self)

    def _generate(self) -> None:
        from desktop.views.generate import open_generate_dialog

        open_generate_dialog(self)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.app.recent_programs():
            a = self.recent_menu.addAction(str(path))
            a.triggered.connect(lambda _=False, p=path: self.session.open(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _focus_date(self) -> None:
        self.nav.setCurrentRow(0)
        self.schedule_tabs.setCurrentIndex(0)
        self.schedule_page().date_edit.setFocus()

    def _focus_filter(self) -> None:
        self.nav.setCurrentRow(0)
        self.schedule_tabs.setCurrentIndex(0)
        self.schedule_page().name_filter.setFocus()

    # -------------------------------------------------------------------------------- pages
    def page(self, name: str) -> QWidget:
        """The page called `name`, built on first use."""
        if name not in self.pages:
            widget = self._build_page(name)
            widget.setObjectName(f"page-{name}")
            holder = self.stack.widget(PAGES.index(name))
            holder.layout().addWidget(widget)
            self.pages[name] = widget
        return self.pages[name]

    def _build_page(self, name: str) -> QWidget:
        if name == "Schedule":
            from desktop.views.calendars import PersonCalendarPage, TodayPage, YearOverviewPage
            from desktop.views.schedule import SchedulePage

            tabs = QTabWidget(self)
            tabs.setAccessibleName("Schedule views")
            self.schedule_tabs = tabs
            self._schedule = SchedulePage(self.session, tabs)
            tabs.addTab(self._schedule, "Block grid")
            tabs.addTab(PersonCalendarPage(self.session, tabs), "Person")
            tabs.addTab(YearOverviewPage(self.session, tabs), "Academic year")
            tabs.addTab(TodayPage(self.session, tabs), "Today")
            return tabs
        if name == "Compliance":
            from desktop.views.compliance import CompliancePage

            page = CompliancePage(self.session, self)
            page.violation_activated.connect(self.show_violation)
            return page
        if name == "People":
            from desktop.views.editors import PeopleEditor

            return PeopleEditor(self.session, self)
        if name == "Rotations & Activities":
            from desktop.views.editors import ActivitiesEditor, RequirementsEditor, RotationsEditor

            tabs = QTabWidget(self)
            tabs.setAccessibleName("Rotations and activities")
            tabs.addTab(RotationsEditor(self.session, tabs), "Rotations")
            tabs.addTab(ActivitiesEditor(self.session, tabs), "Activities")
            tabs.addTab(RequirementsEditor(self.session, tabs), "Requirements")
            return tabs
        if name == "Swaps":
            from desktop.views.swaps import SwapsPage

            swaps_page = SwapsPage(self.session, self)
            self.statusBar().addPermanentWidget(swaps_page.notifications.status_label)
            swaps_page.notifications.status_label.show()
            return swaps_page
        if name == "Absences":
            from desktop.views.absences import AbsencesPage

            return AbsencesPage(self.session, self)
        if name == "Settings":
            from desktop.views.editors import RuleSetEditor

            return RuleSetEditor(self.session, self)
        if name == "Resilience":
            return self._build_resilience()
        from desktop.views.placeholder import PLACEHOLDERS, PlaceholderPage

        return PlaceholderPage(name, PLACEHOLDERS[name], self)

    def _build_resilience(self) -> QWidget:
        """The resilience analyses of the loaded block. They run on the analysis pool, only while
        the page is shown: a new block or an edit marks the results stale, and they run again when
        the page is next on screen."""
        from desktop.views.resilience import ResilienceView

        view = ResilienceView(self.app.workers, self)
        view.showInGrid.connect(self.show_in_grid)
        view.applyFallback.connect(self.apply_fallback)

        def update(*_a: Any) -> None:
            block = self.session.block
            if block is not None:
                view.set_snapshot(block.snapshot, run=self.stack.currentIndex() == PAGES.index("Resilience"))

        self.session.block_loaded.connect(update)
        self.session.slots_changed.connect(update)
        self.stack.currentChanged.connect(
            lambda i: update() if i == PAGES.index("Resilience") and view.snapshot is None else
            view.run_all() if i == PAGES.index("Resilience") and any(s != "ready" for s in view.states.values())
            and not any(s == "running" for s in view.states.values()) else None)
        update()
        return view

    def show_in_grid(self, person_id: str, day: Any) -> None:
        """Resilience 'show in grid': the block grid with that person's cells of that day selected."""
        day = day.date() if isinstance(day, dt.datetime) else day
        page = self.schedule_page()
        self.show_page("Schedule")
        self.schedule_tabs.setCurrentIndex(0)
        block = self.session.block
        if block is not None and block.block.start <= day <= block.block.end:
            page.select_person_day(person_id, day)
            return

        def once(_b: Any) -> None:
            self.session.block_loaded.disconnect(once)
            page.select_person_day(person_id, day)

        if self.session.go_to_date(day):
            self.session.block_loaded.connect(once)

    def apply_fallback(self, repair: Any) -> None:
        """Resilience 'apply fallback': the repair is saved as a draft (on the writer) and the
        Generate dialog opens on its review (diff, violations, unfilled; publish or discard)."""
        from desktop.views.generate import run_save_fallback

        session = self.session
        block = session.block
        if repair is None or session.ctx is None or session.data is None or block is None:
            self.show_message("Choose a ready fallback of the loaded block first.")
            return
        if repair.revision != block.snapshot.revision:
            self.show_message("That fallback was computed for an older version of the schedule; "
                              "it is re-computed in the background.")
            return
        removed = " + ".join(repair.removed) or "the absent people"
        self.show_message(f"Saving the fallback for {removed} as a draft…")
        self.app.workers.start("", run_save_fallback, session.ctx, session.data.program.id, repair, block.snapshot,
                               writer=True, on_finished=self._review_fallback,
                               on_failed=lambda exc: self.show_message(str(exc)))

    def _review_fallback(self, saved: Any) -> None:
        from desktop.views.generate import open_generate_dialog

        self.fallback_dialog = open_generate_dialog(self, saved.value)
        self.show_message(f"{saved.value.label}: a draft to review; nothing in the schedule has changed yet.")

    def schedule_page(self) -> Any:
        self.page("Schedule")
        return self._schedule

    def show_page_index(self, row: int) -> None:
        if 0 <= row < len(PAGES):
            self.page(PAGES[row])
            self.stack.setCurrentIndex(row)

    def show_page(self, name: str) -> QWidget:
        self.nav.setCurrentRow(PAGES.index(name))
        return self.pages[name]

    def show_violation(self, v: Any) -> None:
        """Compliance view click: go to the block of the violation and select its cells."""
        start = v.start.date() if isinstance(v.start, dt.datetime) else v.start
        page = self.schedule_page()
        block = self.session.block
        self.show_page("Schedule")
        self.schedule_tabs.setCurrentIndex(0)
        if block is not None and block.block.start <= start <= block.block.end or block is not None and block.in_block(v):
            page.select_violation(v)
            return

        def once(_b: Any) -> None:
            self.session.block_loaded.disconnect(once)
            page.select_violation(v)

        if self.session.go_to_date(start):
            self.session.block_loaded.connect(once)

    # ------------------------------------------------------------------------------- start-up
    def start(self, path: Path | None = None, *, welcome: bool = False) -> None:
        """Open `path`, else the last program, else the default database. On a first start (the
        default database holds no program) show the welcome screen when `welcome` is true, else
        build the demo into it (`python -m desktop --demo`, `tools/dev.py run`)."""
        first_start = path is None
        if path is None:
            last = self.app.last_program()
            if last is not None and last.exists():
                self.session.open(last)
                return
            path = self.app.default_db
        target = path

        def missing() -> None:  # no program in the file (or no file): a first start
            if welcome and first_start:
                self.show_welcome(target)
            else:
                self.build_first_program(target)

        # One open of the file: it reads the program, or finds none and calls `missing`.
        self.session.open(target, on_missing=missing)

    def show_welcome(self, default_db: Path) -> None:
        """The first-run welcome screen: open the demo, create an empty program, or open a file."""
        from desktop.views.welcome import WelcomeDialog

        dialog = WelcomeDialog(self.app, default_db, self)
        self.welcome = dialog
        dialog.demo_chosen.connect(lambda: self.build_first_program(default_db))
        dialog.program_created.connect(self._welcome_created)
        dialog.file_chosen.connect(self.session.open)
        dialog.finished.connect(lambda _r: setattr(self, "welcome", None))
        dialog.open()
        self.welcome_shown.emit()

    def _welcome_created(self, path: Path, message: str) -> None:
        if message:
            self.show_message(message)
        self.session.open(path)

    def build_first_program(self, path: Path) -> None:
        from desktop.sample import create_first_program

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.show_error(f"The folder {path.parent} cannot be created ({exc.strerror}).")
            return
        dialog = QProgressDialog("Building the demo program…", "Cancel", 0, 100, self)
        dialog.setWindowTitle("First start")
        dialog.setMinimumDuration(0)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        self.progress_dialog = dialog

        def progress(fraction: float, message: str) -> None:
            dialog.setValue(int(fraction * 100))
            if message:
                dialog.setLabelText(f"Building the demo program… {message}")

        def finished(what: str) -> None:
            dialog.close()
            self.progress_dialog = None
            self.show_message(f"Welcome: this is {what}, built for you to try the program. File > New starts your own.")
            self.session.open(path)

        def failed(exc: BaseException) -> None:
            dialog.close()
            self.progress_dialog = None
            self.show_error(user_message(exc))

        worker = self.app.workers.start("first-program", create_first_program, path, today=self.app.today(),
                                        clock=self.app.clock, on_finished=finished, on_failed=failed,
                                        on_progress=progress)
        dialog.canceled.connect(worker.cancel)
        dialog.show()

    def _opened(self, data: ProgramData) -> None:
        self.setWindowTitle(f"{data.program.name} — Residency Scheduler")
        self.clear_message() if self.message_bar.property("kind") == "error" else None

    def _open_failed(self, message: str) -> None:
        self.statusBar().clearMessage()
        self.show_error(message)

    # ------------------------------------------------------------------------------- file menu
    def new_program(self) -> None:
        from desktop.dialogs import NewProgramWizard

        wizard = NewProgramWizard(self.app.today(), self.app.default_db.parent, self)
        if wizard.exec() != QDialog.DialogCode.Accepted:
            return
        name, year, layout, path = wizard.values()
        self.create_program_file(path, name, year, layout)

    def create_program_file(self, path: Path, name: str, year: int, layout: str) -> None:
        self.app.workers.start("new-program", create_new_program, path, name, year, layout, actor=self.app.actor,
                               clock=self.app.clock, on_finished=lambda _id: self.session.open(path),
                               on_failed=lambda e: self.show_error(user_message(e)))

    def open_dialog(self) -> None:
        start = str(self.session.data.path.parent if self.session.data else self.app.default_db.parent)
        name, _ = QFileDialog.getOpenFileName(self, "Open a program", start, "Program (*.sqlite *.db);;All files (*)")
        if name:
            self.session.open(Path(name))

    def backup(self, on_done: Callable[[Path], None] | None = None) -> None:
        if self.session.data is None:
            return
        from core.store.db import backup_database

        path = self.session.data.path

        def done(dest: Path) -> None:
            self.show_message(f"Backed up to {dest}.")
            if on_done is not None:
                on_done(dest)

        self.app.workers.start("backup", lambda **_: backup_database(path, label="manual"), writer=True,
                               on_finished=done, on_failed=lambda e: self.show_error(user_message(e)))

    def restore(self, backup: Path | None = None) -> None:
        if self.session.data is None:
            return
        from core.store.db import list_backups, restore_backup

        path = self.session.data.path
        if backup is None:
            choices = [str(p) for p in reversed(list_backups(path))]
            if not choices:
                self.show_message("There is no backup of this program yet (File > Back up now makes one).")
                return
            item, ok = QInputDialog.getItem(self, "Restore a backup", "Replace the program with the backup:",
                                            choices, 0, False)
            if not ok:
                return
            backup = Path(item)
        chosen = backup
        self.session.close()

        def done(_r: Any) -> None:
            self.show_message(f"Restored {chosen.name}; the file it replaced was backed up first.")
            self.session.open(path)

        def failed(exc: BaseException) -> None:
            self.show_error(user_message(exc))
            self.session.open(path)

        self.app.workers.start("restore", lambda **_: restore_backup(chosen, path), writer=True,
                               on_finished=done, on_failed=failed)

    # ------------------------------------------------------------------------------- messages
    def show_error(self, message: str) -> None:
        self.message_bar.setProperty("kind", "error")
        self.message_bar.setText(message)
        self.message_bar.show()
        self._dismiss.show()

    def show_message(self, message: str) -> None:
        self.message_bar.setProperty("kind", "info")
        self.message_bar.setText(message)
        self.message_bar.show()
        self._dismiss.show()
        # A child timer of the window (not QTimer.singleShot with a lambda: PySide6 6.12 calls such
        # a lambda after its context object was deleted); stopped in closeEvent, deleted with the window.
        self._message_shown = message
        self._message_timer.start(self.MESSAGE_TIMEOUT_MS)

    def _message_timeout(self) -> None:
        if self.message_bar.text() == self._message_shown:
            self.clear_message()

    def clear_message(self) -> None:
        self.message_bar.hide()
        self._dismiss.hide()
        self.message_bar.setText("")

    def ask_reason(self, message: str) -> str | None:
        """The reason for a freeze-horizon edit, or None when the user cancels."""
        from desktop.dialogs import ReasonDialog

        dialog = ReasonDialog(message, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.reason():
            return dialog.reason()
        return None

    def _reason_needed(self, retry: Callable[[str], None], message: str) -> None:
        reason = self.ask_reason(message)
        if reason:
            retry(reason)
        else:
            self.show_message("Nothing was changed (no reason given for an edit inside the freeze horizon).")

    def update_status(self) -> None:
        data, block = self.session.data, self.session.block
        if data is None:
            self.status_label.setText("No program open")
            self.rules_label.setText("")
            self.sync_label.setText("")
            return
        if block is None:
            self.status_label.setText(data.program.name)
        else:
            vs = [v for v in block.violations if block.in_block(v)]
            crit = sum(1 for v in vs if v.severity == "critical")
            state = "compliant" if not vs else f"{crit} critical, {len(vs) - crit} other violation(s)"
            self.status_label.setText(f"{data.program.name} · Block {block.block.number}: {state}")
        self.rules_label.setText(f"Rule set {data.rule_set.number}" if data.rule_set else "No rule set")
        self.sync_label.setText(f"Pending sync: {data.pending_sync}")

    # ------------------------------------------------------------------------------- lifecycle
    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            for page in self.pages.values():
                page.update()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._message_timer.stop()
        resilience = self.pages.get("Resilience")
        if resilience is not None and hasattr(resilience, "shutdown"):
            resilience.shutdown()
        self.app.settings.setValue("main_window/geometry", self.saveGeometry())
        self.session.close()
        self.app.shutdown()
        super().closeEvent(event)
