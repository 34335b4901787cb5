"""Swaps: the four kinds (trade, give-away, pool offer, open-shift pickup), checks, matching,
approval, execution and rollback (DOMAIN.md "Swaps").

A shift is any set of one person's slots and call nights (`ShiftItem`s). Executing a swap
exchanges the content of each named slot between the two people (what the receiver had there,
usually nothing or OFF, goes to the giver) and moves each named call night to the receiver. The
row changes are stored with the swap so it can be rolled back exactly, within the rollback window,
unless a later change touched the same rows.

States: requested -> accepted -> approved (when the rule set requires approval) -> executed;
requested/accepted/approved -> declined | cancelled | expired; executed -> rolled_back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.calendar import academic_year_of
from core.calendar import days as date_range
from core.errors import ConflictError, NotFoundError, ValidationError
from core.rules.engine import ChangeCheck, ProposedChange, changed_slot_days, check_change
from core.rules.ruleset import RuleValues
from core.services.base import Result, RowChange, ServiceContext, Work
from core.services.people import get_person
from core.services.schedule import put_call, put_slot
from core.snapshot import (
    CALL_IN_HOUSE,
    KIND_CODES,
    ScheduleSnapshot,
    active_rule_set,
    build_snapshot,
    read_head_counts,
)
from core.store import models as m

KINDS = m.SWAP_KINDS
OPEN_STATES = ("requested", "accepted", "approved")
TRANSITIONS: dict[str, set[str]] = {
    "requested": {"accepted", "declined", "cancelled", "expired"},
    "accepted": {"approved", "executed", "declined", "cancelled", "expired"},
    "approved": {"executed", "cancelled", "expired"},
    "executed": {"rolled_back"},
    "declined": set(),
    "cancelled": set(),
    "expired": set(),
    "rolled_back": set(),
}
CHECK_MARGIN_DAYS = 29  # every 28-day window that holds a moved shift, plus a day for rest periods


@dataclass(frozen=True, order=True)
class ShiftItem:
    """One slot (slot = 0 AM / 1 PM) or one call night (slot = None) of a swap."""

    date: dt.date
    slot: int | None = None

    @property
    def is_call(self) -> bool:
        return self.slot is None

    def label(self) -> str:
        return f"{self.date:%a %b %d} " + ("call" if self.slot is None else ("AM" if self.slot == 0 else "PM"))


def day_shift(day: dt.date, *, with_call: bool = False) -> tuple[ShiftItem, ...]:
    items = [ShiftItem(day, 0), ShiftItem(day, 1)]
    return tuple(items + ([ShiftItem(day)] if with_call else []))


def week_shift(ctx: ServiceContext, person_id: str, first_day: dt.date) -> tuple[ShiftItem, ...]:
    """A week of a person's service from `first_day`: every held slot and the week's call nights."""
    last = first_day + dt.timedelta(days=6)

    def run(s: Session) -> tuple[ShiftItem, ...]:
        items = [ShiftItem(a.date, a.slot) for a in s.scalars(select(m.Assignment).where(
            m.Assignment.person_id == person_id, m.Assignment.date >= first_day, m.Assignment.date <= last,
            m.Assignment.deleted.is_(False)))]
        items += [ShiftItem(c.date) for c in s.scalars(select(m.CallAssignment).where(
            m.CallAssignment.person_id == person_id, m.CallAssignment.date >= first_day,
            m.CallAssignment.date <= last, m.CallAssignment.deleted.is_(False)))]
        return tuple(sorted(items, key=lambda i: (i.date, -1 if i.slot is None else i.slot)))

    return ctx.read(run)


@dataclass(frozen=True)
class SwapRecord:
    id: str
    kind: str
    status: str
    requester_id: str
    counterpart_id: str | None
    give: tuple[ShiftItem, ...]
    take: tuple[ShiftItem, ...]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    executed_at: dt.datetime | None
    note: str | None
    override_reason: str | None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class SwapCheck:
    """The result of checking a swap: every problem in plain words, and whether it may execute."""

    problems: tuple[str, ...]
    blocking: tuple[str, ...]  # problems an override cannot pass (e.g. the shift is not held)
    critical: tuple[str, ...]  # critical rule violations the swap would add (override with a reason)
    check: ChangeCheck | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems


# ------------------------------------------------------------------------------------- helpers
def _swap(session: Session, swap_id: str) -> m.SwapRequest:
    s = session.get(m.SwapRequest, swap_id)
    if s is None or s.deleted:
        raise NotFoundError("That swap does not exist.", field="swap_id")
    return s


def _items(session: Session, swap_id: str) -> tuple[tuple[ShiftItem, ...], tuple[ShiftItem, ...]]:
    give: list[ShiftItem] = []
    take: list[ShiftItem] = []
    for it in session.execute(select(m.SwapItem.side, m.SwapItem.date, m.SwapItem.slot).where(
            m.SwapItem.swap_id == swap_id, m.SwapItem.deleted.is_(False))):
        (give if it.side == "give" else take).append(ShiftItem(it.date, it.slot))
    return tuple(sorted(give, key=_item_key)), tuple(sorted(take, key=_item_key))


def _item_key(i: ShiftItem) -> tuple[dt.date, int]:
    return (i.date, -1 if i.slot is None else i.slot)


def _record(session: Session, s: m.SwapRequest) -> SwapRecord:
    give, take = _items(session, s.id)
    problems = tuple((s.checks or {}).get("problems", ()))
    return SwapRecord(s.id, s.kind, s.status, s.requester_id, s.counterpart_id, give, take, s.created_at,
                      s.expires_at, s.executed_at, s.note, s.override_reason, problems)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _holder_rows(session: Session, person_id: str, items: Sequence[ShiftItem]) -> dict[ShiftItem, Any]:
    """The assignment / call row each item refers to for `person_id` (None when not held).

    Two queries whatever the number of items (a week swap names 14 slots and its calls)."""
    out: dict[ShiftItem, Any] = {it: None for it in items}
    if not items:
        return out
    first, last = min(i.date for i in items), max(i.date for i in items)
    if any(it.is_call for it in items):
        calls = {c.date: c for c in session.scalars(select(m.CallAssignment).where(
            m.CallAssignment.person_id == person_id, m.CallAssignment.date >= first,
            m.CallAssignment.date <= last, m.CallAssignment.deleted.is_(False)))}
        for it in items:
            if it.is_call:
                out[it] = calls.get(it.date)
    if any(not it.is_call for it in items):
        slots: dict[tuple[dt.date, int | None], m.Assignment] = {(a.date, a.slot): a for a in session.scalars(select(m.Assignment).where(
            m.Assignment.person_id == person_id, m.Assignment.date >= first, m.Assignment.date <= last,
            m.Assignment.deleted.is_(False)))}
        for it in items:
            if not it.is_call:
                out[it] = slots.get((it.date, it.slot))
    return out


def _notify(work: Work, person_id: str | None, kind: str, text: str, ref: str) -> None:
    work.session.add(m.Notification(person_id=person_id, kind=kind, text=text, ref=ref, created_at=work.ctx.clock()))


def _name(session: Session, person_id: str | None) -> str:
    if person_id is None:
        return "nobody"
    p = session.get(m.Person, person_id)
    return p.name if p else "someone"


# ------------------------------------------------------------------------------------- request
def request_swap(
    ctx: ServiceContext,
    kind: str,
    requester_id: str,
    give: Sequence[ShiftItem],
    *,
    take: Sequence[ShiftItem] = (),
    counterpart_id: str | None = None,
    note: str | None = None,
    expires_at: dt.datetime | None = None,
) -> Result[SwapRecord]:
    """Make a swap request of one of the four kinds.

    trade: requester gives `give` to the named counterpart and takes `take` back.
    giveaway: requester gives `give` to the named counterpart, nothing back.
    pool: requester offers `give` to anyone who will trade something back (named when accepting).
    open_shift: `give` is posted for anyone eligible to claim; the requester stays responsible.
    """
    if kind not in KINDS:
        raise ValidationError(f"A swap is one of: {', '.join(KINDS)}.", field="kind")
    if not give:
        raise ValidationError("Name at least one shift to swap.", field="give")
    if len(set(give)) != len(give) or len(set(take)) != len(take):
        raise ValidationError("The same shift is named twice.", field="give")
    if kind in ("trade", "giveaway") and not counterpart_id:
        raise ValidationError(f"A {kind} needs the person it is made with.", field="counterpart_id")
    if kind in ("pool", "open_shift") and counterpart_id:
        raise ValidationError(f"A {kind.replace('_', ' ')} is offered to everyone, not one person.", field="counterpart_id")
    if kind == "trade" and not take:
        raise ValidationError("A trade needs a shift back; without one it is a give-away.", field="take")
    if kind != "trade" and take:
        raise ValidationError("Only a trade names shifts taken back at request time.", field="take")
    if counterpart_id == requester_id:
        raise ValidationError("A swap is made with someone else.", field="counterpart_id")

    def run(work: Work) -> SwapRecord:
        s = work.session
        requester = get_person(s, requester_id)
        if counterpart_id:
            other = get_person(s, counterpart_id)
            if other.program_id != requester.program_id:
                raise ValidationError("Both people must be in the same program.", field="counterpart_id")
        missing = [it.label() for it, row in _holder_rows(s, requester_id, give).items() if row is None]
        if missing:
            raise ValidationError(f"{requester.name} does not hold {', '.join(missing)}.", field="give")
        if take and counterpart_id:
            missing = [it.label() for it, row in _holder_rows(s, counterpart_id, take).items() if row is None]
            if missing:
                raise ValidationError(f"{_name(s, counterpart_id)} does not hold {', '.join(missing)}.", field="take")
        swap = work.add(m.SwapRequest(
            program_id=requester.program_id, kind=kind, status="requested", requester_id=requester_id,
            counterpart_id=counterpart_id, created_at=work.ctx.clock(), expires_at=expires_at, note=note,
            checks={}, executed_changes={}))
        for side, items in (("give", give), ("take", take)):
            for it in items:
                work.add(m.SwapItem(swap_id=swap.id, side=side, item_kind="call" if it.is_call else "slot",
                                    date=it.date, slot=it.slot))
        if counterpart_id:
            _notify(work, counterpart_id, "swap_request",
                    f"{requester.name} asks you to take {', '.join(i.label() for i in give)}.", swap.id)
        return _record(s, swap)

    return ctx.write("request_swap", run, entity="swap_request")


# ---------------------------------------------------------------------------------------- check
class _Held:
    """The live assignment and call rows (plain columns) of some people over some dates, read in
    two queries, so a check finds every item of both sides and the post-call days without a query
    each. A lookup it does not cover falls back to `_holder_rows`."""

    def __init__(self, session: Session, person_ids: Sequence[str] | None, first: dt.date, last: dt.date) -> None:
        """`person_ids` None: everybody's rows (a few days of everybody read faster by date alone)."""
        self.session, self.first, self.last = session, first, last
        self.people = None if person_ids is None else frozenset(person_ids)
        some = () if self.people is None else (m.Assignment.person_id.in_(tuple(sorted(self.people))),)
        self.slots: dict[tuple[str, dt.date, int | None], Any] = {(r.person_id, r.date, r.slot): r for r in session.execute(
            select(m.Assignment.person_id, m.Assignment.date, m.Assignment.slot, m.Assignment.activity_id).where(
                *some, m.Assignment.date >= first, m.Assignment.date <= last, m.Assignment.deleted.is_(False)))}
        some = () if self.people is None else (m.CallAssignment.person_id.in_(tuple(sorted(self.people))),)
        self.calls: dict[tuple[str, dt.date], Any] = {(r.person_id, r.date): r for r in session.execute(
            select(m.CallAssignment.person_id, m.CallAssignment.date, m.CallAssignment.call_type,
                   m.CallAssignment.hours_worked).where(
                *some, m.CallAssignment.date >= first, m.CallAssignment.date <= last,
                m.CallAssignment.deleted.is_(False)))}
        self._post_call: frozenset[str] | None = None

    def rows(self, person_id: str, items: Sequence[ShiftItem]) -> dict[ShiftItem, Any]:
        if (self.people is not None and person_id not in self.people) or any(
                not self.first <= it.date <= self.last for it in items):
            return _holder_rows(self.session, person_id, items)
        return {it: self.calls.get((person_id, it.date)) if it.is_call else self.slots.get((person_id, it.date, it.slot))
                for it in items}

    def post_call_ids(self) -> frozenset[str]:
        if self._post_call is None:
            self._post_call = frozenset(self.session.scalars(select(m.Activity.id).where(m.Activity.category == "postcall")))
        return self._post_call


