"""CSV exports: every table reads back with the csv module; formula-like text is neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.io.csv_io import export_csv, safe
from core.io.grid import load_year
from core.services import absences, people
from tests.helpers.io_program import program_copy


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("csv")
    _path, ctx = program_copy(d / "small.sqlite", n_residents=3, n_faculty=2, cache_dir=d)
    prog = load_year(ctx).program
    who = people.create_person(ctx, prog.id, "=cmd|' /C calc'!A0", "faculty").value
    absences.request_absence(ctx, who.id, "vacation", dt.date(2026, 8, 3), dt.date(2026, 8, 7))
    yield ctx
    ctx.engine.dispose()


def _rows(payload: bytes) -> list[dict[str, str]]:
    assert payload.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(payload.decode("utf-8-sig"))))


def test_people_and_formula_injection(small) -> None:
    rows = _rows(export_csv(small, load_year(small), "people"))
    assert len(rows) == 6
    assert "'=cmd|' /C calc'!A0" in {r["name"] for r in rows}
    assert safe("-1") == "'-1" and safe(-1) == -1 and safe("@x") == "'@x"


def test_assignments_and_calls_match_the_schedule(small) -> None:
    data = load_year(small)
    rows = _rows(export_csv(small, data, "assignments"))
    assert len(rows) == len(data.assignments)
    assert {(r["date"], r["slot"], r["person_id"], r["code"].lstrip("'")) for r in rows} == {
        (a.date.isoformat(), ("AM", "PM")[a.slot], a.person_id, data.activity_by_id[a.activity_id].code)
        for a in data.assignments}
    calls = _rows(export_csv(small, data, "calls"))
    assert len(calls) == len(data.calls)


def test_absences(small, tmp_path: Path) -> None:
    out = tmp_path / "absences.csv"
    export_csv(small, load_year(small), "absences", out)
    rows = _rows(out.read_bytes())
    assert [(r["type"], r["start"], r["end"], r["days"], r["status"]) for r in rows] == [
        ("vacation", "2026-08-03", "2026-08-07", "5", "pending")]


def test_violations_come_from_the_rules_engine(small) -> None:
    from core.rules.engine import validate
    from core.snapshot import build_snapshot

    data = load_year(small)
    rows = _rows(export_csv(small, data, "violations"))
    snap = small.read(lambda s: build_snapshot(s, data.program.id, data.year.start, data.year.end))
    assert 0 < len(rows) == len(validate(snap).violations)
    assert all(r["rule"] and r["severity"] and r["message"] for r in rows)


def test_unknown_table(small) -> None:
    with pytest.raises(ValidationError, match="no CSV export"):
        export_csv(small, load_year(small), "pets")
