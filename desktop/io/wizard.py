"""The Import/Export wizard: choose what to do -> (import) preview -> apply as one undoable edit.

Import: pick a workbook; the preview page stages it (`core.io.staging.stage_workbook`) and shows
every change with its confidence and every cell that could not be matched; Finish applies it in
one transaction. The resulting `ChangeSet` is emitted (`imported`) so the main window can put it
on its undo stack; `undo(ctx, changes)` reverts the whole import at once.

Export: pick a format (xlsx full year / block, ICS for a person, CSV table, PDF of the block grid)
and a file; Finish writes it. "Print preview..." shows the block grid through Qt's print preview.

Staging a typical full-year workbook takes about a second, so it runs on the GUI thread behind a
wait cursor; the main window may move it to its worker pool when it hooks the wizard in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from core.errors import SchedulerError
from core.services.base import ChangeSet, ServiceContext

MODES = ("import_xlsx", "export_xlsx", "export_ics", "export_csv", "export_pdf")
MODE_LABELS = {
    "import_xlsx": "Import an Excel workbook (block or full year)",
    "export_xlsx": "Export an Excel workbook",
    "export_ics": "Export a calendar feed (.ics) for a person",
    "export_csv": "Export a table as CSV",
    "export_pdf": "Export the block grid as PDF (or print it)",
}
PAGE_CHOOSE, PAGE_PREVIEW, PAGE_EXPORT = 0, 1, 2
Index = QModelIndex | QPersistentModelIndex


class ChangesModel(QAbstractTableModel):
    """The staged slot and call changes: who, when, before -> after, confidence, cell."""

    HEADERS = ("Person", "Date", "Slot", "Now", "Workbook", "Confidence", "Cell")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, ...]] = []

    def set_staged(self, staged: Any) -> None:
        self.beginResetModel()
        self._rows = [
            (c.person_name, c.date.isoformat(), ("AM", "PM")[c.slot], c.before_code or "", c.after_code or "",
             f"{c.confidence:.0%}", f"{c.sheet}!{c.cell}") for c in staged.slot_changes
        ] + [
            (c.person_name, c.date.isoformat(), "call", _call_text(c.before), _call_text(c.after),
             f"{c.confidence:.0%}", f"{c.sheet}!{c.cell}" if c.sheet else "") for c in staged.call_changes
        ]
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 - Qt override
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        return self._rows[index.row()][index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt override
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


def _call_text(value: tuple[str, str, float | None] | None) -> str:
    if value is None:
        return ""
    return value[0] + (f" {value[1]}" if value[1] else "") + (f" {value[2]:g} h" if value[2] is not None else "")


class ChoosePage(QWizardPage):
    def __init__(self, wizard: ImportExportWizard) -> None:
        super().__init__()
        self.setTitle("Import or export")
        self._wizard = wizard
        layout = QVBoxLayout(self)
        self.group = QButtonGroup(self)
        for i, mode in enumerate(MODES):
            button = QRadioButton(MODE_LABELS[mode])
            button.setObjectName(mode)
            self.group.addButton(button, i)
            layout.addWidget(button)
        self.group.button(0).setChecked(True)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setPlaceholderText("File")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path)
        row.addWidget(browse)
        layout.addLayout(row)
        self.path.textChanged.connect(self.completeChanged)

    def mode(self) -> str:
        return MODES[self.group.checkedId()]

    def _browse(self) -> None:
        mode = self.mode()
        ext = {"import_xlsx": "xlsx", "export_xlsx": "xlsx", "export_ics": "ics", "export_csv": "csv",
               "export_pdf": "pdf"}[mode]
        if mode == "import_xlsx":
            name, _ = QFileDialog.getOpenFileName(self, "Workbook to import", "", "Excel workbook (*.xlsx)")
        else:
            name, _ = QFileDialog.getSaveFileName(self, "Export to", "", f"*.{ext}")
        if name:
            self.path.setText(name)

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return bool(self.path.text().strip())

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return PAGE_PREVIEW if self.mode() == "import_xlsx" else PAGE_EXPORT


class PreviewPage(QWizardPage):
    def __init__(self, wizard: ImportExportWizard) -> None:
        super().__init__()
        self.setTitle("Preview")
        self.setSubTitle("What the import would change. Nothing is written until you press Finish.")
        self._wizard = wizard
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.changes = ChangesModel(self)
        self.table = QTableView()
        self.table.setModel(self.changes)
        self.unmatched = QListWidget()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 3)
        layout.addWidget(QLabel("Cells that could not be matched (left unchanged):"))
        layout.addWidget(self.unmatched, 1)
        self.staged: Any = None
        self.error: str | None = None

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        from core.io.staging import stage_workbook

        self.staged, self.error = None, None
        self.unmatched.clear()
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.staged = stage_workbook(self._wizard.ctx, Path(self._wizard.choose.path.text().strip()))
        except SchedulerError as exc:
            self.error = str(exc)
        finally:
            QGuiApplication.restoreOverrideCursor()
        if self.staged is None:
            self.summary.setText(self.error or "")
            self.changes.set_staged(_Empty())
        else:
            self.summary.setText(self.staged.summary())
            self.changes.set_staged(self.staged)
            self.unmatched.addItems([u.describe() for u in self.staged.unmatched])
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.staged is not None

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        from core.io.staging import apply_import

        try:
            result = apply_import(self._wizard.ctx, self.staged, reason=self._wizard.reason or None)
        except SchedulerError as exc:
            self.error = str(exc)
            self.summary.setText(self.error)
            return False
        self._wizard.changes = result.changes
        self._wizard.imported.emit(result.changes)
        return True

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return -1


class _Empty:
    slot_changes: tuple[Any, ...] = ()
    call_changes: tuple[Any, ...] = ()


class ExportPage(QWizardPage):
    def __init__(self, wizard: ImportExportWizard) -> None:
        super().__init__()
        self.setTitle("Export")
        self._wizard = wizard
        form = QFormLayout(self)
        self.block = QComboBox()
        self.person = QComboBox()
        self.table = QComboBox()
        self.table.addItems(["people", "absences", "assignments", "calls", "violations"])
        self.page_size = QComboBox()
        self.page_size.addItems(["A4", "Letter"])
        form.addRow("Block", self.block)
        form.addRow("Person", self.person)
        form.addRow("CSV table", self.table)
        form.addRow("Page", self.page_size)
        self.preview = QPushButton("Print preview...")
        self.preview.clicked.connect(self._print_preview)
        form.addRow(self.preview)
        self.message = QLabel()
        self.message.setWordWrap(True)
        form.addRow(self.message)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        data = self._wizard.data()
        self.block.clear()
        self.block.addItem("Full year", None)
        for b in data.year.blocks:
            self.block.addItem(f"Block {b.number} ({b.start:%d %b} - {b.end:%d %b})", b.number)
        self.person.clear()
        for p in data.people:
            self.person.addItem(p.name, p.id)
        mode = self._wizard.choose.mode()
        self.block.setEnabled(mode in ("export_xlsx", "export_pdf"))
        self.person.setEnabled(mode == "export_ics")
        self.table.setEnabled(mode == "export_csv")
        self.page_size.setEnabled(mode == "export_pdf")
        self.preview.setEnabled(mode == "export_pdf")

    def _blocks(self) -> list[int] | None:
        number = self.block.currentData()
        return None if number is None else [int(number)]

    def _print_preview(self) -> None:
        from desktop.io.pdf import print_preview_dialog

        dialog: Any = print_preview_dialog(self, self._wizard.data(), self._blocks(), page=self.page_size.currentText())
        dialog.exec()

    def validatePage(self) -> bool:  # noqa: N802 - Qt override
        from core.io.csv_io import export_csv
        from core.io.excel import export_blocks
        from core.io.ics import export_feed

        out = Path(self._wizard.choose.path.text().strip())
        mode = self._wizard.choose.mode()
        data = self._wizard.data()
        try:
            if mode == "export_xlsx":
                export_blocks(data, self._blocks(), out)
            elif mode == "export_ics":
                export_feed(self._wizard.ctx, data, out, person_id=self.person.currentData())
            elif mode == "export_csv":
                export_csv(self._wizard.ctx, data, self.table.currentText(), out)
            else:
                from desktop.io.pdf import write_block_pdf

                write_block_pdf(data, self._blocks(), out, page=self.page_size.currentText())
        except (SchedulerError, OSError) as exc:
            self.message.setText(str(exc))
            return False
        self._wizard.written = out
        return True

    def nextId(self) -> int:  # noqa: N802 - Qt override
        return -1


class ImportExportWizard(QWizard):
    """File > Import/Export. `imported(ChangeSet)` after an import, for the undo stack."""

    imported = Signal(object)

    def __init__(self, ctx: ServiceContext, parent: QWidget | None = None, *, reason: str = "import") -> None:
        super().__init__(parent)
        self.setWindowTitle("Import / Export")
        self.ctx = ctx
        self.reason = reason
        self.changes: ChangeSet | None = None
        self.written: Path | None = None
        self._data: Any = None
        self.choose = ChoosePage(self)
        self.preview_page = PreviewPage(self)
        self.export_page = ExportPage(self)
        self.setPage(PAGE_CHOOSE, self.choose)
        self.setPage(PAGE_PREVIEW, self.preview_page)
        self.setPage(PAGE_EXPORT, self.export_page)

    def data(self) -> Any:
        from core.io.grid import load_year

        if self._data is None:
            self._data = load_year(self.ctx)
        return self._data
