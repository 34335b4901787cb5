"""Dialogs: the New program wizard and the reason asked for freeze-horizon edits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

REASON_CODES = (
    "Sick call",
    "Approved swap",
    "Coverage need",
    "Correction of an error",
    "Leave approved late",
    "Program director request",
)

LAYOUTS = (
    ("13x28", "13 blocks of 28 days from July 1"),
    ("block0_thursday", "Block 0 to the first Thursday, Blocks 1-12 of 28 days (Thu-Wed), Block 13 to June 30"),
)


class ReasonDialog(QDialog):
    """Asks for the reason code of an edit inside the freeze horizon."""

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Reason for the change")
        self.combo = QComboBox(self)
        self.combo.setEditable(True)
        self.combo.addItems(REASON_CODES)
        self.combo.setAccessibleName("Reason for the change")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        text = QLabel(message + "\nChoose or type the reason; it is kept in the audit log.", self)
        text.setWordWrap(True)
        lay.addWidget(text)
        lay.addWidget(self.combo)
        lay.addWidget(buttons)

    def reason(self) -> str:
        return self.combo.currentText().strip()


class _NamePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("The program")
        self.setSubTitle("Its name, as coordinators and residents know it.")
        self.name = QLineEdit(self)
        self.name.setAccessibleName("Program name")
        self.name.setPlaceholderText("e.g. Family Medicine Residency")
        form = QFormLayout(self)
        form.addRow("Name:", self.name)
        self.registerField("name*", self.name)


class _YearPage(QWizardPage):
    def __init__(self, today: dt.date) -> None:
        super().__init__()
        self.setTitle("Academic year and blocks")
        self.setSubTitle("The first academic year (July 1 to June 30) and how it is cut into blocks.")
        self.year = QSpinBox(self)
        self.year.setRange(1990, 2200)
        self.year.setValue(today.year if today.month >= 7 else today.year - 1)
        self.year.setAccessibleName("First academic year")
        self.layout_box = QComboBox(self)
        self.layout_box.setAccessibleName("Block layout")
        for key, text in LAYOUTS:
            self.layout_box.addItem(text, key)
        form = QFormLayout(self)
        form.addRow("Academic year starting July 1 of:", self.year)
        form.addRow("Block layout:", self.layout_box)


class _FilePage(QWizardPage):
    def __init__(self, default_dir: Path) -> None:
        super().__init__()
        self.setTitle("Where to keep it")
        self.setSubTitle("The program is one database file; keep it in your own folders, not the install folder.")
        self.path = QLineEdit(str(default_dir / "new-program.sqlite"), self)
        self.path.setAccessibleName("Database file")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("File:", row)

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "New program file", self.path.text(), "Program (*.sqlite)")
        if name:
            self.path.setText(name)

    def isComplete(self) -> bool:
        p = Path(self.path.text()).expanduser()
        return bool(self.path.text().strip()) and p.parent.exists() and not (p.exists() and p.stat().st_size > 0)


class NewProgramWizard(QWizard):
    """File > New: name, academic year, block layout, file."""

    def __init__(self, today: dt.date, default_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New program")
        self.name_page = _NamePage()
        self.year_page = _YearPage(today)
        self.file_page = _FilePage(default_dir)
        self.file_page.path.textChanged.connect(self.file_page.completeChanged)
        for page in (self.name_page, self.year_page, self.file_page):
            self.addPage(page)

    def values(self) -> tuple[str, int, str, Path]:
        return (self.name_page.name.text().strip(), self.year_page.year.value(),
                str(self.year_page.layout_box.currentData()), Path(self.file_page.path.text()).expanduser())
