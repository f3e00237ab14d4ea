"""What runs while an operator is signed in: the sync scheduler, the demo, the status bar.

Created by ``ui.main`` after sign-in; :meth:`SessionRuntime.switch` when another operator
signs in after an idle lock (the scheduler then acts as the new operator, so an agent's
syncs stay within their stores); :meth:`close` at exit.  Thread: GUI; everything that
blocks goes through ``ui.ops``.
"""

from __future__ import annotations

import gc
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.amazon.models import SyncResult
from app.amazon.scheduler import SyncScheduler
from app.errors import SyncAlreadyRunning
from ui.ops import Job, Op
from ui.sync_status import SyncStatusWidget

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger("muttefik.ui")


def freeze_long_lived_objects() -> None:
    """Leave the objects alive now out of every future garbage collection.

    A full (generation 2) collection walks every object the collector tracks and holds
    the GIL throughout.  With PySide6, httpx and the SP-API client loaded that is several
    hundred thousand objects, nearly all modules, classes and widgets that live as long
    as the process; a full collection that a sync thread happened to trigger stalled the
    GUI for 80-110 ms (bench/sync_gui.py).  ``gc.freeze`` moves them to the permanent
    generation, in O(1); later collections walk only what was created since.  Called once
    the window is up and again once the Amazon client is loaded.
    """
    gc.freeze()


class SessionRuntime(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.services = window.services
        self.scheduler: SyncScheduler | None = None
        self.demo: Any = None
        self._closed = False
        core = self.services.core
        self.sync_status = SyncStatusWidget(
            run_sync=self._run_sync,
            cancel_running=self._cancel_running,
            clock=core.clock,
            qt_events=window.qt_events,
        )
        window.add_status_widget(self.sync_status, permanent=False)
        window.qt_events.on("sync_finished", lambda _p: self._refresh_last_success())

    @property
    def actor(self) -> Any:
        return getattr(self.window.session, "actor", None)

    def start(self) -> None:
        """Begin background work for the signed-in operator."""
        if self.actor is None:
            return
        from app.amazon.client import warm_up

        Op(self.window, lambda job: warm_up()).on_success(
            lambda _r: freeze_long_lived_objects()
        ).on_failure(
            lambda exc: log.warning("preparing the Amazon client failed: %s", type(exc).__name__)
        ).run()
        if self.services.core.profile.demo:
            self._start_demo()
        else:
            self._start_scheduler(run_at_start=True)
        self._refresh_last_success()

    def switch(self) -> None:
        """Another (or the same) operator signed in after a lock."""
        if self.scheduler is not None:
            self.scheduler.stop(timeout=0)
            self.scheduler = None
        self._start_scheduler(run_at_start=False)
        self._refresh_last_success()

    def _start_scheduler(self, *, run_at_start: bool) -> None:
        if self._closed or self.actor is None:
            return
        self.scheduler = SyncScheduler(
            sync=self.services.sync, actor=self.actor, run_at_start=run_at_start
        )
        self.scheduler.start()

    def _start_demo(self) -> None:
        from app.demo.demo_profile import start_demo

        core, services, actor = self.services.core, self.services, self.actor

        def work(job: Job) -> Any:
            return start_demo(core, services, actor=actor)

        def started(handle: Any) -> None:
            if self._closed:
                handle.close(timeout=1)
                return
            self.demo = handle
            # The demo's first sync runs already; later ones follow the schedule.
            self._start_scheduler(run_at_start=False)

        def failed(exc: BaseException) -> None:
            if self._closed:
                return  # the window closed while the demo started: the vault is gone
            from ui.errors import show_error

            show_error(self.window, exc)

        Op(self.window, work).on_success(started).on_failure(failed).run()

    def _run_sync(self, job: Job, store_id: int | None) -> list[SyncResult]:
        """ "Sync now" / Retry from the status bar.  Network pool thread."""
        actor = self.actor
        stores = self.services.stores.list_stores(actor)
        results = []
        for store in stores:
            if job.cancelled:
                break
            if store_id is not None and store.id != store_id:
                continue
            if not self.services.stores.has_credentials(store.id):
                continue
            try:
                results.append(self.services.sync.sync_store(actor, store.id, job.cancel))
            except SyncAlreadyRunning:
                continue
        return results

    def _cancel_running(self) -> None:
        if self.scheduler is not None:
            self.scheduler.cancel_current()
        if self.demo is not None:
            self.demo.cancel.set()

    def _refresh_last_success(self) -> None:
        actor = self.actor
        if actor is None:
            return
        services = self.services

        def work(job: Job) -> datetime | None:
            times = [
                services.sync.sync_state(actor, s.id).last_success
                for s in services.stores.list_stores(actor)
            ]
            known = [t for t in times if t is not None]
            return max(known) if known else None

        def show(when: datetime | None) -> None:
            if when is not None:
                self.sync_status.set_last_success(when)

        Op(self.window, work).on_success(show).on_failure(
            lambda exc: log.warning("reading sync state failed: %s", type(exc).__name__)
        ).run()

    def close(self) -> None:
        """Stop background work (exit).  Waits briefly for the sync to stop between pages."""
        if self._closed:
            return
        self._closed = True
        if self.scheduler is not None:
            self.scheduler.stop(timeout=5)
            self.scheduler = None
        if self.demo is not None:
            self.demo.close(timeout=5)
            self.demo = None
