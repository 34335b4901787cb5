"""Editors: people, activities, rotations (with the weekly-pattern grid), requirements, rule set.

Each is a table of records plus a form. Saving calls a service on the writer pool through
`ProgramSession.write` (so it is undoable like any edit); a `ValidationError` is shown in plain
words next to the form and focuses the field it names; any other failure shows a generic sentence
(a raw database error never reaches the user).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTime
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyledItemDelegate,
    QTableView,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from core.errors import SchedulerError, ValidationError
from desktop.colours import text_colour_for
from desktop.program import ProgramData, ProgramSession, user_message

Index = QModelIndex | QPersistentModelIndex
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# ------------------------------------------------------------------------------------ models
class RecordTableModel(QAbstractTableModel):
    """Read-only table over frozen records; columns are (header, getter) pairs."""

    def __init__(self, columns: Sequence[tuple[str, Callable[[Any], Any]]], parent: Any = None,
                 colour: Callable[[Any], str | None] | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.records: list[Any] = []
        self.colour = colour

    def set_records(self, records: Sequence[Any]) -> None:
        self.beginResetModel()
        self.records = list(records)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.records):
            return None
        rec = self.records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = self.columns[index.column()][1](rec)
            return "" if value is None else str(value)
        if self.colour is not None and index.column() == 0:
            colour = self.colour(rec)
            if colour and role == Qt.ItemDataRole.BackgroundRole:
                return QColor(colour)
            if colour and role == Qt.ItemDataRole.ForegroundRole:
                return QColor(text_colour_for(colour))
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            return self.columns[section][0]
        return None


class PatternModel(QAbstractTableModel):
    """A rotation's weekly pattern: rows AM/PM, columns Monday..Sunday; cells hold activity ids."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.cells: dict[tuple[int, int], str] = {}  # (weekday, slot) -> activity id
        self.activities: dict[str, Any] = {}

    def set_pattern(self, pattern: dict[tuple[int, int], str], activities: Sequence[Any]) -> None:
        self.beginResetModel()
        self.cells = dict(pattern)
        self.activities = {a.id: a for a in activities}
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 7

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        aid = self.cells.get((index.column(), index.row()))
        act = self.activities.get(aid) if aid else None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return act.code if act else ""
        if role == Qt.ItemDataRole.BackgroundRole and act:
            return QColor(act.colour)
        if role == Qt.ItemDataRole.ForegroundRole and act:
            return QColor(text_colour_for(act.colour))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{WEEKDAYS[index.column()]} {('AM', 'PM')[index.row()]}: {act.name if act else 'nothing'}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        code = str(value or "").strip().upper()
        key = (index.column(), index.row())
        if not code:
            self.cells.pop(key, None)
        else:
            act = next((a for a in self.activities.values() if a.code.upper() == code and not a.archived), None)
            if act is None:
                return False
            self.cells[key] = act.id
        self.dataChanged.emit(index, index)
        return True

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < 7:
            return WEEKDAYS[section][:3]
        if orientation == Qt.Orientation.Vertical and 0 <= section < 2:
            return ("AM", "PM")[section]
        return None


class CodeDelegate(QStyledItemDelegate):
    """Edits a pattern cell with a combo box of activity codes (empty = nothing)."""

    def __init__(self, codes: Callable[[], list[str]], parent: Any = None) -> None:
        super().__init__(parent)
        self.codes = codes

    def createEditor(self, parent: QWidget, option: Any, index: QModelIndex) -> QWidget:
        box = QComboBox(parent)
        box.setAccessibleName("Activity of this pattern cell")
        box.addItems(["", *self.codes()])
        return box

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        editor.setCurrentText(str(index.data(Qt.ItemDataRole.EditRole) or ""))

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


# ------------------------------------------------------------------------------------- forms
@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # text | int | float | bool | choice | colour | time | hours | ints | words
    options: tuple[Any, ...] = ()  # choice: (label, value) pairs; int/float: (min, max)
    help: str = ""


