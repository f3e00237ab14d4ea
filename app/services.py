"""The one place where the app's services are built with their real defaults.

``Core`` holds infrastructure (vault, secrets, events, clock, network pool); services
take what they need as keyword-only constructor arguments.  Each area adds its service
to :class:`Services` and builds it in :func:`build_services`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.amazon.orders_service import OrdersService
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.audit import make_audit_log
from app.audit_service import AuditService
from app.auth.service import AuthService, OperatorService
from app.clock import Clock, SystemClock
from app.events import EventBus
from app.paths import Profile
from app.secrets import SecretStore
from app.settings_service import SettingsService
from app.vault import Vault


def _net_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="muttefik-net")


@dataclass
class Core:
    profile: Profile
    vault: Vault
    secrets: SecretStore
    events: EventBus = field(default_factory=EventBus)
    clock: Clock = field(default_factory=SystemClock)
    net: ThreadPoolExecutor = field(default_factory=_net_pool)

    def close(self) -> None:
        from app import audit_anchor

        self.net.shutdown(wait=False, cancel_futures=True)
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
    orders: OrdersService
    settings: SettingsService


def build_services(core: Core) -> Services:
    # No audit key: AuditLog refuses to append (fail closed) rather than write unsealed.
    audit_log = make_audit_log(core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key)
    stores = StoreService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        events=core.events,
        audit=audit_log,
    )
    sync = SyncService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        events=core.events,
        stores=stores,
        audit=audit_log,
    )
    return Services(
        core=core,
        audit=AuditService(vault=core.vault, audit=audit_log),
        auth=AuthService(
            vault=core.vault, clock=core.clock, audit=audit_log, demo=core.profile.demo
        ),
        operators=OperatorService(vault=core.vault, clock=core.clock, audit=audit_log),
        stores=stores,
        sync=sync,
        orders=OrdersService(vault=core.vault, sync=sync, net=core.net),
        settings=SettingsService(vault=core.vault, clock=core.clock, audit=audit_log),
    )
