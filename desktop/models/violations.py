"""Violations as a table: rule, severity, person, period, value / limit, message.

The model holds a list of `core.rules.engine.Violation` records. After an edit it receives the
violations the edit added and removed (`apply_change`) and emits exact row removes and inserts,
so the compliance panel updates without reloading the block. Filtering (rule, severity, person)
and sorting happen in `ViolationFilterProxy`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Rule", "Severity", "Person", "From", "To", "Value", "Limit", "Message")
SEVERITY_RANK = {"critical": 0, "high": 1, "warning": 2}
SEVERITY_COLOUR = {"critical": QColor("#c00000"), "high": QColor("#e46c0a"), "warning": QColor("#b08800")}
ViolationRole = Qt.ItemDataRole.UserRole + 20
SortRole = Qt.ItemDataRole.UserRole + 21


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return f"{value:%a %b %d %H:%M}"
    if isinstance(value, dt.date):
        return f"{value:%a %b %d}"
    return str(value)


def _num(x: float) -> str:
    return f"{x:g}" if float(x).is_integer() else f"{x:.1f}"


class ViolationsModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        self.keep: Callable[[Any], bool] = lambda v: True
        self._keys: list[tuple[Any, ...]] = []  # per row: the sort keys (the proxy asks per comparison)
        # per row: the display texts, made on first display (the panel repaints after every edit,
        # and formatting dates and numbers per cell per paint cost more than the rest of it)
        self._texts: list[tuple[str, ...] | None] = []

    @staticmethod
    def _sort_keys(v: Any) -> tuple[Any, ...]:
        return (v.rule, SEVERITY_RANK.get(v.severity, 9), v.person_name or "", str(v.start), str(v.end),
                float(v.value), float(v.limit), v.message)

    def set_violations(self, violations: Iterable[Any], keep: Callable[[Any], bool] | None = None) -> None:
        self.beginResetModel()
        if keep is not None:
            self.keep = keep
        self.rows = [v for v in violations if self.keep(v)]
        self._keys = [self._sort_keys(v) for v in self.rows]
        self._texts = [None] * len(self.rows)
        self.endResetModel()

    def apply_change(self, added: Iterable[Any], removed: Iterable[Any]) -> None:
        """Remove the `removed` violations (one row each) and append the `added` ones."""
        for v in removed:
            try:
                i = self.rows.index(v)
            except ValueError:
                continue
            self.beginRemoveRows(QModelIndex(), i, i)
            del self.rows[i]
            del self._keys[i]
            del self._texts[i]
            self.endRemoveRows()
        new = [v for v in added if self.keep(v)]
        if new:
            n = len(self.rows)
            self.beginInsertRows(QModelIndex(), n, n + len(new) - 1)
            self.rows.extend(new)
            self._keys.extend(self._sort_keys(v) for v in new)
            self._texts.extend([None] * len(new))
            self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        r = index.row()
        v = self.rows[r]
        c = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            texts = self._texts[r]
            if texts is None:
                texts = self._texts[r] = (
                    v.rule, v.severity, v.person_name or (f"{v.activity_code or ''} slot".strip()),
                    _when(v.start), _when(v.end), _num(v.value), _num(v.limit), v.message)
            return texts[c]
        if role == SortRole:
            return self._keys[index.row()][c]
        if role == Qt.ItemDataRole.ForegroundRole and c == 1:
            return SEVERITY_COLOUR.get(v.severity)
        if role == Qt.ItemDataRole.ToolTipRole:
            return v.message
        if role == ViolationRole:
            return v
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None


class ViolationFilterProxy(QSortFilterProxyModel):
    """Filter by rule id, severity and person name (substring); sorts on typed values."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rule = ""
        self.severity = ""
        self.person = ""
        self.setSortRole(SortRole)

    def set_filter(self, *, rule: str | None = None, severity: str | None = None, person: str | None = None) -> None:
        self.beginFilterChange()
        if rule is not None:
            self.rule = rule
        if severity is not None:
            self.severity = severity
        if person is not None:
            self.person = person.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, ViolationsModel) or not 0 <= source_row < len(model.rows):
            return True
        v = model.rows[source_row]
        if self.rule and v.rule != self.rule:
            return False
        if self.severity and v.severity != self.severity:
            return False
        return not (self.person and self.person not in (v.person_name or "").lower())