class ColourField(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("#rrggbb")
        self.edit.setAccessibleName("Colour")
        self.button = QPushButton("Choose…", self)
        self.button.setAccessibleName("Choose a colour")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)
        self.button.clicked.connect(self._choose)
        self.edit.textChanged.connect(self._preview)

    def _choose(self) -> None:
        colour = QColorDialog.getColor(QColor(self.edit.text() or "#cccccc"), self, "Colour")
        if colour.isValid():
            self.edit.setText(colour.name())

    def _preview(self, text: str) -> None:
        c = QColor(text)
        if c.isValid() and len(text) == 7:
            self.edit.setStyleSheet(f"QLineEdit {{ background: {c.name()}; color: {text_colour_for(c.name())}; }}")
        else:
            self.edit.setStyleSheet("")

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)


class Form(QWidget):
    """Widgets for a list of Fields; `values()` parses them (ValidationError in plain words)."""

    def __init__(self, fields: Sequence[Field], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields = list(fields)
        self.widgets: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        for f in self.fields:
            w = self._widget(f)
            w.setAccessibleName(f.label)
            if f.help:
                w.setToolTip(f.help)
            self.widgets[f.key] = w
            layout.addRow(f.label + ":", w)

    def _widget(self, f: Field) -> QWidget:
        if f.kind == "int":
            w = QSpinBox(self)
            lo, hi = f.options or (0, 9999)
            w.setRange(int(lo), int(hi))
            return w
        if f.kind in ("float", "hours"):
            d = QDoubleSpinBox(self)
            lo, hi = f.options or (0.0, 1000.0)
            d.setRange(float(lo), float(hi))
            d.setDecimals(2 if f.kind == "float" else 1)
            if f.kind == "hours":
                d.setSuffix(" h")
            return d
        if f.kind == "bool":
            return QCheckBox(self)
        if f.kind == "choice":
            c = QComboBox(self)
            for label, value in f.options:
                c.addItem(label, value)
            return c
        if f.kind == "colour":
            return ColourField(self)
        if f.kind == "time":
            t = QTimeEdit(self)
            t.setDisplayFormat("HH:mm")
            return t
        return QLineEdit(self)

    def set_values(self, values: dict[str, Any]) -> None:
        for f in self.fields:
            w, v = self.widgets[f.key], values.get(f.key)
            if isinstance(w, QSpinBox):
                w.setValue(int(v or 0))
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(v or 0) / (60.0 if f.kind == "hours" else 1.0))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            elif isinstance(w, QComboBox):
                w.setCurrentIndex(max(0, w.findData(v)))
            elif isinstance(w, QTimeEdit):
                minutes = int(v or 0)
                w.setTime(QTime(minutes // 60 % 24, minutes % 60))
            elif isinstance(w, ColourField | QLineEdit):
                if f.kind in ("ints", "words"):
                    w.setText(", ".join(str(x) for x in (v or ())))
                else:
                    w.setText("" if v is None else str(v))

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            w = self.widgets[f.key]
            if isinstance(w, QSpinBox):
                out[f.key] = w.value()
            elif isinstance(w, QDoubleSpinBox):
                out[f.key] = int(round(w.value() * 60)) if f.kind == "hours" else w.value()
            elif isinstance(w, QCheckBox):
                out[f.key] = w.isChecked()
            elif isinstance(w, QComboBox):
                out[f.key] = w.currentData()
            elif isinstance(w, QTimeEdit):
                out[f.key] = w.time().hour() * 60 + w.time().minute()
            elif isinstance(w, ColourField | QLineEdit):
                text = w.text().strip()
                if f.kind == "ints":
                    try:
                        out[f.key] = [int(x) for x in text.replace(";", ",").split(",") if x.strip()]
                    except ValueError:
                        raise ValidationError(f"{f.label}: write whole numbers separated by commas, e.g. 1, 2.",
                                              field=f.key) from None
                elif f.kind == "words":
                    out[f.key] = [x.strip() for x in text.replace(";", ",").split(",") if x.strip()]
                else:
                    out[f.key] = text
        return out

    def focus(self, key: str | None) -> None:
        if key and key in self.widgets:
            self.widgets[key].setFocus()


class EditorPage(QWidget):
    """Table of records + form + New / Save / Archive; subclasses fill in the specifics."""

    title = ""
    columns: Sequence[tuple[str, Callable[[Any], Any]]] = ()
    fields: Sequence[Field] = ()
    archive_label = "Archive"

    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.current: Any = None
        self.model = RecordTableModel(self.columns, self, colour=self.record_colour)
        self.view = QTableView(self)
        self.view.setAccessibleName(f"{self.title} table")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.form = Form(self.fields, self)
        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setAccessibleName("Form message")
        self.error.setWordWrap(True)
        self.heading = QLabel(self)
        self.new_button = QPushButton("&New", self)
        self.save_button = QPushButton("&Save", self)
        self.save_button.setShortcut(QKeySequence("Ctrl+S"))
        self.archive_button = QPushButton(self.archive_label, self)
        for b, name in ((self.new_button, f"New {self.title.lower()}"), (self.save_button, "Save"),
                        (self.archive_button, self.archive_label)):
            b.setAccessibleName(name)
        buttons = QHBoxLayout()
        for b in (self.new_button, self.save_button, self.archive_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.addWidget(self.heading)
        rl.addWidget(self.form)
        self.extra(rl)
        rl.addLayout(buttons)
        rl.addWidget(self.error)
        rl.addStretch(1)
        split = QSplitter(self)
        split.addWidget(self.view)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"<h3>{self.title}</h3>", self))
        lay.addWidget(split, 1)
        self.new_button.clicked.connect(self.start_new)
        self.save_button.clicked.connect(self.save)
        self.archive_button.clicked.connect(self.archive)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.save)
        self.view.selectionModel().currentRowChanged.connect(self._row_changed)
        session.opened.connect(self.reload)
        session.catalog_changed.connect(self.reload)
        if session.data is not None:
            self.reload(session.data)
        self.start_new()

    # hooks ----------------------------------------------------------------------------------
    def extra(self, layout: QVBoxLayout) -> None:
        """Extra widgets under the form (the rotation's pattern grid)."""

    def record_colour(self, record: Any) -> str | None:
        return None

    def records(self, data: ProgramData) -> Sequence[Any]:
        return ()

    def form_values(self, record: Any) -> dict[str, Any]:
        return {f.key: getattr(record, f.key, None) for f in self.fields}

    def defaults(self) -> dict[str, Any]:
        return {}

    def save_fn(self, values: dict[str, Any], record: Any) -> Callable[[Any], Any]:
        raise NotImplementedError

    def archive_fn(self, record: Any) -> Callable[[Any], Any] | None:
        return None

    # behaviour ------------------------------------------------------------------------------
    def reload(self, data: ProgramData) -> None:
        keep = getattr(self.current, "id", None)
        self.model.set_records(self.records(data))
        if keep is not None:
            self.select_id(keep)

    def select_id(self, record_id: str) -> None:
        for row, rec in enumerate(self.model.records):
            if getattr(rec, "id", None) == record_id:
                self.view.selectRow(row)
                self.view.setCurrentIndex(self.model.index(row, 0))
                return

    def _row_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if current.isValid() and 0 <= current.row() < len(self.model.records):
            self.show_record(self.model.records[current.row()])

    def show_record(self, record: Any) -> None:
        self.current = record
        self.heading.setText(f"<b>Edit {self.title.lower()}</b>")
        self.form.set_values(self.form_values(record))
        self.archive_button.setEnabled(True)
        self.error.setText("")

    def start_new(self) -> None:
        self.current = None
        self.view.clearSelection()
        self.heading.setText(f"<b>New {self.title.lower()}</b>")
        self.form.set_values(self.defaults())
        self.archive_button.setEnabled(False)
        self.error.setText("")

    def show_error(self, message: str, field: str | None = None) -> None:
        self.error.setStyleSheet("QLabel { color: #c00000; }")
        self.error.setText(message)
        self.form.focus(field)

    def save(self) -> None:
        if self.session.data is None:
            return
        try:
            fn = self.save_fn(self.form.values(), self.current)
        except ValidationError as exc:
            self.show_error(str(exc), exc.field)
            return
        self._write(fn, f"Save {self.title.lower()}")

    def archive(self) -> None:
        if self.current is None:
            return
        fn = self.archive_fn(self.current)
        if fn is not None:
            self._write(fn, f"{self.archive_label} {self.title.lower()}")

    def _write(self, fn: Callable[[Any], Any], text: str) -> None:
        def done(result: Any) -> None:
            self.error.setStyleSheet("")
            self.error.setText("Saved.")
            value = getattr(result, "value", None)
            if getattr(value, "id", None):
                self.current = value

        def failed(exc: BaseException) -> bool:
            if isinstance(exc, SchedulerError):
                self.show_error(str(exc), getattr(exc, "field", None))
            else:
                self.show_error(user_message(exc))
            return True

        self.session.write(fn, text=text, on_done=done, on_failed=failed)


