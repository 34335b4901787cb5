"""Fuzz: seeded mutations of a workbook's bytes and cells. Each mutated workbook either imports or is
refused with a clear message, and a refused one leaves the database file byte-identical."""

from __future__ import annotations

import datetime as dt
import io
import random
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.errors import ValidationError
from core.io.excel import export_blocks
from core.io.grid import load_year
from core.io.staging import apply_import, stage_workbook
from core.services.undo import undo
from tests.helpers.io_program import database_bytes, program_copy, snapshot_rows


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:  # flip a few bytes anywhere
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= rng.randint(1, 255)
    elif kind == 1:  # cut the file
        del b[rng.randrange(len(b)):]
    elif kind == 2:  # insert junk
        pos = rng.randrange(len(b))
        b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:  # damage the central directory at the end
        for _ in range(rng.randint(1, 4)):
            b[len(b) - 1 - rng.randrange(min(200, len(b)))] ^= rng.randint(1, 255)
    return bytes(b)


def _mutate_cells(rng: random.Random, data: bytes, codes: list[str], names: list[str]) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    for _ in range(rng.randint(1, 4)):
        try:
            _one_cell_mutation(rng, wb, ws, codes, names)
        except AttributeError:
            pass  # the cell is covered by a merge: openpyxl will not write it
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _one_cell_mutation(rng: random.Random, wb, ws, codes: list[str], names: list[str]) -> None:  # noqa: C901
    if True:
        kind = rng.randrange(12)
        r, c = rng.randint(1, ws.max_row + 2), rng.randint(1, ws.max_column + 2)
        if kind == 0:
            ws.cell(r, c).value = rng.choice(codes)
        elif kind == 1:
            ws.cell(r, c).value = rng.choice(["ZZZ", "w", "clinic", "Didactics", "?", "1", "N/A", "-", "@x"])
        elif kind == 2:
            ws.cell(r, c).value = None
        elif kind == 3:
            ws.cell(r, c).value = rng.choice([3.5, 42, dt.datetime(2026, 7, rng.randint(1, 28)), True])
        elif kind == 4:
            ws.cell(r, c).value = rng.choice(["=1+1", "=SUM(C7:D7)", '=HYPERLINK("x")'])
        elif kind == 5:
            ws.cell(r, c).value = "x" * rng.randint(100, 5000)
        elif kind == 6:
            name = rng.choice(names)
            ws.cell(rng.randint(5, ws.max_row), 1).value = rng.choice(
                [name, name.upper(), name[:-1], "Dr Who Knows", name.split()[-1] + ", " + name.split()[1]])
        elif kind == 7:
            r2, c2 = r + rng.randint(0, 2), c + rng.randint(0, 3)
            try:
                ws.merge_cells(start_row=r, start_column=c, end_row=r2, end_column=c2)
            except ValueError:
                pass
        elif kind == 8:
            ws.insert_cols(rng.randint(1, 5), rng.randint(1, 2))
        elif kind == 9:
            ws.delete_rows(rng.randint(1, 8), 1)
        elif kind == 10:
            meta = wb["_meta"] if "_meta" in wb.sheetnames else ws
            meta.cell(rng.randint(1, 9), 2).value = rng.choice(["x", 2031, "Other FM", "", None])
        else:
            ws.cell(3, rng.randrange(3, 59)).value = rng.choice(["Feb 30", "13/45/2026", "7/4", None, "garbage"])


def _clear(message: str) -> bool:
    return 10 < len(message) < 600 and "Traceback" not in message and message.rstrip().endswith(".")


def run_fuzz(tmp_path: Path, cases: int, seed: int) -> dict[str, int]:
    path, ctx = program_copy(tmp_path / "fuzz.sqlite", n_residents=6, n_faculty=3, cache_dir=tmp_path)
    try:
        data = load_year(ctx)
        base = export_blocks(data, [1])
        codes = [a.code for a in data.activities]
        names = [p.name for p in data.people]
        original = snapshot_rows(ctx)
        rng = random.Random(seed)
        outcome = {"imported": 0, "refused": 0}
        for i in range(cases):
            payload = _mutate_bytes(rng, base) if rng.random() < 0.4 else _mutate_cells(rng, base, codes, names)
            before = database_bytes(path)
            try:
                staged = stage_workbook(ctx, payload, file_name=f"case{i}.xlsx")
                result = apply_import(ctx, staged, reason="fuzz")
            except ValidationError as exc:
                assert _clear(str(exc)), f"case {i}: unclear message {exc!s:.300}"
                assert database_bytes(path) == before, f"case {i}: refused but the database changed"
                outcome["refused"] += 1
                continue
            outcome["imported"] += 1
            if not result.changes.empty:
                undo(ctx, result.changes)
            assert snapshot_rows(ctx) == original, f"case {i}: undo did not restore the schedule"
        return outcome
    finally:
        ctx.engine.dispose()


def test_fuzz_30_mutated_workbooks(tmp_path: Path) -> None:
    outcome = run_fuzz(tmp_path, 30, seed=8)
    assert outcome["imported"] > 0 and outcome["refused"] > 0


@pytest.mark.slow
def test_fuzz_500_mutated_workbooks(tmp_path: Path) -> None:
    outcome = run_fuzz(tmp_path, 500, seed=2026)
    assert outcome["imported"] + outcome["refused"] == 500
    assert outcome["imported"] > 50 and outcome["refused"] > 50