def _held_for(session: Session, person_ids: Sequence[str] | None, items: Sequence[ShiftItem]) -> _Held:
    """Rows of these people over the items' dates and the day after the last (its post-call day)."""
    return _Held(session, person_ids, min(i.date for i in items), max(i.date for i in items) + dt.timedelta(days=1))


def _with_post_call(session: Session, giver_id: str, items: Sequence[ShiftItem],
                    held: _Held | None = None) -> tuple[ShiftItem, ...]:
    """The items plus, for each call night, the giver's post-call day after it: post-call goes with
    the call (the receiver gets the rest day, the giver gets back the receiver's day)."""
    calls = [it for it in items if it.is_call]
    if not calls:
        return tuple(items)
    held = held or _held_for(session, [giver_id], items)
    named = set(items)
    extra: list[ShiftItem] = []
    after = [ShiftItem(it.date + dt.timedelta(days=1), slot) for it in calls for slot in (0, 1)]
    rows = held.rows(giver_id, [a for a in after if a not in named])
    post_call_ids = held.post_call_ids()
    for it, row in rows.items():
        if row is not None and row.activity_id in post_call_ids:
            extra.append(it)
    return tuple(items) + tuple(extra)


def _proposed(session: Session, swap: m.SwapRequest, counterpart_id: str, give: Sequence[ShiftItem],
              take: Sequence[ShiftItem], *, held: _Held | None = None,
              names: Mapping[str, str] | None = None) -> tuple[ProposedChange, list[str]]:
    """The assignment/call moves the swap makes, and problems found on the way."""
    problems: list[str] = []
    a_id, b_id = swap.requester_id, counterpart_id
    names = names or {}
    a_name = names[a_id] if a_id in names else _name(session, a_id)
    b_name = names[b_id] if b_id in names else _name(session, b_id)
    held = held or _held_for(session, [a_id, b_id], (*give, *take))
    give = _with_post_call(session, a_id, give, held)
    take = _with_post_call(session, b_id, take, held)
    both = set(give) & set(take)  # a post-call day named on both sides is exchanged once
    take = tuple(it for it in take if it not in both)
    slots: list[tuple[str, dt.date, int, str | None]] = []
    calls: list[tuple[str, dt.date, str | None, float | None]] = []
    for giver, receiver, items, gname, rname in ((a_id, b_id, give, a_name, b_name), (b_id, a_id, take, b_name, a_name)):
        mine = held.rows(giver, items)
        theirs = held.rows(receiver, items)
        for it in items:
            row, other = mine[it], theirs[it]
            if row is None:
                problems.append(f"{gname} no longer holds {it.label()}.")
                continue
            if it.is_call:
                if other is not None:
                    problems.append(f"{rname} is already on call on {it.date:%a %b %d}.")
                calls.append((giver, it.date, None, None))
                calls.append((receiver, it.date, row.call_type, row.hours_worked))
            else:
                assert it.slot is not None
                slots.append((receiver, it.date, it.slot, row.activity_id))
                slots.append((giver, it.date, it.slot, other.activity_id if other is not None else None))
    return ProposedChange(assignments=tuple(slots), calls=tuple(calls)), problems


