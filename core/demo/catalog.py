"""What the demo program is made of: activities, rotations and their weekly patterns, name pools.

Plain data; `core.demo.build` turns it into rows. Times are minutes after local midnight, lengths in
minutes, following the time model of RULES.md (clinic 08:00-12:00 / 13:00-17:00, inpatient
07:00-13:00 / 13:00-19:00, night float 19:00-07:00 on the PM slot, no duty for off/leave/post-call).
"""

from __future__ import annotations

from dataclasses import dataclass, field

H = 60
CLINIC_AM, CLINIC_PM = (8 * H, 4 * H), (13 * H, 4 * H)
WARD_AM, WARD_PM = (7 * H, 6 * H), (13 * H, 6 * H)
NO_DUTY = (0, 0)

RESIDENT = ("resident",)
FACULTY = ("faculty",)
ANYONE = ("resident", "faculty")


@dataclass(frozen=True)
class ActivityDef:
    code: str
    name: str
    colour: str
    category: str
    am: tuple[int, int]  # (start, minutes)
    pm: tuple[int, int]
    kinds: tuple[str, ...]
    shed: int  # SHED sacrifice category: 1 patient safety .. 7 optional education
    pgy: tuple[int, ...] = ()
    credential: str | None = None
    needs_supervision: bool = False
    provides_supervision: bool = False
    counts_capacity: bool = False
    is_procedure: bool = False
    is_night_float: bool = False


@dataclass(frozen=True)
class ClinicSite:
    """A clinic with its own rooms (CAP is per clinic) and its own precepting attendings."""

    suffix: str  # "" for the main clinic, else one letter
    name: str

    @property
    def clinic(self) -> str:
        return "C" + self.suffix

    @property
    def precept(self) -> str:
        return "AT" + self.suffix


MAIN_SITE = ClinicSite("", "Main")
LARGE_SITES = (
    MAIN_SITE, ClinicSite("N", "North"), ClinicSite("S", "South"), ClinicSite("E", "East"),
    ClinicSite("V", "Veterans"),
)

BASE_ACTIVITIES: tuple[ActivityDef, ...] = (
    ActivityDef("W", "Inpatient wards", "#3b7dd8", "inpatient", WARD_AM, WARD_PM, RESIDENT, 1),
    ActivityDef("LC", "Long call (admitting day)", "#2a5fa8", "inpatient", WARD_AM, (13 * H, 8 * H),
                RESIDENT, 1),
    ActivityDef("NF", "Night float", "#30305a", "night", NO_DUTY, (19 * H, 12 * H), RESIDENT, 1,
                pgy=(2, 3), is_night_float=True),
    ActivityDef("ICU", "Intensive care unit", "#c0392b", "inpatient", WARD_AM, WARD_PM, RESIDENT, 1),
    ActivityDef("PEDS", "Pediatrics inpatient", "#f39c12", "inpatient", WARD_AM, WARD_PM, RESIDENT, 2),
    ActivityDef("OB", "Obstetrics (labour and delivery)", "#e377c2", "inpatient", WARD_AM, WARD_PM,
                RESIDENT, 1, credential="obstetrics"),
    ActivityDef("PROC", "Procedure clinic", "#16a085", "procedure", CLINIC_AM, CLINIC_PM, RESIDENT, 4,
                pgy=(2, 3), credential="procedures", needs_supervision=True, is_procedure=True),
    ActivityDef("LEC", "Didactics", "#8e44ad", "didactics", CLINIC_AM, CLINIC_PM, ANYONE, 6),
    ActivityDef("FW", "Inpatient attending", "#1f4e8c", "inpatient", WARD_AM, WARD_PM, FACULTY, 1),
    ActivityDef("FC", "Faculty clinic", "#6aa84f", "clinic", CLINIC_AM, CLINIC_PM, FACULTY, 3,
                counts_capacity=True),
    ActivityDef("ELEC", "Elective", "#95a5a6", "elective", CLINIC_AM, CLINIC_PM, RESIDENT, 7),
    ActivityDef("RES", "Research", "#7f8c8d", "research", CLINIC_AM, CLINIC_PM, RESIDENT, 7),
    ActivityDef("ADM", "Administration", "#b7b7b7", "administration", CLINIC_AM, CLINIC_PM, ANYONE, 6),
    ActivityDef("OFF", "Day off", "#ffffff", "off", NO_DUTY, NO_DUTY, ANYONE, 7),
    ActivityDef("LV", "Leave", "#fff2cc", "leave", NO_DUTY, NO_DUTY, ANYONE, 7),
    ActivityDef("PC", "Post-call", "#d9d2e9", "postcall", NO_DUTY, NO_DUTY, RESIDENT, 7),
)


def site_activities(site: ClinicSite) -> tuple[ActivityDef, ActivityDef]:
    """The resident continuity clinic and the precepting attending of one clinic site."""
    label = "" if site is MAIN_SITE else f" ({site.name})"
    clinic = ActivityDef(site.clinic, f"Continuity clinic{label}", "#27ae60", "clinic", CLINIC_AM,
                         CLINIC_PM, RESIDENT, 3, needs_supervision=True, counts_capacity=True)
    precept = ActivityDef(site.precept, f"Clinic precepting{label}", "#145a32", "supervision",
                          CLINIC_AM, CLINIC_PM, FACULTY, 2, provides_supervision=True)
    return clinic, precept


def activities_for(sites: tuple[ClinicSite, ...]) -> tuple[ActivityDef, ...]:
    out = list(BASE_ACTIVITIES)
    for site in sites:
        out.extend(site_activities(site))
    return tuple(out)


