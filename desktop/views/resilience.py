"""The resilience view: status badge, heatmaps, single points of failure, N-2 pairs, SPC, fairness,
burden, what-if and fallbacks (RESILIENCE.md).

Each analysis runs as its own worker (kind "resilience:<id>") on the analysis pool, with a progress
bar and a cancel button. `set_snapshot` hands the view a new schedule snapshot: results of an older
revision are marked stale at once and the analyses re-run in the background. Charts use matplotlib
(imported on first use) and can be exported as PNG or PDF.

Signals for the main window:
- `showInGrid(person_id, first_date)`: the user asked to see a person in the block grid;
- `applyFallback(repair)`: apply a ready fallback (`core.resilience.scenario.Repair`) as a draft.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.resilience.isolated import ISOLATE_PEOPLE
from desktop.models.resilience_tables import RowsModel
from desktop.workers import WorkerManager

RUN_ORDER = ("util", "nk", "spc", "equity", "burnout", "n1", "hubs", "n2", "defense", "fallback")
LEVEL_COLOURS = {"GREEN": "#2e7d32", "YELLOW": "#f9a825", "ORANGE": "#ef6c00", "RED": "#c62828",
                 "BLACK": "#212121"}
READY, RUNNING, STALE, CANCELLED, FAILED, IDLE = "ready", "running", "stale", "cancelled", "failed", "not run"


_SETTLED = [0]


def settle_heap() -> None:
    """Move the objects alive now (modules, Qt wrappers, the loaded schedule) out of the cyclic
    garbage collector's reach (`gc.freeze`), at most twice per process.

    The analyses allocate many objects on their threads; every so often that sets off a full
    collection, which walks the whole heap with the GIL held: 100-250 ms of CPU measured while the
    resilience page ran (the GUI thread waits for all of it). After a freeze a full collection walks
    only what was allocated since (37-45 ms of CPU on the loaded 2-core machine). Frozen objects are
    still freed by reference counting; only cyclic garbage alive at a freeze is never collected,
    which is why this happens twice at most: before the first run (the program as loaded) and when
    the first run has finished (the libraries the analyses imported).
    """
    import gc

    if _SETTLED[0] < 2:
        _SETTLED[0] += 1
        gc.freeze()


class ChartPanel(QWidget):
    """A matplotlib chart with PNG/PDF export.

    A chart is drawn from plain data (`desktop.views.resilience_charts`), never on the GUI thread:
    by default in the one chart process (`CHARTS`), whose answer a thread of the one-thread chart
    pool waits for, so matplotlib's long GIL-holding calls never stall the GUI thread; with
    `in_process=False` on that chart thread itself (the earlier way, kept for the probe's A/B).
    The GUI thread only shows the finished image. `chart` is the `(kind, data)` shown, for export.
    """

    rendered = Signal()

    def __init__(self, pool: QThreadPool | None = None, parent: QWidget | None = None, *,
                 in_process: bool = True) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self.image = QLabel("No chart yet.")
        self.image.setMinimumHeight(200)
        self.chart: tuple[str, dict[str, Any]] | None = None
        self.in_process = in_process
        self._pool = pool
        self._worker: Any = None
        export = QPushButton("Export PNG/PDF…")
        export.clicked.connect(self._export_dialog)
        self._layout.addWidget(self.image, 1)
        self._layout.addWidget(export)

    def draw(self, kind: str, data: dict[str, Any]) -> None:
        from desktop.views.resilience_charts import CHARTS, render_rgba
        from desktop.workers import Worker

        in_process = self.in_process

        def task(*, progress: Any, cancelled: Any) -> Any:
            image = CHARTS.call(render_rgba, kind, data) if in_process else render_rgba(kind, data)
            return (kind, data), image

        if self._worker is not None:
            self._worker.cancel()
        worker = Worker(task, kind="chart")
        worker.setAutoDelete(True)
        worker.signals.finished.connect(self._show)
        self._worker = worker
        (self._pool or QThreadPool.globalInstance()).start(worker)

    def _show(self, payload: Any) -> None:
        from PySide6.QtGui import QImage, QPixmap

        chart, (buf, w, h) = payload
        self.chart = chart
        self._buf = buf  # QImage does not copy the buffer
        self.image.setPixmap(QPixmap.fromImage(QImage(buf, w, h, QImage.Format.Format_RGBA8888)))
        self.rendered.emit()

    def export(self, path: str) -> None:
        """Write the chart shown as PNG or PDF (by the suffix of `path`), drawn anew at full quality."""
        from desktop.views.resilience_charts import CHARTS, save

        if self.chart is None:
            raise ValueError("Nothing drawn yet.")
        if self.in_process:
            CHARTS.call(save, *self.chart, path)
        else:
            save(*self.chart, path)

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export chart", "", "PNG (*.png);;PDF (*.pdf)")
        if path:
            self.export(path)


class AnalysisRow(QWidget):
    """Progress bar, state and cancel button of one analysis."""

    def __init__(self, name: str, on_cancel: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(name.upper())
        self.label.setMinimumWidth(90)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.state = QLabel(IDLE)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(on_cancel)
        self.cancel.setEnabled(False)
        for w in (self.label, self.bar, self.state, self.cancel):
            lay.addWidget(w)


class ResilienceView(QWidget):
    showInGrid = Signal(str, object)
    applyFallback = Signal(object)
    resultReady = Signal(str)  # analysis id (for tests and the main window's status line)

    def __init__(self, workers: WorkerManager | None = None, parent: QWidget | None = None,
                 analyses: tuple[str, ...] = RUN_ORDER, *, chart_process: bool = True) -> None:
        super().__init__(parent)
        self.chart_process = chart_process  # draw charts in the chart process (ChartPanel)
        if workers is None:
            self._pool = QThreadPool(self)
            self._writer = QThreadPool(self)
            self._writer.setMaxThreadCount(1)
            workers = WorkerManager(self._pool, self._writer, self)
        self.workers = workers
        # matplotlib is not thread-safe across figures drawn at once: one chart thread
        self.chart_pool = QThreadPool(self)
        self.chart_pool.setMaxThreadCount(1)
        self.analyses = analyses
        self.snapshot: Any = None
        self.results: dict[str, Any] = {}
        self.states: dict[str, str] = {a: IDLE for a in analyses}
        self._build()

    # ------------------------------------------------------------------------------- layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        top = QHBoxLayout()
        self.badge = QLabel("Status: not analysed")
        self.badge.setStyleSheet("padding: 6px; border-radius: 4px; color: white; background: #757575;")
        self.reason = QLabel("")
        self.reason.setWordWrap(True)
        self.run_button = QPushButton("Run all")
        self.run_button.clicked.connect(self.run_all)
        self.cancel_button = QPushButton("Cancel all")
        self.cancel_button.clicked.connect(self.cancel_all)
        top.addWidget(self.badge)
        top.addWidget(self.reason, 1)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        root.addLayout(top)
        grid = QGridLayout()
        self.rows: dict[str, AnalysisRow] = {}
        for i, a in enumerate(self.analyses):
            row = AnalysisRow(a, lambda a=a: self.cancel(a))
            self.rows[a] = row
            grid.addWidget(row, i // 2, i % 2)
        root.addLayout(grid)
        self.tabs = QTabWidget()
        root.addWidget(self.tabs, 1)
        # heatmaps
        self.nk_chart = ChartPanel(self.chart_pool, in_process=self.chart_process)
        self.util_chart = ChartPanel(self.chart_pool, in_process=self.chart_process)
        self.tabs.addTab(self.nk_chart, "N+k heatmap")
        self.tabs.addTab(self.util_chart, "Utilization")
        # single points of failure
        spof = QWidget()
        lay = QVBoxLayout(spof)
        self.spof_model = RowsModel(["Person", "Unfilled half-days", "Needed", "Absorbed by", "First gap"])
        self.spof_table = self._table(self.spof_model)
        show = QPushButton("Show in grid")
        show.clicked.connect(self._show_selected)
        lay.addWidget(self.spof_table)
        lay.addWidget(show)
        self.tabs.addTab(spof, "Single points of failure")
        self.n2_model = RowsModel(["Person", "Person", "Unfilled half-days"])
        self.tabs.addTab(self._table(self.n2_model), "N-2 fatal pairs")
        # SPC
        spc = QWidget()
        lay = QVBoxLayout(spc)
        self.spc_person = QComboBox()
        self.spc_person.currentIndexChanged.connect(self._draw_spc)
        self.spc_chart = ChartPanel(self.chart_pool, in_process=self.chart_process)
        self.spc_alarms = QLabel("")
        lay.addWidget(self.spc_person)
        lay.addWidget(self.spc_chart, 1)
        lay.addWidget(self.spc_alarms)
        self.tabs.addTab(spc, "Control charts")
        # equity
        eq = QWidget()
        lay = QVBoxLayout(eq)
        self.equity_metric = QComboBox()
        self.equity_metric.addItems(["hours", "call_nights", "weekends", "holidays", "nights"])
        self.equity_metric.currentIndexChanged.connect(self._draw_equity)
        self.equity_chart = ChartPanel(self.chart_pool, in_process=self.chart_process)
        self.equity_model = RowsModel(["Class", "Metric", "Gini", "Mean", "Outliers (±20 %)"])
        lay.addWidget(self.equity_metric)
        lay.addWidget(self.equity_chart, 1)
        lay.addWidget(self._table(self.equity_model), 1)
        self.tabs.addTab(eq, "Fairness")
        self.burden_model = RowsModel(["Person", "Burden", "Band", "Exposure (illustration)"])
        self.tabs.addTab(self._table(self.burden_model), "Burden")
        # what-if
        wi = QWidget()
        lay = QVBoxLayout(wi)
        self.whatif_people = QListWidget()
        self.whatif_people.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        row = QHBoxLayout()
        self.whatif_service = QComboBox()
        self.whatif_loss = QDoubleSpinBox()
        self.whatif_loss.setRange(0, 100)
        self.whatif_loss.setSuffix(" % lost")
        self.whatif_run = QPushButton("Compute the new equilibrium")
        self.whatif_run.clicked.connect(self.run_whatif)
        row.addWidget(self.whatif_service)
        row.addWidget(self.whatif_loss)
        row.addWidget(self.whatif_run)
        self.whatif_report = QLabel("Choose people who are out, or a share of a service lost.")
        self.whatif_report.setWordWrap(True)
        lay.addWidget(QLabel("People out:"))
        lay.addWidget(self.whatif_people, 1)
        lay.addLayout(row)
        lay.addWidget(self.whatif_report)
        self.tabs.addTab(wi, "What if")
        # fallbacks
        fb = QWidget()
        lay = QVBoxLayout(fb)
        self.fallback_model = RowsModel(["Scenario", "Changes", "Unfilled", "State"])
        self.fallback_table = self._table(self.fallback_model)
        apply = QPushButton("Apply as draft")
        apply.clicked.connect(self._apply_selected)
        lay.addWidget(self.fallback_table)
        lay.addWidget(apply)
        self.tabs.addTab(fb, "Fallbacks")

    def _table(self, model: RowsModel) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.horizontalHeader().setStretchLastSection(True)
        return view

    # ------------------------------------------------------------------------------ running
    def set_snapshot(self, snapshot: Any, *, run: bool = True) -> None:
        """A new schedule: older results go stale at once and the analyses re-run."""
        changed = self.snapshot is None or snapshot.revision != self.snapshot.revision
        self.snapshot = snapshot
        if changed:
            for a in self.analyses:
                if a in self.results:
                    self._set_state(a, STALE)
            for model in (self.spof_model, self.n2_model, self.equity_model, self.burden_model,
                          self.fallback_model):
                model.set_stale(True)
            self._refresh_fallback_states()
            self.whatif_people.clear()
            self.whatif_people.addItems([p.name for p in snapshot.people])
            self.whatif_service.clear()
            self.whatif_service.addItems(sorted({a.code for a in snapshot.activities}))
        if run and changed:
            self.run_all()

    def run_all(self) -> None:
        settle_heap()
        if self.chart_process or (self.snapshot is not None and self.snapshot.n_people >= ISOLATE_PEOPLE):
            threading.Thread(target=self._warm_processes, name="resilience-warm", daemon=True).start()
        for a in self.analyses:
            self.run(a)

    def _warm_processes(self) -> None:
        """Off the GUI thread: the fork server that starts the analysis and chart processes (its one
        fork of this process), then the chart process (it imports matplotlib while the analyses run).
        Starting a process waits for the server's answer, which the GUI thread must not."""
        from core.resilience.common import start_process_launcher

        start_process_launcher()
        if self.chart_process:
            from desktop.views.resilience_charts import CHARTS

            CHARTS.warm()

    def run(self, analysis: str) -> None:
        if self.snapshot is None:
            return
        from core import resilience

        snap = self.snapshot
        row = self.rows[analysis]
        row.bar.setValue(0)
        row.cancel.setEnabled(True)
        self._set_state(analysis, RUNNING)

        from core.resilience.isolated import run_isolated

        # a large program's analyses run in a process of their own (forked by the fork server): this thread only waits, so the GUI
        # thread does not compete with them for the GIL (the event-loop probe, docs/performance.md)
        compute = run_isolated if snap.n_people >= ISOLATE_PEOPLE else resilience.run

        def task(*, progress: Any, cancelled: Any) -> Any:
            return compute(analysis, snap, progress=progress, cancelled=cancelled)

        self.workers.start(
            f"resilience:{analysis}", task,
            on_finished=lambda result, a=analysis, rev=snap.revision: self._finished(a, rev, result),
            on_failed=lambda exc, a=analysis: self._failed(a, exc),
            on_progress=lambda f, m, a=analysis: self.rows[a].bar.setValue(int(100 * f)),
        )

    def cancel(self, analysis: str) -> None:
        if self.states.get(analysis) == RUNNING:
            self.workers.cancel(f"resilience:{analysis}")
            self.rows[analysis].cancel.setEnabled(False)
            self._set_state(analysis, STALE if analysis in self.results else CANCELLED)

    def cancel_all(self) -> None:
        for a in self.analyses:
            self.cancel(a)

    def _set_state(self, analysis: str, state: str) -> None:
        self.states[analysis] = state
        self.rows[analysis].state.setText(state)

    def _failed(self, analysis: str, exc: BaseException) -> None:
        self._set_state(analysis, FAILED)
        self.rows[analysis].cancel.setEnabled(False)
        self.rows[analysis].state.setToolTip(str(exc))

    def _finished(self, analysis: str, revision: str, result: Any) -> None:
        if self.snapshot is None or revision != self.snapshot.revision:
            return  # a result for an older schedule: a newer run is under way
        self.results[analysis] = result
        row = self.rows[analysis]
        row.bar.setValue(100)
        row.cancel.setEnabled(False)
        self._set_state(analysis, READY)
        if all(s == READY for s in self.states.values()):
            settle_heap()  # the modules the first run imported (OR-Tools, matplotlib) are long-lived too
        show = getattr(self, f"_show_{analysis}", None)
        if show is not None:
            show(result)
        self.resultReady.emit(analysis)

    # -------------------------------------------------------------------------- presenting
    def _show_defense(self, r: Any) -> None:
        name = r.level.name
        self.badge.setText(f"Status: {name}")
        self.badge.setStyleSheet(f"padding: 6px; border-radius: 4px; color: white; background: "
                                 f"{LEVEL_COLOURS[name]};")
        self.reason.setText(r.reason)

    def _show_nk(self, r: Any) -> None:
        self.nk_chart.draw("nk", {"day_k": r.day_k, "services": list(r.services)})

    def _show_util(self, r: Any) -> None:
        self.util_chart.draw("util", {"person_week": r.person_week, "week_starts": list(r.week_starts)})

    def _show_n1(self, r: Any) -> None:
        rows, keys = [], []
        for p in r.single_points_of_failure:
            first = p.unfilled_slots[0] if p.unfilled_slots else None
            gap = f"{first.activity} {first.day:%b %d} {'AM' if first.slot == 0 else 'PM'}" if first else ""
            rows.append((p.name, p.unfilled, p.needed, ", ".join(f"{n} ({k})" for n, k in p.absorbed_by[:3]),
                         gap))
            keys.append((self.snapshot.people[p.person].id, first.day if first else self.snapshot.start))
        self.spof_model.set_rows(rows, keys)

    def _show_n2(self, r: Any) -> None:
        self.n2_model.set_rows(r.fatal_pairs(500))

    def _show_spc(self, r: Any) -> None:
        self.spc_person.blockSignals(True)
        self.spc_person.clear()
        self.spc_person.addItems(list(r.names))
        self.spc_person.blockSignals(False)
        self._draw_spc()

    def _draw_spc(self) -> None:
        r = self.results.get("spc")
        i = self.spc_person.currentIndex()
        if r is None or i < 0 or i >= len(r.names) or not r.hours.shape[1]:
            return

        self.spc_chart.draw("spc", {
            "name": r.names[i], "hours": r.hours[i], "hit": r.alarms[i].any(axis=1), "centre": float(r.centre[i]),
            "sigma": float(r.sigma[i]), "limit": float(r.limit), "p_over_limit": float(r.p_over_limit[i])})
        alarms = [f"week of {w}: rule {k}" for n, w, k in r.alarm_list() if n == r.names[i]]
        self.spc_alarms.setText("; ".join(alarms) or "No alarms.")

    def _show_equity(self, r: Any) -> None:
        self.equity_model.set_rows([(t.klass, t.metric, t.gini, t.mean, len(t.outliers)) for t in r.table])
        self._draw_equity()

    def _draw_equity(self) -> None:
        r = self.results.get("equity")
        if r is None:
            return
        metric = self.equity_metric.currentText()

        self.equity_chart.draw("lorenz", {
            "metric": metric,
            "curves": [(t.klass, float(t.gini), t.lorenz_x, t.lorenz_y) for t in r.table if t.metric == metric]})

    def _show_burnout(self, r: Any) -> None:
        idx = {n: i for i, n in enumerate(r.names)}
        self.burden_model.set_rows([(n, t, b, float(r.exposure[idx[n]])) for n, t, b in r.ranking])

    def _show_fallback(self, r: Any) -> None:
        self._fallbacks = list(r.fallbacks)
        self._refresh_fallback_states()

    def _refresh_fallback_states(self) -> None:
        fbs = getattr(self, "_fallbacks", [])
        rev = self.snapshot.revision if self.snapshot is not None else ""
        self.fallback_model.set_rows(
            [(" + ".join(f.removed), f.n_changes, f.unfilled, "ready" if f.revision == rev else "stale")
             for f in fbs], fbs)

    # ------------------------------------------------------------------------------ actions
    def _show_selected(self) -> None:
        sel = self.spof_table.selectionModel().selectedRows()
        if sel:
            pid, day = self.spof_model.key(sel[0].row())
            self.showInGrid.emit(pid, day)

    def _apply_selected(self) -> None:
        sel = self.fallback_table.selectionModel().selectedRows()
        if not sel:
            return
        fb = self.fallback_model.key(sel[0].row())
        if self.snapshot is not None and fb.revision == self.snapshot.revision:
            self.applyFallback.emit(fb)

    def run_whatif(self) -> None:
        if self.snapshot is None:
            return
        from core.resilience import lechatelier

        people = tuple(i.text() for i in self.whatif_people.selectedItems())
        loss = self.whatif_loss.value() / 100.0
        params = lechatelier.Params(people=people, service=self.whatif_service.currentText() if loss else None,
                                    loss=loss)
        snap = self.snapshot
        self.whatif_report.setText("Computing…")

        def task(*, progress: Any, cancelled: Any) -> Any:
            return lechatelier.run(snap, params, progress=progress, cancelled=cancelled)

        self.workers.start("resilience:whatif", task, on_finished=self._show_whatif,
                           on_failed=lambda e: self.whatif_report.setText(str(e)))

    def _show_whatif(self, r: Any) -> None:
        weeks = "never" if r.weeks_to_break == float("inf") else f"{r.weeks_to_break:.1f} weeks"
        self.whatif_result = r
        self.whatif_report.setText(
            f"State: {r.state}. Coverage {r.coverage:.0%} ({r.unfilled} half-days unfilled); "
            f"{r.extra_hours_per_person:.1f} extra hours per remaining person; someone breaks 80 h: {weeks}; "
            f"hidden cost {r.hidden_cost_hours:.0f} h of education and clinic.")
        self.resultReady.emit("whatif")

    def shutdown(self) -> None:
        self.cancel_all()
        self.workers.cancel("resilience:whatif")
        self.chart_pool.waitForDone(10_000)


def today() -> dt.date:
    return dt.date.today()
