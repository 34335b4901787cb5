"""`ScheduleSnapshot`: the immutable numpy view of a schedule over a date range.

The one input of the compliance engine, the resilience analyses, the solver's warm start and the
calendar's painting. Built from the database in one pass of queries; every array is read-only, so a
snapshot is safe to hand to any thread.

Indexing:
- people: `p` in 0..P-1 (residents first by PGY descending then name, then faculty, then staff)
- days: `d` in 0..D-1, date = start + d
- slots: `s` in 0..2D-1, s = 2 d + slot (AM = 0, PM = 1)
- activities: `a` in 0..A-1; `codes[p, s] == -1` means nothing assigned

Time: `abs_minutes(d, minute_of_day)` turns a local wall-clock time into elapsed minutes since local
midnight of `start`, through the program's time zone, so a night across a daylight-saving change
lasts 11 or 13 hours and a 24 h call 23 or 25.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.calendar import academic_year_of
from core.errors import NotFoundError
from core.rules.ruleset import RuleValues
from core.store import models as m

KIND_RESIDENT, KIND_FACULTY, KIND_STAFF = 0, 1, 2
KIND_CODES = {"resident": KIND_RESIDENT, "faculty": KIND_FACULTY, "staff": KIND_STAFF}
CALL_NONE, CALL_IN_HOUSE, CALL_HOME, CALL_BACKUP = 0, 1, 2, 3
CALL_CODES = {"in_house": CALL_IN_HOUSE, "home": CALL_HOME, "backup": CALL_BACKUP}
SOURCE_NONE, SOURCE_PRELOAD, SOURCE_MANUAL, SOURCE_GENERATED, SOURCE_TEMPLATE = 0, 1, 2, 3, 4
SOURCE_CODES = {"preload": 1, "manual": 2, "generated": 3, "template": 4}
NO_MAX = 9999

I16 = NDArray[np.int16]
I8 = NDArray[np.int8]
I32 = NDArray[np.int32]
F32 = NDArray[np.float32]
B = NDArray[np.bool_]


@dataclass(frozen=True)
class PersonInfo:
    id: str
    name: str
    kind: str
    pgy: int  # 0 for non-residents
    faculty_role: str | None
    clinic_cap_per_week: int | None


@dataclass(frozen=True)
class ActivityInfo:
    id: str
    code: str
    name: str
    colour: str
    category: str
    span_start: tuple[int, int]  # AM, PM: minutes after local midnight
    span_minutes: tuple[int, int]  # AM, PM: wall-clock length (0 = no duty)
    needs_supervision: bool
    provides_supervision: bool
    counts_clinic_capacity: bool
    is_procedure: bool
    is_night_float: bool
    eligible_kinds: tuple[str, ...]
    eligible_pgy: tuple[int, ...]
    required_credential: str | None
    shed_priority: int


@dataclass(frozen=True)
class Credential:
    person: int
    what: str
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(frozen=True)
class CallPool:
    service: str
    call_type: str
    kind: str
    eligible_pgy: tuple[int, ...]
    per_night: int


@dataclass(frozen=True)
class BlockSpan:
    number: int
    start: int  # day index (may be < 0 or >= D when the block is cut by the range)
    end: int  # inclusive


def _ro(a: np.ndarray[Any, Any]) -> Any:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ScheduleSnapshot:
    program_id: str
    program_name: str
    time_zone: str
    academic_year: int
    start: dt.date
    end: dt.date
    people: tuple[PersonInfo, ...]
    activities: tuple[ActivityInfo, ...]
    codes: I16  # [P, 2D] activity index or -1
    source: I8  # [P, 2D] SOURCE_*
    locked: B  # [P, 2D]
    call: I8  # [P, D] CALL_*
    call_hours: F32  # [P, D] hours actually worked (home/backup call); NaN when not entered
    absent: B  # [P, D] approved blocking absence
    away: B  # [P, D] approved absence that counts as time away from the program
    pending_absence: B  # [P, D] requested, not decided
    req_min: I16  # [A, 2D]
    req_opt: I16  # [A, 2D]
    req_max: I16  # [A, 2D] NO_MAX when unlimited
    holiday: B  # [D]
    clinic_closed: B  # [D]
    credentials: tuple[Credential, ...]
    call_pools: tuple[CallPool, ...]
    blocks: tuple[BlockSpan, ...]
    rules: RuleValues
    rule_set_number: int
    utc_offset: I32  # [D + 2, 24] UTC offset in minutes at each local hour of each day
    revision: str
    person_index: dict[str, int] = field(repr=False)
    activity_index: dict[str, int] = field(repr=False)
    partial: bool = False  # built for some people only (`person_ids`): slot-level rules need everybody

    # --------------------------------------------------------------------------------- shape
    @property
    def n_people(self) -> int:
        return len(self.people)

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def n_slots(self) -> int:
        return 2 * self.n_days

    def date_of(self, d: int) -> dt.date:
        return self.start + dt.timedelta(days=d)

    def day_of(self, day: dt.date) -> int:
        return (day - self.start).days

    # ----------------------------------------------------------------------------- derived arrays
    @property
    def kind(self) -> I8:
        return np.array([KIND_CODES[p.kind] for p in self.people], dtype=np.int8)

    @property
    def pgy(self) -> I8:
        return np.array([p.pgy for p in self.people], dtype=np.int8)

    def activity_array(self, attr: str) -> np.ndarray[Any, Any]:
        """A per-activity attribute as an array, e.g. activity_array('needs_supervision')."""
        return np.array([getattr(a, attr) for a in self.activities])

    def span_arrays(self) -> tuple[I32, I32]:
        """[A, 2] span start and length in wall-clock minutes, for AM and PM."""
        start = np.array([a.span_start for a in self.activities], dtype=np.int32).reshape(-1, 2)
        length = np.array([a.span_minutes for a in self.activities], dtype=np.int32).reshape(-1, 2)
        return start, length

    def eligible(self) -> B:
        """[P, A]: may person p hold activity a (kind, PGY, credential valid anywhere in range)."""
        P, A = self.n_people, len(self.activities)
        out = np.zeros((P, A), dtype=bool)
        if P == 0 or A == 0:
            return out
        creds: dict[str, B] = {}  # credential -> [P] held and valid somewhere in the range
        for c in self.credentials:
            if (c.valid_from is None or c.valid_from <= self.end) and (
                c.valid_to is None or c.valid_to >= self.start
            ):
                creds.setdefault(c.what, np.zeros(P, dtype=bool))[c.person] = True
        kind = np.array([p.kind for p in self.people], dtype=object)
        resident = kind == "resident"
        pgy = self.pgy
        for a, act in enumerate(self.activities):
            ok = np.isin(kind, np.array(act.eligible_kinds, dtype=object))
            if act.eligible_pgy:
                ok &= ~resident | np.isin(pgy, np.array(act.eligible_pgy))
            if act.required_credential:
                ok &= creds.get(act.required_credential, np.zeros(P, dtype=bool))
            out[:, a] = ok
        return out

    def abs_minutes(self, d: Any, minute: Any) -> Any:
        """Local wall-clock (day index, minutes after midnight) -> elapsed minutes since start.

        Vectorized over numpy arrays. Days may run from -1 to D (one day of margin each side
        uses the offset of the nearest known day).
        """
        d_arr = np.asarray(d, dtype=np.int64)
        mi = np.asarray(minute, dtype=np.int64)
        day = d_arr + mi // 1440
        mod = mi % 1440
        row = np.clip(day, 0, self.utc_offset.shape[0] - 1)
        off = self.utc_offset[row, np.clip(mod // 60, 0, 23)].astype(np.int64)
        return day * 1440 + mod - (off - int(self.utc_offset[0, 0]))


def _utc_offsets(tz_name: str, start: dt.date, n_days: int) -> I32:
    tz = ZoneInfo(tz_name)
    out = np.zeros((n_days, 24), dtype=np.int32)
    for d in range(n_days):
        day = start + dt.timedelta(days=d)
        first = dt.datetime(day.year, day.month, day.day, 0, tzinfo=tz).utcoffset()
        last = dt.datetime(day.year, day.month, day.day, 23, tzinfo=tz).utcoffset()
        assert first is not None and last is not None
        if first == last:
            out[d, :] = int(first.total_seconds() // 60)
        else:
            for h in range(24):
                o = dt.datetime(day.year, day.month, day.day, h, tzinfo=tz).utcoffset()
                assert o is not None
                out[d, h] = int(o.total_seconds() // 60)
    return out


def _sort_people(people: list[PersonInfo]) -> list[PersonInfo]:
    def key(p: PersonInfo) -> tuple[int, int, str, str]:
        # the id breaks ties, so a snapshot of some people orders them as one of everybody does
        return (KIND_CODES[p.kind], -p.pgy, p.name, p.id)

    return sorted(people, key=key)


# The SQLite fast path of the assignment read (the one big table of a snapshot): SQLite itself maps
# each row to one 64-bit number (activity rowid, slot index, source code, locked), so Python handles
# one integer per row instead of six objects (dates parsed, strings hashed). One correlated
# sub-query per person of the program walks the unique (person, date, slot) index over the range and
# returns that person's numbers as one `group_concat` string: no join on the person id per row, and
# the same plan for a block or a whole year.
_PACK_BITS_SLOT, _PACK_BITS_ACTIVITY = 16, 16
_PACKED_SQL = (
    "SELECT p.rowid, (SELECT group_concat(((a.rowid * 65536 "
    "+ CAST(julianday(x.date) - julianday(?) AS INTEGER) * 2 + x.slot) * 8 "
    "+ (CASE x.source WHEN 'preload' THEN 1 WHEN 'manual' THEN 2 WHEN 'generated' THEN 3 "
    "WHEN 'template' THEN 4 ELSE 0 END)) * 2 + x.locked) "
    "FROM assignment x JOIN activity a ON a.id = x.activity_id "
    "WHERE x.person_id = p.id AND x.date >= ? AND x.date <= ? AND x.deleted = 0) "
    "FROM person p WHERE p.program_id = ?"
)


def _id_filter(column: str, person_ids: tuple[str, ...] | None) -> str:
    """`AND column IN (?, ...)` for a snapshot of some people (the ids are bound as parameters)."""
    return "" if person_ids is None else f" AND {column} IN ({', '.join('?' * len(person_ids))})"


def _packed_assignments(
    session: Session, start: dt.date, end: dt.date, pidx: dict[str, int], aidx: dict[str, int],
    program_id: str, person_ids: tuple[str, ...] | None = None,
) -> tuple[Any, Any, Any, Any, Any] | None:
    """(person, activity, slot, source, locked) index arrays of the assignments in [start, end], or
    None when the fast path does not apply (not SQLite, or numbers too large to pack)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or (end - start).days >= (1 << (_PACK_BITS_SLOT - 1)):
        return None
    max_activity = connection.exec_driver_sql("SELECT max(rowid) FROM activity").scalar() or 0
    if max_activity >= (1 << _PACK_BITS_ACTIVITY):
        return None
    person_of: dict[int, int] = {}
    some = person_ids or ()
    for rowid, pid in connection.exec_driver_sql(
        "SELECT rowid, id FROM person WHERE program_id = ?" + _id_filter("id", person_ids), (program_id, *some)
    ):
        person_of[rowid] = pidx.get(pid, -1)
    activity_of = np.full(max_activity + 1, -1, dtype=np.int64)
    for rowid, aid in connection.exec_driver_sql("SELECT rowid, id FROM activity"):
        activity_of[rowid] = aidx.get(aid, -1)
    parts: list[Any] = []
    owners: list[Any] = []
    for rowid, text_ in connection.exec_driver_sql(
        _PACKED_SQL + _id_filter("p.id", person_ids), (start.isoformat(), start.isoformat(), end.isoformat(), program_id, *some)
    ):
        p = person_of.get(rowid, -1)
        if not text_ or p < 0:
            continue
        v = np.fromstring(text_, dtype=np.int64, sep=",")  # parsed in C (the text mode is not deprecated)
        parts.append(v)
        owners.append(np.full(len(v), p, dtype=np.int64))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty.astype(np.int8), empty.astype(bool)
    v = np.concatenate(parts)
    pi = np.concatenate(owners)
    lk = (v & 1).astype(bool)
    so = ((v >> 1) & 7).astype(np.int8)
    si = (v >> 4) & 0xFFFF
    ai = activity_of[v >> 20]
    keep = ai >= 0
    return pi[keep], ai[keep], si[keep], so[keep], lk[keep]


