"""Absences as tables: the list, the slots an approval emptied with proposed cover, and a
calendar strip (people x days) of the absences around a date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.models.records import Index, RecordRole, RecordTableModel

STATUS_COLOUR = {"approved": QColor("#ffe699"), "pending": QColor("#ddebf7"), "denied": QColor("#f2f2f2"),
                 "cancelled": QColor("#f2f2f2")}
TYPE_LETTER = {"vacation": "V", "conference": "C", "sick": "S", "parental": "P", "bereavement": "B",
               "military": "M", "personal": "L", "other": "O"}


class AbsencesModel(RecordTableModel):
    columns = ("Person", "Type", "From", "To", "Days", "Status", "Blocking", "Note")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.names: dict[str, str] = {}

    def set_names(self, names: dict[str, str]) -> None:
        self.names = dict(names)
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 0))

    def display(self, a: Any, column: int) -> Any:
        return (self.names.get(a.person_id, "someone"), a.type.capitalize(), f"{a.start:%a %b %d %Y}",
                f"{a.end:%a %b %d %Y}", str(a.days), a.status.capitalize(), "yes" if a.blocking else "no",
                a.note or "")[column]

    def sort_value(self, a: Any, column: int) -> Any:
        if column in (2, 3):
            return (a.start if column == 2 else a.end).isoformat()
        if column == 4:
            return a.days
        return super().sort_value(a, column)

    def other(self, a: Any, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole and column == 5:
            return STATUS_COLOUR.get(a.status)
        if role == Qt.ItemDataRole.ForegroundRole and column == 5:
            return QColor("#000000")
        return None


@dataclass(frozen=True)
class CoverRow:
    """One slot or call night an approval emptied, and who could take it (best first)."""

    person_id: str
    date: dt.date
    slot: int | None  # None = the call of that night
    what: str  # activity code or call type
    proposals: tuple[str, ...]  # names, best first
    note: str = ""

    @property
    def id(self) -> tuple[str, dt.date, int | None]:
        return (self.person_id, self.date, self.slot)


class CoverModel(RecordTableModel):
    columns = ("Day", "Slot", "Was", "Proposed cover")

    def display(self, r: CoverRow, column: int) -> Any:
        slot = "Call" if r.slot is None else ("AM" if r.slot == 0 else "PM")
        cover = ", ".join(r.proposals) if r.proposals else (r.note or "Nobody free and compliant")
        return (f"{r.date:%a %b %d}", slot, r.what, cover)[column]

    def other(self, r: CoverRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == 3 and not r.proposals:
            return QColor("#c00000")
        return None


class AbsenceStripModel(QAbstractTableModel):
    """People (rows) x days (columns): a letter for the absence type, coloured by its status."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.people: list[tuple[str, str]] = []  # (id, name)
        self.start = dt.date(2000, 1, 1)
        self.n_days = 0
        self.cells: dict[tuple[str, dt.date], Any] = {}

    def set_strip(self, people: list[tuple[str, str]], start: dt.date, n_days: int, absences: list[Any]) -> None:
        self.beginResetModel()
        self.people, self.start, self.n_days = list(people), start, n_days
        self.cells = {}
        end = start + dt.timedelta(days=n_days - 1)
        for a in absences:
            if a.status in ("denied", "cancelled"):
                continue
            d = max(a.start, start)
            while d <= min(a.end, end):
                old = self.cells.get((a.person_id, d))
                if old is None or old.status != "approved":
                    self.cells[(a.person_id, d)] = a
                d += dt.timedelta(days=1)
        self.endResetModel()

    def day(self, column: int) -> dt.date:
        return self.start + dt.timedelta(days=column)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.people)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.n_days

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < self.n_days:
            return f"{self.day(section):%a\n%d}"
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self.people):
            return self.people[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.people) or not 0 <= index.column() < self.n_days:
            return None
        a = self.cells.get((self.people[index.row()][0], self.day(index.column())))
        if role == RecordRole:
            return a
        if a is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return TYPE_LETTER.get(a.type, "?")
        if role == Qt.ItemDataRole.BackgroundRole:
            return STATUS_COLOUR.get(a.status)
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor("#000000")
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{a.type.capitalize()} {a.start:%b %d} – {a.end:%b %d} ({a.status})"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None
