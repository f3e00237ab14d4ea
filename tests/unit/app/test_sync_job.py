"""SyncScheduler: cancel_current stops the running sync but not the schedule."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from app.amazon.scheduler import SyncScheduler


class _FakeSync:
    """Stands in for SyncService: each sync blocks until cancelled."""

    def __init__(self) -> None:
        self.started = threading.Semaphore(0)
        self.cancelled: list[int] = []
        self.runs = 0
        store = SimpleNamespace(id=1)
        self.stores = SimpleNamespace(
            list_stores=lambda actor: [store], has_credentials=lambda store_id: True
        )
        self.vault = SimpleNamespace(call=lambda fn: 10)

    def sync_store(self, actor: Any, store_id: int, cancel: threading.Event) -> None:
        self.runs += 1
        self.started.release()
        cancel.wait(10)
        if cancel.is_set():
            self.cancelled.append(self.runs)


def test_cancel_current_then_sync_now_runs_again() -> None:
    sync = _FakeSync()
    scheduler = SyncScheduler(sync=sync, actor=object(), run_at_start=True)  # type: ignore[arg-type]
    scheduler.start()
    try:
        assert sync.started.acquire(timeout=5)
        scheduler.cancel_current()
        scheduler.sync_now()
        assert sync.started.acquire(timeout=5), "schedule must survive a cancelled run"
        assert sync.cancelled == [1]
    finally:
        scheduler.stop(timeout=5)
    assert sync.cancelled == [1, 2]
