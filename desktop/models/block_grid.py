"""The block grid: a table model over one block of a `ScheduleSnapshot`.

Rows: the call rows on top (faculty call, resident call), then the snapshot's people in its order
(residents by PGY descending, then faculty, then staff). Columns: the block's days x AM/PM.
A person cell shows the activity code on the activity's colour, with black or white text chosen
for contrast (desktop.colours); weekends and holidays are shaded. The call rows show who is on
call that night in the day's AM column (the view spans it over the PM column).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from desktop.colours import text_colour_for

if TYPE_CHECKING:
    from core.snapshot import ScheduleSnapshot

Index = QModelIndex | QPersistentModelIndex

# The snapshot's codes (core.snapshot CALL_NONE, SOURCE_CODES), repeated here so that importing the
# grid does not load numpy and SQLAlchemy on the GUI thread at start; a test keeps them equal.
CALL_NONE = 0
SOURCE_CODES = {"preload": 1, "manual": 2, "generated": 3, "template": 4}

CALL_ROWS = 2  # faculty call, resident call
ROW_FACULTY_CALL, ROW_RESIDENT_CALL = 0, 1
SLOT_NAMES = ("AM", "PM")
SOURCE_NAMES = {v: k for k, v in SOURCE_CODES.items()}
LOCKED_SOURCES = (SOURCE_CODES["preload"], SOURCE_CODES["manual"])

# Custom roles
PersonIdRole = Qt.ItemDataRole.UserRole + 1
DateRole = Qt.ItemDataRole.UserRole + 2
SlotRole = Qt.ItemDataRole.UserRole + 3
ActivityIdRole = Qt.ItemDataRole.UserRole + 4
LockedRole = Qt.ItemDataRole.UserRole + 5
ShadedRole = Qt.ItemDataRole.UserRole + 6  # weekend or holiday
PgyRole = Qt.ItemDataRole.UserRole + 7
KindRole = Qt.ItemDataRole.UserRole + 8
RuleMarkRole = Qt.ItemDataRole.UserRole + 9  # the rules the cell's current assignment breaks (text) or None

SHADE = QColor(128, 128, 128, 48)  # reads on light and dark palettes alike
CALL_ROW_COLOUR = QColor(128, 128, 128, 28)
ITEM_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable  # computed once: Qt asks per cell
# person cells can be dragged (moved or copied) and dropped on; the call rows cannot
CELL_FLAGS = ITEM_FLAGS | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
CELLS_MIME = "application/x-rsched-grid-cells"
ALIGN_CENTER = int(Qt.AlignmentFlag.AlignCenter)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole


@dataclass(frozen=True)
class GridCells:
    """What the grid shows of one block, computed off the GUI thread (`grid_cells`): the model and
    the delegate only index into it. `acts` and `locked` are numpy arrays [people, 2 * days] of
    the block's columns; `act_rows` / `locked_rows` are the same as nested lists (a Python int per
    cell is what the painter wants, without a numpy scalar per cell)."""

    first_day: int
    n_days: int
    acts: Any  # np.ndarray int16 [P, 2N]: activity index or -1
    locked: Any  # np.ndarray bool [P, 2N]: preload or manual
    act_rows: list[list[int]]
    locked_rows: list[list[bool]]
    shaded: list[bool]  # per column: weekend or holiday
    call_text: tuple[list[str], list[str]]  # per day: faculty call names, resident call names


def grid_cells(snapshot: ScheduleSnapshot, first_day: int, n_days: int) -> GridCells:
    """The per-cell display data of `n_days` days of `snapshot` from day index `first_day`."""
    import numpy as np

    c0, c1 = 2 * first_day, 2 * (first_day + n_days)
    acts = np.array(snapshot.codes[:, c0:c1], dtype=np.int16)
    locked = np.isin(snapshot.source[:, c0:c1], LOCKED_SOURCES) & (acts >= 0)
    days = range(first_day, first_day + n_days)
    shaded_days = [snapshot.date_of(d).weekday() >= 5 or bool(snapshot.holiday[d]) for d in days]
    shaded = [x for x in shaded_days for _slot in (0, 1)]
    names = [p.name.removeprefix("Dr ") for p in snapshot.people]
    kinds = np.array([p.kind for p in snapshot.people], dtype=object)
    on_call = snapshot.call[:, first_day:first_day + n_days] != CALL_NONE
    texts: list[list[str]] = [[], []]
    for row, kind in ((ROW_FACULTY_CALL, "faculty"), (ROW_RESIDENT_CALL, "resident")):
        mask = on_call & (kinds == kind)[:, None] if len(names) else on_call
        for d in range(n_days):
            texts[row].append(", ".join(names[p] for p in np.flatnonzero(mask[:, d])))
    return GridCells(first_day, n_days, acts, locked, acts.tolist(), locked.tolist(), shaded, (texts[0], texts[1]))


@dataclass(frozen=True)
class DropPlan:
    """What dropping (or pasting) grid cells does: one list of slot edits (person, date, slot,
    activity id or None) for one service call, so the whole drop is one undoable edit. A move
    clears the source cells that no dragged cell lands on."""

    move: bool
    edits: tuple[tuple[str, dt.date, int, str | None], ...]
    n_cells: int
    locked_over: int  # locked (preload / manual) target cells whose activity would change
    locked_moved: int  # locked source cells a move would empty

    @property
    def text(self) -> str:
        return f"{'Move' if self.move else 'Copy'} {self.n_cells} cell(s)"


def encode_cells(cells: Sequence[tuple[int, int, str, dt.date, int, str | None, bool]],
                 anchor: tuple[int, int] | None = None) -> QMimeData:
    """The drag / clipboard payload of grid cells: (row, column, person id, date, slot, activity
    id, locked) each, and the anchor cell (the one under the pointer, else the top-left) that
    lands on the drop target."""
    rows = sorted(set(cells))
    if anchor is None and rows:
        anchor = (min(r for r, *_x in rows), min(c for _r, c, *_x in rows))
    payload = {"anchor": list(anchor or (0, 0)),
               "cells": [[r, c, p, d.isoformat(), s, a, bool(lk)] for r, c, p, d, s, a, lk in rows]}
    data = QMimeData()
    data.setData(CELLS_MIME, json.dumps(payload).encode())
    return data


def decode_cells(data: QMimeData | None) -> tuple[tuple[int, int], list[tuple[int, int, str, dt.date, int, str | None, bool]]] | None:
    if data is None or not data.hasFormat(CELLS_MIME):
        return None
    try:
        payload = json.loads(bytes(data.data(CELLS_MIME).data()).decode())
        anchor = (int(payload["anchor"][0]), int(payload["anchor"][1]))
        cells = [(int(r), int(c), str(p), dt.date.fromisoformat(d), int(s), None if a is None else str(a), bool(lk))
                 for r, c, p, d, s, a, lk in payload["cells"]]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return (anchor, cells) if cells else None


def _violation_span(v: Any, day0: dt.date, n: int) -> tuple[int, int] | None:
    """The block columns [lo, hi) a violation covers, None when it is outside the block."""
    if v.day is not None and v.slot is not None:
        d = (v.day - day0).days
        return (2 * d + v.slot, 2 * d + v.slot + 1) if 0 <= d < n else None
    start = v.start.date() if isinstance(v.start, dt.datetime) else v.start
    end = v.end.date() if isinstance(v.end, dt.datetime) else v.end
    d0, d1 = max(0, (start - day0).days), min(n - 1, (end - day0).days)
    return (2 * d0, 2 * d1 + 2) if d0 <= d1 else None


def _violation_cells(snapshot: ScheduleSnapshot, cells: GridCells, v: Any, code_index: dict[str, int]) -> Any:
    """(person index or None for every person, lo, hi, boolean mask of the covered cells) of one
    violation; None when it marks no cell. See `violation_marks`."""
    span = _violation_span(v, snapshot.date_of(cells.first_day), cells.n_days)
    if span is None:
        return None
    lo, hi = span
    aidx = code_index.get(v.activity_code) if v.activity_code else None
    if v.person_id is not None:
        p = snapshot.person_index.get(v.person_id)
        if p is None:
            return None
        seg = cells.acts[p, lo:hi]
        return p, lo, hi, (seg >= 0) if aidx is None else (seg == aidx)
    if aidx is not None and v.value > v.limit:
        return None, lo, hi, cells.acts[:, lo:hi] == aidx
    return None


def violation_mask(snapshot: ScheduleSnapshot, cells: GridCells, violations: Sequence[Any]) -> Any:
    """np.ndarray bool [people, 2 * days]: the cells `violation_marks` marks, worked out with array
    operations (a block where everyone breaks a rule all block long costs no Python per cell)."""
    import numpy as np

    mask = np.zeros(cells.acts.shape, dtype=bool)
    if cells.n_days == 0:
        return mask
    code_index = {a.code: i for i, a in enumerate(snapshot.activities)}
    for v in violations:
        found = _violation_cells(snapshot, cells, v, code_index)
        if found is None:
            continue
        p, lo, hi, covered = found
        if p is None:
            mask[:, lo:hi] |= covered
        else:
            mask[p, lo:hi] |= covered
    return mask


def violation_marks(snapshot: ScheduleSnapshot, cells: GridCells, violations: Sequence[Any],
                    prefix: str = "") -> dict[tuple[int, int], str]:
    """(row, column) of the grid -> the rules broken there, one line each ('H80: <message with
    the number and the limit>'), for `core.rules.engine.Violation`s. A person's violation marks
    that person's assigned cells over its period (only those of its activity when it names one,
    e.g. QUAL); a slot's violation without a person marks the cells of its activity in that
    slot only when there are too many (CAP, COV above the maximum): a shortfall is not the fault
    of the people who are there. Never called while painting."""
    import numpy as np

    if cells.n_days == 0:
        return {}
    code_index = {a.code: i for i, a in enumerate(snapshot.activities)}
    found: dict[tuple[int, int], list[str]] = {}
    for v in violations:
        hit = _violation_cells(snapshot, cells, v, code_index)
        if hit is None:
            continue
        p, lo, _hi, covered = hit
        text = f"{prefix}{v.rule}: {v.message}"
        if p is None:
            for q, c in zip(*np.nonzero(covered)):
                found.setdefault((CALL_ROWS + int(q), lo + int(c)), []).append(text)
        else:
            for c in np.flatnonzero(covered).tolist():
                found.setdefault((CALL_ROWS + p, lo + c), []).append(text)
    return {cell: lines[0] if len(lines) == 1 else "\n".join(dict.fromkeys(lines)) for cell, lines in found.items()}


class BlockGridModel(QAbstractTableModel):
    """People x (days x AM/PM) of one block; see the module docstring.

    Drag and drop: person cells are drag- and drop-enabled; `mimeData` encodes them, and
    `dropMimeData` works out the `DropPlan` and hands it to `drop_requested` (the model never
    writes: the page runs the plan through the schedule service as one undoable edit)."""

    drop_requested = Signal(object)  # DropPlan

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.snapshot: ScheduleSnapshot | None = None
        self.cells: GridCells | None = None
        self.first_day = 0
        self.n_days = 0
        self._bg: list[QColor] = []
        self._fg: list[QColor] = []
        self.codes: list[str] = []  # per activity index
        self._marks: dict[tuple[int, int], str] = {}  # (row, col) -> problem text (live check)
        # cells whose current assignment breaks a rule: row -> per column (rows without a mark
        # are absent; what the painters read), from the block's violations (tooltips, lazily)
        self._rule_rows: dict[int, list[bool]] = {}
        self._rule_mask: Any = None
        self._rule_violations: tuple[Any, ...] = ()
        self._vheader: list[str] = []
        self._hheader: list[str] = []
        self._n_rows = 0
        self._n_cols = 0

    # ------------------------------------------------------------------------------ loading
    def set_block(self, snapshot: ScheduleSnapshot | None, first_day: int = 0, n_days: int = 0,
                  cells: GridCells | None = None) -> None:
        """Show `n_days` days of `snapshot` from day index `first_day`. `cells` is
        `grid_cells(snapshot, first_day, n_days)` when the caller computed it off the GUI thread.

        A block of the same people and length as the one shown (the next block, a reload) is a
        dataChanged over the grid and its headers; otherwise a model reset."""
        n_days = n_days if snapshot is not None else 0
        if snapshot is not None and (cells is None or cells.first_day != first_day or cells.n_days != n_days):
            cells = grid_cells(snapshot, first_day, n_days)
        old = self.snapshot
        same_shape = (old is not None and snapshot is not None and n_days == self.n_days
                      and old.people == snapshot.people)
        if not same_shape:
            self.beginResetModel()
        self.snapshot = snapshot
        self.cells = cells if snapshot is not None else None
        self.first_day, self.n_days = first_day, n_days
        self._n_rows = CALL_ROWS + snapshot.n_people if snapshot is not None else 0
        self._n_cols = 2 * n_days
        self._marks = {}
        # the page sets the rule marks again from the block's violations
        self._rule_rows, self._rule_mask, self._rule_violations = {}, None, ()
        if snapshot is not None:
            if old is None or old.activities != snapshot.activities:
                self._bg = [QColor(a.colour) for a in snapshot.activities]
                self._fg = [QColor(text_colour_for(a.colour)) for a in snapshot.activities]
                self.codes = [a.code for a in snapshot.activities]
            self._hheader = [f"{day:%a}\n{day.day}\n{SLOT_NAMES[c % 2]}"
                             for c, day in ((c, snapshot.date_of(first_day + c // 2)) for c in range(2 * n_days))]
            if not same_shape:
                self._vheader = ["Faculty call", "Resident call"] + [
                    f"{p.name}  ·  {f'PGY-{p.pgy}' if p.kind == 'resident' else p.kind.capitalize()}"
                    for p in snapshot.people]
        else:
            self._vheader, self._hheader = [], []
        if not same_shape:
            self.endResetModel()
            return
        if n_days:
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, 2 * n_days - 1))
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 2 * n_days - 1)

    def update_snapshot(self, snapshot: ScheduleSnapshot, people: set[str], dates: set[dt.date],
                        cells: GridCells | None = None) -> None:
        """The same block with some cells changed: dataChanged only for those people and dates."""
        old = self.snapshot
        if old is None or old.people != snapshot.people or old.activities != snapshot.activities:
            self.set_block(snapshot, self.first_day, self.n_days, cells)
            return
        self.snapshot = snapshot
        if cells is None or cells.first_day != self.first_day or cells.n_days != self.n_days:
            cells = grid_cells(snapshot, self.first_day, self.n_days)
        self.cells = cells
        cols = [c for d in dates for c in self.columns_of(d)]
        if not cols:
            return
        lo, hi = min(cols), max(cols)
        rows = sorted({self.row_of(p) for p in people} - {-1})
        for r in rows:
            self.dataChanged.emit(self.index(r, lo), self.index(r, hi))
        # calls changed too: repaint the call rows over the same columns
        self.dataChanged.emit(self.index(0, lo), self.index(CALL_ROWS - 1, hi))

    def set_marks(self, marks: dict[tuple[int, int], str]) -> None:
        changed = set(marks) | set(self._marks)
        self._marks = dict(marks)
        for r, c in changed:
            ix = self.index(r, c)
            self.dataChanged.emit(ix, ix, [Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.UserRole])

    @property
    def marks(self) -> dict[tuple[int, int], str]:
        return self._marks

    def set_rule_violations(self, violations: Sequence[Any]) -> None:
        """Mark the cells whose current assignment breaks one of `violations` (the block's, after
        each edit): a numpy mask (`violation_mask`); dataChanged per row over the changed cells
        only. The tooltip text is worked out when asked for (`rule_text`)."""
        import numpy as np

        snap, cells = self.snapshot, self.cells
        old = self._rule_mask
        self._rule_violations = tuple(violations)
        if snap is None or cells is None:
            self._rule_rows, self._rule_mask = {}, None
            return
        mask = violation_mask(snap, cells, self._rule_violations)
        self._rule_mask = mask
        self._rule_rows = {CALL_ROWS + p: mask[p].tolist() for p in np.flatnonzero(mask.any(axis=1)).tolist()}
        diff = mask if old is None or old.shape != mask.shape else old ^ mask
        roles = [Qt.ItemDataRole.ToolTipRole, RuleMarkRole]
        for p in np.flatnonzero(diff.any(axis=1)).tolist():
            cols = np.flatnonzero(diff[p])
            self.dataChanged.emit(self.index(CALL_ROWS + p, int(cols[0])), self.index(CALL_ROWS + p, int(cols[-1])), roles)

    def rule_text(self, row: int, col: int) -> str | None:
        """The rules the cell's current assignment breaks, one line each, or None."""
        marked = self._rule_rows.get(row)
        snap, cells = self.snapshot, self.cells
        if not marked or not marked[col] or snap is None or cells is None:
            return None
        pid = snap.people[row - CALL_ROWS].id
        mine = [v for v in self._rule_violations if v.person_id is None or v.person_id == pid]
        return violation_marks(snap, cells, mine).get((row, col))

    # ------------------------------------------------------------------------------ mapping
    def person_row(self, row: int) -> int:
        """Snapshot person index of a model row, -1 for the call rows."""
        return row - CALL_ROWS if row >= CALL_ROWS else -1

    def row_of(self, person_id: str) -> int:
        if self.snapshot is None or person_id not in self.snapshot.person_index:
            return -1
        return self.snapshot.person_index[person_id] + CALL_ROWS

    def day_of_column(self, col: int) -> dt.date:
        assert self.snapshot is not None
        return self.snapshot.date_of(self.first_day + col // 2)

    def columns_of(self, day: dt.date) -> list[int]:
        if self.snapshot is None:
            return []
        d = self.snapshot.day_of(day) - self.first_day
        return [2 * d, 2 * d + 1] if 0 <= d < self.n_days else []

    def cell(self, index: Index) -> tuple[str, dt.date, int] | None:
        """(person id, date, slot) of a person cell; None for call rows / invalid."""
        if not index.isValid() or self.snapshot is None:
            return None
        p = self.person_row(index.row())
        if p < 0:
            return None
        return self.snapshot.people[p].id, self.day_of_column(index.column()), index.column() % 2

    # ---------------------------------------------------------------------------- Qt model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        # Qt asks once per painted cell: plain attributes, no computation
        return 0 if parent.isValid() else self._n_rows

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n_cols

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return CELL_FLAGS if index.row() >= CALL_ROWS else ITEM_FLAGS

    # ------------------------------------------------------------------------ drag and drop
    def mimeTypes(self) -> list[str]:
        return [CELLS_MIME]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction | Qt.DropAction.MoveAction

    def cells_mime(self, indexes: Sequence[Index], anchor: Index | None = None) -> QMimeData:
        """The payload of the person cells among `indexes` (source indexes); `anchor` is the cell
        that lands on the drop target (default: the top-left one)."""
        cells = []
        if self.snapshot is not None and self.cells is not None:
            for ix in indexes:
                cell = self.cell(ix)
                if cell is None:
                    continue
                r, c = ix.row(), ix.column()
                a = self.cells.act_rows[r - CALL_ROWS][c]
                cells.append((r, c, *cell, self.snapshot.activities[a].id if a >= 0 else None,
                              bool(self.cells.locked_rows[r - CALL_ROWS][c])))
        at = (anchor.row(), anchor.column()) if anchor is not None and anchor.isValid() else None
        if at is not None and not any((r, c) == at for r, c, *_x in cells):
            at = None
        return encode_cells(cells, at)

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        return self.cells_mime(indexes)

    def drop_plan(self, data: QMimeData | None, action: Qt.DropAction, row: int, column: int,
                  map_row: Callable[[int, int, int], int | None] | None = None) -> DropPlan | None:
        """What dropping `data` with its anchor on (row, column) does; None when it cannot be
        dropped there (a cell would land outside the people's rows or the block's days) or
        changes nothing. `map_row(source row, anchor row, target row)` is where a dragged row
        lands (default: the same number of rows down; the filter proxy counts shown rows)."""
        decoded = decode_cells(data)
        snap, cells = self.snapshot, self.cells
        if decoded is None or snap is None or cells is None or action not in (
                Qt.DropAction.CopyAction, Qt.DropAction.MoveAction):
            return None
        (ar, ac), sources = decoded
        dr, dc = row - ar, column - ac
        move = action == Qt.DropAction.MoveAction
        targets: dict[tuple[str, dt.date, int], str | None] = {}
        locked_over = 0
        for r, c, *_x, act, _lk in sources:
            mapped = r + dr if map_row is None else map_row(r, ar, row)
            tr, tc = (-1 if mapped is None else mapped), c + dc
            if not (CALL_ROWS <= tr < self._n_rows and 0 <= tc < self._n_cols):
                return None
            key = self.cell(self.index(tr, tc))
            assert key is not None
            targets[key] = act
            a = cells.act_rows[tr - CALL_ROWS][tc]
            current = snap.activities[a].id if a >= 0 else None
            if cells.locked_rows[tr - CALL_ROWS][tc] and current != act:
                locked_over += 1
        source_keys = {(p, d, s): lk for _r, _c, p, d, s, _a, lk in sources}
        if set(source_keys) == set(targets) and all(
                targets[(p, d, s)] == a for _r, _c, p, d, s, a, _lk in sources):
            return None  # dropped where it came from
        edits: dict[tuple[str, dt.date, int], str | None] = {}
        locked_moved = 0
        if move:
            for key, lk in source_keys.items():
                if key not in targets:
                    edits[key] = None
                    locked_moved += int(lk)
        edits.update(targets)
        return DropPlan(move, tuple((p, d, s, a) for (p, d, s), a in edits.items()), len(sources),
                        locked_over, locked_moved)

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index) -> bool:
        target = parent if parent.isValid() else self.index(row, column)
        return target.isValid() and self.drop_plan(data, action, target.row(), target.column()) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index) -> bool:
        target = parent if parent.isValid() else self.index(row, column)
        plan = self.drop_plan(data, action, target.row(), target.column()) if target.isValid() else None
        if plan is None:
            return False
        self.drop_requested.emit(plan)
        return True

    def _call_text(self, row: int, d: int) -> str:
        """Who is on call (faculty or resident row) the night of snapshot day `d` of the block."""
        assert self.cells is not None
        return self.cells.call_text[row][d - self.first_day]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        snap, cells = self.snapshot, self.cells
        if snap is None or cells is None or not index.isValid():
            return None
        row, col = index.row(), index.column()
        d = self.first_day + col // 2
        s = 2 * d + col % 2
        if row < CALL_ROWS:
            if role == _DISPLAY:
                return cells.call_text[row][col // 2] if col % 2 == 0 else ""
            if role == _TOOLTIP:
                text = cells.call_text[row][col // 2]
                who = "Faculty" if row == ROW_FACULTY_CALL else "Resident"
                return f"{who} call, night of {snap.date_of(d):%a %b %d}: {text or 'nobody'}"
            if role == _BACKGROUND:
                return SHADE if cells.shaded[col] else CALL_ROW_COLOUR
            if role == ShadedRole:
                return cells.shaded[col]
            if role == DateRole:
                return snap.date_of(d)
            return None
        p = row - CALL_ROWS
        a = cells.act_rows[p][col]
        if role == _DISPLAY:
            return self.codes[a] if a >= 0 else ""
        if role == _BACKGROUND:
            if a >= 0:
                return self._bg[a]
            return SHADE if cells.shaded[col] else None
        if role == _FOREGROUND:
            return self._fg[a] if a >= 0 else None
        if role == _TOOLTIP:
            return self._tooltip(p, d, s, a, (row, col))
        if role == Qt.ItemDataRole.AccessibleTextRole:
            who = snap.people[p].name
            what = snap.activities[a].name if a >= 0 else "nothing"
            return f"{who}, {snap.date_of(d):%A %B %d} {SLOT_NAMES[col % 2]}: {what}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return ALIGN_CENTER
        if role == LockedRole:
            return cells.locked_rows[p][col]
        if role == ShadedRole:
            return cells.shaded[col]
        if role == PersonIdRole:
            return snap.people[p].id
        if role == DateRole:
            return snap.date_of(d)
        if role == SlotRole:
            return col % 2
        if role == ActivityIdRole:
            return snap.activities[a].id if a >= 0 else None
        if role == Qt.ItemDataRole.UserRole:
            return self._marks.get((row, col))
        if role == RuleMarkRole:
            return self.rule_text(row, col)
        return None

    def paint_info(self, row: int, col: int) -> tuple[str, QColor | None, QColor | None, bool, bool]:
        """(text, background, foreground, locked, marked) of a cell (the delegate reads the same
        cached lists directly)."""
        cells = self.cells
        if cells is None:
            return "", None, None, False, False
        if row < CALL_ROWS:
            text = cells.call_text[row][col // 2] if col % 2 == 0 else ""
            return text, SHADE if cells.shaded[col] else CALL_ROW_COLOUR, None, False, False
        p = row - CALL_ROWS
        a = cells.act_rows[p][col]
        marked = (row, col) in self._marks
        if a < 0:
            return "", SHADE if cells.shaded[col] else None, None, False, marked
        return self.codes[a], self._bg[a], self._fg[a], cells.locked_rows[p][col], marked

    def _shaded(self, col: int) -> bool:
        assert self.cells is not None
        return self.cells.shaded[col]

    def _tooltip(self, p: int, d: int, s: int, a: int, cell: tuple[int, int]) -> str:
        snap = self.snapshot
        assert snap is not None
        day = snap.date_of(d)
        lines = [f"{snap.people[p].name} — {day:%a %b %d} {SLOT_NAMES[s % 2]}"]
        if a >= 0:
            act = snap.activities[a]
            src = SOURCE_NAMES.get(int(snap.source[p, s]), "unknown")
            lock = "locked" if int(snap.source[p, s]) in LOCKED_SOURCES else "not locked"
            lines.append(f"{act.name} ({act.code})")
            lines.append(f"Source: {src}, {lock}")
        else:
            lines.append("Nothing assigned")
        if snap.holiday[d]:
            lines.append("Holiday")
        if snap.absent[p, d]:
            lines.append("Approved absence")
        rules = self.rule_text(*cell)
        if rules:
            lines.append("Breaks " + rules.replace("\n", "\nBreaks "))
        if cell in self._marks:
            lines.append(self._marks[cell])
        return "\n".join(lines)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        snap = self.snapshot
        if snap is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < 2 * self.n_days:
                return None
            if role == _DISPLAY:
                return self._hheader[section]
            if role == _BACKGROUND:
                return SHADE if self._shaded(section) else None
            if role not in (_TOOLTIP, DateRole):
                return None
            day = self.day_of_column(section)
            if role == Qt.ItemDataRole.ToolTipRole:
                hol = " (holiday)" if snap.holiday[snap.day_of(day)] else ""
                return f"{day:%A %B %d, %Y} {SLOT_NAMES[section % 2]}{hol}"
            if role == Qt.ItemDataRole.BackgroundRole:
                return SHADE if self._shaded(section) else None
            if role == DateRole:
                return day
            return None
        if not 0 <= section < CALL_ROWS + snap.n_people:
            return None
        if role == _DISPLAY:
            return self._vheader[section]
        if section < CALL_ROWS:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                return "Faculty call" if section == ROW_FACULTY_CALL else "Resident call"
            return None
        person = snap.people[section - CALL_ROWS]
        if role == Qt.ItemDataRole.DisplayRole:
            tag = f"PGY-{person.pgy}" if person.kind == "resident" else person.kind.capitalize()
            return f"{person.name}  ·  {tag}"
        if role == Qt.ItemDataRole.ToolTipRole:
            role_text = f", {person.faculty_role}" if person.faculty_role else ""
            return f"{person.name} ({person.kind}{role_text})"
        if role == PersonIdRole:
            return person.id
        if role == PgyRole:
            return person.pgy
        if role == KindRole:
            return person.kind
        return None


class BlockFilterProxy(QSortFilterProxyModel):
    """Filters the grid's person rows by name, PGY (0 = faculty/staff), rotation and activity.
    The call rows always stay."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.name = ""
        self.pgy: int | None = None  # None = everyone; 0 = faculty and staff
        self.rotation_people: set[str] | None = None  # people on the chosen rotation
        self.activity_index: int | None = None  # snapshot activity index

    def set_filter(self, *, name: str | None = None, pgy: int | None | str = "keep",
                   rotation_people: set[str] | None | str = "keep", activity_index: int | None | str = "keep") -> None:
        self.beginFilterChange()
        if name is not None:
            self.name = name.strip().lower()
        if pgy != "keep":
            self.pgy = pgy  # type: ignore[assignment]
        if rotation_people != "keep":
            self.rotation_people = rotation_people  # type: ignore[assignment]
        if activity_index != "keep":
            self.activity_index = activity_index  # type: ignore[assignment]
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def map_row(self, source_row: int, anchor_row: int, target_row: int) -> int | None:
        """Where a dropped row lands: as many *shown* rows below the target as it was below the
        anchor (rows the filter hides are skipped); None when it would land on no shown row."""
        if self.passthrough:
            return source_row + target_row - anchor_row
        model = self.sourceModel()
        rows = [self.mapFromSource(model.index(r, 0)).row() for r in (source_row, anchor_row, target_row)]
        if min(rows) < 0:  # a row the filter hides now: count source rows
            return source_row + target_row - anchor_row
        t = rows[0] - rows[1] + rows[2]
        return self.mapToSource(self.index(t, 0)).row() if 0 <= t < self.rowCount() else None

    def _drop_plan(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index) -> DropPlan | None:
        model = self.sourceModel()
        target = self.mapToSource(parent if parent.isValid() else self.index(row, column))
        if not isinstance(model, BlockGridModel) or not target.isValid():
            return None
        return model.drop_plan(data, action, target.row(), target.column(), self.map_row)

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index) -> bool:
        return self._drop_plan(data, action, row, column, parent) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index) -> bool:
        plan = self._drop_plan(data, action, row, column, parent)
        if plan is None:
            return False
        model = self.sourceModel()
        assert isinstance(model, BlockGridModel)
        model.drop_requested.emit(plan)
        return True

    @property
    def passthrough(self) -> bool:
        """No filter is set: proxy rows are the source rows (the grid never sorts)."""
        return not self.name and self.pgy is None and self.rotation_people is None and self.activity_index is None

    def refresh(self) -> None:
        """Filter again after the data changed (e.g. the activity filter after an edit)."""
        self.beginFilterChange()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, BlockGridModel) or model.snapshot is None:
            return True
        p = model.person_row(source_row)
        if p < 0:
            return True
        snap = model.snapshot
        person = snap.people[p]
        if self.name and self.name not in person.name.lower():
            return False
        if self.pgy is not None and person.pgy != self.pgy:
            return False
        if self.rotation_people is not None and person.id not in self.rotation_people:
            return False
        if self.activity_index is not None and model.cells is not None:
            if self.activity_index not in model.cells.act_rows[p]:
                return False
        return True
