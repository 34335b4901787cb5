"""The Sync view: link to a server, sync now or every N minutes, pending count, last sync, the
conflicts panel, sign out (issue #9 item 3).

All network work (sign-in, sync, sign-out) runs in the background worker; offline or a failing
server only shows a sentence here and never blocks the window. The password is never stored: the
refresh token goes to keyring (core.sync.auth); without a keyring the notice says so.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.services.base import ServiceContext
from core.sync.auth import Credentials, CredentialStore
from core.sync.client import SyncClient, http_client, pending_count
from core.sync.conflicts import ConflictRecord, list_conflicts, resolve_conflict
from desktop.workers import WorkerManager

Index = QModelIndex | QPersistentModelIndex


class ConflictsModel(QAbstractTableModel):
    """Open conflicts and rejections: what, mine, the server's, who, why."""

    HEADERS = ("Kind", "Table", "Field: mine / server's", "Server change by", "Reason")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[ConflictRecord] = []

    def set_rows(self, rows: list[ConflictRecord]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        c = self.rows[index.row()]
        col = index.column()
        if col == 0:
            return c.kind
        if col == 1:
            return c.table.replace("_", " ")
        if col == 2:
            return "; ".join(f"{k}: {mine!s} / {theirs!s}" for k, mine, theirs in c.differences())
        if col == 3:
            when = f" at {c.server_at:%Y-%m-%d %H:%M}" if c.server_at else ""
            return f"{c.server_actor or '-'}{when}"
        return c.reason


class SyncView(QWidget):
    synced = Signal(object)  # the SyncReport, so other views can reload

    def __init__(self, ctx: ServiceContext, program_id: str, workers: WorkerManager,
                 store: CredentialStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.program_id = program_id
        self.workers = workers
        self.store = store or CredentialStore()
        self.credentials: Credentials | None = None
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://schedule.example.org")
        self.user = QLineEdit(self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.link_button = QPushButton("&Link and sign in", self)
        self.sync_button = QPushButton("&Sync now", self)
        self.sign_out_button = QPushButton("Sign &out", self)
        self.auto = QCheckBox("Sync automatically every", self)
        self.minutes = QSpinBox(self)
        self.minutes.setRange(1, 240)
        self.minutes.setValue(15)
        self.minutes.setSuffix(" min")
        self.pending_label = QLabel(self)
        self.last_label = QLabel("Not synced yet.", self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.notice = QLabel(self.store.notice() or "", self)
        self.notice.setWordWrap(True)
        self.model = ConflictsModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.mine_button = QPushButton("Keep &mine", self)
        self.theirs_button = QPushButton("Take &theirs", self)
        self.dismiss_button = QPushButton("&Dismiss", self)

        form = QFormLayout()
        form.addRow("Server", self.url)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        buttons = QHBoxLayout()
        for b in (self.link_button, self.sync_button, self.sign_out_button):
            buttons.addWidget(b)
        auto_row = QHBoxLayout()
        auto_row.addWidget(self.auto)
        auto_row.addWidget(self.minutes)
        auto_row.addStretch()
        resolve_row = QHBoxLayout()
        for b in (self.mine_button, self.theirs_button, self.dismiss_button):
            resolve_row.addWidget(b)
        resolve_row.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(auto_row)
        for w in (self.notice, self.pending_label, self.last_label, self.status):
            layout.addWidget(w)
        layout.addWidget(QLabel("Conflicts and refused changes", self))
        layout.addWidget(self.table)
        layout.addLayout(resolve_row)

        self.timer = QTimer(self)
        self.timer.timeout.connect(self.sync_now)
        self.link_button.clicked.connect(self.sign_in)
        self.sync_button.clicked.connect(self.sync_now)
        self.sign_out_button.clicked.connect(self.sign_out)
        self.auto.toggled.connect(self._auto_changed)
        self.minutes.valueChanged.connect(self._auto_changed)
        self.mine_button.clicked.connect(lambda: self._resolve("mine"))
        self.theirs_button.clicked.connect(lambda: self._resolve("theirs"))
        self.dismiss_button.clicked.connect(lambda: self._resolve("dismiss"))
        self.refresh()

    # ------------------------------------------------------------------------------- state
    def refresh(self) -> None:
        self.pending_label.setText(f"{pending_count(self.ctx.engine)} change(s) waiting to be sent.")
        self.model.set_rows(list_conflicts(self.ctx))
        busy = self.workers.running("sync") is not None
        self.sync_button.setEnabled(not busy)
        self.link_button.setEnabled(not busy)

    def _creds(self) -> Credentials:
        url, user = self.url.text().strip(), self.user.text().strip()
        if self.credentials is None or (self.credentials.server_url, self.credentials.username) != (url, user):
            if self.credentials is not None:
                self.credentials.http.close()
            self.credentials = Credentials(http_client(url), url, user, self.store)
        return self.credentials

    def _auto_changed(self, *_args: Any) -> None:
        if self.auto.isChecked():
            self.timer.start(self.minutes.value() * 60_000)
        else:
            self.timer.stop()

    # ------------------------------------------------------------------------------ actions
    def sign_in(self) -> None:
        if not self.url.text().strip() or not self.user.text().strip():
            self.status.setText("Give the server address and your user name.")
            return
        creds = self._creds()
        password = self.password.text()
        self.password.clear()  # never kept
        self.status.setText("Signing in…")

        def task(*, progress: Any, cancelled: Any) -> Any:
            creds.sign_in(password)
            return SyncClient(self.ctx.engine, creds, self.program_id).sync()

        self._start(task)

    def sync_now(self) -> None:
        if self.workers.running("sync") is not None:
            return
        if not self.url.text().strip() or not self.user.text().strip():
            self.status.setText("Link this computer to a server first.")
            return
        creds = self._creds()
        self.status.setText("Syncing…")

        def task(*, progress: Any, cancelled: Any) -> Any:
            return SyncClient(self.ctx.engine, creds, self.program_id).sync()

        self._start(task)

    def _start(self, task: Any) -> None:
        self.workers.start("sync", task, on_finished=self._done, on_failed=self._failed)
        self.refresh()

    def _done(self, report: Any) -> None:
        self.last_label.setText(f"Last sync {report.at:%Y-%m-%d %H:%M}: sent {report.pushed}, received "
                                f"{report.pulled}, {report.conflicts} conflict(s), {report.rejected} refused.")
        self.status.setText("")
        self.refresh()
        self.synced.emit(report)

    def _failed(self, error: BaseException) -> None:
        self.status.setText(str(error))
        self.refresh()

    def sign_out(self) -> None:
        creds = self._creds() if self.url.text().strip() and self.user.text().strip() else None
        self.timer.stop()
        self.auto.setChecked(False)
        if creds is None:
            return

        def task(*, progress: Any, cancelled: Any) -> Any:
            creds.sign_out()
            return None

        self.workers.start("sync-sign-out", task, on_finished=lambda _r: self.status.setText(
            "Signed out; the credential was removed from this computer."), on_failed=self._failed)

    def _resolve(self, choice: str) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.status.setText("Choose a conflict first.")
            return
        record = self.model.rows[rows[0].row()]
        try:
            resolve_conflict(self.ctx, record.id, choice)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a sentence for the user, the list stays
            self.status.setText(str(exc))
        self.refresh()
