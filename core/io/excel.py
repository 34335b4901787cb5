"""Excel export: the block workbook people know, the full year, and one person's year.

Layout of a block sheet (the importer in `core.io.staging` reads the same shape, and tolerates a
hand-made copy with shifted columns):

    row 1      title
    row 2      weekday per day (merged over the day's two columns)
    row 3      date per day (merged over the day's two columns)
    row 4      "Name", "Group", then AM / PM under every day
    row 5      "Faculty call": the faculty on call each night (merged over the day)
    row 6      "Resident call": the residents on call each night (merged over the day)
    row 7...   one row per person: PGY-3 -> PGY-1, then faculty; the cell holds the activity code

Cells are coloured by activity; weekends and holidays are shaded; panes are frozen below the call
rows and right of the names. A "Legend" sheet lists the codes; a hidden "_meta" sheet names the
program, academic year, blocks, export time and a checksum of the grid so a re-import knows what
the workbook is and whether it was edited.

Text never becomes a formula: a value starting with =, +, - or @ is stored as a string cell with
Excel's quote prefix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterable, Sequence
from copy import copy
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.merge import MergedCellRange

from core.calendar import SLOT_NAMES, days, is_weekend
from core.errors import NotFoundError
from core.io.grid import (
    BlockGrid,
    CallEntry,
    YearData,
    block_grid,
    contrasting_text,
    group_label,
)
from core.services.records import BlockRecord, PersonRecord

FORMAT_NAME = "rsched-block-workbook"
FORMAT_VERSION = 1
META_SHEET = "_meta"
LEGEND_SHEET = "Legend"

TITLE_ROW, WEEKDAY_ROW, DATE_ROW, SLOT_ROW = 1, 2, 3, 4
FACULTY_CALL_ROW, RESIDENT_CALL_ROW = 5, 6
FIRST_PERSON_ROW = 7
NAME_COL, GROUP_COL, FIRST_DAY_COL = 1, 2, 3
FACULTY_CALL_LABEL = "Faculty call"
RESIDENT_CALL_LABEL = "Resident call"
CALL_SEPARATOR = "; "

WEEKEND_FILL = "#e4e4e4"
HOLIDAY_FILL = "#f6d7a7"
HEADER_FILL = "#d9e1f2"
FORMULA_LEADS = ("=", "+", "-", "@")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# ------------------------------------------------------------------------------------------ cells
class _Styles:
    """Cell styles, computed once per distinct look and then copied onto cells.

    Setting fonts/fills through openpyxl's descriptors hashes every style object on every cell,
    which made a full-year export take seconds; copying a prepared style array is cheap.
    """

    def __init__(self, wb: Workbook) -> None:
        self._scratch = wb.create_sheet("_styles_scratch")
        self._arrays: dict[tuple[Any, ...], Any] = {}
        self._fills: dict[str, PatternFill] = {}
        self._fonts: dict[tuple[str, bool], Font] = {}
        thin = Side(style="thin", color="FFBFBFBF")
        thick = Side(style="medium", color="FF404040")
        self._borders = {"grid": Border(left=thin, right=thin, top=thin, bottom=thin),
                         "group": Border(left=thin, right=thin, top=thick, bottom=thin), "": Border()}
        self._aligns = {"centre": Alignment(horizontal="center", vertical="center"),
                        "left": Alignment(horizontal="left", vertical="center"), "": Alignment()}

    def fill(self, colour: str) -> PatternFill:
        f = self._fills.get(colour)
        if f is None:
            argb = "FF" + colour.lstrip("#").upper()
            f = self._fills[colour] = PatternFill(fill_type="solid", start_color=argb, end_color=argb)
        return f

    def font(self, colour: str = "#000000", bold: bool = False) -> Font:
        key = (colour, bold)
        f = self._fonts.get(key)
        if f is None:
            f = self._fonts[key] = Font(color="FF" + colour.lstrip("#").upper(), bold=bold)
        return f

    def apply(self, cell: Any, *, fill: str | None = None, font: str = "#000000", bold: bool = False,
              border: str = "", align: str = "", number_format: str | None = None, quote: bool = False) -> None:
        key = (fill, font, bold, border, align, number_format, quote)
        arr = self._arrays.get(key)
        if arr is None:
            c = self._scratch.cell(row=1, column=1)
            c.font = self.font(font, bold)
            c.fill = self.fill(fill) if fill else PatternFill()
            c.border = self._borders[border]
            c.alignment = self._aligns[align]
            c.number_format = number_format or "General"
            c.quotePrefix = quote
            arr = self._arrays[key] = copy(c._style)
        cell._style = copy(arr)

    def finish(self, wb: Workbook) -> None:
        wb.remove(self._scratch)


def _merge_pair(ws: Any, row: int, col: int) -> None:
    """Merge (row, col) with (row, col + 1) without openpyxl's per-merge border pass."""
    ws.merged_cells.add(MergedCellRange(ws, f"{get_column_letter(col)}{row}:{get_column_letter(col + 1)}{row}"))
    ws._cells[row, col + 1] = MergedCell(ws, row, col + 1)