# ------------------------------------------------------------------------------------ editors
def _pgy_text(levels: Sequence[int]) -> str:
    return ", ".join(f"PGY-{p}" for p in levels) or "any"


class PeopleEditor(EditorPage):
    title = "Person"
    columns = (("Name", lambda p: p.name), ("Kind", lambda p: p.kind), ("PGY", lambda p: p.pgy or ""),
               ("Role", lambda p: p.faculty_role or ""), ("Clinic cap / week", lambda p: p.clinic_cap_per_week),
               ("Email", lambda p: p.email or ""))
    fields = (
        Field("name", "Name", "text"),
        Field("kind", "Kind", "choice", (("Resident", "resident"), ("Faculty", "faculty"), ("Staff", "staff")),
              "Fixed once the person exists."),
        Field("pgy", "PGY level", "int", (1, 8), "Residents only: the level in the current academic year."),
        Field("faculty_role", "Faculty role", "choice", (("—", None), ("Program director", "pd"),
                                                         ("Associate PD", "apd"), ("Core", "core"),
                                                         ("Adjunct", "adjunct"), ("Specialist", "specialist"))),
        Field("clinic_cap_per_week", "Clinic half-days per week (faculty)", "int", (0, 10)),
        Field("email", "Email", "text"),
    )

    def records(self, data: ProgramData) -> Sequence[Any]:
        return data.people

    def defaults(self) -> dict[str, Any]:
        return {"kind": "resident", "pgy": 1}

    def show_record(self, record: Any) -> None:
        super().show_record(record)
        self.form.widgets["kind"].setEnabled(False)

    def start_new(self) -> None:
        super().start_new()
        self.form.widgets["kind"].setEnabled(True)

    def save_fn(self, v: dict[str, Any], record: Any) -> Callable[[Any], Any]:
        from core.services import people

        data = self.session.data
        assert data is not None
        year = data.years[-1].start_year if data.years else None
        kind = v["kind"] if record is None else record.kind
        pgy = v["pgy"] if kind == "resident" else None
        role = v["faculty_role"] if kind == "faculty" else None
        cap = v["clinic_cap_per_week"] if kind == "faculty" else None
        email = v["email"] or None
        if record is None:
            return lambda ctx: people.create_person(ctx, data.program.id, v["name"], kind, academic_year=year,
                                                    pgy=pgy, faculty_role=role, clinic_cap_per_week=cap, email=email)
        if kind == "resident" and pgy != record.pgy and year is not None:
            # The level and the details are two edits; the level first, so a bad name leaves it.
            pid = record.id
            self.session.write(lambda ctx: people.set_pgy(ctx, pid, year, int(pgy or 1)), text="Set PGY level")
        return lambda ctx: people.update_person(ctx, record.id, name=v["name"], faculty_role=role,
                                                clinic_cap_per_week=cap, email=email)

    def archive_fn(self, record: Any) -> Callable[[Any], Any]:
        from core.services import people

        return lambda ctx: people.archive_person(ctx, record.id)