def _snapshot_for(session: Session, program_id: str, items: Sequence[ShiftItem],
                  person_ids: Sequence[str] | None = None) -> ScheduleSnapshot:
    """The items' dates with CHECK_MARGIN_DAYS on each side (every window holding a moved shift),
    of everybody or only of `person_ids` (enough for their own rules)."""
    first = min(i.date for i in items) - dt.timedelta(days=CHECK_MARGIN_DAYS)
    last = max(i.date for i in items) + dt.timedelta(days=CHECK_MARGIN_DAYS)
    return build_snapshot(session, program_id, first, last, person_ids=person_ids)


def _covers(snap: ScheduleSnapshot, items: Sequence[ShiftItem], person_ids: Sequence[str]) -> bool:
    return (snap.day_of(min(i.date for i in items)) >= CHECK_MARGIN_DAYS
            and snap.day_of(max(i.date for i in items)) <= snap.n_days - 1 - CHECK_MARGIN_DAYS
            and (not snap.partial or all(pid in snap.person_index for pid in person_ids)))


@dataclass
class _Shared:
    """What the checks of one swap for many candidates share (`rank_candidates`)."""

    give: tuple[ShiftItem, ...]
    stored_take: tuple[ShiftItem, ...]
    rules: RuleValues | None = None  # None: the checked snapshot's
    held: _Held | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    slot_snapshots: list[ScheduleSnapshot] = field(default_factory=list)


def _rule_check(session: Session, program_id: str, snap: ScheduleSnapshot, change: ProposedChange,
                slot_snapshots: list[ScheduleSnapshot]) -> ChangeCheck:
    """The engine's incremental check. On a snapshot of the two people only, the slot-level rules
    read everybody's head counts on just the days whose head counts change (none when two people
    of one group exchange their activities): from a snapshot of everybody over those days already
    at hand, else read in one query (`read_head_counts`), else from a new snapshot of those days.
    The answer is the one a snapshot of everybody gives."""
    if not snap.partial:
        return check_change(snap, change)
    days = changed_slot_days(snap, change)
    if not days:
        return check_change(snap, change)
    slot_snap = next((x for x in slot_snapshots if x.start <= days[0] and x.end >= days[-1]), None)
    if slot_snap is None and academic_year_of(snap.start) == academic_year_of(snap.end):
        counts = read_head_counts(session, program_id, days, [a.id for a in snap.activities])
        if counts is not None and counts.academic_year == academic_year_of(snap.start):
            return check_change(snap, change, head_counts=counts)
    if slot_snap is None:
        slot_snap = build_snapshot(session, program_id, days[0], days[-1])
        slot_snapshots.append(slot_snap)
    return check_change(snap, change, slot_snapshot=slot_snap)


