"""Re-emits app/ events (published on any thread) as Qt signals on the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

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

    def __init__(self, bus: EventBus, names: tuple[str, ...] = FORWARDED) -> None:
        super().__init__()
        self._unsubscribe = [bus.subscribe(name, self._forwarder(name)) for name in names]

    def _forwarder(self, name: str) -> Callable[..., None]:
        def forward(**payload: Any) -> None:
            self.published.emit(name, payload)

        return forward

    def on(self, name: str, slot: Callable[[dict[str, Any]], None]) -> None:
        """Connect ``slot(payload)`` to one event name."""
        self.published.connect(lambda n, p: slot(p) if n == name else None)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
