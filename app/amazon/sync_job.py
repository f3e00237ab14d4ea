"""The scheduled order sync: the first :class:`~app.jobs.PeriodicJob`.

Every ``sync.interval_minutes`` (a change of the setting, announced by
``SettingsChanged``, applies to the wait under way), and at once on
:meth:`SyncJob.run_now`, it syncs every store with credentials in the keychain, one after
another, as :data:`app.access.SYSTEM`: the schedule belongs to the app, not to whoever
is signed in, so the GUI starts it once per app run (``ui/runtime.py``, after the first
sign-in, once gc.freeze ran) and it runs on through idle locks and operator changes.

A round's stores fail independently: the sync service publishes each failure
(``SyncFailed``) and the round goes on to the next store; the round's ``last_error`` is
the first failure's title.  "Sync now" from the status bar runs as the operator instead
(``ui/runtime.py``), so it stays within their stores and is audited as them.

Thread: the job runs on the long lane; the control methods may be called from any thread.
"""

from __future__ import annotations

import logging
import threading

from app import access, settings
from app.amazon.sync import SyncService
from app.errors import SyncAlreadyRunning, UserError
from app.jobs import Job, JobHost, JobStatus, PeriodicJob
from app.notices import SettingsChanged

log = logging.getLogger("muttefik.sync")

NAME = "Order sync"


class SyncJob:
    """Build with the app's services; :meth:`start` once (the CLI never does)."""

    def __init__(self, *, sync: SyncService, jobs: JobHost) -> None:
        self.sync = sync
        self.jobs = jobs
        self._lock = threading.Lock()
        self._all = False  # a round over every store was asked for
        self._wanted: set[int] = set()  # stores asked for one by one
        self._started = False
        self.periodic = PeriodicJob(NAME, self._round, interval=self._interval)

    def start(self, *, run_now: bool = True) -> None:
        """Begin the schedule (idempotent); ``run_now``: the first round starts at once."""
        with self._lock:
            if self._started:
                return
            self._started = True
        if run_now:
            self.run_now()
        self.jobs.notices.subscribe(SettingsChanged, self._settings_changed)
        self.jobs.add_periodic(self.periodic)

    def run_now(self, store_id: int | None = None) -> None:
        """Sync one store (or all) as soon as the running round, if any, ends."""
        with self._lock:
            if store_id is None:
                self._all = True
            else:
                self._wanted.add(store_id)
        self.periodic.run_now()

    def cancel_current(self) -> None:
        """Cancel the running round between pages; the schedule goes on."""
        self.periodic.cancel_current()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no round runs (after :meth:`cancel_current`); False on timeout."""
        return self.periodic.wait_idle(timeout)

    def status(self) -> JobStatus:
        return self.periodic.status()

    def _settings_changed(self, notice: SettingsChanged) -> None:
        if settings.SYNC_INTERVAL_MINUTES.key in notice.keys:
            self.periodic.reschedule()

    def _interval(self) -> float:
        minutes = self.sync.vault.call(
            lambda conn: settings.get(conn, settings.SYNC_INTERVAL_MINUTES)
        )
        return float(minutes) * 60.0

    def _round(self, job: Job) -> None:
        with self._lock:
            everything, wanted = self._all or not self._wanted, self._wanted
            self._all, self._wanted = False, set()
        stores = self.sync.stores.list_stores(access.SYSTEM).result()
        if not everything:
            stores = [s for s in stores if s.id in wanted]
        first_error: UserError | None = None
        for done, store in enumerate(stores):
            job.check()
            job.progress(done, len(stores), store.name)
            if not self.sync.stores.has_credentials(access.SYSTEM, store.id):
                continue
            try:
                self.sync.sync_store(access.SYSTEM, store.id, job.cancel)
            except SyncAlreadyRunning:
                continue  # "Sync now" got there first
            except UserError as exc:  # published (SyncFailed) and logged by the service
                first_error = first_error or exc
            except Exception:
                log.exception("scheduled sync of store %d crashed", store.id)
                first_error = first_error or UserError(detail="the sync crashed")
        job.check()
        if first_error is not None:
            raise first_error