def put_text(ws: Any, row: int, col: int, value: Any) -> Any:
    """Write a value; text starting with = + - @ stays text (never a formula)."""
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if is_formula_like(value):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_LEADS)


def _sheet_title(text: str, taken: set[str]) -> str:
    bad = '[]:*?/\\'
    clean = "".join("_" if ch in bad else ch for ch in text).strip("'")[:31] or "Sheet"
    name, n = clean, 2
    while name.casefold() in taken:
        suffix = f" ({n})"
        name = clean[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(name.casefold())
    return name


def call_cell_text(entries: Sequence[CallEntry]) -> str | None:
    return CALL_SEPARATOR.join(e.label() for e in entries) or None


# -------------------------------------------------------------------------------------- checksum
def grid_checksum(items: Iterable[tuple[str, ...]]) -> str:
    """sha256 of the grid's content: (sheet, row label, date, slot, text) for every non-empty cell.

    The importer computes the same from what it reads, so equal checksums mean "not edited".
    """
    h = hashlib.sha256()
    for item in sorted(items):
        h.update("\x1f".join(item).encode())
        h.update(b"\x1e")
    return h.hexdigest()


def _grid_items(sheet: str, grid: BlockGrid) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for i, day in enumerate(grid.dates):
        for label, calls in ((FACULTY_CALL_LABEL, grid.faculty_calls[i]), (RESIDENT_CALL_LABEL, grid.resident_calls[i])):
            text = call_cell_text(calls)
            if text:
                out.append((sheet, label, day.isoformat(), "call", text))
    for row in grid.rows:
        for j, aid in enumerate(row.cells):
            if aid is not None:
                out.append((sheet, row.person.name.strip(), grid.dates[j // 2].isoformat(), SLOT_NAMES[j % 2],
                            grid.activities[aid].code))
    return out


# ------------------------------------------------------------------------------------ block sheet
def _cell(ws: Any, st: _Styles, row: int, col: int, value: Any, **style: Any) -> Any:
    """Write a value with a style; text that looks like a formula keeps Excel's quote prefix."""
    cell = put_text(ws, row, col, value) if value is not None else ws.cell(row=row, column=col)
    st.apply(cell, quote=is_formula_like(value), **style)
    return cell


def _write_block_sheet(ws: Any, grid: BlockGrid, st: _Styles) -> None:
    title = (f"{grid.program.name} - AY {grid.academic_year}-{grid.academic_year + 1} - Block {grid.block.number} "
             f"({grid.block.start:%b %d} - {grid.block.end:%b %d %Y})")
    _cell(ws, st, TITLE_ROW, 1, title, bold=True)
    head = {"fill": HEADER_FILL, "bold": True, "border": "grid"}
    _cell(ws, st, SLOT_ROW, NAME_COL, "Name", **head)
    _cell(ws, st, SLOT_ROW, GROUP_COL, "Group", **head)
    _cell(ws, st, FACULTY_CALL_ROW, NAME_COL, FACULTY_CALL_LABEL, **head)
    _cell(ws, st, RESIDENT_CALL_ROW, NAME_COL, RESIDENT_CALL_LABEL, **head)
    _cell(ws, st, FACULTY_CALL_ROW, GROUP_COL, None, **head)
    _cell(ws, st, RESIDENT_CALL_ROW, GROUP_COL, None, **head)
    shade: list[str | None] = []
    for i, day in enumerate(grid.dates):
        col = FIRST_DAY_COL + 2 * i
        name = grid.holidays.get(day)
        fill = HOLIDAY_FILL if name else WEEKEND_FILL if is_weekend(day) else None
        shade.append(fill)
        hs = {"fill": fill or HEADER_FILL, "bold": True, "border": "grid", "align": "centre"}
        _cell(ws, st, WEEKDAY_ROW, col, WEEKDAYS[day.weekday()] + (f" ({name})" if name else ""), **hs)
        _cell(ws, st, DATE_ROW, col, day, number_format="d mmm", **hs)
        _merge_pair(ws, WEEKDAY_ROW, col)
        _merge_pair(ws, DATE_ROW, col)
        for slot in (0, 1):
            _cell(ws, st, SLOT_ROW, col + slot, SLOT_NAMES[slot], **hs)
        for row, calls in ((FACULTY_CALL_ROW, grid.faculty_calls[i]), (RESIDENT_CALL_ROW, grid.resident_calls[i])):
            _cell(ws, st, row, col, call_cell_text(calls), fill=fill, border="grid", align="centre")
            _merge_pair(ws, row, col)
    previous_group = None
    for r, grow in enumerate(grid.rows):
        row = FIRST_PERSON_ROW + r
        border = "group" if previous_group is not None and grow.group != previous_group else "grid"
        previous_group = grow.group
        _cell(ws, st, row, NAME_COL, grow.person.name, border=border, align="left")
        _cell(ws, st, row, GROUP_COL, grow.group, border=border, align="left")
        for j, aid in enumerate(grow.cells):
            if aid is None:
                _cell(ws, st, row, FIRST_DAY_COL + j, None, fill=shade[j // 2], border=border)
                continue
            act = grid.activities[aid]
            _cell(ws, st, row, FIRST_DAY_COL + j, act.code, fill=act.colour, font=contrasting_text(act.colour),
                  border=border, align="centre")
    ws.column_dimensions[get_column_letter(NAME_COL)].width = 24
    ws.column_dimensions[get_column_letter(GROUP_COL)].width = 9
    for j in range(2 * len(grid.dates)):
        ws.column_dimensions[get_column_letter(FIRST_DAY_COL + j)].width = 6.5
    ws.freeze_panes = ws.cell(row=FIRST_PERSON_ROW, column=FIRST_DAY_COL)
    ws.sheet_view.zoomScale = 90


def _write_legend(wb: Workbook, data: YearData, st: _Styles) -> None:
    ws = wb.create_sheet(LEGEND_SHEET)
    for col, text in enumerate(("Code", "Activity", "Category"), start=1):
        _cell(ws, st, 1, col, text, fill=HEADER_FILL, bold=True)
    row = 2
    for act in sorted(data.activities, key=lambda a: a.code):
        _cell(ws, st, row, 1, act.code, fill=act.colour, font=contrasting_text(act.colour))
        put_text(ws, row, 2, act.name)
        put_text(ws, row, 3, act.category)
        row += 1
    row += 1
    for text, colour in (("Weekend", WEEKEND_FILL), ("Holiday", HOLIDAY_FILL)):
        _cell(ws, st, row, 1, None, fill=colour)
        put_text(ws, row, 2, text)
        row += 1
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 36
    ws.column_dimensions["C"].width = 14


def _write_meta(wb: Workbook, data: YearData, kind: str, blocks: Sequence[BlockRecord], checksum: str,
                exported_at: dt.datetime, person: PersonRecord | None = None) -> None:
    ws = wb.create_sheet(META_SHEET)
    rows: list[tuple[str, Any]] = [
        ("format", FORMAT_NAME), ("format_version", FORMAT_VERSION), ("kind", kind),
        ("program_id", data.program.id), ("program", data.program.name),
        ("academic_year", data.year.start_year),
        ("blocks", ",".join(str(b.number) for b in blocks)),
        ("exported_at", exported_at.astimezone(dt.UTC).isoformat(timespec="seconds")),
        ("checksum", checksum),
    ]
    if person is not None:
        rows += [("person_id", person.id), ("person", person.name)]
    for r, (key, value) in enumerate(rows, start=1):
        put_text(ws, r, 1, key)
        put_text(ws, r, 2, value)
    ws.sheet_state = "hidden"


def _save(wb: Workbook, out: Path | None) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    payload = buf.getvalue()
    if out is not None:
        out.write_bytes(payload)
    return payload


# ------------------------------------------------------------------------------------ public API
def export_blocks(
    data: YearData,
    blocks: Sequence[int] | None = None,
    out: Path | None = None,
    *,
    exported_at: dt.datetime | None = None,
) -> bytes:
    """The block workbook: one sheet per block (all blocks of the year = the full-year workbook).

    Returns the .xlsx bytes and writes them to `out` when given.
    """
    chosen = list(data.year.blocks) if blocks is None else [data.block(n) for n in blocks]
    if not chosen:
        raise NotFoundError("Choose at least one block to export.", field="block")
    wb = Workbook()
    wb.remove(wb.active)
    st = _Styles(wb)
    taken: set[str] = set()
    items: list[tuple[str, ...]] = []
    for b in chosen:
        grid = block_grid(data, b)
        name = _sheet_title(f"Block {b.number}", taken)
        _write_block_sheet(wb.create_sheet(name), grid, st)
        items += _grid_items(name, grid)
    _write_legend(wb, data, st)
    st.finish(wb)
    kind = "year" if blocks is None else "blocks"
    _write_meta(wb, data, kind, chosen, grid_checksum(items), exported_at or dt.datetime.now(dt.UTC))
    return _save(wb, out)


def export_year(data: YearData, out: Path | None = None, *, exported_at: dt.datetime | None = None) -> bytes:
    """The full-year workbook (every block of the academic year)."""
    return export_blocks(data, None, out, exported_at=exported_at)


def find_person(data: YearData, name_or_id: str) -> PersonRecord:
    """A person by id, or by name (case-insensitive)."""
    for p in data.people:
        if p.id == name_or_id:
            return p
    wanted = " ".join(name_or_id.split()).casefold()
    hits = [p for p in data.people if " ".join(p.name.split()).casefold() == wanted]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise NotFoundError(f"More than one person is called {name_or_id}; use the id.", field="person")
    raise NotFoundError(f"Nobody called {name_or_id} is in AY {data.year.start_year}.", field="person")


def export_person(data: YearData, person_id: str, out: Path | None = None, *,
                  exported_at: dt.datetime | None = None) -> bytes:
    """One person's year: a row per day (block, date, weekday, AM, PM, call), coloured like the grid."""
    person = data.person_by_id.get(person_id)
    if person is None:
        raise NotFoundError("That person is not in this academic year.", field="person")
    wb = Workbook()
    ws = wb.active
    st = _Styles(wb)
    ws.title = _sheet_title(person.name, {LEGEND_SHEET.casefold(), META_SHEET.casefold()})
    _cell(ws, st, 1, 1, f"{person.name} ({group_label(person)}) - {data.program.name} - "
                        f"AY {data.year.start_year}-{data.year.start_year + 1}", bold=True)
    heads = ("Block", "Date", "Weekday", "AM", "PM", "Call", "Holiday")
    for col, text in enumerate(heads, start=1):
        _cell(ws, st, 2, col, text, fill=HEADER_FILL, bold=True, border="grid")
    slots: dict[tuple[dt.date, int], str] = {
        (a.date, a.slot): a.activity_id for a in data.assignments if a.person_id == person_id}
    calls: dict[dt.date, list[CallEntry]] = {}
    for c in data.calls:
        if c.person_id == person_id:
            calls.setdefault(c.date, []).append(CallEntry(person.id, person.name, c.call_type, c.service, c.hours_worked))
    block_of = {d: b.number for b in data.year.blocks for d in days(b.start, b.end)}
    items: list[tuple[str, ...]] = []
    for r, day in enumerate(days(data.year.start, data.year.end), start=3):
        hname = data.holidays.get(day)
        shade = HOLIDAY_FILL if hname else WEEKEND_FILL if is_weekend(day) else None
        plain = {"fill": shade, "border": "grid"}
        _cell(ws, st, r, 1, block_of.get(day), **plain)
        _cell(ws, st, r, 2, day, number_format="yyyy-mm-dd", **plain)
        _cell(ws, st, r, 3, WEEKDAYS[day.weekday()], **plain)
        for slot in (0, 1):
            aid = slots.get((day, slot))
            if aid is None:
                _cell(ws, st, r, 4 + slot, None, **plain)
                continue
            act = data.activity_by_id[aid]
            _cell(ws, st, r, 4 + slot, act.code, fill=act.colour, font=contrasting_text(act.colour), border="grid",
                  align="centre")
            items.append((ws.title, person.name, day.isoformat(), SLOT_NAMES[slot], act.code))
        text = ", ".join(e.label().removeprefix(person.name).strip(" ()") or "in-house" for e in calls.get(day, []))
        _cell(ws, st, r, 6, text or None, **plain)
        _cell(ws, st, r, 7, hname, **plain)
    for letter, width in zip("ABCDEFG", (7, 12, 9, 8, 8, 18, 24)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "D3"
    _write_legend(wb, data, st)
    st.finish(wb)
    _write_meta(wb, data, "person", data.year.blocks, grid_checksum(items),
                exported_at or dt.datetime.now(dt.UTC), person)
    return _save(wb, out)