CATEGORY_CHOICES = tuple((c.capitalize(), c) for c in (
    "clinic", "inpatient", "procedure", "didactics", "supervision", "administration",
    "night", "research", "elective", "off", "leave", "postcall"))


class ActivitiesEditor(EditorPage):
    title = "Activity"
    columns = (("Code", lambda a: a.code), ("Name", lambda a: a.name), ("Category", lambda a: a.category),
               ("AM", lambda a: f"{a.am_start // 60:02d}:{a.am_start % 60:02d} +{a.am_minutes / 60:g} h"),
               ("PM", lambda a: f"{a.pm_start // 60:02d}:{a.pm_start % 60:02d} +{a.pm_minutes / 60:g} h"),
               ("Archived", lambda a: "yes" if a.archived else ""))
    fields = (
        Field("code", "Code", "text", help="1-16 letters or digits, e.g. C, FMIT, NF"),
        Field("name", "Name", "text"),
        Field("colour", "Colour", "colour"),
        Field("category", "Category", "choice", CATEGORY_CHOICES),
        Field("am_start", "AM duty starts", "time"),
        Field("am_minutes", "AM duty length", "hours", (0, 28)),
        Field("pm_start", "PM duty starts", "time"),
        Field("pm_minutes", "PM duty length", "hours", (0, 28)),
        Field("needs_supervision", "Needs supervision", "bool"),
        Field("provides_supervision", "Provides supervision", "bool"),
        Field("counts_clinic_capacity", "Counts against clinic rooms", "bool"),
        Field("is_procedure", "Procedure session", "bool"),
        Field("is_night_float", "Night float", "bool"),
        Field("eligible_kinds", "Who may hold it", "words", help="resident, faculty, staff"),
        Field("eligible_pgy", "PGY levels (empty = any)", "ints"),
        Field("required_credential", "Required credential", "text"),
        Field("shed_priority", "Sacrifice category (1 safety .. 7 optional)", "int", (1, 7)),
    )
    archive_label = "Archive"

    def record_colour(self, record: Any) -> str | None:
        return str(record.colour)

    def records(self, data: ProgramData) -> Sequence[Any]:
        return data.activities

    def defaults(self) -> dict[str, Any]:
        return {"colour": "#cccccc", "category": "clinic", "eligible_kinds": ("resident", "faculty"), "shed_priority": 4,
                "am_start": 8 * 60, "am_minutes": 4 * 60, "pm_start": 13 * 60, "pm_minutes": 4 * 60}

    def save_fn(self, v: dict[str, Any], record: Any) -> Callable[[Any], Any]:
        from core.services import catalog

        v = dict(v)
        v["required_credential"] = v["required_credential"] or None
        data = self.session.data
        assert data is not None
        if record is None:
            return lambda ctx: catalog.create_activity(ctx, data.program.id, **v)
        changed = {k: x for k, x in v.items() if getattr(record, k) != (tuple(x) if isinstance(x, list) else x)}
        return lambda ctx: catalog.update_activity(ctx, record.id, **changed)

    def archive_fn(self, record: Any) -> Callable[[Any], Any]:
        from core.services import catalog

        return lambda ctx: catalog.archive_activity(ctx, record.id, not record.archived)


