"""The JSON program file: round-trip identity, the schema in docs/, and bad files refused whole."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import func, select

from core.cli import main
from core.io import program_file as pf
from core.store import models as m
from core.store.db import open_database, session_factory, unit_of_work
from tests.helpers.small_program import build_small_program

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_FILE = ROOT / "docs" / "program-file.schema.json"


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory, new_db: Callable[[Path], Path]) -> Path:
    """The small program in a database (tests read it or check that it did not change)."""
    path = new_db(tmp_path_factory.mktemp("small") / "small.sqlite")
    opened = open_database(path)
    with unit_of_work(session_factory(opened.engine)) as session:
        build_small_program(session)
    opened.engine.dispose()
    return path


@pytest.fixture(scope="module")
def exported(small_db: Path) -> Path:
    out = small_db.with_name("small.json")
    assert main(["export-json", "--db", str(small_db), "-o", str(out)]) == 0
    return out


def db_files(path: Path) -> bytes:
    """The database file's bytes, after checking that no write is pending in a -wal companion."""
    wal = Path(str(path) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return path.read_bytes()


# ------------------------------------------------------------------------------------- round trip
def test_export_import_export_is_byte_identical(exported: Path, tmp_path: Path) -> None:
    second_db = tmp_path / "second.sqlite"  # a new file: import-json creates and migrates it
    assert main(["import-json", str(exported), "--db", str(second_db)]) == 0
    again = tmp_path / "again.json"
    assert main(["export-json", "--db", str(second_db), "-o", str(again)]) == 0
    assert again.read_bytes() == exported.read_bytes()


def test_the_export_is_canonical_and_complete(exported: Path) -> None:
    text = exported.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert text == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert doc["format"] == pf.FORMAT_NAME and doc["format_version"] == pf.FORMAT_VERSION
    assert doc["program"]["name"] == "Small Family Medicine"
    counts = {key: len(doc[key]) for key in pf.ROOT_KEYS if isinstance(doc.get(key), list)}
    assert counts["blocks"] == 13 and counts["people"] == 6 and counts["rule_sets"] == 2
    assert counts["absences"] == 2  # the tombstoned third absence is sync bookkeeping, not exported
    assert sum(len(r["pattern"]) for r in doc["rotations"]) == 14 + 10
    assert [a["date"] for a in doc["assignments"]] == sorted(a["date"] for a in doc["assignments"])
    assert "version" not in doc["people"][0] and "deleted" not in doc["people"][0]
    assert "café ✓" in text  # UTF-8, not escaped


def test_import_keeps_ids_and_values(exported: Path, db_path: Path) -> None:
    target = db_path
    assert main(["import-json", str(exported), "--db", str(target)]) == 0
    doc = json.loads(exported.read_text(encoding="utf-8"))
    opened = open_database(target)
    try:
        with session_factory(opened.engine)() as s:
            call = s.get(m.CallAssignment, next(c["id"] for c in doc["calls"] if c["hours_worked"]))
            assert call is not None and call.hours_worked == 3.5 and call.call_type == "home"
            rule_set = s.scalars(select(m.RuleSet).where(m.RuleSet.number == 2)).one()
            assert rule_set.values == {"max_hours_per_week": 88.0, "freeze_days": 14}
            assert {p.program_id for p in s.scalars(select(m.Person))} == {doc["program"]["id"]}
            events = s.scalars(select(m.AuditEvent)).all()
            assert [e.action for e in events] == ["import_program"]
    finally:
        opened.engine.dispose()


def test_import_refuses_a_database_that_holds_a_program(exported: Path, small_db: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = db_files(small_db)
    assert main(["import-json", str(exported), "--db", str(small_db)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("The database already holds a program (Small Family Medicine)")
    assert err.count("\n") == 0
    assert db_files(small_db) == before


def test_export_to_standard_output(small_db: Path, exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["export-json", "--db", str(small_db), "-o", "-"]) == 0
    assert capsys.readouterr().out == exported.read_text(encoding="utf-8")


def test_export_of_an_empty_database_says_so(db_path: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-json", "--db", str(db_path), "-o", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err.strip() == "The database holds no program to export."
    assert not (tmp_path / "x.json").exists()


# ----------------------------------------------------------------------------------- the schema
def test_schema_file_is_current_and_valid() -> None:
    on_disk = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert on_disk == pf.json_schema(), (
        "docs/program-file.schema.json is stale: "
        "python -m core.io.program_file --write-schema docs/program-file.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(on_disk)


def test_exported_file_satisfies_the_schema(exported: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(exported.read_text(encoding="utf-8")))


def test_every_model_column_is_in_the_format() -> None:
    """A new column must be added to the program file (and the format version considered)."""
    for spec in pf.SECTIONS:
        columns = set(spec.model.__table__.c.keys())  # type: ignore[attr-defined]
        covered = {f.name for f in spec.fields} | pf.NOT_EXPORTED | ({spec.parent_field} if spec.parent_field else set())
        assert columns - covered == set(), spec.name
    assert set(m.Program.__table__.c.keys()) - {f.name for f in pf.PROGRAM_FIELDS} - pf.NOT_EXPORTED == set()


# -------------------------------------------------------------------------------- bad program files
Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _delete(path: tuple[Any, ...]) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return mutate


def _duplicate_slot(doc: dict[str, Any]) -> None:
    twin = copy.deepcopy(doc["assignments"][3])
    twin["id"] = "11111111-2222-4333-8444-555555555555"
    doc["assignments"].append(twin)


def _dangling(doc: dict[str, Any]) -> None:
    doc["assignments"][2]["activity_id"] = "99999999-9999-4999-8999-999999999999"


def _absence_backwards(doc: dict[str, Any]) -> None:
    doc["absences"][0]["end_date"] = "2026-08-01"  # starts 2026-08-03


BAD_FILES: dict[str, tuple[Mutation | bytes, str]] = {
    "not json": (b'{"format": "residency-scheduler-program",', "$: the file is not valid JSON"),
    "not utf-8": (b'{"format": "\xff"}', "$: the file is not UTF-8 text"),
    "not an object": (b"[1, 2]", "$: must be a program file object"),
    "another format": (_set(("format",), "something-else"), "$.format: must be"),
    "newer format version": (_set(("format_version",), 2), "$.format_version: the file has format version 2"),
    "wrong format version": (_set(("format_version",), "1"), "$.format_version: must be 1"),
    "missing section": (_delete(("calls",)), "$.calls: is missing"),
    "missing field": (_delete(("people", 1, "kind")), "$.people[1].kind: is missing"),
    "wrong type": (_set(("assignments", 12, "locked"), "yes"), "$.assignments[12].locked: must be true or false"),
    "slot out of range": (_set(("assignments", 12, "slot"), 2), "$.assignments[12].slot: must be 0 or 1"),
    "bad enum": (_set(("calls", 0, "call_type"), "overnight"), '$.calls[0].call_type: must be "in_house", "home" or "backup"'),
    "bad nested enum": (_set(("rotations", 0, "pattern", 3, "weekday"), 7), "$.rotations[0].pattern[3].weekday: must be between 0 and 6"),
    "bad date": (_set(("holidays", 0, "date"), "2026-02-30"), "$.holidays[0].date: must be a date YYYY-MM-DD"),
    "bad id": (_set(("people", 0, "id"), "person-1"), "$.people[0].id: must be a UUID"),
    "duplicate id": (_set(("activities", 1, "id"), None), "$.activities[1].id: is required"),
    "dangling reference": (_dangling, "$.assignments[2].activity_id: refers to 99999999-9999-4999-8999-999999999999, which is not in $.activities"),
    "duplicate slot": (_duplicate_slot, "duplicate slot: the same person_id, date, slot as $.assignments[3]"),
    "end before start": (_absence_backwards, "$.absences[0].end_date: the absence ends before it starts"),
    "unknown field": (_set(("program", "colour"), "red"), "$.program.colour: is not a field of this format"),
    "unknown time zone": (_set(("program", "time_zone"), "Mars/Olympus"), "$.program.time_zone: is not a known time zone"),
    "unknown rule": (_set(("rule_sets", 1, "values", "max_naps"), 3), "$.rule_sets[1].values.max_naps: Unknown rule setting"),
    "too long": (_set(("activities", 0, "code"), "X" * 17), "$.activities[0].code: is too long (17 characters, at most 16)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_program_file_is_refused_whole(case: str, exported: Path, db_path: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    mutation, expected = BAD_FILES[case]
    if isinstance(mutation, bytes):
        data = mutation
    else:
        doc = json.loads(exported.read_text(encoding="utf-8"))
        mutation(doc)
        data = json.dumps(doc).encode()
    bad = tmp_path / "bad.json"
    bad.write_bytes(data)
    before = db_files(db_path)
    capsys.readouterr()
    assert main(["import-json", str(bad), "--db", str(db_path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.rstrip().endswith("nothing was imported.") and err.count("\n") == 1
    assert db_files(db_path) == before


def test_every_problem_is_collected_and_the_message_names_the_first(exported: Path) -> None:
    doc = json.loads(exported.read_text(encoding="utf-8"))
    for i in range(8):
        doc["assignments"][i]["slot"] = 5
    with pytest.raises(pf.ProgramFileError) as caught:
        pf.validate_document(doc)
    assert len(caught.value.problems) == 8
    assert str(caught.value).startswith("$.assignments[0].slot: must be 0 or 1, not 5; $.assignments[1].slot")
    assert "(and 3 more problems); nothing was imported." in str(caught.value)


def test_the_schema_also_rejects_the_structural_mistakes(exported: Path) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for case in ("missing field", "wrong type", "slot out of range", "bad enum", "bad id", "unknown field",
                 "wrong format version", "too long"):
        mutation = BAD_FILES[case][0]
        assert callable(mutation)
        doc = json.loads(exported.read_text(encoding="utf-8"))
        mutation(doc)
        assert not validator.is_valid(doc), case


def test_nothing_is_written_when_the_database_write_fails(exported: Path, db_path: Path) -> None:
    """The import is one transaction: a failure half-way leaves no program rows behind."""
    parsed = pf.parse_text(exported.read_bytes())
    parsed.rows["assignments"].append(parsed.rows["assignments"][0])  # same primary key twice
    target = db_path
    opened = open_database(target)
    try:
        with pytest.raises(Exception):  # noqa: B017 - the raw IntegrityError; what matters is the rollback
            pf.import_program(opened.engine, parsed)
        with session_factory(opened.engine)() as s:
            for model in (m.Program, m.Person, m.Assignment, m.AuditEvent):
                assert s.execute(select(func.count()).select_from(model)).scalar_one() == 0
    finally:
        opened.engine.dispose()


@pytest.mark.slow
def test_the_typical_demo_round_trips_byte_for_byte(tmp_path: Path, new_db: Callable[[Path], Path]) -> None:
    from core.demo import create_demo

    source = new_db(tmp_path / "demo.sqlite")
    opened = open_database(source)
    create_demo(opened.engine, size="typical", year=2026, seed=3)
    with session_factory(opened.engine)() as s:
        first = pf.export_program(s)
    opened.engine.dispose()
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(first))
    target = new_db(tmp_path / "copy.sqlite")
    opened = open_database(target)
    try:
        pf.import_program(opened.engine, pf.parse_text(first))
        with session_factory(opened.engine)() as s:
            assert pf.export_program(s) == first
    finally:
        opened.engine.dispose()
