"""PDF and printing of the block grid and of a person's month, through Qt's print support.

One painting function per report draws onto any `QPagedPaintDevice`: a `QPdfWriter` for a PDF
file, a `QPrinter` for paper or the print preview. Pages are landscape, A4 or Letter; the block
grid puts one block on each page (people x days x AM/PM, coloured by activity, weekends and
holidays shaded, the faculty and resident call rows on top), the month page is a calendar of one
person's month.

Run from the command line (the core's `rsched export pdf` points here):

    python -m desktop.io.pdf block --db FILE --block N [--block M ...] --out grid.pdf [--page A4|Letter]
    python -m desktop.io.pdf month --db FILE --person NAME --month 2026-09 --out month.pdf [--page A4|Letter]
"""

from __future__ import annotations

import argparse
import calendar
import ctypes
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from core.calendar import is_weekend
from core.io.excel import HOLIDAY_FILL, WEEKDAYS, WEEKEND_FILL, call_cell_text
from core.io.grid import BlockGrid, YearData, block_grid, contrasting_text, group_label

PAGE_SIZES = {"A4": QPageSize.PageSizeId.A4, "Letter": QPageSize.PageSizeId.Letter}
MARGIN_MM = 8.0
HEADER_FILL = "#d9e1f2"


def _incref_none(times: int) -> None:
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    for _ in range(times):
        incref(None)


@contextmanager
def none_refcount_guard(budget: int = 0) -> Iterator[None]:
    """Give back the references to None that PySide6 drops while painting.

    PySide6 6.12 on Python 3.11 decrements None's reference count on every call of a QPainter
    method that returns nothing (drawRect, fillRect, setPen, drawLine, ...): a few thousand pages
    of painting would free None and abort the interpreter ("none_dealloc"). Measured by
    tests/desktop/test_io_pdf.py. On Python >= 3.12 None is immortal and this does nothing.
    """
    before = sys.getrefcount(None)
    if before < 2**40:  # not immortal (Python < 3.12)
        _incref_none(budget)  # paid in advance: one page can drop more references than None has
    try:
        yield
    finally:
        deficit = before - sys.getrefcount(None)
        if 0 < deficit < 2**40:
            _incref_none(deficit + 64)  # a margin: an extra reference to None costs nothing


def page_layout(page: str) -> QPageLayout:
    if page not in PAGE_SIZES:
        raise ValueError(f"The page size is A4 or Letter, not {page!r}.")
    return QPageLayout(QPageSize(PAGE_SIZES[page]), QPageLayout.Orientation.Landscape,
                       QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM), QPageLayout.Unit.Millimeter)


def _begin(painter: QPainter, device: QPagedPaintDevice) -> QRectF:
    """Paint in points on the printable area, whatever the device's resolution."""
    rect = device.pageLayout().paintRect(QPageLayout.Unit.Point)
    painter.setViewport(0, 0, device.width(), device.height())
    painter.setWindow(0, 0, int(rect.width()), int(rect.height()))
    return QRectF(0, 0, rect.width(), rect.height())


def _font(size: float, bold: bool = False) -> QFont:
    # Pixel size, not point size: the painter's window is in points, so a pixel size is scaled with
    # the drawing on every device (a point size would be scaled twice on a 300-dpi PDF).
    f = QFont("Helvetica")
    f.setPixelSize(max(3, round(size)))
    f.setBold(bold)
    return f


def _cell(painter: QPainter, rect: QRectF, text: str | None, fill: str | None, *, bold: bool = False,
          align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter, size: float = 6.0) -> None:
    if fill:
        painter.fillRect(rect, QColor(fill))
    painter.setPen(QPen(QColor("#bfbfbf"), 0.3))
    painter.drawRect(rect)
    if text:
        font = _font(size, bold)
        inner = rect.adjusted(0.8, 0, -0.8, 0)
        width = QFontMetricsF(font).horizontalAdvance(text)
        if width > inner.width() and size * inner.width() / width >= 3.5:
            font = _font(size * inner.width() / width, bold)  # a short code shrinks rather than being cut
        painter.setFont(font)
        painter.setPen(QColor(contrasting_text(fill) if fill else "#000000"))
        shown = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, inner.width())
        painter.drawText(inner, int(align | Qt.AlignmentFlag.AlignVCenter), shown)