class RotationsEditor(EditorPage):
    title = "Rotation"
    columns = (("Code", lambda r: r.code), ("Name", lambda r: r.name),
               ("Residents", lambda r: f"{r.min_residents}-{r.max_residents}"),
               ("PGY", lambda r: _pgy_text(r.eligible_pgy)), ("Weekends", lambda r: "yes" if r.includes_weekends else ""))
    fields = (
        Field("code", "Code", "text"),
        Field("name", "Name", "text"),
        Field("colour", "Colour", "colour"),
        Field("min_residents", "Minimum residents", "int", (0, 500)),
        Field("max_residents", "Maximum residents", "int", (0, 500)),
        Field("eligible_pgy", "PGY levels (empty = any)", "ints"),
        Field("leave_allowed", "Leave may be taken", "bool"),
        Field("includes_weekends", "Includes weekends", "bool"),
    )

    def extra(self, layout: QVBoxLayout) -> None:
        self.pattern = PatternModel(self)
        self.pattern_view = QTableView(self)
        self.pattern_view.setAccessibleName("Weekly pattern: weekdays by AM and PM")
        self.pattern_view.setModel(self.pattern)
        self.pattern_view.setItemDelegate(CodeDelegate(self._codes, self.pattern_view))
        self.pattern_view.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.pattern_view.horizontalHeader().setDefaultSectionSize(56)
        self.pattern_view.setMaximumHeight(110)
        layout.addWidget(QLabel("Weekly pattern (type or choose an activity code per half-day):", self))
        layout.addWidget(self.pattern_view)

    def _codes(self) -> list[str]:
        data = self.session.data
        return [a.code for a in data.activities if not a.archived] if data else []

    def record_colour(self, record: Any) -> str | None:
        return str(record.colour)

    def records(self, data: ProgramData) -> Sequence[Any]:
        return data.rotations

    def defaults(self) -> dict[str, Any]:
        return {"colour": "#dddddd", "max_residents": 99, "leave_allowed": True}

    def show_record(self, record: Any) -> None:
        super().show_record(record)
        self.pattern.set_pattern(record.pattern, self.session.data.activities if self.session.data else ())

    def start_new(self) -> None:
        super().start_new()
        self.pattern.set_pattern({}, self.session.data.activities if self.session.data else ())

    def save_fn(self, v: dict[str, Any], record: Any) -> Callable[[Any], Any]:
        from core.services import catalog

        data = self.session.data
        assert data is not None
        pattern = dict(self.pattern.cells)
        if record is None:
            return lambda ctx: catalog.create_rotation(ctx, data.program.id, pattern=pattern, **v)
        return lambda ctx: catalog.update_rotation(ctx, record.id, pattern=pattern, **v)

    def archive_fn(self, record: Any) -> Callable[[Any], Any]:
        from core.services import catalog

        return lambda ctx: catalog.archive_rotation(ctx, record.id)


