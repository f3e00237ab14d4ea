"""Idle auto-lock: input keeps the window open; silence locks it behind the sign-in
dialog; another operator can sign in and the window then shows their role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QLineEdit, QMainWindow, QStackedWidget
from pytestqt.qtbot import QtBot

from app.auth.models import Session
from app.auth.rbac import Role
from app.clock import FakeClock
from app.services import Core
from app.vault import Vault
from tests.helpers.accounts import Accounts, Enrolled
from ui import ops
from ui.idle_lock import IdleLock, IdleWatcher

STRONG = "Correct-Horse-42-battery"
STRONG_AGENT = "Quiet-Harbour-77-lantern"


@pytest.fixture(autouse=True)
def _bridge(qapp: object) -> Iterator[None]:
    ops.install()
    yield


class Window(QMainWindow):
    """The part of ``ui.main_window.MainWindow`` that IdleLock uses."""

    lock_requested = Signal()

    def __init__(self, session: Session | None) -> None:
        super().__init__()
        self.session = session
        self.sessions: list[Session] = []
        self.stack = QStackedWidget()
        self.content = QLineEdit("buyer messages")
        self.stack.addWidget(self.content)
        self.stack.addWidget(QLabel("locked"))
        self.setCentralWidget(self.stack)

    def set_locked(self, locked: bool) -> None:
        self.stack.setCurrentIndex(1 if locked else 0)

    @property
    def locked(self) -> bool:
        return self.stack.currentIndex() == 1

    def set_session(self, session: Any) -> None:
        self.session = session
        self.sessions.append(session)
        self.set_locked(False)


class Typist(QObject):
    """Types a key into ``target`` every 50 ms, ``count`` times, then emits ``finished``."""

    finished = Signal()

    def __init__(self, target: QLineEdit, count: int) -> None:
        super().__init__()
        self._target, self._left = target, count
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._timer.start()

    def _tick(self) -> None:
        QTest.keyClick(self._target, Qt.Key.Key_A)
        self._left -= 1
        if self._left <= 0:
            self._timer.stop()
            self.finished.emit()


@pytest.fixture
def accounts(vault: Vault, clock: FakeClock) -> Accounts:
    """Real auth and operator services on the test vault (fast hashing)."""
    return Accounts(vault, clock)


@pytest.fixture
def admin(accounts: Accounts) -> Enrolled:
    return accounts.admin()


@pytest.fixture
def window(qtbot: QtBot, admin: Enrolled) -> Window:
    w = Window(admin.session)
    qtbot.addWidget(w)
    w.show()
    return w


def test_input_postpones_the_lock(qtbot: QtBot, window: Window) -> None:
    watcher = IdleWatcher(interval_ms=250)
    watcher.start()
    typist = Typist(window.content, count=12)  # 600 ms of typing > 250 ms interval
    with (
        qtbot.assertNotEmitted(watcher.idle_timed_out),
        qtbot.waitSignal(typist.finished, timeout=5000),
    ):
        typist.start()
    with qtbot.waitSignal(watcher.idle_timed_out, timeout=5000):
        pass  # silence now
    watcher.close()


def test_idle_locks_and_another_operator_signs_in(
    qtbot: QtBot, accounts: Accounts, admin: Enrolled, window: Window
) -> None:
    agent = accounts.agent(admin)
    lock = IdleLock(window, auth=accounts.auth, interval_ms=150)
    with qtbot.waitSignal(lock.locked, timeout=5000):
        pass
    assert window.locked and lock.is_locked
    assert not window.content.isVisible()  # content hidden behind the lock
    qtbot.waitUntil(lambda: "signed_out" in accounts.world.actions())  # audited by core
    (signed_out,) = [r for r in accounts.world.audit_rows() if r[3] == "signed_out"]
    assert "idle_lock" in str(signed_out)
    dialog = lock.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.username.text() == "admin"  # same operator pre-filled
    assert not lock.watcher.running  # no second lock while locked

    # Another operator signs in: the window takes their session (and role).
    dialog.username.setText(agent.username)
    dialog.password.setText(agent.password)
    dialog.submit_button.click()
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == dialog.CODE)
    dialog.code.setText(accounts.code(agent.secret))
    with qtbot.waitSignal(lock.unlocked) as blocker:
        dialog.submit_button.click()
    assert blocker.args[0].actor.role is Role.AGENT
    assert window.session is not None and window.session.actor.username == agent.username
    assert not window.locked and window.content.isVisible()
    assert lock.watcher.running
    lock.watcher.close()  # else it locks again after the test, with the vault gone


def test_manual_lock_request(qtbot: QtBot, accounts: Accounts, window: Window) -> None:
    lock = IdleLock(window, auth=accounts.auth, interval_ms=60_000)
    with qtbot.waitSignal(lock.locked, timeout=1000):
        window.lock_requested.emit()
    assert window.locked
    assert lock.dialog is not None
    qtbot.waitUntil(lambda: "signed_out" in accounts.world.actions())  # before the vault closes


def test_background_work_continues_while_locked(
    qtbot: QtBot, accounts: Accounts, window: Window
) -> None:
    lock = IdleLock(window, auth=accounts.auth, interval_ms=60_000)
    lock.lock(reason="manual")
    results: list[int] = []
    ops.Op(window, lambda job: 6 * 7).on_success(results.append).run()
    qtbot.waitUntil(lambda: results == [42])
    assert window.locked
    qtbot.waitUntil(lambda: "signed_out" in accounts.world.actions())  # before the vault closes


def test_real_main_window_follows_the_new_operators_role(qtbot: QtBot, core: Core) -> None:
    """Admin's window locks; an agent signs in; the admin-only tabs are gone."""
    from app.services import build_services
    from ui.events import QtEvents
    from ui.main_window import MainWindow

    clock = core.clock
    assert isinstance(clock, FakeClock)
    services = build_services(core)
    real_auth = services.auth
    enrollment = real_auth.begin_first_admin("ayse", "Ayşe Yılmaz", "ayse@example.com", STRONG)
    admin = real_auth.complete_enrollment(
        enrollment, pyotp.TOTP(enrollment.totp_secret).at(clock.now())
    ).session
    setup = services.operators.add_operator(
        admin.actor, username="bora", display_name="Bora Demir", email="bora@example.com",
        role=Role.AGENT,
    )  # fmt: skip
    agent_enrollment = real_auth.redeem_setup_code("bora", setup.code, STRONG_AGENT)
    agent_secret = agent_enrollment.totp_secret
    real_auth.complete_enrollment(agent_enrollment, pyotp.TOTP(agent_secret).at(clock.now()))

    qt_events = QtEvents(core.notices)
    window = MainWindow(services, qt_events, admin)
    qtbot.addWidget(window)
    window.show()
    assert window.tab("operators") is not None and window.tab("audit") is not None

    lock = IdleLock(window, auth=real_auth, interval_ms=100)
    with qtbot.waitSignal(lock.locked, timeout=5000):
        pass
    assert window.locked
    dialog = lock.dialog
    assert dialog is not None
    dialog.username.setText("bora")
    dialog.password.setText(STRONG_AGENT)
    dialog.submit_button.click()
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == dialog.CODE, timeout=10_000)
    clock.advance(30)  # a new time step (the enrollment's one is used up)
    dialog.code.setText(pyotp.TOTP(agent_secret).at(clock.now()))
    with qtbot.waitSignal(lock.unlocked, timeout=10_000):
        dialog.submit_button.click()
    assert not window.locked
    assert window.session is not None and window.session.actor.username == "bora"
    assert window.tab("operators") is None and window.tab("audit") is None
    lock.watcher.close()  # else it locks the closed window after the vault is gone
    qt_events.close()


def test_install_reads_the_setting(
    qtbot: QtBot, core: Core, accounts: Accounts, window: Window
) -> None:
    from app import settings
    from app.services import build_services
    from ui.idle_lock import install_idle_lock

    core.vault.call_write(
        lambda conn: settings.put(conn, settings.IDLE_LOCK_MINUTES, 7, now=core.clock.now())
    )
    installed: list[IdleLock] = []
    settings_service = build_services(core).settings  # re-reads the admin from the vault
    install_idle_lock(window, accounts.auth, settings_service, on_installed=installed.append)
    qtbot.waitUntil(lambda: len(installed) == 1)
    assert installed[0].watcher.interval_ms == 7 * 60_000
    assert installed[0].watcher.running


def test_demo_session_never_locks(qtbot: QtBot, core: Core, accounts: Accounts) -> None:
    from app.services import build_services
    from ui.idle_lock import install_idle_lock

    demo = Window(
        Session(actor=accounts.admin().session.actor, signed_in_at=core.clock.now(), demo=True)
    )
    qtbot.addWidget(demo)
    assert install_idle_lock(demo, accounts.auth, build_services(core).settings) is False
    assert not hasattr(demo, "idle_lock")
