"""Excel import: read safely -> stage -> preview -> apply in one transaction -> undo as one action.

`read_workbook` opens an .xlsx defensively (size limits, zip checks, defusedxml through openpyxl,
read-only mode, no formulas). `stage_workbook` finds the block grid on every sheet (a row of
dates, a row of AM/PM below it, names to the left; columns may be shifted), matches names to
people (fuzzy, with a threshold) and cell texts to the program's activity codes, and compares the
result with the database: the `StagedImport` is the preview (every change with its confidence,
every cell it could not use). `apply_import` writes the changes through `put_slot` / `put_call`
inside one `ctx.write`, so the import is one audited edit whose `ChangeSet` undoes it as a whole.

Every problem with the file is a `ValidationError` with one sentence, raised before anything is
written. The limits are the module constants below (also in docs/import-export.md).
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.calendar import SLOT_NAMES
from core.errors import ConflictError, ValidationError
from core.io.excel import (
    FORMAT_NAME,
    META_SHEET,
    grid_checksum,
)
from core.io.grid import CALL_TYPE_LABELS, YearData, load_year
from core.services.base import ChangeSet, Result, ServiceContext, Work, row_image
from core.services.programs import get_program
from core.services.schedule import _check_freeze
from core.store import models as m

# ------------------------------------------------------------------------------------------ limits
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_ENTRIES = 2_000
MAX_SHEETS = 100
MAX_ROWS = 2_000
MAX_COLUMNS = 1_500
MAX_CELLS = 1_000_000
MAX_CELL_TEXT = 2_000
NAME_THRESHOLD = 0.85
CODE_THRESHOLD = 0.85
HEADER_SEARCH_ROWS = 30

CALL_TYPE_WORDS = {
    "in-house": "in_house", "in house": "in_house", "inhouse": "in_house", "in_house": "in_house",
    "home call": "home", "home": "home", "backup": "backup", "back-up": "backup", "backup call": "backup",
}
GROUP_LABEL = re.compile(r"^(pgy-?\s*\d|residents?|faculty|attendings?|staff)$", re.IGNORECASE)
HOURS = re.compile(r"^(\d+(?:\.\d+)?)\s*h(?:ours?)?$", re.IGNORECASE)


def _cell_ref(row: int, col: int) -> str:
    return f"{_letters(col)}{row}"


def _letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


# --------------------------------------------------------------------------------- safe reading
@dataclass(frozen=True)
class RawSheet:
    name: str
    hidden: bool
    cells: dict[tuple[int, int], Any]  # (row, col) -> value, non-empty cells only
    merges: tuple[tuple[int, int, int, int], ...]  # (min_row, min_col, max_row, max_col)


def _refuse(name: str, why: str) -> ValidationError:
    return ValidationError(f"{name} cannot be imported: {why} Nothing was changed.", field="file")


def _check_zip(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        is_zip = zipfile.is_zipfile(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - a damaged end record can make zipfile raise anything
        is_zip = False
    if not is_zip:
        raise _refuse(name, "it is not an Excel workbook (.xlsx).")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:  # noqa: BLE001 - BadZipFile, NotImplementedError (odd versions), ValueError...
        raise _refuse(name, f"the file is damaged ({str(exc)[:120] or type(exc).__name__}).") from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _refuse(name, f"it holds {len(infos)} parts (the limit is {MAX_ZIP_ENTRIES}).")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _refuse(name, f"it unpacks to {total // 2**20} MB (the limit is {MAX_UNCOMPRESSED_BYTES // 2**20} MB).")
    for i in infos:
        if i.compress_size and i.file_size / i.compress_size > MAX_COMPRESSION_RATIO and i.file_size > 2**20:
            raise _refuse(name, f"its part {i.filename} is compressed suspiciously well (a zip bomb?).")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise _refuse(name, "it is a zip file but not an Excel workbook (.xlsx).")
    if "xl/vbaProject.bin" in names:
        raise _refuse(name, "it contains macros; save it as a plain .xlsx workbook.")
    return zf


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> path of its XML part, from workbook.xml and its relationships."""
    from defusedxml import ElementTree

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    wb = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels_xml = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels_xml}
    out = {}
    for sheet in wb.iter(f"{ns_main}sheet"):
        target = targets.get(sheet.get(f"{ns_rel}id"), "")
        path = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        out[sheet.get("name", "")] = path
    return out


_MERGE_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]{1,3}[0-9]{1,7}(?::[A-Za-z]{1,3}[0-9]{1,7})?)\"")


