"""`rsched generate`: generate one block with the CP-SAT residency model and keep it as a draft.

    rsched generate --db FILE --block N [--year YYYY] [--time-limit S] [--workers N] [--publish]
                    [--reason TEXT] [--json] [--program NAME|ID]

Prints the solver's figures (objective, bound, time to the first schedule), the diff size, the
violations the compliance engine finds in the generated block and each unfilled slot with the
constraint that blocked it. `--publish` applies the draft at once (one undoable write, audit and
outbox). Ctrl-C stops the search and keeps the best schedule found so far as the draft (a second
Ctrl-C gives up at once); stopped before any schedule was found, it says so and makes no draft.
Exit status 0 when a draft was made (violations or not); 2 when no schedule was found (the message
says why: infeasible, or cancelled first) and on bad input; 130 when a second Ctrl-C gives up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from core.commands import add_db_argument, open_existing
from core.errors import ValidationError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "generate",
        help="generate a block's schedule (CP-SAT) as a draft, optionally publish it",
        description="Builds the block's schedule with the CP-SAT residency model: every hard duty-hour "
        "rule kept, coverage, supervision and capacity as far as possible, fair calls, few changes; "
        "preload and manual cells are never changed. The result is kept as a draft.",
    )
    add_db_argument(p)
    p.add_argument("--block", type=int, required=True, metavar="N", help="the block number")
    p.add_argument("--year", type=int, default=None, metavar="YYYY",
                   help="the academic year (default: the one holding today, else the latest)")
    p.add_argument("--time-limit", type=float, default=30.0, metavar="S", help="seconds to search (default 30)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="solver threads (default: CPU cores)")
    p.add_argument("--publish", action="store_true", help="publish the draft at once")
    p.add_argument("--reason", default=None, help="reason recorded when publishing inside the freeze horizon")
    p.add_argument("--program", metavar="NAME|ID", help="the program, when the file holds several")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_generate)


def _generate_until_done_or_interrupted(run: Callable[[threading.Event], Any]) -> Any:
    """`run(stop)` on a thread of its own while this (main) thread waits, so that Ctrl-C is seen at
    once, even while the solver or the model build holds on: the first Ctrl-C sets `stop` (the search
    ends and keeps the best schedule found so far), a second one interrupts at once."""
    stop = threading.Event()
    finished = threading.Event()
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["value"] = run(stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            out["error"] = exc
        finally:
            finished.set()

    # Waits on an Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking
    # finished while it still runs (Python 3.11). The start is inside the try: a Ctrl-C can come at
    # any moment after it.
    if threading.current_thread() is threading.main_thread():
        # Python's own SIGINT handler again: a CP-SAT solve that caught SIGINT (its default) leaves
        # its C handler installed after it ends, and that one ends the process on Ctrl-C.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    thread = threading.Thread(target=body, name="rsched-generate", daemon=True)
    while not finished.is_set():
        try:
            if thread.ident is None:
                thread.start()
                print("Generating; press Ctrl-C to stop and keep the best schedule found so far.",
                      file=sys.stderr)
            finished.wait(0.1)
        except KeyboardInterrupt:
            if stop.is_set() or thread.ident is None:
                raise
            stop.set()
            print("Stopping; keeping the best schedule found so far (Ctrl-C again to give up at once).",
                  file=sys.stderr)
    if "error" in out:
        raise out["error"]
    return out["value"]


def cmd_generate(args: argparse.Namespace) -> int:
    from core.commands.validate import _program
    from core.services.base import ServiceContext
    from core.services.drafts import generate_draft, publish_draft

    if not args.time_limit > 0:
        raise ValidationError("The time limit must be a positive number of seconds.")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValidationError("The number of workers must be at least 1.")
    opened = open_existing(args)
    try:
        ctx = ServiceContext(opened.engine, actor="rsched generate")
        program_id = ctx.read(lambda s: _program(s, args.program).id)
        draft, result = _generate_until_done_or_interrupted(
            lambda stop: generate_draft(ctx, program_id, args.block, year=args.year,
                                        time_limit=args.time_limit, workers=workers, cancelled=stop.is_set))
        published = False
        if args.publish:
            publish_draft(ctx, draft.id, reason=args.reason or "Published with rsched generate --publish")
            published = True
    finally:
        opened.engine.dispose()
    report = {"draft_id": draft.id, "label": draft.label, "published": published, **result.summary(),
              "unfilled_slots": [u.to_dict() for u in result.unfilled],
              "violations_list": [v.to_dict() for v in result.violations if v.severity != "warning"]}
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    sev = result.counts_by_severity()
    gap = result.gap
    how = f"{result.status}, stopped early" if result.cancelled else result.status
    print(f"{draft.label}: {how}, objective {result.objective}, bound {result.bound}"
          + (f" (gap {100 * gap:.2f} %)" if gap is not None else "")
          + f", first schedule after {result.time_to_first:.1f} s, {result.wall_time:.1f} s in all.")
    print(f"Draft {draft.id}: {len(result.changes)} changed half-days, {len(result.call_changes)} changed call "
          f"nights; violations: {sev['critical']} critical, {sev['high']} high, {sev['warning']} warning.")
    for v in result.violations:
        if v.severity != "warning":
            print(f"  {v.severity:8} {v.rule:5} {v.message}")
    if result.unfilled:
        print(f"Unfilled ({len(result.unfilled)}):")
        for u in result.unfilled:
            print(f"  [{u.rule}] {u.reason}")
    if result.relaxed:
        print(f"Limits the fixed cells already break (kept, not made worse): {len(result.relaxed)}")
    print("Published." if published else f"Not published: review it and publish (draft {draft.id}).")
    return 0
