"""Academic calendar: both block layouts (with a leap year), federal holidays on observed dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.calendar import (
    LAYOUT_13X28,
    LAYOUT_BLOCK0_THURSDAY,
    BlockDates,
    academic_year_holidays,
    block_of,
    days,
    federal_holidays,
    make_blocks,
    weeks,
)
from core.store import models as m
from core.store.db import open_database, session_factory, unit_of_work

D = dt.date


def covers_year_exactly(blocks: list[BlockDates], start_year: int) -> None:
    assert blocks[0].start == D(start_year, 7, 1)
    assert blocks[-1].end == D(start_year + 1, 6, 30)
    for before, after in zip(blocks, blocks[1:], strict=False):
        assert after.start == before.end + dt.timedelta(days=1)
    total = sum(b.days for b in blocks)
    assert total == (D(start_year + 1, 6, 30) - D(start_year, 7, 1)).days + 1


@pytest.mark.parametrize(("start_year", "year_days", "last_block_days"), [(2026, 365, 29), (2027, 366, 30)])
def test_13x28_blocks(start_year: int, year_days: int, last_block_days: int) -> None:
    blocks = make_blocks(start_year, LAYOUT_13X28)
    covers_year_exactly(blocks, start_year)
    assert [b.number for b in blocks] == list(range(1, 14))
    assert all(b.days == 28 for b in blocks[:12])
    assert sum(b.days for b in blocks) == year_days
    assert blocks[-1].days == last_block_days and blocks[-1].end == D(start_year + 1, 6, 30)


def test_13x28_leap_day_falls_in_a_block() -> None:
    blocks = make_blocks(2027, LAYOUT_13X28)  # AY 2027-28 holds Feb 29 2028
    leap = block_of(D(2028, 2, 29), blocks)
    assert leap is not None and leap.number == 9 and leap.start == D(2028, 2, 10)
    assert blocks[-1] == BlockDates(13, D(2028, 6, 1), D(2028, 6, 30))


def test_block0_layout_with_a_short_block_0() -> None:
    blocks = make_blocks(2026, LAYOUT_BLOCK0_THURSDAY)  # July 1 2026 is a Wednesday
    covers_year_exactly(blocks, 2026)
    assert blocks[0] == BlockDates(0, D(2026, 7, 1), D(2026, 7, 1))
    assert [b.number for b in blocks] == list(range(0, 14))
    for b in blocks[1:13]:
        assert b.days == 28 and b.start.weekday() == 3 and b.end.weekday() == 2  # Thursday .. Wednesday
    assert blocks[1].start == D(2026, 7, 2)
    assert blocks[13] == BlockDates(13, D(2027, 6, 3), D(2027, 6, 30))


def test_block0_layout_when_july_1_is_a_thursday_has_no_block_0_and_a_leap_day() -> None:
    blocks = make_blocks(2027, LAYOUT_BLOCK0_THURSDAY)  # July 1 2027 is a Thursday; Feb 29 2028
    covers_year_exactly(blocks, 2027)
    assert [b.number for b in blocks] == list(range(1, 14))
    assert blocks[0] == BlockDates(1, D(2027, 7, 1), D(2027, 7, 28))
    assert blocks[-1] == BlockDates(13, D(2028, 6, 1), D(2028, 6, 30))
    assert sum(b.days for b in blocks) == 366


def test_halves_change_at_day_15() -> None:
    block = make_blocks(2026)[0]
    assert block.halves() == ((D(2026, 7, 1), D(2026, 7, 14)), (D(2026, 7, 15), D(2026, 7, 28)))


def test_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown block layout"):
        make_blocks(2026, "fortnights")


def test_federal_holidays_observed_dates() -> None:
    h2027 = federal_holidays(2027)
    assert h2027[D(2027, 7, 5)] == "Independence Day"  # July 4 2027 is a Sunday -> Monday
    assert h2027[D(2027, 6, 18)] == "Juneteenth"  # Saturday -> Friday
    assert h2027[D(2027, 12, 24)] == "Christmas Day"  # Saturday -> Friday
    assert h2027[D(2027, 12, 31)] == "New Year's Day"  # Jan 1 2028 is a Saturday -> Dec 31 2027
    assert D(2027, 7, 4) not in h2027 and D(2027, 12, 25) not in h2027
    assert D(2028, 1, 1) not in federal_holidays(2028)  # observed in the year before
    h2026 = federal_holidays(2026)
    assert h2026[D(2026, 7, 3)] == "Independence Day"  # Saturday -> Friday
    assert h2026[D(2026, 11, 26)] == "Thanksgiving Day"
    assert h2026[D(2026, 9, 7)] == "Labor Day"
    assert h2026[D(2026, 1, 19)] == "Martin Luther King Jr. Day"
    assert h2026[D(2026, 5, 25)] == "Memorial Day"
    assert len(h2026) == 11 and len(h2027) == 12  # 2027 holds two New Year observances


def test_academic_year_holidays() -> None:
    ay = academic_year_holidays(2027)
    assert min(ay) == D(2027, 7, 5) and max(ay) == D(2028, 6, 19)
    assert list(ay) == sorted(ay) and len(ay) == 11
    assert ay[D(2027, 12, 31)] == "New Year's Day"


def test_weeks_with_a_configurable_first_weekday() -> None:
    start, end = D(2026, 7, 1), D(2026, 7, 14)  # Wednesday .. Tuesday
    assert weeks(start, end, first_weekday=0) == [
        (D(2026, 7, 1), D(2026, 7, 5)), (D(2026, 7, 6), D(2026, 7, 12)), (D(2026, 7, 13), D(2026, 7, 14)),
    ]
    assert weeks(start, end, first_weekday=6)[0] == (D(2026, 7, 1), D(2026, 7, 4))  # weeks from Sunday
    assert len(list(days(start, end))) == 14


def test_blocks_stored_with_explicit_dates(db_path: Path) -> None:
    opened = open_database(db_path)
    factory = session_factory(opened.engine)
    try:
        with unit_of_work(factory) as s:
            program = m.Program(name="P")
            s.add(program)
            s.flush()
            year = m.AcademicYear(program_id=program.id, start_year=2027, start_date=D(2027, 7, 1),
                                  end_date=D(2028, 6, 30), block_layout=LAYOUT_BLOCK0_THURSDAY)
            s.add(year)
            s.flush()
            s.add_all(m.Block(academic_year_id=year.id, number=b.number, start_date=b.start, end_date=b.end)
                      for b in make_blocks(2027, LAYOUT_BLOCK0_THURSDAY))
        with factory() as s:
            stored = s.execute(select(m.Block.number, m.Block.start_date, m.Block.end_date)
                               .order_by(m.Block.number)).all()
        assert [BlockDates(*r) for r in stored] == make_blocks(2027, LAYOUT_BLOCK0_THURSDAY)
        with pytest.raises(IntegrityError, match="block_dates_ordered"), unit_of_work(factory) as s:
            s.add(m.Block(academic_year_id=year.id, number=14, start_date=D(2028, 6, 30), end_date=D(2028, 6, 1)))
    finally:
        opened.engine.dispose()
