"""Runs the order sync every ``sync.interval_minutes`` and on demand ("Sync now").

A plain ``threading.Thread`` waiting on an Event: no Qt, no busy loop.  It syncs the
stores the signed-in operator may see, one after another; errors are already published
by the sync service (``sync_failed``), so the scheduler only logs them.
"""

from __future__ import annotations

import logging
import threading

from app import settings
from app.amazon.sync import SyncService
from app.auth.models import Actor
from app.errors import SyncAlreadyRunning, UserError

log = logging.getLogger("muttefik.sync")


class SyncScheduler:
    """Start with :meth:`start` after sign-in; :meth:`stop` at sign-out or exit."""

    def __init__(self, *, sync: SyncService, actor: Actor, run_at_start: bool = True) -> None:
        self.sync = sync
        self.actor = actor
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._current = threading.Event()  # cancels the running sync only
        self._wanted: set[int] | None = None  # None: all stores
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if run_at_start:
            self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="muttefik-sync", daemon=True)
            self._thread.start()

    def sync_now(self, store_id: int | None = None) -> None:
        """Ask for a sync of one store (or all) as soon as the thread is free."""
        with self._lock:
            if store_id is None:
                self._wanted = None
            elif self._wanted is not None:
                self._wanted.add(store_id)
            elif not self._wake.is_set():
                self._wanted = {store_id}
        self._wake.set()

    def cancel_current(self) -> None:
        """Cancel the sync that is running now (between pages); the schedule goes on."""
        self._current.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel a running sync between pages and end the thread."""
        self._stop.set()
        self._current.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _interval(self) -> float:
        minutes = self.sync.vault.call(
            lambda conn: settings.get(conn, settings.SYNC_INTERVAL_MINUTES)
        )
        return float(minutes) * 60.0

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                interval = self._interval()
            except Exception:
                log.exception("reading the sync interval failed")
                interval = 600.0
            self._wake.wait(interval)
            if self._stop.is_set():
                return
            with self._lock:
                wanted, self._wanted = self._wanted, None
                self._wake.clear()
            self._run(wanted)

    def _run(self, wanted: set[int] | None) -> None:
        self._current.clear()
        try:
            stores = self.sync.stores.list_stores(self.actor)
        except Exception:
            log.exception("listing stores for the sync failed")
            return
        for store in stores:
            if self._stop.is_set() or self._current.is_set():
                return
            if wanted is not None and store.id not in wanted:
                continue
            if not self.sync.stores.has_credentials(store.id):
                continue
            try:
                self.sync.sync_store(self.actor, store.id, self._current)
            except SyncAlreadyRunning:
                continue
            except UserError as exc:
                log.info("scheduled sync of store %d failed: %s", store.id, exc.title)
            except Exception:
                log.exception("scheduled sync of store %d crashed", store.id)
