"""Build a `ScheduleSnapshot` in memory from a compact description (no database).

    b = SnapBuilder(dt.date(2026, 7, 6), days=28)
    lee = b.person("Dr Lee", pgy=1)
    b.days(lee, range(0, 6), "LONG")           # whole day in one activity
    b.call(lee, 3, "in_house")
    snap = b.build()

A palette of activities is predefined (see `DEFAULT_ACTIVITIES`); `b.activity(...)` adds more.
"""

from __future__ import annotations

import dataclasses
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

H = 60

# code: (am span (start, minutes), pm span, category, flags)
DEFAULT_ACTIVITIES: dict[str, dict[str, Any]] = {
    "C": dict(am=(8 * H, 4 * H), pm=(13 * H, 4 * H), category="clinic", needs_supervision=True,
              counts_clinic_capacity=True),
    "IP": dict(am=(7 * H, 6 * H), pm=(13 * H, 6 * H), category="inpatient"),
    "NF": dict(am=(0, 0), pm=(19 * H, 12 * H), category="night", is_night_float=True),
    "AT": dict(am=(8 * H, 4 * H), pm=(13 * H, 4 * H), category="supervision", provides_supervision=True,
               eligible_kinds=("faculty",)),
    "OFF": dict(am=(0, 0), pm=(0, 0), category="off"),
    "LV": dict(am=(0, 0), pm=(0, 0), category="leave"),
    "PC": dict(am=(0, 0), pm=(0, 0), category="postcall"),
    # Test-vector shapes
    "D14": dict(am=(7 * H, 6 * H), pm=(13 * H, 8 * H), category="inpatient"),  # 07:00-21:00
    "D13": dict(am=(7 * H, 6 * H), pm=(13 * H, 7 * H), category="inpatient"),  # 07:00-20:00
    "D12": dict(am=(7 * H, 6 * H), pm=(13 * H, 6 * H), category="inpatient"),  # 07:00-19:00
    "C7": dict(am=(7 * H, 5 * H), pm=(13 * H, 4 * H), category="clinic"),  # AM 07:00-12:00
    "PROC": dict(am=(8 * H, 4 * H), pm=(13 * H, 4 * H), category="procedure", needs_supervision=True,
                 is_procedure=True, counts_clinic_capacity=True, required_credential="procedures"),
    "ICU": dict(am=(7 * H, 6 * H), pm=(13 * H, 6 * H), category="inpatient", eligible_pgy=(2, 3)),
}