def _listed_assignments(
    session: Session, start: dt.date, end: dt.date, pidx: dict[str, int], aidx: dict[str, int],
    person_ids: tuple[str, ...] | None = None,
) -> tuple[Any, Any, Any, Any, Any]:
    """The portable path of `_packed_assignments` (any database)."""
    q = select(m.Assignment.person_id, m.Assignment.date, m.Assignment.slot, m.Assignment.activity_id,
               m.Assignment.source, m.Assignment.locked).where(
        m.Assignment.date >= start, m.Assignment.date <= end, m.Assignment.deleted.is_(False))
    if person_ids is not None:
        q = q.where(m.Assignment.person_id.in_(person_ids))
    rows = session.execute(q).all()
    pi = np.fromiter((pidx.get(r[0], -1) for r in rows), dtype=np.int64, count=len(rows))
    si = np.fromiter((2 * (r[1] - start).days + r[2] for r in rows), dtype=np.int64, count=len(rows))
    ai = np.fromiter((aidx.get(r[3], -1) for r in rows), dtype=np.int64, count=len(rows))
    so = np.fromiter((SOURCE_CODES.get(r[4], 0) for r in rows), dtype=np.int8, count=len(rows))
    lk = np.fromiter((bool(r[5]) for r in rows), dtype=bool, count=len(rows))
    keep = (pi >= 0) & (ai >= 0)
    return pi[keep], ai[keep], si[keep], so[keep], lk[keep]


