"""Idle auto-lock: after N minutes without input the window hides its content behind
the sign-in dialog.  Background jobs keep running; any operator may sign in.

:class:`IdleWatcher` is an application-wide event filter that restarts a single-shot
timer on every keyboard/mouse/touch event.  :class:`IdleLock` ties it to the main window
(``set_locked``/``set_session``/``lock_requested``) and to :class:`SignInDialog`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from app import settings
from app.auth.models import Session
from app.auth.service import AuthService
from ui.dialogs.sign_in import SignInDialog
from ui.ops import Op, when_done

if TYPE_CHECKING:
    from app.settings_service import SettingsService

log = logging.getLogger("muttefik.ui")

INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.InputMethod,
        QEvent.Type.ShortcutOverride,
    }
)


class IdleWatcher(QObject):
    """Emits ``idle_timed_out`` after ``interval_ms`` without user input (any window).

    Signals: ``idle_timed_out``.  Thread: GUI.
    """

    idle_timed_out = Signal()

    def __init__(self, *, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.idle_timed_out)
        self._running = False
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def start(self) -> None:
        self._running = True
        self._timer.start()

    def stop(self) -> None:
        """While locked nothing needs watching."""
        self._running = False
        self._timer.stop()

    @property
    def running(self) -> bool:
        return self._running

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if self._running and event.type() in INPUT_EVENTS:
            self._timer.start()
        return False

    def close(self) -> None:
        self.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


class LockableWindow(Protocol):
    """What :class:`IdleLock` needs of the main window (``ui.main_window.MainWindow``)."""

    lock_requested: Any
    session: Any

    def set_locked(self, locked: bool) -> None: ...
    def set_session(self, session: Any) -> None: ...


class IdleLock(QObject):
    """Locks ``window`` after idle time (or File ▸ Lock) and shows the sign-in dialog.

    Signals: ``locked``, ``unlocked(Session)``.  Thread: GUI.
    ``dialog`` is the open sign-in dialog while locked (tests drive it).
    """

    locked = Signal()
    unlocked = Signal(object)

    def __init__(
        self,
        window: QWidget,
        *,
        auth: AuthService,
        interval_ms: int,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or window)
        self._window = window
        self._auth = auth
        self.dialog: SignInDialog | None = None
        self.watcher = IdleWatcher(interval_ms=interval_ms, parent=self)
        self.watcher.idle_timed_out.connect(lambda: self.lock(reason="idle"))
        lock_requested = getattr(window, "lock_requested", None)
        if lock_requested is not None:
            lock_requested.connect(lambda: self.lock(reason="manual"))
        self._is_locked = False
        session = getattr(window, "session", None)
        if session is None or not getattr(session, "demo", False):
            self.watcher.start()

    @property
    def is_locked(self) -> bool:
        return self._is_locked

    def lock(self, *, reason: str = "idle") -> None:
        if self._is_locked:
            return
        self._is_locked = True
        self.watcher.stop()
        window: Any = self._window
        _close_other_dialogs()
        window.set_locked(True)
        session: Session | None = getattr(window, "session", None)
        log.info("window locked (%s)", reason)
        if session is not None:
            auth, actor = self._auth, session.actor
            audit_reason = "idle_lock" if reason == "idle" else "sign_out"
            Op(window, lambda job: auth.sign_out(actor, audit_reason)).on_failure(
                lambda exc: log.warning("sign-out audit failed: %s", type(exc).__name__)
            ).run()
        self.locked.emit()
        self._open_dialog(session.actor.username if session is not None else "")

    def _open_dialog(self, username: str) -> None:
        dialog = SignInDialog(
            auth=self._auth,
            username=username,
            heading="Locked: sign in to continue",
            cancel_text="Quit",
            parent=self._window,
        )
        self.dialog = dialog
        dialog.signed_in.connect(self._signed_in)
        dialog.rejected.connect(self._gave_up)
        dialog.open()

    def _signed_in(self, session: Session) -> None:
        window: Any = self._window
        self.dialog = None
        self._is_locked = False
        window.set_session(session)  # rebuilds role-dependent tabs and unlocks
        window.set_locked(False)
        self.watcher.start()
        log.info("window unlocked")
        self.unlocked.emit(session)

    def _gave_up(self) -> None:
        # Nobody signed in: the content stays hidden; quitting is the only way out.
        self.dialog = None
        self._window.close()


def _close_other_dialogs() -> None:
    """Dialogs the previous operator left open must not show over the lock."""
    from PySide6.QtWidgets import QDialog, QProgressDialog

    for widget in QApplication.topLevelWidgets():
        if (
            isinstance(widget, QDialog)
            and widget.isVisible()
            and not isinstance(widget, QProgressDialog | SignInDialog)
        ):
            widget.reject()


def install_idle_lock(
    window: QWidget,
    auth: AuthService,
    settings_service: SettingsService,
    *,
    on_installed: Callable[[IdleLock], None] | None = None,
) -> bool:
    """Read IDLE_LOCK_MINUTES (as the signed-in operator, through the settings service),
    then attach an :class:`IdleLock` (kept as ``window.idle_lock``); if the read fails the
    lock still comes, after the default time.  Returns False for the demo profile, which
    never locks (it has no real sign-in), and without a session (nothing to lock).
    Thread: GUI.
    """
    session = getattr(window, "session", None)
    if session is None or getattr(session, "demo", False):
        return False

    def attach(minutes: int) -> None:
        lock = IdleLock(window, auth=auth, interval_ms=minutes * 60_000)
        window.setProperty("idleLock", True)
        window.idle_lock = lock  # type: ignore[attr-defined]  # keep it alive with the window
        if on_installed is not None:
            on_installed(lock)

    def failed(exc: BaseException) -> None:
        log.warning("reading the idle-lock time failed (%s): default used", type(exc).__name__)
        attach(settings.IDLE_LOCK_MINUTES.default)

    when_done(
        settings_service.read(session.actor, settings.IDLE_LOCK_MINUTES),
        attach,
        failed,
        parent=window,
    )
    return True
