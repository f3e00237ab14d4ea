"""Demo mode: a fake Amazon in-process, a demo store connected to it, orders syncing.

``start_demo(core)`` starts the fake SP-API on 127.0.0.1, creates (or, after a restart,
re-points) the demo store, stores the fake's credentials in the demo profile's keychain
namespace and asks the scheduled sync (``services.sync_job``, started by the GUI) to
sync it at once, so a newcomer sees orders within seconds; a store just created also
loads its order history through the fake's order reports (``services.history``).  The
fake's refresh token is random per run ("Atzr|demo-…"), so it can never equal a real
store's token (python-amazon-sp-api caches access tokens by it).

Only for the demo profile (``--demo``): it refuses to touch a real profile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from app import settings
from app.amazon.models import Credentials, Region, Store, StoreDraft
from app.amazon.spapi.shipping import Address, DimensionUnit, WeightUnit
from app.auth.models import Actor
from app.demo.fake_ai import FakeAI
from app.demo.fake_printer import FakeZplPrinter
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import MARKETPLACES
from app.demo.mail import (
    DEMO_MAILDIR_NAME,
    DEMO_SELLER_ADDRESS,
    DemoMailFeed,
    demo_orders,
    seed_demo_mailbox,
)
from app.fulfillment.models import PackagePreset, ShippingDefaults
from app.fulfillment.printers import PrintSettings
from app.mail.models import MailAccount, MailboxKind

if TYPE_CHECKING:
    from app.amazon.sync_job import SyncJob
    from app.services import Core, Services

DEMO_AI = "Demo AI"
DEMO_PRINTER = "Demo thermal printer (ZPL)"
DEMO_UNDELIVERABLE_EVERY = 15
#: The demo seller's warehouse (fictional): Amazon needs a ship-from address for rates.
DEMO_SHIP_FROM = Address(
    name="Demo Seller Shipping",
    company_name="Kestrel & Co. (demo)",
    address_line1="410 Terry Avenue North",
    city="Seattle",
    state_or_region="WA",
    postal_code="98109",
    country_code="US",
    phone="+12065550100",
)

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
    printer: FakeZplPrinter | None = None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the running sync (between pages), then the fake server it talks to."""
        if self.mail_feed is not None:
            self.mail_feed.close(timeout)
        if self.ai is not None:
            self.ai.close()
        if self.printer is not None:
            self.printer.close()
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
    server = FakeSpApi(orders=orders, seed=1, speed=speed)
    # About one order in 15 has an address the carrier rejects: a batch of labels in
    # the demo shows how a failure is reported, as a real morning sometimes does.
    server.shipping.undeliverable_every = DEMO_UNDELIVERABLE_EVERY
    server.start()
    try:
        store = _ensure_store(core, services, actor, server)
        feed = _start_mail(core, server, lambda _key: services.mail_job.run_now(store.id))
        _ensure_mailbox(core, services, actor, store)
        ai = _start_ai(services, actor)
        printer = _ensure_shipping(services, actor, store)
    except BaseException:
        server.close()
        raise
    services.sync_job.run_now(store.id)
    services.mail_job.run_now(store.id)
    log.info("demo started: %d orders at %s", orders, server.base_url)
    return DemoHandle(
        server=server,
        store=store,
        sync_job=services.sync_job,
        mail_feed=feed,
        ai=ai,
        printer=printer,
    )


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


def _ensure_shipping(services: Services, actor: Actor, store: Store) -> FakeZplPrinter:
    """Labels in the demo: a ship-from address, package presets (a default box and a few
    SKUs) on the first run, and a stand-in thermal printer on loopback (its port changes
    each run)."""
    labels = services.labels
    if labels.read(actor, lambda r: r.defaults(store.id)).result().ship_from is None:
        labels.save_defaults(actor, ShippingDefaults(store_id=store.id, ship_from=DEMO_SHIP_FROM))
        for name, sku, size, weight in (
            ("Small box", None, (10, 8, 4), "1.5"),
            # The fake's seller SKUs carry the marketplace (KST-FP-12-US): amazon.com's.
            ("Pan box", "KST-FP-12-US", (16, 14, 4), "3.2"),
            ("Bottle tube", "NRD-BT-750-US", (12, 4, 4), "1.1"),
            ("Tent bag", "TRK-TP-2P-US", (24, 8, 8), "6.5"),
        ):
            labels.save_preset(
                actor,
                PackagePreset(
                    store_id=store.id,
                    name=name,
                    sku=sku,
                    length=Decimal(size[0]),
                    width=Decimal(size[1]),
                    height=Decimal(size[2]),
                    dimension_unit=DimensionUnit.INCH,
                    weight=Decimal(weight),
                    weight_unit=WeightUnit.POUND,
                ),
            )
    printer = FakeZplPrinter().start()
    try:
        labels.save_printer(
            actor, DEMO_PRINTER, "zpl_tcp", printer.address, PrintSettings(dpi=203).to_json()
        )
    except BaseException:
        printer.close()
        raise
    return printer


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
        store = services.stores.create_store(actor, draft, creds, demo=True)
        # A store just connected loads its history through Amazon's order reports, as a
        # seller's new store does (the status bar shows it).
        services.history.start(actor, store.id)
        return store
    # The fake listens on a new port each run: re-point the store, new credentials.
    store = services.stores.update_store(actor, existing.id, draft)
    services.stores.set_credentials(actor, existing.id, creds)
    return store