@functools.cache
def _statements() -> dict[Any, Any]:
    """The statements `build_snapshot` runs, made once with bound parameters (making a statement
    costs more than running it on the small tables; a snapshot runs about fifteen)."""
    P = bindparam
    ids: Any = P("ids", expanding=True)
    A_ = m.Activity
    q: dict[Any, Any] = {
        "rule_set": select(m.RuleSet.number, m.RuleSet.values)
        .where(m.RuleSet.program_id == P("program_id"), m.RuleSet.deleted.is_(False))
        .order_by(m.RuleSet.number.desc()).limit(1),
        "years": select(m.AcademicYear.id).where(
            m.AcademicYear.program_id == P("program_id"), m.AcademicYear.start_year >= P("first_year"),
            m.AcademicYear.start_year <= P("last_year"), m.AcademicYear.deleted.is_(False),
        ).order_by(m.AcademicYear.start_year),
        "activities": select(
            A_.id, A_.code, A_.name, A_.colour, A_.category, A_.am_start, A_.pm_start, A_.am_minutes, A_.pm_minutes,
            A_.needs_supervision, A_.provides_supervision, A_.counts_clinic_capacity, A_.is_procedure,
            A_.is_night_float, A_.eligible_kinds, A_.eligible_pgy, A_.required_credential, A_.shed_priority,
        ).where(A_.program_id == P("program_id"), A_.deleted.is_(False)).order_by(A_.code),
        "holidays": select(m.Holiday.date, m.Holiday.clinic_closed).where(
            m.Holiday.program_id == P("program_id"), m.Holiday.date >= P("start"), m.Holiday.date <= P("end"),
            m.Holiday.deleted.is_(False)),
        "coverage": select(
            m.CoverageRequirement.activity_id, m.CoverageRequirement.date, m.CoverageRequirement.weekday,
            m.CoverageRequirement.slot, m.CoverageRequirement.min_count, m.CoverageRequirement.optimum,
            m.CoverageRequirement.max_count,
        ).where(m.CoverageRequirement.program_id == P("program_id"), m.CoverageRequirement.deleted.is_(False)),
        "call_pools": select(
            m.CallRequirement.service, m.CallRequirement.call_type, m.CallRequirement.kind,
            m.CallRequirement.eligible_pgy, m.CallRequirement.per_night,
        ).where(m.CallRequirement.program_id == P("program_id"), m.CallRequirement.deleted.is_(False)),
        "blocks": select(m.Block.number, m.Block.start_date, m.Block.end_date)
        .where(m.Block.academic_year_id.in_(P("year_ids", expanding=True)), m.Block.deleted.is_(False))
        .order_by(m.Block.start_date),
    }
    for some in (False, True):  # everybody, or the people named in `ids`
        def only(column: Any, some: bool = some) -> tuple[Any, ...]:
            return (column.in_(ids),) if some else ()

        q[("resident_years", some)] = select(m.ResidentYear.person_id, m.ResidentYear.pgy).where(
            m.ResidentYear.academic_year_id == P("year_id"), m.ResidentYear.deleted.is_(False),
            *only(m.ResidentYear.person_id))
        for archived in (False, True):
            people = select(m.Person.id, m.Person.name, m.Person.kind, m.Person.faculty_role,
                            m.Person.clinic_cap_per_week).where(m.Person.program_id == P("program_id"),
                                                                m.Person.deleted.is_(False))
            if not archived:
                people = people.where(m.Person.archived.is_(False))
            q[("people", some, archived)] = people.where(*only(m.Person.id))
        q[("calls", some)] = select(
            m.CallAssignment.person_id, m.CallAssignment.date, m.CallAssignment.call_type, m.CallAssignment.hours_worked,
        ).where(m.CallAssignment.date >= P("start"), m.CallAssignment.date <= P("end"),
                m.CallAssignment.deleted.is_(False), *only(m.CallAssignment.person_id))
        q[("absences", some)] = select(
            m.Absence.person_id, m.Absence.start_date, m.Absence.end_date, m.Absence.status, m.Absence.blocking,
            m.Absence.counts_away,
        ).where(m.Absence.start_date <= P("end"), m.Absence.end_date >= P("start"), m.Absence.deleted.is_(False),
                *only(m.Absence.person_id))
        q[("credentials", some)] = select(
            m.Qualification.person_id, m.Qualification.what, m.Qualification.valid_from, m.Qualification.valid_to,
        ).where(m.Qualification.deleted.is_(False), *only(m.Qualification.person_id))
    return q


