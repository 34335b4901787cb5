"""ICS feeds read back with icalendar: counts and times equal the assignments; SEQUENCE on change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from core.errors import ValidationError
from core.io.grid import load_year
from core.io.ics import event_uid, export_feed
from core.services.schedule import CallEdit, SlotEdit, assign_slots, set_calls
from tests.helpers.io_program import program_copy

TZ = ZoneInfo("America/Chicago")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("io-cache")


@pytest.fixture
def small(tmp_path: Path, cache: Path):
    _path, ctx = program_copy(tmp_path / "small.sqlite", n_residents=6, n_faculty=3, cache_dir=cache)
    yield ctx
    ctx.engine.dispose()


def _events(path: Path) -> dict[str, object]:
    cal = Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def _wall(day: dt.date, minute: int) -> dt.datetime:
    return (dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minute)).replace(tzinfo=TZ)


def test_person_feed_has_one_event_per_assignment_and_call_at_the_right_times(small, tmp_path: Path) -> None:
    data = load_year(small)
    person = next(p for p in data.people if p.kind == "resident")
    out = tmp_path / "me.ics"
    result = export_feed(small, data, out, person_id=person.id)
    events = _events(out)
    mine = [a for a in data.assignments if a.person_id == person.id]
    calls = [c for c in data.calls if c.person_id == person.id]
    assert len(events) == result.events == len(mine) + len(calls)
    cal = Calendar.from_ical(out.read_bytes())
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["America/Chicago"]
    for a in mine:
        ev = events[event_uid(person.id, a.date, ("AM", "PM")[a.slot])]
        act = data.activity_by_id[a.activity_id]
        start, minutes = (act.am_start, act.am_minutes) if a.slot == 0 else (act.pm_start, act.pm_minutes)
        if minutes == 0:
            start, minutes = ((480, 240), (780, 240))[a.slot]
            assert str(ev["TRANSP"]) == "TRANSPARENT"
        assert ev.decoded("DTSTART") == _wall(a.date, start)
        assert ev.decoded("DTEND") == _wall(a.date, start + minutes)
        assert ev.decoded("DTSTART").tzinfo.key == "America/Chicago"
        assert str(ev["SUMMARY"]) == act.name
        assert int(ev["SEQUENCE"]) == 0
    for c in calls:
        ev = events[event_uid(person.id, c.date, "call")]
        if c.call_type == "in_house":
            assert ev.decoded("DTSTART") == _wall(c.date, 7 * 60)
            assert ev.decoded("DTEND") == _wall(c.date + dt.timedelta(days=1), 7 * 60)
        else:
            assert ev.decoded("DTSTART") == _wall(c.date, 19 * 60)
            assert ev.decoded("DTEND") == _wall(c.date + dt.timedelta(days=1), 7 * 60)


def test_night_float_across_the_autumn_clock_change_lasts_13_hours(small, tmp_path: Path) -> None:
    data = load_year(small)
    person = next(p for p in data.people if p.kind == "resident")
    nf = next(a for a in data.activities if a.code == "NF")
    day = dt.date(2026, 10, 31)  # clocks go back at 02:00 on Nov 1 in Chicago
    assign_slots(small, [SlotEdit(person.id, day, 1, nf.id)], reason="test")
    out = tmp_path / "nf.ics"
    export_feed(small, load_year(small), out, person_id=person.id)
    ev = _events(out)[event_uid(person.id, day, "PM")]
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    assert (start.hour, end.hour, end.date()) == (19, 7, dt.date(2026, 11, 1))
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=13)


def test_reexport_after_one_edit_raises_exactly_one_sequence(small, tmp_path: Path) -> None:
    data = load_year(small)
    person = next(p for p in data.people if p.kind == "resident")
    out = tmp_path / "feed.ics"
    export_feed(small, data, out, person_id=person.id)
    first = _events(out)
    a = next(x for x in data.assignments if x.person_id == person.id and x.date > dt.date(2026, 9, 1))
    other = next(x for x in data.activities if x.code in ("LEC", "ELEC") and x.id != a.activity_id)
    assign_slots(small, [SlotEdit(person.id, a.date, a.slot, other.id)], reason="test")
    result = export_feed(small, load_year(small), out, person_id=person.id)
    second = _events(out)
    assert set(first) == set(second)  # same UIDs: the edit updates, never duplicates
    bumped = [uid for uid in second if int(second[uid]["SEQUENCE"]) != int(first[uid]["SEQUENCE"])]
    assert bumped == [event_uid(person.id, a.date, ("AM", "PM")[a.slot])]
    assert int(second[bumped[0]]["SEQUENCE"]) == 1 and result.changed == 1
    # A third export without changes raises nothing.
    assert export_feed(small, load_year(small), out, person_id=person.id).changed == 0


def test_service_feed_lists_everyone_on_the_service(small, tmp_path: Path) -> None:
    data = load_year(small)
    out = tmp_path / "wards.ics"
    export_feed(small, data, out, service="W")
    events = _events(out)
    wards = [a for a in data.assignments if data.activity_by_id[a.activity_id].code == "W"]
    assert len(events) == len(wards)
    a = wards[0]
    ev = events[event_uid(a.person_id, a.date, ("AM", "PM")[a.slot])]
    assert str(ev["SUMMARY"]) == f"Inpatient wards: {data.person_by_id[a.person_id].name}"
    ob = tmp_path / "ob.ics"
    export_feed(small, data, ob, service="OB")
    assert len(_events(ob)) == sum(1 for c in data.calls if c.service == "OB") > 0


def test_call_edit_changes_only_that_call(small, tmp_path: Path) -> None:
    data = load_year(small)
    c = next(x for x in data.calls if x.call_type == "in_house" and data.person_by_id[x.person_id].kind == "resident"
             and x.date > dt.date(2026, 9, 1))
    out = tmp_path / "c.ics"
    export_feed(small, data, out, person_id=c.person_id)
    set_calls(small, [CallEdit(c.person_id, c.date, "home", service="OB")], reason="test")
    result = export_feed(small, load_year(small), out, person_id=c.person_id)
    assert result.changed == 1 and result.new == 0


def test_unknown_service_is_refused(small) -> None:
    with pytest.raises(ValidationError, match="No activity or call service"):
        export_feed(small, load_year(small), None, service="NOPE")