def check_swap_in(session: Session, ctx: ServiceContext, swap: m.SwapRequest, counterpart_id: str | None,
                  take: Sequence[ShiftItem] | None = None, *, snapshot: ScheduleSnapshot | None = None,
                  split: bool = True, shared: _Shared | None = None) -> SwapCheck:
    """Check a swap as if `counterpart_id` took it. `snapshot` (covering every moved shift with
    CHECK_MARGIN_DAYS on each side, of everybody or at least of both people) may be passed in when
    many candidates are checked at once.

    split (the default): the two people's rules are checked on a snapshot of those two only, and
    the slot-level rules on a snapshot of the days whose head counts change; False checks on one
    snapshot of everybody (the reference the tests compare with: both give the same answer)."""
    if shared is None:
        shared = _Shared(*_items(session, swap.id))  # the rule set: the snapshot's (read once)
    give = shared.give
    take = shared.stored_take if take is None else tuple(take)
    if counterpart_id is None:
        return SwapCheck(("Nobody has taken this offer yet.",), ("Nobody has taken this offer yet.",), ())
    problems: list[str] = []
    blocking: list[str] = []
    snap = snapshot
    items = (*give, *take)
    both = (swap.requester_id, counterpart_id)
    if snap is None or not _covers(snap, items, both) or (snap.partial and not split):
        snap = _snapshot_for(session, swap.program_id, items, both if split else None)
    names = shared.names or {person.id: person.name for person in snap.people}
    change, found = _proposed(session, swap, counterpart_id, give, take, held=shared.held, names=names)
    blocking += found
    problems += found
    # freeze horizon
    rules = snap.rules if shared.rules is None else shared.rules
    limit = ctx.today() + dt.timedelta(days=rules.freeze_days)
    inside = sorted({i.date for i in (*give, *take) if i.date < limit})
    if inside:
        problems.append(f"{inside[0]:%b %d} is inside the {rules.freeze_days}-day freeze horizon (a coordinator must approve with a reason).")
    if any(i.date < ctx.today() for i in (*give, *take)):
        msg = "A shift in the past cannot be swapped."
        problems.append(msg)
        blocking.append(msg)
    # absences and pending absences of the receiver
    for pid, items in ((counterpart_id, give), (swap.requester_id, take)):
        p = snap.person_index.get(pid)
        if p is None:
            msg = f"{_name(session, pid)} is not scheduled in this academic year."
            problems.append(msg)
            blocking.append(msg)
            continue
        for it in items:
            if snap.absent[p, snap.day_of(it.date)]:
                problems.append(f"{snap.people[p].name} is on approved leave on {it.date:%a %b %d}.")
    result = _rule_check(session, swap.program_id, snap, change, shared.slot_snapshots)
    critical = []
    for v in result.added:
        problems.append(f"{v.message} [{v.rule}, {v.severity}]")
        if v.severity == "critical":
            critical.append(v.message)
    return SwapCheck(tuple(dict.fromkeys(problems)), tuple(dict.fromkeys(blocking)), tuple(critical), result)


def check_swap(ctx: ServiceContext, swap_id: str, *, counterpart_id: str | None = None,
               take: Sequence[ShiftItem] | None = None) -> SwapCheck:
    """Check a swap (for a pool/open shift: as if `counterpart_id` took it) without writing."""

    def run(s: Session) -> SwapCheck:
        swap = _swap(s, swap_id)
        return check_swap_in(s, ctx, swap, counterpart_id or swap.counterpart_id, take)

    return ctx.read(run)


# ---------------------------------------------------------------------------------- transitions
def _expire_if_due(work: Work, swap: m.SwapRequest) -> None:
    exp = _aware(swap.expires_at)
    if swap.status in OPEN_STATES and exp is not None and work.ctx.clock() >= exp:
        raise ValidationError("This swap request has expired.", field="status")


def _move(work: Work, swap: m.SwapRequest, new: str, **fields: Any) -> None:
    if new not in TRANSITIONS[swap.status]:
        raise ValidationError(f"A swap that is {swap.status.replace('_', ' ')} cannot become {new.replace('_', ' ')}.",
                              field="status")
    work.set(swap, status=new, **fields)


def _claim(work: Work, swap_id: str, expected: tuple[str, ...], new: str, **values: Any) -> m.SwapRequest:
    """Move a swap to `new` with a conditional UPDATE first, so two concurrent accepts cannot both win."""
    s = work.session
    res = s.execute(update(m.SwapRequest).where(m.SwapRequest.id == swap_id, m.SwapRequest.status.in_(expected))
                    .values(status=new, **values).execution_options(synchronize_session=False))
    swap = _swap(s, swap_id)
    before = _image_before(swap)
    if getattr(res, "rowcount", 0) != 1:
        s.refresh(swap)
        if swap.status == "accepted" and swap.kind in ("pool", "open_shift"):
            raise ConflictError(f"{_name(s, swap.counterpart_id)} already took this offer.")
        raise ValidationError(f"A swap that is {swap.status.replace('_', ' ')} cannot become {new}.", field="status")
    s.refresh(swap)
    work.record_external(swap, before)
    return swap


def _image_before(swap: m.SwapRequest) -> dict[str, Any]:
    from core.services.base import row_image

    return row_image(swap)