def active_rule_set(session: Session, program_id: str) -> tuple[int, RuleValues]:
    row = session.execute(_statements()["rule_set"], {"program_id": program_id}).first()
    if row is None:
        return 0, RuleValues()
    return row.number, RuleValues.from_dict(row.values)


def build_snapshot(
    session: Session,
    program_id: str,
    start: dt.date,
    end: dt.date,
    *,
    include_archived: bool = False,
    person_ids: Iterable[str] | None = None,
) -> ScheduleSnapshot:
    """Build the snapshot of [start, end] (inclusive) in one pass of queries.

    `person_ids` keeps only those people (in the order and with the rows a snapshot of everybody
    gives them): enough for the rules of one person, which read nothing of anyone else, and much
    less to read. Slot-level rules (supervision, capacity, coverage) need everybody.
    """
    some = None if person_ids is None else tuple(sorted(set(person_ids)))
    program = session.get(m.Program, program_id)
    if program is None:
        raise NotFoundError("That program does not exist in this database.")
    if end < start:
        raise NotFoundError("The end date is before the start date.")
    n_days = (end - start).days + 1
    ay = academic_year_of(start)
    # Every academic year the range touches: a resident is in the snapshot when they have a level
    # in any of them; their PGY is the one of the latest such year (a range across July 1 shows
    # the incoming level).
    # Plain column queries, made once (`_statements`; no ORM objects: a snapshot reads thousands of rows).
    q = _statements()
    named = some is not None
    by_program = {"program_id": program_id}
    dates = {"start": start, "end": end}
    people_of = {"ids": list(some)} if some is not None else {}
    year_ids = list(session.scalars(q["years"], {**by_program, "first_year": ay, "last_year": academic_year_of(end)}))
    pgy_by_person: dict[str, int] = {}
    for year_id in year_ids:
        for ry in session.execute(q[("resident_years", named)], {"year_id": year_id, **people_of}):
            pgy_by_person[ry.person_id] = ry.pgy
    persons = []
    for row in session.execute(q[("people", named, include_archived)], {**by_program, **people_of}):
        if row.kind == "resident" and row.id not in pgy_by_person:
            continue  # not a resident in this academic year (graduated or not yet started)
        persons.append(
            PersonInfo(
                id=row.id, name=row.name, kind=row.kind, pgy=pgy_by_person.get(row.id, 0),
                faculty_role=row.faculty_role, clinic_cap_per_week=row.clinic_cap_per_week,
            )
        )
    people = _sort_people(persons)
    pidx = {p.id: i for i, p in enumerate(people)}

    acts = []
    for a in session.execute(q["activities"], by_program):
        acts.append(
            ActivityInfo(
                id=a.id, code=a.code, name=a.name, colour=a.colour, category=a.category,
                span_start=(a.am_start, a.pm_start), span_minutes=(a.am_minutes, a.pm_minutes),
                needs_supervision=a.needs_supervision, provides_supervision=a.provides_supervision,
                counts_clinic_capacity=a.counts_clinic_capacity, is_procedure=a.is_procedure,
                is_night_float=a.is_night_float, eligible_kinds=tuple(a.eligible_kinds or ()),
                eligible_pgy=tuple(int(x) for x in (a.eligible_pgy or ())),
                required_credential=a.required_credential, shed_priority=a.shed_priority,
            )
        )
    aidx = {a.id: i for i, a in enumerate(acts)}
    P, A, S = len(people), len(acts), 2 * n_days

    codes = np.full((P, S), -1, dtype=np.int16)
    source = np.zeros((P, S), dtype=np.int8)
    locked = np.zeros((P, S), dtype=bool)
    packed = _packed_assignments(session, start, end, pidx, aidx, program_id, some)
    if packed is None:
        packed = _listed_assignments(session, start, end, pidx, aidx, some)
    pi, ai, si, so, lk = packed
    codes[pi, si] = ai
    source[pi, si] = so
    locked[pi, si] = lk

    call = np.zeros((P, n_days), dtype=np.int8)
    call_hours = np.full((P, n_days), np.nan, dtype=np.float32)
    call_rows = session.execute(q[("calls", named)], {**dates, **people_of}).all()
    for pid, day, ctype, hours in call_rows:
        p = pidx.get(pid)
        if p is None:
            continue
        d = (day - start).days
        call[p, d] = CALL_CODES[ctype]
        if hours is not None:
            call_hours[p, d] = hours

    absent = np.zeros((P, n_days), dtype=bool)
    away = np.zeros((P, n_days), dtype=bool)
    pending = np.zeros((P, n_days), dtype=bool)
    for ab in session.execute(q[("absences", named)], {**dates, **people_of}):
        p2 = pidx.get(ab.person_id)
        if p2 is None:
            continue
        d0 = max(0, (ab.start_date - start).days)
        d1 = min(n_days - 1, (ab.end_date - start).days)
        if ab.status == "approved":
            if ab.blocking:
                absent[p2, d0 : d1 + 1] = True
            if ab.counts_away:
                away[p2, d0 : d1 + 1] = True
        elif ab.status == "pending":
            pending[p2, d0 : d1 + 1] = True

    holiday = np.zeros(n_days, dtype=bool)
    closed = np.zeros(n_days, dtype=bool)
    for h in session.execute(q["holidays"], {**by_program, **dates}):
        d = (h.date - start).days
        holiday[d] = True
        closed[d] = h.clinic_closed

    req_min = np.zeros((A, S), dtype=np.int16)
    req_opt = np.zeros((A, S), dtype=np.int16)
    req_max = np.full((A, S), NO_MAX, dtype=np.int16)
    weekday = np.array([(start + dt.timedelta(days=d)).weekday() for d in range(n_days)])
    dated: list[tuple[int, Any]] = []
    selectors: dict[tuple[int | None, int], Any] = {}  # slot columns of each (weekday, slot), made once
    rule_cells: list[Any] = []  # flat (activity, slot) cells of each weekday rule, in row order
    rule_values: list[tuple[int, int, int]] = []
    for r in session.execute(q["coverage"], by_program):
        ai = aidx.get(r.activity_id)
        if ai is None:
            continue
        if r.date is not None:
            dated.append((ai, r))
            continue
        s_sel = selectors.get((r.weekday, r.slot))
        if s_sel is None:
            days_sel = np.arange(n_days) if r.weekday is None else np.nonzero(weekday == r.weekday)[0]
            s_sel = selectors[(r.weekday, r.slot)] = 2 * days_sel + r.slot
        rule_cells.append(ai * S + s_sel)
        rule_values.append((r.min_count, r.optimum, min(r.max_count, NO_MAX)))
    if rule_cells:  # every weekday rule at once; where rules name one cell, the later row wins (as in a loop)
        lengths = np.array([len(c) for c in rule_cells])
        cells = np.concatenate(rule_cells)
        row_of = np.repeat(np.arange(len(rule_cells)), lengths)
        order = np.argsort(cells, kind="stable")
        last = np.ones(len(order), dtype=bool)
        last[:-1] = cells[order][1:] != cells[order][:-1]
        pick = order[last]
        values = np.array(rule_values, dtype=np.int64)[row_of[pick]]
        for i, target in enumerate((req_min, req_opt, req_max)):
            target.reshape(-1)[cells[pick]] = values[:, i]
    for ai, r in dated:  # a requirement for one date overrides the weekday rule
        if r.date is not None and start <= r.date <= end:
            s = 2 * (r.date - start).days + r.slot
            req_min[ai, s], req_opt[ai, s], req_max[ai, s] = r.min_count, r.optimum, min(r.max_count, NO_MAX)
    # A closed clinic has no clinic demand.
    if closed.any():
        clinic = np.array([act.counts_clinic_capacity for act in acts], dtype=bool)
        cs = np.repeat(closed, 2)
        for ci in np.nonzero(clinic)[0]:
            req_min[ci, cs] = 0
            req_opt[ci, cs] = 0

    credentials = tuple(
        Credential(pidx[c.person_id], c.what, c.valid_from, c.valid_to)
        for c in session.execute(q[("credentials", named)], people_of)
        if c.person_id in pidx
    )
    pools = tuple(
        CallPool(c.service, c.call_type, c.kind, tuple(c.eligible_pgy or ()), c.per_night)
        for c in session.execute(q["call_pools"], by_program)
    )
    blocks = tuple(
        BlockSpan(b.number, (b.start_date - start).days, (b.end_date - start).days)
        for b in session.execute(q["blocks"], {"year_ids": year_ids})
        if b.end_date >= start and b.start_date <= end
    )
    rs_number, rules = active_rule_set(session, program_id)
    offsets = _utc_offsets(program.time_zone, start - dt.timedelta(days=0), n_days + 2)

    hasher = hashlib.sha256()
    for part in (codes, source, locked, call, np.nan_to_num(call_hours, nan=-1), absent, away, pending,
                 req_min, req_opt, req_max, holiday, closed):
        hasher.update(part.tobytes())
    hasher.update(repr((people, acts, credentials, pools, blocks, rules, rs_number, start, end, program.time_zone)).encode())

    return ScheduleSnapshot(
        program_id=program_id, program_name=program.name, time_zone=program.time_zone,
        academic_year=ay, start=start, end=end, people=tuple(people), activities=tuple(acts),
        codes=_ro(codes), source=_ro(source), locked=_ro(locked), call=_ro(call), call_hours=_ro(call_hours),
        absent=_ro(absent), away=_ro(away), pending_absence=_ro(pending), req_min=_ro(req_min),
        req_opt=_ro(req_opt), req_max=_ro(req_max), holiday=_ro(holiday), clinic_closed=_ro(closed),
        credentials=credentials, call_pools=pools, blocks=blocks, rules=rules, rule_set_number=rs_number,
        utc_offset=_ro(offsets), revision=hasher.hexdigest(), person_index=pidx, activity_index=aidx,
        partial=some is not None,
    )


