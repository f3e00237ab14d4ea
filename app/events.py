"""A tiny publish/subscribe hub.

Callbacks run on the publishing thread; ``ui`` re-emits the events it cares about as
queued Qt signals.  Event names are past-tense facts (``orders_synced``).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("muttefik.events")

Handler = Callable[..., None]


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, event: str, handler: Handler) -> Callable[[], None]:
        with self._lock:
            self._handlers[event].append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers[event]:
                    self._handlers[event].remove(handler)

        return unsubscribe

    def publish(self, event: str, **payload: Any) -> None:
        with self._lock:
            handlers = list(self._handlers.get(event, ()))
        for handler in handlers:
            try:
                handler(**payload)
            except Exception:  # a bad subscriber must not break the publisher
                log.exception("handler for %s failed", event)
