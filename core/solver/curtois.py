"""The Curtois & Qu "Nurse Rostering Instances 1..24" (schedulingbenchmarks.org): reader, scorer, mapping.

Three independent pieces:

* :func:`parse_instance` / :func:`read_instance` read the text format into frozen dataclasses
  (LF or CRLF, comments and blank lines skipped). Malformed input raises
  :class:`core.errors.ValidationError` with one sentence naming the line.
* :func:`evaluate` scores a roster exactly as the benchmark defines it (hard violations listed by kind,
  soft penalty exact). It is written from the format description alone and shares no code with the
  CP-SAT model, so it is a real cross-check of the solver.
* :func:`to_roster_model` maps an instance onto the general :class:`core.solver.roster.RosterModel`.

A roster is a sequence (one entry per employee, in file order) of sequences of length ``horizon`` holding a
shift id or ``None`` for a day off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ValidationError
from core.solver.roster import (
    CoverRequirement,
    Person,
    RosterModel,
    ShiftRequest,
    ShiftType,
)

SECTIONS: tuple[str, ...] = (
    "SECTION_HORIZON",
    "SECTION_SHIFTS",
    "SECTION_STAFF",
    "SECTION_DAYS_OFF",
    "SECTION_SHIFT_ON_REQUESTS",
    "SECTION_SHIFT_OFF_REQUESTS",
    "SECTION_COVER",
)

#: Best-known solution values ("[A] BKS" of BEST_KNOWN.md) for Instances 1..24, used when no
#: BEST_KNOWN.md is found next to an instance file.
BUILTIN_BEST_KNOWN: Mapping[int, int] = {
    1: 607, 2: 828, 3: 1001, 4: 1716, 5: 1143, 6: 1950, 7: 1056, 8: 1300, 9: 439, 10: 4631,
    11: 3443, 12: 4040, 13: 1348, 14: 1278, 15: 3828, 16: 3225, 17: 5746, 18: 4459, 19: 3149,
    20: 4769, 21: 21133, 22: 30241, 23: 17285, 24: 40439,
}


@dataclass(frozen=True)
class Shift:
    id: str
    minutes: int
    forbidden_next: frozenset[str]


@dataclass(frozen=True)
class Staff:
    id: str
    max_shifts: Mapping[str, int]
    max_total_minutes: int
    min_total_minutes: int
    max_consecutive_shifts: int
    min_consecutive_shifts: int
    min_consecutive_days_off: int
    max_weekends: int


@dataclass(frozen=True)
class Request:
    employee: str
    day: int
    shift: str
    weight: int


@dataclass(frozen=True)
class Cover:
    day: int
    shift: str
    requirement: int
    weight_under: int
    weight_over: int


@dataclass(frozen=True)
class Instance:
    horizon: int
    shifts: tuple[Shift, ...]
    staff: tuple[Staff, ...]
    days_off: Mapping[str, frozenset[int]]
    on_requests: tuple[Request, ...]
    off_requests: tuple[Request, ...]
    cover: tuple[Cover, ...]
    name: str = ""

    def shift(self, shift_id: str) -> Shift:
        for s in self.shifts:
            if s.id == shift_id:
                return s
        raise KeyError(shift_id)


@dataclass(frozen=True)
class Violation:
    kind: str  # rotation, max_shifts, max_minutes, min_minutes, max_consecutive, min_consecutive,
    # min_days_off, max_weekends, day_off, unknown_shift, shape
    employee: str
    detail: str


@dataclass(frozen=True)
class Evaluation:
    penalty: int
    hard: tuple[Violation, ...]
    on_request_penalty: int = 0
    off_request_penalty: int = 0
    under_cover_penalty: int = 0
    over_cover_penalty: int = 0
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return not self.hard


def _fail(path_name: str, line_no: int, message: str) -> ValidationError:
    return ValidationError(f"{path_name} line {line_no}: {message}.")


def _int(text: str, what: str, where: tuple[str, int]) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _fail(where[0], where[1], f"{what} must be a whole number, not {text.strip()!r}") from None


def parse_instance(text: str, *, name: str = "instance") -> Instance:
    """Parse the text of an instance file. Raises ValidationError on malformed input."""
    lines: list[tuple[int, str]] = []
    for no, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        lines.append((no, s))
    sections: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    for no, s in lines:
        if s.startswith("SECTION_"):
            if s not in SECTIONS:
                raise _fail(name, no, f"unknown section {s!r}")
            if s in sections:
                raise _fail(name, no, f"section {s} appears twice")
            current = s
            sections[s] = []
        elif current is None:
            raise _fail(name, no, "data before the first SECTION_ header")
        else:
            sections[current].append((no, s))
    missing = [s for s in SECTIONS if s not in sections]
    if missing:
        raise ValidationError(f"{name}: section {missing[0]} is missing.")

    horizon_lines = sections["SECTION_HORIZON"]
    if len(horizon_lines) != 1:
        raise ValidationError(f"{name}: SECTION_HORIZON must hold exactly one number.")
    horizon = _int(horizon_lines[0][1], "the horizon", (name, horizon_lines[0][0]))
    if horizon <= 0:
        raise _fail(name, horizon_lines[0][0], "the horizon must be positive")

    shifts: list[Shift] = []
    pending_forbidden: list[tuple[int, str, list[str]]] = []
    for no, s in sections["SECTION_SHIFTS"]:
        parts = [p.strip() for p in s.split(",")]
        if len(parts) < 2 or len(parts) > 3:
            raise _fail(name, no, "a shift line is ShiftID,LengthMins,Forbidden|Next")
        forb = [f.strip() for f in parts[2].split("|")] if len(parts) == 3 and parts[2] else []
        if not parts[0]:
            raise _fail(name, no, "the shift id is empty")
        minutes = _int(parts[1], "the shift length", (name, no))
        pending_forbidden.append((no, parts[0], forb))
        shifts.append(Shift(parts[0], minutes, frozenset(forb)))
    shift_ids = {sh.id for sh in shifts}
    if len(shift_ids) != len(shifts):
        raise ValidationError(f"{name}: a shift id appears twice in SECTION_SHIFTS.")
    for no, sid, forb in pending_forbidden:
        for f in forb:
            if f not in shift_ids:
                raise _fail(name, no, f"shift {sid} forbids unknown shift {f!r}")

    staff: list[Staff] = []
    for no, s in sections["SECTION_STAFF"]:
        parts = [p.strip() for p in s.split(",")]
        if len(parts) != 8:
            raise _fail(name, no, "a staff line has 8 comma-separated fields")
        max_shifts: dict[str, int] = {}
        for item in parts[1].split("|"):
            if "=" not in item:
                raise _fail(name, no, f"MaxShifts entry {item!r} is not ShiftID=n")
            k, v = (t.strip() for t in item.split("=", 1))
            if k not in shift_ids:
                raise _fail(name, no, f"MaxShifts names unknown shift {k!r}")
            max_shifts[k] = _int(v, "a MaxShifts count", (name, no))
        for sid in shift_ids:
            max_shifts.setdefault(sid, horizon)
        nums = [_int(p, "a staff limit", (name, no)) for p in parts[2:]]
        staff.append(Staff(parts[0], max_shifts, *nums))
    staff_ids = {e.id for e in staff}
    if len(staff_ids) != len(staff):
        raise ValidationError(f"{name}: an employee id appears twice in SECTION_STAFF.")

    def check_employee(e: str, no: int) -> None:
        if e not in staff_ids:
            raise _fail(name, no, f"unknown employee {e!r}")

    def check_day(d: int, no: int) -> None:
        if not 0 <= d < horizon:
            raise _fail(name, no, f"day {d} is outside the horizon 0..{horizon - 1}")

    def check_shift(sid: str, no: int) -> None:
        if sid not in shift_ids:
            raise _fail(name, no, f"unknown shift {sid!r}")

    days_off: dict[str, frozenset[int]] = {}
    for no, s in sections["SECTION_DAYS_OFF"]:
        parts = [p.strip() for p in s.split(",")]
        check_employee(parts[0], no)
        ds = [_int(p, "a day", (name, no)) for p in parts[1:] if p]
        for d in ds:
            check_day(d, no)
        days_off[parts[0]] = days_off.get(parts[0], frozenset()) | frozenset(ds)

    def requests(section: str) -> tuple[Request, ...]:
        out: list[Request] = []
        for no, s in sections[section]:
            parts = [p.strip() for p in s.split(",")]
            if len(parts) != 4:
                raise _fail(name, no, "a request line is EmployeeID,Day,ShiftID,Weight")
            check_employee(parts[0], no)
            d = _int(parts[1], "the day", (name, no))
            check_day(d, no)
            check_shift(parts[2], no)
            out.append(Request(parts[0], d, parts[2], _int(parts[3], "the weight", (name, no))))
        return tuple(out)

    cover: list[Cover] = []
    seen: set[tuple[int, str]] = set()
    for no, s in sections["SECTION_COVER"]:
        parts = [p.strip() for p in s.split(",")]
        if len(parts) != 5:
            raise _fail(name, no, "a cover line is Day,ShiftID,Requirement,WeightUnder,WeightOver")
        d = _int(parts[0], "the day", (name, no))
        check_day(d, no)
        check_shift(parts[1], no)
        if (d, parts[1]) in seen:
            raise _fail(name, no, f"cover for day {d} shift {parts[1]} is given twice")
        seen.add((d, parts[1]))
        req, wu, wo = (_int(p, "a cover number", (name, no)) for p in parts[2:])
        cover.append(Cover(d, parts[1], req, wu, wo))

    return Instance(
        horizon=horizon,
        shifts=tuple(shifts),
        staff=tuple(staff),
        days_off=days_off,
        on_requests=requests("SECTION_SHIFT_ON_REQUESTS"),
        off_requests=requests("SECTION_SHIFT_OFF_REQUESTS"),
        cover=tuple(cover),
        name=name,
    )


def read_instance(path: str | Path) -> Instance:
    """Read an instance file. Missing or unreadable files and bad content raise ValidationError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"The instance file {p} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"The instance file {p} cannot be read ({exc.__class__.__name__}).") from None
    return parse_instance(text, name=p.name)


