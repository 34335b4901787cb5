"""The Absences page: the list (filter by person and status), a calendar strip of four weeks
(people x days), requests (the dialog shows the time away this year with the request, from
core.services.absences.away_projection), approve / deny / cancel. Approving shows the slots and
call nights the approval emptied and, for each, who could cover it: people free in that slot,
of the same kind (resident or faculty), eligible for the activity, and compliant after the change (core.rules.engine.check_change),
fewest half-days worked in the window first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QDate, QSortFilterProxyModel, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.models.absences import AbsencesModel, AbsenceStripModel, CoverModel, CoverRow
from desktop.models.records import Index, RecordRole, SortRole
from desktop.program import ProgramData, ProgramSession, user_message

TYPES = ("vacation", "conference", "sick", "parental", "bereavement", "military", "personal", "other")
STATUSES = ("pending", "approved", "denied", "cancelled")
STRIP_DAYS = 28
COVER_MARGIN_DAYS = 27  # one rule window on each side, so the duty-hour windows are exact


# ------------------------------------------------------------------------------------ compute
def propose_cover(ctx: Any, program_id: str, emptied: Sequence[Any], *, limit: int = 3, **_: Any) -> list[CoverRow]:
    """For each emptied slot or call night: up to `limit` people who could take it (worker thread)."""
    if not emptied:
        return []
    import numpy as np

    from core.rules.engine import ProposedChange, check_change
    from core.snapshot import build_snapshot

    first = min(e.date for e in emptied) - dt.timedelta(days=COVER_MARGIN_DAYS)
    last = max(e.date for e in emptied) + dt.timedelta(days=COVER_MARGIN_DAYS)
    snap = ctx.read(lambda s: build_snapshot(s, program_id, first, last))
    eligible = snap.eligible()
    off = {i for i, a in enumerate(snap.activities) if a.category in ("off", "leave")}
    busy = np.isin(snap.codes, list(off), invert=True) & (snap.codes >= 0)
    load = busy.sum(axis=1)  # half-days worked in the window: fewer first
    out: list[CoverRow] = []
    for e in emptied:
        p_abs = snap.person_index.get(e.person_id)
        d = snap.day_of(e.date)
        if p_abs is None or not 0 <= d < snap.n_days:
            out.append(CoverRow(e.person_id, e.date, e.slot, e.call_type or "?", (), "Outside the academic year"))
            continue
        if e.slot is None:
            what = (e.call_type or "call").replace("_", "-") + " call"
        else:
            a = snap.activity_index.get(e.activity_id or "")
            what = snap.activities[a].code if a is not None else "?"
            if a is None or a in off:
                out.append(CoverRow(e.person_id, e.date, e.slot, what, (), "No cover needed"))
                continue
        names: list[str] = []
        order = sorted(range(snap.n_people), key=lambda p: (int(load[p]), snap.people[p].name))
        for p in order:
            person = snap.people[p]
            # a resident is covered by a resident, faculty by faculty (as rank_candidates does for swaps)
            if p == p_abs or person.kind != snap.people[p_abs].kind or snap.absent[p, d] or snap.pending_absence[p, d]:
                continue
            if e.slot is None:
                if snap.call[p, d] != 0:
                    continue
                change = ProposedChange(calls=((person.id, e.date, e.call_type, None),))
            else:
                a = snap.activity_index[e.activity_id]
                code = snap.codes[p, 2 * d + e.slot]
                if not eligible[p, a] or (code >= 0 and code not in off):
                    continue
                change = ProposedChange(assignments=((person.id, e.date, e.slot, e.activity_id),))
            result = check_change(snap, change)
            if any(v.severity in ("critical", "high") for v in result.added):
                continue
            names.append(person.name)
            if len(names) >= limit:
                break
        out.append(CoverRow(e.person_id, e.date, e.slot, what, tuple(names)))
    return out


# ------------------------------------------------------------------------------------ dialog
def _date_edit(parent: QWidget, day: dt.date, name: str) -> QDateEdit:
    edit = QDateEdit(QDate(day.year, day.month, day.day), parent)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("ddd d MMM yyyy")
    edit.setAccessibleName(name)
    return edit


class AbsenceRequestDialog(QDialog):
    """Person, type, days, blocking; shows the time away this academic year with the request."""

    def __init__(self, session: ProgramSession, people: Any, person_id: str | None, day: dt.date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Request an absence")
        self.person = QComboBox(self)
        self.person.setAccessibleName("Person")
        for p in people:
            self.person.addItem(p.name, p.id)
        if person_id is not None:
            self.person.setCurrentIndex(max(0, self.person.findData(person_id)))
        self.type = QComboBox(self)
        self.type.setAccessibleName("Type of absence")
        for t in TYPES:
            self.type.addItem(t.capitalize(), t)
        self.start = _date_edit(self, day, "First day")
        self.end = _date_edit(self, day, "Last day")
        self.blocking = QCheckBox("Blocking (empties the person's slots and calls when approved)", self)
        self.blocking.setChecked(True)
        self.note = QLineEdit(self)
        self.note.setAccessibleName("Note")
        self.projection = QLabel("", self)
        self.projection.setObjectName("awayProjection")
        self.projection.setAccessibleName("Time away this academic year")
        self.projection.setWordWrap(True)
        self.projection_value: Any = None
        form = QFormLayout()
        form.addRow("&Person:", self.person)
        form.addRow("&Type:", self.type)
        form.addRow("&From:", self.start)
        form.addRow("&To:", self.end)
        form.addRow("", self.blocking)
        form.addRow("&Note:", self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Request")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.projection)
        lay.addWidget(buttons)
        for sig in (self.person.currentIndexChanged, self.type.currentIndexChanged, self.start.dateChanged,
                    self.end.dateChanged):
            sig.connect(self.update_projection)
        self.update_projection()

    def values(self) -> tuple[str, str, dt.date, dt.date, bool, str | None]:
        return (str(self.person.currentData()), str(self.type.currentData()), self.start.date().toPython(),  # type: ignore[return-value]
                self.end.date().toPython(), self.blocking.isChecked(), self.note.text().strip() or None)

    def update_projection(self) -> None:
        ctx = self.session.ctx
        pid, _type, start, end, _b, _n = self.values()
        if ctx is None or end < start:
            self.projection.setText("The last day is before the first." if end < start else "")
            return
        from core.services import absences

        def shown(p: Any) -> None:
            self.projection_value = p
            colour = "#c00000" if p.over_limit else ("#b08800" if p.warning else "")
            self.projection.setStyleSheet(f"QLabel {{ color: {colour}; }}" if colour else "")
            self.projection.setText(p.sentence())

        self.session.app.workers.start("away-projection", lambda **_: absences.away_projection(ctx, pid, start, end),
                                       on_finished=shown,
                                       on_failed=lambda e: self.projection.setText(user_message(e)))


# ------------------------------------------------------------------------------------ page
class AbsenceFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.person_id: str | None = None
        self.status = ""
        self.setSortRole(SortRole)

    def set_filter(self, *, person_id: str | None, status: str) -> None:
        self.beginFilterChange()
        self.person_id, self.status = person_id, status
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, AbsencesModel) or not 0 <= source_row < len(model.rows):
            return True
        a = model.rows[source_row]
        return (self.person_id is None or a.person_id == self.person_id) and (not self.status or a.status == self.status)


class AbsencesPage(QWidget):
    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.loaded = False
        self.model = AbsencesModel(self)
        self.proxy = AbsenceFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.strip = AbsenceStripModel(self)
        self.cover = CoverModel(self, key=lambda r: r.id)
        self.strip_start = session.app.today()

        self.person = QComboBox(self)
        self.person.setAccessibleName("Show the absences of")
        self.status = QComboBox(self)
        self.status.setAccessibleName("Show the absences that are")
        self.status.addItem("Any status", "")
        for s in STATUSES:
            self.status.addItem(s.capitalize(), s)
        self.request_button = QPushButton("&Request absence…", self)
        self.approve_button = QPushButton("&Approve", self)
        self.deny_button = QPushButton("&Deny", self)
        self.cancel_button = QPushButton("&Cancel absence", self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Person:", self))
        top.addWidget(self.person)
        top.addWidget(QLabel("Status:", self))
        top.addWidget(self.status)
        top.addStretch(1)
        for b in (self.request_button, self.approve_button, self.deny_button, self.cancel_button):
            top.addWidget(b)
        self.message = QLabel(self)
        self.message.setObjectName("absencesMessage")
        self.message.setAccessibleName("Absences messages")
        self.message.setWordWrap(True)

        self.view = QTableView(self)
        self.view.setObjectName("absencesTable")
        self.view.setAccessibleName("Absences")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(2, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().hide()

        self.strip_view = QTableView(self)
        self.strip_view.setObjectName("absenceStrip")
        self.strip_view.setAccessibleName("Absence calendar")
        self.strip_view.setModel(self.strip)
        self.strip_view.horizontalHeader().setDefaultSectionSize(34)
        self.strip_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.strip_title = QLabel(self)
        prev_b = QPushButton("◀", self)
        prev_b.setAccessibleName("Previous four weeks")
        next_b = QPushButton("▶", self)
        next_b.setAccessibleName("Next four weeks")
        prev_b.clicked.connect(lambda: self.move_strip(-STRIP_DAYS))
        next_b.clicked.connect(lambda: self.move_strip(STRIP_DAYS))
        strip_box = QWidget(self)
        sl = QVBoxLayout(strip_box)
        sl.setContentsMargins(0, 0, 0, 0)
        srow = QHBoxLayout()
        srow.addWidget(prev_b)
        srow.addWidget(self.strip_title, 1)
        srow.addWidget(next_b)
        sl.addLayout(srow)
        sl.addWidget(self.strip_view, 1)

        self.cover_title = QLabel("Approving an absence lists what it empties and who could cover it.", self)
        self.cover_title.setObjectName("coverTitle")
        self.cover_title.setWordWrap(True)
        self.cover_view = QTableView(self)
        self.cover_view.setObjectName("coverTable")
        self.cover_view.setAccessibleName("Emptied slots and proposed cover")
        self.cover_view.setModel(self.cover)
        self.cover_view.horizontalHeader().setStretchLastSection(True)
        self.cover_view.verticalHeader().hide()
        cover_box = QWidget(self)
        cl = QVBoxLayout(cover_box)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.cover_title)
        cl.addWidget(self.cover_view, 1)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.view)
        split.addWidget(strip_box)
        split.addWidget(cover_box)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.message)
        lay.addWidget(split, 1)

        self.person.currentIndexChanged.connect(self._filter)
        self.status.currentIndexChanged.connect(self._filter)
        self.request_button.clicked.connect(self.request)
        self.approve_button.clicked.connect(self.approve)
        self.deny_button.clicked.connect(self.deny)
        self.cancel_button.clicked.connect(self.cancel)
        session.opened.connect(self._opened)
        session.catalog_changed.connect(self._fill_people)
        session.block_loaded.connect(lambda b: self.show_strip(b.block.start) if not self.loaded else None)
        if session.data is not None:
            if session.block is not None:
                self.strip_start = session.block.block.start
            self._opened(session.data)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.loaded:  # requests made elsewhere (another window, rsched) show on return
            self.reload()

    # ------------------------------------------------------------------------------- loading
    def _opened(self, data: ProgramData) -> None:
        self._fill_people(data)
        self.reload()

    def _fill_people(self, data: ProgramData) -> None:
        current = self.person.currentData()
        self.person.blockSignals(True)
        self.person.clear()
        self.person.addItem("Everyone", None)
        for p in self._people():
            self.person.addItem(p.name, p.id)
        self.person.setCurrentIndex(max(0, self.person.findData(current)))
        self.person.blockSignals(False)
        self.model.set_names({p.id: p.name for p in data.people})

    def _people(self) -> list[Any]:
        data = self.session.data
        if data is None:
            return []
        return sorted((p for p in data.people if not p.archived),
                      key=lambda p: (p.kind != "resident", -(p.pgy or 0), p.name))

    def reload(self) -> None:
        ctx = self.session.ctx
        if ctx is None:
            return
        from core.services import absences

        self.session.app.workers.start("absences", lambda **_: absences.list_absences(ctx), on_finished=self._loaded,
                                       on_failed=lambda e: self.show_error(user_message(e)))

    def _loaded(self, records: list[Any]) -> None:
        if not self.loaded:
            self.model.reset(records)
            self.loaded = True
        else:
            self.model.sync(records)
        self.show_strip(self.strip_start)

    def _filter(self) -> None:
        self.proxy.set_filter(person_id=self.person.currentData(), status=self.status.currentData() or "")
        self.show_strip(self.strip_start)

    def move_strip(self, days: int) -> None:
        self.show_strip(self.strip_start + dt.timedelta(days=days))

    def show_strip(self, start: dt.date) -> None:
        self.strip_start = start
        pid = self.person.currentData()
        people = [(p.id, p.name) for p in self._people() if pid is None or p.id == pid]
        self.strip.set_strip(people, start, STRIP_DAYS, self.model.rows)
        end = start + dt.timedelta(days=STRIP_DAYS - 1)
        self.strip_title.setText(f"{start:%a %b %d} – {end:%a %b %d %Y} (V vacation, C conference, S sick…; "
                                 "yellow approved, blue pending)")

    # ------------------------------------------------------------------------------- messages
    def show_error(self, text: str) -> None:
        self.message.setStyleSheet("QLabel { color: #c00000; }")
        self.message.setText(text)

    def show_info(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    # ------------------------------------------------------------------------------- actions
    def selected(self) -> Any:
        index = self.view.currentIndex()
        if not index.isValid():
            rows = self.view.selectionModel().selectedRows()
            if not rows:
                return None
            index = rows[0]
        return self.proxy.data(index.siblingAtColumn(0), RecordRole)

    def select(self, absence_id: str) -> None:
        row = self.model.row_of(absence_id)
        if row >= 0:
            self.view.setCurrentIndex(self.proxy.mapFromSource(self.model.index(row, 0)))

    def _write(self, fn: Callable[[Any, str | None], Any], text: str, done: Callable[[Any], None],
               reason: str | None = None) -> None:
        """Run `fn(ctx, reason)` on the writer; a refusal is shown in the message line."""
        from core.services.schedule import ReasonRequired

        def finished(result: Any) -> None:
            done(result.value)
            self.reload()

        def failed(exc: BaseException) -> bool:
            if isinstance(exc, ReasonRequired) and reason is None:  # inside the freeze horizon: ask why
                self.session.reason_needed.emit(lambda r: self._write(fn, text, done, r), str(exc))
                return True
            self.show_error(user_message(exc))
            return True

        # Absence decisions are undone by their own transitions (cancel), not by Edit > Undo.
        self.session.write(lambda c: fn(c, reason), text=text, undoable=False, on_done=finished, on_failed=failed)

    def request(self) -> None:
        if self.session.data is None:
            return
        day = self.session.block.block.start if self.session.block is not None else self.session.app.today()
        dialog = AbsenceRequestDialog(self.session, self._people(), self.person.currentData(), day, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.submit_request(*dialog.values(), projection=dialog.projection.text())

    def submit_request(self, person_id: str, type_: str, start: dt.date, end: dt.date, blocking: bool = True,
                       note: str | None = None, *, projection: str = "") -> None:
        from core.services import absences

        def done(rec: Any) -> None:
            self.show_info(f"Requested {rec.type} {rec.start:%b %d} – {rec.end:%b %d}; it waits for approval. "
                           + projection)

        self._write(lambda c, _r: absences.request_absence(c, person_id, type_, start, end, blocking=blocking,
                                                        note=note), "Request an absence", done)

    def _need(self) -> Any:
        rec = self.selected()
        if rec is None:
            self.show_error("Select an absence first.")
        return rec

    def approve(self) -> None:
        rec = self._need()
        if rec is None:
            return
        from core.services import absences

        aid = rec.id
        self._write(lambda c, r: absences.approve_absence(c, aid, reason=r), "Approve an absence",
                    self._approved)

    def _approved(self, outcome: Any) -> None:
        emptied = outcome.emptied
        ab = outcome.absence
        name = self.model.names.get(ab.person_id, "someone")
        if not emptied:
            self.show_info(f"Approved. It empties nothing in {name}'s schedule.")
            self.cover.reset([])
            self.cover_title.setText(f"{name}'s absence emptied no slot or call.")
            return
        self.show_info(f"Approved. It emptied {len(emptied)} slot(s) or call(s) of {name}; proposed cover below.")
        self.cover_title.setText(f"Finding cover for {len(emptied)} slot(s) and call(s) of {name}…")
        self.cover.reset([])
        ctx, data = self.session.ctx, self.session.data
        if ctx is None or data is None:
            return
        program_id = data.program.id

        def shown(rows: list[CoverRow]) -> None:
            self.cover.reset(rows)
            covered = sum(1 for r in rows if r.proposals)
            self.cover_title.setText(f"{name}'s absence {ab.start:%b %d} – {ab.end:%b %d} emptied {len(rows)} "
                                     f"slot(s) and call(s); cover proposed for {covered} (free, eligible and "
                                     "compliant after the change; fewest half-days worked first).")

        self.session.app.workers.start("absence-cover", propose_cover, ctx, program_id, tuple(emptied),
                                       on_finished=shown, on_failed=lambda e: self.show_error(user_message(e)))

    def deny(self) -> None:
        rec = self._need()
        if rec is None:
            return
        from core.services import absences

        aid = rec.id
        self._write(lambda c, r: absences.deny_absence(c, aid, reason=r), "Deny an absence",
                    lambda _r: self.show_info("Denied."))

    def cancel(self) -> None:
        rec = self._need()
        if rec is None:
            return
        from core.services import absences

        aid = rec.id
        self._write(lambda c, r: absences.cancel_absence(c, aid, reason=r), "Cancel an absence",
                    lambda r: self.show_info("Cancelled." + (" The slots it emptied stay as leave; re-plan them."
                                                             if rec.status == "approved" else "")))
