"""The deliberate violations of the demo program: where they go and how they are made.

Each one is a fixed person (an anchor resident with a fixed name) or a clinic slot, at a fixed
offset from July 1, so the list is the same for every seed and both sizes and can be published as
a constant (`core.demo.DELIBERATE_VIOLATIONS`, for AY 2026; `deliberate_violations(year)` for others).
Personal ones are hand edits (source 'manual') made before the call pool is filled, and the call
scheduler keeps clear of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.calendar import academic_year_bounds, academic_year_holidays

SOURCE_MANUAL = 2
MARGIN = 4  # days around a personal plant where the call scheduler adds nothing


@dataclass(frozen=True)
class DeliberateViolation:
    """A rule the demo breaks on purpose: rule id, person (None for a slot), dates, a sentence."""

    rule: str
    person: str | None
    start: dt.date
    end: dt.date
    sentence: str


def _fmt(d: dt.date) -> str:
    return f"{d:%b} {d.day}, {d.year}"


def _days(builder: Any, r: int, d: int, pairs: list[tuple[str, str]], note: str) -> None:
    for k, (am, pm) in enumerate(pairs):
        day = d + k
        if not 0 <= day < builder.D:
            continue
        builder.codes[r, day] = (builder.act[am], builder.act[pm])
        builder.planted[r, day] = True
        builder.source[r, day] = SOURCE_MANUAL
        builder.notes[(r, day, 0)] = builder.notes[(r, day, 1)] = note


def _freeze(builder: Any, r: int, d0: int, d1: int) -> None:
    builder.frozen[r, max(0, d0 - MARGIN) : min(builder.D, d1 + MARGIN + 1)] = True


def _h80(b: Any, r: int, d: int) -> None:
    run = [("OFF", "OFF") if k % 7 == 6 else ("LC", "LC") for k in range(28)]
    _days(b, r, d - 2, [("OFF", "OFF")] * 2 + run + [("OFF", "OFF")] * 2, "Long-call run")
    _freeze(b, r, d - 2, d + 29)


def _off7(b: Any, r: int, d: int) -> None:
    run = [("OFF", "OFF") if k % 8 == 7 else ("W", "W") for k in range(28)]
    _days(b, r, d - 2, [("OFF", "OFF")] * 2 + run + [("OFF", "OFF")] * 2, "Extra ward days")
    _freeze(b, r, d - 2, d + 29)


def _c24(b: Any, r: int, d: int) -> None:
    _days(b, r, d - 2, [("OFF", "OFF")] * 2 + [("W", "W"), ("W", "W")] + [("OFF", "OFF")] * 2,
          "Stayed on after call")
    b.in_house[r, d] = True
    _freeze(b, r, d - 2, d + 3)


def _r14(b: Any, r: int, d: int) -> None:
    _days(b, r, d - 2, [("OFF", "OFF")] * 2 + [("W", "W")] + [("NF", "NF")] * 5 + [("OFF", "OFF")] * 2,
          "Night float straight after call")
    b.in_house[r, d] = True
    _freeze(b, r, d - 2, d + 7)


def _q3(b: Any, r: int, d: int) -> None:
    cycle = [("W", "W"), ("PC", "PC"), ("OFF", "OFF")]
    _days(b, r, d - 1, [("OFF", "OFF")] + [cycle[k % 3] for k in range(28)] + [("PC", "PC"), ("OFF", "OFF")],
          "Covering the call pool")
    for k in range(0, 28, 3):
        b.in_house[r, d + k] = True
    _freeze(b, r, d - 1, d + 29)


def _nf(b: Any, r: int, d: int) -> None:
    _days(b, r, d - 2, [("OFF", "OFF")] * 2 + [("NF", "NF")] * 7 + [("OFF", "OFF")] * 2, "Extra nights")
    _freeze(b, r, d - 2, d + 8)


def _abs(b: Any, r: int, d: int) -> None:
    _days(b, r, d, [("W", "W")] * 3, "Scheduled although away at a conference")
    b._absence(b.residents[r].id, "conference", d, d + 2, "approved", away=False, note="Conference")
    _freeze(b, r, d, d + 2)


AWAY_PARTS = ((0, 9), (140, 149), (280, 289))


def _away(b: Any, r: int, d: int) -> None:
    for a, z in AWAY_PARTS:
        b._absence(b.residents[r].id, "vacation", d + a, d + z, "approved", note="Vacation")
        b.set_leave(r, d + a, d + z, "Vacation")
        b.planted[r, d + a : d + z + 1] = True
        _freeze(b, r, d + a, d + z)


def _qual(b: Any, r: int, d: int) -> None:
    _days(b, r, d - 2, [("OFF", "OFF")] * 2 + [("PROC", "OFF")] + [("OFF", "OFF")] * 2,
          "Booked into procedure clinic")
    _freeze(b, r, d - 2, d + 2)


@dataclass(frozen=True)
class Plant:
    rule: str
    person: str | None
    offset: int  # days after July 1
    length: int  # days the violation spans
    clinic_day: bool  # move to the next clinic weekday (Mon, Tue, Thu, Fri, not a holiday)
    sentence: str  # {person}, {start}, {end}
    make: Callable[[Any, int, int], None] | None = None

    def apply(self, builder: Any, r: int, first: int) -> None:
        if self.make is not None:
            self.make(builder, r, first)


PLANTS: tuple[Plant, ...] = (
    Plant("H80", "Taylor Brooks", 84, 28, False,
          "{person} works six 14-hour long-call days a week from {start} to {end}: 84 h a week "
          "averaged over 4 weeks (limit 80).", _h80),
    Plant("OFF7", "Alex Rivera", 126, 28, False,
          "{person} has only 3 free days from {start} to {end} (seven ward days, one off; at least 4 "
          "are needed in 28 days).", _off7),
    Plant("C24", "Jamie Novak", 160, 2, False,
          "{person} stayed on the ward after a 24-hour call: 36 h of continuous duty from {start} "
          "07:00 to {end} 19:00 (limit 24 + 4).", _c24),
    Plant("R14", "Morgan Patel", 200, 2, False,
          "{person} starts night float at 19:00 on {end}, 10 h after leaving a 24-hour call "
          "(14 h of rest needed).", _r14),
    Plant("Q3", "Drew Hoffmann", 230, 28, False,
          "{person} takes 10 in-house calls from {start} to {end} (at most 9 in 28 days).", _q3),
    Plant("NF", "Sam Okoro", 280, 7, False,
          "{person} works 7 night-float nights in a row from {start} to {end} (limit 6).", _nf),
    Plant("ABS", "Casey Morgan", 300, 3, False,
          "{person} is on the wards from {start} to {end} during an approved conference absence.", _abs),
    Plant("AWAY", "Riley Chen", 40, 290, False,
          "{person} has 30 approved vacation days this academic year (limit 28).", _away),
    Plant("QUAL", "Jordan Reyes", 140, 1, True,
          "{person} (PGY-1, no procedures credential) is booked into the procedure clinic on {start} "
          "AM, which needs PGY-2 or above and the credential.", _qual),
    Plant("SUP", None, 105, 1, True,
          "Main clinic on {start} AM: a precepting attending was moved to a meeting, leaving fewer "
          "supervisors than the residents in clinic need (1 per 4 units)."),
    Plant("CAP", None, 135, 1, True,
          "Main clinic on {start} PM: 7 residents booked into 6 rooms (limit 6 physicians)."),
    Plant("COV", None, 176, 1, False,
          "Wards on {start} AM: a holiday-surge requirement asks for one more resident than are "
          "scheduled."),
)


def plant_day(plant: Plant, year: int, closed: Any) -> int:
    """The day index (from July 1) where the plant goes."""
    first, _ = academic_year_bounds(year)
    d = plant.offset
    if plant.clinic_day:
        while (first + dt.timedelta(days=d)).weekday() in (2, 5, 6) or bool(closed[d]):
            d += 1
    return d


def closed_days(year: int) -> Any:
    first, last = academic_year_bounds(year)
    closed = np.zeros((last - first).days + 1, dtype=bool)
    for day in academic_year_holidays(year):
        closed[(day - first).days] = True
    return closed


def deliberate_violations(year: int = 2026) -> tuple[DeliberateViolation, ...]:
    """The planted violations of a demo built for academic year `year` (any seed, either size)."""
    first, _ = academic_year_bounds(year)
    closed = closed_days(year)
    out = []
    for p in PLANTS:
        d = plant_day(p, year, closed)
        start = first + dt.timedelta(days=d)
        end = start + dt.timedelta(days=p.length - 1)
        if p.rule == "R14":
            end = start + dt.timedelta(days=1)
        text = p.sentence.format(person=p.person, start=_fmt(start), end=_fmt(end))
        out.append(DeliberateViolation(p.rule, p.person, start, end, text))
    return tuple(out)