class RequirementsEditor(EditorPage):
    title = "Requirement"
    archive_label = "Delete"
    fields = (
        Field("activity_id", "Activity", "choice"),
        Field("weekday", "Day", "choice", (("Every day", None), *[(d, i) for i, d in enumerate(WEEKDAYS)])),
        Field("slot", "Half-day", "choice", (("AM", 0), ("PM", 1))),
        Field("min_count", "Minimum", "int", (0, 500)),
        Field("optimum", "Optimum", "int", (0, 500)),
        Field("max_count", "Maximum", "int", (0, 999)),
        Field("qualification", "Qualification (optional)", "text"),
    )

    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        self.columns = (
            ("Activity", self._activity_code), ("Day", lambda r: WEEKDAYS[r.weekday] if r.weekday is not None
                                                 else (r.date.isoformat() if r.date else "Every day")),
            ("Half-day", lambda r: ("AM", "PM")[r.slot]), ("Min", lambda r: r.min_count),
            ("Optimum", lambda r: r.optimum), ("Max", lambda r: r.max_count))
        super().__init__(session, parent)

    def _activity_code(self, r: Any) -> str:
        data = self.session.data
        act = data.activity(r.activity_id) if data else None
        return act.code if act else "?"

    def reload(self, data: ProgramData) -> None:
        box = self.form.widgets["activity_id"]
        assert isinstance(box, QComboBox)
        box.clear()
        for a in data.activities:
            if not a.archived:
                box.addItem(f"{a.code} — {a.name}", a.id)
        ctx = self.session.ctx
        if ctx is None:
            return
        from core.services import catalog

        pid = data.program.id
        self.session.app.workers.start("requirements", lambda **_: catalog.list_requirements(ctx, pid),
                                       on_finished=self._set_rows)

    def _set_rows(self, rows: list[Any]) -> None:
        keep = getattr(self.current, "id", None)
        self.model.set_records(sorted(rows, key=lambda r: (self._activity_code(r), r.weekday if r.weekday is not None else -1, r.slot)))
        if keep:
            self.select_id(keep)

    def defaults(self) -> dict[str, Any]:
        return {"slot": 0, "min_count": 1, "optimum": 1, "max_count": 6}

    def save_fn(self, v: dict[str, Any], record: Any) -> Callable[[Any], Any]:
        from core.services import catalog

        data = self.session.data
        assert data is not None
        if v["activity_id"] is None:
            raise ValidationError("Choose the activity the requirement is for.", field="activity_id")
        v = dict(v)
        v["qualification"] = v["qualification"] or None
        if record is None:
            aid = v.pop("activity_id")
            return lambda ctx: catalog.create_requirement(ctx, data.program.id, aid, **v)
        return lambda ctx: catalog.update_requirement(ctx, record.id, **v)

    def archive_fn(self, record: Any) -> Callable[[Any], Any]:
        from core.services import catalog

        return lambda ctx: catalog.delete_requirement(ctx, record.id)

    def records(self, data: ProgramData) -> Sequence[Any]:
        return self.model.records


