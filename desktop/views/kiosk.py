"""Kiosk mode for shared computers in on-call rooms (issue #9 item 4).

Read-only without any sign-in: today's schedule, tonight's call, and one person's week. Acting
(e.g. syncing as oneself) needs a per-person sign-in; the kiosk signs that person out after an idle
time (QSettings `kiosk/idle_minutes`, default 5), and signing out deletes that person's credential
from this machine (`core.sync.auth.Credentials.sign_out`: keyring entry removed, token revoked on
the server when reachable). The password is never kept.

The network never runs on the GUI thread: the sign-in runs in a background worker
(`desktop.workers`) while a busy bar shows and the sign-in controls wait; an unreachable server is
reported in a sentence and the kiosk stays read-only. Signing out deletes the credential at once and
tells the server in the background. A sign-in still running when the kiosk closes (or is abandoned)
is signed out again as soon as it returns, so no credential is left behind.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import httpx
from PySide6.QtCore import QEvent, QObject, QSettings, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.calendar import academic_year_of
from core.errors import Cancelled
from core.services import catalog, people, schedule
from core.services.base import ServiceContext
from core.sync.auth import Credentials, SyncError
from desktop.workers import WorkerManager

IDLE_KEY = "kiosk/idle_minutes"
DEFAULT_IDLE_MINUTES = 5
SLOTS = ("AM", "PM")
CALL_NAMES = {"in_house": "in-house", "home": "home", "backup": "backup"}

SignIn = Callable[[str, str], Credentials]
"""(user name, password) -> signed-in Credentials; raises core.errors / SyncError with a sentence."""


def idle_minutes(settings: QSettings) -> float:
    try:
        value = float(settings.value(IDLE_KEY, DEFAULT_IDLE_MINUTES))
    except (TypeError, ValueError):
        value = DEFAULT_IDLE_MINUTES
    return value if value > 0 else DEFAULT_IDLE_MINUTES


def failure_sentence(error: BaseException) -> str:
    """What the kiosk says when a sign-in fails."""
    if isinstance(error, SyncError) and isinstance(error.__cause__, httpx.TransportError):
        return ("Not signed in: the sync server cannot be reached (this computer may be offline). "
                "The kiosk stays read-only; try again later.")
    return f"Not signed in: {error}"


class _Attempt:
    """One sign-in in flight; `abandoned` once the kiosk no longer wants its result."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.abandoned = threading.Event()


