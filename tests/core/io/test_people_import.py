"""core.io.people_import: people from CSV or .xlsx, every problem with its line number."""

from __future__ import annotations

import pytest

from core.errors import ValidationError
from core.io.people_import import import_people, parse_rows, read_people


def test_csv_with_semicolons_bom_and_aliases(tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes("\ufeffFull Name;Type;PGY;Role;Clinic cap;Email\nAda;resident;2;;;\nJo;faculty;;pd;3;jo@x.org\n"
                  .encode("utf-8"))
    rows = read_people(f)
    assert [(r.line, r.name, r.kind, r.pgy, r.faculty_role, r.clinic_cap_per_week, r.email) for r in rows] == [
        (2, "Ada", "resident", 2, None, None, None), (3, "Jo", "faculty", None, "pd", 3, "jo@x.org")]


def test_xlsx_first_sheet_shifted(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws["B3"], ws["C3"], ws["D3"] = "name", "kind", "pgy"
    ws["B4"], ws["C4"], ws["D4"] = "Ada", "resident", 1
    ws["B5"], ws["C5"] = "Sam", "staff"
    wb.save(tmp_path / "p.xlsx")
    rows = read_people(tmp_path / "p.xlsx")
    assert [(r.name, r.kind, r.pgy) for r in rows] == [("Ada", "resident", 1), ("Sam", "staff", None)]


def test_every_problem_is_listed_with_its_line():
    with pytest.raises(ValidationError) as e:
        parse_rows([["name", "kind", "pgy", "clinic_cap_per_week"], ["Ada", "resident", ""], ["", "staff", ""],
                    ["Bo", "faculty", "2"], ["ada", "resident", "1"], ["Cy", "resident", "9"],
                    ["Di", "staff", "", "eleven"]], name="people.csv")
    text = str(e.value)
    for part in ("people.csv cannot be imported", "line 2: a resident needs a PGY level", "line 3: the name is empty",
                 "line 4: only residents have a PGY level", "line 5: ada is listed twice (also line 2)",
                 "line 6: the PGY level must be a whole number from 1 to 8", "line 7: the weekly clinic cap",
                 "Nothing was imported"):
        assert part in text


@pytest.mark.parametrize("rows, words", [
    ([], "is empty"), ([["who", "kind"], ["Ada", "staff"]], "no 'name' column"), ([["name"]], "lists nobody"),
    ([["name", "kind"]], "lists nobody")])
def test_unusable_tables(rows, words):
    with pytest.raises(ValidationError, match=words):
        parse_rows(rows)


def test_other_file_types_are_refused(tmp_path):
    f = tmp_path / "people.txt"
    f.write_text("name\nAda\n")
    with pytest.raises(ValidationError, match="not a CSV file or an Excel workbook"):
        read_people(f)


def test_import_creates_people_in_the_program(engine):
    from core.services import people, programs
    from core.services.base import ServiceContext

    ctx = ServiceContext(engine, actor="t")
    program = programs.create_program(ctx, "P", start_year=2026, layout="13x28").value
    made = import_people(ctx, program.id, 2026, parse_rows([["name", "pgy"], ["Ada", "1"], ["Bo", "2"]]))
    assert [(p.name, p.pgy) for p in made] == [("Ada", 1), ("Bo", 2)]
    assert sorted(p.name for p in people.list_people(ctx, program.id, 2026)) == ["Ada", "Bo"]