def accept_swap(
    ctx: ServiceContext, swap_id: str, person_id: str, *, take: Sequence[ShiftItem] = (), override_reason: str | None = None,
) -> Result[SwapRecord]:
    """The counterpart accepts (trade/give-away), or someone takes a pool offer (naming what they
    give back in `take`) or claims an open shift. Checked first: a critical violation refuses it."""

    def run(work: Work) -> SwapRecord:
        s = work.session
        swap = _swap(s, swap_id)
        _expire_if_due(work, swap)
        if swap.kind in ("trade", "giveaway"):
            if person_id != swap.counterpart_id:
                raise ValidationError("Only the person the swap was made with can accept it.", field="person_id")
            if take:
                raise ValidationError("A trade's shifts were set when it was requested.", field="take")
        else:
            if person_id == swap.requester_id:
                raise ValidationError("You cannot take your own offer.", field="person_id")
            if swap.kind == "pool" and not take:
                raise ValidationError("A pool offer is taken by giving a shift back; name it.", field="take")
            if swap.kind == "open_shift" and take:
                raise ValidationError("An open shift is claimed without giving anything back.", field="take")
            get_person(s, person_id)
            missing = [it.label() for it, row in _holder_rows(s, person_id, take).items() if row is None]
            if missing:
                raise ValidationError(f"{_name(s, person_id)} does not hold {', '.join(missing)}.", field="take")
        result = check_swap_in(s, work.ctx, swap, person_id, take if swap.kind == "pool" else None)
        if result.blocking:
            raise ValidationError(result.blocking[0], field="swap")
        if result.critical and not (override_reason and override_reason.strip()):
            raise ValidationError(f"Accepting would break a rule: {result.critical[0]}", field="swap")
        swap = _claim(work, swap_id, ("requested",), "accepted", counterpart_id=person_id, accepted_at=work.ctx.clock(),
                      checks={"problems": list(result.problems)})
        if swap.kind == "pool":
            for it in take:
                work.add(m.SwapItem(swap_id=swap.id, side="take", item_kind="call" if it.is_call else "slot",
                                    date=it.date, slot=it.slot))
        _notify(work, swap.requester_id, "swap_accepted", f"{_name(s, person_id)} accepted your {swap.kind.replace('_', ' ')}.", swap.id)
        _n, rules = active_rule_set(s, swap.program_id)
        if rules.swap_requires_approval:
            _notify(work, None, "approval_waiting", f"A {swap.kind.replace('_', ' ')} waits for approval.", swap.id)
        return _record(s, swap)

    return ctx.write("accept_swap", run, entity="swap_request", entity_id=swap_id, reason=override_reason)


def decline_swap(ctx: ServiceContext, swap_id: str, person_id: str, *, reason: str | None = None) -> Result[SwapRecord]:
    def run(work: Work) -> SwapRecord:
        swap = _swap(work.session, swap_id)
        if swap.counterpart_id != person_id and swap.kind in ("trade", "giveaway"):
            raise ValidationError("Only the person the swap was made with can decline it.", field="person_id")
        _move(work, swap, "declined")
        _notify(work, swap.requester_id, "swap_declined", f"{_name(work.session, person_id)} declined your swap.", swap.id)
        return _record(work.session, swap)

    return ctx.write("decline_swap", run, entity="swap_request", entity_id=swap_id, reason=reason)


def cancel_swap(ctx: ServiceContext, swap_id: str, person_id: str, *, reason: str | None = None) -> Result[SwapRecord]:
    def run(work: Work) -> SwapRecord:
        swap = _swap(work.session, swap_id)
        if person_id != swap.requester_id:
            raise ValidationError("Only the person who made the request can cancel it.", field="person_id")
        _move(work, swap, "cancelled")
        if swap.counterpart_id:
            _notify(work, swap.counterpart_id, "swap_cancelled", "A swap offered to you was cancelled.", swap.id)
        return _record(work.session, swap)

    return ctx.write("cancel_swap", run, entity="swap_request", entity_id=swap_id, reason=reason)


def expire_swaps(ctx: ServiceContext) -> Result[int]:
    """Mark open swaps whose expiry time has passed as expired."""

    def run(work: Work) -> int:
        now = work.ctx.clock()
        n = 0
        for swap in work.session.scalars(select(m.SwapRequest).where(
                m.SwapRequest.status.in_(OPEN_STATES), m.SwapRequest.expires_at.is_not(None))):
            exp = _aware(swap.expires_at)
            if exp is not None and exp <= now:
                _move(work, swap, "expired")
                n += 1
        return n

    return ctx.write("expire_swaps", run, entity="swap_request")


def approve_swap(ctx: ServiceContext, swap_id: str, *, approver: str, reason: str | None = None) -> Result[SwapRecord]:
    def run(work: Work) -> SwapRecord:
        swap = _swap(work.session, swap_id)
        _expire_if_due(work, swap)
        _move(work, swap, "approved", approved_at=work.ctx.clock(), approved_by=approver)
        return _record(work.session, swap)

    return ctx.write("approve_swap", run, entity="swap_request", entity_id=swap_id, reason=reason)


def execute_swap(ctx: ServiceContext, swap_id: str, *, override_reason: str | None = None) -> Result[SwapRecord]:
    """Execute an accepted (and, when required, approved) swap after checking it again.

    A swap that would add a critical violation executes only with a coordinator's override reason
    (audited). Inside the freeze horizon the override reason is the reason the edit needs.
    """

    def run(work: Work) -> SwapRecord:
        s = work.session
        swap = _swap(s, swap_id)
        _expire_if_due(work, swap)
        _n, rules = active_rule_set(s, swap.program_id)
        if swap.status == "accepted" and rules.swap_requires_approval:
            raise ValidationError("This program requires a coordinator's approval before a swap executes.", field="status")
        if swap.counterpart_id is None:
            raise ValidationError("Nobody has taken this offer yet.", field="status")
        result = check_swap_in(s, work.ctx, swap, swap.counterpart_id)
        if result.blocking:
            raise ValidationError(result.blocking[0], field="swap")
        has_override = bool(override_reason and override_reason.strip())
        if result.critical and not has_override:
            raise ValidationError(f"Executing would break a rule: {result.critical[0]} A coordinator can override with a reason.",
                                  field="swap")
        limit = work.ctx.today() + dt.timedelta(days=rules.freeze_days)
        give, take = _items(s, swap.id)
        if any(i.date < limit for i in (*give, *take)) and not has_override:
            raise ValidationError(f"The swap touches the {rules.freeze_days}-day freeze horizon; give a reason.", field="reason")
        start = len(work._rows)
        change, _problems = _proposed(s, swap, swap.counterpart_id, give, take)
        for pid, day, call_type, _hours in change.calls:  # clear first, then place
            if call_type is None:
                put_call(work, pid, day, None)
        for pid, day, call_type, hours in change.calls:
            if call_type is not None:
                put_call(work, pid, day, call_type, hours_worked=hours, source="manual")
        for pid, day, slot, activity_id in change.assignments:
            put_slot(work, pid, day, slot, activity_id, source="manual", note=f"swap {swap.id[:8]}")
        moved = [_rc_dict(rc) for rc in work._rows[start:]]
        _move(work, swap, "executed", executed_at=work.ctx.clock(), override_reason=override_reason,
              executed_changes={"rows": moved}, checks={"problems": list(result.problems)})
        for pid in (swap.requester_id, swap.counterpart_id):
            _notify(work, pid, "swap_executed", f"Your {swap.kind.replace('_', ' ')} was executed.", swap.id)
        return _record(s, swap)

    return ctx.write("execute_swap", run, entity="swap_request", entity_id=swap_id, reason=override_reason)