def paint_block(painter: QPainter, area: QRectF, grid: BlockGrid) -> None:
    """One block on one page."""
    title_h = 16.0
    painter.setFont(_font(10, True))
    painter.setPen(QColor("#000000"))
    painter.drawText(QRectF(0, 0, area.width(), title_h), int(Qt.AlignmentFlag.AlignLeft),
                     f"{grid.program.name} - AY {grid.academic_year}-{grid.academic_year + 1} - Block "
                     f"{grid.block.number} ({grid.block.start:%d %b} - {grid.block.end:%d %b %Y})")
    n_rows = 3 + 2 + len(grid.rows)
    row_h = min(14.0, (area.height() - title_h) / max(n_rows, 1))
    name_w, group_w = 96.0, 30.0
    col_w = (area.width() - name_w - group_w) / (2 * len(grid.dates))
    size = max(3.0, min(6.5, row_h * 0.55, col_w * 0.45))
    y0 = title_h
    left = name_w + group_w

    def row_y(i: int) -> float:
        return y0 + i * row_h

    _cell(painter, QRectF(0, row_y(2), name_w, row_h), "Name", HEADER_FILL, bold=True, size=size)
    _cell(painter, QRectF(name_w, row_y(2), group_w, row_h), "Group", HEADER_FILL, bold=True, size=size)
    _cell(painter, QRectF(0, row_y(3), name_w + group_w, row_h), "Faculty call", HEADER_FILL, bold=True, size=size,
          align=Qt.AlignmentFlag.AlignLeft)
    _cell(painter, QRectF(0, row_y(4), name_w + group_w, row_h), "Resident call", HEADER_FILL, bold=True, size=size,
          align=Qt.AlignmentFlag.AlignLeft)
    shade: list[str | None] = []
    for i, day in enumerate(grid.dates):
        x = left + 2 * i * col_w
        holiday = grid.holidays.get(day)
        fill = HOLIDAY_FILL if holiday else WEEKEND_FILL if is_weekend(day) else None
        shade.append(fill)
        _cell(painter, QRectF(x, row_y(0), 2 * col_w, row_h), WEEKDAYS[day.weekday()], fill or HEADER_FILL,
              bold=True, size=size)
        _cell(painter, QRectF(x, row_y(1), 2 * col_w, row_h), f"{day.day}/{day.month}", fill or HEADER_FILL,
              bold=True, size=size)
        for s, label in enumerate(("AM", "PM")):
            _cell(painter, QRectF(x + s * col_w, row_y(2), col_w, row_h), label, fill or HEADER_FILL, size=size)
        _cell(painter, QRectF(x, row_y(3), 2 * col_w, row_h), call_cell_text(grid.faculty_calls[i]), fill,
              size=size * 0.85)
        _cell(painter, QRectF(x, row_y(4), 2 * col_w, row_h), call_cell_text(grid.resident_calls[i]), fill,
              size=size * 0.85)
    previous = None
    for r, grow in enumerate(grid.rows):
        y = row_y(5 + r)
        _cell(painter, QRectF(0, y, name_w, row_h), grow.person.name, None, size=size,
              align=Qt.AlignmentFlag.AlignLeft)
        _cell(painter, QRectF(name_w, y, group_w, row_h), grow.group, None, size=size)
        for j, aid in enumerate(grow.cells):
            rect = QRectF(left + j * col_w, y, col_w, row_h)
            if aid is None:
                _cell(painter, rect, None, shade[j // 2], size=size)
            else:
                act = grid.activities[aid]
                _cell(painter, rect, act.code, act.colour, size=size)
        if previous is not None and grow.group != previous:
            painter.setPen(QPen(QColor("#404040"), 1.0))
            painter.drawLine(0, int(y), int(area.width()), int(y))
        previous = grow.group


def paint_blocks(device: QPagedPaintDevice, grids: Sequence[BlockGrid]) -> int:
    """Paint one block per page; returns the number of pages."""
    painter = QPainter()
    if not painter.begin(device):
        raise OSError("The printer or PDF file could not be opened for drawing.")
    try:
        for n, grid in enumerate(grids):
            with none_refcount_guard(budget=16 * (5 + len(grid.rows)) * (2 + 2 * len(grid.dates)) + 1000):
                if n:
                    device.newPage()
                area = _begin(painter, device)
                paint_block(painter, area, grid)
    finally:
        painter.end()
    return len(grids)


def paint_person_month(device: QPagedPaintDevice, data: YearData, person_id: str, year: int, month: int) -> None:
    """A calendar of one person's month: each day with its AM and PM activity and any call."""
    person = data.person_by_id[person_id]
    slots = {(a.date, a.slot): data.activity_by_id[a.activity_id] for a in data.assignments
             if a.person_id == person_id and a.date.year == year and a.date.month == month}
    calls = {c.date: c for c in data.calls if c.person_id == person_id}
    painter = QPainter()
    if not painter.begin(device):
        raise OSError("The printer or PDF file could not be opened for drawing.")
    with none_refcount_guard(budget=20_000):
        _paint_month(painter, device, data, person, slots, calls, year, month)


def _paint_month(painter: QPainter, device: QPagedPaintDevice, data: YearData, person: object,
                 slots: dict[object, object], calls: dict[object, object], year: int, month: int) -> None:
    try:
        area = _begin(painter, device)
        painter.setFont(_font(14, True))
        painter.setPen(QColor("#000000"))
        painter.drawText(QRectF(0, 0, area.width(), 22), int(Qt.AlignmentFlag.AlignLeft),
                         f"{person.name} ({group_label(person)}) - {calendar.month_name[month]} {year}")  # type: ignore[attr-defined]
        weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
        top, head = 26.0, 14.0
        col_w = area.width() / 7
        row_h = (area.height() - top - head) / len(weeks)
        for d in range(7):
            _cell(painter, QRectF(d * col_w, top, col_w, head), WEEKDAYS[d], HEADER_FILL, bold=True, size=8)
        for w, week in enumerate(weeks):
            for d, day in enumerate(week):
                x, y = d * col_w, top + head + w * row_h
                inside = day.month == month
                shade = (HOLIDAY_FILL if day in data.holidays else WEEKEND_FILL if is_weekend(day) else None)
                _cell(painter, QRectF(x, y, col_w, row_h), None, shade if inside else "#f7f7f7")
                if not inside:
                    continue
                painter.setFont(_font(9, True))
                painter.setPen(QColor("#000000"))
                painter.drawText(QRectF(x + 3, y + 2, col_w - 6, 12), int(Qt.AlignmentFlag.AlignLeft), str(day.day))
                if day in data.holidays:
                    painter.setFont(_font(6))
                    painter.drawText(QRectF(x + 18, y + 3, col_w - 21, 10), int(Qt.AlignmentFlag.AlignRight),
                                     data.holidays[day])
                line_h = (row_h - 16) / 3
                for s in (0, 1):
                    act = slots.get((day, s))
                    rect = QRectF(x + 3, y + 15 + s * line_h, col_w - 6, line_h - 1)
                    if act is not None:
                        _cell(painter, rect, f"{('AM', 'PM')[s]}  {act.code}  {act.name}", act.colour, size=7,
                              align=Qt.AlignmentFlag.AlignLeft)
                call = calls.get(day)
                if call is not None:
                    rect = QRectF(x + 3, y + 15 + 2 * line_h, col_w - 6, line_h - 1)
                    label = {"in_house": "In-house call", "home": "Home call", "backup": "Backup call"}[call.call_type]
                    _cell(painter, rect, label + (f" ({call.service})" if call.service else ""), "#fff2cc", size=7,
                          align=Qt.AlignmentFlag.AlignLeft)
    finally:
        painter.end()


def _pdf_writer(out: Path, page: str) -> QPdfWriter:
    writer = QPdfWriter(str(out))
    writer.setResolution(300)
    writer.setPageLayout(page_layout(page))
    writer.setTitle("Residency schedule")
    writer.setCreator("Residency Scheduler")
    return writer


def write_block_pdf(data: YearData, blocks: Sequence[int] | None, out: Path, *, page: str = "A4") -> int:
    """The block grid as a PDF, one landscape page per block; returns the page count."""
    chosen = list(data.year.blocks) if not blocks else [data.block(n) for n in blocks]
    writer = _pdf_writer(out, page)
    return paint_blocks(writer, [block_grid(data, b) for b in chosen])


def write_person_month_pdf(data: YearData, person_id: str, year: int, month: int, out: Path, *,
                           page: str = "A4") -> None:
    writer = _pdf_writer(out, page)
    paint_person_month(writer, data, person_id, year, month)


def print_preview_dialog(parent: object, data: YearData, blocks: Sequence[int] | None, *, page: str = "A4") -> object:
    """A print preview of the block grid (the caller shows it with exec())."""
    from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageLayout(page_layout(page))
    chosen = list(data.year.blocks) if not blocks else [data.block(n) for n in blocks]
    grids = [block_grid(data, b) for b in chosen]
    dialog = QPrintPreviewDialog(printer, parent)  # type: ignore[arg-type]
    dialog.paintRequested.connect(lambda p: paint_blocks(p, grids))
    return dialog


# ------------------------------------------------------------------------------------ command line
def main(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtGui import QGuiApplication

    from core.commands import open_existing
    from core.errors import SchedulerError
    from core.io.excel import find_person
    from core.io.grid import load_year
    from core.services.base import ServiceContext

    parser = argparse.ArgumentParser(prog="python -m desktop.io.pdf", description="PDF of the block grid or of "
                                     "a person's month.")
    sub = parser.add_subparsers(dest="what", required=True)
    for name in ("block", "month"):
        p = sub.add_parser(name)
        p.add_argument("--db", type=Path, required=True, metavar="FILE")
        p.add_argument("--out", type=Path, required=True, metavar="FILE")
        p.add_argument("--page", choices=sorted(PAGE_SIZES), default="A4")
        p.add_argument("--year", type=int, metavar="YEAR")
        if name == "block":
            p.add_argument("--block", type=int, action="append", metavar="N", help="default: every block")
        else:
            p.add_argument("--person", required=True, metavar="NAME")
            p.add_argument("--month", required=True, metavar="YYYY-MM")
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # fonts need an application
    try:
        opened = open_existing(args)
        ctx = ServiceContext(opened.engine, actor="pdf")
        try:
            data = load_year(ctx, args.year)
            if args.what == "block":
                pages = write_block_pdf(data, args.block, args.out, page=args.page)
                print(f"Wrote {args.out} ({pages} page(s))")
            else:
                year, month = (int(x) for x in args.month.split("-"))
                write_person_month_pdf(data, find_person(data, args.person).id, year, month, args.out, page=args.page)
                print(f"Wrote {args.out}")
        finally:
            ctx.engine.dispose()
    except (SchedulerError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    finally:
        # Destroy Qt objects before the interpreter finalizes (PySide6 can crash at exit otherwise).
        import gc

        gc.collect()
        del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
