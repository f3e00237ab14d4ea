"""Re-emits every change notice (published on any thread) on the GUI thread.

    qt_events.on(OrdersChanged, self._orders_changed)  # slot(notice), GUI thread

Nothing to register: every :class:`~app.notices.Notice` the core publishes is forwarded,
and a view picks the classes it refreshes from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

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

    def on(self, kind: type[N], slot: Callable[[N], None]) -> None:
        """Call ``slot(notice)`` for each notice of class ``kind`` (or a subclass)."""

        def deliver(notice: Notice) -> None:
            if isinstance(notice, kind):
                slot(notice)

        self.published.connect(deliver)

    def close(self) -> None:
        self._closed = True
        self._unsubscribe()
