"""The tray icon and its notices: new buyer messages, threads entering their last 2 hours.

The texts name counts only ("3 new buyer messages"): a notification can show on a locked
screen or a shared desk, so no buyer name, alias or message text ever appears in one.
``notify.mute`` (``app/settings.py``) silences both; it is read (DB thread) before each
notice, so a change applies at once.

New messages come from ``ThreadsChanged.new_messages``; notices from one fetch (several
stores, inbox and Sent) are summed over ``COALESCE_MS`` into one message.  Threads under
2 h are looked for every ``URGENT_CHECK_MS`` and after each change; each thread is
announced once per time it enters the last 2 hours.

Without a system tray (``QSystemTrayIcon.isSystemTrayAvailable()`` false, e.g. a
minimal window manager) nothing is shown; ``message_shown`` still fires (tests).

Signals: ``message_shown(str, str)`` (title, text), ``inbox_requested`` (the seller
clicked the icon or a message).
Thread: GUI only; reads go through ``ui.ops.when_done``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

from app.auth.models import Actor
from app.mail.inbox_service import ThreadFilter, ThreadQuery
from app.mail.models import Urgency
from app.notices import ThreadsChanged
from app.settings import NOTIFY_MUTE
from ui.ops import when_done

if TYPE_CHECKING:
    from app.services import Services
    from ui.events import QtEvents

log = logging.getLogger("muttefik.ui")

TITLE = "Müttefik Desk"
COALESCE_MS = 1500
URGENT_CHECK_MS = 60_000


def new_messages_text(count: int) -> str:
    return f"{count} new buyer message{'s' if count != 1 else ''}"


def urgent_text(count: int) -> str:
    if count == 1:
        return "1 buyer message has less than 2 hours left for a reply"
    return f"{count} buyer messages have less than 2 hours left for a reply"


class TrayNotifier(QObject):
    message_shown = Signal(str, str)
    inbox_requested = Signal()

    def __init__(
        self,
        *,
        services: Services,
        actor: Callable[[], Actor | None],
        qt_events: QtEvents,
        icon: QIcon | None = None,
        tray_available: bool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._actor = actor
        available = (
            QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None else tray_available
        )
        self.icon: QSystemTrayIcon | None = None
        if available:
            self.icon = QSystemTrayIcon(icon or QIcon(), self)
            self.icon.setToolTip(TITLE)
            self.icon.activated.connect(lambda _reason: self.inbox_requested.emit())
            self.icon.messageClicked.connect(self.inbox_requested)
            self.icon.show()
        self._pending_new = 0
        self._urgent_known: set[int] = set()
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(COALESCE_MS)
        self._coalesce.timeout.connect(self._flush_new)
        self._urgent_timer = QTimer(self)
        self._urgent_timer.setInterval(URGENT_CHECK_MS)
        self._urgent_timer.timeout.connect(self.check_urgent)
        self._urgent_timer.start()
        self._closed = False
        qt_events.on(ThreadsChanged, self._threads_changed)
        # Now, not from the event loop: the window (and the database) may be gone by then.
        self.check_urgent()

    # --- new messages ---------------------------------------------------------------

    def _threads_changed(self, notice: ThreadsChanged) -> None:
        if self._closed:
            return
        if notice.new_messages > 0:
            self._pending_new += notice.new_messages
            if not self._coalesce.isActive():
                self._coalesce.start()
        self.check_urgent()

    def _flush_new(self) -> None:
        count, self._pending_new = self._pending_new, 0
        if count:
            self._notify(new_messages_text(count))

    # --- threads entering the last 2 hours -------------------------------------------

    def check_urgent(self) -> None:
        actor = self._actor()
        if actor is None or self._closed:
            return

        def read(reader: Any) -> set[int]:
            ids = reader.thread_ids(ThreadQuery(filter=ThreadFilter.DUE_SOON))
            return {r.id for r in reader.thread_rows(ids) if r.urgency == Urgency.URGENT}

        def found(urgent: set[int]) -> None:
            entering = urgent - self._urgent_known
            # A thread that left (answered, or overdue now) may enter again later.
            self._urgent_known = urgent
            if entering:
                self._notify(urgent_text(len(entering)))

        def failed(exc: BaseException) -> None:
            log.warning("checking urgent threads failed: %s", type(exc).__name__)

        when_done(self._services.inbox.read(actor, read), found, failed, parent=self)

    # --- showing --------------------------------------------------------------------

    def _notify(self, text: str) -> None:
        actor = self._actor()
        if actor is None or self._closed:
            return

        def decided(muted: Any) -> None:
            if muted:
                return
            if self.icon is not None:
                self.icon.showMessage(TITLE, text, QSystemTrayIcon.MessageIcon.Information)
            self.message_shown.emit(TITLE, text)

        def failed(exc: BaseException) -> None:
            log.warning("reading the mute setting failed: %s", type(exc).__name__)

        when_done(self._services.settings.read(actor, NOTIFY_MUTE), decided, failed, parent=self)

    def close(self) -> None:
        """The window closes (the database goes next): no more reads."""
        self._closed = True
        self._urgent_timer.stop()
        self._coalesce.stop()
        if self.icon is not None:
            self.icon.hide()
