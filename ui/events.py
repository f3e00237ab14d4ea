"""Re-emits every change notice (published on any thread) on the GUI thread.

    qt_events.on(OrdersChanged, self._orders_changed)  # slot(notice), GUI thread
    qt_events.on(SyncFinished, lambda n: self._done(n.result), owner=self)

Nothing to register: every :class:`~app.notices.Notice` the core publishes is forwarded,
and a view picks the classes it refreshes from.  A slot stops being called once its
owner (the QObject of a bound-method slot, or ``owner``) is deleted, e.g. a tab rebuilt
after a role change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from app.notices import Notice, Notices

N = TypeVar("N", bound=Notice)


class QtEvents(QObject):
    """Signals: ``published(notice)`` for every notice, on the GUI thread.

    Thread: lives on the GUI thread; notices arrive from publishing threads, queued.
    """

    published = Signal(object)
    # Crosses threads (queued); ``published`` is re-emitted from it on the GUI thread
    # only while open, so nothing reaches views after shutdown closed the vault.
    _arrived = Signal(object)

    def __init__(self, notices: Notices) -> None:
        super().__init__()
        self._closed = False
        self._arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = notices.subscribe(Notice, self._forward)

    def _forward(self, notice: Notice) -> None:
        if not self._closed:
            self._arrived.emit(notice)

    def _deliver(self, notice: Notice) -> None:
        if not self._closed:
            self.published.emit(notice)

    def on(self, kind: type[N], slot: Callable[[N], None], owner: QObject | None = None) -> None:
        """Call ``slot(notice)`` for each notice of class ``kind`` (or a subclass) while
        ``owner`` (default: the QObject a bound-method ``slot`` belongs to) is alive."""
        if owner is None:
            bound = getattr(slot, "__self__", None)
            owner = bound if isinstance(bound, QObject) else None

        def deliver(notice: Notice) -> None:
            if owner is not None and not shiboken6.isValid(owner):
                self.published.disconnect(deliver)
                return
            if isinstance(notice, kind):
                slot(notice)

        self.published.connect(deliver)

    def close(self) -> None:
        self._closed = True
        self._unsubscribe()
