"""Demo mode: a fake Amazon in-process, a demo store connected to it, orders syncing.

``start_demo(core)`` starts the fake SP-API on 127.0.0.1, creates (or, after a restart,
re-points) the demo store, stores the fake's credentials in the demo profile's keychain
namespace and asks the scheduled sync (``services.sync_job``, started by the GUI) to
sync it at once, so a newcomer sees orders within seconds.  The fake's refresh token is
random per run ("Atzr|demo-…"), so it can never equal a real store's token
(python-amazon-sp-api caches access tokens by it).

Only for the demo profile (``--demo``): it refuses to touch a real profile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app import settings
from app.amazon.models import Credentials, Region, Store, StoreDraft
from app.auth.models import Actor
from app.demo.fake_ai import FakeAI
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import MARKETPLACES
from app.demo.mail import (
    DEMO_MAILDIR_NAME,
    DEMO_SELLER_ADDRESS,
    DemoMailFeed,
    demo_orders,
    seed_demo_mailbox,
)
from app.mail.models import MailAccount, MailboxKind

if TYPE_CHECKING:
    from app.amazon.sync_job import SyncJob
    from app.services import Core, Services

DEMO_AI = "Demo AI"

log = logging.getLogger("muttefik.demo")

DEMO_STORE_NAME = "Demo store"
DEMO_ORDERS = 2000
# The demo shows the whole seeded history (120 days).
DEMO_BACKFILL_DAYS = 130
# Amazon's rate limits, sped up so 2,000 orders arrive in seconds.
DEMO_SPEED = 2000.0


@dataclass
class DemoHandle:
    server: FakeSpApi
    store: Store
    sync_job: SyncJob
    mail_feed: DemoMailFeed | None = None
    ai: FakeAI | None = None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the running sync (between pages), then the fake server it talks to."""
        if self.mail_feed is not None:
            self.mail_feed.close(timeout)
        if self.ai is not None:
            self.ai.close()
        self.sync_job.cancel_current()
        if not self.sync_job.wait_idle(timeout):
            log.debug("the demo's sync did not stop within %.0f s", timeout)
        self.server.close()


def start_demo(
    core: Core,
    services: Services | None = None,
    *,
    actor: Actor | None = None,
    orders: int = DEMO_ORDERS,
    speed: float | None = DEMO_SPEED,
) -> DemoHandle:
    """Start the demo (blocks briefly on the DB thread and keychain: worker thread)."""
    if not core.profile.demo:
        raise RuntimeError("the demo runs only in the demo profile")
    from app.services import build_services

    services = services or build_services(core)
    actor = actor or services.auth.demo_session().actor  # the real demo operator
    server = FakeSpApi(orders=orders, seed=1, speed=speed).start()
    try:
        store = _ensure_store(core, services, actor, server)
        feed = _start_mail(core, server, lambda _key: services.mail_job.run_now(store.id))
        _ensure_mailbox(core, services, actor, store)
        ai = _start_ai(services, actor)
    except BaseException:
        server.close()
        raise
    services.sync_job.run_now(store.id)
    services.mail_job.run_now(store.id)
    log.info("demo started: %d orders at %s", orders, server.base_url)
    return DemoHandle(server=server, store=store, sync_job=services.sync_job, mail_feed=feed, ai=ai)


def demo_maildir(core: Core) -> Path:
    """The demo store's mailbox: a Maildir in the demo profile's folder."""
    return core.profile.root / DEMO_MAILDIR_NAME


def _start_ai(services: Services, actor: Actor) -> FakeAI:
    """A stand-in AI provider on loopback, saved as the drafting provider "Demo AI" (its
    port changes each run); the default stays the offline templates."""
    ai = FakeAI(chunk_delay=0.03).start()
    try:
        services.drafting.save_provider(actor, ai.provider_config(name=DEMO_AI), None)
    except BaseException:
        ai.close()
        raise
    return ai


def _ensure_mailbox(core: Core, services: Services, actor: Actor, store: Store) -> None:
    """The demo store's mailbox is the demo Maildir (no SMTP: replies go to its Sent)."""
    if services.mail.get_account(actor, store.id).result() is not None:
        return
    account = MailAccount(
        store_id=store.id,
        kind=MailboxKind.MAILDIR,
        from_address=DEMO_SELLER_ADDRESS,
        maildir_path=str(demo_maildir(core)),
    )
    services.mail.save_account(actor, account, None)


def _start_mail(
    core: Core, server: FakeSpApi, delivered: Callable[[str], None] | None = None
) -> DemoMailFeed:
    """Seed the demo Maildir (first run only) and deliver new buyer mail while it runs."""
    now = core.clock.now()
    orders = demo_orders(server.store)
    seed_demo_mailbox(demo_maildir(core), orders, now=now, seed=1)
    # A new stream each run: a restarted demo must not repeat earlier Message-IDs.
    return DemoMailFeed(
        demo_maildir(core), orders, core.clock, seed=int(now.timestamp()), on_delivered=delivered
    ).start()


def _ensure_store(core: Core, services: Services, actor: Actor, server: FakeSpApi) -> Store:
    now = core.clock.now()
    core.vault.call_write(
        lambda conn: settings.put(conn, settings.SYNC_BACKFILL_DAYS, DEMO_BACKFILL_DAYS, now=now)
    )
    draft = StoreDraft(
        name=DEMO_STORE_NAME,
        region=Region.NA,
        marketplace_ids=tuple(m.marketplace_id for m in MARKETPLACES),
        lwa_client_id=server.client_id,
        sp_api_endpoint=server.base_url,
        lwa_endpoint=server.lwa_url,
    )
    creds = Credentials(lwa_client_secret=server.client_secret, refresh_token=server.refresh_token)
    existing = next((s for s in services.stores.list_stores(actor).result() if s.demo), None)
    if existing is None:
        return services.stores.create_store(actor, draft, creds, demo=True)
    # The fake listens on a new port each run: re-point the store, new credentials.
    store = services.stores.update_store(actor, existing.id, draft)
    services.stores.set_credentials(actor, existing.id, creds)
    return store