Roster = Sequence[Sequence[str | None]]


def _runs(work: Sequence[bool]) -> Iterable[tuple[bool, int, int]]:
    start = 0
    for d in range(1, len(work) + 1):
        if d == len(work) or work[d] != work[start]:
            yield work[start], start, d - start
            start = d


def evaluate(instance: Instance, roster: Roster) -> Evaluation:
    """Score a roster by the rules of FORMAT.md (sections 4 and 5).

    ``roster[i]`` is employee ``instance.staff[i]``'s list of ``horizon`` entries (shift id or None).
    """
    H = instance.horizon
    shifts = {s.id: s for s in instance.shifts}
    hard: list[Violation] = []
    if len(roster) != len(instance.staff):
        hard.append(Violation("shape", "", f"{len(roster)} rows for {len(instance.staff)} employees"))
        return Evaluation(penalty=0, hard=tuple(hard))
    for emp, row in zip(instance.staff, roster):
        e = emp.id
        if len(row) != H:
            hard.append(Violation("shape", e, f"{len(row)} days for a horizon of {H}"))
            continue
        bad = [x for x in row if x is not None and x not in shifts]
        if bad:
            hard.append(Violation("unknown_shift", e, f"unknown shift {bad[0]!r}"))
            continue
        for d in range(H - 1):
            a, b = row[d], row[d + 1]
            if a is not None and b is not None and b in shifts[a].forbidden_next:
                hard.append(Violation("rotation", e, f"{a} on day {d} then {b} on day {d + 1}"))
        for sid in shifts:
            n = sum(1 for x in row if x == sid)
            if n > emp.max_shifts.get(sid, H):
                hard.append(Violation("max_shifts", e, f"{n} x {sid} > {emp.max_shifts.get(sid)}"))
        minutes = sum(shifts[x].minutes for x in row if x is not None)
        if minutes > emp.max_total_minutes:
            hard.append(Violation("max_minutes", e, f"{minutes} > {emp.max_total_minutes}"))
        if minutes < emp.min_total_minutes:
            hard.append(Violation("min_minutes", e, f"{minutes} < {emp.min_total_minutes}"))
        work = [x is not None for x in row]
        for is_work, start, length in _runs(work):
            internal = start > 0 and start + length < H
            if is_work and length > emp.max_consecutive_shifts:
                hard.append(Violation("max_consecutive", e, f"{length} days from day {start}"))
            if is_work and internal and length < emp.min_consecutive_shifts:
                hard.append(Violation("min_consecutive", e, f"{length} days from day {start}"))
            if not is_work and internal and length < emp.min_consecutive_days_off:
                hard.append(Violation("min_days_off", e, f"{length} days off from day {start}"))
        weekends = sum(1 for k in range(H // 7) if work[7 * k + 5] or work[7 * k + 6])
        if weekends > emp.max_weekends:
            hard.append(Violation("max_weekends", e, f"{weekends} > {emp.max_weekends}"))
        for d in sorted(instance.days_off.get(e, ())):
            if work[d]:
                hard.append(Violation("day_off", e, f"works on day {d}"))
    if any(v.kind == "shape" or v.kind == "unknown_shift" for v in hard):
        return Evaluation(penalty=0, hard=tuple(hard))

    index = {emp.id: i for i, emp in enumerate(instance.staff)}
    on_pen = sum(r.weight for r in instance.on_requests if roster[index[r.employee]][r.day] != r.shift)
    off_pen = sum(r.weight for r in instance.off_requests if roster[index[r.employee]][r.day] == r.shift)
    under = over = 0
    for c in instance.cover:
        n = sum(1 for row in roster if row[c.day] == c.shift)
        under += c.weight_under * max(0, c.requirement - n)
        over += c.weight_over * max(0, n - c.requirement)
    counts: dict[str, int] = {}
    for v in hard:
        counts[v.kind] = counts.get(v.kind, 0) + 1
    return Evaluation(
        penalty=on_pen + off_pen + under + over,
        hard=tuple(hard),
        on_request_penalty=on_pen,
        off_request_penalty=off_pen,
        under_cover_penalty=under,
        over_cover_penalty=over,
        counts=counts,
    )


def to_roster_model(instance: Instance) -> RosterModel:
    """Map an instance onto the general roster model (same hard rules, same objective)."""
    shift_types = tuple(ShiftType(s.id, s.minutes) for s in instance.shifts)
    forbidden = tuple(sorted((s.id, t) for s in instance.shifts for t in s.forbidden_next))
    people: list[Person] = []
    for emp in instance.staff:
        people.append(
            Person(
                id=emp.id,
                max_shifts={k: v for k, v in emp.max_shifts.items() if v < instance.horizon},
                min_total_minutes=emp.min_total_minutes,
                max_total_minutes=emp.max_total_minutes,
                max_consecutive_work=emp.max_consecutive_shifts,
                min_consecutive_work=emp.min_consecutive_shifts,
                min_consecutive_off=emp.min_consecutive_days_off,
                max_weekends=emp.max_weekends,
                unavailable=frozenset(instance.days_off.get(emp.id, frozenset())),
            )
        )
    requests = [ShiftRequest(r.employee, r.day, r.shift, r.weight, on=True) for r in instance.on_requests]
    requests += [ShiftRequest(r.employee, r.day, r.shift, r.weight, on=False) for r in instance.off_requests]
    cover = tuple(
        CoverRequirement(c.day, c.shift, optimum=c.requirement, under_weight=c.weight_under,
                         over_weight=c.weight_over)
        for c in instance.cover
    )
    return RosterModel(
        horizon=instance.horizon,
        shift_types=shift_types,
        people=tuple(people),
        cover=cover,
        forbidden_successions=forbidden,
        requests=tuple(requests),
        first_weekday=0,
        boundary_runs_exempt=True,
        name=instance.name,
    )


def format_roster(instance: Instance, roster: Roster) -> str:
    """One line per employee in file order: the id, then a tab-separated entry per day (shift id or -)."""
    out = []
    for emp, row in zip(instance.staff, roster):
        out.append("\t".join([emp.id] + [x if x is not None else "-" for x in row]))
    return "\n".join(out) + "\n"


_INSTANCE_NUMBER = re.compile(r"(\d+)")


def instance_number(path: str | Path) -> int | None:
    """The N of ``InstanceN.txt`` (None if the name carries no number)."""
    m = _INSTANCE_NUMBER.findall(Path(path).stem)
    return int(m[-1]) if m else None


def best_known(path: str | Path) -> int | None:
    """The best-known value for an instance file: from BEST_KNOWN.md next to it (column "[A] BKS"),
    else from the built-in table; None if unknown."""
    p = Path(path)
    number = instance_number(p)
    if number is None:
        return None
    table = p.parent / "BEST_KNOWN.md"
    if table.is_file():
        try:
            found = _bks_from_markdown(table.read_text(encoding="utf-8"), number)
        except (OSError, UnicodeDecodeError):
            found = None
        if found is not None:
            return found
    return BUILTIN_BEST_KNOWN.get(number)


def _bks_from_markdown(text: str, number: int) -> int | None:
    column: int | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("|"):
            column = None if not s else column
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if column is None:
            if "[A] BKS" in cells and cells and cells[0].lower().startswith("instance"):
                column = cells.index("[A] BKS")
            continue
        if cells and cells[0] == str(number) and len(cells) > column:
            digits = re.match(r"\d+", cells[column])
            return int(digits.group(0)) if digits else None
    return None
