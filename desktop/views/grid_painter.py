"""Paints the block grid's visible cells in one pass (`GridView.paintEvent` calls `GridPainter`).

QTableView's own paintEvent asks the delegate to paint each visible cell: a call from C++ into
Python per cell, a style option per cell and a text layout per cell (`drawText` alone costs
10-15 us per cell here). A full repaint of the large program's grid (~750 visible cells) took
~20-30 ms of GUI-thread CPU that way. This painter walks the visible rows and columns itself and
draws each activity cell as a ready-made tile (a pixmap per activity x locked x selected, made
once per cell size, font and palette), so a cell costs one `drawPixmap`.

What it paints is what `CellDelegate` paints (the delegate stays the view's delegate, and the
view falls back to it while a drag is in progress): the activity colour with its code in black or
white text (desktop.colours), the lock triangle of preload/manual cells, weekend/holiday shading
of empty cells, the call rows (spanning AM + PM of each day) with who is on call, the selection
as a translucent highlight under the text, the red corner of cells that break a rule, the live
check's red frames, and the grid lines.
"""

from __future__ import annotations

from PySide6.QtCore import QLine, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap, QPolygon
from PySide6.QtWidgets import QHeaderView, QStyle, QStyleOptionViewItem, QTableView, QWidget

from desktop.models.block_grid import (
    ALIGN_CENTER,
    CALL_ROW_COLOUR,
    CALL_ROWS,
    SHADE,
    BlockFilterProxy,
    BlockGridModel,
)

MARK_COLOUR = QColor("#e00000")


def highlight_colour(view: QTableView) -> QColor:
    """The selection overlay: the palette's highlight, translucent so the cell's colour shows."""
    hl = QColor(view.palette().color(view.palette().ColorRole.Highlight))
    hl.setAlpha(110)
    return hl


