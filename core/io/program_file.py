"""The program file: a whole program as one versioned JSON document.

`export_program` writes the program, its academic years and blocks, holidays, people, PGY years,
qualifications, activities, rotations (with their weekly pattern), rotation assignments, coverage
and call requirements, rule sets, assignments, calls and absences. `import_program` reads such a
document into an empty database: it validates everything first (shape, types, enums, dates, unique
keys, references between rows) and writes nothing when anything is wrong, naming the JSON path of
the bad field (`$.assignments[12].slot: must be 0 or 1`).

The document is canonical: keys sorted, rows in a fixed order, ISO dates, ids preserved, so
export -> import -> export gives the same bytes. Sync bookkeeping (`version`, tombstoned rows),
the audit log, the outbox, drafts, swaps and notifications are not part of a program file.

The format is described by `json_schema()`, kept in `docs/program-file.schema.json`
(regenerate with `python -m core.io.program_file --write-schema docs/program-file.schema.json`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Boolean, Date, DateTime, Engine, Float, Integer, String, Text, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.types import JSON

from core.calendar import BLOCK_LAYOUTS
from core.errors import DatabaseError, ValidationError
from core.rules.ruleset import RuleValues
from core.store import models as m

FORMAT_NAME = "residency-scheduler-program"
FORMAT_VERSION = 1
MAX_PROBLEMS_LISTED = 5

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COLOUR_RE = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
PERSON_KINDS = ("resident", "faculty", "staff")
FACULTY_ROLES = ("pd", "apd", "core", "adjunct", "specialist")


class ProgramFileError(ValidationError):
    """A program file that cannot be imported; `problems` lists every 'path: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:MAX_PROBLEMS_LISTED])
        more = len(problems) - MAX_PROBLEMS_LISTED
        extra = f" (and {more} more problem{'s' if more != 1 else ''})" if more > 0 else ""
        super().__init__(f"{shown}{extra}; nothing was imported.", field=problems[0].split(":")[0])


