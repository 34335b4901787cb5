"""What needs the user: an in-app list of their notices (a request made to them, an offer they
can take, an approval waiting, a swap accepted, executed or rolled back...), read/unread kept per
person in the database (core.services.swaps.notifications / mark_read), the unread count for the
status bar, and a desktop notification through the system tray when the window is in the
background. "An offer you can take" notices (one per open offer the person is eligible for and
compliant to take, as the marketplace's filter decides) are brought up to date on every load.

`person_id` None is the coordinators' queue (the notices addressed to no one person).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSystemTrayIcon,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.models.swaps import NoticesModel
from desktop.program import ProgramSession, user_message

# Platforms without a desktop to show a tray message on (tests run on "offscreen").
NO_TRAY_PLATFORMS = ("offscreen", "minimal")


def tray_available() -> bool:
    if QGuiApplication.platformName() in NO_TRAY_PLATFORMS:
        return False
    return QSystemTrayIcon.isSystemTrayAvailable()


class NotificationsPanel(QWidget):
    unread_changed = Signal(int)

    def __init__(self, session: ProgramSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.person_id: str | None = None
        self.model = NoticesModel(self)
        self.view = QTableView(self)
        self.view.setObjectName("noticesTable")
        self.view.setAccessibleName("Notifications")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().hide()
        self.title = QLabel(self)
        self.mark_button = QPushButton("Mark as &read", self)
        self.mark_button.setAccessibleName("Mark the selected notifications as read")
        self.mark_all_button = QPushButton("Mark &all read", self)
        # The count for the window's status bar (the main window adds it there).
        self.status_label = QLabel("", self)
        self.status_label.setAccessibleName("Unread notifications")
        self.status_label.hide()
        self.tray: QSystemTrayIcon | None = None
        self.desktop_messages: list[str] = []  # what was sent to the tray (kept for tests and the log)
        self._seen: set[str] | None = None  # notice ids already known (None before the first load)
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.mark_button)
        row.addWidget(self.mark_all_button)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.view, 1)
        self.mark_button.clicked.connect(self.mark_selected_read)
        self.mark_all_button.clicked.connect(lambda: self.mark_read([n.id for n in self.model.rows if not n.read]))
        self._show_count()

    # ------------------------------------------------------------------------------- loading
    def set_person(self, person_id: str | None) -> None:
        if person_id != self.person_id:
            self.person_id = person_id
            self._seen = None
            self.model.reset([])
        self.reload()

    def reload(self) -> None:
        ctx = self.session.ctx
        if ctx is None:
            return
        from core.services import swaps

        pid = self.person_id

        def read(**_: Any) -> tuple[str | None, list[Any], Any]:
            # A person's "an offer you can take" notices follow the open offers: worked out here
            # (a read), written on the writer pool only when something changes.
            changes = swaps.offer_notice_changes(ctx, pid) if pid is not None else None
            return pid, swaps.notifications(ctx, pid), changes

        self.session.app.workers.start("notices", read, on_finished=self._loaded,
                                       on_failed=lambda e: self.title.setText(user_message(e)))

    def _loaded(self, result: tuple[str | None, list[Any], Any]) -> None:
        pid, notices, changes = result
        if pid != self.person_id:  # the acting person changed meanwhile
            return
        ctx = self.session.ctx
        if changes is not None and not changes.empty and pid is not None and ctx is not None:
            from core.services import swaps

            # Notices only (no rows of the schedule): not on the undo stack, no data_changed.
            self.session.app.workers.start(
                "", lambda **_: swaps.apply_offer_notices(ctx, pid, changes), writer=True,
                on_finished=lambda _r: self.reload(), on_failed=lambda e: self.title.setText(user_message(e)))
        fresh = [n for n in notices if not n.read and self._seen is not None and n.id not in self._seen]
        self._seen = {n.id for n in notices}
        if not self.model.rows:
            self.model.reset(notices)
        else:
            self.model.sync(notices)
        self._show_count()
        if fresh:
            self.notify_desktop([n.text for n in fresh])

    def _show_count(self) -> None:
        n = self.model.unread
        who = "the coordinators" if self.person_id is None else "you"
        self.title.setText(f"{n} unread notification(s) for {who}." if n else f"Nothing new for {who}.")
        self.status_label.setText(f"{n} unread" if n else "")
        self.unread_changed.emit(n)

    # ------------------------------------------------------------------------------- read state
    def mark_selected_read(self) -> None:
        rows = {i.row() for i in self.view.selectionModel().selectedRows()}
        self.mark_read([self.model.rows[r].id for r in sorted(rows) if not self.model.rows[r].read])

    def mark_read(self, ids: list[str]) -> None:
        if not ids:
            return
        from core.services import swaps

        self.session.write(lambda ctx: swaps.mark_read(ctx, ids), text="Mark notifications read", undoable=False,
                           on_done=lambda _r: self.reload())

    # ------------------------------------------------------------------------------- desktop
    def notify_desktop(self, texts: list[str]) -> bool:
        """A tray message when the window is in the background and a tray exists; True if shown."""
        window = self.window()
        if window is not None and window.isActiveWindow():
            return False
        if not tray_available():
            return False
        if self.tray is None:
            self.tray = QSystemTrayIcon(window.windowIcon() if window is not None else QGuiApplication.windowIcon(),
                                        self)
            self.tray.show()
        text = texts[0] if len(texts) == 1 else f"{len(texts)} new notifications: {texts[0]}"
        self.tray.showMessage("Residency Scheduler", text, QSystemTrayIcon.MessageIcon.Information, 8000)
        self.desktop_messages.append(text)
        return True
