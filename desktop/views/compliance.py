"""The compliance page: the violations of the loaded block (sort, filter by rule, severity and
person; activating a row selects its cells in the grid) and a resident's duty-hours chart.

The chart embeds matplotlib (QtAgg backend), imported the first time a chart is drawn.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.models.violations import ViolationFilterProxy, ViolationRole, ViolationsModel
from desktop.program import BlockData, ProgramSession

SEVERITIES = ("critical", "high", "warning")


def duty_hour_series(snapshot: Any, person_id: str) -> tuple[list[dt.date], list[float], list[float], float]:
    """Per day of the snapshot: hours in the 7 days ending that day, and the rolling average of
    weekly hours over the rule window ending that day (NaN until a whole window fits). Also the
    weekly limit of the rule set."""
    import numpy as np

    from core.rules.duty import duty_intervals_rows, rule_context

    p = snapshot.person_index[person_id]
    ctx = rule_context(snapshot)
    rows = slice(p, p + 1)
    di = duty_intervals_rows(ctx, snapshot.codes[rows], snapshot.call[rows], snapshot.call_hours[rows],
                             int(round(snapshot.rules.scheduled_transition_hours * 60)))
    daily = di.daily[0].astype(float) / 60.0
    csum = np.concatenate([[0.0], np.cumsum(daily)])
    n = len(daily)
    idx = np.arange(1, n + 1)
    week = csum[idx] - csum[np.maximum(idx - 7, 0)]
    window = snapshot.rules.window_days
    # The average exists once a whole window lies inside the snapshot (no partial windows).
    four = np.where(idx >= window, (csum[idx] - csum[np.maximum(idx - window, 0)]) / (window / 7.0), np.nan)
    days = [snapshot.date_of(d) for d in range(n)]
    return days, week.tolist(), four.tolist(), float(snapshot.rules.max_hours_per_week)


class DutyHoursChart(QWidget):
    """A matplotlib canvas with weekly hours, the 4-week rolling average and the limit line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Duty-hours chart")
        self.title = QLabel("Select a resident's violation (or type a name) to see their duty hours.", self)
        self.title.setWordWrap(True)
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(self.title)
        self.canvas: Any = None
        self.figure: Any = None
        self.person_id: str | None = None

    def _ensure_canvas(self) -> None:
        if self.canvas is not None:
            return
        import matplotlib

        matplotlib.use("QtAgg")
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(6, 3.0), layout="constrained")
        self.setMinimumHeight(260)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setAccessibleName("Duty hours per week and 4-week average")
        self._layout.addWidget(self.canvas, 1)

    def show_person(self, snapshot: Any, person_id: str, block: tuple[dt.date, dt.date] | None = None) -> None:
        person = snapshot.people[snapshot.person_index[person_id]]
        if person.kind != "resident":
            self.title.setText(f"{person.name} is not a resident; the duty-hour rules apply to residents.")
            return
        self._ensure_canvas()
        self.person_id = person_id
        days, week, four, limit = duty_hour_series(snapshot, person_id)
        fig = self.figure
        fig.clear()
        ax = fig.add_subplot(111)
        ax.plot(days, week, label="Hours in the last 7 days", color="#4f81bd", linewidth=1.2)
        ax.plot(days, four, label="4-week rolling average", color="#c0504d", linewidth=2)
        ax.axhline(limit, color="#000000", linestyle="--", linewidth=1, label=f"{limit:g} h limit")
        if block is not None:
            ax.axvspan(block[0], block[1], color="#808080", alpha=0.12, label="This block")
        ax.set_ylabel("hours / week")
        finite = [x for x in week + four if x == x]
        ax.set_ylim(0, max([limit * 1.25, *(x * 1.1 for x in finite)]))
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=4, fontsize="small", frameon=False)
        fig.autofmt_xdate()
        self.title.setText(f"Duty hours of {person.name} ({days[0]:%b %d} – {days[-1]:%b %d})")
        self.canvas.draw_idle()