# ------------------------------------------------------------------------------------ the format
@dataclass(frozen=True)
class FieldSpec:
    """One field of a row: its JSON type and the checks an import applies."""

    name: str
    kind: str  # id | string | integer | number | boolean | date | datetime | object | array
    nullable: bool = False
    max_length: int | None = None
    choices: tuple[Any, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    ref: str | None = None  # the section whose ids this field points at
    items: dict[str, Any] | None = None  # JSON Schema of array items
    pattern: str | None = None


@dataclass(frozen=True)
class SectionSpec:
    """One kind of row: a list at `$.<name>` (or nested in a parent row at `$.<parent>[i].<name>`)."""

    name: str
    model: type[m.Base]
    fields: tuple[FieldSpec, ...]
    order: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    scope: str = "program_id"  # how rows belong to the program: program_id | person | academic_year | rotation
    parent: str | None = None  # nested section: the parent section's name ...
    parent_field: str | None = None  # ... and this row's column that holds the parent's id
    checks: tuple[Callable[[dict[str, Any]], tuple[str, str] | None], ...] = field(default=())

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


_JSON_KIND_OF_ANNOTATION = {"dict": "object", "list": "array"}


def _kind_of(model: type[m.Base], name: str) -> tuple[str, bool, int | None]:
    column = model.__table__.c[name]  # type: ignore[attr-defined]
    t = column.type
    if name == "id" or name.endswith("_id"):
        kind = "id"
    elif isinstance(t, Boolean):
        kind = "boolean"
    elif isinstance(t, Integer):
        kind = "integer"
    elif isinstance(t, Float):
        kind = "number"
    elif isinstance(t, DateTime):
        kind = "datetime"
    elif isinstance(t, Date):
        kind = "date"
    elif isinstance(t, JSON):
        annotation = str(model.__annotations__.get(name, ""))
        inner = annotation.removeprefix("Mapped[").split("[")[0]
        kind = _JSON_KIND_OF_ANNOTATION.get(inner, "object")
    elif isinstance(t, String | Text):
        kind = "string"
    else:  # pragma: no cover - a new column type needs a decision here
        raise TypeError(f"{model.__name__}.{name}: no program-file kind for {t!r}")
    length = getattr(t, "length", None) if kind in ("string", "id") else None
    return kind, bool(column.nullable), length


def _fields(model: type[m.Base], names: Iterable[str], **overrides: dict[str, Any]) -> tuple[FieldSpec, ...]:
    out = []
    for name in names:
        kind, nullable, length = _kind_of(model, name)
        spec: dict[str, Any] = {"name": name, "kind": kind, "nullable": nullable, "max_length": length}
        spec.update(overrides.get(name, {}))
        out.append(FieldSpec(**spec))
    return tuple(out)


def _ordered(row: dict[str, Any], first: str, last: str, what: str) -> tuple[str, str] | None:
    a, b = row.get(first), row.get(last)
    if isinstance(a, dt.date) and isinstance(b, dt.date) and b < a:
        return last, f"{what} ends before it starts ({b.isoformat()} < {a.isoformat()})"
    return None


def _coverage_order(row: dict[str, Any]) -> tuple[str, str] | None:
    lo, opt, hi = row.get("min_count"), row.get("optimum"), row.get("max_count")
    if isinstance(lo, int) and isinstance(opt, int) and isinstance(hi, int) and not lo <= opt <= hi:
        return "optimum", f"must lie between min_count and max_count ({lo} <= {opt} <= {hi} does not hold)"
    return None


def _faculty_role_only_for_faculty(row: dict[str, Any]) -> tuple[str, str] | None:
    if row.get("faculty_role") is not None and row.get("kind") != "faculty":
        return "faculty_role", "only faculty have a faculty role"
    return None


PGY_ITEMS = {"type": "integer", "minimum": 1, "maximum": 8}
_SLOT = {"choices": (0, 1)}
_WEEKDAY = {"minimum": 0, "maximum": 6}
_COLOUR = {"pattern": COLOUR_RE.pattern}

SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "academic_years", m.AcademicYear,
        _fields(m.AcademicYear, ("id", "start_year", "start_date", "end_date", "block_layout"),
                start_year={"minimum": 1900, "maximum": 2999}, block_layout={"choices": BLOCK_LAYOUTS}),
        order=("start_year", "id"), unique=(("start_year",),),
        checks=(lambda r: _ordered(r, "start_date", "end_date", "the academic year"),),
    ),
    SectionSpec(
        "blocks", m.Block,
        _fields(m.Block, ("id", "academic_year_id", "number", "start_date", "end_date"),
                academic_year_id={"ref": "academic_years"}, number={"minimum": 0, "maximum": 99}),
        order=("start_date", "number", "id"), unique=(("academic_year_id", "number"),), scope="academic_year",
        checks=(lambda r: _ordered(r, "start_date", "end_date", "the block"),),
    ),
    SectionSpec(
        "holidays", m.Holiday, _fields(m.Holiday, ("id", "date", "name", "clinic_closed")),
        order=("date", "id"), unique=(("date",),),
    ),
    SectionSpec(
        "people", m.Person,
        _fields(m.Person, ("id", "name", "kind", "faculty_role", "clinic_cap_per_week", "email", "archived",
                           "sort_key"),
                kind={"choices": PERSON_KINDS}, faculty_role={"choices": FACULTY_ROLES},
                clinic_cap_per_week={"minimum": 0, "maximum": 14}),
        order=("kind", "sort_key", "name", "id"), checks=(_faculty_role_only_for_faculty,),
    ),
    SectionSpec(
        "resident_years", m.ResidentYear,
        _fields(m.ResidentYear, ("id", "person_id", "academic_year_id", "pgy"),
                person_id={"ref": "people"}, academic_year_id={"ref": "academic_years"},
                pgy={"minimum": 1, "maximum": 8}),
        order=("person_id", "academic_year_id", "id"), unique=(("person_id", "academic_year_id"),),
        scope="person",
    ),
    SectionSpec(
        "qualifications", m.Qualification,
        _fields(m.Qualification, ("id", "person_id", "what", "valid_from", "valid_to"), person_id={"ref": "people"}),
        order=("person_id", "what", "id"), scope="person",
        checks=(lambda r: _ordered(r, "valid_from", "valid_to", "the qualification"),),
    ),
    SectionSpec(
        "activities", m.Activity,
        _fields(m.Activity, ("id", "code", "name", "colour", "category", "am_start", "am_minutes", "pm_start",
                             "pm_minutes", "needs_supervision", "provides_supervision", "counts_clinic_capacity",
                             "is_procedure", "is_night_float", "eligible_kinds", "eligible_pgy",
                             "required_credential", "shed_priority", "archived"),
                colour=_COLOUR, category={"choices": m.ACTIVITY_CATEGORIES},
                am_start={"minimum": 0, "maximum": 24 * 60 - 1}, pm_start={"minimum": 0, "maximum": 24 * 60 - 1},
                am_minutes={"minimum": 0, "maximum": 36 * 60}, pm_minutes={"minimum": 0, "maximum": 36 * 60},
                eligible_kinds={"items": {"enum": list(PERSON_KINDS)}}, eligible_pgy={"items": PGY_ITEMS},
                shed_priority={"minimum": 1, "maximum": 7}),
        order=("code", "id"), unique=(("code",),),
    ),
    SectionSpec(
        "rotations", m.Rotation,
        _fields(m.Rotation, ("id", "code", "name", "min_residents", "max_residents", "eligible_pgy",
                             "leave_allowed", "includes_weekends", "colour", "archived"),
                colour=_COLOUR, min_residents={"minimum": 0}, max_residents={"minimum": 0},
                eligible_pgy={"items": PGY_ITEMS}),
        order=("code", "id"), unique=(("code",),),
        checks=(lambda r: ("max_residents", "must not be below min_residents")
                if isinstance(r.get("min_residents"), int) and isinstance(r.get("max_residents"), int)
                and r["max_residents"] < r["min_residents"] else None,),
    ),
    SectionSpec(
        "pattern", m.RotationPatternEntry,
        _fields(m.RotationPatternEntry, ("id", "weekday", "slot", "activity_id"),
                weekday=_WEEKDAY, slot=_SLOT, activity_id={"ref": "activities"}),
        order=("weekday", "slot", "id"), unique=(("rotation_id", "weekday", "slot"),), scope="rotation",
        parent="rotations", parent_field="rotation_id",
    ),
    SectionSpec(
        "rotation_assignments", m.RotationAssignment,
        _fields(m.RotationAssignment, ("id", "person_id", "block_id", "half", "rotation_id"),
                person_id={"ref": "people"}, block_id={"ref": "blocks"}, half={"choices": (0, 1, 2)},
                rotation_id={"ref": "rotations"}),
        order=("person_id", "block_id", "half", "id"), unique=(("person_id", "block_id", "half"),), scope="person",
    ),
    SectionSpec(
        "coverage_requirements", m.CoverageRequirement,
        _fields(m.CoverageRequirement, ("id", "activity_id", "weekday", "date", "slot", "min_count", "optimum",
                                        "max_count", "qualification"),
                activity_id={"ref": "activities"}, weekday=_WEEKDAY, slot=_SLOT,
                min_count={"minimum": 0}, optimum={"minimum": 0}, max_count={"minimum": 0}),
        order=("activity_id", "weekday", "date", "slot", "id"), checks=(_coverage_order,),
    ),
    SectionSpec(
        "call_requirements", m.CallRequirement,
        _fields(m.CallRequirement, ("id", "service", "call_type", "kind", "eligible_pgy", "per_night"),
                call_type={"choices": m.CALL_TYPES}, kind={"choices": PERSON_KINDS},
                eligible_pgy={"items": PGY_ITEMS}, per_night={"minimum": 0, "maximum": 99}),
        order=("service", "call_type", "kind", "id"),
    ),
    SectionSpec(
        "rule_sets", m.RuleSet,
        _fields(m.RuleSet, ("id", "number", "values", "exceptions", "created_at", "note"), number={"minimum": 1}),
        order=("number", "id"), unique=(("number",),),
    ),
    SectionSpec(
        "assignments", m.Assignment,
        _fields(m.Assignment, ("id", "person_id", "date", "slot", "activity_id", "rotation_id", "source", "locked",
                               "note"),
                person_id={"ref": "people"}, slot=_SLOT, activity_id={"ref": "activities"},
                rotation_id={"ref": "rotations"}, source={"choices": m.ASSIGNMENT_SOURCES}),
        order=("date", "person_id", "slot", "id"), unique=(("person_id", "date", "slot"),), scope="person",
    ),
    SectionSpec(
        "calls", m.CallAssignment,
        _fields(m.CallAssignment, ("id", "person_id", "date", "call_type", "service", "hours_worked", "source"),
                person_id={"ref": "people"}, call_type={"choices": m.CALL_TYPES},
                source={"choices": m.ASSIGNMENT_SOURCES}),
        order=("date", "person_id", "id"), unique=(("person_id", "date"),), scope="person",
        checks=(lambda r: ("hours_worked", "must be between 0 and 36 hours")
                if isinstance(r.get("hours_worked"), int | float) and not 0 <= r["hours_worked"] <= 36 else None,),
    ),
    SectionSpec(
        "absences", m.Absence,
        _fields(m.Absence, ("id", "person_id", "type", "start_date", "end_date", "status", "blocking",
                            "counts_away", "note"),
                person_id={"ref": "people"}, type={"choices": m.ABSENCE_TYPES}, status={"choices": m.ABSENCE_STATES}),
        order=("person_id", "start_date", "id"), scope="person",
        checks=(lambda r: _ordered(r, "start_date", "end_date", "the absence"),),
    ),
)
SECTION_BY_NAME = {s.name: s for s in SECTIONS}
TOP_SECTIONS = tuple(s for s in SECTIONS if s.parent is None)
PROGRAM_FIELDS = _fields(m.Program, ("id", "name", "time_zone", "settings"))
ROOT_KEYS = ("format", "format_version", "program", *(s.name for s in TOP_SECTIONS))
NOT_EXPORTED = {"version", "deleted", "program_id"}