def lock_triangle(height: int) -> QPolygon:
    """The lock mark in a cell's top-right corner, relative to (right, top) of the cell."""
    size = max(4, height // 4)
    return QPolygon([QPoint(-size, 0), QPoint(0, 0), QPoint(0, size)])


def rule_triangle(height: int) -> QPolygon:
    """The mark of a cell whose assignment breaks a rule: a red triangle in the top-left corner,
    relative to (left, top) of the cell."""
    size = max(4, height // 4)
    return QPolygon([QPoint(0, 0), QPoint(size, 0), QPoint(0, size)])


def rule_mark(height: int, dpr: float, cache: dict[tuple[int, float], QPixmap]) -> QPixmap:
    """`rule_triangle` drawn once per cell height and pixel ratio (kept in the painter's `cache`):
    both paint paths draw this pixmap at the cell's top-left (one drawPixmap per marked cell, the
    same pixels in both)."""
    pm = cache.get((height, dpr))
    if pm is None:
        size = max(4, height // 4) + 1
        pm = QPixmap(max(1, round(size * dpr)), max(1, round(size * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(MARK_COLOUR))
        p.drawPolygon(rule_triangle(height))
        p.end()
        cache[(height, dpr)] = pm
    return pm


class GridPainter:
    """Paints a `GridView`'s viewport from the model's cached cells; see the module docstring."""

    def __init__(self) -> None:
        self._rule_marks: dict[tuple[int, float], QPixmap] = {}
        self._tiles: dict[tuple[int, int], dict[int, QPixmap]] = {}
        self._style_key: tuple[object, ...] = ()
        self._colours_of: list[QColor] | None = None
        self._fg: list[QColor] = []
        self.tiles_made = 0  # for tests: tiles are made once, not per paint

    # ------------------------------------------------------------------------------ tiles
    def _tile(self, model: BlockGridModel, a: int, locked: bool, selected: bool, w: int, h: int,
              painter_font: object, hl: QColor, dpr: float) -> QPixmap:
        pm = QPixmap(max(1, round(w * dpr)), max(1, round(h * dpr)))
        pm.setDevicePixelRatio(dpr)
        pm.fill(model._bg[a])
        p = QPainter(pm)
        if selected:
            p.fillRect(0, 0, w, h, hl)
        p.setFont(painter_font)  # type: ignore[arg-type]
        p.setPen(self._fg[a])
        p.drawText(QRect(0, 0, w, h), ALIGN_CENTER, model.codes[a])
        if locked:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(self._fg[a]))
            p.drawPolygon(lock_triangle(h).translated(w - 1, 0))
        p.end()
        self.tiles_made += 1
        return pm

    def warm_up(self, view: QTableView) -> None:
        """Make the first real paint cheap: PySide creates Python wrappers and enum types on the
        first use of an API (the first `viewport()` of a table view alone made ~45 enum classes,
        ~50 ms), so the calls the painter makes are made once here, on a tiny image, when the
        empty grid is first shown, rather than in the middle of the first block's load."""
        from PySide6.QtGui import QImage

        view.viewport().devicePixelRatioF()
        highlight_colour(view)
        view.font().key()
        hh = view.horizontalHeader()
        hh.visualIndexAt(0), hh.logicalIndex(0), hh.isSectionHidden(0), hh.sectionViewportPosition(0)
        image = QImage(8, 8, QImage.Format.Format_ARGB32_Premultiplied)
        painter = QPainter(image)
        opt = QStyleOptionViewItem()
        opt.initFrom(view)
        opt.state |= QStyle.StateFlag.State_Selected
        opt.rect = QRect(0, 0, 4, 4)
        view.style().styleHint(QStyle.StyleHint.SH_ItemView_ShowDecorationSelected, opt, view)
        view.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewRow, opt, painter, view)
        view.style().styleHint(QStyle.StyleHint.SH_Table_GridLineColor, opt, view)
        painter.fillRect(0, 0, 4, 4, SHADE)
        painter.fillRect(QRect(0, 0, 4, 4), CALL_ROW_COLOUR)
        tile = QPixmap(2, 2)
        tile.fill(QColor("white"))
        painter.drawPixmap(0, 0, tile)
        painter.setPen(QPen(QColor("black"), 0))
        painter.drawLines([QLine(0, 0, 4, 0)])
        painter.drawText(QRect(0, 0, 8, 8), ALIGN_CENTER, "W")
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolygon(lock_triangle(8))
        painter.drawRect(QRect(0, 0, 4, 4))
        painter.end()

    # ------------------------------------------------------------------------------ paint
    def paint(self, view: QTableView, model: BlockGridModel, proxy: BlockFilterProxy, rect: QRect) -> None:
        cells = model.cells
        if cells is None or model.rowCount() == 0:
            return
        hh, vh = view.horizontalHeader(), view.verticalHeader()
        cols = self._visible(hh, rect.left(), rect.right())
        rows = self._visible(vh, rect.top(), rect.bottom())
        if not cols or not rows:
            return
        grid = 1 if view.showGrid() else 0
        identity = proxy.passthrough and proxy.sourceModel() is model
        # (proxy row, source row, y, height) of each visible row
        vis_rows = [(r, r if identity else proxy.mapToSource(proxy.index(r, 0)).row(), y, h) for r, y, h in rows]

        pal = view.palette()
        hl = highlight_colour(view)
        font = view.font()
        dpr = view.viewport().devicePixelRatioF()
        key = (font.key(), hl.rgba(), dpr)
        if key != self._style_key or self._colours_of is not model._bg:
            self._tiles.clear()
            self._style_key = key
            self._colours_of = model._bg
            self._fg = [QColor(c) for c in model._fg]

        # selected cells in view: proxy row -> set of columns
        r_lo, r_hi = rows[0][0], rows[-1][0]
        c_lo, c_hi = cols[0][0], cols[-1][0]
        selected: dict[int, set[int]] = {}
        sm = view.selectionModel()
        if sm is not None and sm.hasSelection():
            ranges = sm.selection()
            for i in range(ranges.count()):
                rng = ranges.at(i)
                top, bottom = max(rng.top(), r_lo), min(rng.bottom(), r_hi)
                left, right = max(rng.left(), c_lo), min(rng.right(), c_hi)
                if top > bottom or left > right:
                    continue
                span = range(left, right + 1)
                for r in range(top, bottom + 1):
                    selected.setdefault(r, set()).update(span)

        painter = QPainter(view.viewport())
        painter.setFont(font)
        # Under a selected cell QTableView first draws the style's selected-row panel (the
        # delegate paints over it): the same here, where the cell is not covered by a tile.
        style = view.style()
        panel_opt = QStyleOptionViewItem()
        panel_opt.initFrom(view)
        panel_opt.state |= QStyle.StateFlag.State_Selected
        panel_opt.showDecorationSelected = bool(style.styleHint(QStyle.StyleHint.SH_ItemView_ShowDecorationSelected,
                                                                panel_opt, view))

        def panel(cell: QRect) -> None:
            panel_opt.rect = cell
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewRow, panel_opt, painter, view)

        person = [row for row in vis_rows if row[1] >= CALL_ROWS]
        calls = [row for row in vis_rows if 0 <= row[1] < CALL_ROWS]

        # 1. shading of weekend/holiday columns under the person rows (activity tiles cover it)
        if person:
            y0 = person[0][2]
            y1 = person[-1][2] + person[-1][3]
            for c, x, w in cols:
                if cells.shaded[c]:
                    painter.fillRect(x, y0, w - grid, y1 - y0, SHADE)

        # 2. person cells: one tile per activity cell, the highlight over selected empty cells
        act_rows, locked_rows = cells.act_rows, cells.locked_rows
        draw, fill = painter.drawPixmap, painter.fillRect
        for r, src, y, h in person:
            p = src - CALL_ROWS
            acts, locks = act_rows[p], locked_rows[p]
            sel = selected.get(r)
            th = h - grid
            for c, x, w in cols:
                a = acts[c]
                if a >= 0:
                    s = sel is not None and c in sel
                    tw = w - grid
                    tiles = self._tiles.get((tw, th))
                    if tiles is None:
                        tiles = self._tiles[(tw, th)] = {}
                    k = 4 * a + (2 if locks[c] else 0) + (1 if s else 0)
                    tile = tiles.get(k)
                    if tile is None:
                        tile = tiles[k] = self._tile(model, a, bool(locks[c]), s, tw, th, font, hl, dpr)
                    draw(x, y, tile)
                elif sel is not None and c in sel:
                    panel(QRect(x, y, w - grid, th))
                    if cells.shaded[c]:
                        fill(x, y, w - grid, th, SHADE)
                    fill(x, y, w - grid, th, hl)

        # 3. call rows: one cell per day (AM + PM), who is on call that night
        if calls:
            painter.setPen(QPen(pal.color(pal.ColorRole.Text)))
            days = sorted({c // 2 for c, _x, _w in cols})
            for r, src, y, h in calls:
                sel = selected.get(r)
                for d in days:
                    c = 2 * d
                    x = hh.sectionViewportPosition(c)
                    right = hh.sectionViewportPosition(c + 1) + hh.sectionSize(c + 1) if c + 1 < hh.count() else (
                        x + hh.sectionSize(c))
                    cell = QRect(x, y, right - x - grid, h - grid)
                    chosen = sel is not None and c in sel
                    if chosen:
                        panel(cell)
                    painter.fillRect(cell, SHADE if cells.shaded[c] else CALL_ROW_COLOUR)
                    if chosen:
                        painter.fillRect(cell, hl)
                    text = cells.call_text[src][d]
                    if text:
                        painter.drawText(cell.adjusted(2, 0, -2, 0), ALIGN_CENTER, text)

        # 4. grid lines (none inside a call row's day)
        if grid:
            opt = QStyleOptionViewItem()
            opt.initFrom(view)
            colour = QColor.fromRgba(view.style().styleHint(QStyle.StyleHint.SH_Table_GridLineColor, opt, view)
                                     & 0xFFFFFFFF)
            painter.setPen(QPen(colour, 0))
            x_end = cols[-1][1] + cols[-1][2] - 1
            lines = [QLine(cols[0][1], y + h - 1, x_end, y + h - 1) for _r, _s, y, h in vis_rows]
            for band, every_column in ((calls, False), (person, True)):
                if band:
                    ya, yb = band[0][2], band[-1][2] + band[-1][3] - 1
                    lines.extend(QLine(x + w - 1, ya, x + w - 1, yb) for c, x, w in cols if every_column or c % 2)
            painter.drawLines(lines)

        # 5. the rules the cells' assignments break (model._rule_rows), the live check's marks
        rule_rows = model._rule_rows
        if rule_rows:
            for _r, src, y, h in vis_rows:
                marked = rule_rows.get(src)
                if marked is not None:
                    mark = rule_mark(h - grid, dpr, self._rule_marks)
                    for c, x, _w in cols:
                        if marked[c]:
                            painter.drawPixmap(x, y, mark)
        if model._marks:
            where = {src: (y, h) for _r, src, y, h in vis_rows}
            xs = {c: (x, w) for c, x, w in cols}
            painter.setPen(QPen(MARK_COLOUR, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for (row, col) in model._marks:
                if row in where and col in xs:
                    (y, h), (x, w) = where[row], xs[col]
                    painter.drawRect(QRect(x, y, w - grid, h - grid).adjusted(1, 1, -1, -1))
        painter.end()

    @staticmethod
    def _visible(header: object, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """(logical index, viewport position, size) of the header's sections between two pixels."""
        from PySide6.QtWidgets import QHeaderView

        assert isinstance(header, QHeaderView)
        n = header.count()
        if n == 0:
            return []
        first = header.visualIndexAt(lo)
        if first < 0:
            if lo > header.sectionViewportPosition(header.logicalIndex(n - 1)):
                return []
            first = 0
        last = header.visualIndexAt(hi)
        if last < 0:
            last = n - 1
        out = []
        for v in range(first, last + 1):
            i = header.logicalIndex(v)
            if header.isSectionHidden(i):
                continue
            out.append((i, header.sectionViewportPosition(i), header.sectionSize(i)))
        return out



class NameHeader(QHeaderView):
    """The grid's vertical header (its frozen name column), with a size hint worked out from the
    widest name only. QHeaderView's own asks the model for four header values of each of up to 200
    sections (~1,000 calls into Python through the filter proxy, ~15 ms on the GUI thread after
    every block load); the width it finds is the widest section's, which is what this measures
    (Qt's own size of that one section, the same bold font), so the column is as wide as before."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setSectionsClickable(True)  # as QTableView's own vertical header
        self.setHighlightSections(True)

    def sizeHint(self) -> QSize:
        proxy = self.model()
        source = proxy.sourceModel() if isinstance(proxy, BlockFilterProxy) else None
        if not isinstance(source, BlockGridModel) or self.count() == 0 or self.count() != proxy.rowCount():
            return super().sizeHint()
        texts = source._vheader
        if proxy.passthrough and proxy.sourceModel() is source:
            rows = list(range(min(len(texts), proxy.rowCount())))
        else:
            rows = [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]
        rows = [r for r in rows if 0 <= r < len(texts)]
        if not rows:
            return super().sizeHint()
        font = QFont(self.font())
        font.setBold(True)  # QHeaderView measures sections in bold
        fm = QFontMetrics(font)
        widest = max(rows, key=lambda r: fm.horizontalAdvance(texts[r]))
        section = widest if proxy.passthrough else proxy.mapFromSource(source.index(widest, 0)).row()
        return self.sectionSizeFromContents(section)
