"""The scheduled PII purge: a :class:`~app.jobs.PeriodicJob` like the order sync.

Every ``privacy.purge_interval_minutes`` (a changed setting applies to the wait under
way), at start and on :meth:`PurgeJob.run_now` ("Purge now"), it runs
:meth:`PrivacyService.purge` as :data:`app.access.SYSTEM`: the retention promise belongs
to the profile, not to whoever is signed in, so it is started when the vault opens, also
before anyone signs in, and goes on through idle locks.  Cancelling (shutdown,
:meth:`cancel_current`) stops it between batches: a batch is one transaction.

A failed run is recorded by the service (``privacy_runs``, the audit log) and shown as
the job's ``last_error``; the next round retries it.

Thread: the job runs on the long lane; the control methods may be called from any thread.
"""

from __future__ import annotations

import threading

from app import access, settings
from app.errors import UserError
from app.jobs import Job, JobHost, JobStatus, PeriodicJob
from app.notices import SettingsChanged
from app.privacy.service import PrivacyService, PurgeRunning

NAME = "Privacy purge"


class PurgeFailed(UserError):
    title = "Privacy purge failed"
    message = (
        "The privacy purge could not finish. It tries again at its next run; if this "
        "keeps happening, send the log folder to support."
    )


class PurgeJob:
    """Build with the app's services; :meth:`start` once (the CLI never does)."""

    def __init__(self, *, privacy: PrivacyService, jobs: JobHost) -> None:
        self.privacy = privacy
        self.jobs = jobs
        self._lock = threading.Lock()
        self._started = False
        self.periodic = PeriodicJob(NAME, self._round, interval=self._interval)
        privacy.next_scheduled = lambda: self.status().next_run if self._started else None

    def start(self, *, run_now: bool = True) -> None:
        """Begin the schedule (idempotent); ``run_now``: the first run starts at once."""
        with self._lock:
            if self._started:
                return
            self._started = True
        if run_now:
            self.run_now()
        self.jobs.notices.subscribe(SettingsChanged, self._settings_changed)
        self.jobs.add_periodic(self.periodic)

    def run_now(self) -> None:
        """Purge as soon as the running round, if any, ends."""
        self.periodic.run_now()

    def cancel_current(self) -> None:
        """Cancel the running round between batches; the schedule goes on."""
        self.periodic.cancel_current()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no round runs; False on timeout."""
        return self.periodic.wait_idle(timeout)

    def status(self) -> JobStatus:
        return self.periodic.status()

    def _settings_changed(self, notice: SettingsChanged) -> None:
        if settings.PURGE_INTERVAL_MINUTES.key in notice.keys:
            self.periodic.reschedule()

    def _interval(self) -> float:
        minutes = self.privacy.vault.call(
            lambda conn: settings.get(conn, settings.PURGE_INTERVAL_MINUTES)
        )
        return float(minutes) * 60.0

    def _round(self, job: Job) -> None:
        try:
            self.privacy.purge(access.SYSTEM, job=job)
        except PurgeRunning:
            return  # "Purge now" got there first
        except UserError:
            raise
        except Exception as exc:  # recorded and logged by the service
            raise PurgeFailed(detail=type(exc).__name__) from exc
