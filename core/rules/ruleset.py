"""The rule numbers (RULES.md) as data.

One table of numbers, versioned in the database (`RuleSet` rows); the validator, the editor's
live feedback, the swap checks, the solver and the reports all read the same `RuleValues`.
A program may make a rule stricter; a number looser than the ACGME floor needs an explicit
exception with a reason (`validate_values`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from core.errors import ValidationError


@dataclass(frozen=True)
class RuleValues:
    # Averaging windows: "rolling" (every calendar day starts a window) or "block" (block-aligned).
    window_mode: str = "rolling"
    window_days: int = 28
    # H80 / H80W
    max_hours_per_week: float = 80.0
    warn_fraction: float = 0.95
    # OFF7: free days per window (one in seven averaged over four weeks -> 4 per 28 days)
    min_free_days_per_window: int = 4
    # C24: continuous duty; transition after 24 h call
    max_continuous_hours: float = 24.0
    max_transition_hours: float = 4.0
    scheduled_transition_hours: float = 2.0
    # R14 / R8
    rest_after_24h_hours: float = 14.0
    min_rest_hours: float = 8.0
    # R8: a gap shorter than this between duty periods is a break inside one working day (e.g. the
    # lunch hour between two clinic sessions), not rest, so R8 does not judge it.
    break_under_hours: float = 2.0
    # Q3: in-house calls per window (every 3rd night averaged over 4 weeks)
    max_in_house_calls_per_window: int = 9
    # NF: consecutive night-float nights
    max_consecutive_night_float: int = 6
    # In-house call span (minutes after local midnight of the call date; length in minutes)
    in_house_call_start: int = 7 * 60
    in_house_call_minutes: int = 24 * 60
    # Home call: hours worked are placed from this time of the call date
    home_call_start: int = 19 * 60
    # SUP: supervision units
    sup_units_pgy1: int = 2
    sup_units_senior: int = 1
    sup_units_procedure: int = 4
    sup_units_per_supervisor: int = 4
    sup_seniors_supervise_students: bool = False
    # CAP
    max_clinic_physicians_per_slot: int = 6
    # AWAY
    max_away_days_per_year: int = 28
    warn_away_days_per_year: int = 21
    # LOCK: freeze horizon
    freeze_days: int = 7
    # Swaps
    swap_requires_approval: bool = True
    swap_rollback_hours: int = 24
    # Faculty rules
    faculty_no_call_sunday_after_inpatient_week: bool = True
    faculty_postcall_morning_off: bool = True
    faculty_no_back_to_back_inpatient_weeks: bool = True
    # Faculty inpatient weeks are counted on a grid of weeks starting on this weekday (Monday = 0);
    # a grid week with at least this many inpatient days is an inpatient week.
    faculty_week_start_weekday: int = 0
    faculty_inpatient_week_min_days: int = 4

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleValues:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValidationError(f"Unknown rule setting(s): {', '.join(unknown)}.", field=unknown[0])
        values = {**asdict(cls()), **data}
        for name, value in values.items():
            default = getattr(cls(), name)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValidationError(f"Rule setting {name} must be true or false.", field=name)
            elif isinstance(default, int | float) and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValidationError(f"Rule setting {name} must be a number.", field=name)
            elif isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
                if not value.is_integer():
                    raise ValidationError(f"Rule setting {name} must be a whole number.", field=name)
                values[name] = int(value)
        if values["window_mode"] not in ("rolling", "block"):
            raise ValidationError("window_mode must be 'rolling' or 'block'.", field="window_mode")
        return cls(**values)


ACGME_DEFAULTS = RuleValues()

# For each number: the direction in which it becomes LOOSER than the ACGME floor.
#   "higher" = a larger number is looser (a maximum); "lower" = a smaller number is looser (a minimum).
ACGME_FLOOR: dict[str, str] = {
    "max_hours_per_week": "higher",
    "window_days": "higher",
    "min_free_days_per_window": "lower",
    "max_continuous_hours": "higher",
    "max_transition_hours": "higher",
    "rest_after_24h_hours": "lower",
    "max_in_house_calls_per_window": "higher",
}


def looser_than_floor(values: RuleValues) -> list[str]:
    """Names of numbers that are looser than the ACGME floor."""
    out = []
    for name, direction in ACGME_FLOOR.items():
        v, floor = getattr(values, name), getattr(ACGME_DEFAULTS, name)
        if (direction == "higher" and v > floor) or (direction == "lower" and v < floor):
            out.append(name)
    return out


def validate_values(values: RuleValues, exceptions: dict[str, str]) -> None:
    """Refuse a rule set looser than the ACGME floor unless each such number has a written reason."""
    for name in looser_than_floor(values):
        reason = (exceptions.get(name) or "").strip()
        if not reason:
            floor = getattr(ACGME_DEFAULTS, name)
            raise ValidationError(
                f"{name} = {getattr(values, name)} is looser than the ACGME floor ({floor}); "
                "record an exception with the reason the review committee granted it.",
                field=name,
            )