def _rc_dict(rc: RowChange) -> dict[str, Any]:
    return {"table": rc.table, "row_id": rc.row_id, "before": rc.before, "after": rc.after}


def rollback_swap(ctx: ServiceContext, swap_id: str, *, reason: str | None = None) -> Result[SwapRecord]:
    """Undo an executed swap exactly, within the rollback window, unless a later change touched the same rows."""
    from core.services.undo import _apply

    def run(work: Work) -> SwapRecord:
        s = work.session
        swap = _swap(s, swap_id)
        if swap.status != "executed":
            raise ValidationError(f"Only an executed swap can be rolled back (this one is {swap.status}).", field="status")
        _n, rules = active_rule_set(s, swap.program_id)
        executed = _aware(swap.executed_at)
        assert executed is not None
        if work.ctx.clock() - executed > dt.timedelta(hours=rules.swap_rollback_hours):
            raise ValidationError(f"The rollback window ({rules.swap_rollback_hours} h) has passed.", field="status")
        rows = [RowChange(r["table"], r["row_id"], r["before"], r["after"]) for r in swap.executed_changes.get("rows", [])]
        try:
            for rc in reversed(rows):
                _apply(work, rc.inverse())
        except ConflictError as exc:
            raise ConflictError("A later change touched the same slots; this swap can no longer be rolled back.") from exc
        _move(work, swap, "rolled_back")
        for pid in (swap.requester_id, swap.counterpart_id):
            _notify(work, pid, "swap_rolled_back", f"Your {swap.kind.replace('_', ' ')} was rolled back.", swap.id)
        return _record(s, swap)

    return ctx.write("rollback_swap", run, entity="swap_request", entity_id=swap_id, reason=reason)


# ------------------------------------------------------------------------------------- queries
def list_swaps(ctx: ServiceContext, *, person_id: str | None = None, statuses: Sequence[str] | None = None,
               kinds: Sequence[str] | None = None) -> list[SwapRecord]:
    def run(s: Session) -> list[SwapRecord]:
        q = select(m.SwapRequest).where(m.SwapRequest.deleted.is_(False))
        if person_id:
            q = q.where((m.SwapRequest.requester_id == person_id) | (m.SwapRequest.counterpart_id == person_id))
        if statuses:
            q = q.where(m.SwapRequest.status.in_(tuple(statuses)))
        if kinds:
            q = q.where(m.SwapRequest.kind.in_(tuple(kinds)))
        return [_record(s, sw) for sw in s.scalars(q.order_by(m.SwapRequest.created_at))]

    return ctx.read(run)


def get_swap(ctx: ServiceContext, swap_id: str) -> SwapRecord:
    return ctx.read(lambda s: _record(s, _swap(s, swap_id)))


@dataclass(frozen=True)
class Notice:
    id: str
    person_id: str | None
    kind: str
    text: str
    ref: str | None
    created_at: dt.datetime
    read: bool


def notifications(ctx: ServiceContext, person_id: str | None, *, unread_only: bool = False) -> list[Notice]:
    """A person's notices (person_id None = the coordinators' queue)."""

    def run(s: Session) -> list[Notice]:
        q = select(m.Notification).where(
            m.Notification.person_id.is_(None) if person_id is None else m.Notification.person_id == person_id)
        if unread_only:
            q = q.where(m.Notification.read.is_(False))
        return [Notice(n.id, n.person_id, n.kind, n.text, n.ref, n.created_at, n.read)
                for n in s.scalars(q.order_by(m.Notification.created_at.desc()))]

    return ctx.read(run)


def mark_read(ctx: ServiceContext, notice_ids: Sequence[str]) -> Result[int]:
    def run(work: Work) -> int:
        n = 0
        for nid in notice_ids:
            row = work.session.get(m.Notification, nid)
            if row is not None and not row.read:
                row.read = True
                n += 1
        return n

    return ctx.write("mark_read", run, entity="notification")


# ------------------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class Candidate:
    person_id: str
    name: str
    compliant: bool
    count_ytd: int  # shifts of this kind year to date
    class_mean: float
    give_back: ShiftItem | None
    distance_days: int
    reasons: tuple[str, ...]


