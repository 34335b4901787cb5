"""The block grid page: the grid, its filters and legend, block navigation, editing, and the
compliance panel of the block.

Editing (all through ProgramSession, which calls core.services.schedule):
- type an activity code (or press Enter / F2) on selected cells: a small picker opens; while
  typing, the compliance engine's incremental check marks the cells and names the rule that the
  assignment would break; Enter assigns, Escape cancels;
- Delete or Backspace clears the selected cells;
- drag selected cells to another place in the grid: a plain drag moves them (the source cells are
  cleared), Ctrl-drag copies them; from the keyboard, Ctrl+X / Ctrl+C then Ctrl+V at the target
  cell. A drop or paste is one undoable edit (`BlockGridModel.drop_plan` -> `session.assign`).
  While dragging, the cells the drop would land on and the cells it would break get the picker's
  red frame (checked in a timer when the target cell changes, never while painting);
- every edit that overwrites, empties or moves away locked (preload / manual) cells asks first
  (the same question for typed codes, menu assignments, Delete, drops and pastes);
- a cut pasted into another block: the cells changed outside the loaded block get the
  incremental check on a worker (`check_elsewhere`), listed in the compliance panel;
- the context menu assigns an activity (entries that would break a rule carry a warning and a
  tooltip naming the rule and the number), clears, or sets a resident's rotation for the block.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QDate,
    QItemSelection,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QDrag,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QPolygon,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDateEdit,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.colours import text_colour_for
from desktop.models.block_grid import (
    ALIGN_CENTER,
    CALL_ROW_COLOUR,
    CALL_ROWS,
    CELLS_MIME,
    SHADE,
    BlockFilterProxy,
    BlockGridModel,
    DropPlan,
    decode_cells,
    violation_marks,
)
from desktop.models.violations import ViolationFilterProxy, ViolationRole, ViolationsModel
from desktop.program import BlockData, ProgramData, ProgramSession, user_message
from desktop.views.grid_painter import GridPainter, NameHeader, rule_mark

Edit = tuple[str, dt.date, int, str | None]
MARK_COLOUR = QColor("#e00000")
SELECTED = QStyle.StateFlag.State_Selected.value
KEPT_LOCKED = "Nothing was changed (the locked cells were kept)."


def describe_check(check: Any) -> str:
    """One line per rule the change would break: 'Would break H80: <message>'."""
    if check is None:
        return ""
    lines = [f"Would break {v.rule} ({v.severity}): {v.message}" for v in check.added]
    if check.removed and not check.added:
        lines.append(f"Resolves {len(check.removed)} violation(s).")
    return "\n".join(lines)


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def changed_cells(changes: Any, cells: set[tuple[str, dt.date, int]]) -> list[Edit]:
    """The assignment rows of a committed ChangeSet among `cells`, each as the edit that puts the
    cell back as it was before (person, date, slot, activity id before or None)."""
    out: list[Edit] = []
    for rc in changes.rows:
        if rc.table != "assignment":
            continue
        ref = rc.after or rc.before or {}
        key = (str(ref["person_id"]), _day(ref["date"]), int(ref["slot"]))
        if key in cells:
            before = rc.before
            out.append((*key, None if before is None or before.get("deleted") else str(before["activity_id"])))
    return out


def check_elsewhere(ctx: Any, program_id: str, years: Any, restore: list[Edit], *, progress: Any = None,
                    cancelled: Any = None) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """What committed edits of cells outside the loaded block did to the rules there: (added,
    removed). A snapshot around the cells as they are now (a rule window of margin, inside their
    academic year, as a block load reads it), and the engine's incremental check of putting the
    cells back (`restore`): what that would remove, the edits added, and the reverse. Runs on a
    worker thread."""
    from core.rules.engine import ProposedChange, check_change
    from core.snapshot import build_snapshot

    margin = dt.timedelta(days=27)
    added: list[Any] = []
    removed: list[Any] = []
    for year in years:
        edits = [e for e in restore if year.start <= e[1] <= year.end]
        if not edits:
            continue
        start = max(year.start, min(e[1] for e in edits) - margin)
        end = min(year.end, max(e[1] for e in edits) + margin)
        snap = ctx.read(lambda s, a=start, b=end: build_snapshot(s, program_id, a, b))
        check = check_change(snap, ProposedChange(assignments=tuple(edits)))
        added.extend(check.removed)
        removed.extend(check.added)
    return tuple(added), tuple(removed)


class CellDelegate(QStyledItemDelegate):
    """Paints a grid cell: activity colour, code in contrasting text, a lock mark for preload and
    manual cells, a red frame on cells the live check marks.

    Built for speed (a repaint of a full-screen grid paints a couple of thousand cells): the model
    hands over cached lists (`BlockGridModel.cells`, per-activity QColors and codes), the pens,
    brushes and the lock triangle are made once per paint of the view (`prepare`, called by
    `GridView.paintEvent`), and no painter state is saved and restored per cell."""

    def __init__(self, parent: QAbstractItemView, model: BlockGridModel, proxy: BlockFilterProxy) -> None:
        super().__init__(parent)
        self._view = parent
        self.model = model
        self.proxy = proxy
        self._identity = True
        self._text_pen = QPen(QColor("black"))
        self._hl = QColor(0, 0, 255, 110)
        self._hl_text = QColor("white")
        self._mark_pen = QPen(MARK_COLOUR, 2)
        self._dpr = 1.0
        self._rule_marks: dict[tuple[int, float], QPixmap] = {}
        self._fg_pens: list[QPen] = []
        self._fg_brushes: list[QBrush] = []
        self._bg_brushes: list[QBrush] = []
        self._tri: QPolygon | None = None
        self._tri_size = 0
        self._colours_of: list[QColor] = []

    def prepare(self, view: QAbstractItemView) -> None:
        """Once per paint of the view: the palette colours, the per-activity pens and brushes."""
        pal = view.palette()
        self._dpr = view.viewport().devicePixelRatioF()
        self._text_pen = QPen(pal.color(pal.ColorRole.Text))
        hl = QColor(pal.color(pal.ColorRole.Highlight))
        hl.setAlpha(110)
        self._hl = hl
        self._hl_text = QColor(text_colour_for(hl.name()))
        self._identity = self.proxy.passthrough and self.proxy.sourceModel() is self.model
        if self._colours_of is not self.model._bg:  # new activities: new pens and brushes
            self._colours_of = self.model._bg
            self._bg_brushes = [QBrush(c) for c in self.model._bg]
            self._fg_pens = [QPen(c) for c in self.model._fg]
            self._fg_brushes = [QBrush(c) for c in self.model._fg]

    def _triangle(self, height: int) -> QPolygon:
        size = max(4, height // 4)
        if self._tri is None or size != self._tri_size:
            self._tri = QPolygon([QPoint(-size, 0), QPoint(0, 0), QPoint(0, size)])
            self._tri_size = size
        return self._tri

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        model = self.model
        cells = model.cells
        if cells is None or not self._bg_brushes and model._bg:
            if cells is None:
                return
            self.prepare(self._view)
        row = index.row() if self._identity else self.proxy.mapToSource(index).row()
        col = index.column()
        rect = option.rect
        selected = option.state.value & SELECTED
        if row < CALL_ROWS:
            painter.fillRect(rect, SHADE if cells.shaded[col] else CALL_ROW_COLOUR)
            if selected:
                painter.fillRect(rect, self._hl)
            text = cells.call_text[row][col // 2] if col % 2 == 0 else ""
            if text:
                painter.setPen(self._text_pen)
                painter.drawText(rect.adjusted(2, 0, -2, 0), ALIGN_CENTER, text)
            return
        p = row - CALL_ROWS
        a = cells.act_rows[p][col]
        if a >= 0:
            painter.fillRect(rect, self._bg_brushes[a])
            if selected:
                painter.fillRect(rect, self._hl)
            painter.setPen(self._fg_pens[a])
            painter.drawText(rect, ALIGN_CENTER, model.codes[a])
            if cells.locked_rows[p][col]:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(self._fg_brushes[a])
                painter.drawPolygon(self._triangle(rect.height()).translated(rect.right(), rect.top()))
                painter.setBrush(Qt.BrushStyle.NoBrush)
        else:
            if cells.shaded[col]:
                painter.fillRect(rect, SHADE)
            if selected:
                painter.fillRect(rect, self._hl)
        if model._rule_rows and (marked := model._rule_rows.get(row)) is not None and marked[col]:
            painter.drawPixmap(rect.left(), rect.top(), rule_mark(rect.height(), self._dpr, self._rule_marks))
        if model._marks and (row, col) in model._marks:
            painter.setPen(self._mark_pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRect(rect).adjusted(1, 1, -1, -1))


class GridView(QTableView):
    """The grid's table view: keyboard editing keys are turned into signals; selected cells can be
    dragged (plain drag moves, Ctrl-drag copies), the cell under the pointer landing on the drop
    target. A press on a cell that is not selected still sweeps a selection (Qt would start a drag
    of the one cell instead), so a drag starts only from inside the selection."""

    type_code = Signal(str)
    clear_requested = Signal()
    pick_requested = Signal()
    cut_requested = Signal()
    copy_requested = Signal()
    paste_requested = Signal()
    # While cells are dragged over the grid: (payload, drop action, proxy index it would land on),
    # each time that target changes; (None, None, None) when the drag leaves or drops.
    drag_target = Signal(object, object, object)
    _drag_at: tuple[int, int, int] | None = None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDragDropOverwriteMode(True)  # drop on a cell, never between rows
        self.setDropIndicatorShown(True)
        self.setVerticalHeader(NameHeader(self))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        ix = self.indexAt(event.position().toPoint())
        sm = self.selectionModel()
        self.setDragEnabled(bool(ix.isValid() and sm is not None and sm.isSelected(ix)
                                 and ix.flags() & Qt.ItemFlag.ItemIsDragEnabled))
        super().mousePressEvent(event)

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        # Our own drag, not QAbstractItemView's: the payload names the cell under the pointer
        # (the current index) as the anchor, and a finished move is not "cleared" by the view
        # (the drop already ran the whole move as one service call).
        proxy = self.model()
        if not isinstance(proxy, BlockFilterProxy) or not isinstance(proxy.sourceModel(), BlockGridModel):
            return
        model = proxy.sourceModel()
        assert isinstance(model, BlockGridModel)
        indexes = [proxy.mapToSource(ix) for ix in self.selectedIndexes()
                   if ix.flags() & Qt.ItemFlag.ItemIsDragEnabled]
        if not indexes:
            return
        data = model.cells_mime(indexes, proxy.mapToSource(self.currentIndex()))
        drag = QDrag(self)
        drag.setMimeData(data)
        drag.exec(supportedActions, Qt.DropAction.MoveAction)

    # QAbstractItemView refuses a move onto a selected cell of its own drag and judges the drop
    # at the point where the drag enters (here: over the dragged cells themselves); the grid asks
    # the model at every position instead (moving a selection one slot over is a good drop).
    def _can_drop(self, event: QDropEvent) -> QModelIndex | None:
        ix = self.indexAt(event.position().toPoint())
        model = self.model()
        if ix.isValid() and model.canDropMimeData(event.mimeData(), event.dropAction(), -1, -1, ix):
            return ix
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(CELLS_MIME):
            event.acceptProposedAction()
            self.setState(QAbstractItemView.State.DraggingState)
            self._drag_at = None
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        action = event.dropAction()
        super().dragMoveEvent(event)  # auto-scroll near the edges, hover
        event.setDropAction(action)
        ix = self._can_drop(event)
        if ix is not None:
            event.accept()
        else:
            event.ignore()
        at = (ix.row(), ix.column(), action.value) if ix is not None else None
        if at != self._drag_at:  # the live rule check follows the target cell, not every move
            self._drag_at = at
            self.drag_target.emit(*((event.mimeData(), action, ix) if ix is not None else (None, None, None)))

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        super().dragLeaveEvent(event)
        self._drag_ended()

    def _drag_ended(self) -> None:
        self._drag_at = None
        self.drag_target.emit(None, None, None)

    def dropEvent(self, event: QDropEvent) -> None:
        self._drag_ended()
        ix = self._can_drop(event)
        action = event.dropAction()
        if ix is not None and self.model().dropMimeData(event.mimeData(), action, -1, -1, ix):
            event.setDropAction(action)  # not the proposed one: the drag's own default is a move
            event.accept()
        else:
            event.ignore()
        self.stopAutoScroll()
        self.setState(QAbstractItemView.State.NoState)
        self.viewport().update()

    one_pass = True  # paint with GridPainter; False: Qt's per-cell path through CellDelegate
    _grid_painter: GridPainter | None = None

    def paintEvent(self, event: QPaintEvent) -> None:
        delegate = self.itemDelegate()
        if isinstance(delegate, CellDelegate):
            # One pass over the visible cells (desktop.views.grid_painter: ~5 ms for the large
            # grid, Qt's per-cell delegate calls took ~25 ms); while a drag is in progress Qt's
            # own path paints, with its drop indicator.
            if self.one_pass and self.state() != QAbstractItemView.State.DraggingState:
                if self._grid_painter is None:
                    self._grid_painter = GridPainter()
                    self._grid_painter.warm_up(self)
                self._grid_painter.paint(self, delegate.model, delegate.proxy, event.rect())
                return
            delegate.prepare(self)
        super().paintEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear_requested.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2):
            self.pick_requested.emit()
            return
        for seq, signal in ((QKeySequence.StandardKey.Cut, self.cut_requested),
                            (QKeySequence.StandardKey.Copy, self.copy_requested),
                            (QKeySequence.StandardKey.Paste, self.paste_requested)):
            if event.matches(seq):
                signal.emit()
                return
        text = event.text()
        mods = event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier & ~Qt.KeyboardModifier.KeypadModifier
        if text and text.isalnum() and mods == Qt.KeyboardModifier.NoModifier:
            self.type_code.emit(text)
            return
        super().keyPressEvent(event)


class AssignPicker(QFrame):
    """The small 'type a code' box over the grid, with the live compliance check."""

    accepted = Signal(str)
    cancelled = Signal()
    code_changed = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setAccessibleName("Assign activity")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Activity code, Enter to assign, Esc to cancel")
        self.edit.setAccessibleName("Activity code")
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setAccessibleName("Rule check of the chosen activity")
        lay.addWidget(QLabel("Assign activity:", self))
        lay.addWidget(self.edit)
        lay.addWidget(self.info)
        self.edit.textChanged.connect(self.code_changed)
        self.edit.returnPressed.connect(lambda: self.accepted.emit(self.edit.text()))
        self.setMinimumWidth(320)
        self.hide()

    def set_codes(self, codes: list[str]) -> None:
        comp = QCompleter(codes, self)
        comp.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # Inline: completes in the box itself, no popup window to steal focus from the grid.
        comp.setCompletionMode(QCompleter.CompletionMode.InlineCompletion)
        self.edit.setCompleter(comp)

    def open_with(self, text: str) -> None:
        self.edit.setText(text)
        self.info.setText("")
        self.adjustSize()
        self.move(20, 60)
        self.show()
        self.raise_()
        self.edit.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            self.cancelled.emit()
            return
        super().keyPressEvent(event)


class SchedulePage(QWidget):
    """Block grid + toolbar + legend + compliance panel."""

    violation_activated = Signal(object)

    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.zoom = 1.0
        self._clipboard: QMimeData | None = None  # cells copied or cut (Ctrl+C / Ctrl+X)
        self._clipboard_cut = False
        self._focus_after_load: dt.date | None = None
        # Cells outside the loaded block that a move of this page changed (a cut pasted into
        # another block clears its source there), and the violations the check of those cells
        # found there: the compliance panel lists them with the block's own (`_panel_keep`).
        self._watched: set[tuple[str, dt.date, int]] = set()
        self._elsewhere: list[Any] = []
        self._block_id: str | None = None
        self._span_days = -1
        self.model = BlockGridModel(self)
        self.model.modelReset.connect(lambda: setattr(self, "_span_days", -1))
        self.proxy = BlockFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        # toolbar
        self.prev_button = QPushButton("◀ Previous block", self)
        self.prev_button.setAccessibleName("Previous block")
        self.next_button = QPushButton("Next block ▶", self)
        self.next_button.setAccessibleName("Next block")
        self.title = QLabel("No block loaded", self)
        self.title.setAccessibleName("Block shown")
        self.date_edit = QDateEdit(self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setAccessibleName("Jump to date")
        self.go_button = QPushButton("Go", self)
        self.go_button.setAccessibleName("Jump to the date")
        self.name_filter = QLineEdit(self)
        self.name_filter.setPlaceholderText("Filter people…")
        self.name_filter.setAccessibleName("Filter by name")
        self.name_filter.setClearButtonEnabled(True)
        self.pgy_filter = QComboBox(self)
        self.pgy_filter.setAccessibleName("Filter by PGY")
        self.rotation_filter = QComboBox(self)
        self.rotation_filter.setAccessibleName("Filter by rotation")
        self.activity_filter = QComboBox(self)
        self.activity_filter.setAccessibleName("Filter by activity")

        bar = QHBoxLayout()
        for w in (self.prev_button, self.title, self.next_button):
            bar.addWidget(w)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Date:", self))
        bar.addWidget(self.date_edit)
        bar.addWidget(self.go_button)
        bar.addStretch(1)
        filters = QHBoxLayout()
        for label, field in (("Person:", self.name_filter), ("PGY:", self.pgy_filter),
                             ("Rotation:", self.rotation_filter), ("Activity:", self.activity_filter)):
            filters.addWidget(QLabel(label, self))
            filters.addWidget(field)
        filters.addStretch(1)

        # grid
        self.view = GridView(self)
        self.view.setObjectName("blockGrid")
        self.view.setAccessibleName("Block grid")
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(CellDelegate(self.view, self.model, self.proxy))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.setWordWrap(False)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # The frozen name column is the grid's own vertical header: it never scrolls sideways,
        # scrolls up and down with the grid at the grid's row heights (zoom included), highlights
        # the rows of the selection, a click selects the person's row, and its context menu sets
        # the block's rotation (also in the cells' context menu, for the keyboard). A second
        # QTableView kept in step with the grid would show the same and paint twice.
        names = self.view.verticalHeader()
        names.setObjectName("gridNames")
        names.setAccessibleName("Names of the grid's rows (frozen column)")
        names.setHighlightSections(True)
        names.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.legend = QLabel(self)
        self.legend.setWordWrap(True)
        self.legend.setAccessibleName("Legend of activities")
        self.picker = AssignPicker(self)

        # compliance panel
        self.panel_model = ViolationsModel(self)
        self.panel_proxy = ViolationFilterProxy(self)
        self.panel_proxy.setSourceModel(self.panel_model)
        self.panel = QTableView(self)
        self.panel.setObjectName("compliancePanel")
        self.panel.setAccessibleName("Compliance panel: violations in this block")
        self.panel.setModel(self.panel_proxy)
        self.panel.setSortingEnabled(True)
        self.panel.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.panel.horizontalHeader().setStretchLastSection(True)
        self.panel_title = QLabel("Compliance", self)
        self.panel_title.setAccessibleName("Compliance summary")
        panel_box = QWidget(self)
        pl = QVBoxLayout(panel_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.panel_title)
        pl.addWidget(self.panel)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.view)
        split.addWidget(panel_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addLayout(filters)
        lay.addWidget(split, 1)
        lay.addWidget(self.legend)

        self.prev_button.clicked.connect(lambda: self.session.step_block(-1))
        self.next_button.clicked.connect(lambda: self.session.step_block(1))
        self.go_button.clicked.connect(self.jump_to_date)
        self.date_edit.editingFinished.connect(self.jump_to_date)
        self.name_filter.textChanged.connect(lambda t: self.proxy.set_filter(name=t))
        self.pgy_filter.currentIndexChanged.connect(self._pgy_changed)
        self.rotation_filter.currentIndexChanged.connect(self._rotation_changed)
        self.activity_filter.currentIndexChanged.connect(self._activity_changed)
        self.view.type_code.connect(self.open_picker)
        self.view.pick_requested.connect(lambda: self.open_picker(""))
        self.view.clear_requested.connect(self.clear_selection)
        self.view.cut_requested.connect(lambda: self.copy_cells(cut=True))
        self.view.copy_requested.connect(self.copy_cells)
        self.view.paste_requested.connect(self.paste_cells)
        # The live rule check of a drag: the target's cells and the cells the drop would break
        # get the picker's red frame. Worked out in a timer after the target changes (a quick
        # sweep over many cells checks only where it stops), never while painting.
        self._drag_pending: tuple[QMimeData, Qt.DropAction, int, int] | None = None
        self._drag_timer = QTimer(self)
        self._drag_timer.setSingleShot(True)
        self._drag_timer.setInterval(40)
        self._drag_timer.timeout.connect(self._drag_check)
        self.view.drag_target.connect(self._drag_over)
        # queued: the drop event returns first (no dialog inside the drag's own event loop)
        self.model.drop_requested.connect(self.apply_drop, Qt.ConnectionType.QueuedConnection)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.verticalHeader().customContextMenuRequested.connect(self._header_menu)
        self.picker.code_changed.connect(self._live_check)
        self.picker.accepted.connect(self._picker_accepted)
        self.picker.cancelled.connect(self._picker_closed)
        self.panel.doubleClicked.connect(self._panel_activated)
        self.panel.activated.connect(self._panel_activated)
        session.block_loaded.connect(self.show_block)
        session.slots_changed.connect(self._slots_changed)
        session.violations_changed.connect(self._violations_changed)
        session.data_changed.connect(self._check_elsewhere)
        session.opened.connect(self.set_program)
        session.catalog_changed.connect(self.set_program)
        self.apply_zoom()

    # ------------------------------------------------------------------------------ loading
    def set_program(self, data: ProgramData) -> None:
        self.picker.set_codes([a.code for a in data.activities if not a.archived])
        self._fill_combo(self.pgy_filter, [("Everyone", None), *[(f"PGY-{p}", p) for p in range(8, 0, -1)
                                                                   if any(x.pgy == p for x in data.people)],
                                           ("Faculty and staff", 0)])
        self._fill_combo(self.rotation_filter, [("All rotations", None), *[(f"{r.code} — {r.name}", r.id)
                                                                          for r in data.rotations]])
        self._fill_combo(self.activity_filter, [("All activities", None), *[(f"{a.code} — {a.name}", a.id)
                                                                           for a in data.activities if not a.archived]])
        self.legend.setText(self._legend_html(data))

    @staticmethod
    def _fill_combo(combo: QComboBox, items: list[tuple[str, Any]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for text, value in items:
            combo.addItem(text, value)
        i = combo.findData(current)
        combo.setCurrentIndex(max(i, 0))
        combo.blockSignals(False)

    @staticmethod
    def _legend_html(data: ProgramData) -> str:
        parts = []
        for a in data.activities:
            if a.archived:
                continue
            fg = text_colour_for(a.colour)
            parts.append(f'<span style="background:{a.colour};color:{fg}">&nbsp;{a.code}&nbsp;</span>&nbsp;{a.name}')
        return "Legend: " + " &nbsp; ".join(parts) + " &nbsp; ◥ = locked (preload / manual) &nbsp; red ◤ = breaks a rule (the tooltip names it)"

    def show_block(self, block: BlockData) -> None:
        new_block = self._block_id != block.block.id
        self._watched, self._elsewhere = set(), []
        self._block_id = block.block.id
        self.model.set_block(block.snapshot, block.first_day, block.n_days, block.cells)
        if new_block and self.view.selectionModel().hasSelection():
            self.view.selectionModel().clearSelection()
        b = block.block
        self.title.setText(f"Block {b.number}: {b.start:%b %d} – {b.end:%b %d, %Y}")
        self.date_edit.blockSignals(True)
        self.date_edit.setDate(QDate(b.start.year, b.start.month, b.start.day))
        self.date_edit.blockSignals(False)
        if self._span_days != block.n_days:  # the call rows span AM + PM of each day
            self.view.clearSpans()
            for d in range(block.n_days):
                for r in range(CALL_ROWS):
                    self.view.setSpan(r, 2 * d, 1, 2)
            self._span_days = block.n_days
        self._rotation_changed()
        self._activity_changed()
        self.apply_zoom()
        # The compliance panel (a sorted table of the block's violations) in the next turn of the
        # event loop: the grid paints first, and neither job holds the loop for long.
        self.panel_title.setText("Compliance: checking…")
        QTimer.singleShot(0, self, lambda b=block: self._fill_panel(b))
        if self._focus_after_load is not None:
            self.focus_date(self._focus_after_load)
            self._focus_after_load = None

    def _fill_panel(self, block: BlockData) -> None:
        if self.session.block is None or self.session.block.block.id != block.block.id:
            return  # another block arrived meanwhile; its own call fills the panel
        self.panel_model.set_violations(self.session.block.violations, keep=self._panel_keep)
        self._update_panel_title()
        self._refresh_rule_marks()

    def _refresh_rule_marks(self) -> None:
        """Mark the cells whose assignment breaks a rule (the block's violations, kept up to date
        by the incremental check after each edit); worked out here, never while painting."""
        block, snap, cells = self.session.block, self.model.snapshot, self.model.cells
        self.model.set_rule_violations(() if block is None or snap is None or cells is None else block.violations)

    def _slots_changed(self, people: set[str], dates: set[dt.date]) -> None:
        if self.session.block is not None:
            self.model.update_snapshot(self.session.block.snapshot, people, dates, self.session.block.cells)
            if self.proxy.activity_index is not None or self.proxy.rotation_people is not None:
                self.proxy.refresh()
            self._refresh_rule_marks()

    def _panel_keep(self, v: Any) -> bool:
        """The panel's rows: the loaded block's violations, and those a move of this page added
        outside it (found by `check_elsewhere`)."""
        block = self.session.block
        return bool(block is not None and block.in_block(v)) or v in self._elsewhere

    def _violations_changed(self, added: tuple[Any, ...], removed: tuple[Any, ...]) -> None:
        self.panel_model.keep = self._panel_keep
        self.panel_model.apply_change(added, removed)
        self._update_panel_title()

    def _check_elsewhere(self, changes: Any) -> None:
        """After a committed write (an edit, an undo, a redo) that changed cells outside the
        loaded block which a move of this page had changed (the source of a cut pasted into
        another block): the incremental check of those cells, on a worker, in the panel."""
        block, data, ctx = self.session.block, self.session.data, self.session.ctx
        if not self._watched or block is None or data is None or ctx is None:
            return
        restore = changed_cells(changes, self._watched)
        if not restore:
            return

        def done(result: tuple[tuple[Any, ...], tuple[Any, ...]]) -> None:
            if self.session.block is None or self.session.block.block.id != block.block.id:
                return  # another block is shown: its panel starts afresh
            added, removed = result
            self._elsewhere = [v for v in self._elsewhere if v not in removed]
            new = [v for v in added if not self.session.block.in_block(v) and v not in self._elsewhere]
            self._elsewhere.extend(new)
            self.panel_model.keep = self._panel_keep
            self.panel_model.apply_change(new, removed)
            self._update_panel_title()
            numbers = sorted({found[1].number for _p, d, _s, _a in restore if (found := data.block_of(d))})
            place = " and ".join(f"block {n}" for n in numbers) or "another block"
            rules = sorted({v.rule for v in new})
            self.session.message.emit(
                f"The edit also changed {place}: it breaks {', '.join(rules)} there (listed in the compliance panel)."
                if rules else f"The edit also changed {place}: no rule newly broken there.")

        self.session.app.workers.start("grid-elsewhere", check_elsewhere, ctx, data.program.id, data.years, restore,
                                       on_finished=done,
                                       on_failed=lambda e: self.session.error.emit(
                                           "The rule check of the cells outside this block failed: " + user_message(e)))

    def _update_panel_title(self) -> None:
        rows = self.panel_model.rows
        if not rows:
            self.panel_title.setText("Compliance: no rule broken in this block.")
            return
        block = self.session.block
        outside = sum(1 for v in rows if block is not None and not block.in_block(v))
        inside = [v for v in rows if block is None or block.in_block(v)]
        by = {s: sum(1 for v in inside if v.severity == s) for s in ("critical", "high", "warning")}
        text = (f"Compliance: {len(inside)} violation(s) in this block — {by['critical']} critical, "
                f"{by['high']} high, {by['warning']} warning(s)")
        if outside:
            text += f"; {outside} outside it, from cells moved out of other blocks"
        self.panel_title.setText(text)

    # ------------------------------------------------------------------------------ filters
    def _pgy_changed(self) -> None:
        self.proxy.set_filter(pgy=self.pgy_filter.currentData())

    def _rotation_changed(self) -> None:
        rid = self.rotation_filter.currentData()
        block = self.session.block
        if rid is None or block is None:
            self.proxy.set_filter(rotation_people=None)
        else:
            self.proxy.set_filter(rotation_people={p for p, rots in block.rotations.items() if rid in rots})

    def _activity_changed(self) -> None:
        aid = self.activity_filter.currentData()
        snap = self.model.snapshot
        self.proxy.set_filter(activity_index=None if aid is None or snap is None else snap.activity_index.get(aid, -2))

    # ------------------------------------------------------------------------------ navigation
    def jump_to_date(self) -> None:
        q = self.date_edit.date()
        day = dt.date(q.year(), q.month(), q.day())
        if not self.session.go_to_date(day):
            self.session.message.emit(f"No block of this program contains {day:%b %d, %Y}.")
            return
        self._focus_after_load = day
        if self.session.block is not None and self.session.block.block.start <= day <= self.session.block.block.end:
            self.focus_date(day)

    def focus_date(self, day: dt.date) -> None:
        cols = self.model.columns_of(day)
        if cols:
            ix = self.proxy.mapFromSource(self.model.index(CALL_ROWS, cols[0]))
            self.view.scrollTo(ix)

    def apply_zoom(self, factor: float | None = None) -> None:
        if factor is not None:
            self.zoom = min(2.5, max(0.5, factor))
        font = self.font()
        font.setPointSizeF(max(6.0, 9.0 * self.zoom))
        self.view.setFont(font)
        self.view.horizontalHeader().setDefaultSectionSize(int(36 * self.zoom))
        self.view.verticalHeader().setDefaultSectionSize(int(22 * self.zoom))

    # ------------------------------------------------------------------------------ editing
    def selected_cells(self) -> list[tuple[str, dt.date, int]]:
        out = []
        for ix in self.view.selectionModel().selectedIndexes():
            cell = self.model.cell(self.proxy.mapToSource(ix))
            if cell is not None:
                out.append(cell)
        return sorted(set(out), key=lambda c: (c[0], c[1], c[2]))

    def _edits_for(self, activity_id: str | None) -> list[Edit]:
        return [(p, d, s, activity_id) for p, d, s in self.selected_cells()]

    def open_picker(self, text: str) -> None:
        if not self.selected_cells():
            return
        self.picker.open_with(text)
        self._live_check(text)

    def _live_check(self, code: str) -> None:
        data = self.session.data
        act = data.activity_by_code(code) if data is not None and code.strip() else None
        if act is None:
            self.picker.info.setText("Type a code: " + ", ".join(a.code for a in (data.activities if data else ())
                                                                  if not a.archived)[:200] if not code.strip()
                                     else f"No activity has the code {code.strip()!r}.")
            self.model.set_marks({})
            return
        edits = self._edits_for(act.id)
        check = self.session.check(edits)
        text = describe_check(check) or f"{act.name}: no rule broken."
        if locked := self.locked_changed(edits):
            text += f"\nOverwrites {locked} locked cell(s): Enter asks first."
        self.picker.info.setText(text)
        self.picker.info.setToolTip(text)
        self._mark_cells(check)

    def _mark_cells(self, check: Any, cells: list[tuple[str, dt.date, int]] | None = None) -> None:
        """While choosing (or dragging): frame the chosen cells (default: the selected ones), and
        the other cells the rules the choice would break cover (e.g. the rest of an 80-hour
        window), each with 'Would break <rule>: ...'."""
        marks: dict[tuple[int, int], str] = {}
        if check is not None and check.added:
            if self.model.snapshot is not None and self.model.cells is not None:
                marks.update(violation_marks(self.model.snapshot, self.model.cells, check.added,
                                             prefix="Would break "))
            text = describe_check(check)
            for p, d, s in (self.selected_cells() if cells is None else cells):
                cols = self.model.columns_of(d)
                if cols:
                    marks[(self.model.row_of(p), cols[s])] = text
        self.model.set_marks(marks)

    def _picker_accepted(self, code: str) -> None:
        data = self.session.data
        act = data.activity_by_code(code) if data is not None else None
        if act is None:
            self.picker.info.setText(f"No activity has the code {code.strip()!r}.")
            return
        self.picker.hide()
        self._picker_closed()
        self.assign(act.id)

    def _picker_closed(self) -> None:
        self.model.set_marks({})
        self.view.setFocus()

    def locked_changed(self, edits: list[Edit]) -> int:
        """How many of the edits' cells are locked (preload / manual) and would change: the cells
        a typed edit, a menu assignment or a clear overwrites, like `DropPlan.locked_over`."""
        cells, snap = self.model.cells, self.model.snapshot
        if cells is None or snap is None:
            return 0
        n = 0
        for p, d, s, act in edits:
            row, cols = self.model.row_of(p), self.model.columns_of(d)
            if row < CALL_ROWS or not cols:
                continue
            a = cells.act_rows[row - CALL_ROWS][cols[s]]
            if cells.locked_rows[row - CALL_ROWS][cols[s]] and (snap.activities[a].id if a >= 0 else None) != act:
                n += 1
        return n

    def assign(self, activity_id: str | None) -> None:
        """Assign an activity to the selected cells (None: clear them) as one undoable edit; when
        that overwrites or empties locked cells, the same question as a paste comes first, and a
        no changes nothing (the selection stays, ready for another choice)."""
        edits = self._edits_for(activity_id)
        if not edits:
            return
        locked = self.locked_changed(edits)
        if locked:
            what = (f"This clear empties {locked} locked cell(s)" if activity_id is None
                    else f"This assignment overwrites {locked} locked cell(s)")
            if not self.confirm_locked(f"{what} (preload or manual assignments). Go ahead?"):
                self.session.message.emit(KEPT_LOCKED)
                return
        self.session.assign(edits)

    def clear_selection(self) -> None:
        self.assign(None)

    # ------------------------------------------------------------------- move and copy cells
    def copy_cells(self, cut: bool = False) -> bool:
        """Ctrl+C / Ctrl+X: remember the selected person cells; Ctrl+V pastes them (a cut moves
        them: the source cells are cleared by the paste, in the same edit)."""
        indexes = [self.proxy.mapToSource(ix) for ix in self.view.selectionModel().selectedIndexes()]
        data = self.model.cells_mime(indexes)
        if decode_cells(data) is None:
            return False
        self._clipboard, self._clipboard_cut = data, cut
        n = len(self.selected_cells())
        self.session.message.emit(f"{'Cut' if cut else 'Copied'} {n} cell(s): select the target cell and press Ctrl+V.")
        return True

    def paste_cells(self) -> bool:
        """Ctrl+V: the copied (or cut) cells with their top-left cell on the selection's top-left
        cell (or the current cell)."""
        if self._clipboard is None:
            return False
        selected = self.view.selectionModel().selectedIndexes()
        if selected:
            top = min(selected, key=lambda ix: (ix.row(), ix.column()))
            target = self.proxy.mapToSource(self.proxy.index(top.row(), min(ix.column() for ix in selected)))
        else:
            target = self.proxy.mapToSource(self.view.currentIndex())
        action = Qt.DropAction.MoveAction if self._clipboard_cut else Qt.DropAction.CopyAction
        plan = (self.model.drop_plan(self._clipboard, action, target.row(), target.column(), self.proxy.map_row)
                if target.isValid() else None)
        if plan is None:
            self.session.message.emit("The cells cannot be pasted there: they would land outside the people's "
                                      "rows or this block's days.")
            return False
        if self._clipboard_cut:  # a cut pastes once
            self._clipboard, self._clipboard_cut = None, False
        self.apply_drop(plan)
        return True

    def _drag_over(self, data: QMimeData | None, action: Qt.DropAction | None, index: QModelIndex | None) -> None:
        """The drag's target changed (None: it left the grid or dropped): check it shortly."""
        if data is None or action is None or index is None or not index.isValid():
            self._drag_timer.stop()
            self._drag_pending = None
            self.model.set_marks({})
            return
        target = self.proxy.mapToSource(index)
        copy = QMimeData()  # the drag's own payload may be gone when the timer fires
        copy.setData(CELLS_MIME, data.data(CELLS_MIME))
        self._drag_pending = (copy, action, target.row(), target.column())
        self._drag_timer.start()

    def _drag_check(self) -> None:
        """The live rule check of the pending drag target: what the drop would add, marked."""
        pending, self._drag_pending = self._drag_pending, None
        if pending is None:
            return
        data, action, row, column = pending
        plan = self.model.drop_plan(data, action, row, column, self.proxy.map_row)
        if plan is None:
            self.model.set_marks({})
            return
        self._mark_cells(self.session.check(plan.edits), [(p, d, s) for p, d, s, _a in plan.edits])

    def apply_drop(self, plan: DropPlan) -> None:
        """Run a drop or paste through the schedule service as one undoable edit, after asking
        when it overwrites or moves away locked (preload / manual) cells."""
        if plan.locked_over or plan.locked_moved:
            parts = []
            if plan.locked_over:
                parts.append(f"overwrites {plan.locked_over} locked cell(s)")
            if plan.locked_moved:
                parts.append(f"moves {plan.locked_moved} locked cell(s) away")
            verb = "move" if plan.move else "copy"
            if not self.confirm_locked(f"This {verb} {' and '.join(parts)} (preload or manual assignments). "
                                       "Go ahead?"):
                self.session.message.emit(KEPT_LOCKED)
                return
        block = self.session.block
        if block is not None:  # a cut pasted into another block clears its source outside this one
            self._watched.update((p, d, s) for p, d, s, _a in plan.edits
                                 if not block.block.start <= d <= block.block.end)
        self.session.assign(list(plan.edits), text=plan.text)

    def confirm_locked(self, message: str) -> bool:
        answer = QMessageBox.question(self, "Locked cells", message,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _context_menu(self, pos: QPoint) -> None:
        menu = self.build_context_menu()
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self)
        data = self.session.data
        cells = self.selected_cells()
        sub = menu.addMenu("Assign activity")
        sub.setToolTipsVisible(True)
        if data is not None and cells:
            for act in [a for a in data.activities if not a.archived][:60]:
                check = self.session.check([(p, d, s, act.id) for p, d, s in cells])
                warn = bool(check is not None and check.added)
                action = QAction(("⚠ " if warn else "") + f"{act.code} — {act.name}", menu)
                action.setToolTip(describe_check(check) or "No rule broken.")
                action.setData(act.id)
                action.triggered.connect(lambda _=False, aid=act.id: self.assign(aid))
                sub.addAction(action)
        clear = menu.addAction("Clear")
        clear.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        clear.triggered.connect(self.clear_selection)
        clear.setEnabled(bool(cells))
        for text, key, slot, enabled in (
                ("Cut cells", QKeySequence.StandardKey.Cut, lambda: self.copy_cells(cut=True), bool(cells)),
                ("Copy cells", QKeySequence.StandardKey.Copy, self.copy_cells, bool(cells)),
                ("Paste cells here", QKeySequence.StandardKey.Paste, self.paste_cells, self._clipboard is not None)):
            action = menu.addAction(text)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _=False, fn=slot: fn())
            action.setEnabled(enabled)
        people = {p for p, _d, _s in cells}
        if data is not None and len(people) == 1:
            self._add_rotation_menu(menu, next(iter(people)))
        return menu

    def _add_rotation_menu(self, menu: QMenu, person_id: str) -> None:
        data, block = self.session.data, self.session.block
        if data is None or block is None:
            return
        person = next((p for p in data.people if p.id == person_id), None)
        if person is None or person.kind != "resident":
            return
        sub = menu.addMenu(f"Set rotation for block {block.block.number}")
        for r in data.rotations:
            if r.eligible_pgy and person.pgy not in r.eligible_pgy:
                continue
            a = sub.addAction(f"{r.code} — {r.name}")
            a.triggered.connect(lambda _=False, rid=r.id: self.session.set_rotation(person_id, block.block.id, rid))

    def _header_menu(self, pos: QPoint) -> None:
        row = self.proxy.mapToSource(self.proxy.index(self.view.verticalHeader().logicalIndexAt(pos), 0)).row()
        p = self.model.person_row(row)
        if p < 0 or self.model.snapshot is None:
            return
        menu = QMenu(self)
        self._add_rotation_menu(menu, self.model.snapshot.people[p].id)
        if not menu.isEmpty():
            menu.exec(self.view.verticalHeader().mapToGlobal(pos))

    # ------------------------------------------------------------------------------ panel
    def _panel_activated(self, index: QModelIndex) -> None:
        v = self.panel_proxy.data(index, ViolationRole)
        if v is not None and not self.select_violation(v) and v in self._elsewhere:
            day = v.start.date() if isinstance(v.start, dt.datetime) else v.start
            self.date_edit.setDate(QDate(day.year, day.month, day.day))
            self.jump_to_date()  # the block it is in

    def select_person_day(self, person_id: str, day: dt.date) -> bool:
        """Select a person's AM and PM cells of a day (resilience 'show in grid')."""
        row, cols = self.model.row_of(person_id), self.model.columns_of(day)
        if row < 0 or not cols:
            return False
        a = self.proxy.mapFromSource(self.model.index(row, cols[0]))
        b = self.proxy.mapFromSource(self.model.index(row, cols[-1]))
        if not (a.isValid() and b.isValid()):
            return False
        self.view.setCurrentIndex(a)
        self.view.selectionModel().select(QItemSelection(a, b), QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.view.scrollTo(a)
        self.view.setFocus()
        return True

    def select_violation(self, v: Any) -> bool:
        """Select the grid cells a violation covers (its person over its period, or its slot)."""
        snap = self.model.snapshot
        if snap is None:
            return False
        start = v.start.date() if isinstance(v.start, dt.datetime) else v.start
        end = v.end.date() if isinstance(v.end, dt.datetime) else v.end
        if v.person_id:
            rows = [self.model.row_of(v.person_id)]
        else:
            rows = [CALL_ROWS + p for p in range(snap.n_people)
                    if v.day is not None and v.slot is not None
                    and snap.codes[p, 2 * snap.day_of(v.day) + v.slot] >= 0
                    and snap.activities[snap.codes[p, 2 * snap.day_of(v.day) + v.slot]].code == v.activity_code]
        cols = []
        day = start
        while day <= end:
            cols.extend(self.model.columns_of(day) if v.slot is None else
                        [c for c in self.model.columns_of(day) if c % 2 == v.slot])
            day += dt.timedelta(days=1)
        rows = [r for r in rows if r >= 0]
        if not rows or not cols:
            return False
        sel = QItemSelection()
        for r in rows:
            a = self.proxy.mapFromSource(self.model.index(r, min(cols)))
            b = self.proxy.mapFromSource(self.model.index(r, max(cols)))
            if a.isValid() and b.isValid():
                sel.select(a, b)
        sm = self.view.selectionModel()
        sm.select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if not sel.isEmpty():
            self.view.scrollTo(sel.indexes()[0])
        self.view.setFocus()
        return not sel.isEmpty()
