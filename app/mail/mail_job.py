"""The scheduled mail fetch: a :class:`~app.jobs.PeriodicJob` like the order sync.

Every ``mail.poll_minutes`` (default 2; a change applies to the wait under way), at
once on :meth:`MailJob.run_now` ("Check now"), and when an IMAP server that supports
IDLE says the inbox changed, it fetches every connected mailbox, one store after
another, as :data:`app.access.SYSTEM`.  A store's failure is published
(``MailFetchFailed``) and the round goes on; the round's ``last_error`` is the first
failure's title.  The GUI starts it once per app run, beside the sync job; the CLI
never does (``muttefik mail fetch`` runs one fetch itself).

IDLE: one watcher per IMAP mailbox on the long lane, holding its own connection; it
only wakes the periodic job (the fetch itself stays one code path).  A watcher that
fails waits a minute and reconnects; polling goes on regardless.

Thread: the job and the watchers run on the long lane; the control methods may be
called from any thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app import access, settings
from app.errors import UserError
from app.jobs import Job, JobHost, Lane, ScheduledJob
from app.mail.models import MailAccount, MailboxKind
from app.mail.service import MailService
from app.notices import MailAccountsChanged

log = logging.getLogger("muttefik.mail")

NAME = "Mail check"
IDLE_SECONDS = 25 * 60.0  # re-issue IDLE before servers drop it (RFC 2177: 29 min)
RETRY_SECONDS = 60.0
#: IDLE holds a long-lane worker per mailbox: the first few mailboxes get one, the rest
#: are polled (every ``mail.poll_minutes``).
MAX_WATCHERS = 3


class MailJob(ScheduledJob):
    def __init__(self, *, mail: MailService, jobs: JobHost, idle: bool = True) -> None:
        super().__init__(NAME, jobs=jobs, vault=mail.vault, setting=settings.MAIL_POLL_MINUTES)
        self.mail = mail
        self._idle = idle
        self._watchers: dict[int, Job] = {}
        #: Set while an IDLE watcher holds the server's attention (new mail wakes the
        #: check at once); for the status and for tests.
        self.idling = threading.Event()

    def _on_start(self) -> None:
        # Notices come on the DB thread after a commit: never wait on the vault there.
        self.jobs.notices.subscribe(MailAccountsChanged, self._accounts_changed)
        self._watch_all()

    def stop_watchers(self) -> None:
        with self._lock:
            watchers, self._watchers = self._watchers, {}
        for job in watchers.values():
            job.cancel.set()

    def _accounts_changed(self, notice: MailAccountsChanged) -> None:
        try:
            self.jobs.call(Lane.QUERY, self._watch_all)
        except RuntimeError:  # the app is closing (the demo saved its mailbox late)
            log.debug("mailbox change after shutdown: no watchers started")

    def _round(self, job: Job) -> None:
        wanted = self._take_stores()
        accounts = self.mail.accounts(access.SYSTEM).result()
        if wanted is not None:
            accounts = [a for a in accounts if a.store_id in wanted]
        first_error: UserError | None = None
        for done, account in enumerate(accounts):
            job.check()
            job.progress(done, len(accounts), "")
            try:
                self.mail.fetch(access.SYSTEM, account.store_id, job.cancel)
            except UserError as exc:  # published (MailFetchFailed) by the service
                log.info("mail of store %d not fetched: %s", account.store_id, exc.title)
                first_error = first_error or exc
            except Exception:
                log.exception("scheduled mail fetch of store %d crashed", account.store_id)
                first_error = first_error or UserError(detail="the mail check crashed")
        job.check()
        if first_error is not None:
            raise first_error

    # --- IDLE -------------------------------------------------------------------------

    def _watch_all(self) -> None:
        if not self._idle:
            return
        try:
            accounts = self.mail.accounts(access.SYSTEM).result()
        except Exception as exc:  # the vault is closing
            log.info("mail watchers not started (%s)", type(exc).__name__)
            return
        imap = [a for a in accounts if a.kind is MailboxKind.IMAP][:MAX_WATCHERS]
        wanted = {a.store_id for a in imap}
        with self._lock:
            for store_id in set(self._watchers) - wanted:
                self._watchers.pop(store_id).cancel.set()
            new = [a for a in imap if a.store_id not in self._watchers]
            for account in new:
                self._watchers[account.store_id] = Job()
        for account in new:
            # The watcher's job is the host's: shutdown cancels it like any other.
            self.jobs.submit(Lane.LONG, self._watch(account), self._watchers[account.store_id])

    def _watch(self, account: MailAccount) -> Callable[[Job], None]:
        def watch(job: Job) -> None:
            while not job.cancelled:
                try:
                    if not self._idle_once(account, job.cancel):
                        return  # no IDLE on this server: polling only
                except Exception as exc:
                    log.info(
                        "IDLE on store %d's mailbox ended (%s); retrying in a minute",
                        account.store_id,
                        type(exc).__name__,
                    )
                    job.cancel.wait(RETRY_SECONDS)

        return watch

    def _idle_once(self, account: MailAccount, stop: threading.Event) -> bool:
        """Hold one IDLE connection until it ends; False if the server has no IDLE."""
        source = self.mail.open_source(access.SYSTEM, account)
        try:
            if not source.supports_idle():
                return False
            inbox, _ = source.folders()
            while not stop.is_set():
                if source.idle_wait(inbox, IDLE_SECONDS, stop, ready=self.idling):
                    self.run_now(account.store_id)
            return True
        finally:
            source.close()
