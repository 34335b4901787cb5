"""The Generate dialog: pick a block and a time limit, watch the objective and its bound, cancel
(keeping the best schedule found), then review the draft (diff, violations, unfilled slots with the
constraint that blocked each) and publish or discard it. `review(draft)` shows a draft made
elsewhere (a resilience fallback applied as a draft) the same way.

The solve runs in the one `Worker` (kind "generate"); Cancel does not cancel the worker (that would
drop its result) but sets the solver's own stop flag, so the task returns the best schedule so far
as a draft. Publishing runs on the writer pool.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

SLOT = ("AM", "PM")


class _Relay:
    """Carries solver progress to the GUI thread. The solver calls back on its own C++ threads, where
    emitting a Qt signal is not safe, so points go into a locked list the dialog drains on a timer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._points: list[tuple[int, int, float]] = []

    def put(self, objective: int, bound: int, t: float) -> None:
        with self._lock:
            self._points.append((objective, bound, t))

    def take(self) -> list[tuple[int, int, float]]:
        with self._lock:
            out, self._points = self._points, []
        return out


class ObjectiveChart(QWidget):
    """A small line chart of the objective and its bound over time (log scale), painted by hand."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(360, 160)
        self.setAccessibleName("Objective and bound over time")
        self.points: list[tuple[float, int, int]] = []

    def clear(self) -> None:
        self.points = []
        self.update()

    def add(self, objective: int, bound: int, t: float) -> None:
        self.points.append((t, objective, bound))
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        import math

        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#ffffff"))
        p.setPen(QPen(QColor("#999999")))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if not self.points:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No schedule yet")
            p.end()
            return
        w, h = self.width() - 20, self.height() - 30
        t_max = max(0.1, self.points[-1][0])

        def y(v: int) -> float:
            hi = math.log10(max(10, max(o for _, o, _ in self.points)) + 1)
            return 10 + h - h * math.log10(max(0, v) + 1) / hi

        for idx, colour in ((1, "#c0392b"), (2, "#2471a3")):
            p.setPen(QPen(QColor(colour), 2))
            prev = None
            for pt in self.points:
                xy = (10 + w * pt[0] / t_max, y(pt[idx]))
                if prev is not None:
                    p.drawLine(int(prev[0]), int(prev[1]), int(xy[0]), int(prev[1]))
                    p.drawLine(int(xy[0]), int(prev[1]), int(xy[0]), int(xy[1]))
                prev = xy
        t, o, b = self.points[-1]
        p.setPen(QPen(QColor("#000000")))
        p.drawText(12, self.height() - 8, f"objective {o:,}   bound {b:,}   {t:.1f} s")
        p.end()


def _model(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> QStandardItemModel:
    model = QStandardItemModel(len(rows), len(headers))
    model.setHorizontalHeaderLabels(list(headers))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QStandardItem("" if value is None else str(value))
            item.setEditable(False)
            model.setItem(r, c, item)
    return model


def run_generation(ctx: Any, program_id: str, block_number: int, year: int | None, time_limit: float,
                   relay: _Relay, stop: threading.Event, *, progress: Any, cancelled: Any) -> Any:
    """The worker's task: generate and keep the draft (core.services.drafts)."""
    from core.services.drafts import generate_draft

    def on_progress(objective: int, bound: int, t: float) -> None:
        relay.put(int(objective), int(bound), float(t))

    # CP-SAT runs in a plain Python thread: started from a Qt pool thread directly, its search threads
    # crashed the process (segmentation fault, PySide6 6.x, OR-Tools 9.15) when they called back.
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["value"] = generate_draft(ctx, program_id, block_number, year=year, time_limit=time_limit,
                                          workers=2, on_progress=on_progress,
                                          cancelled=lambda: stop.is_set() or cancelled())
        except BaseException as exc:  # noqa: BLE001 - re-raised on the worker thread
            out["error"] = exc

    thread = threading.Thread(target=body, name="generate-solve", daemon=True)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def run_save_fallback(ctx: Any, program_id: str, repair: Any, snapshot: Any, *, progress: Any,
                      cancelled: Any) -> Any:
    """The writer's task: keep a resilience fallback as a draft (core.services.drafts)."""
    from core.services.drafts import save_repair_draft

    return save_repair_draft(ctx, program_id, repair, snapshot)