class CompliancePage(QWidget):
    violation_activated = Signal(object)

    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = ViolationsModel(self)
        self.proxy = ViolationFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.rule = QComboBox(self)
        self.rule.setAccessibleName("Filter by rule")
        self.severity = QComboBox(self)
        self.severity.setAccessibleName("Filter by severity")
        self.severity.addItem("All severities", "")
        for s in SEVERITIES:
            self.severity.addItem(s.capitalize(), s)
        self.person = QLineEdit(self)
        self.person.setPlaceholderText("Filter by person…")
        self.person.setAccessibleName("Filter by person")
        self.person.setClearButtonEnabled(True)
        self.summary = QLabel(self)
        self.summary.setAccessibleName("Compliance summary")
        self.view = QTableView(self)
        self.view.setObjectName("violationsTable")
        self.view.setAccessibleName("Violations")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.chart = DutyHoursChart(self)
        bar = QHBoxLayout()
        for label, w in (("Rule:", self.rule), ("Severity:", self.severity), ("Person:", self.person)):
            bar.addWidget(QLabel(label, self))
            bar.addWidget(w)
        bar.addStretch(1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.view)
        split.addWidget(self.chart)
        split.setSizes([420, 320])
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        hint = QLabel("Enter or double-click on a violation selects its cells in the block grid.", self)
        lay.addWidget(hint)

        self.rule.currentIndexChanged.connect(lambda: self.proxy.set_filter(rule=self.rule.currentData() or ""))
        self.severity.currentIndexChanged.connect(lambda: self.proxy.set_filter(severity=self.severity.currentData()))
        self.person.textChanged.connect(lambda t: self.proxy.set_filter(person=t))
        self.view.activated.connect(self._activated)
        self.view.doubleClicked.connect(self._activated)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        session.block_loaded.connect(self.show_block)
        session.violations_changed.connect(self._changed)
        if session.block is not None:
            self.show_block(session.block)

    def show_block(self, block: BlockData) -> None:
        self.model.set_violations(block.violations, keep=block.in_block)
        self._fill_rules()
        self._update_summary()

    def _changed(self, added: Any, removed: Any) -> None:
        if self.session.block is not None:
            self.model.keep = self.session.block.in_block
        self.model.apply_change(added, removed)
        self._fill_rules()
        self._update_summary()
        if self.chart.person_id and self.session.block is not None:
            ids = {v.person_id for v in (*added, *removed)}
            if self.chart.person_id in ids:
                self._draw(self.chart.person_id)

    def _fill_rules(self) -> None:
        current = self.rule.currentData()
        rules = sorted({v.rule for v in self.model.rows})
        if current and current not in rules:
            rules.append(current)
        self.rule.blockSignals(True)
        self.rule.clear()
        self.rule.addItem("All rules", "")
        for r in rules:
            self.rule.addItem(r, r)
        self.rule.setCurrentIndex(max(0, self.rule.findData(current)))
        self.rule.blockSignals(False)

    def _update_summary(self) -> None:
        rows = self.model.rows
        block = self.session.block
        where = f"block {block.block.number}" if block is not None else "this block"
        if not rows:
            self.summary.setText(f"<b>No rule is broken in {where}.</b>")
            return
        counts = {s: sum(1 for v in rows if v.severity == s) for s in SEVERITIES}
        self.summary.setText(f"<b>{len(rows)} violation(s) in {where}</b>: " +
                             ", ".join(f"{n} {s}" for s, n in counts.items()))

    def _activated(self, index: QModelIndex) -> None:
        v = self.proxy.data(index, ViolationRole)
        if v is not None:
            self.violation_activated.emit(v)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        v = self.proxy.data(current, ViolationRole) if current.isValid() else None
        if v is not None and v.person_id:
            self._draw(v.person_id)

    def _draw(self, person_id: str) -> None:
        block = self.session.block
        if block is None or person_id not in block.snapshot.person_index:
            return
        self.chart.show_person(block.snapshot, person_id, (block.block.start, block.block.end))
