"""The engine on snapshots built from a real program database, and `rsched validate`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy.orm import Session

from core.calendar import make_blocks
from core.cli import main as rsched
from core.rules.engine import validate
from core.rules.faculty import faculty_load
from core.snapshot import build_snapshot
from core.store import models as m
from core.store.db import open_database, session_factory

MON = dt.date(2026, 9, 7)


@pytest.fixture(scope="module")
def program_db(tmp_path_factory):
    """A small program: Dr Lee works 6 x 14 h a week (H80), Dr Smith (faculty) is over her clinic cap."""
    path = tmp_path_factory.mktemp("rules_db") / "program.sqlite"
    opened = open_database(path)
    with session_factory(opened.engine)() as s, s.begin():
        prog = m.Program(name="Test FM", time_zone="America/New_York")
        s.add(prog)
        s.flush()
        year = m.AcademicYear(program_id=prog.id, start_year=2026, start_date=dt.date(2026, 7, 1),
                              end_date=dt.date(2027, 6, 30), block_layout="13x28")
        s.add(year)
        s.flush()
        for b in make_blocks(2026):
            s.add(m.Block(academic_year_id=year.id, number=b.number, start_date=b.start, end_date=b.end))
        long_day = m.Activity(program_id=prog.id, code="W", name="Wards", category="inpatient",
                              am_start=420, am_minutes=360, pm_start=780, pm_minutes=480)
        clinic = m.Activity(program_id=prog.id, code="AT", name="Precepting", category="supervision",
                            am_start=480, am_minutes=240, pm_start=780, pm_minutes=240,
                            provides_supervision=True)
        lee = m.Person(program_id=prog.id, name="Dr Lee", kind="resident")
        smith = m.Person(program_id=prog.id, name="Dr Smith", kind="faculty", faculty_role="core",
                         clinic_cap_per_week=4)
        s.add_all([long_day, clinic, lee, smith])
        s.flush()
        s.add(m.ResidentYear(person_id=lee.id, academic_year_id=year.id, pgy=2))
        for d in range(28):
            day = MON + dt.timedelta(days=d)
            if d % 7 != 6:
                for slot in (0, 1):
                    s.add(m.Assignment(person_id=lee.id, date=day, slot=slot, activity_id=long_day.id))
        for d in range(3):  # Mon-Wed, both slots: 6 clinic half-days against a cap of 4
            for slot in (0, 1):
                s.add(m.Assignment(person_id=smith.id, date=MON + dt.timedelta(days=d), slot=slot,
                                   activity_id=clinic.id))
        s.add(m.CallAssignment(person_id=lee.id, date=MON + dt.timedelta(days=40), call_type="in_house"))
    opened.engine.dispose()
    return path


def test_validate_a_snapshot_built_from_the_database(program_db):
    opened = open_database(program_db)
    with Session(opened.engine) as s:
        prog = s.query(m.Program).one()
        snap = build_snapshot(s, prog.id, dt.date(2026, 7, 1), dt.date(2027, 6, 30))
    opened.engine.dispose()
    r = validate(snap)
    h80 = r.of_rule("H80")
    assert [(v.person_name, v.severity, v.value, v.start) for v in h80] == [("Dr Lee", "critical", 84.0, MON - dt.timedelta(days=1))]  # first of the equal worst windows
    fcap = r.of_rule("FCAP")
    assert [(v.person_name, v.value, v.limit) for v in fcap] == [("Dr Smith", 6.0, 4.0)]
    assert r.rule_set_number == snap.rule_set_number
    load = faculty_load(snap)
    (smith,) = load.rows
    assert (smith.name, smith.clinic_half_days, smith.weeks_over_cap, smith.max_clinic_half_days_in_week) == (
        "Dr Smith", 6, 1, 6)


def test_rsched_validate_table_and_json(program_db, capsys):
    assert rsched(["validate", "--db", str(program_db), "--from", "2026-09-01", "--to", "2026-10-31"]) == 0
    out = capsys.readouterr().out
    assert "H80" in out and "Dr Lee: 84.0 h/week averaged over Sep 6 - Oct 3 (limit 80)" in out

    assert rsched(["validate", "--db", str(program_db), "--from", "2026-09-01", "--to", "2026-10-31",
                   "--person", "lee", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts_by_rule"] == {"H80": 1}
    assert data["counts_by_severity"]["critical"] == 1
    (v,) = data["violations"]
    assert (v["rule"], v["person_name"], v["value"], v["limit"]) == ("H80", "Dr Lee", 84.0, 80.0)

    # outside the dates: nothing to report, still exit 0
    assert rsched(["validate", "--db", str(program_db), "--from", "2027-01-01", "--to", "2027-01-31",
                   "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["violations"] == []


@pytest.mark.parametrize("argv", [
    ["--from", "2026-13-01"],
    ["--from", "2026-10-01", "--to", "2026-09-01"],
    ["--person", "Nobody"],
    ["--from", "2026-09-01", "--to", "2027-09-01"],
])
def test_rsched_validate_bad_input_exits_2_with_one_sentence(program_db, capsys, argv):
    assert rsched(["validate", "--db", str(program_db), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err


def test_rsched_validate_missing_file(tmp_path, capsys):
    assert rsched(["validate", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "does not exist" in capsys.readouterr().err
