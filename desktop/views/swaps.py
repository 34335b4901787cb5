"""The Swaps page: the marketplace of open offers (with "only what I can take" and the ranked
candidates of the selected offer), my requests (incoming and outgoing: accept, decline, cancel),
the coordinator's approval queue (approve, execute, override a critical problem with a reason),
history (roll back), and the notifications of the acting person.

"Acting as" chooses whose view this is: a person (their requests, the offers they can take) or
the coordinator (everything; accepting or declining on behalf of the named counterpart). The
sync/roles work will bind it to the signed-in user. Every action is a core service run on the
writer pool through the session; a refusal from the core is shown, as its sentence, in the
page's message line and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QShowEvent
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import SchedulerError
from desktop.models.swaps import CandidatesModel, SwapFilterProxy, SwapRow, SwapsModel, items_text
from desktop.program import ProgramData, ProgramSession, user_message
from desktop.views.notifications import NotificationsPanel

OPEN = ("requested", "accepted", "approved")
REFRESH_DELAY_MS = 150  # a burst of writes (a grid fill, an import) gives one refresh
CLOSED = ("executed", "rolled_back", "declined", "cancelled", "expired")
SHAPES = (("call", "Call night"), ("am", "Half-day (AM)"), ("pm", "Half-day (PM)"), ("day", "Day (AM + PM)"),
          ("week", "Week of service (with its calls)"))
KINDS = (("trade", "Two-way trade"), ("giveaway", "Give-away"), ("pool", "Pool offer (anyone trades back)"),
         ("open_shift", "Open shift (anyone may claim)"))


# ------------------------------------------------------------------------------------ values
@dataclass(frozen=True)
class ShiftSpec:
    """A shift as the dialog names it; `items` resolves it (a week reads the person's schedule)."""

    shape: str  # call | am | pm | day | week
    date: dt.date

    def items(self, ctx: Any, person_id: str) -> tuple[Any, ...]:
        from core.services.swaps import ShiftItem, day_shift, week_shift

        if self.shape == "call":
            return (ShiftItem(self.date),)
        if self.shape in ("am", "pm"):
            return (ShiftItem(self.date, 0 if self.shape == "am" else 1),)
        if self.shape == "day":
            return day_shift(self.date)
        return week_shift(ctx, person_id, self.date)


@dataclass(frozen=True)
class NewSwap:
    kind: str
    requester_id: str
    counterpart_id: str | None
    give: ShiftSpec
    take: ShiftSpec | None
    note: str | None

    def request(self, ctx: Any) -> Any:
        """Resolve the shifts and make the request (writer thread)."""
        from core.services import swaps

        give = self.give.items(ctx, self.requester_id)
        take = self.take.items(ctx, self.counterpart_id) if self.take is not None and self.counterpart_id else ()
        return swaps.request_swap(ctx, self.kind, self.requester_id, give, take=take,
                                  counterpart_id=self.counterpart_id, note=self.note)


@dataclass(frozen=True)
class SwapsData:
    rows: tuple[SwapRow, ...]
    can_take: frozenset[str] | None  # open offers the acting person can take (None: coordinator view)
    acting: str | None


def read_swaps(ctx: Any, acting: str | None, **_: Any) -> SwapsData:
    """Every swap with fresh checks for the open ones (worker thread)."""
    from core.services import swaps

    rows = []
    for r in swaps.list_swaps(ctx):
        problems, checked = tuple(r.problems), False
        if r.status in OPEN:
            who = r.counterpart_id
            if who is None and acting is not None and acting != r.requester_id:
                who = acting  # an offer: checked as if the acting person took it
            if who is not None:
                try:
                    problems, checked = swaps.check_swap(ctx, r.id, counterpart_id=who).problems, True
                except SchedulerError:
                    pass
        rows.append(SwapRow(r, tuple(problems), checked))
    can_take = frozenset(s.id for s in swaps.open_offers_for(ctx, acting)) if acting else None
    return SwapsData(tuple(rows), can_take, acting)


# ------------------------------------------------------------------------------------ widgets
def _date_edit(parent: QWidget, day: dt.date) -> QDateEdit:
    edit = QDateEdit(QDate(day.year, day.month, day.day), parent)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("ddd d MMM yyyy")
    return edit


class ShiftChooser(QWidget):
    """What kind of shift (call night, half-day, day, week) and its (first) day."""

    def __init__(self, day: dt.date, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shape = QComboBox(self)
        self.shape.setAccessibleName(f"{name}: kind of shift")
        for key, label in SHAPES:
            self.shape.addItem(label, key)
        self.date = _date_edit(self, day)
        self.date.setAccessibleName(f"{name}: day")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.shape)
        lay.addWidget(self.date)

    def set(self, shape: str, day: dt.date) -> None:
        self.shape.setCurrentIndex(self.shape.findData(shape))
        self.date.setDate(QDate(day.year, day.month, day.day))

    def value(self) -> ShiftSpec:
        return ShiftSpec(str(self.shape.currentData()), self.date.date().toPython())  # type: ignore[arg-type]


def _people_combo(parent: QWidget, people: Any, name: str) -> QComboBox:
    combo = QComboBox(parent)
    combo.setAccessibleName(name)
    for p in people:
        combo.addItem(p.name, p.id)
    return combo


class NewSwapDialog(QDialog):
    """Kind, people and shifts of a new swap request."""

    def __init__(self, people: Any, requester_id: str | None, day: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New swap")
        self.kind = QComboBox(self)
        self.kind.setAccessibleName("Kind of swap")
        for key, label in KINDS:
            self.kind.addItem(label, key)
        self.requester = _people_combo(self, people, "Who gives the shift")
        if requester_id is not None:
            self.requester.setCurrentIndex(max(0, self.requester.findData(requester_id)))
        self.counterpart = _people_combo(self, people, "With whom")
        self.counterpart.setCurrentIndex(1 if self.counterpart.count() > 1 else 0)
        self.give = ShiftChooser(day, "Gives", self)
        self.take = ShiftChooser(day, "Takes back", self)
        self.note = QLineEdit(self)
        self.note.setAccessibleName("Note")
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow("&Kind:", self.kind)
        form.addRow("&Gives:", self.requester)
        form.addRow("the shift:", self.give)
        form.addRow("&To / with:", self.counterpart)
        form.addRow("and takes back:", self.take)
        form.addRow("&Note:", self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Request")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.hint)
        lay.addWidget(self.buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.counterpart.setEnabled(kind in ("trade", "giveaway"))
        self.take.setEnabled(kind == "trade")
        self.hint.setText({
            "trade": "Both shifts are checked for both people before acceptance and before execution.",
            "giveaway": "The other person must accept; nothing is given back.",
            "pool": "Offered to anyone who trades something back; the candidates are ranked for you.",
            "open_shift": "Anyone eligible may claim it; you stay responsible until it is taken.",
        }[str(kind)])

    def value(self) -> NewSwap:
        kind = str(self.kind.currentData())
        named = kind in ("trade", "giveaway")
        note = self.note.text().strip() or None
        return NewSwap(kind, str(self.requester.currentData()), str(self.counterpart.currentData()) if named else None,
                       self.give.value(), self.take.value() if kind == "trade" else None, note)


class GiveBackDialog(QDialog):
    """What the person taking a pool offer gives back."""

    def __init__(self, offer: str, day: dt.date, shape: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Take a pool offer")
        self.chooser = ShiftChooser(day, "Gives back", self)
        self.chooser.set(shape, day)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"You take {offer}. Which shift do you give back?", self))
        lay.addWidget(self.chooser)
        lay.addWidget(buttons)


def _table(parent: QWidget, name: str, model: Any) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setAccessibleName(name)
    view.setModel(model)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.horizontalHeader().setStretchLastSection(True)
    view.verticalHeader().hide()
    view.setWordWrap(False)
    return view


# ------------------------------------------------------------------------------------ page
class SwapsPage(QWidget):
    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.acting_id: str | None = None
        self.data: SwapsData | None = None
        self.model = SwapsModel(self)

        # top: acting person, new swap, refresh; the message line
        self.acting = QComboBox(self)
        self.acting.setObjectName("actingAs")
        self.acting.setAccessibleName("Acting as")
        self.new_button = QPushButton("&New swap…", self)
        self.refresh_button = QPushButton("Refresh", self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Acting as:", self))
        top.addWidget(self.acting)
        top.addStretch(1)
        top.addWidget(self.new_button)
        top.addWidget(self.refresh_button)
        self.message = QLabel(self)
        self.message.setObjectName("swapsMessage")
        self.message.setAccessibleName("Swaps messages")
        self.message.setWordWrap(True)

        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Swaps")
        # marketplace
        self.market_proxy = SwapFilterProxy(("requested",), ("pool", "open_shift"), self)
        self.market_proxy.setSourceModel(self.model)
        self.market_view = _table(self, "Open offers", self.market_proxy)
        self.only_mine = QCheckBox("Only what I can &take", self)
        self.take_button = QPushButton("Take / claim…", self)
        self.candidates = CandidatesModel(self)
        self.candidates_view = _table(self, "Candidates", self.candidates)
        self.candidates_view.setSortingEnabled(False)
        self.candidates_title = QLabel("Select a pool offer or an open shift to see who could take it.", self)
        self.candidates_title.setWordWrap(True)
        market = QWidget(self)
        ml = QVBoxLayout(market)
        row = QHBoxLayout()
        row.addWidget(self.only_mine)
        row.addStretch(1)
        row.addWidget(self.take_button)
        ml.addLayout(row)
        split = QSplitter(Qt.Orientation.Vertical, market)
        split.addWidget(self.market_view)
        cand = QWidget(split)
        cl = QVBoxLayout(cand)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.candidates_title)
        cl.addWidget(self.candidates_view, 1)
        split.addWidget(cand)
        ml.addWidget(split, 1)
        self.tabs.addTab(market, "Marketplace")
        # my requests
        self.mine_proxy = SwapFilterProxy(OPEN, (), self)
        self.mine_proxy.setSourceModel(self.model)
        self.mine_view = _table(self, "My requests", self.mine_proxy)
        self.accept_button = QPushButton("&Accept", self)
        self.decline_button = QPushButton("&Decline", self)
        self.cancel_button = QPushButton("&Cancel request", self)
        self.tabs.addTab(self._tab(self.mine_view, self.accept_button, self.decline_button, self.cancel_button),
                         "My requests")
        # approval queue
        self.queue_proxy = SwapFilterProxy(("accepted", "approved"), (), self)
        self.queue_proxy.setSourceModel(self.model)
        self.queue_view = _table(self, "Approval queue", self.queue_proxy)
        self.approve_button = QPushButton("A&pprove", self)
        self.execute_button = QPushButton("E&xecute", self)
        self.override = QCheckBox("Override a critical problem, reason:", self)
        self.override_reason = QLineEdit(self)
        self.override_reason.setAccessibleName("Reason for the override")
        self.override_reason.setPlaceholderText("kept in the audit log")
        self.tabs.addTab(self._tab(self.queue_view, self.override, self.override_reason, self.approve_button,
                                   self.execute_button), "Approval queue")
        # history
        self.history_proxy = SwapFilterProxy(CLOSED, (), self)
        self.history_proxy.setSourceModel(self.model)
        self.history_view = _table(self, "Swap history", self.history_proxy)
        self.rollback_button = QPushButton("&Roll back", self)
        self.tabs.addTab(self._tab(self.history_view, self.rollback_button), "History")
        # notifications
        self.notifications = NotificationsPanel(session, self)
        self.tabs.addTab(self.notifications, "Notifications")

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.message)
        lay.addWidget(self.tabs, 1)

        self.acting.currentIndexChanged.connect(self._acting_changed)
        self.new_button.clicked.connect(self.new_swap)
        self.refresh_button.clicked.connect(self.reload)
        self.only_mine.toggled.connect(lambda _on: self._filter())
        self.take_button.clicked.connect(self.take_offer)
        self.accept_button.clicked.connect(self.accept)
        self.decline_button.clicked.connect(self.decline)
        self.cancel_button.clicked.connect(self.cancel)
        self.approve_button.clicked.connect(self.approve)
        self.execute_button.clicked.connect(self.execute)
        self.rollback_button.clicked.connect(self.rollback)
        self.market_view.selectionModel().currentRowChanged.connect(self._offer_changed)
        self.notifications.unread_changed.connect(self._unread)
        # Live refresh: any committed write (this page's, another view's, an undo) reads the swaps
        # and their checks again on a worker, a burst of writes coalesced into one read; while
        # the page is hidden it only notes it and reads on show.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.reload)
        self._stale = False
        session.data_changed.connect(self._data_changed)
        session.opened.connect(self._opened)
        session.catalog_changed.connect(self._fill_people)
        if session.data is not None:
            self._opened(session.data)
        self._enable()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.data is not None:  # swaps made elsewhere (another window, rsched) show on return
            self.reload()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._refresh_timer.stop()
        super().closeEvent(event)

    def _data_changed(self, _changes: Any) -> None:
        if self.session.ctx is None or self.data is None:
            return  # nothing shown yet: the first read follows the program's opening
        if not self.isVisible():
            self._stale = True  # read when shown again (showEvent)
            return
        self._refresh_timer.start()  # (re)started: one read after the last write of a burst

    def _tab(self, view: QTableView, *widgets: QWidget) -> QWidget:
        w = QWidget(self)
        lay = QVBoxLayout(w)
        lay.addWidget(view, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        for x in widgets:
            row.addWidget(x)
        lay.addLayout(row)
        return w

    # ------------------------------------------------------------------------------- people
    def _opened(self, data: ProgramData) -> None:
        self._fill_people(data)
        self.reload()

    def _fill_people(self, data: ProgramData) -> None:
        self.acting.blockSignals(True)
        self.acting.clear()
        self.acting.addItem("Coordinator (everyone)", None)
        for p in sorted(data.people, key=lambda p: (p.kind != "resident", -(p.pgy or 0), p.name)):
            if not p.archived:
                self.acting.addItem(p.name, p.id)
        self.acting.setCurrentIndex(max(0, self.acting.findData(self.acting_id)))
        self.acting.blockSignals(False)
        self.model.set_names({p.id: p.name for p in data.people})

    def set_acting(self, person_id: str | None) -> None:
        """Act as this person (None: the coordinator)."""
        i = self.acting.findData(person_id)
        if i < 0:
            raise ValueError(f"unknown person {person_id!r}")
        self.acting.setCurrentIndex(i)

    def _acting_changed(self) -> None:
        self.acting_id = self.acting.currentData()
        self.only_mine.setChecked(False)
        self.reload()

    def _people(self) -> list[Any]:
        data = self.session.data
        return [p for p in data.people if not p.archived] if data is not None else []

    # ------------------------------------------------------------------------------- loading
    def reload(self) -> None:
        ctx = self.session.ctx
        if ctx is None:
            return
        self._refresh_timer.stop()
        self._stale = False
        acting = self.acting_id
        self.session.app.workers.start("swaps", read_swaps, ctx, acting, on_finished=self._loaded,
                                       on_failed=lambda e: self.show_error(user_message(e)))
        self.notifications.set_person(acting)

    def _loaded(self, data: SwapsData) -> None:
        if data.acting != self.acting_id:
            return
        first = self.data is None or self.data.acting != data.acting
        self.data = data
        if first:
            self.model.reset(data.rows)
        else:
            self.model.sync(data.rows)
        self._filter()

    def _filter(self) -> None:
        acting = self.acting_id
        can_take = self.data.can_take if self.data is not None else None
        self.only_mine.setEnabled(acting is not None)
        allowed = set(can_take) if acting is not None and self.only_mine.isChecked() and can_take is not None else None
        self.market_proxy.set_filter(allowed=allowed)
        self.mine_proxy.set_filter(person_id=acting)
        self.history_proxy.set_filter(person_id=acting)
        n_take = len(can_take) if can_take is not None else 0
        self.tabs.setTabText(0, f"Marketplace ({self.market_proxy.rowCount()})" + (
            f", {n_take} you can take" if acting is not None else ""))
        self.tabs.setTabText(1, f"My requests ({self.mine_proxy.rowCount()})")
        self.tabs.setTabText(2, f"Approval queue ({self.queue_proxy.rowCount()})")
        self._enable()

    def _enable(self) -> None:
        coordinator = self.acting_id is None
        for w in (self.approve_button, self.execute_button, self.override, self.override_reason, self.rollback_button):
            w.setEnabled(coordinator)
        self.take_button.setEnabled(not coordinator)
        self.new_button.setEnabled(self.session.data is not None)

    def _unread(self, n: int) -> None:
        self.tabs.setTabText(4, f"Notifications ({n})" if n else "Notifications")

    # ------------------------------------------------------------------------------- messages
    def show_error(self, text: str) -> None:
        self.message.setStyleSheet("QLabel { color: #c00000; }")
        self.message.setText(text)

    def show_info(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    # ------------------------------------------------------------------------------- selection
    @staticmethod
    def selected(view: QTableView) -> SwapRow | None:
        from desktop.models.records import RecordRole

        index = view.currentIndex()
        if not index.isValid():
            rows = view.selectionModel().selectedRows()
            if not rows:
                return None
            index = rows[0]
        row = view.model().data(index.siblingAtColumn(0), RecordRole)
        return row if isinstance(row, SwapRow) else None

    def _need(self, view: QTableView) -> SwapRow | None:
        row = self.selected(view)
        if row is None:
            self.show_error("Select a swap first.")
        return row

    # ------------------------------------------------------------------------------- writes
    def _write(self, fn: Callable[[Any], Any], text: str, done_text: Callable[[Any], str]) -> None:
        def done(result: Any) -> None:
            self.show_info(done_text(result.value))
            if result.changes.empty:  # otherwise the session's data_changed reads them again
                self.reload()

        def failed(exc: BaseException) -> bool:
            self.show_error(user_message(exc))
            self.reload()
            return True

        # Not on the undo stack: a swap is undone by its own transitions (decline, cancel, roll back).
        self.session.write(fn, text=text, undoable=False, on_done=done, on_failed=failed)

    def new_swap(self) -> None:
        if self.session.data is None:
            return
        dialog = NewSwapDialog(self._people(), self.acting_id, self._default_day(), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.request(dialog.value())

    def request(self, spec: NewSwap) -> None:
        self._write(spec.request, "Request a swap",
                    lambda r: f"Requested: {self.model.display(SwapRow(r), 0).lower()} of {items_text(r.give)}.")

    def _default_day(self) -> dt.date:
        block = self.session.block
        return block.block.start if block is not None else self.session.app.today()

    def _person_for(self, row: SwapRow, side: str) -> str | None:
        """The acting person, or (coordinator view) the person of that side of the swap."""
        if self.acting_id is not None:
            return self.acting_id
        pid = row.record.counterpart_id if side == "counterpart" else row.record.requester_id
        return None if pid is None else str(pid)

    def accept(self) -> None:
        row = self._need(self.mine_view)
        if row is None:
            return
        pid = self._person_for(row, "counterpart")
        if pid is None:
            self.show_error("An offer is taken from the marketplace by the person taking it (choose them in Acting as).")
            return
        self._accept(row, pid, ())

    def _accept(self, row: SwapRow, person_id: str, take: tuple[Any, ...]) -> None:
        from core.services import swaps

        sid = row.id
        self._write(lambda ctx: swaps.accept_swap(ctx, sid, person_id, take=take), "Accept a swap",
                    lambda r: f"Accepted. {self._next_step(r)}")

    @staticmethod
    def _next_step(r: Any) -> str:
        return "It waits for the coordinator's approval." if r.status == "accepted" else ""

    def take_offer(self) -> None:
        row = self._need(self.market_view)
        if row is None or self.acting_id is None:
            return
        if row.record.kind == "open_shift":
            self._accept(row, self.acting_id, ())
            return
        take = self.ask_give_back(row)
        if take is None:
            return
        pid = self.acting_id
        from core.services import swaps

        sid = row.id
        self._write(lambda c: swaps.accept_swap(c, sid, pid, take=take.items(c, pid)), "Take a pool offer",
                    lambda r: f"Taken. {self._next_step(r)}")

    def ask_give_back(self, row: SwapRow) -> ShiftSpec | None:
        """The shift the acting person gives back for a pool offer (the ranked give-back when known)."""
        first = row.record.give[0]
        shape = "call" if first.is_call else ("am" if first.slot == 0 else "pm")
        day = first.date
        mine = next((c for c in self.candidates.rows if c.person_id == self.acting_id), None)
        if mine is not None and mine.give_back is not None:
            day = mine.give_back.date
        dialog = GiveBackDialog(items_text(row.record.give), day, shape, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.chooser.value()

    def decline(self) -> None:
        row = self._need(self.mine_view)
        if row is None:
            return
        from core.services import swaps

        pid = self._person_for(row, "counterpart") or ""
        sid = row.id
        self._write(lambda ctx: swaps.decline_swap(ctx, sid, pid), "Decline a swap", lambda _r: "Declined.")

    def cancel(self) -> None:
        row = self._need(self.mine_view)
        if row is None:
            return
        from core.services import swaps

        pid = self._person_for(row, "requester") or ""
        sid = row.id
        self._write(lambda ctx: swaps.cancel_swap(ctx, sid, pid), "Cancel a swap", lambda _r: "Cancelled.")

    def approve(self) -> None:
        row = self._need(self.queue_view)
        if row is None:
            return
        from core.services import swaps

        sid, approver = row.id, self.session.app.actor
        self._write(lambda ctx: swaps.approve_swap(ctx, sid, approver=approver), "Approve a swap",
                    lambda _r: "Approved; it can be executed now.")

    def execute(self) -> None:
        row = self._need(self.queue_view)
        if row is None:
            return
        reason: str | None = None
        if self.override.isChecked():
            reason = self.override_reason.text().strip()
            if not reason:
                self.show_error("Give the reason for the override; it is kept in the audit log.")
                return
        from core.services import swaps

        sid = row.id
        self._write(lambda ctx: swaps.execute_swap(ctx, sid, override_reason=reason), "Execute a swap",
                    lambda r: "Executed" + (" with an override." if reason else ".") +
                    " It can be rolled back from History.")

    def rollback(self) -> None:
        row = self._need(self.history_view)
        if row is None:
            return
        from core.services import swaps

        sid = row.id
        self._write(lambda ctx: swaps.rollback_swap(ctx, sid), "Roll back a swap",
                    lambda _r: "Rolled back: the schedule is as it was before the swap.")

    # ------------------------------------------------------------------------------- candidates
    def _offer_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.selected(self.market_view) if current.isValid() else None
        ctx = self.session.ctx
        if row is None or ctx is None:
            self.candidates.reset([])
            return
        from core.services import swaps

        sid = row.id
        what = f"{self.model.display(row, 0).lower()} of {items_text(row.record.give)}"
        self.candidates_title.setText(f"Ranking who could take the {what}…")

        def shown(found: list[Any]) -> None:
            if self.selected(self.market_view) is None or self.selected(self.market_view).id != sid:  # type: ignore[union-attr]
                return
            self.candidates.reset(found)
            self.candidates_title.setText(
                f"Top {len(found)} candidate(s) for the {what}: compliant after the swap, then fairness, "
                "then date proximity." if found else f"Nobody can take the {what} without breaking a rule.")

        self.session.app.workers.start("swap-candidates", lambda **_: swaps.rank_candidates(ctx, sid),
                                       on_finished=shown, on_failed=lambda e: self.show_error(user_message(e)))
