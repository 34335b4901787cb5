"""The block workbook's shape: headers, call rows, groups, colours, shading, panes, legend, metadata."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.io.excel import export_blocks, export_person, export_year
from core.io.grid import load_year
from core.services import people
from tests.helpers.io_program import program_copy


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("io-cache")


@pytest.fixture
def small(tmp_path: Path, cache: Path):
    path, ctx = program_copy(tmp_path / "small.sqlite", n_residents=6, n_faculty=3, cache_dir=cache)
    yield ctx
    ctx.engine.dispose()


def test_block_sheet_layout(small) -> None:
    data = load_year(small)
    wb = load_workbook(io.BytesIO(export_blocks(data, [2])))
    assert wb.sheetnames == ["Block 2", "Legend", "_meta"]
    ws = wb["Block 2"]
    block = data.block(2)
    assert ws["C2"].value == ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[block.start.weekday()]
    assert ws["C3"].value.date() == block.start
    assert [ws.cell(4, c).value for c in range(1, 7)] == ["Name", "Group", "AM", "PM", "AM", "PM"]
    assert ws["A5"].value == "Faculty call" and ws["A6"].value == "Resident call"
    assert ws.freeze_panes == "C7"
    assert "C2:D2" in {str(r) for r in ws.merged_cells.ranges}
    groups = [ws.cell(r, 2).value for r in range(7, 7 + 9)]
    assert groups == ["PGY-3"] * 2 + ["PGY-2"] * 2 + ["PGY-1"] * 2 + ["Faculty"] * 3
    # Two columns per day over the whole block.
    assert ws.cell(3, 3 + 2 * (block.end - block.start).days).value.date() == block.end
    # The faculty on call on the first night, in the merged call cell.
    first_call = [c for c in data.calls if c.date == block.start and data.person_by_id[c.person_id].kind == "faculty"]
    assert ws["C5"].value == data.person_by_id[first_call[0].person_id].name
    # Cells are coloured by activity; weekends are shaded.
    codes = {a.code: a for a in data.activities}
    cell = ws.cell(7, 3)
    assert cell.fill.start_color.rgb[-6:].lower() == codes[cell.value].colour[1:].lower()
    weekend_col = next(3 + 2 * i for i in range(28) if (block.start + dt.timedelta(days=i)).weekday() == 5)
    assert ws.cell(2, weekend_col).fill.start_color.rgb.endswith("E4E4E4")
    meta = {wb["_meta"].cell(r, 1).value: wb["_meta"].cell(r, 2).value for r in range(1, 12)}
    assert wb["_meta"].sheet_state == "hidden"
    assert meta["program"] == data.program.name and meta["academic_year"] == 2026 and meta["blocks"] == "2"
    assert len(meta["checksum"]) == 64 and meta["exported_at"]
    legend = wb["Legend"]
    assert {legend.cell(r, 1).value for r in range(2, 2 + len(codes))} == set(codes)


def test_holidays_are_shaded_and_named(small) -> None:
    data = load_year(small)
    wb = load_workbook(io.BytesIO(export_blocks(data, [1])))
    ws = wb["Block 1"]
    july4 = 3 + 2 * (dt.date(2026, 7, 3) - data.block(1).start).days  # observed on Friday Jul 3
    assert "Independence Day" in ws.cell(2, july4).value
    assert ws.cell(2, july4).fill.start_color.rgb.endswith("F6D7A7")


def test_full_year_and_person_workbooks(small) -> None:
    data = load_year(small)
    wb = load_workbook(io.BytesIO(export_year(data)))
    assert wb.sheetnames == [f"Block {n}" for n in range(1, 14)] + ["Legend", "_meta"]
    person = data.people[0]
    wbp = load_workbook(io.BytesIO(export_person(data, person.id)))
    ws = wbp.worksheets[0]
    assert ws.max_row == 2 + 365
    mine = {(a.date, a.slot): data.activity_by_id[a.activity_id].code for a in data.assignments
            if a.person_id == person.id}
    got = {(ws.cell(r, 2).value.date(), s): ws.cell(r, 4 + s).value for r in range(3, ws.max_row + 1)
           for s in (0, 1) if ws.cell(r, 4 + s).value}
    assert got == mine


def test_text_that_looks_like_a_formula_stays_text(small, tmp_path: Path) -> None:
    prog = load_year(small).program
    people.create_person(small, prog.id, '=HYPERLINK("http://evil","x")', "faculty")
    people.create_person(small, prog.id, "@SUM(1)", "faculty")
    data = load_year(small)
    payload = export_blocks(data, [1])
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    ws = load_workbook(io.BytesIO(payload))["Block 1"]
    names = {ws.cell(r, 1).value: ws.cell(r, 1) for r in range(7, ws.max_row + 1)}
    for text in ('=HYPERLINK("http://evil","x")', "@SUM(1)"):
        assert names[text].data_type == "s" and names[text].quotePrefix
    # The activity code "+C" is text too.
    assert any(ws.cell(r, c).value == "+C" and ws.cell(r, c).data_type == "s"
               for r in range(7, ws.max_row + 1) for c in range(3, 59))
