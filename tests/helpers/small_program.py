"""A small but complete program built with raw ORM rows (no services), for store and io tests."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from core.calendar import academic_year_bounds, academic_year_holidays, make_blocks
from core.store import models as m


def _id(n: int) -> str:
    """Readable, stable ids: 00000000-0000-4000-8000-00000000000n."""
    return str(uuid.UUID(int=(0x4000 << 64) | (0x8000 << 48) | n))


def build_small_program(real_session: Session, *, start_year: int = 2026) -> str:
    """Add one program with every kind of row the program file carries; returns its id."""
    n = iter(range(1, 10_000))

    class _Flushing:
        # Flush as rows are added: the models declare foreign keys without ORM relationships,
        # so the session would not know to insert parents first.
        def add(self, row: object) -> None:
            real_session.add(row)
            real_session.flush()

        def add_all(self, rows: object) -> None:
            for row in rows:  # type: ignore[attr-defined]
                self.add(row)

    session = _Flushing()  # type: ignore[assignment]
    program = m.Program(id=_id(next(n)), name="Small Family Medicine", time_zone="America/New_York",
                        settings={"first_weekday": 0, "clinic_rooms": 6})
    session.add(program)
    first, last = academic_year_bounds(start_year)
    year = m.AcademicYear(id=_id(next(n)), program_id=program.id, start_year=start_year, start_date=first,
                          end_date=last, block_layout="13x28")
    session.add(year)
    blocks = [m.Block(id=_id(next(n)), academic_year_id=year.id, number=b.number, start_date=b.start, end_date=b.end)
              for b in make_blocks(start_year)]
    session.add_all(blocks)
    session.add_all(m.Holiday(id=_id(next(n)), program_id=program.id, date=d, name=name,
                              clinic_closed=name != "Columbus Day")
                    for d, name in academic_year_holidays(start_year).items())
    residents = [m.Person(id=_id(next(n)), program_id=program.id, name=f"Resident {c}", kind="resident",
                          sort_key=i, email=f"r{c.lower()}@example.org") for i, c in enumerate("ABC")]
    pd = m.Person(id=_id(next(n)), program_id=program.id, name="Dr Director", kind="faculty", faculty_role="pd",
                  clinic_cap_per_week=2)
    core = m.Person(id=_id(next(n)), program_id=program.id, name="Dr Core", kind="faculty", faculty_role="core",
                    clinic_cap_per_week=4, archived=False)
    nurse = m.Person(id=_id(next(n)), program_id=program.id, name="Nurse Noor", kind="staff", archived=True)
    session.add_all([*residents, pd, core, nurse])
    session.add_all(m.ResidentYear(id=_id(next(n)), person_id=r.id, academic_year_id=year.id, pgy=i + 1)
                    for i, r in enumerate(residents))
    session.add(m.Qualification(id=_id(next(n)), person_id=core.id, what="procedures",
                                valid_from=dt.date(2020, 1, 1), valid_to=None))
    session.add(m.Qualification(id=_id(next(n)), person_id=residents[2].id, what="icu",
                                valid_from=None, valid_to=dt.date(2027, 6, 30)))
    act = {}
    for code, cat, am, pm, extra in [
        ("C", "clinic", (8 * 60, 240), (13 * 60, 240), {"counts_clinic_capacity": True, "needs_supervision": True}),
        ("WARD", "inpatient", (7 * 60, 300), (12 * 60, 360), {"eligible_pgy": [1, 2, 3]}),
        ("LEC", "didactics", (0, 0), (13 * 60, 240), {"shed_priority": 7}),
        ("AT", "supervision", (8 * 60, 240), (13 * 60, 240),
         {"provides_supervision": True, "eligible_kinds": ["faculty"], "required_credential": "procedures"}),
        ("NF", "night", (0, 0), (19 * 60, 720), {"is_night_float": True, "colour": "#223344"}),
        ("OFF", "off", (0, 0), (0, 0), {"archived": False}),
    ]:
        a = m.Activity(id=_id(next(n)), program_id=program.id, code=code, name=f"{code} activity", category=cat,
                       am_start=am[0], am_minutes=am[1], pm_start=pm[0], pm_minutes=pm[1], **extra)
        act[code] = a
    session.add_all(act.values())
    ward = m.Rotation(id=_id(next(n)), program_id=program.id, code="WARDS", name="Inpatient wards",
                      min_residents=1, max_residents=3, eligible_pgy=[1, 2], includes_weekends=True)
    clinic = m.Rotation(id=_id(next(n)), program_id=program.id, code="CLIN", name="Clinic", leave_allowed=True)
    session.add_all([ward, clinic])
    for wd in range(7):
        for slot in (0, 1):
            session.add(m.RotationPatternEntry(id=_id(next(n)), rotation_id=ward.id, weekday=wd, slot=slot,
                                               activity_id=act["WARD"].id))
    for wd in range(5):
        session.add(m.RotationPatternEntry(id=_id(next(n)), rotation_id=clinic.id, weekday=wd, slot=0,
                                           activity_id=act["C"].id))
        session.add(m.RotationPatternEntry(id=_id(next(n)), rotation_id=clinic.id, weekday=wd, slot=1,
                                           activity_id=act["LEC" if wd == 2 else "C"].id))
    session.add(m.RotationAssignment(id=_id(next(n)), person_id=residents[0].id, block_id=blocks[0].id, half=0,
                                     rotation_id=ward.id))
    session.add(m.RotationAssignment(id=_id(next(n)), person_id=residents[1].id, block_id=blocks[0].id, half=1,
                                     rotation_id=clinic.id))
    session.add(m.RotationAssignment(id=_id(next(n)), person_id=residents[1].id, block_id=blocks[0].id, half=2,
                                     rotation_id=ward.id))
    session.add(m.CoverageRequirement(id=_id(next(n)), program_id=program.id, activity_id=act["C"].id, weekday=1,
                                      slot=0, min_count=1, optimum=2, max_count=4))
    session.add(m.CoverageRequirement(id=_id(next(n)), program_id=program.id, activity_id=act["AT"].id, weekday=None,
                                      date=dt.date(2026, 7, 7), slot=1, min_count=1, optimum=1, max_count=1,
                                      qualification="procedures"))
    session.add(m.CallRequirement(id=_id(next(n)), program_id=program.id, service="", call_type="in_house",
                                  kind="resident", eligible_pgy=[2, 3], per_night=1))
    session.add(m.CallRequirement(id=_id(next(n)), program_id=program.id, service="", call_type="home",
                                  kind="faculty", per_night=1))
    session.add(m.RuleSet(id=_id(next(n)), program_id=program.id, number=1, values={},
                          created_at=dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC), note="ACGME defaults"))
    session.add(m.RuleSet(id=_id(next(n)), program_id=program.id, number=2,
                          values={"max_hours_per_week": 88.0, "freeze_days": 14},
                          exceptions={"max_hours_per_week": "RRC granted 88 h for 2026"},
                          created_at=dt.datetime(2026, 6, 2, 9, 30, 15, 123456, tzinfo=dt.UTC), note=None))
    for day_offset in range(7):
        d = first + dt.timedelta(days=day_offset)
        for slot in (0, 1):
            session.add(m.Assignment(id=_id(next(n)), person_id=residents[0].id, date=d, slot=slot,
                                     activity_id=act["WARD"].id, rotation_id=ward.id, source="template"))
            if d.weekday() < 5:
                session.add(m.Assignment(id=_id(next(n)), person_id=core.id, date=d, slot=slot,
                                         activity_id=act["AT"].id, source="manual", locked=slot == 0,
                                         note="covering" if day_offset == 3 else None))
    session.add(m.Assignment(id=_id(next(n)), person_id=residents[2].id, date=first, slot=1,
                             activity_id=act["NF"].id, source="preload", note="Unicode note: café ✓"))
    session.add(m.CallAssignment(id=_id(next(n)), person_id=residents[1].id, date=first, call_type="in_house"))
    session.add(m.CallAssignment(id=_id(next(n)), person_id=pd.id, date=first, call_type="home", hours_worked=3.5))
    session.add(m.CallAssignment(id=_id(next(n)), person_id=core.id, date=first + dt.timedelta(days=1),
                                 call_type="backup", service="OB", source="generated"))
    session.add(m.Absence(id=_id(next(n)), person_id=residents[1].id, type="vacation", start_date=dt.date(2026, 8, 3),
                          end_date=dt.date(2026, 8, 7), status="approved"))
    session.add(m.Absence(id=_id(next(n)), person_id=core.id, type="conference", start_date=dt.date(2026, 9, 10),
                          end_date=dt.date(2026, 9, 10), status="pending", blocking=False, counts_away=False,
                          note="ACGME annual"))
    # A tombstoned row: sync bookkeeping, never part of a program file.
    session.add(m.Absence(id=_id(next(n)), person_id=core.id, type="sick", start_date=dt.date(2026, 7, 2),
                          end_date=dt.date(2026, 7, 2), status="approved", deleted=True))
    return program.id