@dataclass(frozen=True, eq=False)
class HeadCounts:
    """How many people of each class (kind code, PGY as in `PersonInfo`) hold each activity in each
    slot of some days: all that the slot-level rules read of a schedule. The numbers a snapshot of
    everybody over those days gives (`head_counts_of`), read without building one
    (`read_head_counts`)."""

    days: tuple[dt.date, ...]  # sorted
    academic_year: int | None  # the one academic year of the days (the PGY levels' year); None: several
    activity_ids: tuple[str, ...]  # the activities in snapshot order (`ScheduleSnapshot.activities`)
    classes: tuple[tuple[int, int], ...]  # (KIND_* code, pgy) of each first index of `counts`
    counts: NDArray[np.int64]  # [classes, days, 2 slots, activities]

    def day_index(self, day: dt.date) -> int | None:
        i = (day - self.days[0]).days if self.days else -1
        if 0 <= i < len(self.days) and self.days[i] == day:
            return i  # contiguous days (the usual case)
        return {d: j for j, d in enumerate(self.days)}.get(day)


def head_counts_of(snap: ScheduleSnapshot, days: Iterable[dt.date]) -> HeadCounts:
    """The head counts of `days` in a snapshot of everybody that covers them."""
    if snap.partial:
        raise ValueError("Head counts need a snapshot of everybody.")
    wanted = tuple(sorted(set(days)))
    classes = tuple(sorted({(KIND_CODES[p.kind], p.pgy) for p in snap.people}))
    class_of = np.array([classes.index((KIND_CODES[p.kind], p.pgy)) for p in snap.people], dtype=np.int64)
    A = len(snap.activities)
    counts = np.zeros((len(classes), len(wanted), 2, A), dtype=np.int64)
    for i, day in enumerate(wanted):
        d = snap.day_of(day)
        if not 0 <= d < snap.n_days:
            raise ValueError(f"{day.isoformat()} is outside the snapshot.")
        for slot in (0, 1):
            held = snap.codes[:, 2 * d + slot].astype(np.int64)
            some = held >= 0
            np.add.at(counts[:, i, slot, :], (class_of[some], held[some]), 1)
    years = {academic_year_of(day) for day in wanted}
    return HeadCounts(wanted, years.pop() if len(years) == 1 else None, tuple(a.id for a in snap.activities),
                      classes, counts)


