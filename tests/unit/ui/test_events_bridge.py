"""ui.events.QtEvents: app events reach the GUI thread, and nothing after close()."""

from __future__ import annotations

import threading

from app.events import EventBus
from ui.events import QtEvents


def test_event_from_worker_thread_arrives_on_gui(qtbot) -> None:
    bus = EventBus()
    bridge = QtEvents(bus)
    got: list[dict] = []
    bridge.on("orders_synced", got.append)
    thread = threading.Thread(target=lambda: bus.publish("orders_synced", store_id=3))
    with qtbot.waitSignal(bridge.published, timeout=2000):
        thread.start()
    thread.join()
    assert got == [{"store_id": 3}]


def test_queued_event_is_dropped_after_close(qtbot) -> None:
    """An event already queued when shutdown closes the bridge must not reach views."""
    bus = EventBus()
    bridge = QtEvents(bus)
    got: list[dict] = []
    bridge.on("stores_changed", got.append)
    with qtbot.assertNotEmitted(bridge.published, wait=100):
        bus.publish("stores_changed", store_id=1)  # queued, not yet delivered
        bridge.close()
        bus.publish("stores_changed", store_id=2)  # after close: not even queued
    assert got == []