# Categories whose work stops on a clinic-closed holiday (the outpatient side of the program).
OUTPATIENT_CATEGORIES = frozenset(
    {"clinic", "procedure", "didactics", "supervision", "administration", "research", "elective"}
)

# ------------------------------------------------------------------------------------- rotations
WEEK = tuple[tuple[str, str], ...]  # 7 (AM, PM) pairs, Monday first; "C"/"AT" = the site's clinic


@dataclass(frozen=True)
class RotationDef:
    code: str
    name: str
    colour: str
    week: WEEK
    pgy: tuple[int, ...] = ()
    leave_allowed: bool = False
    weekends: bool = False
    takes_call: bool = False  # residents on it are in the in-house call pool
    per_site: bool = False  # one copy per clinic site ("C" in the week means the site's clinic)
    min_residents: int = 0
    max_residents: int = 99
    extra: dict[str, str] = field(default_factory=dict)


OFF2 = ("OFF", "OFF")


def _inpatient(code: str) -> WEEK:
    """Six days a week, Wednesday afternoon didactics, Sunday off (70 h a week)."""
    day = (code, code)
    return (day, day, (code, "LEC"), day, day, day, OFF2)


def _weekdays(code: str) -> WEEK:
    day = (code, code)
    return (day, day, (code, "LEC"), day, day, OFF2, OFF2)


ROTATIONS: tuple[RotationDef, ...] = (
    RotationDef("WARDS", "Inpatient wards", "#3b7dd8", _inpatient("W"), weekends=True, takes_call=True),
    RotationDef("NF", "Night float", "#30305a",
                # Nights Sunday to Thursday; Friday recovers from Thursday's night; Saturday is free.
                (("NF", "NF"), ("NF", "NF"), ("NF", "NF"), ("NF", "NF"), OFF2, OFF2, ("NF", "NF")),
                pgy=(2, 3), weekends=True),
    RotationDef("ICU", "Intensive care", "#c0392b", _inpatient("ICU"), weekends=True, takes_call=True),
    RotationDef("PEDS", "Pediatrics", "#f39c12", _weekdays("PEDS"), takes_call=True),
    RotationDef("OB", "Obstetrics", "#e377c2", _inpatient("OB"), pgy=(1, 3), weekends=True,
                takes_call=True),
    RotationDef("AMB", "Ambulatory (intern)", "#27ae60",
                (("C", "C"), ("C", "C"), ("C", "LEC"), ("C", "C"), ("C", "ADM"), OFF2, OFF2),
                pgy=(1,), leave_allowed=True, per_site=True),
    RotationDef("AMBS", "Ambulatory (senior)", "#1e8449",
                (("C", "C"), ("C", "ADM"), ("C", "LEC"), ("PROC", "C"), ("ADM", "C"), OFF2, OFF2),
                pgy=(2, 3), leave_allowed=True, per_site=True),
    RotationDef("ELEC", "Elective", "#95a5a6",
                (("ELEC", "ELEC"), ("ELEC", "C"), ("ELEC", "LEC"), ("ELEC", "ELEC"), ("C", "ELEC"),
                 OFF2, OFF2),
                pgy=(2, 3), leave_allowed=True, takes_call=True, per_site=True),
    RotationDef("RES", "Research", "#7f8c8d",
                (("RES", "RES"), ("RES", "RES"), ("RES", "LEC"), ("RES", "RES"), ("RES", "C"), OFF2, OFF2),
                pgy=(3,), leave_allowed=True, per_site=True),
)

# The rotation cycle of each PGY level: in block b resident i holds CYCLE[(i + b) % len(CYCLE)].
CYCLES: dict[int, tuple[str, ...]] = {
    1: ("WARDS", "WARDS", "PEDS", "OB", "AMB", "ICU"),
    2: ("WARDS", "NF", "ICU", "PEDS", "AMBS", "ELEC"),
    3: ("WARDS", "NF", "AMBS", "ELEC", "RES", "OB"),
}

# ------------------------------------------------------------------------------------------ names
FIRST_NAMES = (
    "Avery", "Blake", "Camila", "Dev", "Elena", "Farah", "Gabriel", "Hana", "Ibrahim", "Jada", "Kenji",
    "Lucia", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rafael", "Sana", "Tomas", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Chloe", "Diego", "Esther", "Felix", "Grace",
    "Hugo", "Iris", "Jonah", "Keira", "Liam", "Maya", "Noah", "Olga", "Pavel", "Rosa", "Soren",
)
LAST_NAMES = (
    "Adeyemi", "Bergstrom", "Castillo", "Dubois", "Eriksen", "Fontaine", "Gallagher", "Haddad",
    "Ivanova", "Jaramillo", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov",
    "Quintero", "Rasmussen", "Schneider", "Takahashi", "Underwood", "Valdez", "Whitaker", "Xu",
    "Yilmaz", "Zimmerman", "Abernathy", "Bianchi", "Chowdhury", "Delgado", "Estrada", "Fischer",
    "Gupta", "Hoffman", "Iqbal", "Jensen", "Kaur", "Lombardi", "Mbeki", "Novak", "Oyelaran", "Park",
)

# Residents and faculty with fixed names: the holders of the deliberate violations (core.demo).
ANCHOR_RESIDENTS: dict[int, tuple[str, ...]] = {
    1: ("Jordan Reyes", "Casey Morgan", "Riley Chen"),
    2: ("Taylor Brooks", "Morgan Patel", "Sam Okoro"),
    3: ("Alex Rivera", "Jamie Novak", "Drew Hoffmann"),
}
PROGRAM_DIRECTOR = "Helen Marsh"
ASSOCIATE_DIRECTOR = "Victor Osei"
