"""`rsched export ...` and `rsched import xlsx ...`."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.cli import main
from tests.helpers.io_program import database_bytes, program_copy


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path, ctx = program_copy(tmp_path / "p.sqlite", n_residents=3, n_faculty=2, cache_dir=tmp_path)
    ctx.engine.dispose()
    return path


def test_exports(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "xlsx", "--db", str(db), "--out", str(tmp_path / "b.xlsx"), "--block", "2"]) == 0
    assert load_workbook(tmp_path / "b.xlsx").sheetnames == ["Block 2", "Legend", "_meta"]
    assert main(["export", "xlsx", "--db", str(db), "--out", str(tmp_path / "p.xlsx"), "--person", "dr ana okafor"]) == 0
    assert main(["export", "csv", "calls", "--db", str(db), "--out", str(tmp_path / "c.csv")]) == 0
    assert main(["export", "ics", "--db", str(db), "--out", str(tmp_path / "w.ics"), "--service", "W",
                 "--from", "2026-07-01", "--to", "2026-07-31"]) == 0
    assert "events (" in capsys.readouterr().out
    assert (tmp_path / "w.ics.state.json").exists()
    assert main(["export", "pdf"]) == 2
    assert "python -m desktop.io.pdf" in capsys.readouterr().err
    assert main(["export", "xlsx", "--db", str(db), "--out", str(tmp_path / "x.xlsx"), "--person", "Nobody"]) == 2
    assert "Nobody called Nobody" in capsys.readouterr().err


def test_import_dry_run_then_apply(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.xlsx"
    assert main(["export", "xlsx", "--db", str(db), "--out", str(out), "--block", "5"]) == 0
    wb = load_workbook(out)
    ws = wb["Block 5"]
    ws["C7"] = "ELEC" if ws["C7"].value != "ELEC" else "W"
    ws["D7"] = "BOGUS"
    wb.save(out)
    before = database_bytes(db)
    assert main(["import", "xlsx", str(out), "--db", str(db), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "1 slot change(s)" in captured.out and "D7 'BOGUS': no activity" in captured.out
    assert "nothing was changed" in captured.err
    assert database_bytes(db) == before
    assert main(["import", "xlsx", str(out), "--db", str(db), "--reason", "chief's edits"]) == 0
    assert "Imported 1 slot change(s)" in capsys.readouterr().err
    assert database_bytes(db) != before


def test_import_refuses_a_bad_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    before = database_bytes(db)
    assert main(["import", "xlsx", str(bad), "--db", str(db)]) == 2
    assert "bad.xlsx cannot be imported: it is not an Excel workbook" in capsys.readouterr().err
    assert database_bytes(db) == before
