"""The academic calendar: academic years, rotation blocks, half-day slots, holidays, weeks.

Pure functions of dates; no database. Weekdays follow Python's convention (Monday = 0).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

AM, PM = 0, 1
SLOT_NAMES = ("AM", "PM")
ONE_DAY = dt.timedelta(days=1)

LAYOUT_13X28 = "13x28"
LAYOUT_BLOCK0_THURSDAY = "block0_thursday"
BLOCK_LAYOUTS = (LAYOUT_13X28, LAYOUT_BLOCK0_THURSDAY)
THURSDAY = 3


@dataclass(frozen=True)
class BlockDates:
    number: int
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def halves(self) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
        """Days 1-14 and 15-end (a split rotation changes at day 15)."""
        mid = self.start + dt.timedelta(days=14)
        first_end = min(self.end, mid - ONE_DAY)
        return (self.start, first_end), (min(mid, self.end), self.end)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def academic_year_bounds(start_year: int) -> tuple[dt.date, dt.date]:
    """AY 2026 = 2026-07-01 .. 2027-06-30."""
    return dt.date(start_year, 7, 1), dt.date(start_year + 1, 6, 30)


def academic_year_of(day: dt.date) -> int:
    return day.year if day.month >= 7 else day.year - 1


def make_blocks(start_year: int, layout: str = LAYOUT_13X28) -> list[BlockDates]:
    """The blocks of an academic year with explicit dates, covering July 1 - June 30 exactly.

    13x28: thirteen 28-day blocks from July 1; the last one runs to June 30 (29 or 30 days in a
    leap year span). block0_thursday: Block 0 from July 1 up to the day before the first Thursday
    (omitted when July 1 is a Thursday), Blocks 1-12 of 28 days Thursday-Wednesday, Block 13 to
    June 30.
    """
    first, last = academic_year_bounds(start_year)
    blocks: list[BlockDates] = []
    if layout == LAYOUT_13X28:
        for i in range(13):
            s = first + dt.timedelta(days=28 * i)
            e = last if i == 12 else s + dt.timedelta(days=27)
            blocks.append(BlockDates(i + 1, s, e))
    elif layout == LAYOUT_BLOCK0_THURSDAY:
        thursday = first + dt.timedelta(days=(THURSDAY - first.weekday()) % 7)
        if thursday > first:
            blocks.append(BlockDates(0, first, thursday - ONE_DAY))
        for i in range(12):
            s = thursday + dt.timedelta(days=28 * i)
            blocks.append(BlockDates(i + 1, s, s + dt.timedelta(days=27)))
        blocks.append(BlockDates(13, blocks[-1].end + ONE_DAY, last))
    else:
        raise ValueError(f"Unknown block layout {layout!r}; choose one of {', '.join(BLOCK_LAYOUTS)}.")
    return blocks


def block_of(day: dt.date, blocks: list[BlockDates]) -> BlockDates | None:
    for b in blocks:
        if b.contains(day):
            return b
    return None


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every date from start to end inclusive."""
    d = start
    while d <= end:
        yield d
        d += ONE_DAY


def slot_index(day: dt.date, slot: int, origin: dt.date) -> int:
    """Index of (day, slot) in a half-day grid starting at `origin` AM."""
    return 2 * (day - origin).days + slot


def slot_of_index(index: int, origin: dt.date) -> tuple[dt.date, int]:
    return origin + dt.timedelta(days=index // 2), index % 2


def week_start(day: dt.date, first_weekday: int = 0) -> dt.date:
    """The first day of the week containing `day`, weeks starting on `first_weekday`."""
    return day - dt.timedelta(days=(day.weekday() - first_weekday) % 7)


def weeks(start: dt.date, end: dt.date, first_weekday: int = 0) -> list[tuple[dt.date, dt.date]]:
    """Weeks (first day, last day) overlapping [start, end], clipped to it."""
    out = []
    w = week_start(start, first_weekday)
    while w <= end:
        out.append((max(w, start), min(w + dt.timedelta(days=6), end)))
        w += dt.timedelta(days=7)
    return out


def is_weekend(day: dt.date) -> bool:
    return day.weekday() >= 5


# ---------------------------------------------------------------------------------------- holidays
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    d = dt.date(year, month, 1)
    d += dt.timedelta(days=(weekday - d.weekday()) % 7)
    return d + dt.timedelta(weeks=n - 1)


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    d = dt.date(year, month + 1, 1) - ONE_DAY if month < 12 else dt.date(year, 12, 31)
    return d - dt.timedelta(days=(d.weekday() - weekday) % 7)


def _observed(d: dt.date) -> dt.date:
    if d.weekday() == 5:
        return d - ONE_DAY
    if d.weekday() == 6:
        return d + ONE_DAY
    return d


def federal_holidays(year: int) -> dict[dt.date, str]:
    """US federal holidays of a calendar year, on their observed dates (Sat -> Fri, Sun -> Mon).

    New Year's Day falling on a Saturday is observed on Dec 31 of the year before; that date is
    returned by the previous year's call.
    """
    fixed = {
        (6, 19): "Juneteenth",
        (7, 4): "Independence Day",
        (11, 11): "Veterans Day",
        (12, 25): "Christmas Day",
    }
    out: dict[dt.date, str] = {}
    ny = _observed(dt.date(year, 1, 1))
    if ny.year == year:
        out[ny] = "New Year's Day"
    ny_next = _observed(dt.date(year + 1, 1, 1))
    if ny_next.year == year:
        out[ny_next] = "New Year's Day"
    for (m, d), name in fixed.items():
        out[_observed(dt.date(year, m, d))] = name
    out[_nth_weekday(year, 1, 0, 3)] = "Martin Luther King Jr. Day"
    out[_nth_weekday(year, 2, 0, 3)] = "Washington's Birthday"
    out[_last_weekday(year, 5, 0)] = "Memorial Day"
    out[_nth_weekday(year, 9, 0, 1)] = "Labor Day"
    out[_nth_weekday(year, 10, 0, 2)] = "Columbus Day"
    out[_nth_weekday(year, 11, 3, 4)] = "Thanksgiving Day"
    return dict(sorted(out.items()))


def academic_year_holidays(start_year: int) -> dict[dt.date, str]:
    """Observed federal holidays falling inside the academic year."""
    first, last = academic_year_bounds(start_year)
    out = {**federal_holidays(start_year), **federal_holidays(start_year + 1)}
    return {d: n for d, n in sorted(out.items()) if first <= d <= last}
