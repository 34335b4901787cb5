"""Import people from a CSV file or an .xlsx workbook (the new-program wizard's last step).

The first row names the columns (any order, any case; spaces or dashes count as underscores):

    name                    required
    kind                    resident | faculty | staff; may be left out when a PGY level is given
    pgy                     1-8, residents only
    faculty_role            pd | apd | core | adjunct | specialist (faculty only)
    clinic_cap_per_week     0-10 half-days
    email

Other columns (e.g. `id`, `group`, `archived` of `rsched export-csv people`) are ignored, so a people
export of another program can be read back. Every problem is collected with its line number and
reported as one `ValidationError` before anything is written; `import_people` then creates the
people through `core.services.people.create_person`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.services import people as people_service
from core.services.base import ServiceContext
from core.services.records import PersonRecord

MAX_FILE_BYTES = 5 * 2**20
MAX_PEOPLE = 2000
MAX_PROBLEMS_SHOWN = 8
COLUMNS = ("name", "kind", "pgy", "faculty_role", "clinic_cap_per_week", "email")
ALIASES = {"full_name": "name", "type": "kind", "pgy_level": "pgy", "role": "faculty_role",
           "clinic_cap": "clinic_cap_per_week", "e_mail": "email"}


@dataclass(frozen=True)
class PersonRow:
    line: int  # 1 = the header row
    name: str
    kind: str
    pgy: int | None
    faculty_role: str | None
    clinic_cap_per_week: int | None
    email: str | None


def _column(header: Any) -> str:
    key = str(header or "").strip().lower().replace(" ", "_").replace("-", "_").lstrip("\ufeff")
    return ALIASES.get(key, key)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _number(value: str, what: str, low: int, high: int, problems: list[str], line: int) -> int | None:
    if not value:
        return None
    try:
        number = int(float(value))
    except ValueError:
        problems.append(f"line {line}: {what} {value!r} is not a number")
        return None
    if not low <= number <= high or float(value) != number:
        problems.append(f"line {line}: {what} must be a whole number from {low} to {high}, not {value}")
        return None
    return number


def parse_rows(rows: Sequence[Sequence[Any]], *, name: str = "The file") -> list[PersonRow]:
    """The people of a table (its first row the header); raise ValidationError listing the problems."""
    table = [list(r) for r in rows if any(_text(v) for v in r)]
    if not table:
        raise ValidationError(f"{name} is empty; nobody was imported.", field="file")
    header = [_column(h) for h in table[0]]
    if "name" not in header:
        raise ValidationError(f"{name} has no 'name' column in its first row (found: "
                              f"{', '.join(h for h in header if h) or 'nothing'}).", field="file")
    if len(table) - 1 > MAX_PEOPLE:
        raise ValidationError(f"{name} lists {len(table) - 1} people; at most {MAX_PEOPLE} can be imported at once.",
                              field="file")
    index = {c: header.index(c) for c in COLUMNS if c in header}
    out: list[PersonRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(table[1:], start=2):
        def cell(column: str, raw: list[Any] = raw) -> str:
            i = index.get(column)
            return _text(raw[i]) if i is not None and i < len(raw) else ""

        before = len(problems)
        person = cell("name")
        if not person:
            problems.append(f"line {number}: the name is empty")
        elif person.lower() in seen:
            problems.append(f"line {number}: {person} is listed twice (also line {seen[person.lower()]})")
        else:
            seen[person.lower()] = number
        pgy = _number(cell("pgy"), "the PGY level", 1, 8, problems, number)
        kind = cell("kind").lower() or ("resident" if pgy is not None else "")
        if kind not in people_service.KINDS:
            problems.append(f"line {number}: the kind must be one of {', '.join(people_service.KINDS)}"
                            + (f", not {kind!r}" if kind else " (it is empty)"))
        elif kind == "resident" and pgy is None and not any(p.startswith(f"line {number}: the PGY") for p in problems):
            problems.append(f"line {number}: a resident needs a PGY level from 1 to 8")
        elif kind != "resident" and pgy is not None:
            problems.append(f"line {number}: only residents have a PGY level")
        role = cell("faculty_role").lower() or None
        if role is not None and (kind != "faculty" or role not in people_service.FACULTY_ROLES):
            problems.append(f"line {number}: the faculty role must be one of "
                            f"{', '.join(people_service.FACULTY_ROLES)} (faculty only), not {role!r}")
        cap = _number(cell("clinic_cap_per_week"), "the weekly clinic cap", 0, 10, problems, number)
        if len(problems) == before:
            out.append(PersonRow(number, person, kind, pgy, role, cap, cell("email") or None))
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise ValidationError(f"{name} cannot be imported: {shown}{more}. Nothing was imported.", field="file")
    if not out:
        raise ValidationError(f"{name} lists nobody below its header row; nobody was imported.", field="file")
    return out


def read_people(path: Path) -> list[PersonRow]:
    """The people listed in a .csv or .xlsx file."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise ValidationError(f"{path.name} is not a CSV file or an Excel workbook (.csv or .xlsx).", field="file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValidationError(f"{path} cannot be read ({exc.strerror or exc}).", field="file") from exc
    if size > MAX_FILE_BYTES:
        raise ValidationError(f"{path.name} is {size // 2**20} MB; a list of people is at most "
                              f"{MAX_FILE_BYTES // 2**20} MB.", field="file")
    if suffix == ".csv":
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        try:
            dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        return parse_rows(list(csv.reader(io.StringIO(text), dialect)), name=path.name)
    from core.io.staging import read_workbook

    sheets = [s for s in read_workbook(path) if not s.hidden and s.cells]
    if not sheets:
        raise ValidationError(f"{path.name} has no sheet with any cells; nobody was imported.", field="file")
    cells = sheets[0].cells
    rows_n = max(r for r, _ in cells)
    cols_n = max(c for _, c in cells)
    first_row, first_col = min(r for r, _ in cells), min(c for _, c in cells)
    table = [[cells.get((r, c)) for c in range(first_col, cols_n + 1)] for r in range(first_row, rows_n + 1)]
    return parse_rows(table, name=f"{path.name} (sheet {sheets[0].name})")


def import_people(ctx: ServiceContext, program_id: str, academic_year: int,
                  rows: Sequence[PersonRow]) -> list[PersonRecord]:
    """Create the people (residents with their PGY level in `academic_year`)."""
    return [
        people_service.create_person(
            ctx, program_id, r.name, r.kind, academic_year=academic_year if r.kind == "resident" else None,
            pgy=r.pgy, faculty_role=r.faculty_role, clinic_cap_per_week=r.clinic_cap_per_week, email=r.email,
        ).value
        for r in rows
    ]