# One string per person of the program: that person's live assignments on the days, each as
# date || slot || activity id, joined by the unit separator (ids never hold it; checked). The
# correlated sub-query walks the unique (person, date, slot) index, and SQLite does the joining,
# so Python touches one string per person instead of one row per assignment.
_HEAD_SEP = "\x1f"
_HEAD_COUNT_SQL = (
    "SELECT p.kind, ry.pgy, (SELECT group_concat(x.date || x.slot || x.activity_id, char(31)) "
    "FROM assignment x WHERE x.person_id = p.id AND {days} AND x.deleted = 0) "
    "FROM person p LEFT JOIN resident_year ry ON ry.person_id = p.id AND ry.academic_year_id = ? "
    "AND ry.deleted = 0 WHERE p.program_id = ? AND p.deleted = 0 AND p.archived = 0"
)


def read_head_counts(session: Session, program_id: str, days: Iterable[dt.date],
                     activity_ids: Iterable[str]) -> HeadCounts | None:
    """The head counts of `days` as `build_snapshot(session, program_id, first, last)` would give
    them (the same people: live, not archived, residents with a level in the days' academic year),
    for activities in the order `activity_ids` (a snapshot's). One query; None when the fast path
    does not apply (not SQLite, days in two academic years): build a snapshot instead."""
    wanted = tuple(sorted(set(days)))
    ids = tuple(activity_ids)
    if not wanted:
        return HeadCounts((), None, ids, (), np.zeros((0, 0, 2, len(ids)), dtype=np.int64))
    connection = session.connection()
    years = {academic_year_of(day) for day in wanted}
    if connection.dialect.name != "sqlite" or len(years) != 1 or any(_HEAD_SEP in a for a in ids):
        return None
    year = years.pop()
    year_id = connection.exec_driver_sql(
        "SELECT id FROM academic_year WHERE program_id = ? AND start_year = ? AND deleted = 0",
        (program_id, year)).scalar()
    entries: dict[tuple[int, int], list[str]] = {}
    day_args: tuple[str, ...] = tuple(d.isoformat() for d in wanted)
    if (wanted[-1] - wanted[0]).days < 2 * len(wanted):  # one range (days between are left out below)
        days_sql, day_args = "x.date >= ? AND x.date <= ?", (day_args[0], day_args[-1])
    else:
        days_sql = f"x.date IN ({', '.join('?' * len(wanted))})"
    sql = _HEAD_COUNT_SQL.format(days=days_sql)
    for kind, pgy, text_ in connection.exec_driver_sql(sql, (*day_args, year_id, program_id)):
        if kind == "resident" and pgy is None:
            continue  # not a resident in this academic year (as in build_snapshot)
        if text_:
            entries.setdefault((KIND_CODES[kind], 0 if pgy is None else int(pgy)), []).extend(text_.split(_HEAD_SEP))
    classes = tuple(sorted(entries))
    day_of = {d.isoformat(): i for i, d in enumerate(wanted)}
    activity_of = {a: i for i, a in enumerate(ids)}
    counts = np.zeros((len(classes), len(wanted), 2, len(ids)), dtype=np.int64)
    cells: list[tuple[int, int, int, int, int]] = []  # (class, day, slot, activity, n), each cell once
    for c, cls in enumerate(classes):
        for entry, n in Counter(entries[cls]).items():
            d, a = day_of.get(entry[:10]), activity_of.get(entry[11:])
            if d is not None and a is not None:  # an unknown activity is left out, as in a snapshot
                cells.append((c, d, int(entry[10]), a, n))
    if cells:
        at = np.array(cells, dtype=np.int64).T
        counts[at[0], at[1], at[2], at[3]] = at[4]
    return HeadCounts(wanted, year, ids, classes, counts)


def with_changes(
    snap: ScheduleSnapshot,
    *,
    codes: I16 | None = None,
    call: I8 | None = None,
    call_hours: F32 | None = None,
    absent: B | None = None,
) -> ScheduleSnapshot:
    """A copy of the snapshot with some matrices replaced (what-if analyses, proposed edits)."""
    import dataclasses

    changes: dict[str, Any] = {}
    for name, arr in (("codes", codes), ("call", call), ("call_hours", call_hours), ("absent", absent)):
        if arr is not None:
            a = np.array(arr, copy=True)
            changes[name] = _ro(a)
    h = hashlib.sha256(snap.revision.encode())
    for arr in changes.values():
        h.update(arr.tobytes())
    changes["revision"] = h.hexdigest()
    return dataclasses.replace(snap, **changes)