def _merges(zf: zipfile.ZipFile, part: str) -> tuple[tuple[int, int, int, int], ...]:
    """The merged ranges of a sheet part. openpyxl's read-only mode does not report them; the sheet
    was already parsed safely (defusedxml) for its values, so a scan for the `ref` attributes of
    `mergeCell` elements is enough (text content is escaped and cannot look like an element)."""
    from openpyxl.utils.cell import range_boundaries

    if part not in zf.namelist():
        return ()
    with zf.open(part) as fh:
        raw = fh.read(MAX_UNCOMPRESSED_BYTES + 1)
    out = []
    for ref in _MERGE_REF.findall(raw):
        c1, r1, c2, r2 = range_boundaries(ref.decode("ascii").upper())
        out.append((int(r1), int(c1), int(r2), int(c2)))
    return tuple(out)


def read_workbook(source: Path | bytes, *, name: str | None = None) -> list[RawSheet]:
    """Read every sheet's non-empty cells and merged ranges; refuse unsafe or damaged files."""
    if isinstance(source, Path):
        name = name or source.name
        try:
            size = source.stat().st_size
            if size > MAX_FILE_BYTES:
                raise _refuse(name, f"it is {size // 2**20} MB (the limit is {MAX_FILE_BYTES // 2**20} MB).")
            data = source.read_bytes()
        except OSError as exc:
            raise ValidationError(f"{source} cannot be read ({exc.strerror or exc}).", field="file") from exc
    else:
        data, name = source, name or "The workbook"
        if len(data) > MAX_FILE_BYTES:
            raise _refuse(name, f"it is {len(data) // 2**20} MB (the limit is {MAX_FILE_BYTES // 2**20} MB).")
    zf = _check_zip(data, name)
    try:
        return _read_sheets(zf, data, name)
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged part can make openpyxl raise almost anything
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise _refuse(name, f"the workbook is damaged or not one Excel can write ({detail}).") from exc


def _read_sheets(zf: zipfile.ZipFile, data: bytes, name: str) -> list[RawSheet]:
    from openpyxl import load_workbook

    parts = _sheet_parts(zf)
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    try:
        if len(wb.worksheets) > MAX_SHEETS:
            raise _refuse(name, f"it has {len(wb.worksheets)} sheets (the limit is {MAX_SHEETS}).")
        sheets = []
        total = 0
        for ws in wb.worksheets:
            if not hasattr(ws, "iter_rows"):
                continue  # a chart sheet
            declared_rows, declared_cols = ws.max_row or 0, ws.max_column or 0
            if declared_rows > MAX_ROWS or declared_cols > MAX_COLUMNS:
                raise _refuse(name, f"sheet {ws.title!r} is {declared_rows} rows x {declared_cols} columns "
                                    f"(the limit is {MAX_ROWS} x {MAX_COLUMNS}).")
            cells: dict[tuple[int, int], Any] = {}
            for row in ws.iter_rows():
                for c in row:
                    value = getattr(c, "value", None)
                    if value is None or (isinstance(value, str) and not value.strip()):
                        continue
                    r, col = c.row, c.column
                    if r > MAX_ROWS or col > MAX_COLUMNS:
                        raise _refuse(name, f"sheet {ws.title!r} has data beyond row {MAX_ROWS} or column "
                                            f"{MAX_COLUMNS} (cell {_cell_ref(r, col)}).")
                    if c.data_type == "f" or type(value).__name__ in ("ArrayFormula", "DataTableFormula"):
                        raise _refuse(name, f"sheet {ws.title!r}, cell {_cell_ref(r, col)} holds a formula "
                                            f"({str(getattr(value, 'text', value))[:40]}); paste values only.")
                    cells[(r, col)] = value
                    total += 1
                    if total > MAX_CELLS:
                        raise _refuse(name, f"it holds more than {MAX_CELLS} filled cells.")
            state = getattr(ws, "sheet_state", "visible")
            sheets.append(RawSheet(ws.title, state != "visible", cells, _merges(zf, parts.get(ws.title, ""))))
        return sheets
    finally:
        wb.close()


# ---------------------------------------------------------------------------------- grid layout
@dataclass(frozen=True)
class Layout:
    date_row: int
    slot_row: int
    columns: dict[int, tuple[dt.date, int]]  # column -> (date, slot)
    name_col: int
    call_rows: dict[int, str]  # row -> "faculty" | "resident"
    person_rows: tuple[int, ...]


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d %b %Y", "%b %d %Y", "%d %B %Y", "%B %d %Y",
                 "%a %d %b %Y", "%d.%m.%Y")
_SHORT_FORMATS = ("%m/%d", "%d %b", "%b %d", "%d %B", "%B %d", "%d-%b", "%b-%d")