def rank_candidates(ctx: ServiceContext, swap_id: str, *, limit: int = 10, split: bool = True) -> list[Candidate]:
    """Rank who could take a pool offer or an open shift.

    Order: compliant after the swap (required; others are left out), then fairness (fewest shifts
    of this kind year to date relative to their class mean), then date proximity of what they give
    back (pool), then name.

    Speed: candidates are taken in rank order, a few at a time. For each batch, one incremental
    check gives all of them the offered shifts at once and drops those whose own rules would break
    (person rules are independent between people, so this is exact for them); the others get the
    full swap check (both people, coverage, supervision) in rank order until `limit` are found.
    For an open shift the order needs only the offered days, so the snapshot of everybody covers
    just those days and the day after (it also serves the slot rules), and each batch gets a
    snapshot of its own people over the check margin. A pool offer ranks by the distance of what
    each candidate gives back, so it reads everybody over the margin, as does `split=False`
    (the reference path: the same answer from snapshots of everybody).
    """

    def run(s: Session) -> list[Candidate]:
        swap = _swap(s, swap_id)
        give, stored_take = _items(s, swap.id)
        lazy = split and swap.kind == "open_shift"
        if lazy:
            base = build_snapshot(s, swap.program_id, min(i.date for i in give),
                                  max(i.date for i in give) + dt.timedelta(days=1))
        else:
            base = _snapshot_for(s, swap.program_id, give)
        requester = base.person_index.get(swap.requester_id)
        if requester is None:
            return []
        req_kind = KIND_CODES[base.people[requester].kind]
        kinds, pgy = base.kind, base.pgy
        is_call = any(i.is_call for i in give)
        counts = _year_to_date_counts(s, give, is_call)
        offered = [(base.day_of(i.date), i.is_call) for i in give]
        held_acts = [int(base.codes[requester, 2 * base.day_of(i.date) + i.slot]) for i in give if i.slot is not None]
        class_total: dict[tuple[int, int], int] = {}
        class_size: dict[tuple[int, int], int] = {}
        for q in range(base.n_people):
            group = (int(kinds[q]), int(pgy[q]))
            class_total[group] = class_total.get(group, 0) + counts.get(base.people[q].id, 0)
            class_size[group] = class_size.get(group, 0) + 1
        ranked: list[tuple[float, int, str, str, ShiftItem | None, float]] = []
        for p in range(base.n_people):
            if p == requester or kinds[p] != req_kind:
                continue
            if any(base.absent[p, d] or (call and base.call[p, d]) for d, call in offered):
                continue
            give_back, distance = None, 0
            if swap.kind == "pool":
                found = _nearest_give_back(base, p, give, ctx.today())
                if found is None:
                    continue
                distance, give_back = found
            person = base.people[p]
            group = (int(kinds[p]), int(pgy[p]))
            mean = class_total[group] / max(1, class_size[group])
            ranked.append((counts.get(person.id, 0) - mean, distance, person.name, person.id, give_back, mean))
        ranked.sort(key=lambda r: (r[0], r[1], r[2]))
        # the rows both sides hold on the offered days: of everybody, or (lazy) of each batch
        held = _held_for(s, [swap.requester_id] if lazy else None, give)
        names = {person.id: person.name for person in base.people}
        shared = _Shared(give, stored_take, base.rules, held, names, [base] if lazy else [])
        moved = _with_post_call(s, swap.requester_id, give, held)
        out: list[Candidate] = []
        done, batch = 0, limit + 4
        while done < len(ranked) and len(out) < limit:
            part = ranked[done:done + batch]
            done += len(part)
            batch *= 2
            if lazy:
                batch_ids = [swap.requester_id, *(r[3] for r in part)]
                snap = _snapshot_for(s, swap.program_id, give, batch_ids)
                shared.held = _held_for(s, batch_ids, give)
            else:
                snap = base
            # qualified for what the requester holds (credentials valid over the check range)
            eligible = snap.eligible()
            part = [r for r in part if all(a < 0 or eligible[snap.person_index[r[3]], a] for a in held_acts)]
            broken = _first_pass(snap, swap.requester_id, [r[3] for r in part], moved)
            for _fair, distance, name, pid, give_back, mean in part:
                if len(out) >= limit:
                    break
                if pid in broken:
                    continue
                take = (give_back,) if give_back is not None else ()
                result = check_swap_in(s, ctx, swap, pid, take, snapshot=snap, split=split, shared=shared)
                if result.blocking or any(v.severity in ("critical", "high") for v in
                                          (result.check.added if result.check else ())):
                    continue
                mine = counts.get(pid, 0)
                reasons = [f"{mine} {'in-house calls' if is_call else 'weekend half-days'} this year (class mean {mean:.1f})"]
                if give_back is not None:
                    reasons.append(f"gives back {give_back.label()} ({distance} days away)")
                if result.problems:
                    reasons.append("notes: " + "; ".join(result.problems[:2]))
                out.append(Candidate(pid, name, True, mine, mean, give_back, distance, tuple(reasons)))
        return out

    return ctx.read(run)


def _first_pass(snap: ScheduleSnapshot, requester_id: str, candidate_ids: Sequence[str],
                moved: Sequence[ShiftItem]) -> set[str]:
    """The candidates whose own rules (critical or high) break when each alone receives the
    requester's shifts: one incremental check of the person rules for all of them at once."""
    if not candidate_ids:
        return set()
    requester = snap.person_index[requester_id]
    assignments: list[tuple[str, dt.date, int, str | None]] = []
    calls: list[tuple[str, dt.date, str | None, float | None]] = []
    for pid in candidate_ids:
        for it in moved:
            d = snap.day_of(it.date)
            if it.is_call:
                ctype = {1: "in_house", 2: "home", 3: "backup"}.get(int(snap.call[requester, d]))
                hours = float(snap.call_hours[requester, d])
                calls.append((pid, it.date, ctype, None if hours != hours else hours))
            else:
                assert it.slot is not None
                a = int(snap.codes[requester, 2 * d + it.slot])
                assignments.append((pid, it.date, it.slot, snap.activities[a].id if a >= 0 else None))
    first = check_change(snap, ProposedChange(assignments=tuple(assignments), calls=tuple(calls)), slots=False)
    return {v.person_id for v in first.added if v.person_id and v.severity in ("critical", "high")}


def _year_to_date_counts(session: Session, give: Sequence[ShiftItem], is_call: bool) -> dict[str, int]:
    """In-house calls (or weekend half-days worked) per person from July 1 of the offered shift's
    academic year up to the shift."""
    last = max(i.date for i in give)
    ay_start = dt.date(academic_year_of(last), 7, 1)
    if is_call:
        rows = session.execute(
            select(m.CallAssignment.person_id, func.count()).where(
                m.CallAssignment.date >= ay_start, m.CallAssignment.date <= last,
                m.CallAssignment.call_type == "in_house", m.CallAssignment.deleted.is_(False))
            .group_by(m.CallAssignment.person_id)).all()
    else:
        weekend = func.strftime("%w", m.Assignment.date).in_(("0", "6"))
        rows = session.execute(
            select(m.Assignment.person_id, func.count()).where(
                m.Assignment.date >= ay_start, m.Assignment.date <= last, weekend,
                m.Assignment.deleted.is_(False))
            .group_by(m.Assignment.person_id)).all()
    return {str(pid): int(n) for pid, n in rows}


