"""Qt table models over resilience results (frozen rows; reset only when a new result arrives)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex


class RowsModel(QAbstractTableModel):
    """A read-only table of plain rows (tuples) under fixed headers; `key` per row for actions."""

    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self._headers = list(headers)
        self._rows: list[tuple[Any, ...]] = []
        self._keys: list[Any] = []
        self.stale = False

    def set_rows(self, rows: Sequence[tuple[Any, ...]], keys: Sequence[Any] | None = None) -> None:
        self.beginResetModel()
        self._rows = [tuple(r) for r in rows]
        self._keys = list(keys) if keys is not None else [None] * len(self._rows)
        self.stale = False
        self.endResetModel()

    def set_stale(self, stale: bool) -> None:
        if self.stale != stale and self._rows:
            self.stale = stale
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self._headers) - 1),
                                  [Qt.ItemDataRole.ForegroundRole])
        self.stale = stale

    def key(self, row: int) -> Any:
        return self._keys[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, float):
                return f"{value:.2f}"
            return str(value)
        if role == Qt.ItemDataRole.ForegroundRole and self.stale:
            from PySide6.QtGui import QColor

            return QColor("#888888")
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int | float):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None
