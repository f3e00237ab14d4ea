"""Re-emits app/ events (published on any thread) as Qt signals on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from app.events import EventBus

# Events the GUI listens to; app/ may publish others.
FORWARDED = (
    "orders_synced",
    "stores_changed",
    "sync_started",
    "sync_progress",
    "sync_failed",
    "sync_finished",
    "integrity_checked",
    "purge_finished",
    "message_received",
)


class QtEvents(QObject):
    """Signals: ``published(name, payload)`` for every forwarded event.

    Thread: lives on the GUI thread; the signal is emitted from publishing threads and
    delivered queued.
    """

    published = Signal(str, object)
    # Crosses threads (queued); ``published`` is re-emitted from it on the GUI thread
    # only while open, so nothing reaches views after shutdown closed the vault.
    _arrived = Signal(str, object)

    def __init__(self, bus: EventBus, names: tuple[str, ...] = FORWARDED) -> None:
        super().__init__()
        self._closed = False
        self._arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = [bus.subscribe(name, self._forwarder(name)) for name in names]

    def _forwarder(self, name: str) -> Callable[..., None]:
        def forward(**payload: Any) -> None:
            if not self._closed:
                self._arrived.emit(name, payload)

        return forward

    def _deliver(self, name: str, payload: object) -> None:
        if not self._closed:
            self.published.emit(name, payload)

    def on(self, name: str, slot: Callable[[dict[str, Any]], None]) -> None:
        """Connect ``slot(payload)`` to one event name."""
        self.published.connect(lambda n, p: slot(p) if n == name else None)

    def close(self) -> None:
        self._closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