class SnapBuilder:
    def __init__(
        self,
        start: dt.date,
        days: int,
        *,
        tz: str = "America/New_York",
        rules: RuleValues | None = None,
        activities: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.start = start
        self.n_days = days
        self.tz = tz
        self.rules = rules or RuleValues()
        self.people: list[PersonInfo] = []
        self.acts: list[ActivityInfo] = []
        self.code_index: dict[str, int] = {}
        for code, spec in (activities or DEFAULT_ACTIVITIES).items():
            self.activity(code, **spec)
        self._assign: dict[tuple[int, int], int] = {}
        self._calls: dict[int, tuple[int, int, float | None]] = {}
        self._calls_list: list[tuple[int, int, str, float | None]] = []
        self._absent: list[tuple[int, int, int, bool, bool]] = []
        self._creds: list[Credential] = []
        self._req: list[tuple[str, int, int, int, int]] = []
        self.blocks: list[BlockSpan] = []

    # ------------------------------------------------------------------------------ vocabulary
    def activity(
        self,
        code: str,
        *,
        am: tuple[int, int] = (0, 0),
        pm: tuple[int, int] = (0, 0),
        category: str = "clinic",
        needs_supervision: bool = False,
        provides_supervision: bool = False,
        counts_clinic_capacity: bool = False,
        is_procedure: bool = False,
        is_night_float: bool = False,
        eligible_kinds: tuple[str, ...] = ("resident", "faculty"),
        eligible_pgy: tuple[int, ...] = (),
        required_credential: str | None = None,
    ) -> int:
        info = ActivityInfo(
            id=f"act-{code}", code=code, name=code, colour="#cccccc", category=category,
            span_start=(am[0], pm[0]), span_minutes=(am[1], pm[1]), needs_supervision=needs_supervision,
            provides_supervision=provides_supervision, counts_clinic_capacity=counts_clinic_capacity,
            is_procedure=is_procedure, is_night_float=is_night_float, eligible_kinds=eligible_kinds,
            eligible_pgy=eligible_pgy, required_credential=required_credential, shed_priority=4,
        )
        self.code_index[code] = len(self.acts)
        self.acts.append(info)
        return len(self.acts) - 1

    def person(self, name: str, kind: str = "resident", pgy: int = 1, *, cap: int | None = None,
               role: str | None = None) -> int:
        pid = f"p{len(self.people)}-{name.replace(' ', '_')}"
        self.people.append(PersonInfo(pid, name, kind, pgy if kind == "resident" else 0,
                                      role if kind == "faculty" else None, cap))
        return len(self.people) - 1

    # ----------------------------------------------------------------------------- schedule
    def assign(self, p: int, day: int, slot: int, code: str | None) -> SnapBuilder:
        if code is None:
            self._assign.pop((p, 2 * day + slot), None)
        else:
            self._assign[(p, 2 * day + slot)] = self.code_index[code]
        return self

    def day(self, p: int, day: int, code: str, pm: str | None = None) -> SnapBuilder:
        self.assign(p, day, 0, code)
        self.assign(p, day, 1, pm if pm is not None else code)
        return self

    def days(self, p: int, days: Iterable[int], code: str) -> SnapBuilder:
        for d in days:
            self.day(p, d, code)
        return self

    def call(self, p: int, day: int, call_type: str = "in_house", hours: float | None = None) -> SnapBuilder:
        self._calls_list.append((p, day, call_type, hours))
        return self

    def absence(self, p: int, first: int, last: int, *, blocking: bool = True, away: bool = True) -> SnapBuilder:
        self._absent.append((p, first, last, blocking, away))
        return self

    def credential(self, p: int, what: str, valid_from: dt.date | None = None,
                   valid_to: dt.date | None = None) -> SnapBuilder:
        self._creds.append(Credential(p, what, valid_from, valid_to))
        return self

    def require(self, code: str, day: int, slot: int, min_count: int, optimum: int | None = None,
                max_count: int = NO_MAX) -> SnapBuilder:
        self._req.append((code, 2 * day + slot, min_count, optimum if optimum is not None else min_count, max_count))
        return self

    def block(self, number: int, first: int, last: int) -> SnapBuilder:
        self.blocks.append(BlockSpan(number, first, last))
        return self

    # -------------------------------------------------------------------------------- build
    def build(self) -> ScheduleSnapshot:
        P, A, D = len(self.people), len(self.acts), self.n_days
        S = 2 * D
        codes = np.full((P, S), -1, dtype=np.int16)
        for (p, s), a in self._assign.items():
            codes[p, s] = a
        call = np.zeros((P, D), dtype=np.int8)
        hours = np.full((P, D), np.nan, dtype=np.float32)
        for p, d, ctype, h in self._calls_list:
            call[p, d] = CALL_CODES[ctype]
            if h is not None:
                hours[p, d] = h
        absent = np.zeros((P, D), dtype=bool)
        away = np.zeros((P, D), dtype=bool)
        for p, a0, a1, blocking, aw in self._absent:
            if blocking:
                absent[p, a0 : a1 + 1] = True
            if aw:
                away[p, a0 : a1 + 1] = True
        req_min = np.zeros((A, S), dtype=np.int16)
        req_opt = np.zeros((A, S), dtype=np.int16)
        req_max = np.full((A, S), NO_MAX, dtype=np.int16)
        for code, s, mn, op, mx in self._req:
            a = self.code_index[code]
            req_min[a, s], req_opt[a, s], req_max[a, s] = mn, op, mx
        return make_snapshot(
            start=self.start, n_days=D, tz=self.tz, people=tuple(self.people), activities=tuple(self.acts),
            codes=codes, call=call, call_hours=hours, absent=absent, away=away, req_min=req_min,
            req_opt=req_opt, req_max=req_max, credentials=tuple(self._creds), blocks=tuple(self.blocks),
            rules=self.rules,
        )


def make_snapshot(
    *,
    start: dt.date,
    n_days: int,
    tz: str,
    people: tuple[PersonInfo, ...],
    activities: tuple[ActivityInfo, ...],
    codes: Any,
    call: Any,
    call_hours: Any,
    absent: Any,
    away: Any,
    req_min: Any | None = None,
    req_opt: Any | None = None,
    req_max: Any | None = None,
    credentials: tuple[Credential, ...] = (),
    blocks: tuple[BlockSpan, ...] = (),
    rules: RuleValues | None = None,
    rule_set_number: int = 1,
) -> ScheduleSnapshot:
    P, A, D = len(people), len(activities), n_days
    S = 2 * D
    if req_min is None:
        req_min = np.zeros((A, S), dtype=np.int16)
    if req_opt is None:
        req_opt = np.zeros((A, S), dtype=np.int16)
    if req_max is None:
        req_max = np.full((A, S), NO_MAX, dtype=np.int16)

    def ro(a: Any) -> Any:
        a = np.array(a, copy=True)
        a.setflags(write=False)
        return a

    h = hashlib.sha256()
    for part in (codes, call, np.nan_to_num(call_hours, nan=-1), absent, away):
        h.update(np.ascontiguousarray(part).tobytes())
    return ScheduleSnapshot(
        program_id="prog", program_name="Test program", time_zone=tz,
        academic_year=start.year if start.month >= 7 else start.year - 1,
        start=start, end=start + dt.timedelta(days=D - 1), people=people, activities=activities,
        codes=ro(codes), source=ro(np.zeros((P, S), dtype=np.int8)), locked=ro(np.zeros((P, S), dtype=bool)),
        call=ro(call), call_hours=ro(call_hours), absent=ro(absent), away=ro(away),
        pending_absence=ro(np.zeros((P, D), dtype=bool)), req_min=ro(req_min), req_opt=ro(req_opt),
        req_max=ro(req_max), holiday=ro(np.zeros(D, dtype=bool)), clinic_closed=ro(np.zeros(D, dtype=bool)),
        credentials=credentials, call_pools=(), blocks=blocks, rules=rules or RuleValues(),
        rule_set_number=rule_set_number, utc_offset=ro(_utc_offsets(tz, start, D + 2)), revision=h.hexdigest(),
        person_index={p.id: i for i, p in enumerate(people)}, activity_index={a.id: i for i, a in enumerate(activities)},
    )


def replace_arrays(snap: ScheduleSnapshot, **arrays: Any) -> ScheduleSnapshot:
    """A copy of a snapshot with some arrays replaced (read-only copies), for before/after tests."""
    changes: dict[str, Any] = {}
    for name, arr in arrays.items():
        a = np.array(arr, copy=True)
        a.setflags(write=False)
        changes[name] = a
    return dataclasses.replace(snap, **changes)


def shifted(snap: ScheduleSnapshot, days: int) -> ScheduleSnapshot:
    """The same schedule `days` later in the calendar: every assignment, call, absence, credential,
    block and requirement moves with it (the arrays stay, the first date moves)."""

    def later(d: dt.date | None) -> dt.date | None:
        return d + dt.timedelta(days=days) if d is not None else None

    return make_snapshot(
        start=snap.start + dt.timedelta(days=days), n_days=snap.n_days, tz=snap.time_zone,
        people=snap.people, activities=snap.activities, codes=snap.codes, call=snap.call,
        call_hours=snap.call_hours, absent=snap.absent, away=snap.away, req_min=snap.req_min,
        req_opt=snap.req_opt, req_max=snap.req_max,
        credentials=tuple(Credential(c.person, c.what, later(c.valid_from), later(c.valid_to))
                          for c in snap.credentials),
        blocks=snap.blocks, rules=snap.rules,
    )
