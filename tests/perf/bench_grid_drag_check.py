"""The block grid's live rule check while dragging cells: what one check costs when the drag's
target cell changes (not collected by pytest; figures in docs/performance.md "Block grid: rule
marks").

    .venv/bin/python tests/perf/bench_grid_drag_check.py --db LARGE.sqlite [--block 2] [--runs 15]

On the large demo's block, in one run, GUI-thread CPU (time.process_time), medians: the work of
`SchedulePage._drag_check` (the drop plan of a move, the engine's incremental check of its edits,
the marks of what it would break) for payloads of 1 cell, one resident's week and ten residents'
week, moved a week later; the same-run baseline is the picker's live check of the same landing
cells (`_live_check`: the check of assigning them, the same marks), as a ratio.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grid_marks import _cpu, open_block  # noqa: E402  (the same command line and block)


def main() -> None:
    args, app, opened, ctx, data, b = open_block(runs=15)

    from PySide6.QtCore import Qt

    from desktop.models.block_grid import CALL_ROWS, BlockGridModel, violation_marks
    from desktop.program import check_edits, load_block

    year, block = b.year, b.block
    snap, cells = b.snapshot, b.cells
    model = BlockGridModel()
    model.set_block(snap, b.first_day, b.n_days, cells)
    residents = [CALL_ROWS + p for p, person in enumerate(snap.people) if person.kind == "resident"]

    def marks(check) -> None:
        if check is not None and check.added:
            violation_marks(snap, cells, check.added, prefix="Would break ")

    print(f"{args.db.name}: block {block.number}, {snap.n_people} people x {2 * b.n_days} slots; runs={args.runs}; "
          f"GUI-thread CPU medians")
    for label, n_people, n_slots in (("1 cell", 1, 1), ("1 resident x 1 week", 1, 14),
                                     ("10 residents x 1 week", 10, 14)):
        rows, cols = residents[:n_people], list(range(n_slots))
        indexes = [model.index(r, c) for r in rows for c in cols]
        payload = model.cells_mime(indexes)
        target = (rows[0], cols[0] + 14)  # a week later, same people

        def drag(payload=payload, target=target) -> None:
            plan = model.drop_plan(payload, Qt.DropAction.MoveAction, *target)
            assert plan is not None
            marks(check_edits(b, plan.edits))

        landing = [(*model.cell(model.index(r, c + 14)), model.snapshot.activities[a].id if (
            a := cells.act_rows[r - CALL_ROWS][c]) >= 0 else None) for r in rows for c in cols]

        def picker(landing=landing) -> None:
            marks(check_edits(b, landing))

        d, p = _cpu(drag, args.runs), _cpu(picker, args.runs)
        print(f"  {label} ({len(indexes)} cells moved): drag check {d:.2f} ms, picker check of the landing cells "
              f"{p:.2f} ms, ratio {d / p if p else float('nan'):.2f}")

    # The far move's check of its source (`check_elsewhere`, on a worker): one cleared cell of the
    # block, against loading the block (what a full check of that block costs), same run.
    from desktop.views.schedule import check_elsewhere

    p0 = model.cell(model.index(residents[0], 0))
    assert p0 is not None
    restore = [(*p0, None)]
    runs = max(3, args.runs // 5)
    far = _cpu(lambda: check_elsewhere(ctx, data.program.id, data.years, restore), runs)
    full = _cpu(lambda: load_block(ctx, data.program.id, year, block, progress=lambda *a: None,
                                   cancelled=lambda: False), runs)
    print(f"  far move, check of its source (worker thread, {runs} runs): check_elsewhere {far:.0f} ms, "
          f"loading the block {full:.0f} ms, ratio {far / full if full else float('nan'):.2f}")
    opened.engine.dispose()
    del app
    os._exit(0)  # skip interpreter teardown of the Qt objects (PySide6 6.12 refcount trap, docs/development.md)


if __name__ == "__main__":
    main()
