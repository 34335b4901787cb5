"""Kiosk mode: read-only without sign-in; per-person sign-in in the background; idle sign-out
removes the credential."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QSettings, QThreadPool, QTimer

from core.services import catalog, people, programs, schedule
from core.services.base import ServiceContext
from core.services.schedule import CallEdit, SlotEdit
from core.store.db import open_database
from core.sync.auth import Credentials, CredentialStore
from desktop.views.kiosk import IDLE_KEY, KioskView
from desktop.workers import WorkerManager

TODAY = dt.date(2026, 9, 16)  # a Wednesday


class FakeServer:
    """The sign-in endpoints; `gate` (when set) holds every login until it opens; `offline` fails
    every request as an unreachable server does."""

    def __init__(self) -> None:
        self.logouts: list[str] = []
        self.gate: threading.Event | None = None
        self.login_arrived = threading.Event()
        self.offline = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.offline:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/v1/auth/login":
            self.login_arrived.set()
            if self.gate is not None:
                assert self.gate.wait(30), "the test never opened the gate"
            body = json.loads(request.content)
            if body["password"] != "right password":
                return httpx.Response(401, json={"detail": "The user name or password is wrong."})
            return httpx.Response(200, json={"access_token": "a", "refresh_token": f"refresh-{body['username']}",
                                             "expires_in": 300, "role": "resident", "account_id": "x",
                                             "program_id": None, "person_id": None})
        if request.url.path == "/v1/auth/logout":
            self.logouts.append(json.loads(request.content)["refresh_token"])
            return httpx.Response(200, json={"revoked": 1})
        return httpx.Response(404, json={"detail": "no"})


@pytest.fixture
def kiosk(qtbot, tmp_path: Path):
    engine = open_database(tmp_path / "p.sqlite").engine
    ctx = ServiceContext(engine, clock=lambda: dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    prog = programs.create_program(ctx, "K", start_year=2026).value
    clinic = catalog.create_activity(ctx, prog.id, code="C", name="Clinic", category="clinic").value
    lee = people.create_person(ctx, prog.id, "Dr Lee", "resident", academic_year=2026, pgy=1).value
    kim = people.create_person(ctx, prog.id, "Dr Kim", "resident", academic_year=2026, pgy=2).value
    schedule.assign_slots(ctx, [SlotEdit(lee.id, TODAY, 0, clinic.id), SlotEdit(kim.id, TODAY + dt.timedelta(days=1),
                                                                                 1, clinic.id)], reason="t")
    schedule.set_calls(ctx, [CallEdit(kim.id, TODAY, "in_house")], reason="t")
    settings = QSettings(str(tmp_path / "kiosk.ini"), QSettings.Format.IniFormat)
    store = CredentialStore(use_keyring=False)
    fake = FakeServer()
    http = httpx.Client(base_url="http://kiosk.test", transport=httpx.MockTransport(fake))

    def sign_in(user: str, password: str) -> Credentials:
        creds = Credentials(http, "http://kiosk.test", user, store)
        creds.sign_in(password)
        return creds

    pool, writer = QThreadPool(), QThreadPool()
    writer.setMaxThreadCount(1)
    workers = WorkerManager(pool, writer)
    v = KioskView(ctx, prog.id, settings=settings, sign_in=sign_in, today=lambda: TODAY, workers=workers)
    qtbot.addWidget(v)
    yield v, store, fake, settings, {"lee": lee, "kim": kim}
    if fake.gate is not None:
        fake.gate.set()
    workers.shutdown()
    http.close()
    engine.dispose()


def _sign_in(qtbot, v: KioskView, user: str, password: str) -> None:
    """Type and sign in, then wait for the background sign-in to answer."""
    v.user.setText(user)
    v.password.setText(password)
    v.sign_in()
    assert v.password.text() == ""  # never kept in the widget
    qtbot.waitUntil(lambda: v._attempt is None, timeout=10_000)
    assert not v.busy.isVisibleTo(v)


def _table(t) -> list[list[str]]:
    return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def test_read_only_views_need_no_sign_in(kiosk) -> None:
    v, _store, _fake, _settings, ppl = kiosk
    assert v.credentials is None and not v.sign_out_button.isEnabled()
    assert _table(v.today_table) == [["Dr Lee", "C", ""]]
    assert v.call_label.text() == "Dr Kim (in-house)"
    v.person.setCurrentIndex(v.person.findData(ppl["kim"].id))
    week = _table(v.week_table)
    assert len(week) == 7 and week[0][0].startswith("Mon 14 Sep")
    assert week[2][1:] == ["", "", "in-house"] and week[3][1:] == ["", "C", ""]


def test_sign_in_is_per_person_and_sign_out_removes_the_credential(qtbot, kiosk) -> None:
    v, store, fake, _settings, _ppl = kiosk
    _sign_in(qtbot, v, "lee", "wrong")
    assert v.credentials is None and "wrong" in v.status.text()
    assert v.sign_in_button.isEnabled()
    _sign_in(qtbot, v, "lee", "right password")
    assert v.credentials is not None and store.get(v.credentials.key) == "refresh-lee"
    key = v.credentials.key
    # Another person signing in ends the first person's sign-in first: the credential goes at
    # once, the server hears of it in the background.
    _sign_in(qtbot, v, "kim", "right password")
    assert store.get(key) is None
    qtbot.waitUntil(lambda: fake.logouts == ["refresh-lee"], timeout=10_000)
    kim_key = v.credentials.key
    v.sign_out()
    assert store.get(kim_key) is None
    assert v.credentials is None and "nobody is signed in" in v.status.text()
    qtbot.waitUntil(lambda: fake.logouts == ["refresh-lee", "refresh-kim"], timeout=10_000)


def test_sign_in_waits_for_the_server_in_the_background(qtbot, kiosk) -> None:
    v, store, fake, _settings, ppl = kiosk
    fake.gate = threading.Event()  # a slow server: the login is answered when the test says so
    v.user.setText("lee")
    v.password.setText("right password")
    v.sign_in_button.click()
    # The click has returned while the server still holds the login: the window is not blocked.
    assert fake.login_arrived.wait(10) and not fake.gate.is_set()
    assert v.credentials is None and v.busy.isVisibleTo(v) and "Signing in as lee" in v.status.text()
    assert not v.sign_in_button.isEnabled() and not v.user.isEnabled() and not v.password.isEnabled()
    # ... and it keeps handling events: a timer fires and the week view follows the person picked.
    timer = QTimer(v)
    timer.setSingleShot(True)
    with qtbot.waitSignal(timer.timeout, timeout=5000):
        timer.start(10)
    v.person.setCurrentIndex(v.person.findData(ppl["kim"].id))
    assert _table(v.week_table)[2][1:] == ["", "", "in-house"]
    assert v.credentials is None  # still waiting for the server
    fake.gate.set()
    qtbot.waitUntil(lambda: v.credentials is not None, timeout=10_000)
    assert not v.busy.isVisibleTo(v) and v.sign_out_button.isEnabled() and v.user.isEnabled()
    assert "Signed in as lee" in v.status.text() and store.get(v.credentials.key) == "refresh-lee"


def test_an_unreachable_server_is_said_plainly_and_the_kiosk_stays_read_only(qtbot, kiosk) -> None:
    v, store, fake, _settings, _ppl = kiosk
    fake.offline = True
    _sign_in(qtbot, v, "lee", "right password")
    assert v.credentials is None
    assert "cannot be reached" in v.status.text() and "read-only" in v.status.text()
    assert v.sign_in_button.isEnabled() and v.user.isEnabled() and not v.sign_out_button.isEnabled()
    assert store.get(Credentials(None, "http://kiosk.test", "lee", store).key) is None  # type: ignore[arg-type]
    fake.offline = False  # back online: the next try works
    _sign_in(qtbot, v, "lee", "right password")
    assert v.credentials is not None


def test_closing_during_a_sign_in_leaves_no_credential_behind(qtbot, kiosk) -> None:
    v, store, fake, _settings, _ppl = kiosk
    fake.gate = threading.Event()
    v.user.setText("lee")
    v.password.setText("right password")
    v.sign_in_button.click()
    assert fake.login_arrived.wait(10)
    v.close()
    fake.gate.set()  # the server answers after the kiosk was closed
    qtbot.waitUntil(lambda: fake.logouts == ["refresh-lee"], timeout=10_000)
    assert store.get(Credentials(None, "http://kiosk.test", "lee", store).key) is None  # type: ignore[arg-type]
    assert v.credentials is None


def test_idle_time_from_settings_signs_out(qtbot, kiosk) -> None:
    v, store, fake, settings, _ppl = kiosk
    settings.setValue(IDLE_KEY, 0.005)  # 0.3 s
    _sign_in(qtbot, v, "lee", "right password")
    key = v.credentials.key
    assert v.idle_timer.isActive() and v.idle_timer.interval() == 300
    qtbot.waitUntil(lambda: v.credentials is None, timeout=5000)
    assert store.get(key) is None and "idle time" in v.status.text()
    qtbot.waitUntil(lambda: fake.logouts == ["refresh-lee"], timeout=10_000)


@pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")  # offscreen platform, top-level window
def test_main_window_kiosk_mode_action_opens_a_read_only_kiosk(window, qtbot) -> None:
    window.kiosk_action.trigger()
    kiosk = window._kiosk_window
    assert isinstance(kiosk, KioskView)
    qtbot.addWidget(kiosk)
    assert kiosk.isVisible() and kiosk.credentials is None
    assert kiosk.person.count() > 0 and kiosk.week_table.rowCount() == 7
    kiosk.close()
