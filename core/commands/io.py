"""Import and export sub-commands: `rsched export xlsx|ics|csv|pdf ...`, `rsched import xlsx FILE`.

PDF and printing need Qt, which the core never imports: `rsched export pdf` says how to run the
desktop's renderer (`python -m desktop.io.pdf ...`) instead of drawing anything itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from core.commands import add_db_argument, open_existing

PDF_HELP = (
    "PDF and printing are drawn by the desktop program (Qt). Use:\n"
    "  python -m desktop.io.pdf block --db FILE --block N --out grid.pdf [--page A4|Letter] [--year Y]\n"
    "  python -m desktop.io.pdf month --db FILE --person NAME --month 2026-09 --out month.pdf [--page A4|Letter]\n"
)


def register(subparsers: Any) -> None:
    export = subparsers.add_parser("export", help="write the schedule as xlsx, ics, csv (pdf: see export pdf)")
    kinds = export.add_subparsers(title="formats", metavar="FORMAT")

    p = kinds.add_parser("xlsx", help="the block workbook, the full year, or one person's year")
    add_db_argument(p)
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the .xlsx file to write")
    p.add_argument("--year", type=int, metavar="YEAR", help="academic year (default: the latest)")
    p.add_argument("--block", type=int, action="append", metavar="N",
                   help="export this block (repeat for more); default: the full year")
    p.add_argument("--person", metavar="NAME", help="one person's year instead of the grid")
    p.set_defaults(func=cmd_export_xlsx)

    p = kinds.add_parser("ics", help="a calendar feed for one person or one service")
    add_db_argument(p)
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the .ics file to write")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", metavar="NAME", help="the person (name or id)")
    who.add_argument("--service", metavar="CODE", help="an activity code or call service, e.g. W or OB")
    p.add_argument("--year", type=int, metavar="YEAR", help="academic year (default: the latest)")
    p.add_argument("--from", dest="start", type=dt.date.fromisoformat, metavar="DATE", help="first date")
    p.add_argument("--to", dest="end", type=dt.date.fromisoformat, metavar="DATE", help="last date")
    p.add_argument("--state", type=Path, metavar="FILE",
                   help="SEQUENCE state file (default: FILE.state.json next to the feed)")
    p.set_defaults(func=cmd_export_ics)

    p = kinds.add_parser("csv", help="people, absences, assignments, calls or violations as CSV")
    p.add_argument("table", choices=("people", "absences", "assignments", "calls", "violations"))
    add_db_argument(p)
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the .csv file to write")
    p.add_argument("--year", type=int, metavar="YEAR", help="academic year (default: the latest)")
    p.set_defaults(func=cmd_export_csv)

    p = kinds.add_parser("pdf", help="how to make a PDF or print (done by the desktop program)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_export_pdf)

    imp = subparsers.add_parser("import", help="read an edited workbook back into the schedule")
    ikinds = imp.add_subparsers(title="formats", metavar="FORMAT")
    p = ikinds.add_parser(
        "xlsx", help="import a block or full-year workbook (preview with --dry-run)",
        description="Stages the workbook, prints what would change (with confidence) and every cell that "
        "could not be matched, then applies it as one undoable edit. Nothing changes with --dry-run or when "
        "the file is refused.")
    p.add_argument("file", type=Path, metavar="FILE")
    add_db_argument(p)
    p.add_argument("--dry-run", action="store_true", help="preview only; change nothing")
    p.add_argument("--reason", metavar="TEXT", help="reason recorded in the audit log (needed inside the freeze horizon)")
    p.add_argument("--threshold", type=float, default=None, metavar="R",
                   help="name matching threshold 0-1 (default 0.85)")
    p.add_argument("--min-confidence", type=float, default=0.0, metavar="C",
                   help="leave out changes below this confidence (default: none left out)")
    p.add_argument("--year", type=int, metavar="YEAR", help="academic year of the dates (default: from the file)")
    p.add_argument("--json", action="store_true", help="print the preview as JSON")
    p.set_defaults(func=cmd_import_xlsx)


def _context(args: argparse.Namespace) -> Any:
    from core.services.base import ServiceContext

    opened = open_existing(args)
    return ServiceContext(opened.engine, actor="rsched")


def cmd_export_xlsx(args: argparse.Namespace) -> int:
    from core.io.excel import export_blocks, export_person, find_person
    from core.io.grid import load_year

    ctx = _context(args)
    try:
        data = load_year(ctx, args.year)
        if args.person:
            export_person(data, find_person(data, args.person).id, args.out)
        else:
            export_blocks(data, args.block, args.out)
    finally:
        ctx.engine.dispose()
    print(f"Wrote {args.out}")
    return 0


def cmd_export_ics(args: argparse.Namespace) -> int:
    from core.io.excel import find_person
    from core.io.grid import load_year
    from core.io.ics import export_feed

    ctx = _context(args)
    try:
        data = load_year(ctx, args.year)
        person_id = find_person(data, args.person).id if args.person else None
        result = export_feed(ctx, data, args.out, person_id=person_id, service=args.service, start=args.start,
                             end=args.end, state_path=args.state)
    finally:
        ctx.engine.dispose()
    print(f"Wrote {args.out}: {result.events} events ({result.new} new, {result.changed} changed)")
    return 0


def cmd_export_csv(args: argparse.Namespace) -> int:
    from core.io.csv_io import export_csv
    from core.io.grid import load_year

    ctx = _context(args)
    try:
        export_csv(ctx, load_year(ctx, args.year), args.table, args.out)
    finally:
        ctx.engine.dispose()
    print(f"Wrote {args.out}")
    return 0


def cmd_export_pdf(args: argparse.Namespace) -> int:
    print(PDF_HELP, file=sys.stderr, end="")
    return 2


def _preview_json(staged: Any) -> dict[str, Any]:
    return {
        "file": staged.file_name, "program": staged.program_name, "academic_year": staged.academic_year,
        "sheets": list(staged.sheets), "skipped_sheets": list(staged.skipped_sheets),
        "cells_read": staged.cells_read, "cells_unchanged": staged.cells_unchanged,
        "exported_unchanged": staged.exported_unchanged,
        "slot_changes": [{"person": c.person_name, "date": c.date.isoformat(), "slot": ("AM", "PM")[c.slot],
                          "before": c.before_code, "after": c.after_code, "confidence": c.confidence,
                          "cell": f"{c.sheet}!{c.cell}"} for c in staged.slot_changes],
        "call_changes": [{"person": c.person_name, "date": c.date.isoformat(), "before": c.before, "after": c.after,
                          "confidence": c.confidence} for c in staged.call_changes],
        "unmatched": [{"cell": f"{u.sheet}!{u.cell}", "value": u.value, "reason": u.reason} for u in staged.unmatched],
    }


def cmd_import_xlsx(args: argparse.Namespace) -> int:
    from core.io.staging import NAME_THRESHOLD, apply_import, stage_workbook

    ctx = _context(args)
    try:
        threshold = NAME_THRESHOLD if args.threshold is None else args.threshold
        staged = stage_workbook(ctx, args.file, name_threshold=threshold, academic_year=args.year)
        if args.json:
            print(json.dumps(_preview_json(staged), indent=2, default=str))
        else:
            print(staged.summary())
            for c in staged.slot_changes[:200]:
                print("  " + c.describe())
            if len(staged.slot_changes) > 200:
                print(f"  ... and {len(staged.slot_changes) - 200} more slot changes")
            for cc in staged.call_changes[:100]:
                print("  " + cc.describe())
            if len(staged.call_changes) > 100:
                print(f"  ... and {len(staged.call_changes) - 100} more call changes")
            if staged.unmatched:
                print("Not matched (left unchanged):")
                for u in staged.unmatched:
                    print("  " + u.describe())
        if args.dry_run:
            print("Dry run: nothing was changed.", file=sys.stderr)
            return 0
        result = apply_import(ctx, staged, reason=args.reason, min_confidence=args.min_confidence)
    finally:
        ctx.engine.dispose()
    out = result.value
    print(f"Imported {out.slots_changed} slot change(s) and {out.calls_changed} call change(s) as one edit"
          + (f"; {out.skipped_low_confidence} below the confidence limit were left out" if out.skipped_low_confidence
             else "") + ".", file=sys.stderr)
    return 0
