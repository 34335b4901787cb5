"""The first-run welcome screen: open the demo, create an empty program, or open a file.

Shown by `MainWindow.start(..., welcome=True)` when there is no last program and the default
database holds none (the installed program's first start). Each choice is a signal; the main window
does the work (the demo is built with progress by `MainWindow.build_first_program`). "Create an
empty program" runs the New program wizard with one more page, people from a CSV or .xlsx file
(`core.io.people_import`); the program and its people are written in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from desktop.app import AppContext
from desktop.dialogs import NewProgramWizard
from desktop.program import user_message

PEOPLE_FILTER = "People (*.csv *.xlsx);;CSV (*.csv);;Excel workbook (*.xlsx);;All files (*)"


def create_program_with_people(path: Path, name: str, year: int, layout: str, people_file: Path | None, *,
                               actor: str, clock: Any, **_: Any) -> str:
    """Worker thread: a new program database with its first academic year, and the people of
    `people_file` (read and checked before anything is written). Returns a sentence for the user."""
    from core.io.people_import import import_people, read_people
    from core.services import programs
    from core.services.base import ServiceContext
    from core.store.db import open_database

    rows = read_people(people_file) if people_file is not None else []
    opened = open_database(path)
    try:
        ctx = ServiceContext(opened.engine, actor=actor, clock=clock)
        program = programs.create_program(ctx, name, start_year=year, layout=layout).value
        made = import_people(ctx, program.id, year, rows)
    finally:
        opened.engine.dispose()
    if made:
        return f"{name} is ready, with {len(made)} people from {people_file.name if people_file else ''}."
    return f"{name} is ready. Add people on the People page."


class PeoplePage(QWizardPage):
    """The wizard's last page: an optional CSV/.xlsx file of people, checked as soon as it is chosen."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("People")
        self.setSubTitle("Optional: import residents, faculty and staff from a CSV file or an Excel workbook. "
                         "Columns: name, kind (resident/faculty/staff), pgy, faculty_role, clinic_cap_per_week, "
                         "email; the first row names them.")
        self.path = QLineEdit(self)
        self.path.setAccessibleName("People file")
        self.path.setPlaceholderText("No file: start with nobody")
        browse = QPushButton("Browse…", self)
        browse.setAccessibleName("Choose a people file")
        browse.clicked.connect(self._browse)
        self.status = QLabel("", self)
        self.status.setObjectName("peopleStatus")
        self.status.setAccessibleName("People file check")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("File:", row)
        form.addRow(self.status)
        self.count = 0
        self.error = ""
        self.path.textChanged.connect(self._check)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "People to import", self.path.text(), PEOPLE_FILTER)
        if name:
            self.path.setText(name)

    def file(self) -> Path | None:
        text = self.path.text().strip()
        return Path(text).expanduser() if text else None

    def _check(self) -> None:
        from core.io.people_import import read_people

        self.count, self.error = 0, ""
        file = self.file()
        if file is None:
            self.status.setText("")
        elif not file.is_file():
            self.error = f"{file} does not exist."
        else:
            try:
                rows = read_people(file)
            except Exception as exc:  # noqa: BLE001 - shown as a sentence, nothing is written
                self.error = user_message(exc)
            else:
                self.count = len(rows)
                kinds = {k: sum(1 for r in rows if r.kind == k) for k in ("resident", "faculty", "staff")}
                self.status.setText(f"{len(rows)} people will be imported: " + ", ".join(
                    f"{n} {k}" for k, n in kinds.items() if n) + ".")
        if self.error:
            self.status.setText(self.error)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.error


class FirstProgramWizard(NewProgramWizard):
    """The New program wizard (name, academic year, block layout, file) plus the people page."""

    def __init__(self, today: dt.date, default_db: Path, parent: QWidget | None = None) -> None:
        super().__init__(today, default_db.parent, parent)
        self.setWindowTitle("Create an empty program")
        if not default_db.exists() or default_db.stat().st_size == 0:
            self.file_page.path.setText(str(default_db))
        self.people_page = PeoplePage()
        self.addPage(self.people_page)

    def people_file(self) -> Path | None:
        return self.people_page.file()


