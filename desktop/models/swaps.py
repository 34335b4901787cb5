"""Swaps, ranked candidates and notices as tables (frozen rows from core.services.swaps).

A `SwapRow` is a `SwapRecord` with the results of its latest check (every problem in plain
words), so a row changes, and emits `dataChanged`, when either does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont

from desktop.models.records import Index, RecordRole, RecordTableModel, SortRole

KIND_LABEL = {"trade": "Trade", "giveaway": "Give-away", "pool": "Pool offer", "open_shift": "Open shift"}
STATUS_LABEL = {"requested": "Requested", "accepted": "Accepted", "approved": "Approved", "executed": "Executed",
                "declined": "Declined", "cancelled": "Cancelled", "expired": "Expired", "rolled_back": "Rolled back"}
PROBLEM_COLOUR = QColor("#c00000")
OK_COLOUR = QColor("#2e7d32")


def items_text(items: Any) -> str:
    """'Fri Jul 10 call, Sat Jul 11 AM' (a week shortens to its first and last day)."""
    items = tuple(items)
    if not items:
        return ""
    if len(items) > 4:
        return f"{len(items)} items, {items[0].date:%a %b %d} – {items[-1].date:%a %b %d}"
    return ", ".join(i.label() for i in items)


@dataclass(frozen=True)
class SwapRow:
    record: Any  # core.services.swaps.SwapRecord
    problems: tuple[str, ...] = ()
    checked: bool = False  # problems come from a fresh check (else: stored at the last transition)

    @property
    def id(self) -> str:
        return str(self.record.id)


class SwapsModel(RecordTableModel):
    columns = ("Kind", "Status", "From", "To", "Gives", "Takes", "Requested", "Checks")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.names: dict[str, str] = {}

    def set_names(self, names: dict[str, str]) -> None:
        self.names = dict(names)
        if self.rows:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self.rows) - 1, 3))

    def _name(self, pid: str | None) -> str:
        return "anyone" if pid is None else self.names.get(pid, "someone")

    @staticmethod
    def checks_text(row: SwapRow) -> str:
        if row.problems:
            return f"{len(row.problems)} problem(s): " + " ".join(row.problems)
        return "No problem found" if row.checked or row.record.status == "executed" else ""

    def display(self, row: SwapRow, column: int) -> Any:
        r = row.record
        return (KIND_LABEL.get(r.kind, r.kind), STATUS_LABEL.get(r.status, r.status), self._name(r.requester_id),
                self._name(r.counterpart_id), items_text(r.give), items_text(r.take),
                f"{r.created_at:%b %d %H:%M}", self.checks_text(row))[column]

    def sort_value(self, row: SwapRow, column: int) -> Any:
        if column == 4:
            return str(row.record.give[0].date) if row.record.give else ""
        if column == 6:
            return row.record.created_at.isoformat()
        return super().sort_value(row, column)

    def other(self, row: SwapRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == 7:
            return PROBLEM_COLOUR if row.problems else OK_COLOUR
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 7 and row.problems:
                return "\n".join(row.problems)
            if column in (4, 5):
                return "\n".join(i.label() for i in (row.record.give if column == 4 else row.record.take))
            if row.record.note:
                return row.record.note
        return None


class SwapFilterProxy(QSortFilterProxyModel):
    """Which swaps a tab shows: by status and kind, by person (either side), and optionally only
    the ids in `allowed` (the marketplace's "only what I can take")."""

    def __init__(self, statuses: tuple[str, ...], kinds: tuple[str, ...] = (), parent: Any = None) -> None:
        super().__init__(parent)
        self.statuses = statuses
        self.kinds = kinds
        self.person_id: str | None = None
        self.allowed: set[str] | None = None
        self.setSortRole(SortRole)

    def set_filter(self, *, person_id: str | None = None, allowed: set[str] | None = None) -> None:
        self.beginFilterChange()
        self.person_id = person_id
        self.allowed = allowed
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, SwapsModel) or not 0 <= source_row < len(model.rows):
            return True
        r = model.rows[source_row].record
        if r.status not in self.statuses or (self.kinds and r.kind not in self.kinds):
            return False
        if self.person_id is not None and self.person_id not in (r.requester_id, r.counterpart_id):
            return False
        return self.allowed is None or r.id in self.allowed


class CandidatesModel(RecordTableModel):
    """rank_candidates' answer for a pool offer or an open shift, best first."""

    columns = ("#", "Person", "This year", "Class mean", "Gives back", "Why")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, key=lambda c: c.person_id)

    def display(self, c: Any, column: int) -> Any:
        rank = self.rows.index(c) + 1
        return (str(rank), c.name, str(c.count_ytd), f"{c.class_mean:.1f}",
                c.give_back.label() if c.give_back is not None else "", "; ".join(c.reasons))[column]

    def other(self, c: Any, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(c.reasons)
        return None


NOTICE_KIND = {"swap_request": "Request to you", "swap_accepted": "Accepted", "swap_declined": "Declined",
               "swap_cancelled": "Cancelled", "approval_waiting": "Approval waiting", "swap_executed": "Executed",
               "swap_rolled_back": "Rolled back", "absence_decided": "Absence decided", "offer": "Offer you can take"}


class NoticesModel(RecordTableModel):
    """A person's notices, newest first; unread ones in bold."""

    columns = ("When", "What", "")

    def display(self, n: Any, column: int) -> Any:
        when = n.created_at if isinstance(n.created_at, dt.datetime) else None
        return (f"{when:%b %d %H:%M}" if when else "", NOTICE_KIND.get(n.kind, n.kind.replace("_", " ")), n.text)[column]

    def other(self, n: Any, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.FontRole and not n.read:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return "read" if n.read else "unread"
        return None

    @property
    def unread(self) -> int:
        return sum(1 for n in self.rows if not n.read)


__all__ = ["CandidatesModel", "NoticesModel", "RecordRole", "SwapFilterProxy", "SwapRow", "SwapsModel", "items_text"]