# -------------------------------------------------------------------------------------- JSON Schema
def _field_schema(f: FieldSpec) -> dict[str, Any]:
    base: dict[str, Any]
    if f.kind == "id":
        base = {"type": "string", "pattern": UUID_RE.pattern}
    elif f.kind == "date":
        base = {"type": "string", "format": "date", "pattern": DATE_RE.pattern}
    elif f.kind == "datetime":
        base = {"type": "string", "format": "date-time"}
    else:
        base = {"type": f.kind}
    if f.max_length is not None and f.kind == "string":
        base["maxLength"] = f.max_length
    if f.pattern is not None:
        base["pattern"] = f.pattern
    if f.minimum is not None:
        base["minimum"] = f.minimum
    if f.maximum is not None:
        base["maximum"] = f.maximum
    if f.items is not None:
        base["items"] = f.items
        base["uniqueItems"] = True
    if f.choices is not None:
        base = {"enum": list(f.choices)}
    if f.nullable:
        if "enum" in base:
            base["enum"] = [*base["enum"], None]
        else:
            base["type"] = [base["type"], "null"]
    return base


def _object_schema(fields: tuple[FieldSpec, ...], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {f.name: _field_schema(f) for f in fields}
    props.update(extra or {})
    return {"type": "object", "additionalProperties": False, "required": sorted(props), "properties": props}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a program file of this format version."""
    props: dict[str, Any] = {
        "format": {"const": FORMAT_NAME},
        "format_version": {"const": FORMAT_VERSION},
        "program": _object_schema(PROGRAM_FIELDS),
    }
    for s in TOP_SECTIONS:
        children = {c.name: {"type": "array", "items": _object_schema(c.fields)} for c in SECTIONS if c.parent == s.name}
        props[s.name] = {"type": "array", "items": _object_schema(s.fields, children)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://residency-scheduler.local/program-file.schema.json",
        "title": "Residency Scheduler program file",
        "description": (
            f"A whole residency program as one document (format {FORMAT_NAME!r}, version {FORMAT_VERSION}). "
            "Ids are UUIDs and are kept on import; dates are ISO (YYYY-MM-DD); slots are 0 = AM, 1 = PM; "
            "weekdays are 0 = Monday .. 6 = Sunday."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": sorted(props),
        "properties": props,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------ export
def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sort_key(row: dict[str, Any], order: tuple[str, ...]) -> tuple[Any, ...]:
    # None sorts first without ever being compared with a value.
    return tuple((0,) if row[k] is None else (1, row[k]) for k in order)


def _scope_filter(spec: SectionSpec, program_id: str) -> Any:
    table = spec.model.__table__  # type: ignore[attr-defined]
    if spec.scope == "program_id":
        return table.c.program_id == program_id
    owner_table, column = {
        "person": (m.Person.__table__, "person_id"),
        "academic_year": (m.AcademicYear.__table__, "academic_year_id"),
        "rotation": (m.Rotation.__table__, "rotation_id"),
    }[spec.scope]
    owners = select(owner_table.c.id).where(
        owner_table.c.program_id == program_id, owner_table.c.deleted.is_(False)
    )
    return table.c[column].in_(owners)


def _read_section(session: Session, spec: SectionSpec, program_id: str) -> list[dict[str, Any]]:
    table = spec.model.__table__  # type: ignore[attr-defined]
    names = [f.name for f in spec.fields] + ([spec.parent_field] if spec.parent_field else [])
    query = select(*(table.c[n] for n in names)).where(_scope_filter(spec, program_id), table.c.deleted.is_(False))
    rows = [{n: _to_json(v) for n, v in zip(names, r, strict=True)} for r in session.execute(query)]
    rows.sort(key=lambda r: _sort_key(r, spec.order))
    return rows


def program_ids(session: Session) -> list[str]:
    return list(session.scalars(select(m.Program.id).where(m.Program.deleted.is_(False)).order_by(m.Program.id)))


def export_document(session: Session, program_id: str | None = None) -> dict[str, Any]:
    """The program as a JSON-ready dict (the only program when `program_id` is None)."""
    ids = program_ids(session)
    if program_id is None:
        if not ids:
            raise ValidationError("The database holds no program to export.")
        if len(ids) > 1:
            raise ValidationError(f"The database holds {len(ids)} programs; name one to export ({', '.join(ids)}).")
        program_id = ids[0]
    elif program_id not in ids:
        raise ValidationError(f"There is no program {program_id} in the database.", field="program_id")
    program = session.get(m.Program, program_id)
    assert program is not None
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "program": {f.name: _to_json(getattr(program, f.name)) for f in PROGRAM_FIELDS},
    }
    for spec in TOP_SECTIONS:
        doc[spec.name] = _read_section(session, spec, program_id)
    for child in (s for s in SECTIONS if s.parent):
        assert child.parent and child.parent_field
        by_parent: dict[str, list[dict[str, Any]]] = {}
        for row in _read_section(session, child, program_id):
            by_parent.setdefault(row.pop(child.parent_field), []).append(row)
        for parent_row in doc[child.parent]:
            parent_row[child.name] = by_parent.get(parent_row["id"], [])
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """The canonical text of a program file: sorted keys, two-space indent, UTF-8, final newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def export_program(session: Session, program_id: str | None = None) -> str:
    """The canonical program file text. Refuses a database whose rows would not import again."""
    doc = export_document(session, program_id)
    text = dumps(doc)
    try:
        validate_document(json.loads(text))
    except ProgramFileError as exc:
        raise DatabaseError(
            f"The program in the database is inconsistent and cannot be exported ({exc.problems[0]})."
        ) from exc
    return text


# -------------------------------------------------------------------------------------- validation
@dataclass
class ParsedProgram:
    """A validated program file: the program row and, per section, (JSON path, typed row) pairs."""

    program: dict[str, Any]
    rows: dict[str, list[tuple[str, dict[str, Any]]]]

    def count(self, section: str) -> int:
        return len(self.rows[section])


class _Problems:
    def __init__(self, limit: int = 200) -> None:
        self.items: list[str] = []
        self.limit = limit

    def add(self, path: str, message: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(f"{path}: {message}")

    def __bool__(self) -> bool:
        return bool(self.items)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _describe_choices(choices: tuple[Any, ...]) -> str:
    shown = [json.dumps(c) for c in choices]
    return " or ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _convert(f: FieldSpec, value: Any, path: str, problems: _Problems) -> tuple[bool, Any]:
    """Check one value against its field; (ok, the value in Python form)."""
    if value is None:
        if f.nullable:
            return True, None
        problems.add(path, "is required (null is not allowed)")
        return False, None
    if f.choices is not None:
        if isinstance(value, bool) or value not in f.choices or type(value) is not type(f.choices[0]):
            problems.add(path, f"must be {_describe_choices(f.choices)}, not {json.dumps(value)}")
            return False, None
        return True, value
    kind = f.kind
    if kind in ("id", "string", "date", "datetime"):
        if not isinstance(value, str):
            problems.add(path, f"must be text, not {_type_name(value)}")
            return False, None
        if kind == "id":
            if not UUID_RE.match(value):
                problems.add(path, f"must be a UUID, not {json.dumps(value)}")
                return False, None
            return True, value
        if kind == "date":
            try:
                if not DATE_RE.match(value):
                    raise ValueError
                return True, dt.date.fromisoformat(value)
            except ValueError:
                problems.add(path, f"must be a date YYYY-MM-DD, not {json.dumps(value)}")
                return False, None
        if kind == "datetime":
            try:
                stamp = dt.datetime.fromisoformat(value)
            except ValueError:
                stamp = None
            if stamp is None or stamp.tzinfo is None:
                problems.add(path, f"must be a date and time with its zone, e.g. 2026-07-01T08:00:00Z, not {json.dumps(value)}")
                return False, None
            return True, stamp.astimezone(dt.UTC)
        if f.max_length is not None and len(value) > f.max_length:
            problems.add(path, f"is too long ({len(value)} characters, at most {f.max_length})")
            return False, None
        if f.pattern is not None and not re.match(f.pattern, value):
            problems.add(path, f"is not in the expected form ({json.dumps(value)})")
            return False, None
        return True, value
    if kind == "boolean":
        if not isinstance(value, bool):
            problems.add(path, f"must be true or false, not {_type_name(value)}")
            return False, None
        return True, value
    if kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.add(path, f"must be a number, not {_type_name(value)}")
            return False, None
        if kind == "integer" and not isinstance(value, int):
            problems.add(path, f"must be a whole number, not {json.dumps(value)}")
            return False, None
        if f.minimum is not None and value < f.minimum or f.maximum is not None and value > f.maximum:
            lo = f.minimum if f.minimum is not None else "any"
            hi = f.maximum if f.maximum is not None else "any"
            problems.add(path, f"must be between {lo} and {hi}, not {value}")
            return False, None
        return True, float(value) if kind == "number" else value
    if kind == "object":
        if not isinstance(value, dict):
            problems.add(path, f"must be an object, not {_type_name(value)}")
            return False, None
        return True, value
    if kind == "array":
        if not isinstance(value, list):
            problems.add(path, f"must be a list, not {_type_name(value)}")
            return False, None
        ok = True
        items = f.items or {}
        for i, item in enumerate(value):
            if "enum" in items and item not in items["enum"]:
                problems.add(f"{path}[{i}]", f"must be {_describe_choices(tuple(items['enum']))}, not {json.dumps(item)}")
                ok = False
            elif items.get("type") == "integer" and (
                isinstance(item, bool) or not isinstance(item, int)
                or not items.get("minimum", item) <= item <= items.get("maximum", item)
            ):
                problems.add(f"{path}[{i}]", f"must be a whole number from {items['minimum']} to {items['maximum']}, not {json.dumps(item)}")
                ok = False
        if ok and len(set(map(json.dumps, value))) != len(value):
            problems.add(path, "lists a value twice")
            ok = False
        return ok, value
    raise AssertionError(kind)  # pragma: no cover


def _check_object(
    fields: tuple[FieldSpec, ...], obj: Any, path: str, problems: _Problems, nested: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        problems.add(path, f"must be an object, not {_type_name(obj)}")
        return None
    known = {f.name for f in fields} | set(nested)
    for key in sorted(set(obj) - known):
        problems.add(f"{path}.{key}", "is not a field of this format")
    row: dict[str, Any] = {}
    ok = True
    for f in fields:
        if f.name not in obj:
            problems.add(f"{path}.{f.name}", "is missing")
            ok = False
            continue
        good, value = _convert(f, obj[f.name], f"{path}.{f.name}", problems)
        ok = ok and good
        row[f.name] = value
    return row if ok else None


def _check_rule_set(row: dict[str, Any], path: str, problems: _Problems) -> None:
    try:
        RuleValues.from_dict(row["values"])
    except ValidationError as exc:
        where = f"{path}.values.{exc.field}" if exc.field else f"{path}.values"
        problems.add(where, str(exc).rstrip("."))
    for name, reason in row["exceptions"].items():
        if not isinstance(reason, str):
            problems.add(f"{path}.exceptions.{name}", f"must be the reason as text, not {_type_name(reason)}")


def validate_document(doc: Any) -> ParsedProgram:
    """Check a parsed program file completely; ProgramFileError lists every problem found."""
    problems = _Problems()
    if not isinstance(doc, dict):
        raise ProgramFileError([f"$: must be a program file object, not {_type_name(doc)}"])
    fmt, version = doc.get("format"), doc.get("format_version")
    if fmt != FORMAT_NAME:
        raise ProgramFileError([f"$.format: must be {json.dumps(FORMAT_NAME)} (this is not a program file), "
                                f"not {json.dumps(fmt)}"])
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise ProgramFileError([f"$.format_version: the file has format version {version}, written by a newer "
                                f"version of the program; this one reads version {FORMAT_VERSION}"])
    if version != FORMAT_VERSION:
        raise ProgramFileError([f"$.format_version: must be {FORMAT_VERSION}, not {json.dumps(version)}"])
    for key in sorted(set(doc) - set(ROOT_KEYS)):
        problems.add(f"$.{key}", "is not a field of this format")

    program: dict[str, Any] | None = None
    if "program" not in doc:
        problems.add("$.program", "is missing")
    else:
        program = _check_object(PROGRAM_FIELDS, doc["program"], "$.program", problems)
        if program is not None:
            try:
                ZoneInfo(program["time_zone"])
            except (ZoneInfoNotFoundError, ValueError):
                problems.add("$.program.time_zone", f"is not a known time zone ({json.dumps(program['time_zone'])})")

    rows: dict[str, list[tuple[str, dict[str, Any]]]] = {s.name: [] for s in SECTIONS}
    for spec in TOP_SECTIONS:
        path = f"$.{spec.name}"
        if spec.name not in doc:
            problems.add(path, "is missing")
            continue
        items = doc[spec.name]
        if not isinstance(items, list):
            problems.add(path, f"must be a list, not {_type_name(items)}")
            continue
        children = tuple(c for c in SECTIONS if c.parent == spec.name)
        for i, obj in enumerate(items):
            item_path = f"{path}[{i}]"
            row = _check_object(spec.fields, obj, item_path, problems, nested=tuple(c.name for c in children))
            if row is not None:
                rows[spec.name].append((item_path, row))
            for child in children:
                if not isinstance(obj, dict):
                    continue
                child_path = f"{item_path}.{child.name}"
                if child.name not in obj:
                    problems.add(child_path, "is missing")
                    continue
                if not isinstance(obj[child.name], list):
                    problems.add(child_path, f"must be a list, not {_type_name(obj[child.name])}")
                    continue
                for j, child_obj in enumerate(obj[child.name]):
                    child_row = _check_object(child.fields, child_obj, f"{child_path}[{j}]", problems)
                    if child_row is not None and child.parent_field:
                        child_row[child.parent_field] = obj.get("id")
                        rows[child.name].append((f"{child_path}[{j}]", child_row))

    # Row-level rules, unique keys, ids and references.
    seen_ids: dict[str, str] = {}
    if program is not None:
        seen_ids[program["id"]] = "$.program"
    ids_of: dict[str, set[str]] = {}
    for spec in SECTIONS:
        ids_of[spec.name] = set()
        keys: dict[tuple[str, ...], dict[tuple[Any, ...], str]] = {u: {} for u in spec.unique}
        for path, row in rows[spec.name]:
            if row["id"] in seen_ids:
                problems.add(f"{path}.id", f"is the same id as {seen_ids[row['id']]}")
            else:
                seen_ids[row["id"]] = path
            ids_of[spec.name].add(row["id"])
            for check in spec.checks:
                found = check(row)
                if found:
                    problems.add(f"{path}.{found[0]}", found[1])
            for unique, seen in keys.items():
                key = tuple(row[k] for k in unique)
                if key in seen:
                    shown = ", ".join(k for k in unique if k != spec.parent_field)
                    what = "slot" if spec.name == "assignments" else f"{shown}"
                    problems.add(f"{path}.{unique[-1]}", f"duplicate {what}: the same {shown} as {seen[key]}")
                else:
                    seen[key] = path
            if spec.name == "rule_sets":
                _check_rule_set(row, path, problems)
    for spec in SECTIONS:
        for path, row in rows[spec.name]:
            for f in spec.fields:
                if f.ref and row[f.name] is not None and row[f.name] not in ids_of[f.ref]:
                    problems.add(f"{path}.{f.name}", f"refers to {row[f.name]}, which is not in $.{f.ref}")

    # Blocks lie inside their academic year.
    years = {row["id"]: row for _, row in rows["academic_years"]}
    for path, row in rows["blocks"]:
        year = years.get(row["academic_year_id"])
        if year and not (year["start_date"] <= row["start_date"] and row["end_date"] <= year["end_date"]):
            problems.add(f"{path}.start_date", "the block lies outside its academic year")

    if problems or program is None:
        raise ProgramFileError(problems.items or ["$.program: is missing"])
    return ParsedProgram(program=program, rows=rows)


def parse_text(text: str | bytes) -> ParsedProgram:
    """Parse and validate program-file text."""
    try:
        doc = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ProgramFileError([f"$: the file is not UTF-8 text ({exc.reason})"]) from exc
    except json.JSONDecodeError as exc:
        raise ProgramFileError([f"$: the file is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"]) from exc
    return validate_document(doc)


# ------------------------------------------------------------------------------------------ import
def program_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(m.Program)).scalar_one())


def write_program(session: Session, parsed: ParsedProgram) -> None:
    """Insert a validated program into an empty database (within the caller's transaction)."""
    existing = session.execute(select(m.Program.name).limit(1)).scalar()
    if existing is not None:
        raise ValidationError(
            f"The database already holds a program ({existing}); import into a new, empty database file instead."
        )
    program_id = parsed.program["id"]
    tables = m.Base.metadata.tables
    session.execute(insert(tables["program"]), [{**parsed.program, "version": 0, "deleted": False}])
    for spec in SECTIONS:  # SECTIONS is in foreign-key order
        table = tables[spec.model.__tablename__]
        extra: dict[str, Any] = {"version": 0, "deleted": False}
        if "program_id" in table.c:
            extra["program_id"] = program_id
        batch = [{**row, **extra} for _, row in parsed.rows[spec.name]]
        if batch:
            # Core executemany on the table: the rows are complete, no ORM bookkeeping is needed.
            session.execute(insert(table), batch)
    session.flush()


@dataclass(frozen=True)
class ImportSummary:
    program_id: str
    program_name: str
    counts: dict[str, int]


def import_program(engine: Engine, parsed: ParsedProgram, *, source: str = "", actor: str = "coordinator") -> ImportSummary:
    """Write a validated program into an empty database in one transaction, with an audit event."""
    from core.services.base import ServiceContext, append_audit
    from core.store.db import session_factory, unit_of_work

    counts = {s.name: parsed.count(s.name) for s in SECTIONS}
    ctx = ServiceContext(engine, actor=actor)
    with unit_of_work(session_factory(engine)) as session:
        write_program(session, parsed)
        append_audit(
            session, ctx, action="import_program", entity="program", entity_id=parsed.program["id"],
            reason=None, detail={"source": source, "counts": counts},
        )
    return ImportSummary(parsed.program["id"], parsed.program["name"], counts)


# ------------------------------------------------------------------------------------------ command
def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write-schema":
        Path(argv[1]).write_text(schema_text(), encoding="utf-8")
        return 0
    print("usage: python -m core.io.program_file --write-schema docs/program-file.schema.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