class KioskView(QWidget):
    signed_in = Signal(str)
    signed_out = Signal(str)

    def __init__(self, ctx: ServiceContext, program_id: str, *, settings: QSettings,
                 sign_in: SignIn | None = None, today: Callable[[], dt.date] = dt.date.today,
                 workers: WorkerManager | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.program_id = program_id
        self.settings = settings
        self._sign_in = sign_in
        self._today = today
        self.credentials: Credentials | None = None
        self._attempt: _Attempt | None = None
        if workers is None:  # a kiosk of its own (no main window): its own pools
            writer = QThreadPool(self)
            writer.setMaxThreadCount(1)
            workers = WorkerManager(QThreadPool(self), writer, self)
        self.workers = workers
        self.setAccessibleName("Kiosk")

        self.title = QLabel(self)
        self.today_table = self._table(("Person", "AM", "PM"), "Today's schedule")
        self.call_label = QLabel(self)
        self.call_label.setAccessibleName("Tonight's call")
        self.call_label.setWordWrap(True)
        self.person = QComboBox(self)
        self.person.setAccessibleName("Whose week")
        self.week_table = self._table(("Day", "AM", "PM", "Call"), "One person's week")
        self.person.currentIndexChanged.connect(lambda _i: self.show_week())

        self.user = QLineEdit(self)
        self.user.setAccessibleName("User name")
        self.password = QLineEdit(self)
        self.password.setAccessibleName("Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = QPushButton("Sign in to act", self)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.sign_out_button = QPushButton("Sign out", self)
        self.sign_out_button.clicked.connect(lambda: self.sign_out("You signed out."))
        self.status = QLabel("Read-only: nobody is signed in.", self)
        self.status.setAccessibleName("Kiosk sign-in status")
        self.status.setWordWrap(True)
        self.busy = QProgressBar(self)  # shown while a sign-in waits for the server
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setAccessibleName("Signing in")
        self.busy.hide()

        form = QFormLayout()
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.sign_out_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.today_table, 1)
        layout.addWidget(QLabel("Tonight's call", self))
        layout.addWidget(self.call_label)
        layout.addWidget(self.person)
        layout.addWidget(self.week_table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.busy)
        layout.addWidget(self.status)

        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.timeout.connect(lambda: self.sign_out("Signed out after the idle time."))
        self._watching: list[QObject] = []
        self._watch(self)
        self._update_buttons()
        self.refresh()

    # ------------------------------------------------------------------------------ read-only
    def _table(self, headers: tuple[str, ...], name: str) -> QTableWidget:
        t = QTableWidget(0, len(headers), self)
        t.setHorizontalHeaderLabels(list(headers))
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setAccessibleName(name)
        t.verticalHeader().hide()
        return t

    @staticmethod
    def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
        table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                table.setItem(i, j, QTableWidgetItem(text))

    def refresh(self) -> None:
        day = self._today()
        self.title.setText(f"Today: {day:%A %d %B %Y}")
        self._people = {p.id: p for p in people.list_people(self.ctx, self.program_id, academic_year_of(day))}
        self._codes = {a.id: a.code for a in catalog.list_activities(self.ctx, self.program_id,
                                                                     include_archived=True)}
        cells: dict[str, list[str]] = {}
        for a in schedule.assignments_between(self.ctx, day, day):
            if a.person_id in self._people:
                cells.setdefault(a.person_id, ["", ""])[a.slot] = self._codes.get(a.activity_id, "?")
        rows = [[self._people[pid].name, *cells[pid]] for pid in sorted(cells, key=lambda p: self._people[p].name)]
        self._fill(self.today_table, rows)
        calls = [c for c in schedule.calls_between(self.ctx, day, day) if c.person_id in self._people]
        self.call_label.setText("; ".join(f"{self._people[c.person_id].name} ({CALL_NAMES.get(c.call_type, c.call_type)})"
                                          for c in sorted(calls, key=lambda c: self._people[c.person_id].name))
                                or "Nobody is on call tonight.")
        current = self.person.currentData()
        self.person.blockSignals(True)
        self.person.clear()
        for p in sorted(self._people.values(), key=lambda p: p.name):
            self.person.addItem(p.name, p.id)
        if current is not None and self.person.findData(current) >= 0:
            self.person.setCurrentIndex(self.person.findData(current))
        self.person.blockSignals(False)
        self.show_week()

    def show_week(self) -> None:
        pid = self.person.currentData()
        day = self._today()
        monday = day - dt.timedelta(days=day.weekday())
        sunday = monday + dt.timedelta(days=6)
        rows = {monday + dt.timedelta(days=i): ["", "", ""] for i in range(7)}
        if pid is not None:
            for a in schedule.assignments_between(self.ctx, monday, sunday, person_id=pid):
                rows[a.date][a.slot] = self._codes.get(a.activity_id, "?")
            for c in schedule.calls_between(self.ctx, monday, sunday):
                if c.person_id == pid:
                    rows[c.date][2] = CALL_NAMES.get(c.call_type, c.call_type)
        self._fill(self.week_table, [[f"{d:%a %d %b}", *cells] for d, cells in sorted(rows.items())])

    # ------------------------------------------------------------------------------- sign-in
    def sign_in(self) -> None:
        """Start signing in the typed user in the background (the window stays responsive)."""
        user, password = self.user.text().strip(), self.password.text()
        self.password.clear()  # never kept, whatever happens
        if self._attempt is not None:
            return  # one sign-in at a time (the button is disabled meanwhile)
        if self._sign_in is None:
            self.status.setText("No sync server is linked on this computer; the kiosk stays read-only.")
            return
        if not user or not password:
            self.status.setText("Type your user name and password to sign in.")
            return
        if self.credentials is not None:
            self.sign_out("")
        attempt = self._attempt = _Attempt(user)
        sign_in = self._sign_in

        def task(*, progress: Any, cancelled: Callable[[], bool]) -> Credentials:
            creds = sign_in(user, password)
            if attempt.abandoned.is_set() or cancelled():
                creds.sign_out()  # nobody waits for this sign-in any more: leave nothing behind
                raise Cancelled()
            return creds

        self.workers.start("", task, on_finished=lambda creds: self._signed_in(attempt, creds),
                           on_failed=lambda error: self._sign_in_failed(attempt, error))
        self.status.setText(f"Signing in as {user}...")
        self._update_buttons()

    def _signed_in(self, attempt: _Attempt, creds: Credentials) -> None:
        if attempt is not self._attempt or attempt.abandoned.is_set():
            self._discard(creds)  # the kiosk moved on (closed, or signed out) meanwhile
            return
        self._attempt = None
        self.credentials = creds
        minutes = idle_minutes(self.settings)
        self.status.setText(f"Signed in as {attempt.user}; signed out after {minutes:g} minutes without activity.")
        self.idle_timer.start(int(minutes * 60_000))
        self._update_buttons()
        self.signed_in.emit(attempt.user)

    def _sign_in_failed(self, attempt: _Attempt, error: BaseException) -> None:
        if attempt is not self._attempt:
            return
        self._attempt = None
        self.status.setText(failure_sentence(error))
        self._update_buttons()

    def _discard(self, creds: Credentials) -> None:
        """Delete a credential from this machine now; tell the server in the background."""
        token = creds.forget()
        if token is not None:
            self.workers.start("", lambda **_: creds.revoke(token))

    def sign_out(self, why: str = "You signed out.") -> None:
        creds, self.credentials = self.credentials, None
        self.idle_timer.stop()
        if creds is not None:
            self._discard(creds)  # deletes this person's credential from the machine
            self.signed_out.emit(creds.username)
        self.user.clear()
        self.password.clear()
        if why:
            self.status.setText(f"{why} Read-only: nobody is signed in.")
        self._update_buttons()

    def _update_buttons(self) -> None:
        signed = self.credentials is not None
        waiting = self._attempt is not None
        self.busy.setVisible(waiting)
        self.sign_out_button.setEnabled(signed)
        self.sign_in_button.setEnabled(not signed and not waiting)
        self.user.setEnabled(not waiting)
        self.password.setEnabled(not waiting)

    # ---------------------------------------------------------------------------- idle time
    def _watch(self, widget: QWidget) -> None:
        for w in [widget, *widget.findChildren(QWidget)]:
            w.installEventFilter(self)
            self._watching.append(w)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if self.credentials is not None and event.type() in _ACTIVITY:
            self.idle_timer.start(int(idle_minutes(self.settings) * 60_000))
        return False

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        if self._attempt is not None:
            self._attempt.abandoned.set()  # its credential is deleted as soon as it arrives
            self._attempt = None
        self.sign_out("")
        super().closeEvent(event)


_ACTIVITY = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                       QEvent.Type.Wheel})


def open_kiosk(window: Any) -> KioskView | None:
    """The main window's "Kiosk mode": the kiosk in its own window over the open program.

    Sign-in goes to the server this program last synced with (none linked: read-only only).
    """
    from core.sync.auth import CredentialStore
    from core.sync.client import get_state, http_client

    session = window.session
    if session.ctx is None or session.data is None:
        window.show_message("Open a program first.")
        return None
    with session.ctx.sessions() as s:
        server = get_state(s, "last_server")
    sign_in: SignIn | None = None
    if server:
        http = http_client(server, timeout=15.0)
        store = CredentialStore()

        def sign_in(user: str, password: str) -> Credentials:
            creds = Credentials(http, server, user, store)
            creds.sign_in(password)
            return creds

    kiosk = KioskView(session.ctx, session.data.program.id, settings=window.app.settings, sign_in=sign_in,
                      workers=window.app.workers)
    kiosk.setWindowTitle("Residency Scheduler - kiosk")
    kiosk.resize(900, 700)
    kiosk.show()
    return kiosk
