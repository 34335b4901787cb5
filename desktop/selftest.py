"""`--self-test`: prove that an installed (bundled) program works, end to end, in under a minute.

    ResidencyScheduler --self-test          (the bundle)
    python -m desktop --self-test           (from the source tree)

Steps, in order, each timed: start Qt (a QApplication; `QT_QPA_PLATFORM=offscreen` works) and load
matplotlib's QtAgg canvas; create a temporary program database (runs the Alembic migrations); build
the typical demo program (`core.demo`); validate its academic year with the compliance engine; run
one resilience analysis (N-1 on block 1); start a worker process the way the N-2 analysis does
(multiprocessing, "spawn": in the bundle that re-runs the executable, which must act as the worker);
generate block 1 again with the residency solver (5 s limit); export block 1 to an .xlsx workbook.
The temporary folder is removed afterwards.

Prints one line and returns 0 when every step passed:
    self-test passed: qt offscreen 0.4s, database 0.3s, ... (total 21.3s)
or one line naming the failing step (with the error's sentence) and returns 1:
    self-test FAILED at step 'generate': <what went wrong>
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

GENERATION_SECONDS = 5.0
DEMO_YEAR = 2026


@dataclass
class SelfTest:
    """The state passed from step to step (a step reads what the earlier ones left here)."""

    folder: Path
    generation_seconds: float = GENERATION_SECONDS
    notes: list[str] = field(default_factory=list)
    engine: Any = None
    program_id: str = ""
    start: dt.date | None = None
    end: dt.date | None = None

    # ------------------------------------------------------------------------------ the steps
    def qt(self) -> str:
        from PySide6.QtCore import QCoreApplication
        from PySide6.QtGui import QGuiApplication, QImage, QPainter
        from PySide6.QtWidgets import QApplication

        app = QCoreApplication.instance() or QApplication([sys.argv[0] if sys.argv else "ResidencyScheduler"])
        if not isinstance(app, QGuiApplication):
            raise RuntimeError("a non-GUI Qt application is already running")
        image = QImage(16, 16, QImage.Format.Format_ARGB32)
        image.fill(0)
        painter = QPainter(image)
        painter.drawLine(0, 0, 15, 15)
        painter.end()
        import matplotlib

        matplotlib.use("QtAgg")
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        canvas = FigureCanvasQTAgg(Figure(figsize=(2, 1)))
        canvas.figure.add_subplot().plot([0, 1], [1, 0])
        canvas.draw()
        canvas.deleteLater()
        return QGuiApplication.platformName() or "qt"

    def database(self) -> str:
        from core.store.db import open_database

        opened = open_database(self.folder / "self-test.sqlite")
        self.engine = opened.engine
        return "migrated"

    def demo(self) -> str:
        from core.demo import create_demo

        summary = create_demo(self.engine, size="typical", year=DEMO_YEAR)
        self.program_id, self.start, self.end = summary.program_id, summary.start, summary.end
        return f"{summary.residents + summary.faculty} people, {summary.assignments} assignments"

    def validate(self) -> str:
        from sqlalchemy.orm import Session

        from core.rules.engine import validate
        from core.snapshot import build_snapshot

        assert self.start is not None and self.end is not None
        with Session(self.engine) as session:
            snapshot = build_snapshot(session, self.program_id, self.start, self.end)
        result = validate(snapshot)
        if not result.violations:  # the demo breaks a few rules on purpose (docs/demo.md)
            raise RuntimeError("the compliance engine found none of the demo's planted violations")
        return f"{len(result.violations)} violations"

    def analysis(self) -> str:
        from sqlalchemy.orm import Session

        from core.resilience import run
        from core.snapshot import build_snapshot

        first, last = self._block(1)
        with Session(self.engine) as session:
            snapshot = build_snapshot(session, self.program_id, first, last)
        result = run("n1", snapshot)
        return f"N-1 block 1 pass {result.pass_ratio:.0%}"

    def processes(self) -> str:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pid = pool.submit(_worker_pid).result(timeout=120)
        if pid == os.getpid():
            raise RuntimeError("the worker ran in this process")
        return "spawned worker answered"

    def generate(self) -> str:
        from sqlalchemy.orm import Session

        from core.solver import residency

        with Session(self.engine) as session:
            problem = residency.load_problem(session, self.program_id, 1, year=DEMO_YEAR)
        result = residency.generate(problem, time_limit=self.generation_seconds, workers=2)
        if not result.found:
            raise RuntimeError(f"the solver found no schedule for block 1 ({result.status})")
        return f"block 1 {result.status}"

    def export(self) -> str:
        from core.io.excel import export_blocks
        from core.io.grid import load_year
        from core.services.base import ServiceContext

        out = self.folder / "block-1.xlsx"
        data = load_year(ServiceContext(self.engine, actor="self-test"), DEMO_YEAR)
        export_blocks(data, [1], out)
        import openpyxl

        workbook = openpyxl.load_workbook(out, read_only=True)
        try:
            if "Block 1" not in workbook.sheetnames:
                raise RuntimeError(f"the workbook has no 'Block 1' sheet ({workbook.sheetnames})")
        finally:
            workbook.close()
        return f"xlsx {out.stat().st_size // 1024} KB"

    # ------------------------------------------------------------------------------ helpers
    def _block(self, number: int) -> tuple[dt.date, dt.date]:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from core.store import models as m

        with Session(self.engine) as session:
            block = session.scalars(
                select(m.Block).join(m.AcademicYear, m.Block.academic_year_id == m.AcademicYear.id).where(
                    m.AcademicYear.program_id == self.program_id, m.AcademicYear.start_year == DEMO_YEAR,
                    m.Block.number == number, m.Block.deleted.is_(False))).first()
            if block is None:
                raise RuntimeError(f"the demo has no block {number}")
            return block.start_date, block.end_date

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None


def _worker_pid() -> int:
    """Run in a worker process by the 'processes' step."""
    import os

    return os.getpid()


STEPS: tuple[tuple[str, Callable[[SelfTest], str]], ...] = (
    ("qt", SelfTest.qt),
    ("database", SelfTest.database),
    ("demo", SelfTest.demo),
    ("validate", SelfTest.validate),
    ("analysis", SelfTest.analysis),
    ("processes", SelfTest.processes),
    ("generate", SelfTest.generate),
    ("export", SelfTest.export),
)


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run(*, out: TextIO | None = None, err: TextIO | None = None,
        generation_seconds: float = GENERATION_SECONDS) -> int:
    """Run every step; print the one-line report on `out` (the traceback of a failure on `err`)."""
    out = out or sys.stdout
    err = err or sys.stderr
    began = time.perf_counter()
    parts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rsched-self-test-") as folder:
        test = SelfTest(Path(folder), generation_seconds=generation_seconds)
        try:
            for name, step in STEPS:
                t0 = time.perf_counter()
                try:
                    detail = step(test)
                except Exception as exc:  # noqa: BLE001 - every failure is reported by its step
                    traceback.print_exc(file=err)
                    print(f"self-test FAILED at step '{name}': {_sentence(exc)}", file=out, flush=True)
                    return 1
                parts.append(f"{name} {time.perf_counter() - t0:.1f}s ({detail})")
        finally:
            test.close()
    total = time.perf_counter() - began
    print(f"self-test passed: {', '.join(parts)} (total {total:.1f}s)", file=out, flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