def _nearest_give_back(snap: ScheduleSnapshot, p: int, give: Sequence[ShiftItem],
                       today: dt.date) -> tuple[int, ShiftItem] | None:
    """For a pool offer: the shift of the same kind that person p holds nearest to the offered one."""
    target = give[0]
    offered = {i.date for i in give}
    best: tuple[int, ShiftItem] | None = None
    for d in range(snap.n_days):
        day = snap.date_of(d)
        if day < today or day in offered:
            continue
        if target.is_call:
            held = snap.call[p, d] == CALL_IN_HOUSE
            item = ShiftItem(day)
        else:
            assert target.slot is not None
            held = snap.codes[p, 2 * d + target.slot] >= 0
            item = ShiftItem(day, target.slot)
        if held:
            dist = abs((day - target.date).days)
            if best is None or dist < best[0]:
                best = (dist, item)
    return best


def _can_take(session: Session, ctx: ServiceContext, swap: m.SwapRequest, person_id: str) -> bool:
    """May this person take this open offer: what ranking requires of a candidate. Eligible (the
    requester's kind, qualified for what they hold, not absent or on call then, for a pool offer
    a shift of the same kind to give back) and compliant after the swap (nothing blocking, no
    critical or high violation added, checked for both people)."""
    if swap.kind not in ("pool", "open_shift") or swap.status != "requested" or person_id == swap.requester_id:
        return False
    expires = _aware(swap.expires_at)
    if expires is not None and ctx.clock() >= expires:
        return False
    give, stored_take = _items(session, swap.id)
    if not give:
        return False
    snap = _snapshot_for(session, swap.program_id, give, (swap.requester_id, person_id))
    r, p = snap.person_index.get(swap.requester_id), snap.person_index.get(person_id)
    if r is None or p is None or snap.people[p].kind != snap.people[r].kind:
        return False
    eligible = snap.eligible()
    for i in give:
        d = snap.day_of(i.date)
        if snap.absent[p, d] or (i.is_call and snap.call[p, d]):
            return False
        if i.slot is not None:
            a = int(snap.codes[r, 2 * d + i.slot])
            if a >= 0 and not eligible[p, a]:
                return False
    take: tuple[ShiftItem, ...] = ()
    if swap.kind == "pool":
        found = _nearest_give_back(snap, p, give, ctx.today())
        if found is None:
            return False
        take = (found[1],)
    try:
        result = check_swap_in(session, ctx, swap, person_id, take, snapshot=snap,
                               shared=_Shared(give, stored_take, snap.rules))
    except ValidationError:
        return False
    return not result.blocking and not any(
        v.severity in ("critical", "high") for v in (result.check.added if result.check else ()))


def open_offers_for(ctx: ServiceContext, person_id: str) -> list[SwapRecord]:
    """Open pool offers and open shifts this person could take (`_can_take`): the marketplace's
    "only what I can take" and the "an offer you can take" notices."""
    offers = [s for s in list_swaps(ctx, statuses=("requested",), kinds=("pool", "open_shift"))
              if s.requester_id != person_id]

    def takeable(swap_id: str) -> bool:
        return ctx.read(lambda s: _can_take(s, ctx, _swap(s, swap_id), person_id))

    return [sw for sw in offers if takeable(sw.id)]


OFFER_NOTICE = "offer_available"


@dataclass(frozen=True)
class OfferNotices:
    """What `sync_offer_notices` would change: notices to add (swap id, text) and unread ones to
    drop (offers no longer open to the person); read ones stay as they were read."""

    add: tuple[tuple[str, str], ...] = ()
    drop: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.add and not self.drop


def offer_notice_changes(ctx: ServiceContext, person_id: str) -> OfferNotices:
    """Compare the person's "an offer you can take" notices with the offers they can take now (read only)."""
    takeable = open_offers_for(ctx, person_id)

    def run(s: Session) -> OfferNotices:
        have = {n.ref: n for n in s.scalars(select(m.Notification).where(
            m.Notification.person_id == person_id, m.Notification.kind == OFFER_NOTICE))}
        add = []
        for sw in takeable:
            if sw.id not in have:
                what = ", ".join(i.label() for i in sw.give)
                how = "in exchange for a shift of yours" if sw.kind == "pool" else "as an open shift"
                add.append((sw.id, f"{_name(s, sw.requester_id)} offers {what} {how}: you can take it."))
        ids = {sw.id for sw in takeable}
        drop = [n.id for ref, n in have.items() if ref not in ids and not n.read]
        return OfferNotices(tuple(add), tuple(drop))

    return ctx.read(run)


def apply_offer_notices(ctx: ServiceContext, person_id: str, changes: OfferNotices) -> Result[int]:
    """Write what `offer_notice_changes` found (one notice per offer and person, never twice)."""

    def run(work: Work) -> int:
        s = work.session
        have = set(s.scalars(select(m.Notification.ref).where(
            m.Notification.person_id == person_id, m.Notification.kind == OFFER_NOTICE)))
        n = 0
        for swap_id, text in changes.add:
            if swap_id not in have:
                _notify(work, person_id, OFFER_NOTICE, text, swap_id)
                n += 1
        for notice_id in changes.drop:
            row = s.get(m.Notification, notice_id)
            if row is not None and not row.read:
                s.delete(row)
        return n

    return ctx.write("offer_notices", run, entity="notification")


def sync_offer_notices(ctx: ServiceContext, person_id: str) -> int:
    """Bring the person's "an offer you can take" notices up to date; the number added. Writes
    (and audits) only when something changes."""
    changes = offer_notice_changes(ctx, person_id)
    return 0 if changes.empty else apply_offer_notices(ctx, person_id, changes).value


def date_span(items: Sequence[ShiftItem]) -> list[dt.date]:
    return list(date_range(min(i.date for i in items), max(i.date for i in items)))
