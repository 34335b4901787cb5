"""A realistic program for the import/export tests and the io benchmark.

18 residents (6 per PGY) and 13 faculty, a dozen activities, a full academic year of assignments
and calls (one faculty and one resident in-house each night, plus home call for obstetrics on
weekends with hours entered). People, activities and the program are made through the services;
the year of assignments is inserted in one bulk transaction (it is fixture data, not an edit).
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
from pathlib import Path

from sqlalchemy import insert

from core.calendar import days
from core.services import catalog, people, programs
from core.services.base import ServiceContext, Work
from core.store import models as m
from core.store.db import open_database

START_YEAR = 2026
PROGRAM_NAME = "Riverside Family Medicine"
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

ACTIVITIES = (
    # code, name, category, colour, (am start, minutes), (pm start, minutes), kinds
    ("W", "Inpatient wards", "inpatient", "#3b7dd8", (420, 360), (780, 360), ["resident"]),
    ("NF", "Night float", "night", "#30305a", (0, 0), (1140, 720), ["resident"]),
    ("C", "Continuity clinic", "clinic", "#4f81bd", (480, 240), (780, 240), ["resident", "faculty"]),
    ("+C", "Extra clinic session", "clinic", "#9fc5e8", (480, 240), (780, 240), ["resident", "faculty"]),
    ("LEC", "Didactics", "didactics", "#8e44ad", (480, 240), (780, 240), ["resident", "faculty"]),
    ("PEDS", "Pediatrics", "inpatient", "#f39c12", (420, 360), (780, 360), ["resident"]),
    ("ELEC", "Elective", "elective", "#95a5a6", (480, 240), (780, 240), ["resident"]),
    ("FW", "Inpatient attending", "inpatient", "#1f4e8c", (420, 360), (780, 360), ["faculty"]),
    ("AT", "Clinic precepting", "supervision", "#6aa84f", (480, 240), (780, 240), ["faculty"]),
    ("ADM", "Administration", "administration", "#b7b7b7", (480, 240), (780, 240), ["faculty"]),
    ("OFF", "Off", "off", "#ffffff", (0, 0), (0, 0), ["resident", "faculty"]),
    ("LV", "Leave", "leave", "#9bbb59", (0, 0), (0, 0), ["resident", "faculty"]),
    ("PC", "Post-call", "postcall", "#eeeeee", (0, 0), (0, 0), ["resident"]),
)
FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonah", "Kemi", "Liam",
         "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Xavier",
         "Yara", "Zoe", "Aiden", "Bea", "Carlos", "Dana", "Emeka")
LAST = ("Okafor", "Lindqvist", "Nakamura", "O'Brien", "Moreau", "Haddad", "Kowalski", "Fernandes", "Novak",
        "Achebe", "Rossi", "Petrov", "Dubois", "Iyer", "Schmidt", "Gallagher", "Tanaka", "Mensah", "Costa",
        "Hansen", "Varga", "Ortiz", "Zhang", "Keller", "Abara", "Silva", "Brennan", "Quist", "Laurent",
        "Eriksen", "Mwangi")

RESIDENT_ROTATIONS = (
    {wd: ("W", "W") for wd in range(7)} | {2: ("W", "LEC")},
    {wd: ("OFF", "NF") for wd in range(6)} | {6: ("OFF", "OFF")},
    {wd: ("C", "C") for wd in range(5)} | {2: ("C", "LEC"), 4: ("+C", "C"), 5: (None, None), 6: (None, None)},
    {wd: ("PEDS", "PEDS") for wd in range(5)} | {2: ("PEDS", "LEC"), 5: ("OFF", "OFF"), 6: ("OFF", "OFF")},
    {wd: ("ELEC", "ELEC") for wd in range(5)} | {2: ("ELEC", "LEC"), 5: (None, None), 6: (None, None)},
)


def make_context(path: Path) -> ServiceContext:
    opened = open_database(path)
    return ServiceContext(opened.engine, actor="tester", clock=lambda: NOW)


def build_program(ctx: ServiceContext, *, fill: bool = True, seed: int = 7, n_residents: int = 18,
                  n_faculty: int = 13) -> dict[str, object]:
    """The program (same names every time for a given size); with `fill`, a full year of schedule."""
    prog = programs.create_program(ctx, PROGRAM_NAME, start_year=START_YEAR, time_zone="America/Chicago").value
    acts = {}
    for code, name, cat, colour, am, pm, kinds in ACTIVITIES:
        acts[code] = catalog.create_activity(
            ctx, prog.id, code=code, name=name, category=cat, colour=colour, am_start=am[0], am_minutes=am[1],
            pm_start=pm[0], pm_minutes=pm[1], eligible_kinds=kinds).value
    residents, faculty = [], []
    for i in range(n_residents):
        name = f"Dr {FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}" + (f" {i // len(FIRST) + 1}" if i >= len(FIRST) else "")
        residents.append(people.create_person(ctx, prog.id, name, "resident", academic_year=START_YEAR,
                                              pgy=3 - i * 3 // n_residents).value)
    for i in range(n_faculty):
        k = (i + n_residents) % len(FIRST)
        name = f"Dr {FIRST[k]} {LAST[(i * 7 + 3) % len(LAST)]}" + (f" {i}" if n_faculty > len(FIRST) else "")
        faculty.append(people.create_person(ctx, prog.id, name, "faculty", faculty_role="core").value)
    out: dict[str, object] = {"program": prog, "activities": acts, "residents": residents, "faculty": faculty}
    if fill:
        fill_year(ctx, prog.id, acts, residents, faculty, seed=seed)
    return out


def fill_year(ctx: ServiceContext, program_id: str, acts: dict, residents: list, faculty: list, *, seed: int) -> None:
    rng = random.Random(seed)
    year = programs.academic_years(ctx, program_id)[0]
    assignments: list[dict] = []
    calls: list[dict] = []
    for b in year.blocks:
        for r_i, res in enumerate(residents):
            rot = RESIDENT_ROTATIONS[(r_i + b.number) % len(RESIDENT_ROTATIONS)]
            for day in days(b.start, b.end):
                am, pm = rot[day.weekday()]
                if rng.random() < 0.02:
                    am = pm = "LV"
                for slot, code in ((0, am), (1, pm)):
                    if code is not None:
                        assignments.append({"id": m.new_id(), "person_id": res.id, "date": day, "slot": slot,
                                            "activity_id": acts[code].id, "source": "template", "locked": False})
    for f_i, fac in enumerate(faculty):
        for day in days(year.start, year.end):
            week = (day - year.start).days // 7
            if day.weekday() >= 5:
                codes = ("FW", "FW") if (week + f_i) % 13 == 0 else (None, None)
            elif (week + f_i) % 13 == 0:
                codes = ("FW", "FW")
            else:
                codes = (("AT", "ADM", "C", "AT", "OFF")[(day.weekday() + f_i) % 5],
                         ("C", "AT", "ADM", "LEC", "AT")[(day.weekday() + 2 * f_i) % 5])
            for slot, code in enumerate(codes):
                if code is not None:
                    assignments.append({"id": m.new_id(), "person_id": fac.id, "date": day, "slot": slot,
                                        "activity_id": acts[code].id, "source": "generated", "locked": False})
    for n, day in enumerate(days(year.start, year.end)):
        calls.append({"id": m.new_id(), "person_id": faculty[n % len(faculty)].id, "date": day,
                      "call_type": "in_house", "service": "", "hours_worked": None, "source": "generated"})
        calls.append({"id": m.new_id(), "person_id": residents[(n * 5) % len(residents)].id, "date": day,
                      "call_type": "in_house", "service": "", "hours_worked": None, "source": "generated"})
        if day.weekday() == 5:
            other = residents[(n * 5 + 7) % len(residents)]
            calls.append({"id": m.new_id(), "person_id": other.id, "date": day, "call_type": "home",
                          "service": "OB", "hours_worked": 3.5 if n % 3 == 0 else None, "source": "generated"})

    def run(work: Work) -> None:
        work.session.execute(insert(m.Assignment), assignments)
        work.session.execute(insert(m.CallAssignment), calls)

    ctx.write("fixture_fill_year", run)


_TEMPLATES: dict[tuple[bool, int, int], Path] = {}


def program_copy(dest: Path, *, fill: bool = True, n_residents: int = 18, n_faculty: int = 13,
                 cache_dir: Path | None = None) -> tuple[Path, ServiceContext]:
    """A fresh database file with the program (built once per session, then copied)."""
    key = (fill, n_residents, n_faculty)
    template = _TEMPLATES.get(key)
    if template is None or not template.exists():
        base = cache_dir or dest.parent
        template = base / f"io-template-{int(fill)}-{n_residents}-{n_faculty}.sqlite"
        ctx = make_context(template)
        build_program(ctx, fill=fill, n_residents=n_residents, n_faculty=n_faculty)
        with ctx.engine.connect() as con:
            con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        ctx.engine.dispose()
        _TEMPLATES[key] = template
    shutil.copyfile(template, dest)
    return dest, make_context(dest)


def snapshot_rows(ctx: ServiceContext) -> tuple[set[tuple], set[tuple]]:
    """Assignments and calls as comparable tuples keyed by names and codes (ids differ per database)."""
    from sqlalchemy import select

    def run(s):  # type: ignore[no-untyped-def]
        names = dict(s.execute(select(m.Person.id, m.Person.name)).all())
        codes = dict(s.execute(select(m.Activity.id, m.Activity.code)).all())
        a = {(names[p], d, sl, codes[aid]) for p, d, sl, aid in s.execute(select(
            m.Assignment.person_id, m.Assignment.date, m.Assignment.slot, m.Assignment.activity_id)
            .where(m.Assignment.deleted.is_(False)))}
        c = {(names[p], d, t, sv, h) for p, d, t, sv, h in s.execute(select(
            m.CallAssignment.person_id, m.CallAssignment.date, m.CallAssignment.call_type,
            m.CallAssignment.service, m.CallAssignment.hours_worked).where(m.CallAssignment.deleted.is_(False)))}
        return a, c

    return ctx.read(run)


def database_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, for 'nothing changed' checks."""
    wal = Path(str(path) + "-wal")
    return path.read_bytes() + b"|wal|" + (wal.read_bytes() if wal.exists() else b"")


def demo_or_fixture(dest: Path, cache_dir: Path, *, empty: bool = False) -> tuple[Path, ServiceContext, str]:
    """The demo's typical program when `core.demo.create_demo` exists, else the fixture program.

    With `empty`, the same program (same people and activities) without assignments and calls.
    """
    try:
        from core.demo import create_demo
    except ImportError:
        path, ctx = program_copy(dest, fill=not empty, cache_dir=cache_dir)
        return path, ctx, "fixture"
    template = cache_dir / "demo-typical.sqlite"
    if not template.exists():
        opened = open_database(template)
        create_demo(opened.engine, size="typical")
        with opened.engine.connect() as con:
            con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        opened.engine.dispose()
    shutil.copyfile(template, dest)
    ctx = make_context(dest)
    if empty:
        with ctx.engine.begin() as con:
            con.exec_driver_sql("DELETE FROM assignment")
            con.exec_driver_sql("DELETE FROM call_assignment")
    return dest, ctx, "demo"
