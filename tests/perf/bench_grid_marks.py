"""The block grid's rule marks (red corner on cells whose assignment breaks a rule): what they add
to an edit and to a repaint (not collected by pytest; figures in docs/performance.md "Block grid:
rule marks").

    .venv/bin/python tests/perf/bench_grid_marks.py --db LARGE.sqlite [--block 2] [--runs 20]

On the large demo's block, in one run, GUI-thread CPU (time.process_time), medians:
1. refreshing the marks after an edit (`BlockGridModel.set_rule_violations`: the numpy mask and
   the dataChanged of the changed rows), with the block's own violations and with a worst case
   (every person breaks a rule over the whole block), against the per-cell dictionary
   (`violation_marks`) the first version built, as a ratio;
2. a synchronous repaint of the grid's viewport (1400 x 860, the one-pass painter) with no mark and
   with every visible cell marked, as a ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def _cpu(fn, runs: int) -> float:
    out = []
    for _ in range(runs):
        t = time.process_time()
        fn()
        out.append((time.process_time() - t) * 1000)
    return statistics.median(out)


def open_block(runs: int) -> tuple[argparse.Namespace, Any, Any, Any, Any, Any]:
    """The grid benches' command line (--db, --block, --runs) and the block they measure, loaded
    as the desktop loads it: (args, app, opened database, service context, program data, block)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--block", type=int, default=2, help="block index in the year (default 2)")
    ap.add_argument("--runs", type=int, default=runs)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from core.services.base import ServiceContext
    from core.store.db import open_database
    from desktop.app import guard_none_refcount
    from desktop.program import load_block, read_program

    app = QApplication.instance() or QApplication(sys.argv[:1])
    guard_none_refcount()
    opened = open_database(args.db)
    ctx = ServiceContext(opened.engine, actor="bench")
    data = read_program(ctx, args.db)
    year = data.years[-1]
    block = year.blocks[args.block]
    b = load_block(ctx, data.program.id, year, block, progress=lambda *a: None, cancelled=lambda: False)
    return args, app, opened, ctx, data, b


def main() -> None:
    args, app, opened, _ctx, _data, b = open_block(runs=20)

    from core.rules.engine import Violation
    from desktop.models.block_grid import CALL_ROWS, BlockFilterProxy, BlockGridModel, violation_marks
    from desktop.views.schedule import CellDelegate, GridView

    block = b.block
    snap, cells = b.snapshot, b.cells
    worst = [Violation("H80", "critical", p.id, p.name, block.start, block.end, 84.5, 80.0, f"{p.name}: 84.5 h/week")
             for p in snap.people]

    model = BlockGridModel()
    model.set_block(snap, b.first_day, b.n_days, cells)
    proxy = BlockFilterProxy()
    proxy.setSourceModel(model)
    view = GridView()
    view.setModel(proxy)
    view.setItemDelegate(CellDelegate(view, model, proxy))
    view.horizontalHeader().setDefaultSectionSize(36)
    view.verticalHeader().setDefaultSectionSize(22)
    for d in range(b.n_days):
        for r in range(CALL_ROWS):
            view.setSpan(r, 2 * d, 1, 2)
    view.resize(1400, 860)
    view.show()
    app.processEvents()

    print(f"{args.db.name}: block {block.number}, {snap.n_people} people x {2 * b.n_days} slots, "
          f"{len(b.violations)} violations in the loaded snapshot; runs={args.runs}; GUI-thread CPU medians")
    for label, vs in (("block's own violations", b.violations), (f"worst case: {len(worst)} block-long", worst)):
        def refresh(vs=vs) -> None:
            model.set_rule_violations(vs)
            model.set_rule_violations(())

        def per_cell(vs=vs) -> None:
            violation_marks(snap, cells, vs)

        model.set_rule_violations(vs)
        marked = sum(sum(row) for row in model._rule_rows.values())
        model.set_rule_violations(())
        a, base = _cpu(refresh, args.runs) / 2, _cpu(per_cell, args.runs)
        print(f"  marks after an edit, {label} ({marked} cells): mask {a:.2f} ms, per-cell dict {base:.2f} ms, "
              f"ratio {a / base if base else float('nan'):.2f}")

    def repaint() -> None:
        view.viewport().repaint()

    repaint()
    model.set_rule_violations(())
    app.processEvents()
    none = _cpu(repaint, args.runs)
    model.set_rule_violations(worst)
    app.processEvents()
    every = _cpu(repaint, args.runs)
    print(f"  repaint 1400x860: no mark {none:.2f} ms, every visible cell marked {every:.2f} ms, "
          f"ratio {every / none if none else float('nan'):.2f}")
    view.close()
    opened.engine.dispose()
    os._exit(0)  # skip interpreter teardown of the Qt objects (PySide6 6.12 refcount trap, docs/development.md)


if __name__ == "__main__":
    main()
