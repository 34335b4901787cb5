"""`rsched absence ...` and `rsched swap ...`: leave requests and the four kinds of swap.

Shifts are written DATE:WHAT, WHAT being call, AM, PM or day (both slots), e.g. 2026-07-10:call;
`week:DATE` names a person's whole week from DATE (slots and calls).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from core.commands import add_db_argument, open_existing
from core.errors import NotFoundError, ValidationError


def register(subparsers: Any) -> None:
    ab = subparsers.add_parser("absence", help="leave requests: list, request, approve, deny, cancel")
    asub = ab.add_subparsers(title="absence commands", metavar="ACTION")
    p = asub.add_parser("list", help="absences, optionally one person's")
    add_db_argument(p)
    p.add_argument("--person", help="name or id")
    p.add_argument("--status", choices=["pending", "approved", "denied", "cancelled"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_absence_list)
    p = asub.add_parser("request", help="request leave (shows the time-away projection)")
    add_db_argument(p)
    p.add_argument("person", help="name or id")
    p.add_argument("type", help="vacation, conference, sick, parental, bereavement, military, personal, other")
    p.add_argument("start", type=_date)
    p.add_argument("end", type=_date)
    p.add_argument("--note")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_absence_request)
    for action in ("approve", "deny", "cancel"):
        p = asub.add_parser(action, help=f"{action} an absence")
        add_db_argument(p)
        p.add_argument("absence_id")
        p.add_argument("--reason")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_absence_decide, action=action)

    sw = subparsers.add_parser("swap", help="swaps: list, request, accept, decline, cancel, approve, execute, rollback, candidates")
    ssub = sw.add_subparsers(title="swap commands", metavar="ACTION")
    p = ssub.add_parser("list", help="swaps, optionally one person's or in one state")
    add_db_argument(p)
    p.add_argument("--person")
    p.add_argument("--status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_swap_list)
    p = ssub.add_parser("request", help="request a trade, give-away, pool offer or open shift")
    add_db_argument(p)
    p.add_argument("kind", choices=["trade", "giveaway", "pool", "open_shift"])
    p.add_argument("requester", help="name or id")
    p.add_argument("--give", nargs="+", required=True, metavar="SHIFT")
    p.add_argument("--take", nargs="+", default=[], metavar="SHIFT")
    p.add_argument("--with", dest="counterpart", help="the other person (trade, give-away)")
    p.add_argument("--note")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_swap_request)
    p = ssub.add_parser("accept", help="accept (or take a pool offer / claim an open shift)")
    add_db_argument(p)
    p.add_argument("swap_id")
    p.add_argument("person", help="who accepts")
    p.add_argument("--take", nargs="+", default=[], metavar="SHIFT", help="what is given back (pool)")
    p.add_argument("--override", help="accept despite a critical violation, with this reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_swap_accept)
    for action in ("decline", "cancel"):
        p = ssub.add_parser(action, help=f"{action} a swap")
        add_db_argument(p)
        p.add_argument("swap_id")
        p.add_argument("person")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_swap_simple, action=action)
    p = ssub.add_parser("approve", help="a coordinator approves an accepted swap")
    add_db_argument(p)
    p.add_argument("swap_id")
    p.add_argument("--by", default="coordinator")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_swap_simple, action="approve")
    p = ssub.add_parser("execute", help="execute an accepted/approved swap")
    add_db_argument(p)
    p.add_argument("swap_id")
    p.add_argument("--override", help="execute despite problems, with this reason (audited)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_swap_simple, action="execute")
    p = ssub.add_parser("rollback", help="roll back an executed swap (within the window)")
    add_db_argument(p)
    p.add_argument("swap_id")
    p.add_argument("--reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_swap_simple, action="rollback")
    p = ssub.add_parser("candidates", help="rank who could take a pool offer or open shift")
    add_db_argument(p)
    p.add_argument("swap_id")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_swap_candidates)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (write YYYY-MM-DD)") from exc


def _ctx(args: argparse.Namespace) -> Any:
    from core.services.base import ServiceContext

    opened = open_existing(args)
    return ServiceContext(opened.engine, actor=getattr(args, "by", None) or "cli")


def _person(ctx: Any, text: str) -> str:
    from sqlalchemy import select

    from core.store import models as m

    def run(s: Any) -> str:
        row = s.get(m.Person, text)
        if row is not None and not row.deleted:
            return str(row.id)
        rows = list(s.scalars(select(m.Person).where(m.Person.name == text, m.Person.deleted.is_(False))))
        if not rows:
            rows = [p for p in s.scalars(select(m.Person).where(m.Person.deleted.is_(False)))
                    if text.lower() in p.name.lower()]
        if not rows:
            raise NotFoundError(f"Nobody called {text!r} is in this program.")
        if len(rows) > 1:
            raise ValidationError(f"{text!r} matches {len(rows)} people ({', '.join(r.name for r in rows[:4])}); give the id.")
        return str(rows[0].id)

    return str(ctx.read(run))


def parse_shifts(ctx: Any, person_id: str | None, specs: list[str]) -> list[Any]:
    from core.services.swaps import ShiftItem, week_shift

    out: list[ShiftItem] = []
    for spec in specs:
        if spec.startswith("week:"):
            if person_id is None:
                raise ValidationError("A week shift needs its holder.")
            out += week_shift(ctx, person_id, _parse_date(spec[5:]))
            continue
        day_text, _, what = spec.partition(":")
        day = _parse_date(day_text)
        what = (what or "call").lower()
        if what == "call":
            out.append(ShiftItem(day))
        elif what in ("am", "pm"):
            out.append(ShiftItem(day, 0 if what == "am" else 1))
        elif what == "day":
            out += [ShiftItem(day, 0), ShiftItem(day, 1)]
        else:
            raise ValidationError(f"{spec!r}: write DATE:call, DATE:AM, DATE:PM, DATE:day or week:DATE.")
    return out


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"{text!r} is not a date (write YYYY-MM-DD).") from exc


def _print(obj: Any, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(obj, indent=2, sort_keys=True, default=str))
    else:
        print(text)


def _swap_dict(s: Any) -> dict[str, Any]:
    return {
        "id": s.id, "kind": s.kind, "status": s.status, "requester_id": s.requester_id,
        "counterpart_id": s.counterpart_id,
        "give": [i.label() for i in s.give], "take": [i.label() for i in s.take],
        "problems": list(s.problems), "override_reason": s.override_reason,
    }


# ---------------------------------------------------------------------------------------- absences
def cmd_absence_list(args: argparse.Namespace) -> int:
    from core.services import absences

    ctx = _ctx(args)
    pid = _person(ctx, args.person) if args.person else None
    rows = absences.list_absences(ctx, person_id=pid, statuses=(args.status,) if args.status else None)
    data = [{"id": a.id, "person_id": a.person_id, "type": a.type, "start": a.start.isoformat(),
             "end": a.end.isoformat(), "status": a.status, "days": a.days} for a in rows]
    _print(data, args.json, "\n".join(f"{a.id[:8]}  {a.start} - {a.end}  {a.type:<11} {a.status}" for a in rows)
           or "No absences.")
    return 0


def cmd_absence_request(args: argparse.Namespace) -> int:
    from core.services import absences

    ctx = _ctx(args)
    pid = _person(ctx, args.person)
    projection = absences.away_projection(ctx, pid, args.start, args.end)
    rec = absences.request_absence(ctx, pid, args.type, args.start, args.end, note=args.note).value
    _print({"id": rec.id, "status": rec.status, "away_days_with_request": projection.with_request,
            "limit": projection.limit, "warning": projection.warning, "over_limit": projection.over_limit},
           args.json, f"Requested {rec.type} {rec.start} - {rec.end} (id {rec.id}). {projection.sentence()}")
    return 0


def cmd_absence_decide(args: argparse.Namespace) -> int:
    from core.services import absences

    ctx = _ctx(args)
    out: Any
    if args.action == "approve":
        out = absences.approve_absence(ctx, args.absence_id, reason=args.reason).value
        emptied = [{"date": e.date.isoformat(), "slot": e.slot, "call_type": e.call_type} for e in out.emptied]
        _print({"id": out.absence.id, "status": out.absence.status, "emptied": emptied}, args.json,
               f"Approved; {len(emptied)} slot(s) or call(s) emptied and need cover.")
    else:
        fn = absences.deny_absence if args.action == "deny" else absences.cancel_absence
        out = fn(ctx, args.absence_id, reason=args.reason).value
        _print({"id": out.id, "status": out.status}, args.json, f"The absence is now {out.status}.")
    return 0


# ------------------------------------------------------------------------------------------- swaps
def cmd_swap_list(args: argparse.Namespace) -> int:
    from core.services import swaps

    ctx = _ctx(args)
    pid = _person(ctx, args.person) if args.person else None
    rows = swaps.list_swaps(ctx, person_id=pid, statuses=(args.status,) if args.status else None)
    _print([_swap_dict(s) for s in rows], args.json,
           "\n".join(f"{s.id[:8]}  {s.kind:<10} {s.status:<11} give {', '.join(i.label() for i in s.give)}" for s in rows)
           or "No swaps.")
    return 0


def cmd_swap_request(args: argparse.Namespace) -> int:
    from core.services import swaps

    ctx = _ctx(args)
    requester = _person(ctx, args.requester)
    counterpart = _person(ctx, args.counterpart) if args.counterpart else None
    give = parse_shifts(ctx, requester, args.give)
    take = parse_shifts(ctx, counterpart, args.take) if args.take else []
    rec = swaps.request_swap(ctx, args.kind, requester, give, take=take, counterpart_id=counterpart, note=args.note).value
    _print(_swap_dict(rec), args.json, f"Requested {rec.kind} {rec.id}.")
    return 0


def cmd_swap_accept(args: argparse.Namespace) -> int:
    from core.services import swaps

    ctx = _ctx(args)
    pid = _person(ctx, args.person)
    take = parse_shifts(ctx, pid, args.take) if args.take else []
    rec = swaps.accept_swap(ctx, args.swap_id, pid, take=take, override_reason=args.override).value
    _print(_swap_dict(rec), args.json, f"Accepted; the swap is now {rec.status}."
           + (f" Notes: {'; '.join(rec.problems)}" if rec.problems else ""))
    return 0


def cmd_swap_simple(args: argparse.Namespace) -> int:
    from core.services import swaps

    ctx = _ctx(args)
    if args.action == "decline":
        rec = swaps.decline_swap(ctx, args.swap_id, _person(ctx, args.person)).value
    elif args.action == "cancel":
        rec = swaps.cancel_swap(ctx, args.swap_id, _person(ctx, args.person)).value
    elif args.action == "approve":
        rec = swaps.approve_swap(ctx, args.swap_id, approver=args.by).value
    elif args.action == "execute":
        rec = swaps.execute_swap(ctx, args.swap_id, override_reason=args.override).value
    else:
        rec = swaps.rollback_swap(ctx, args.swap_id, reason=args.reason).value
    _print(_swap_dict(rec), args.json, f"The swap is now {rec.status.replace('_', ' ')}.")
    return 0


def cmd_swap_candidates(args: argparse.Namespace) -> int:
    from core.services import swaps

    ctx = _ctx(args)
    rows = swaps.rank_candidates(ctx, args.swap_id, limit=args.limit)
    data = [{"person_id": c.person_id, "name": c.name, "count_ytd": c.count_ytd, "class_mean": round(c.class_mean, 2),
             "give_back": c.give_back.label() if c.give_back else None, "reasons": list(c.reasons)} for c in rows]
    _print(data, args.json, "\n".join(f"{i + 1}. {c.name}: {'; '.join(c.reasons)}" for i, c in enumerate(rows))
           or "Nobody can take it without breaking a rule.")
    return 0
