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

from app import access, settings
from app.amazon.sync import SyncService
from app.errors import SyncAlreadyRunning, UserError
from app.jobs import Job, JobHost, ScheduledJob

log = logging.getLogger("muttefik.sync")

NAME = "Order sync"


class SyncJob(ScheduledJob):
    """Build with the app's services; :meth:`start` once (the CLI never does)."""

    def __init__(self, *, sync: SyncService, jobs: JobHost) -> None:
        super().__init__(NAME, jobs=jobs, vault=sync.vault, setting=settings.SYNC_INTERVAL_MINUTES)
        self.sync = sync

    def _round(self, job: Job) -> None:
        wanted = self._take_stores()
        stores = self.sync.stores.list_stores(access.SYSTEM).result()
        if wanted is not None:
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
