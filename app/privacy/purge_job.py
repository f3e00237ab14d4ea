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

from app import access, settings
from app.errors import UserError
from app.jobs import Job, JobHost, ScheduledJob
from app.privacy.service import PrivacyService, PurgeRunning

NAME = "Privacy purge"


class PurgeFailed(UserError):
    title = "Privacy purge failed"
    message = (
        "The privacy purge could not finish. It tries again at its next run; if this "
        "keeps happening, send the log folder to support."
    )


class PurgeJob(ScheduledJob):
    """Build with the app's services; :meth:`start` once (the CLI never does)."""

    def __init__(self, *, privacy: PrivacyService, jobs: JobHost) -> None:
        super().__init__(
            NAME, jobs=jobs, vault=privacy.vault, setting=settings.PURGE_INTERVAL_MINUTES
        )
        self.privacy = privacy
        privacy.next_scheduled = lambda: self.status().next_run if self._started else None

    def _round(self, job: Job) -> None:
        try:
            self.privacy.purge(access.SYSTEM, job=job)
        except PurgeRunning:
            return  # "Purge now" got there first
        except UserError:
            raise
        except Exception as exc:  # recorded and logged by the service
            raise PurgeFailed(detail=type(exc).__name__) from exc