def _as_date(value: Any, start_year: int | None) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or len(value) > 40:
        return None
    if not any(ch.isdigit() for ch in value):
        return None
    text = " ".join(value.replace(",", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    if start_year is not None:
        for fmt in _SHORT_FORMATS:
            try:
                d = dt.datetime.strptime(f"{text} 2000", f"{fmt} %Y").date()  # 2000: Feb 29 parses
            except ValueError:
                continue
            year = start_year if d.month >= 7 else start_year + 1
            try:
                return d.replace(year=year)
            except ValueError:
                return None
    return None


def _slot_of(value: Any) -> int | None:
    if isinstance(value, str):
        t = value.strip().upper().rstrip(".")
        if t in ("AM", "A.M", "MORNING"):
            return 0
        if t in ("PM", "P.M", "AFTERNOON"):
            return 1
    return None


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def find_layout(sheet: RawSheet, start_year: int | None) -> Layout | None:
    """Where the grid is on a sheet: the date row, the AM/PM row, the day columns, names, calls."""
    by_row: dict[int, dict[int, Any]] = {}
    for (r, c), v in sheet.cells.items():
        by_row.setdefault(r, {})[c] = v
    for date_row in sorted(by_row)[:HEADER_SEARCH_ROWS]:
        dates = {c: d for c, v in by_row[date_row].items() if (d := _as_date(v, start_year)) is not None}
        if len(dates) < 1:
            continue
        for slot_row in range(date_row + 1, date_row + 4):
            slots = {c: s for c, v in by_row.get(slot_row, {}).items() if (s := _slot_of(v)) is not None}
            if len(slots) < 2:
                continue
            columns: dict[int, tuple[dt.date, int]] = {}
            for c, s in slots.items():
                d = dates.get(c)
                if d is None and s == 1:
                    d = dates.get(c - 1)  # the day's date sits over its AM column (merged over both)
                if d is not None:
                    columns[c] = (d, s)
            if len(columns) < 2:
                continue
            first_day_col = min(columns)
            label_cols = range(1, first_day_col)
            call_rows: dict[int, str] = {}
            candidates: list[int] = []
            for r in sorted(by_row):
                if r <= slot_row:
                    continue
                labels = [_text(by_row[r][c]) for c in label_cols if c in by_row[r]]
                joined = " ".join(labels).casefold()
                if labels and re.search(r"\bcall\b", joined):
                    call_rows[r] = "faculty" if ("fac" in joined or "attend" in joined) else "resident"
                else:
                    candidates.append(r)
            # The name column: the label column with the most text (the group column holds 'PGY-n').
            best_col, best_score = 0, -1
            for c in label_cols:
                texts = [by_row[r][c] for r in candidates if c in by_row[r] and isinstance(by_row[r][c], str)]
                score = sum(1 for t in texts if not GROUP_LABEL.match(t.strip())) * 2 + len(texts)
                if score > best_score:
                    best_col, best_score = c, score
            return Layout(date_row, slot_row, columns, best_col, call_rows, tuple(candidates))
    return None


def check_merges(sheet: RawSheet, layout: Layout) -> None:
    """Merged cells are fine in the title and header rows and over one day in the call rows only."""
    header_rows = set(range(1, layout.slot_row + 1))
    for r1, c1, r2, c2 in sheet.merges:
        ref = f"{_cell_ref(r1, c1)}:{_cell_ref(r2, c2)}"
        ok = False
        if r1 == r2 and r1 < layout.date_row:
            ok = True  # a title
        elif r1 == r2 and (r1 in header_rows or r1 in layout.call_rows) and c2 - c1 <= 1:
            days_covered = {layout.columns[c][0] for c in range(c1, c2 + 1) if c in layout.columns}
            ok = len(days_covered) <= 1
        if not ok:
            raise ValidationError(
                f"Sheet {sheet.name!r} has merged cells at {ref}; a schedule cell can only be merged over one "
                "day in the header or call rows. Unmerge them and import again. Nothing was changed.",
                field="file")


# -------------------------------------------------------------------------------------- matching
def _norm_name(text: str) -> str:
    t = text.casefold().strip()
    if "," in t:
        last, _, first = t.partition(",")
        t = f"{first} {last}"
    t = re.sub(r"^(dr\.?|doctor)\s+", "", t.strip())
    t = re.sub(r"[^\w\s'-]", " ", t)
    return " ".join(t.split())


@dataclass(frozen=True)
class Match:
    id: str | None
    label: str | None  # the matched person's name or activity code
    confidence: float
    note: str = ""


class NameMatcher:
    def __init__(self, people: dict[str, str], threshold: float) -> None:
        self.threshold = threshold
        self._by_norm: dict[str, list[str]] = {}
        for pid, name in people.items():
            self._by_norm.setdefault(_norm_name(name), []).append(pid)
        self._names = people
        self._cache: dict[str, Match] = {}

    def __call__(self, text: str) -> Match:
        hit = self._cache.get(text)
        if hit is None:
            hit = self._cache[text] = self._match(text)
        return hit

    def _match(self, text: str) -> Match:
        norm = _norm_name(text)
        exact = self._by_norm.get(norm, [])
        if len(exact) == 1:
            return Match(exact[0], self._names[exact[0]], 1.0 if text.strip() == self._names[exact[0]] else 0.99)
        if len(exact) > 1:
            return Match(None, None, 0.0, "more than one person has this name")
        scored = sorted(((difflib.SequenceMatcher(None, norm, k).ratio(), k) for k in self._by_norm), reverse=True)
        if not scored or scored[0][0] < self.threshold:
            near = f" (closest: {self._names[self._by_norm[scored[0][1]][0]]}, {scored[0][0]:.0%})" if scored else ""
            return Match(None, None, scored[0][0] if scored else 0.0, f"no person matches this name{near}")
        if len(scored) > 1 and scored[1][0] > scored[0][0] - 0.03:
            return Match(None, None, scored[0][0], "the name is too close to two people")
        pids = self._by_norm[scored[0][1]]
        if len(pids) > 1:
            return Match(None, None, scored[0][0], "more than one person has this name")
        return Match(pids[0], self._names[pids[0]], round(scored[0][0], 3))


class CodeMatcher:
    def __init__(self, activities: dict[str, tuple[str, str]], threshold: float) -> None:
        """activities: id -> (code, name)."""
        self.threshold = threshold
        self._code = {code: aid for aid, (code, _n) in activities.items()}
        self._fold = {code.casefold(): aid for aid, (code, _n) in activities.items()}
        self._name = {" ".join(n.casefold().split()): aid for aid, (_c, n) in activities.items()}
        self._acts = activities
        self._cache: dict[str, Match] = {}

    def __call__(self, text: str) -> Match:
        hit = self._cache.get(text)
        if hit is None:
            hit = self._cache[text] = self._match(text)
        return hit

    def _match(self, text: str) -> Match:
        t = text.strip()
        if len(t) > 100:
            return Match(None, None, 0.0, "the text is too long for an activity code")
        if t in self._code:
            aid = self._code[t]
            return Match(aid, t, 1.0)
        for table, conf in ((self._fold, 0.95), (self._name, 0.9)):
            aid2 = table.get(" ".join(t.casefold().split()))
            if aid2 is not None:
                return Match(aid2, self._acts[aid2][0], conf)
        keys = list(self._fold) + list(self._name)
        close = difflib.get_close_matches(t.casefold(), keys, n=2, cutoff=self.threshold)
        if close:
            key = close[0]
            aid3 = self._fold.get(key) or self._name[key]
            ratio = difflib.SequenceMatcher(None, t.casefold(), key).ratio()
            return Match(aid3, self._acts[aid3][0], round(0.9 * ratio, 3))
        return Match(None, None, 0.0, "no activity has this code")


# --------------------------------------------------------------------------------------- preview
CallValue = tuple[str, str, float | None]  # call_type, service, hours_worked


@dataclass(frozen=True)
class SlotChange:
    person_id: str
    person_name: str
    date: dt.date
    slot: int
    before_id: str | None
    before_code: str | None
    after_id: str | None
    after_code: str | None
    confidence: float
    sheet: str
    cell: str

    def describe(self) -> str:
        return (f"{self.person_name} {self.date:%a %d %b %Y} {SLOT_NAMES[self.slot]}: "
                f"{self.before_code or '(empty)'} -> {self.after_code or '(empty)'}"
                + (f" [confidence {self.confidence:.0%}]" if self.confidence < 1 else ""))


@dataclass(frozen=True)
class CallChange:
    person_id: str
    person_name: str
    date: dt.date
    before: CallValue | None
    after: CallValue | None
    confidence: float
    sheet: str
    cell: str

    def describe(self) -> str:
        def show(v: CallValue | None) -> str:
            if v is None:
                return "(no call)"
            extra = [x for x in (v[1], f"{v[2]:g} h" if v[2] is not None else "") if x]
            return CALL_TYPE_LABELS[v[0]] + (f" ({', '.join(extra)})" if extra else "")

        return (f"{self.person_name} call {self.date:%a %d %b %Y}: {show(self.before)} -> {show(self.after)}"
                + (f" [confidence {self.confidence:.0%}]" if self.confidence < 1 else ""))


@dataclass(frozen=True)
class Unmatched:
    sheet: str
    cell: str
    value: str
    reason: str

    def describe(self) -> str:
        return f"{self.sheet}!{self.cell} {self.value[:60]!r}: {self.reason}"


@dataclass(frozen=True)
class NameMatch:
    sheet: str
    cell: str
    text: str
    person_id: str | None
    person_name: str | None
    confidence: float


@dataclass(frozen=True)
class StagedImport:
    """The preview of an import: what would change, with confidence, and what could not be read."""

    file_name: str
    program_id: str
    program_name: str
    academic_year: int
    sheets: tuple[str, ...]  # sheets with a grid
    skipped_sheets: tuple[str, ...]
    names: tuple[NameMatch, ...]
    slot_changes: tuple[SlotChange, ...]
    call_changes: tuple[CallChange, ...]
    unmatched: tuple[Unmatched, ...]
    cells_read: int
    cells_unchanged: int
    exported_unchanged: bool | None  # True: the grid is exactly as exported; None: no metadata
    first_date: dt.date
    last_date: dt.date

    @property
    def change_count(self) -> int:
        return len(self.slot_changes) + len(self.call_changes)

    @property
    def low_confidence(self) -> int:
        return sum(1 for c in self.slot_changes if c.confidence < 1) + sum(
            1 for cc in self.call_changes if cc.confidence < 1)

    def summary(self) -> str:
        lines = [
            f"{self.file_name}: {len(self.sheets)} sheet(s) of {self.program_name}, AY {self.academic_year}-"
            f"{self.academic_year + 1}, {self.first_date:%d %b %Y} - {self.last_date:%d %b %Y}.",
            f"{self.cells_read} cells read: {len(self.slot_changes)} slot change(s), {len(self.call_changes)} call "
            f"change(s), {self.cells_unchanged} unchanged, {len(self.unmatched)} not matched.",
        ]
        if self.exported_unchanged is True:
            lines.append("The grid is exactly as it was exported.")
        elif self.exported_unchanged is False:
            lines.append("The grid was edited since it was exported.")
        if self.low_confidence:
            lines.append(f"{self.low_confidence} change(s) rest on a fuzzy match (confidence below 100 %).")
        if self.skipped_sheets:
            lines.append(f"Sheets without a schedule grid, skipped: {', '.join(self.skipped_sheets)}.")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------- staging
def _read_meta(sheets: list[RawSheet]) -> dict[str, str]:
    for s in sheets:
        if s.name == META_SHEET:
            rows: dict[int, dict[int, Any]] = {}
            for (r, c), v in s.cells.items():
                rows.setdefault(r, {})[c] = v
            return {_text(v.get(1, "")): _text(v.get(2, "")) for v in rows.values() if 1 in v}
    return {}


def _parse_call_entry(text: str) -> tuple[str, CallValue] | None:
    mt = re.fullmatch(r"\s*(?P<name>[^()]*?)\s*(?:\((?P<extra>[^()]*)\))?\s*", text)
    if mt is None or not mt.group("name"):
        return None
    call_type, service, hours = "in_house", "", None
    for part in (mt.group("extra") or "").split(","):
        p = part.strip()
        if not p:
            continue
        if p.casefold() in CALL_TYPE_WORDS:
            call_type = CALL_TYPE_WORDS[p.casefold()]
        elif (hm := HOURS.match(p)) is not None:
            hours = float(hm.group(1))
            if not 0 <= hours <= 24:
                return None
        elif len(p) <= 32:
            service = p
        else:
            return None
    return mt.group("name"), (call_type, service, hours)


def stage_workbook(
    ctx: ServiceContext,
    source: Path | bytes,
    *,
    file_name: str | None = None,
    name_threshold: float = NAME_THRESHOLD,
    code_threshold: float = CODE_THRESHOLD,
    academic_year: int | None = None,
) -> StagedImport:
    """Read a workbook and compare it with the database. Writes nothing."""
    fname = file_name or (source.name if isinstance(source, Path) else "The workbook")
    sheets = read_workbook(source, name=fname)
    meta = _read_meta(sheets)
    program = get_program(ctx)
    years = _years(ctx, program.id)
    if not years:
        raise _refuse(fname, f"{program.name} has no academic year yet.")
    if meta:
        if meta.get("format") != FORMAT_NAME:
            raise _refuse(fname, "its metadata sheet is not one this program wrote.")
        if meta.get("program_id") != program.id and meta.get("program", "").casefold() != program.name.casefold():
            raise _refuse(fname, f"it was exported from the program {meta.get('program')!r}; this database holds "
                                 f"{program.name!r}.")
        if meta.get("kind") == "person":
            raise _refuse(fname, "it is one person's workbook; import a block or full-year workbook.")
        try:
            meta_year = int(meta.get("academic_year", ""))
        except ValueError as exc:
            raise _refuse(fname, "its metadata names no academic year.") from exc
        if academic_year is not None and academic_year != meta_year:
            raise _refuse(fname, f"it holds AY {meta_year}-{meta_year + 1}, not AY {academic_year}-{academic_year + 1}.")
        academic_year = meta_year
    hint = academic_year if academic_year is not None else max(years)
    layouts: list[tuple[RawSheet, Layout]] = []
    skipped: list[str] = []
    for s in sheets:
        if s.name == META_SHEET:
            continue
        lay = find_layout(s, hint)
        if lay is None:
            skipped.append(s.name)
            continue
        check_merges(s, lay)
        layouts.append((s, lay))
    if not layouts:
        raise _refuse(fname, "no sheet holds a schedule grid (a row of dates with a row of AM/PM below it).")
    all_dates = sorted({d for _s, lay in layouts for d, _sl in lay.columns.values()})
    first, last = all_dates[0], all_dates[-1]
    start_year = next((y for y, (a, b) in years.items() if a <= first and last <= b), None)
    if start_year is None:
        have = ", ".join(f"{y}-{y + 1}" for y in sorted(years))
        raise _refuse(fname, f"its dates ({first:%d %b %Y} - {last:%d %b %Y}) are not inside one academic year of "
                             f"{program.name} (it has AY {have}).")
    if academic_year is not None and start_year != academic_year:
        raise _refuse(fname, f"its dates lie in AY {start_year}-{start_year + 1}, but the workbook says AY "
                             f"{academic_year}-{academic_year + 1}.")
    data = load_year(ctx, start_year, start=first, end=last)
    return _compare(data, layouts, meta, fname, name_threshold, code_threshold, first, last, tuple(skipped))


def _years(ctx: ServiceContext, program_id: str) -> dict[int, tuple[dt.date, dt.date]]:
    def run(s: Session) -> dict[int, tuple[dt.date, dt.date]]:
        rows = s.execute(select(m.AcademicYear.start_year, m.AcademicYear.start_date, m.AcademicYear.end_date).where(
            m.AcademicYear.program_id == program_id, m.AcademicYear.deleted.is_(False)))
        return {int(r[0]): (r[1], r[2]) for r in rows}

    return ctx.read(run)


@dataclass
class _Target:
    """What the workbook says, collected over all its sheets."""

    slots: dict[tuple[str, dt.date, int], tuple[str | None, float, str, str]] = field(default_factory=dict)
    calls: dict[dt.date, dict[str, tuple[CallValue, float, str, str]]] = field(default_factory=dict)
    call_kinds: dict[dt.date, set[str]] = field(default_factory=dict)  # kinds whose call row covers the date
    blocked_call_dates: set[tuple[dt.date, str]] = field(default_factory=set)


def _compare(data: YearData, layouts: list[tuple[RawSheet, Layout]], meta: dict[str, str], fname: str,
             name_threshold: float, code_threshold: float, first: dt.date, last: dt.date,
             skipped: tuple[str, ...]) -> StagedImport:
    names = NameMatcher({p.id: p.name for p in data.people}, name_threshold)
    codes = CodeMatcher({a.id: (a.code, a.name) for a in data.activities if not a.archived}, code_threshold)
    unmatched: list[Unmatched] = []
    name_rows: list[NameMatch] = []
    target = _Target()
    items: list[tuple[str, ...]] = []
    cells_read = 0
    kind_of = {p.id: p.kind for p in data.people}

    def miss(sheet: str, r: int, c: int, value: Any, reason: str) -> None:
        unmatched.append(Unmatched(sheet, _cell_ref(r, c), _text(value)[:200], reason))

    for sheet, lay in layouts:
        cells = sheet.cells
        rows: dict[int, dict[int, Any]] = {}
        for (r, c), v in cells.items():
            if r > lay.slot_row:
                rows.setdefault(r, {})[c] = v
        first_day_col = min(lay.columns)
        for r, kind in lay.call_rows.items():
            label = next((_text(rows[r][c]) for c in range(1, first_day_col) if c in rows[r]), "")
            for c, v in rows[r].items():
                if c < first_day_col:
                    continue
                cells_read += 1
                col = lay.columns.get(c)
                if col is None:
                    miss(sheet.name, r, c, v, "no date and AM/PM above this column")
                    continue
                day = col[0]
                items.append((sheet.name, label, day.isoformat(), "call", _text(v)))
                target.call_kinds.setdefault(day, set()).add(kind)
                for part in re.split(r"[;\n]", _text(v)):
                    if not part.strip():
                        continue
                    parsed = _parse_call_entry(part)
                    if parsed is None:
                        miss(sheet.name, r, c, part, "not a call entry (write: Name or Name (home call, OB, 3 h))")
                        target.blocked_call_dates.add((day, kind))
                        continue
                    who = names(parsed[0])
                    if who.id is None:
                        miss(sheet.name, r, c, part, who.note)
                        target.blocked_call_dates.add((day, kind))
                        continue
                    target.calls.setdefault(day, {})[who.id] = (parsed[1], who.confidence, sheet.name,
                                                                _cell_ref(r, c))
            for day in {d for d, _s in lay.columns.values()}:
                target.call_kinds.setdefault(day, set()).add(kind)
        for r in lay.person_rows:
            row = rows.get(r, {})
            label_v = row.get(lay.name_col)
            day_cells = {c: v for c, v in row.items() if c >= first_day_col}
            label = _text(label_v) if label_v is not None else ""
            if not label or len(label) > 200:
                for c, v in day_cells.items():
                    cells_read += 1
                    miss(sheet.name, r, c, v, "this row has no name")
                continue
            if GROUP_LABEL.match(label) and not day_cells:
                continue
            who = names(label)
            name_rows.append(NameMatch(sheet.name, _cell_ref(r, lay.name_col), label, who.id, who.label,
                                       who.confidence))
            if who.id is None:
                miss(sheet.name, r, lay.name_col, label, who.note)
                for c, v in day_cells.items():
                    cells_read += 1
                    miss(sheet.name, r, c, v, f"the row's name {label!r} matches nobody")
                continue
            for c, v in day_cells.items():
                if c not in lay.columns:
                    cells_read += 1
                    miss(sheet.name, r, c, v, "no date and AM/PM above this column")
            for c, (day, slot) in lay.columns.items():
                v = row.get(c)
                key = (who.id, day, slot)
                ref = _cell_ref(r, c)
                if v is None:
                    value: tuple[str | None, float, str, str] = (None, who.confidence, sheet.name, ref)
                else:
                    cells_read += 1
                    text = _text(v)
                    items.append((sheet.name, label, day.isoformat(), SLOT_NAMES[slot], text))
                    code = codes(text)
                    if code.id is None:
                        miss(sheet.name, r, c, v, code.note)
                        target.slots.pop(key, None)
                        target.slots[key] = ("?", 0.0, sheet.name, ref)  # a marker: leave the slot alone
                        continue
                    value = (code.id, min(who.confidence, code.confidence), sheet.name, ref)
                old = target.slots.get(key)
                if old is not None and old[0] != value[0]:
                    miss(sheet.name, r, c, v if v is not None else "", f"this slot also appears in {old[2]}!{old[3]} "
                                                                       "with another value; left unchanged")
                    target.slots[key] = ("?", 0.0, sheet.name, ref)
                    continue
                target.slots[key] = value

    # Compare with the database.
    current = {(a.person_id, a.date, a.slot): a.activity_id for a in data.assignments}
    slot_changes: list[SlotChange] = []
    unchanged = 0
    code_of = {a.id: a.code for a in data.activities}
    for (pid, day, slot), (aid, conf, sname, ref) in sorted(
            target.slots.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[1][2], kv[1][3])):
        if aid == "?":
            continue
        before = current.get((pid, day, slot))
        if before == aid:
            if aid is not None:
                unchanged += 1
            continue
        slot_changes.append(SlotChange(pid, data.person_by_id[pid].name, day, slot, before,
                                       code_of.get(before) if before else None, aid,
                                       code_of.get(aid) if aid else None, conf, sname, ref))
    call_changes: list[CallChange] = []
    existing_calls: dict[dt.date, dict[str, CallValue]] = {}
    for call in data.calls:
        existing_calls.setdefault(call.date, {})[call.person_id] = (call.call_type, call.service, call.hours_worked)
    for day in sorted(target.call_kinds):
        wanted = target.calls.get(day, {})
        have = existing_calls.get(day, {})
        for pid, (cvalue, conf, sname, ref) in sorted(wanted.items()):
            if have.get(pid) == cvalue:
                unchanged += 1
                continue
            call_changes.append(CallChange(pid, data.person_by_id[pid].name, day, have.get(pid), cvalue, conf, sname,
                                           ref))
        for pid, hvalue in sorted(have.items()):
            kind = "resident" if kind_of.get(pid) == "resident" else "faculty"
            if pid in wanted or kind not in target.call_kinds[day] or (day, kind) in target.blocked_call_dates:
                continue
            call_changes.append(CallChange(pid, data.person_by_id[pid].name, day, hvalue, None, 1.0, "", ""))
    exported_unchanged = None
    if meta.get("checksum"):
        exported_unchanged = grid_checksum(items) == meta["checksum"]
    return StagedImport(
        file_name=fname, program_id=data.program.id, program_name=data.program.name,
        academic_year=data.year.start_year, sheets=tuple(s.name for s, _l in layouts),
        skipped_sheets=skipped,
        names=tuple(name_rows), slot_changes=tuple(slot_changes), call_changes=tuple(call_changes),
        unmatched=tuple(unmatched), cells_read=cells_read, cells_unchanged=unchanged,
        exported_unchanged=exported_unchanged, first_date=first, last_date=last,
    )


# ------------------------------------------------------------------------------------------ apply
@dataclass(frozen=True)
class ImportOutcome:
    slots_changed: int
    calls_changed: int
    skipped_low_confidence: int


def _apply_slots(work: Work, staged: StagedImport, slots: list[SlotChange], reason: str | None) -> None:
    """`put_slot`'s semantics for many slots at once: one query, one flush, one insert, every row recorded.

    A hand import is `manual` and locked, like a hand edit; a tombstoned row for the same slot is
    revived (the unique key includes deleted rows). `Work.record_external` records each row change,
    so the audit event, the outbox records and the undo are those of any other edit.
    """
    if not slots:
        return
    s = work.session
    rows = {(a.person_id, a.date, a.slot): a for a in s.scalars(select(m.Assignment).where(
        m.Assignment.date >= staged.first_date, m.Assignment.date <= staged.last_date,
        m.Assignment.person_id.in_({c.person_id for c in slots})))}
    note = reason or None
    done: list[tuple[Any, dict[str, Any] | None]] = []
    inserts: list[dict[str, Any]] = []
    for c in slots:
        row = rows.get((c.person_id, c.date, c.slot))
        live = row is not None and not row.deleted
        if (row.activity_id if live and row is not None else None) != c.before_id:
            raise ConflictError(f"{c.person_name}'s {c.date:%d %b} {SLOT_NAMES[c.slot]} changed since the preview; "
                                "preview the import again. Nothing was changed.")
        if c.after_id is None:
            if row is None or not live:
                continue
            done.append((row, row_image(row)))
            row.deleted = True
        elif row is None:
            values = {"id": m.new_id(), "person_id": c.person_id, "date": c.date, "slot": c.slot,
                      "activity_id": c.after_id, "rotation_id": None, "source": "manual", "locked": True,
                      "note": note, "version": 0, "deleted": False}
            inserts.append(values)
            # A transient copy (never added to the session) gives record_external the row's image.
            done.append((m.Assignment(**values), None))
        else:
            done.append((row, row_image(row)))
            row.deleted, row.activity_id, row.rotation_id = False, c.after_id, None
            row.source, row.locked, row.note = "manual", True, note
    s.flush()
    if inserts:  # new rows in one executemany: the ORM's unit of work is slow for a year of rows
        s.execute(insert(m.Assignment), inserts)
    for row, before in done:
        work.record_external(row, before)


def _apply_calls(work: Work, staged: StagedImport, calls: list[CallChange]) -> None:
    """`put_call`'s semantics for many call nights: one query, one flush, every row recorded."""
    if not calls:
        return
    s = work.session
    rows = {(c.person_id, c.date): c for c in s.scalars(select(m.CallAssignment).where(
        m.CallAssignment.date >= staged.first_date, m.CallAssignment.date <= staged.last_date,
        m.CallAssignment.person_id.in_({c.person_id for c in calls})))}
    done: list[tuple[Any, dict[str, Any] | None]] = []
    inserts: list[dict[str, Any]] = []
    for cc in calls:
        row = rows.get((cc.person_id, cc.date))
        live = row is not None and not row.deleted
        now = (row.call_type, row.service, row.hours_worked) if row is not None and live else None
        if now != cc.before:
            raise ConflictError(f"{cc.person_name}'s call on {cc.date:%d %b} changed since the preview; preview "
                                "the import again. Nothing was changed.")
        if cc.after is None:
            if row is not None and live:
                done.append((row, row_image(row)))
                row.deleted = True
        elif row is None:
            values = {"id": m.new_id(), "person_id": cc.person_id, "date": cc.date, "call_type": cc.after[0],
                      "service": cc.after[1], "hours_worked": cc.after[2], "source": "manual", "version": 0,
                      "deleted": False}
            inserts.append(values)
            done.append((m.CallAssignment(**values), None))
        else:
            done.append((row, row_image(row)))
            row.deleted, row.call_type, row.service = False, cc.after[0], cc.after[1]
            row.hours_worked, row.source = cc.after[2], "manual"
    s.flush()
    if inserts:
        s.execute(insert(m.CallAssignment), inserts)
    for row, before in done:
        work.record_external(row, before)


def apply_import(
    ctx: ServiceContext,
    staged: StagedImport,
    *,
    reason: str | None = None,
    min_confidence: float = 0.0,
    progress: Callable[[float, str], None] | None = None,
) -> Result[ImportOutcome]:
    """Write the staged changes in one transaction (one audited, undoable edit).

    Refuses, changing nothing, when the schedule changed since the preview or when a change falls
    inside the freeze horizon without a reason. Changes below `min_confidence` are left out.
    """
    slots = [c for c in staged.slot_changes if c.confidence >= min_confidence]
    calls = [c for c in staged.call_changes if c.confidence >= min_confidence]
    skipped = staged.change_count - len(slots) - len(calls)
    if not slots and not calls:
        return Result(ImportOutcome(0, 0, skipped), ChangeSet("import_xlsx"))

    def run(work: Work) -> ImportOutcome:
        _check_freeze(work, staged.program_id, [c.date for c in slots] + [c.date for c in calls], reason)
        _apply_slots(work, staged, slots, reason)
        if progress is not None:
            progress(0.8, "Importing calls")
        _apply_calls(work, staged, calls)
        return ImportOutcome(len(slots), len(calls), skipped)

    return ctx.write("import_xlsx", run, reason=reason, entity="assignment",
                     detail={"file": staged.file_name, "slots": len(slots), "calls": len(calls)})
