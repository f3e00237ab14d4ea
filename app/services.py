"""The one place where the app's services are built with their real defaults.

``Core`` holds infrastructure (vault, secrets, clock, the job host and its change
notices); services take what they need as keyword-only constructor arguments.  Each
area adds its service to :class:`Services` and builds it in :func:`build_services`.
"""

from __future__ import annotations

from dataclasses import dataclass

from app import access
from app.amazon.history import HistoryService
from app.amazon.orders_service import OrdersService
from app.amazon.spapi.reports import real_client_factory as reports_client_factory
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.amazon.sync_job import SyncJob
from app.audit import make_audit_log
from app.audit_service import AuditService
from app.auth.service import AuthService, OperatorService
from app.clock import Clock, SystemClock
from app.drafting.service import DraftService
from app.fulfillment.service import LabelService
from app.jobs import JobHost
from app.key_service import KeyService
from app.mail.inbox_service import InboxService
from app.mail.mail_job import MailJob
from app.mail.service import MailService
from app.notices import Notices
from app.paths import Profile
from app.privacy.purge_job import PurgeJob
from app.privacy.service import PrivacyService
from app.privacy.subjects import SubjectService
from app.secrets import SecretStore
from app.settings_service import SettingsService
from app.unattended import UnattendedService
from app.vault import Vault
from app.vault.check import CheckResult
from app.vault.keys import KeyMode


class Core:
    """Infrastructure that lives as long as the open vault.

    ``jobs``: the app's one :class:`~app.jobs.JobHost` (the GUI builds it at start, so
    the work before the vault opens runs on the same lanes; otherwise one is built
    here).  ``notices`` is the host's hub.  :meth:`close` stops the jobs, then closes
    the vault, then records the audit heads still waiting.
    """

    def __init__(
        self,
        *,
        profile: Profile,
        vault: Vault,
        secrets: SecretStore,
        clock: Clock | None = None,
        jobs: JobHost | None = None,
    ) -> None:
        self.profile = profile
        self.vault = vault
        self.secrets = secrets
        self.clock: Clock = clock or SystemClock()
        self.jobs = jobs or JobHost(clock=self.clock)
        self.notices: Notices = self.jobs.notices

    @property
    def key_mode(self) -> KeyMode:
        """Where the database key is kept (the window says it; the UI never holds the vault)."""
        return self.vault.mode

    def check_integrity(self) -> CheckResult:
        """The full integrity check of the data file.  Blocks: run it on a worker."""
        return self.vault.integrity_check()

    def close(self) -> None:
        from app import audit_anchor

        self.jobs.shutdown()  # long jobs stop between pages, before the vault goes
        self.vault.close()
        audit_anchor.flush()  # heads still waiting to be recorded outside the file


@dataclass
class Services:
    core: Core
    audit: AuditService
    auth: AuthService
    operators: OperatorService
    stores: StoreService
    sync: SyncService
    #: Order history through Amazon's order reports (a store's first backfill).
    history: HistoryService
    orders: OrdersService
    settings: SettingsService
    keys: KeyService
    unattended: UnattendedService
    #: The scheduled sync; started by the GUI (``sync_job.start()``), not by the CLI.
    sync_job: SyncJob
    inbox: InboxService
    mail: MailService
    #: The scheduled mail check (polling + IDLE); started by the GUI, not by the CLI.
    mail_job: MailJob
    drafting: DraftService
    labels: LabelService
    subjects: SubjectService
    privacy: PrivacyService
    #: The scheduled PII purge (system); started by the GUI when the vault opens.
    privacy_job: PurgeJob


def build_services(core: Core) -> Services:
    # No audit key: AuditLog refuses to append (fail closed) rather than write unsealed.
    audit_log = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    stores = StoreService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        notices=core.notices,
        audit=audit_log,
    )
    sync = SyncService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        notices=core.notices,
        stores=stores,
        audit=audit_log,
    )
    auth = AuthService(
        vault=core.vault,
        clock=core.clock,
        audit=audit_log,
        demo=core.profile.demo,
        notices=core.notices,
    )
    mail = MailService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        notices=core.notices,
        audit=audit_log,
        fetch_order=lambda store_id, order_id: sync.fetch_order_now(
            access.SYSTEM, store_id, order_id, retry=False
        ),
    )
    sync_job = SyncJob(sync=sync, jobs=core.jobs)
    labels = LabelService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        notices=core.notices,
        audit=audit_log,
    )
    privacy = PrivacyService(
        vault=core.vault, clock=core.clock, notices=core.notices, audit=audit_log, jobs=core.jobs
    )
    # Buy Shipping confirms the order as shipped at Amazon: fetch it soon.
    labels.after_purchase = sync_job.run_now
    return Services(
        core=core,
        audit=AuditService(vault=core.vault, audit=audit_log),
        auth=auth,
        operators=OperatorService(
            vault=core.vault, clock=core.clock, audit=audit_log, notices=core.notices
        ),
        stores=stores,
        sync=sync,
        history=HistoryService(
            vault=core.vault,
            clock=core.clock,
            notices=core.notices,
            audit=audit_log,
            stores=stores,
            sync=sync,
            client_factory=reports_client_factory(),
            jobs=core.jobs,
        ),
        orders=OrdersService(vault=core.vault, sync=sync, jobs=core.jobs),
        settings=SettingsService(
            vault=core.vault, clock=core.clock, audit=audit_log, notices=core.notices
        ),
        keys=KeyService(vault=core.vault, secrets=core.secrets, audit=audit_log, auth=auth),
        unattended=UnattendedService(
            vault=core.vault, secrets=core.secrets, clock=core.clock, audit=audit_log
        ),
        sync_job=sync_job,
        inbox=InboxService(
            vault=core.vault, notices=core.notices, clock=core.clock, audit=audit_log
        ),
        mail=mail,
        mail_job=MailJob(mail=mail, jobs=core.jobs),
        drafting=DraftService(
            vault=core.vault,
            secrets=core.secrets,
            clock=core.clock,
            notices=core.notices,
            audit=audit_log,
            jobs=core.jobs,
        ),
        labels=labels,
        subjects=SubjectService(
            vault=core.vault,
            clock=core.clock,
            notices=core.notices,
            audit=audit_log,
            secrets=core.secrets,
        ),
        privacy=privacy,
        privacy_job=PurgeJob(privacy=privacy, jobs=core.jobs),
    )
