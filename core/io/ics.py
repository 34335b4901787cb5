"""Calendar feeds (iCalendar, RFC 5545) per person and per service, with stable event UIDs.

- One event per assignment (person x date x slot) and one per call night.
- UIDs are derived from the person id, the date and the slot (or "call"), so a re-export after a
  change updates the same events in a subscriber's calendar instead of duplicating them.
- Times are local wall-clock times in the program's time zone (TZID + a VTIMEZONE component); an
  activity's span is its duty span (start, length) for the slot, e.g. night float 19:00 -> 07:00 the
  next morning. A slot whose activity has no duty span (off, leave, post-call) gets the nominal
  half-day (08:00-12:00 or 13:00-17:00) and is marked TRANSPARENT (free time).
- Calls have their real spans: in-house from the rule set's call start for its length (24 h by
  default, 07:00 -> 07:00); home and backup call from the rule set's home-call start to the next
  morning's call start.
- SEQUENCE: a small JSON state file (by default `<feed>.ics.state.json` next to the feed) keeps,
  per UID, a hash of the event's content and its sequence number. A re-export raises SEQUENCE only
  for events whose content changed; new events start at 0. Events that disappear are dropped from
  the feed and stay in the state, so one that comes back continues its numbering.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from core.calendar import SLOT_NAMES
from core.errors import ValidationError
from core.io.grid import YearData
from core.rules.ruleset import RuleValues
from core.services.base import ServiceContext
from core.services.programs import current_rule_set

NOMINAL_SLOT = ((8 * 60, 240), (13 * 60, 240))
CALL_NAMES = {"in_house": "In-house call", "home": "Home call", "backup": "Backup call"}
STATE_VERSION = 1
PRODID = "-//Residency Scheduler//rsched//EN"


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    start: dt.datetime
    end: dt.datetime
    summary: str
    description: str
    location: str | None
    transparent: bool
    kind: str  # slot | call

    def content_hash(self) -> str:
        text = "\x1f".join((self.start.isoformat(), self.end.isoformat(), self.summary, self.description,
                            self.location or "", str(self.transparent)))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class FeedResult:
    payload: bytes
    events: int
    new: int
    changed: int  # events whose SEQUENCE was raised
    state_path: Path | None


def event_uid(person_id: str, day: dt.date, what: str) -> str:
    """Stable UID of a person's slot ('AM'/'PM') or call ('call') on a date."""
    digest = hashlib.sha1(f"{person_id}|{day.isoformat()}|{what}".encode()).hexdigest()
    return f"{digest}@rsched"


def _local(tz: ZoneInfo, day: dt.date, minute: int, length: int) -> tuple[dt.datetime, dt.datetime]:
    """Wall-clock start and end (length in wall-clock minutes, as the time model says)."""
    naive = dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minute)
    return naive.replace(tzinfo=tz), (naive + dt.timedelta(minutes=length)).replace(tzinfo=tz)


def _rules(ctx: ServiceContext, program_id: str) -> RuleValues:
    rs = current_rule_set(ctx, program_id)
    return RuleValues.from_dict(dict(rs.values)) if rs is not None else RuleValues()


