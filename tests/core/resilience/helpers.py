"""In-memory `ScheduleSnapshot`s for the resilience tests and benchmarks (no database).

    prog = Program(dt.date(2026, 7, 2), days=7)
    ana = prog.person("Ana", pgy=2)
    prog.put(ana, "W", days=range(7))           # AM and PM of each day
    prog.need("W", min_count=1, days=range(7))  # every slot of those days
    snap = prog.snapshot()

`synthetic_program(residents, faculty, days)` builds a program of a given size with rotations,
clinic, night float, in-house call and some free slots (the benchmark stand-in while the demo
program is not available).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from core.rules.ruleset import RuleValues
from core.snapshot import (
    CALL_CODES,
    NO_MAX,
    ActivityInfo,
    BlockSpan,
    Credential,
    PersonInfo,
    ScheduleSnapshot,
    _utc_offsets,
)

HOUR = 60
# code -> (am (start, minutes), pm (start, minutes), category, shed priority, extra fields)
PALETTE: dict[str, tuple[tuple[int, int], tuple[int, int], str, int, dict[str, Any]]] = {
    "W": ((7 * HOUR, 6 * HOUR), (13 * HOUR, 6 * HOUR), "inpatient", 1, {"eligible_kinds": ("resident",)}),
    "ICU": ((7 * HOUR, 6 * HOUR), (13 * HOUR, 6 * HOUR), "inpatient", 1,
            {"eligible_kinds": ("resident",), "eligible_pgy": (2, 3)}),
    "OB": ((7 * HOUR, 6 * HOUR), (13 * HOUR, 6 * HOUR), "inpatient", 1,
           {"eligible_kinds": ("resident",), "required_credential": "obstetrics"}),
    "NF": ((0, 0), (19 * HOUR, 12 * HOUR), "night", 1,
           {"eligible_kinds": ("resident",), "eligible_pgy": (2, 3), "is_night_float": True}),
    "C": ((8 * HOUR, 4 * HOUR), (13 * HOUR, 4 * HOUR), "clinic", 3,
          {"eligible_kinds": ("resident",), "needs_supervision": True, "counts_clinic_capacity": True}),
    "AT": ((8 * HOUR, 4 * HOUR), (13 * HOUR, 4 * HOUR), "supervision", 2,
           {"eligible_kinds": ("faculty",), "provides_supervision": True}),
    "FW": ((7 * HOUR, 6 * HOUR), (13 * HOUR, 6 * HOUR), "inpatient", 1, {"eligible_kinds": ("faculty",)}),
    "LEC": ((8 * HOUR, 4 * HOUR), (13 * HOUR, 4 * HOUR), "didactics", 4, {}),
    "RES": ((8 * HOUR, 4 * HOUR), (13 * HOUR, 4 * HOUR), "research", 5, {"eligible_kinds": ("resident",)}),
    "ADM": ((8 * HOUR, 4 * HOUR), (13 * HOUR, 4 * HOUR), "administration", 6, {}),
    "ELEC": ((8 * HOUR, 4 * HOUR), (13 * HOUR, 4 * HOUR), "elective", 7, {"eligible_kinds": ("resident",)}),
    "OFF": ((0, 0), (0, 0), "off", 7, {}),
    "PC": ((0, 0), (0, 0), "postcall", 7, {"eligible_kinds": ("resident",)}),
}


class Program:
    """A small program described slot by slot; `snapshot()` freezes it."""

    def __init__(self, start: dt.date, days: int, *, rules: RuleValues | None = None,
                 tz: str = "America/New_York", codes: Iterable[str] | None = None) -> None:
        self.start, self.n_days, self.rules, self.tz = start, days, rules or RuleValues(), tz
        self.activities: list[ActivityInfo] = []
        self.index: dict[str, int] = {}
        for code in codes if codes is not None else PALETTE:
            am, pm, category, shed, extra = PALETTE[code]
            self.add_activity(code, am=am, pm=pm, category=category, shed=shed, **extra)
        self.people: list[PersonInfo] = []
        self.cells: dict[tuple[int, int], int] = {}
        self.calls: dict[tuple[int, int], tuple[int, float | None]] = {}
        self.absences: list[tuple[int, int, int]] = []
        self.credentials: list[Credential] = []
        self.needs: dict[tuple[int, int], tuple[int, int, int]] = {}

    def add_activity(self, code: str, *, am: tuple[int, int], pm: tuple[int, int], category: str,
                     shed: int = 4, **extra: Any) -> int:
        fields: dict[str, Any] = dict(
            needs_supervision=False, provides_supervision=False, counts_clinic_capacity=False,
            is_procedure=False, is_night_float=False, eligible_kinds=("resident", "faculty"),
            eligible_pgy=(), required_credential=None,
        )
        fields.update(extra)
        self.index[code] = len(self.activities)
        self.activities.append(ActivityInfo(
            id=f"a-{code}", code=code, name=code, colour="#888888", category=category,
            span_start=(am[0], pm[0]), span_minutes=(am[1], pm[1]), shed_priority=shed, **fields,
        ))
        return self.index[code]

    def person(self, name: str, *, kind: str = "resident", pgy: int = 1) -> int:
        self.people.append(PersonInfo(f"id-{len(self.people)}", name, kind, pgy if kind == "resident" else 0,
                                      "core" if kind == "faculty" else None, None))
        return len(self.people) - 1

    def put(self, p: int, code: str | None, *, days: Iterable[int], slots: Iterable[int] = (0, 1)) -> Program:
        slot_list = list(slots)
        for d in days:
            for h in slot_list:
                if code is None:
                    self.cells.pop((p, 2 * d + h), None)
                else:
                    self.cells[(p, 2 * d + h)] = self.index[code]
        return self

    def call(self, p: int, day: int, kind: str = "in_house", hours: float | None = None) -> Program:
        self.calls[(p, day)] = (CALL_CODES[kind], hours)
        return self

    def absent(self, p: int, first: int, last: int) -> Program:
        self.absences.append((p, first, last))
        return self

    def credential(self, p: int, what: str) -> Program:
        self.credentials.append(Credential(p, what, None, None))
        return self

    def need(self, code: str, *, min_count: int, days: Iterable[int], slots: Iterable[int] = (0, 1),
             optimum: int | None = None, max_count: int = NO_MAX) -> Program:
        slot_list = list(slots)
        for d in days:
            for h in slot_list:
                self.needs[(self.index[code], 2 * d + h)] = (
                    min_count, optimum if optimum is not None else min_count, max_count)
        return self

    def snapshot(self) -> ScheduleSnapshot:
        P, A, D = len(self.people), len(self.activities), self.n_days
        codes = np.full((P, 2 * D), -1, dtype=np.int16)
        for (p, s), a in self.cells.items():
            codes[p, s] = a
        call = np.zeros((P, D), dtype=np.int8)
        hours = np.full((P, D), np.nan, dtype=np.float32)
        for (p, d), (kind, h) in self.calls.items():
            call[p, d] = kind
            if h is not None:
                hours[p, d] = h
        absent = np.zeros((P, D), dtype=bool)
        for p, a0, a1 in self.absences:
            absent[p, a0 : a1 + 1] = True
        req = np.zeros((3, A, 2 * D), dtype=np.int16)
        req[2] = NO_MAX
        for (a, s), values in self.needs.items():
            req[:, a, s] = values
        return freeze(self.start, D, self.tz, tuple(self.people), tuple(self.activities), codes, call, hours,
                      absent, req, tuple(self.credentials), self.rules)


def freeze(start: dt.date, n_days: int, tz: str, people: tuple[PersonInfo, ...],
           activities: tuple[ActivityInfo, ...], codes: Any, call: Any, hours: Any, absent: Any, req: Any,
           credentials: tuple[Credential, ...], rules: RuleValues) -> ScheduleSnapshot:
    P, D = len(people), n_days

    def ro(a: Any) -> Any:
        out = np.array(a, copy=True)
        out.setflags(write=False)
        return out

    digest = hashlib.sha256()
    for part in (codes, call, np.nan_to_num(hours, nan=-1), absent, req):
        digest.update(np.ascontiguousarray(part).tobytes())
    digest.update(repr((people, activities, credentials, rules, start, n_days)).encode())
    blocks = tuple(BlockSpan(i + 1, d0, min(d0 + 27, D - 1)) for i, d0 in enumerate(range(0, D, 28)))
    return ScheduleSnapshot(
        program_id="prog", program_name="Resilience test program", time_zone=tz,
        academic_year=start.year if start.month >= 7 else start.year - 1, start=start,
        end=start + dt.timedelta(days=D - 1), people=people, activities=activities,
        codes=ro(codes), source=ro(np.zeros((P, 2 * D), dtype=np.int8)),
        locked=ro(np.zeros((P, 2 * D), dtype=bool)), call=ro(call), call_hours=ro(hours),
        absent=ro(absent), away=ro(absent), pending_absence=ro(np.zeros((P, D), dtype=bool)),
        req_min=ro(req[0]), req_opt=ro(req[1]), req_max=ro(req[2]),
        holiday=ro(np.zeros(D, dtype=bool)), clinic_closed=ro(np.zeros(D, dtype=bool)),
        credentials=credentials, call_pools=(), blocks=blocks, rules=rules, rule_set_number=1,
        utc_offset=ro(_utc_offsets(tz, start, D + 2)), revision=digest.hexdigest(),
        person_index={p.id: i for i, p in enumerate(people)},
        activity_index={a.id: i for i, a in enumerate(activities)},
    )


# Weekly patterns (Monday first) of the synthetic rotations: (AM, PM) codes, None = nothing assigned.
_WEEKS: dict[str, tuple[tuple[str | None, str | None], ...]] = {
    "WARDS": (("W", "W"), ("W", "W"), ("W", "LEC"), ("W", "W"), ("W", "W"), ("W", "W"), ("OFF", "OFF")),
    "ICU": (("ICU", "ICU"), ("ICU", "ICU"), ("ICU", "LEC"), ("ICU", "ICU"), ("ICU", "ICU"), ("OFF", "OFF"),
            ("ICU", "ICU")),
    "OB": (("OB", "OB"), ("OB", "OB"), ("OB", "LEC"), ("OB", "OB"), ("OB", "OB"), ("OB", "OB"), ("OFF", "OFF")),
    "NF": (("OFF", "NF"), ("OFF", "NF"), ("OFF", "NF"), ("OFF", "NF"), ("OFF", "NF"), ("OFF", "OFF"),
           ("OFF", "OFF")),
    "AMB": (("C", "C"), ("C", "ADM"), ("C", "LEC"), ("C", "C"), ("ADM", "C"), (None, None), (None, None)),
    "ELEC": (("ELEC", None), (None, "C"), ("ELEC", "LEC"), ("ELEC", None), ("C", "RES"), (None, None),
             (None, None)),
}
_FAC_WEEKS: dict[str, tuple[tuple[str | None, str | None], ...]] = {
    "FW": (("FW", "FW"),) * 5 + ((None, None), (None, None)),
    "CLIN": (("AT", "AT"), ("AT", "ADM"), ("AT", "LEC"), ("AT", "AT"), ("ADM", "AT"), (None, None), (None, None)),
    "DESK": (("ADM", None), (None, "AT"), ("ADM", "LEC"), (None, None), ("AT", None), (None, None), (None, None)),
}


def synthetic_program(residents: int, faculty: int, days: int = 28, *, seed: int = 7,
                      start: dt.date = dt.date(2026, 7, 6)) -> ScheduleSnapshot:
    """A program of the given size: rotations per 28-day block, call, clinic, requirements.

    Requirements are set from what the schedule staffs (min = staffed minus a slack on the bigger
    services), so the schedule is mostly feasible and the analyses have real work to do.
    """
    rng = np.random.default_rng(seed)
    prog = Program(start, days)
    pgys = [1 + (i % 3) for i in range(residents)]
    res = [prog.person(f"Resident {i:03d}", pgy=pgys[i]) for i in range(residents)]
    fac = [prog.person(f"Faculty {i:03d}", kind="faculty") for i in range(faculty)]
    for i in res:
        if rng.random() < 0.3:
            prog.credential(i, "obstetrics")
    rotations = ["WARDS", "WARDS", "ICU", "OB", "NF", "AMB", "AMB", "ELEC"]
    weekday0 = start.weekday()
    for block0 in range(0, days, 28):
        for n, p in enumerate(res):
            rot = rotations[(n + block0 // 28 + int(rng.integers(0, 2))) % len(rotations)]
            if rot in ("ICU", "NF") and pgys[n] == 1:
                rot = "WARDS"
            if rot == "OB" and not any(c.person == p for c in prog.credentials):
                rot = "AMB"
            week = _WEEKS[rot]
            for d in range(block0, min(block0 + 28, days)):
                am, pm = week[(weekday0 + d) % 7]
                if am:
                    prog.put(p, am, days=[d], slots=[0])
                if pm:
                    prog.put(p, pm, days=[d], slots=[1])
            if rot in ("WARDS", "ICU", "OB"):
                for d in range(block0 + n % 4, min(block0 + 28, days), 4):
                    if (weekday0 + d) % 7 != 6:
                        prog.call(p, d)
                        if d + 1 < days:
                            prog.put(p, "PC", days=[d + 1])
        for n, p in enumerate(fac):
            kind = ("FW", "CLIN", "CLIN", "DESK")[(n + block0 // 28) % 4]
            week = _FAC_WEEKS[kind]
            for d in range(block0, min(block0 + 28, days)):
                am, pm = week[(weekday0 + d) % 7]
                if am:
                    prog.put(p, am, days=[d], slots=[0])
                if pm:
                    prog.put(p, pm, days=[d], slots=[1])
    # a few approved absences
    for p in rng.choice(len(prog.people), size=max(1, len(prog.people) // 15), replace=False):
        d0 = int(rng.integers(0, max(1, days - 5)))
        prog.absent(int(p), d0, min(days - 1, d0 + 4))
        prog.put(int(p), None, days=range(d0, min(days, d0 + 5)))
    snap0 = prog.snapshot()
    # requirements from staffing: min = staffed minus slack on the big services
    A = len(prog.activities)
    counts = np.zeros((A, 2 * days), dtype=np.int64)
    c = snap0.codes.astype(np.int64)
    for a in range(A):
        counts[a] = (c == a).sum(axis=0)
    for code in ("W", "ICU", "OB", "NF", "C", "AT", "FW"):
        a = prog.index[code]
        for s in range(2 * days):
            k = int(counts[a, s])
            if k == 0:
                continue
            slack = k // 4 if code in ("W", "C") else 0
            prog.needs[(a, s)] = (k - slack, k, NO_MAX)
    return prog.snapshot()