def _rule_fields() -> tuple[Field, ...]:
    from core.rules.ruleset import RuleValues

    out = []
    for f in dataclasses.fields(RuleValues):
        default = getattr(RuleValues(), f.name)
        label = f.name.replace("_", " ").capitalize()
        if isinstance(default, bool):
            out.append(Field(f.name, label, "bool"))
        elif isinstance(default, int):
            out.append(Field(f.name, label, "int", (0, 100000)))
        elif isinstance(default, float):
            out.append(Field(f.name, label, "float", (0.0, 10000.0)))
        elif f.name == "window_mode":
            out.append(Field(f.name, "Averaging windows", "choice", (("Rolling 28-day windows", "rolling"),
                                                                      ("Aligned to blocks", "block"))))
        else:
            out.append(Field(f.name, label, "text"))
    return tuple(out)


class RuleSetEditor(EditorPage):
    """Settings: the rule set. Saving makes a new version (the highest version is in force)."""

    title = "Rule set"
    archive_label = "—"
    columns = (("Version", lambda r: r.number), ("Created", lambda r: f"{r.created_at:%Y-%m-%d %H:%M}"),
               ("Note", lambda r: r.note or ""), ("Exceptions", lambda r: ", ".join(r.exceptions) or ""))

    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        self.fields = _rule_fields()
        super().__init__(session, parent)
        self.archive_button.hide()
        self.new_button.setText("Start from the &current version")
        self.save_button.setText("&Save as a new version")

    def extra(self, layout: QVBoxLayout) -> None:
        self.note = QLineEdit(self)
        self.note.setAccessibleName("Note for this version")
        self.exception = QLineEdit(self)
        self.exception.setAccessibleName("Exception reason")
        self.exception.setPlaceholderText("Needed only to loosen an ACGME limit: the reason it was granted")
        form = QFormLayout()
        form.addRow("Note:", self.note)
        form.addRow("Exception reason:", self.exception)
        layout.addLayout(form)

    def reload(self, data: ProgramData) -> None:
        ctx = self.session.ctx
        if ctx is None:
            return
        from core.services import queries

        pid = data.program.id
        self.session.app.workers.start("rule-sets", lambda **_: queries.list_rule_sets(ctx, pid),
                                       on_finished=self._set_rows)

    def _set_rows(self, rows: list[Any]) -> None:
        self.model.set_records(rows)
        if rows and self.current is None:
            self.form.set_values(dict(rows[0].values))

    def form_values(self, record: Any) -> dict[str, Any]:
        return dict(record.values)

    def start_new(self) -> None:
        super().start_new()
        if self.model.records:
            self.form.set_values(dict(self.model.records[0].values))
        self.heading.setText("<b>Rule numbers (saving makes a new version)</b>")

    def save_fn(self, v: dict[str, Any], record: Any) -> Callable[[Any], Any]:
        from core.rules.ruleset import RuleValues, looser_than_floor
        from core.services import programs

        data = self.session.data
        assert data is not None
        reason = self.exception.text().strip()
        looser = looser_than_floor(RuleValues.from_dict(v))
        exceptions = {name: reason for name in looser} if reason else {}
        note = self.note.text().strip() or None
        return lambda ctx: programs.new_rule_set(ctx, data.program.id, v, exceptions=exceptions, note=note)


__all__ = ["ActivitiesEditor", "PeopleEditor", "RequirementsEditor", "RotationsEditor", "RuleSetEditor",
           "PatternModel", "RecordTableModel"]