def feed_events(
    data: YearData,
    rules: RuleValues,
    *,
    person_id: str | None = None,
    service: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[FeedEvent]:
    """The events of one person's feed, or of one service's feed (an activity code or call service)."""
    if (person_id is None) == (service is None):
        raise ValidationError("A calendar feed is for one person or for one service.", field="feed")
    tz = ZoneInfo(data.program.time_zone)
    first, last = start or data.year.start, end or data.year.end
    raw_locations = data.program.settings.get("locations")
    locations: dict[str, Any] = dict(raw_locations) if isinstance(raw_locations, dict) else {}
    wanted = service.casefold() if service is not None else None
    if wanted is not None and not any(a.code.casefold() == wanted for a in data.activities) and not any(
            c.service.casefold() == wanted for c in data.calls):
        raise ValidationError(f"No activity or call service is called {service}.", field="service")
    out: list[FeedEvent] = []
    for a in data.assignments:
        if not first <= a.date <= last:
            continue
        act = data.activity_by_id[a.activity_id]
        if person_id is not None and a.person_id != person_id:
            continue
        if wanted is not None and act.code.casefold() != wanted:
            continue
        person = data.person_by_id[a.person_id]
        minute, length = (act.am_start, act.am_minutes) if a.slot == 0 else (act.pm_start, act.pm_minutes)
        transparent = length == 0
        if transparent:
            minute, length = NOMINAL_SLOT[a.slot]
        s, e = _local(tz, a.date, minute, length)
        summary = act.name if person_id is not None else f"{act.name}: {person.name}"
        out.append(FeedEvent(event_uid(a.person_id, a.date, SLOT_NAMES[a.slot]), s, e, summary,
                             f"{act.code} ({SLOT_NAMES[a.slot]}) - {person.name}", locations.get(act.code),
                             transparent, "slot"))
    for c in data.calls:
        if not first <= c.date <= last:
            continue
        if person_id is not None and c.person_id != person_id:
            continue
        if wanted is not None and c.service.casefold() != wanted:
            continue
        person = data.person_by_id[c.person_id]
        if c.call_type == "in_house":
            s, e = _local(tz, c.date, rules.in_house_call_start, rules.in_house_call_minutes)
        else:
            length = 24 * 60 - rules.home_call_start + rules.in_house_call_start
            s, e = _local(tz, c.date, rules.home_call_start, length)
        title = CALL_NAMES[c.call_type] + (f" ({c.service})" if c.service else "")
        summary = title if person_id is not None else f"{title}: {person.name}"
        detail = f"{title} - {person.name}" + (f"; {c.hours_worked:g} h worked" if c.hours_worked is not None else "")
        out.append(FeedEvent(event_uid(c.person_id, c.date, "call"), s, e, summary, detail,
                             locations.get(c.service) if c.service else None, False, "call"))
    out.sort(key=lambda ev: (ev.start, ev.uid))
    return out


# ------------------------------------------------------------------------------------------ state
def default_state_path(feed: Path) -> Path:
    return feed.with_name(feed.name + ".state.json")


def _read_state(path: Path | None) -> dict[str, dict[str, Any]]:
    if path is None or not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"The feed's state file {path} cannot be read ({exc}); delete it to start the "
                              "sequence numbers again.", field="state") from exc
    if not isinstance(raw, dict) or raw.get("version") != STATE_VERSION or not isinstance(raw.get("events"), dict):
        raise ValidationError(f"{path} is not a calendar feed state file of this program.", field="state")
    return dict(raw["events"])


def build_calendar(events: list[FeedEvent], name: str, time_zone: str, state_path: Path | None,
                   now: dt.datetime) -> FeedResult:
    """The VCALENDAR with SEQUENCE numbers from the state file (which is updated)."""
    state = _read_state(state_path)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", time_zone)
    new = changed = 0
    stamp = now.astimezone(dt.UTC)
    for ev in events:
        h = ev.content_hash()
        known = state.get(ev.uid)
        if known is None:
            seq = 0
            new += 1
        elif known.get("hash") != h:
            seq = int(known.get("sequence", 0)) + 1
            changed += 1
        else:
            seq = int(known.get("sequence", 0))
        state[ev.uid] = {"hash": h, "sequence": seq}
        e = Event()
        e.add("uid", ev.uid)
        e.add("dtstamp", stamp)
        e.add("dtstart", ev.start)
        e.add("dtend", ev.end)
        e.add("sequence", seq)
        e.add("summary", ev.summary)
        e.add("description", ev.description)
        if ev.location:
            e.add("location", ev.location)
        e.add("transp", "TRANSPARENT" if ev.transparent else "OPAQUE")
        e.add("categories", ["Call" if ev.kind == "call" else "Schedule"])
        cal.add_component(e)
    if events:
        first = min(ev.start for ev in events).date() - dt.timedelta(days=1)
        last = max(ev.end for ev in events).date() + dt.timedelta(days=1)
        cal.add_missing_timezones(first_date=first, last_date=last)
    if state_path is not None:
        tmp = state_path.with_name(state_path.name + ".tmp")
        tmp.write_text(json.dumps({"version": STATE_VERSION, "events": state}, sort_keys=True), encoding="utf-8")
        tmp.replace(state_path)
    return FeedResult(cal.to_ical(), len(events), new, changed, state_path)


def export_feed(
    ctx: ServiceContext,
    data: YearData,
    out: Path | None,
    *,
    person_id: str | None = None,
    service: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    state_path: Path | None = None,
    now: dt.datetime | None = None,
) -> FeedResult:
    """Write one feed (.ics) and update its SEQUENCE state. Without `out`, only returns the bytes
    (and uses `state_path` when given)."""
    events = feed_events(data, _rules(ctx, data.program.id), person_id=person_id, service=service,
                         start=start, end=end)
    if person_id is not None:
        name = f"{data.person_by_id[person_id].name} - {data.program.name}"
    else:
        name = f"{service} - {data.program.name}"
    if state_path is None and out is not None:
        state_path = default_state_path(out)
    result = build_calendar(events, name, data.program.time_zone, state_path, now or ctx.clock())
    if out is not None:
        out.write_bytes(result.payload)
    return result
