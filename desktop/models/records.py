"""A table model over frozen records with a stable id: the base of the swaps, absences and
notices tables.

`sync(records)` brings the table to a new list with exact signals: rows whose record is gone are
removed, rows whose record changed get `dataChanged`, new records are inserted at the end (in
the order given). `reset(records)` is for a full reload (a program opened, the acting person
changed). Subclasses name the columns and say what a cell shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
RecordRole = Qt.ItemDataRole.UserRole + 40
SortRole = Qt.ItemDataRole.UserRole + 41


class RecordTableModel(QAbstractTableModel):
    """Rows of frozen records keyed by `key(record)` (their `id` unless told otherwise)."""

    columns: tuple[str, ...] = ()

    def __init__(self, parent: Any = None, *, key: Callable[[Any], Any] | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        self._key = key or (lambda r: r.id)

    # ------------------------------------------------------------------------------- changes
    def reset(self, records: Iterable[Any]) -> None:
        self.beginResetModel()
        self.rows = list(records)
        self.endResetModel()

    def sync(self, records: Sequence[Any]) -> None:
        """Exact removes, changes and inserts to make the rows equal `records` (as a set; the order
        of kept rows does not change, new ones come last)."""
        wanted = {self._key(r): r for r in records}
        for i in range(len(self.rows) - 1, -1, -1):
            if self._key(self.rows[i]) not in wanted:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self.rows[i]
                self.endRemoveRows()
        have = {self._key(r): i for i, r in enumerate(self.rows)}
        last = self.columnCount() - 1
        for k, rec in wanted.items():
            at = have.get(k)
            if at is not None and self.rows[at] != rec:
                self.rows[at] = rec
                self.dataChanged.emit(self.index(at, 0), self.index(at, last))
        new = [r for k, r in wanted.items() if k not in have]
        if new:
            n = len(self.rows)
            self.beginInsertRows(QModelIndex(), n, n + len(new) - 1)
            self.rows.extend(new)
            self.endInsertRows()

    def row_of(self, key: Any) -> int:
        return next((i for i, r in enumerate(self.rows) if self._key(r) == key), -1)

    def record(self, row: int) -> Any:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    # ------------------------------------------------------------------------------- Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.columns):
            return self.columns[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows) or not 0 <= index.column() < len(self.columns):
            return None
        rec = self.rows[index.row()]
        if role == RecordRole:
            return rec
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(rec, index.column())
        if role == SortRole:
            return self.sort_value(rec, index.column())
        return self.other(rec, index.column(), role)

    # ------------------------------------------------------------------------------- subclass
    def display(self, record: Any, column: int) -> Any:
        raise NotImplementedError

    def sort_value(self, record: Any, column: int) -> Any:
        return str(self.display(record, column) or "")

    def other(self, record: Any, column: int, role: int) -> Any:
        return None
