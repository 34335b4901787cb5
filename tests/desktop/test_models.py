"""Every item model of the desktop passes pytest-qt's qtmodeltester, over real data."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt

from core.services.base import ServiceContext
from core.store.db import open_database

BLOCK1 = (dt.date(2026, 7, 1), dt.date(2026, 7, 28))


@pytest.fixture
def ctx(program_file, fixed_clock):
    opened = open_database(program_file)
    yield ServiceContext(opened.engine, actor="tester", clock=fixed_clock)
    opened.engine.dispose()


@pytest.fixture
def data(ctx, program_file):
    from desktop.program import read_program

    return read_program(ctx, program_file)


@pytest.fixture
def block(ctx, data):
    from desktop.program import load_block

    year = data.years[0]
    return load_block(ctx, data.program.id, year, year.blocks[0], progress=lambda *a: None, cancelled=lambda: False)


def test_grid_constants_match_the_snapshot():
    import core.snapshot as cs
    from desktop.models import block_grid

    assert block_grid.CALL_NONE == cs.CALL_NONE
    assert block_grid.SOURCE_CODES == cs.SOURCE_CODES


def test_block_grid_model(qtmodeltester, block):
    from desktop.models.block_grid import CALL_ROWS, BlockFilterProxy, BlockGridModel, LockedRole

    model = BlockGridModel()
    model.set_block(block.snapshot, block.first_day, block.n_days)
    qtmodeltester.check(model)
    snap = block.snapshot
    assert model.rowCount() == CALL_ROWS + snap.n_people
    assert model.columnCount() == 2 * 28
    # residents first, PGY descending, then faculty
    kinds = [model.headerData(r, Qt.Orientation.Vertical) for r in range(CALL_ROWS, model.rowCount())]
    assert "PGY-3" in kinds[0] and "Faculty" in kinds[-1]
    assert model.headerData(0, Qt.Orientation.Horizontal).startswith("Wed\n1\nAM")
    # a faculty preload cell: coloured, contrasting text, locked, with a tooltip naming the source
    ix = next(model.index(r, c) for r in range(model.rowCount() - 3, model.rowCount()) for c in range(4)
              if model.data(model.index(r, c)) == "AT")
    assert model.data(ix, Qt.ItemDataRole.BackgroundRole).name() == "#1f497d"
    assert model.data(ix, Qt.ItemDataRole.ForegroundRole).name() == "#ffffff"
    assert model.data(ix, LockedRole) is True
    assert "Source: preload, locked" in model.data(ix, Qt.ItemDataRole.ToolTipRole)
    # Saturday July 4 is a weekend (and the holiday): shaded header
    assert model.headerData(2 * 3, Qt.Orientation.Horizontal, Qt.ItemDataRole.BackgroundRole) is not None

    proxy = BlockFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.set_filter(pgy=1)
    assert proxy.rowCount() == CALL_ROWS + 2
    proxy.set_filter(pgy=None, name="helen")
    assert proxy.rowCount() == CALL_ROWS + 1
    proxy.set_filter(name="", activity_index=snap.activity_index[next(a.id for a in snap.activities if a.code == "NF")])
    assert CALL_ROWS < proxy.rowCount() < model.rowCount()
    qtmodeltester.check(proxy)


def test_violations_model(qtmodeltester, block):
    from desktop.models.violations import ViolationFilterProxy, ViolationsModel

    model = ViolationsModel()
    model.set_violations(block.violations, keep=block.in_block)
    assert model.rowCount() > 0
    qtmodeltester.check(model)
    proxy = ViolationFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter(severity="critical")
    assert 0 < proxy.rowCount() <= model.rowCount()
    assert all(proxy.index(r, 1).data() == "critical" for r in range(proxy.rowCount()))
    proxy.set_filter(severity="", rule="COV")
    assert all(proxy.index(r, 0).data() == "COV" for r in range(proxy.rowCount()))
    qtmodeltester.check(proxy)
    first = model.rows[0]
    n = model.rowCount()
    shown = [model.index(r, 0).data() + model.index(r, 7).data() for r in range(n)]  # texts made and kept
    model.apply_change(added=(), removed=(first,))
    assert model.rowCount() == n - 1
    model.apply_change(added=(first,), removed=())
    assert model.rowCount() == n
    # the display texts follow their rows through the removal and the append
    assert [model.index(r, 0).data() + model.index(r, 7).data() for r in range(n)] == shown[1:] + shown[:1]
    assert model.index(n - 1, 7).data() == first.message and model.index(n - 1, 0).data() == first.rule


def test_calendar_models(qtmodeltester, ctx, data, sample):
    from desktop.views.calendars import (
        PersonCalendarModel,
        TodayModel,
        YearOverviewModel,
        read_person_days,
        read_today,
    )

    person = PersonCalendarModel()
    entries = read_person_days(ctx, data, sample.residents[0], dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    person.set_days(dt.date(2026, 7, 1), dt.date(2026, 7, 31), entries)
    qtmodeltester.check(person)
    assert person.rowCount() == 5 and person.columnCount() == 7
    assert "AM " in person.index(0, 2).data()  # Wednesday July 1

    from core.services import queries

    year = YearOverviewModel()
    residents = [p for p in data.people if p.kind == "resident"]
    year.set_plan(residents, list(data.years[0].blocks), queries.rotation_plan(ctx, data.years[0].id),
                  {r.id: r for r in data.rotations})
    qtmodeltester.check(year)
    assert year.index(0, 0).data() in {r.code for r in data.rotations}

    today = TodayModel()
    t = read_today(ctx, data.program.id, dt.date(2026, 7, 6))
    today.set_rows(t.rows)
    qtmodeltester.check(today)
    assert t.on_call and today.rowCount() > 0


def test_editor_models(qtmodeltester, data):
    from desktop.views.editors import PatternModel, RecordTableModel

    table = RecordTableModel((("Code", lambda a: a.code), ("Name", lambda a: a.name)), colour=lambda a: a.colour)
    table.set_records(data.activities)
    qtmodeltester.check(table)
    rot = data.rotations[0]
    pattern = PatternModel()
    pattern.set_pattern(rot.pattern, data.activities)
    qtmodeltester.check(pattern)
    ix = pattern.index(0, 6)  # Sunday AM
    assert pattern.setData(ix, "lec")
    assert pattern.data(ix) == "LEC"
    assert not pattern.setData(ix, "NOPE")
    assert pattern.setData(ix, "")
    assert (6, 0) not in pattern.cells