class WelcomeDialog(QDialog):
    """Three ways to begin. Emits one of the signals and closes; "Not now" leaves an empty window."""

    demo_chosen = Signal()
    program_created = Signal(Path, str)  # the new database, a sentence for the message bar
    file_chosen = Signal(Path)

    def __init__(self, app: AppContext, default_db: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.default_db = default_db
        self.wizard: FirstProgramWizard | None = None
        self.setObjectName("welcome")
        self.setWindowTitle("Welcome to Residency Scheduler")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        from resources import icon_path

        png = icon_path("png")
        if png is not None:
            self.setWindowIcon(QIcon(str(png)))
        title = QLabel("<h2>Welcome to Residency Scheduler</h2>", self)
        text = QLabel("Build, check and keep your program's schedule. How would you like to begin?", self)
        text.setWordWrap(True)
        self.demo_button = self._choice("Open the &demo program",
                                        "A complete example academic year to look around in (built in a few seconds).")
        self.new_button = self._choice("&Create an empty program…",
                                       "Name, academic year and block layout; import people from a CSV or Excel file.")
        self.open_button = self._choice("&Open a program file…", "A program database you already have (.sqlite).")
        self.error = QLabel("", self)
        self.error.setObjectName("welcomeError")
        self.error.setAccessibleName("Welcome screen message")
        self.error.setWordWrap(True)
        self.error.hide()
        later = QPushButton("Not now", self)
        later.setAccessibleName("Close the welcome screen")
        later.clicked.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(text)
        for button in (self.demo_button, self.new_button, self.open_button):
            lay.addWidget(button)
            lay.addWidget(self._hint(button))
        lay.addWidget(self.error)
        lay.addWidget(later, 0, Qt.AlignmentFlag.AlignRight)
        self.demo_button.clicked.connect(self.choose_demo)
        self.new_button.clicked.connect(lambda: self.create_program())
        self.open_button.clicked.connect(lambda: self.open_file())
        self.demo_button.setDefault(True)
        self.demo_button.setFocus()

    def _choice(self, text: str, hint: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        button.setAccessibleDescription(hint)
        button.setProperty("hint", hint)
        button.setMinimumHeight(36)
        return button

    def _hint(self, button: QPushButton) -> QLabel:
        label = QLabel(str(button.property("hint")), self)
        label.setWordWrap(True)
        label.setContentsMargins(12, 0, 0, 8)
        return label

    # ------------------------------------------------------------------------------ choices
    def choose_demo(self) -> None:
        self.accept()
        self.demo_chosen.emit()

    def open_file(self, path: Path | None = None) -> None:
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Open a program", str(self.default_db.parent),
                                                  "Program (*.sqlite *.db);;All files (*)")
            if not name:
                return
            path = Path(name)
        self.accept()
        self.file_chosen.emit(path)

    def create_program(self, *, run_wizard: bool = True) -> FirstProgramWizard:
        """Show the wizard (modal); when it is accepted, create the program in a worker thread.
        Tests pass run_wizard=False, fill the wizard in and call `finish_wizard()`."""
        try:
            self.default_db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.show_error(f"The folder {self.default_db.parent} cannot be created ({exc.strerror}).")
        wizard = FirstProgramWizard(self.app.today(), self.default_db, self)
        self.wizard = wizard
        if run_wizard:
            if wizard.exec() == QDialog.DialogCode.Accepted:
                self.finish_wizard()
        return wizard

    def finish_wizard(self) -> None:
        assert self.wizard is not None
        name, year, layout, path = self.wizard.values()
        people = self.wizard.people_file()
        for button in (self.demo_button, self.new_button, self.open_button):
            button.setEnabled(False)
        self.error.setText(f"Creating {name}…")
        self.error.show()

        def done(message: str) -> None:
            self.accept()
            self.program_created.emit(path, message)

        def failed(exc: BaseException) -> None:
            for button in (self.demo_button, self.new_button, self.open_button):
                button.setEnabled(True)
            self.show_error(user_message(exc))

        self.app.workers.start("new-program", create_program_with_people, path, name, year, layout, people,
                               actor=self.app.actor, clock=self.app.clock, writer=True,
                               on_finished=done, on_failed=failed)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
