"""What runs once an operator signed in: the scheduled sync, the demo, the status bar.

Created by ``ui.main`` after the first sign-in, once per app run; :meth:`close` at exit.
The scheduled sync (``services.sync_job``) acts as the system, so it starts here once
and runs on through idle locks; :meth:`SessionRuntime.switch` (another operator signed
in after a lock) only refreshes what the status bar shows.  "Sync now" and Retry run as
the signed-in operator, within their stores.  Order history loads a closed app left
unfinished resume at start (as the system); their progress shows beside the sync's.
Thread: GUI; everything that blocks goes through ``ui.ops``.
"""

from __future__ import annotations

import gc
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.amazon.models import Store, SyncResult
from app.errors import SyncAlreadyRunning
from app.notices import StoresChanged, SyncFinished
from ui.history_status import HistoryStatusWidget
from ui.ops import Job, Lane, Op, when_done
from ui.sync_status import SyncStatusWidget

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger("muttefik.ui")


def freeze_long_lived_objects() -> None:
    """Leave the objects alive now out of every future garbage collection.

    A full (generation 2) collection walks every object the collector tracks and holds
    the GIL throughout.  With PySide6 and the service layer loaded that is hundreds of
    thousands of objects, nearly all modules, classes and widgets that live as long as
    the process; a full collection that a sync thread happened to trigger stalled the
    GUI for 80-110 ms (bench/sync_gui.py).  ``gc.freeze`` moves them to the permanent
    generation, in O(1); later collections walk only what was created since.

    Called once, at the end of startup (the window is shown), before any background
    work starts: a later freeze would also pin whatever a running job holds at that
    moment, for good.  The ``gc.collect()`` first frees startup's garbage, so it is not
    frozen with them.
    """
    gc.collect()
    gc.freeze()


class SessionRuntime(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.services = window.services
        self.sync_job = self.services.sync_job
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
        window.qt_events.on(SyncFinished, lambda _n: self._refresh_last_success(), owner=self)
        # A store's order history load (Amazon's order reports): its progress beside
        # the sync's; "Try again" resumes it as the signed-in operator.
        self._store_names: dict[int, str] = {}
        self.history_status = HistoryStatusWidget(
            cancel=self.services.history.cancel,
            resume=self._resume_history,
            store_name=self._store_names.get,
            qt_events=window.qt_events,
        )
        window.add_status_widget(self.history_status, permanent=False)
        window.qt_events.on(StoresChanged, lambda _n: self._refresh_store_names(), owner=self)

    @property
    def actor(self) -> Any:
        return getattr(self.window.session, "actor", None)

    def start(self) -> None:
        """Begin background work (once per app run, after the first sign-in)."""
        if self.actor is None:
            return
        from app.amazon.spapi import warm_up

        Op(self.window, lambda job: warm_up(), lane=Lane.NET).on_failure(
            lambda exc: log.warning("preparing the Amazon client failed: %s", type(exc).__name__)
        ).run()
        demo = self.services.core.profile.demo
        # The demo syncs its store once the fake Amazon runs; later rounds keep the schedule.
        self.sync_job.start(run_now=not demo)
        self.services.mail_job.start()
        # The language model and the starter templates load off the GUI thread, so the
        # first draft of the session is as quick as the next.
        self.services.drafting.warm_up()
        # Labels kept for reprinting (opt-in) expire within 24 h: drop expired ones now.
        labels, actor = self.services.labels, self.actor
        Op(self.window, lambda job: labels.purge_reprint_cache(actor)).on_failure(
            lambda exc: log.warning("expired labels not purged: %s", type(exc).__name__)
        ).run()
        if demo:
            self._start_demo()
        else:
            self._resume_history_loads()
        self._refresh_last_success()
        self._refresh_store_names()

    def switch(self) -> None:
        """Another (or the same) operator signed in after a lock."""
        self._refresh_last_success()
        self._refresh_store_names()

    def _resume_history_loads(self) -> None:
        """Order history loads a closed (or killed) app left running go on, as the
        system, from their last finished report.  It reads the DB: off the GUI thread."""
        history = self.services.history

        def resumed(store_ids: list[int]) -> None:
            if store_ids:
                log.info("order history loads resumed: %d", len(store_ids))

        Op(self.window, lambda job: history.resume_unfinished()).on_success(resumed).on_failure(
            lambda exc: log.warning("order history loads not resumed: %s", type(exc).__name__)
        ).run()

    def _resume_history(self, store_id: int) -> Any:
        """The status bar's "Try again": the store's load resumes (days None), as the
        operator.  Returns at once (the long lane runs it); raises ``HistoryRunning``."""
        return self.services.history.start(self.actor, store_id)

    def _refresh_store_names(self) -> None:
        """The names the history status shows (the operator's stores)."""
        actor = self.actor
        if actor is None:
            return

        def show(stores: list[Store]) -> None:
            self._store_names.clear()
            self._store_names.update({s.id: s.name for s in stores})
            self.history_status.refresh()

        when_done(
            self.services.stores.list_stores(actor),
            show,
            lambda exc: log.warning("reading store names failed: %s", type(exc).__name__),
            parent=self.window,
        )

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

        def failed(exc: BaseException) -> None:
            if self._closed:
                return  # the window closed while the demo started: the vault is gone
            from ui.errors import show_error

            show_error(self.window, exc)

        Op(self.window, work).on_success(started).on_failure(failed).run()

    def _run_sync(self, job: Job, store_id: int | None) -> list[SyncResult]:
        """ "Sync now" / Retry from the status bar, as the operator.  Long lane."""
        actor = self.actor
        stores = self.services.stores.list_stores(actor).result()
        results = []
        for store in stores:
            if job.cancelled:
                break
            if store_id is not None and store.id != store_id:
                continue
            if not self.services.stores.has_credentials(actor, store.id):
                continue
            try:
                results.append(self.services.sync.sync_store(actor, store.id, job.cancel))
            except SyncAlreadyRunning:
                continue
        return results

    def _cancel_running(self) -> None:
        self.sync_job.cancel_current()

    def _refresh_last_success(self) -> None:
        actor = self.actor
        if actor is None:
            return

        def show(when: datetime | None) -> None:
            if when is not None:
                self.sync_status.set_last_success(when)

        when_done(
            self.services.sync.last_success(actor),
            show,
            lambda exc: log.warning("reading sync state failed: %s", type(exc).__name__),
            parent=self.window,
        )

    def close(self) -> None:
        """Stop the demo (exit); the scheduled sync stops with the job host (``Core.close``).
        Waits briefly for the demo's sync to stop between pages."""
        if self._closed:
            return
        self._closed = True
        if self.demo is not None:
            self.demo.close(timeout=5)
            self.demo = None