def run_publish(ctx: Any, draft_id: str, reason: str, *, progress: Any, cancelled: Any) -> Any:
    from core.services.drafts import publish_draft

    return publish_draft(ctx, draft_id, reason=reason)


def run_discard(ctx: Any, draft_id: str, *, progress: Any, cancelled: Any) -> Any:
    from core.services.drafts import discard_draft

    return discard_draft(ctx, draft_id)


class GenerateDialog(QDialog):
    """Generate a block as a draft, review it, publish or discard it."""

    published = Signal(object)  # the DraftRecord, after publication

    def __init__(self, ctx: Any, program_id: str, blocks: Sequence[tuple[int, str]], workers: Any,
                 *, year: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generate a block")
        self.ctx, self.program_id, self.workers, self.year = ctx, program_id, workers, year
        self.draft: Any = None
        self.result: Any = None
        self._stop = threading.Event()
        self.relay = _Relay()
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._drain)

        self.block_box = QComboBox(self)
        self.block_box.setAccessibleName("Block")
        for number, label in blocks:
            self.block_box.addItem(label, number)
        self.limit_box = QDoubleSpinBox(self)
        self.limit_box.setAccessibleName("Time limit in seconds")
        self.limit_box.setRange(1, 3600)
        self.limit_box.setValue(30)
        self.limit_box.setSuffix(" s")
        form = QFormLayout()
        form.addRow("Block", self.block_box)
        form.addRow("Time limit", self.limit_box)

        self.generate_button = QPushButton("Generate", self)
        self.cancel_button = QPushButton("Stop (keep the best so far)", self)
        self.cancel_button.setEnabled(False)
        self.generate_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.cancel_button)

        self.chart = ObjectiveChart(self)
        self.status = QLabel("Choose a block and press Generate.", self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Generation status")

        self.tabs = QTabWidget(self)
        self.diff_view = QTableView(self)
        self.violation_view = QTableView(self)
        self.unfilled_view = QTableView(self)
        for name, view in (("Changes", self.diff_view), ("Violations", self.violation_view),
                           ("Unfilled", self.unfilled_view)):
            view.setAccessibleName(name)
            self.tabs.addTab(view, name)
        self.publish_button = QPushButton("Publish", self)
        self.discard_button = QPushButton("Discard", self)
        self.publish_button.setEnabled(False)
        self.discard_button.setEnabled(False)
        self.publish_button.clicked.connect(self.publish)
        self.discard_button.clicked.connect(self.discard)
        review_buttons = QHBoxLayout()
        review_buttons.addStretch(1)
        review_buttons.addWidget(self.discard_button)
        review_buttons.addWidget(self.publish_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.chart)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(review_buttons)
        self.resize(760, 640)

    # ------------------------------------------------------------------------------- generate
    @property
    def running(self) -> bool:
        return self.workers.running("generate") is not None

    def start(self) -> None:
        if self.running:
            return
        self._stop = threading.Event()
        self.chart.clear()
        self._show_review(None, None)
        number = int(self.block_box.currentData())
        self.status.setText(f"Generating {self.block_box.currentText()}…")
        self.generate_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.relay.take()
        self.timer.start()
        self.workers.start("generate", run_generation, self.ctx, self.program_id, number, self.year,
                           float(self.limit_box.value()), self.relay, self._stop,
                           on_finished=self._finished, on_failed=self._failed)

    def stop(self) -> None:
        """Stop the search; the best schedule found so far becomes the draft."""
        self._stop.set()
        self.cancel_button.setEnabled(False)
        self.status.setText("Stopping; keeping the best schedule found so far…")

    def _drain(self) -> None:
        for objective, bound, t in self.relay.take():
            self.chart.add(objective, bound, t)

    def _finished(self, value: Any) -> None:
        self._drain()
        self.timer.stop()
        draft, result = value
        self.generate_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._show_review(draft, result)
        sev = result.counts_by_severity()
        how = "stopped early" if result.cancelled else result.status
        gap = result.gap
        self.status.setText(
            f"Draft ready ({how}): {len(result.changes)} changed half-days, {len(result.call_changes)} changed "
            f"call nights; {sev['critical']} critical, {sev['high']} high, {sev['warning']} warnings; "
            f"{len(result.unfilled)} unfilled" + (f"; gap to the bound {100 * gap:.1f} %" if gap is not None else ""))

    def review(self, draft: Any) -> None:
        """Show a draft made elsewhere (e.g. a resilience fallback) for review, publish or discard."""
        self._show_review(draft, None)
        s = draft.summary
        what = (f"Fallback for {' + '.join(s.get('removed', ()))} out" if draft.kind == "fallback"
                else draft.label)
        self.status.setText(
            f"{what}: draft ready for review, {len(draft.changes)} changed half-days, "
            f"{sum(1 for v in draft.violations if v.get('severity') == 'critical')} critical violations, "
            f"{len(draft.unfilled)} unfilled. Publish or discard it.")

    def _failed(self, exc: BaseException) -> None:
        self.timer.stop()
        self.generate_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status.setText(str(exc))

    def _show_review(self, draft: Any, result: Any) -> None:
        self.draft, self.result = draft, result
        if draft is None:
            for view in (self.diff_view, self.violation_view, self.unfilled_view):
                view.setModel(_model([], []))
            self.publish_button.setEnabled(False)
            self.discard_button.setEnabled(False)
            return
        diff = [(c["person"], c["date"], SLOT[int(c["slot"])], c["before"] or "-", c["after"] or "-")
                for c in draft.changes]
        diff += [(c["person"], c["date"], "call", c["before"] or "-", c["after"] or "-")
                 for c in draft.call_changes]
        self.diff_view.setModel(_model(("Person", "Date", "Slot", "Before", "After"), diff))
        self.violation_view.setModel(_model(
            ("Severity", "Rule", "What"), [(v["severity"], v["rule"], v["message"]) for v in draft.violations]))
        self.unfilled_view.setModel(_model(
            ("Date", "Slot", "What", "Needed", "Have", "Blocked by", "Reason"),
            [(u["date"], SLOT[u["slot"]] if u["slot"] is not None else "night", u["what"], u["needed"], u["have"],
              u["rule"], u["reason"]) for u in draft.unfilled]))
        self.tabs.setTabText(0, f"Changes ({len(diff)})")
        self.tabs.setTabText(1, f"Violations ({len(draft.violations)})")
        self.tabs.setTabText(2, f"Unfilled ({len(draft.unfilled)})")
        self.publish_button.setEnabled(True)
        self.discard_button.setEnabled(True)

    # ------------------------------------------------------------------------------- review
    def publish(self, reason: str = "Published from the Generate dialog") -> None:
        if self.draft is None:
            return
        self.publish_button.setEnabled(False)
        self.discard_button.setEnabled(False)
        self.workers.start("", run_publish, self.ctx, self.draft.id, reason, writer=True,
                           on_finished=self._published, on_failed=self._failed)

    def _published(self, result: Any) -> None:
        self.status.setText(f"Published: {result.value.label}.")
        self.published.emit(result.value)
        self.draft = None

    def discard(self) -> None:
        if self.draft is None:
            return
        self.publish_button.setEnabled(False)
        self.discard_button.setEnabled(False)
        self.workers.start("", run_discard, self.ctx, self.draft.id, writer=True,
                           on_finished=lambda _r: self.status.setText("Draft discarded."), on_failed=self._failed)
        self.draft = None

    def reject(self) -> None:  # closing stops a running search
        self._stop.set()
        super().reject()


def open_generate_dialog(window: Any, draft: Any = None) -> GenerateDialog | None:
    """Open the Generate dialog for the main window's program, on the year of the block in view
    (the current block preselected); the block view reloads after a publication. With `draft`, the
    dialog opens on its review."""
    session = window.session
    if session.ctx is None or session.data is None or not session.data.years:
        window.show_message("Open a program first.")
        return None
    year = session.block.year if session.block is not None else session.data.years[-1]
    blocks = [(b.number, f"Block {b.number}: {b.start:%b %d} - {b.end:%b %d, %Y}") for b in year.blocks]
    dlg = GenerateDialog(session.ctx, session.data.program.id, blocks, window.app.workers,
                         year=year.start_year, parent=window)
    if session.block is not None:
        dlg.block_box.setCurrentIndex(max(0, dlg.block_box.findData(session.block.block.number)))
    dlg.published.connect(lambda _d: session.reload_block())
    if draft is not None:
        dlg.review(draft)
    dlg.show()
    return dlg
