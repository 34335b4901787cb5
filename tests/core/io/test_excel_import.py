"""Excel import: round trip, a hand-made workbook, preview, one-transaction apply, undo, bad files."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.errors import ConflictError, ValidationError
from core.io.excel import export_blocks, export_year
from core.io.grid import load_year
from core.io.staging import MAX_ROWS, apply_import, stage_workbook
from core.services.schedule import ReasonRequired, SlotEdit, assign_slots
from core.services.undo import undo
from core.store import models as m
from tests.helpers.io_program import database_bytes, demo_or_fixture, program_copy, snapshot_rows


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("io-cache")


@pytest.fixture
def small(tmp_path: Path, cache: Path):
    path, ctx = program_copy(tmp_path / "small.sqlite", n_residents=6, n_faculty=3, cache_dir=cache)
    yield path, ctx
    ctx.engine.dispose()


@pytest.fixture
def small_empty(tmp_path: Path, cache: Path):
    path, ctx = program_copy(tmp_path / "empty.sqlite", fill=False, n_residents=6, n_faculty=3, cache_dir=cache)
    yield path, ctx
    ctx.engine.dispose()


def _count(ctx, model) -> int:
    return ctx.read(lambda s: s.scalar(select(func.count()).select_from(model)))


def test_round_trip_of_a_block_into_a_fresh_program(small, small_empty) -> None:
    _, src = small
    _, dst = small_empty
    payload = export_blocks(load_year(src), [1])
    staged = stage_workbook(dst, payload, file_name="blocks.xlsx")
    assert staged.unmatched == () and staged.exported_unchanged is True
    assert all(c.confidence == 1.0 for c in staged.slot_changes)
    outbox_before = _count(dst, m.OutboxRecord)
    result = apply_import(dst, staged, reason="import from the chief's workbook")
    a_src, c_src = snapshot_rows(src)
    a_dst, c_dst = snapshot_rows(dst)
    last = load_year(src).block(1).end
    assert a_dst == {a for a in a_src if a[1] <= last}
    assert c_dst == {c for c in c_src if c[1] <= last}
    assert result.value.slots_changed == len(a_dst) and result.value.calls_changed == len(c_dst)
    # One audited edit; one outbox record per row; the ChangeSet undoes the whole import.
    events = dst.read(lambda s: s.scalars(select(m.AuditEvent.action).order_by(m.AuditEvent.seq.desc())).first())
    assert events == "import_xlsx"
    assert _count(dst, m.OutboxRecord) - outbox_before == len(result.changes.rows)
    undo(dst, result.changes)
    assert snapshot_rows(dst) == (set(), set())
    # Importing again revives the tombstoned rows (the unique keys include deleted rows).
    again = apply_import(dst, stage_workbook(dst, payload), reason="again")
    assert snapshot_rows(dst) == (a_dst, c_dst)
    assert all(rc.before is not None and rc.before["deleted"] for rc in again.changes.rows)
    assert stage_workbook(dst, payload).change_count == 0


def test_reimport_of_unchanged_export_changes_nothing(small) -> None:
    _, ctx = small
    staged = stage_workbook(ctx, export_blocks(load_year(ctx), [3]))
    assert staged.change_count == 0 and staged.cells_unchanged > 0 and staged.unmatched == ()
    result = apply_import(ctx, staged)
    assert result.changes.empty


def test_edited_cell_is_one_change_and_undo_restores(small) -> None:
    _, ctx = small
    data = load_year(ctx)
    wb = load_workbook(io.BytesIO(export_blocks(data, [4])))
    ws = wb["Block 4"]
    ws["C7"] = "LEC" if ws["C7"].value != "LEC" else "W"
    ws["E8"] = None
    buf = io.BytesIO()
    wb.save(buf)
    before = snapshot_rows(ctx)
    staged = stage_workbook(ctx, buf.getvalue())
    assert staged.exported_unchanged is False
    assert len(staged.slot_changes) == (2 if load_year(ctx) and _had(ctx, staged, "E8") else 1)
    result = apply_import(ctx, staged, reason="edit")
    assert snapshot_rows(ctx) != before
    undo(ctx, result.changes)
    assert snapshot_rows(ctx) == before


def _had(ctx, staged, ref: str) -> bool:
    return any(c.cell == ref for c in staged.slot_changes)


def _hand_made(data, *, shift: int = 2) -> bytes:
    """A workbook typed by hand: other title rows, columns shifted, names and codes written loosely."""
    wb = Workbook()
    ws = wb.active
    ws.title = "My schedule"
    ws["A1"] = "Chief's copy - do not share"
    block = data.block(1)
    base = 2 + shift  # the first day column
    ws.cell(3, shift, "Resident")
    for i in range(7):
        day = block.start + dt.timedelta(days=i)
        ws.cell(3, base + 2 * i, f"{day.month}/{day.day}/{day.year}")
        ws.cell(4, base + 2 * i, "am")
        ws.cell(4, base + 2 * i + 1, "PM")
    residents = [p for p in data.people if p.kind == "resident"]
    first, second = residents[0], residents[1]
    last_first = f"{first.name.split()[-1]}, {' '.join(first.name.split()[1:-1])}"  # "Okafor, Ana"
    typo = second.name[:-2] + second.name[-1]  # one letter dropped
    ws.cell(5, shift, last_first)
    ws.cell(6, shift, typo)
    ws.cell(7, shift, "Dr Nobody Atall")
    for i in range(7):
        ws.cell(5, base + 2 * i, "w")  # lower case code
        ws.cell(5, base + 2 * i + 1, "Didactics")  # the activity's name
        ws.cell(6, base + 2 * i, "ELEC")
        ws.cell(7, base + 2 * i, "W")
    ws.cell(6, base + 1, "XYZ")  # unknown code
    ws.cell(5, base + 20, "stray")  # no date above
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_hand_made_workbook_with_shifted_columns_and_fuzzy_names(small) -> None:
    _, ctx = small
    data = load_year(ctx)
    staged = stage_workbook(ctx, _hand_made(data))
    residents = [p for p in data.people if p.kind == "resident"]
    matched = {n.text: (n.person_id, n.confidence) for n in staged.names}
    assert [v[0] for v in matched.values()][:2] == [residents[0].id, residents[1].id]
    assert 0.85 <= min(v[1] for v in list(matched.values())[:2]) < 1
    reasons = {u.cell: u.reason for u in staged.unmatched}
    assert "no person matches" in reasons["B7"]
    assert "no activity" in reasons["E6"]
    assert "no date" in reasons["X5"]
    # Every filled cell of the unknown person's row is listed.
    assert sum(1 for u in staged.unmatched if u.cell.endswith("7") and u.cell != "B7") == 7
    changes = {(c.person_id, c.date, c.slot): c for c in staged.slot_changes}
    start = data.block(1).start
    first = changes.get((residents[0].id, start, 1))
    if first is not None:
        assert first.after_code == "LEC" and first.confidence < 1
    # The unknown code leaves that slot alone; the other slots of the week follow the sheet.
    assert (residents[1].id, start, 1) not in changes
    result = apply_import(ctx, staged, reason="hand import")
    got = {(a.person_id, a.date, a.slot): a.activity_id for a in load_year(ctx).assignments}
    codes = {a.code: a.id for a in data.activities}
    assert all(got[(residents[0].id, start + dt.timedelta(days=i), 0)] == codes["W"] for i in range(7))
    assert all(got[(residents[1].id, start + dt.timedelta(days=i), 0)] == codes["ELEC"] for i in range(7))
    assert result.value.slots_changed == len(staged.slot_changes)


def test_conflict_since_preview_changes_nothing(small) -> None:
    path, ctx = small
    data = load_year(ctx)
    staged = stage_workbook(ctx, _hand_made(data))
    person = [p for p in data.people if p.kind == "resident"][0]
    wards = next(a.id for a in data.activities if a.code == "PEDS")
    assign_slots(ctx, [SlotEdit(person.id, data.block(1).start, 0, wards)], reason="late change")
    before = database_bytes(path)
    with pytest.raises(ConflictError, match="changed since the preview"):
        apply_import(ctx, staged, reason="x")
    assert database_bytes(path) == before


def test_freeze_horizon_needs_a_reason(small) -> None:
    _, ctx = small
    ctx.clock = lambda: dt.datetime(2026, 7, 2, 12, tzinfo=dt.UTC)
    staged = stage_workbook(ctx, _hand_made(load_year(ctx)))
    with pytest.raises(ReasonRequired):
        apply_import(ctx, staged)


# ------------------------------------------------------------------------------------ bad files
def _mutated(data, fn) -> bytes:
    wb = load_workbook(io.BytesIO(export_blocks(data, [1])))
    fn(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _formula(wb) -> None:
    wb["Block 1"]["C7"] = "=1+1"


def _merge(wb) -> None:
    wb["Block 1"].merge_cells("C7:C8")


def _wrong_program(wb) -> None:
    wb["_meta"]["B4"], wb["_meta"]["B5"] = "other-id", "Another Program"


def _wrong_year(wb) -> None:
    ws = wb["Block 1"]
    for c in range(3, 59, 2):
        ws.cell(3, c).value = ws.cell(3, c).value.replace(year=2030)
    wb["_meta"]["B6"] = 2030


def _huge(wb) -> None:
    wb["Block 1"].cell(MAX_ROWS + 5, 3, "W")


def _no_grid(wb) -> None:
    wb["Block 1"].delete_rows(3, 2)


BAD = {
    "formula": (_formula, "formula"),
    "merged person cells": (_merge, "merged cells at C7:C8"),
    "wrong program": (_wrong_program, "exported from the program 'Another Program'"),
    "wrong year": (_wrong_year, "not inside one academic year"),
    "huge sheet": (_huge, "the limit is 2000 x"),
    "no grid": (_no_grid, "no sheet holds a schedule grid"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_workbooks_are_refused_and_change_nothing(small, case: str) -> None:
    path, ctx = small
    fn, message = BAD[case]
    payload = _mutated(load_year(ctx), fn)
    before = database_bytes(path)
    with pytest.raises(ValidationError, match=message) as err:
        stage_workbook(ctx, payload, file_name="chief.xlsx")
    assert str(err.value).startswith("chief.xlsx cannot be imported") or "Nothing was changed" in str(err.value)
    assert database_bytes(path) == before


@pytest.mark.parametrize("payload, message", [
    (b"Name,AM,PM\nDr Lee,C,C\n", "not an Excel workbook"),
    (b"PK\x03\x04" + b"\x00" * 200, "not an Excel workbook"),
])
def test_files_that_are_not_workbooks(small, payload: bytes, message: str) -> None:
    path, ctx = small
    before = database_bytes(path)
    with pytest.raises(ValidationError, match=message):
        stage_workbook(ctx, payload, file_name="x.xlsx")
    assert database_bytes(path) == before


def test_damaged_zip_is_refused(small) -> None:
    path, ctx = small
    good = export_blocks(load_year(ctx), [1])
    damaged = good[: len(good) // 2] + bytes(b ^ 0x5A for b in good[len(good) // 2: len(good) // 2 + 64]) \
        + good[len(good) // 2 + 64:]
    before = database_bytes(path)
    with pytest.raises(ValidationError, match="cannot be imported"):
        stage_workbook(ctx, damaged, file_name="damaged.xlsx")
    with pytest.raises(ValidationError, match="cannot be imported"):
        stage_workbook(ctx, good[:-100], file_name="cut.xlsx")
    assert database_bytes(path) == before


@pytest.mark.slow
def test_full_year_round_trip_of_the_typical_program(tmp_path: Path, cache: Path) -> None:
    """Done means: the full year exported and imported into a program with the same people and
    activities gives identical assignments and calls (0 cells lost or changed)."""
    _, src, _kind = demo_or_fixture(tmp_path / "src.sqlite", cache)
    _, dst, _ = demo_or_fixture(tmp_path / "dst.sqlite", cache, empty=True)
    try:
        year = load_year(src)
        staged = stage_workbook(dst, export_year(year), file_name="year.xlsx")
        assert staged.unmatched == ()
        apply_import(dst, staged, reason="round trip")
        a_src, c_src = snapshot_rows(src)
        a_dst, c_dst = snapshot_rows(dst)
        inside = lambda rows: {r for r in rows if year.year.start <= r[1] <= year.year.end}  # noqa: E731
        assert len(inside(a_src)) > 10_000
        assert a_dst == inside(a_src)
        assert c_dst == inside(c_src)
    finally:
        src.engine.dispose()
        dst.engine.dispose()


def test_zip_with_an_unknown_version_is_refused(small) -> None:
    """Found by the 500-case fuzz: zipfile raised NotImplementedError ('zip file version 10.7')."""
    import struct

    path, ctx = small
    good = bytearray(export_blocks(load_year(ctx), [1]))
    cd = good.find(b"PK\x01\x02")  # first central directory entry; extract version at offset 6
    struct.pack_into("<H", good, cd + 6, 107)
    before = database_bytes(path)
    with pytest.raises(ValidationError, match="damaged"):
        stage_workbook(ctx, bytes(good), file_name="odd.xlsx")
    assert database_bytes(path) == before
