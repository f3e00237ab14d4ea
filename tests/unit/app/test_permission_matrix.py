"""Every public method of every service in ``app.services.Services``, for every kind of
caller: allowed, or refused with ``PermissionDenied``.

The callers (``KINDS``) are real operator rows in a real vault, plus the system
principal and no session at all:

``admin``        an enabled admin, on store B
``agent_own``    an enabled agent, on its own store A
``agent_other``  the same agent, on store B (not its store)
``disabled``     an admin disabled since its ``Actor`` was made, on store A
``stale``        an ``Actor`` saying admin for an operator demoted to agent of A, on B
``forged``       an ``Actor`` claiming admin of A and B for an agent of A, on B
``missing``      an ``Actor`` for an operator id that does not exist, on store A
``system``       ``access.SYSTEM`` (background work, its narrow permissions), on B
``none``         no ``Actor`` (``None``: no session), on store A

A cell is *allowed* when the call returns (a Future's result included) or raises a
seller-facing error other than ``PermissionDenied`` (wrong password, no such order):
the permission check let it through.  Any other exception fails the test.

Methods that take no caller are listed in ``NO_ACTOR`` with the reason.  A public
method in neither table fails :func:`test_every_public_service_method_is_in_the_matrix`,
so a new service method cannot skip the matrix.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import itertools
import threading
import typing
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app import access, settings
from app.amazon import orders_repo
from app.amazon.models import (
    Credentials,
    DeliveryState,
    Money,
    Order,
    OrderItem,
    OrderStatus,
    Region,
    Store,
    StoreDraft,
)
from app.amazon.orders_repo import OrderQuery
from app.amazon.spapi.orders import OrderNotFound, Page
from app.amazon.spapi.reports import ProcessingStatus, Report
from app.amazon.spapi.shipping import (
    CannotCancel,
    DimensionUnit,
    PurchaseRefused,
    Rate,
    RateQuote,
    ShipmentNotFound,
    WeightUnit,
)
from app.amazon.stores import secret_name
from app.audit import AuditFilter
from app.auth.hashing import fast_hashing_for_tests
from app.auth.models import Actor
from app.auth.rbac import Role
from app.drafting.models import Intent, ProviderConfig, ProviderKind
from app.drafting.service import TEMPLATES, Knowledge, Template
from app.errors import PermissionDenied, UserError
from app.fulfillment.models import BatchLine, BatchState, PackagePreset, ShippingDefaults
from app.mail.models import MailAccount, MailboxKind
from app.privacy.models import RequestSource, Subject, SubjectKind
from app.services import Core, Services, build_services
from tests.helpers.operators import put_operator

KINDS = (
    "admin",
    "agent_own",
    "agent_other",
    "disabled",
    "stale",
    "forged",
    "missing",
    "system",
    "none",
)
ADMIN_ONLY = frozenset({"admin"})
#: Enabled operators that exist (any role): methods that check only "signed in".
OPERATORS = frozenset({"admin", "agent_own", "agent_other", "stale", "forged"})
SIGNED_IN = OPERATORS | {"system"}
#: ``view_store`` / ``sync_orders`` on the target store.
ON_STORE = frozenset({"admin", "agent_own", "system"})
#: ``reply_to_buyers`` on the target store (operators only: the system never replies).
REPLY_ON_STORE = frozenset({"admin", "agent_own"})
#: ``ship_orders`` on the target store (operators only: the system buys no labels).
SHIP_ON_STORE = frozenset({"admin", "agent_own"})

_NOW = datetime(2026, 1, 1, tzinfo=UTC)
CREDS = Credentials(lwa_client_secret="amzn1.oa2-cs.v1.secret", refresh_token="Atzr|token")
_names = itertools.count(1)


class _NoAmazon:
    """The SP-API client of the matrix: no network, no orders."""

    def search_orders(self, params: dict[str, Any]) -> Page:
        return Page(orders=[], next_token=None, upper_bound=None, rate_limit=None)

    def get_order(self, order_id: str, included: Any = None) -> Any:
        raise OrderNotFound()

    def close(self) -> None:
        pass


def _refusing_factory(store: Store, creds: Credentials) -> Any:
    return _NoAmazon()


class _NoReports:
    """The Reports client of the matrix: every range has no orders (CANCELLED)."""

    def create_report(self, marketplace_ids: Any, start: datetime, end: datetime) -> Any:
        return "report-1", None

    def get_report(self, report_id: str) -> Report:
        return Report(report_id, ProcessingStatus.CANCELLED, None, None, None, None)

    def close(self) -> None:
        pass


class _NoShipping:
    """The Shipping client of the matrix: no rates, every other call refused by Amazon."""

    def get_rates(self, request: Any) -> RateQuote:
        return RateQuote(order_id=request.order_id, request_token="t", rates=())

    def purchase(self, quote: Any, rate_id: str, spec: Any) -> Any:
        raise PurchaseRefused()

    def documents(self, shipment_id: str, reference: str, spec: Any) -> Any:
        raise ShipmentNotFound()

    def cancel(self, shipment_id: str) -> None:
        raise CannotCancel()

    def tracking(self, tracking_id: str, carrier_id: str) -> Any:
        raise ShipmentNotFound()

    def close(self) -> None:
        pass


def _a_quote(order_id: str) -> RateQuote:
    rate = Rate(
        rate_id="r1",
        carrier_id="UPS",
        carrier_name="UPS",
        service_id="UPS_GROUND",
        service_name="Ground",
        total=Money(Decimal("7.45"), "EUR"),
    )
    return RateQuote(order_id=order_id, request_token="t", rates=(rate,))


_BOX = PackagePreset(
    store_id=0,
    name="Box",
    length=Decimal(10),
    width=Decimal(8),
    height=Decimal(4),
    dimension_unit=DimensionUnit.INCH,
    weight=Decimal(2),
    weight_unit=WeightUnit.POUND,
)


@dataclasses.dataclass
class World:
    services: Services
    core: Core
    store_a: int
    store_b: int
    actors: dict[str, Actor | None]
    _threads: dict[int, int] = dataclasses.field(default_factory=dict)

    def target(self, kind: str) -> int:
        return (
            self.store_a if kind in ("agent_own", "disabled", "missing", "none") else self.store_b
        )

    def scratch_store(self) -> int:
        """A store of its own for a call that changes or removes it."""
        name = f"Scratch {next(_names)}"

        def write(conn: Any) -> int:
            cur = conn.execute(
                "INSERT INTO stores(name, region, marketplace_ids, lwa_client_id, demo, "
                "created_at, updated_at) VALUES (?, 'EU', '[\"A1PA6795UKMFR9\"]', 'client', 0, "
                "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                (name,),
            )
            return int(cur.lastrowid)

        return int(self.core.vault.call_write(write))

    def thread_in(self, store_id: int) -> int:
        """A buyer-message thread (with one message) in ``store_id``, made once."""
        if store_id not in self._threads:

            def write(conn: Any) -> int:
                thread = conn.execute(
                    "INSERT INTO threads(store_id, alias, last_message_at, created_at, "
                    "updated_at) VALUES (?, 'b@marketplace.amazon.com', "
                    "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                    (store_id,),
                ).lastrowid
                conn.execute(
                    "INSERT INTO messages(thread_id, store_id, direction, received_at, "
                    "created_at, folder, source_key, dedup_key) VALUES (?, ?, 'in', "
                    "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'INBOX', 'k', 'k')",
                    (thread, store_id),
                )
                return int(thread)

            self._threads[store_id] = int(self.core.vault.call_write(write))
        return self._threads[store_id]

    def order_in(self, store_id: int) -> str:
        """An unshipped merchant-fulfilled order of ``store_id``."""
        order_id = f"{900 + store_id:03d}-0000000-{store_id:07d}"
        now = datetime(2026, 1, 1, tzinfo=UTC)
        order = Order(
            order_id=order_id,
            store_id=store_id,
            marketplace_id="A1PA6795UKMFR9",
            marketplace_name="Amazon.de",
            status=OrderStatus.UNSHIPPED,
            purchase_date=now,
            last_updated=now,
            fulfillment_channel="MFN",
            items=(OrderItem("1", "B000TEST01", "SKU-1", "A mug", 1),),
            delivery_state=DeliveryState.TO_SHIP,
        )
        self.core.vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [order], now=now))
        return order_id

    def shipment_in(self, store_id: int) -> int:
        """A bought label of an order of ``store_id`` (a new row each call)."""
        order_id = self.order_in(store_id)
        n = next(_names)

        def write(conn: Any) -> int:
            return int(
                conn.execute(
                    "INSERT INTO shipments(store_id, order_id, state, shipment_id, carrier_id, "
                    "tracking_id, label_format, created_at) VALUES (?, ?, 'bought', ?, 'UPS', "
                    "?, 'PDF', '2026-01-01T00:00:00Z')",
                    (store_id, order_id, f"shp-{n}", f"1Z{n:08d}"),
                ).lastrowid
            )

        return int(self.core.vault.call_write(write))

    def message_in(self, store_id: int) -> int:
        thread = self.thread_in(store_id)
        return int(
            self.core.vault.call(
                lambda conn: conn.execute(
                    "SELECT id FROM messages WHERE thread_id = ?", (thread,)
                ).fetchone()[0]
            )
        )

    def maildir(self, store_id: int) -> MailAccount:
        """A Maildir mailbox account for ``store_id`` (not saved)."""
        import mailbox
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="matrix-maildir-"))
        mailbox.Maildir(folder / "box", create=True)
        return MailAccount(
            store_id=store_id,
            kind=MailboxKind.MAILDIR,
            from_address="seller@example.com",
            maildir_path=str(folder / "box"),
        )

    def scratch_operator(self) -> int:
        """An agent without a password (setup pending), for a call that changes it."""
        n = next(_names)
        return put_operator(
            self.core.vault,
            Actor(id=100 + n, username=f"scratch{n}", display_name="S", role=Role.AGENT),
        ).id


def draft(name: str | None = None) -> StoreDraft:
    return StoreDraft(
        name=name or f"Shop {next(_names)}",
        region=Region.EU,
        marketplace_ids=("A1PA6795UKMFR9",),
        lwa_client_id="amzn1.application-oa2-client.abc",
    )


@pytest.fixture
def world(core: Core) -> World:
    services = build_services(core)
    services.auth.hasher = fast_hashing_for_tests()
    services.operators.hasher = fast_hashing_for_tests()
    services.stores.client_factory = _refusing_factory
    services.sync.client_factory = _refusing_factory
    services.history.client_factory = lambda store, creds: _NoReports()
    services.labels.client_factory = lambda store, creds: _NoShipping()
    vault = core.vault
    a, b = (
        vault.call_write(
            lambda conn, n=n: int(
                conn.execute(
                    "INSERT INTO stores(name, region, marketplace_ids, lwa_client_id, demo, "
                    "created_at, updated_at) VALUES (?, 'EU', '[\"A1PA6795UKMFR9\"]', 'client', "
                    "0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                    (n,),
                ).lastrowid
            )
        )
        for n in ("Store A", "Store B")
    )
    for store_id in (a, b):
        for which, value in (("lwa-client-secret", "secret"), ("refresh-token", "Atzr|t")):
            core.secrets.set(secret_name(store_id, which), value)

    def op(op_id: int, name: str, role: Role, stores: frozenset[int] = frozenset()) -> Actor:
        return Actor(id=op_id, username=name, display_name=name, role=role, store_ids=stores)

    admin = put_operator(vault, op(1, "ada", Role.ADMIN))
    agent = put_operator(vault, op(2, "bora", Role.AGENT, frozenset({a})))
    disabled = op(3, "cem", Role.ADMIN)
    put_operator(vault, dataclasses.replace(disabled, disabled=True))
    stale = op(4, "sam", Role.ADMIN)
    put_operator(vault, op(4, "sam", Role.AGENT, frozenset({a})))
    put_operator(vault, op(6, "fiona", Role.AGENT, frozenset({a})))
    forged = op(6, "fiona", Role.ADMIN, frozenset({a, b}))
    # Everyone enrolled MFA: the recovery-code calls reach their password check, and the
    # profile has its first admin (a key rotation by no one is refused).
    vault.call_write(
        lambda conn: conn.execute(
            "UPDATE operators SET totp_secret = 'JBSWY3DPEHPK3PXP', mfa_enrolled_at = created_at"
        )
    )
    actors: dict[str, Actor | None] = {
        "admin": admin,
        "agent_own": agent,
        "agent_other": agent,
        "disabled": disabled,
        "stale": stale,
        "forged": forged,
        "missing": op(999, "ghost", Role.ADMIN),
        "system": access.SYSTEM,
        "none": None,
    }
    return World(services, core, a, b, actors)


Call = Callable[[World, Any, int], Any]

#: "service.method" → (who may call it, how to call it with (world, actor, store_id)).
MATRIX: dict[str, tuple[frozenset[str], Call]] = {
    # --- stores -------------------------------------------------------------------------
    "stores.list_stores": (SIGNED_IN, lambda w, a, s: w.services.stores.list_stores(a)),
    "stores.find_store": (SIGNED_IN, lambda w, a, s: w.services.stores.find_store(a, "Store A")),
    "stores.has_credentials": (ON_STORE, lambda w, a, s: w.services.stores.has_credentials(a, s)),
    "stores.create_store": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.stores.create_store(a, draft(), CREDS),
    ),
    "stores.update_store": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.stores.update_store(a, w.scratch_store(), draft()),
    ),
    "stores.set_credentials": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.stores.set_credentials(a, w.scratch_store(), CREDS),
    ),
    "stores.delete_store": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.stores.delete_store(a, w.scratch_store()),
    ),
    "stores.test_connection": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.stores.test_connection(a, draft(), CREDS),
    ),
    # --- sync ---------------------------------------------------------------------------
    "sync.sync_state": (ON_STORE, lambda w, a, s: w.services.sync.sync_state(a, s)),
    "sync.last_success": (SIGNED_IN, lambda w, a, s: w.services.sync.last_success(a)),
    "sync.sync_store": (ON_STORE, lambda w, a, s: w.services.sync.sync_store(a, s, _cancelled())),
    "sync.fetch_order": (SIGNED_IN, lambda w, a, s: w.services.sync.fetch_order(a, "111-1")),
    "sync.fetch_order_now": (
        ON_STORE,
        lambda w, a, s: w.services.sync.fetch_order_now(a, s, "111-1"),
    ),
    # --- order history (Amazon's order reports) -------------------------------------------
    "history.load": (ON_STORE, lambda w, a, s: w.services.history.load(a, s, 7)),
    "history.start": (ON_STORE, lambda w, a, s: w.services.history.start(a, s, 7)),
    "history.state": (ON_STORE, lambda w, a, s: w.services.history.state(a, s)),
    # --- orders -------------------------------------------------------------------------
    "orders.read": (SIGNED_IN, lambda w, a, s: w.services.orders.read(a, lambda r: r.counts())),
    "orders.search_ids": (
        SIGNED_IN,
        lambda w, a, s: w.services.orders.search_ids(a, OrderQuery()),
    ),
    "orders.get_order": (SIGNED_IN, lambda w, a, s: w.services.orders.get_order(a, "111-1")),
    "orders.counts": (SIGNED_IN, lambda w, a, s: w.services.orders.counts(a)),
    "orders.stores_and_marketplaces": (
        SIGNED_IN,
        lambda w, a, s: w.services.orders.stores_and_marketplaces(a),
    ),
    "orders.fetch_order": (SIGNED_IN, lambda w, a, s: w.services.orders.fetch_order(a, "111-1")),
    "orders.open_order": (
        ON_STORE,
        lambda w, a, s: w.services.orders.open_order(a, s, "111-1"),
    ),
    # --- settings -----------------------------------------------------------------------
    "settings.read": (
        SIGNED_IN,
        lambda w, a, s: w.services.settings.read(a, settings.SYNC_INTERVAL_MINUTES),
    ),
    "settings.all": (SIGNED_IN, lambda w, a, s: w.services.settings.all(a)),
    "settings.set": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.settings.set(a, settings.SYNC_INTERVAL_MINUTES, 30),
    ),
    # --- audit --------------------------------------------------------------------------
    "audit.read": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.audit.read(a, lambda r: r.seqs(AuditFilter(), limit=5)),
    ),
    "audit.export": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.audit.export(a, AuditFilter(), "csv", io.StringIO()),
    ),
    # --- unattended sync ----------------------------------------------------------------
    "unattended.status": (SIGNED_IN, lambda w, a, s: w.services.unattended.status(a)),
    "unattended.enable": (ADMIN_ONLY, lambda w, a, s: w.services.unattended.enable(a)),
    "unattended.disable": (ADMIN_ONLY, lambda w, a, s: w.services.unattended.disable(a)),
    # --- database key -------------------------------------------------------------------
    "keys.rotate": (ADMIN_ONLY, lambda w, a, s: w.services.keys.rotate(a, lambda: "unused")),
    # --- operators ----------------------------------------------------------------------
    "operators.list_operators": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.list_operators(a),
    ),
    "operators.get_operator": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.get_operator(a, w.scratch_operator()),
    ),
    "operators.list_stores": (SIGNED_IN, lambda w, a, s: w.services.operators.list_stores(a)),
    "operators.add_operator": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.add_operator(
            a,
            username=f"new{next(_names)}",
            display_name="New",
            email="new@example.com",
            role=Role.AGENT,
        ),
    ),
    "operators.new_setup_code": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.new_setup_code(a, w.scratch_operator()),
    ),
    "operators.update_operator": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.update_operator(
            a, w.scratch_operator(), display_name="Renamed", email="r@example.com"
        ),
    ),
    "operators.disable": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.disable(a, w.scratch_operator()),
    ),
    "operators.enable": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.enable(a, w.scratch_operator()),
    ),
    "operators.reset_password": (
        ADMIN_ONLY,  # the scratch operator has no password yet: refused as input
        lambda w, a, s: w.services.operators.reset_password(a, w.scratch_operator()),
    ),
    "operators.reset_mfa": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.reset_mfa(a, w.scratch_operator()),
    ),
    "operators.unlock": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.unlock(a, w.scratch_operator()),
    ),
    "operators.assign_stores": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.assign_stores(a, w.scratch_operator(), {s}),
    ),
    "operators.set_role": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.operators.set_role(a, w.scratch_operator(), Role.ADMIN),
    ),
    # --- auth: the caller's own account -------------------------------------------------
    "auth.change_password": (  # no password stored: refused as a wrong password
        OPERATORS,
        lambda w, a, s: w.services.auth.change_password(a, "old", "Velvet-Orbit-73-Lantern!"),
    ),
    "auth.recovery_codes_left": (OPERATORS, lambda w, a, s: w.services.auth.recovery_codes_left(a)),
    "auth.regenerate_recovery_codes": (
        OPERATORS,
        lambda w, a, s: w.services.auth.regenerate_recovery_codes(a, "wrong"),
    ),
    # Ends the caller's own session: also for an operator disabled meanwhile.
    "auth.sign_out": (OPERATORS | {"disabled"}, lambda w, a, s: w.services.auth.sign_out(a)),
    # --- buyer messages -------------------------------------------------------------------
    "inbox.read": (SIGNED_IN, lambda w, a, s: w.services.inbox.read(a, lambda r: r.counts())),
    "inbox.counts": (SIGNED_IN, lambda w, a, s: w.services.inbox.counts(a)),
    "inbox.save_draft": (
        REPLY_ON_STORE,
        lambda w, a, s: w.services.inbox.save_draft(a, w.thread_in(s), "Thanks"),
    ),
    "inbox.mark_no_response": (
        REPLY_ON_STORE,
        lambda w, a, s: w.services.inbox.mark_no_response(a, w.thread_in(s)),
    ),
    "inbox.mark_read": (
        REPLY_ON_STORE,
        lambda w, a, s: w.services.inbox.mark_read(a, w.thread_in(s)),
    ),
    "mail.get_account": (ON_STORE, lambda w, a, s: w.services.mail.get_account(a, s)),
    "mail.accounts": (SIGNED_IN, lambda w, a, s: w.services.mail.accounts(a)),
    "mail.save_account": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.mail.save_account(a, w.maildir(w.scratch_store()), None),
    ),
    "mail.remove_account": (  # no mailbox there: refused after the check
        ADMIN_ONLY,
        lambda w, a, s: w.services.mail.remove_account(a, w.scratch_store()),
    ),
    "mail.test_account": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.mail.test_account(a, w.maildir(s), None),
    ),
    "mail.open_source": (
        ON_STORE,
        lambda w, a, s: w.services.mail.open_source(a, w.maildir(s)).close(),
    ),
    "mail.fetch": (ON_STORE, lambda w, a, s: w.services.mail.fetch(a, s)),
    "mail.send_reply": (
        REPLY_ON_STORE,
        lambda w, a, s: w.services.mail.send_reply(a, w.thread_in(s), "Thanks"),
    ),
    "mail.attachment": (
        ON_STORE,
        lambda w, a, s: w.services.mail.attachment(a, w.message_in(s), 0),
    ),
    # --- drafting -----------------------------------------------------------------------
    "drafting.draft": (
        REPLY_ON_STORE,
        lambda w, a, s: w.services.drafting.draft(a, w.thread_in(s)),
    ),
    "drafting.personalise": (
        REPLY_ON_STORE,
        lambda w, a, s: w.services.drafting.personalise(a, w.thread_in(s), "Hi {buyer_first_name}"),
    ),
    "drafting.providers": (SIGNED_IN, lambda w, a, s: w.services.drafting.providers(a)),
    "drafting.save_provider": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.drafting.save_provider(
            a,
            ProviderConfig(
                f"Model {next(_names)}", ProviderKind.OPENAI, "http://127.0.0.1:9/v1", "m"
            ),
            "sk-test",
        ),
    ),
    "drafting.remove_provider": (  # no such provider: refused after the check
        ADMIN_ONLY,
        lambda w, a, s: w.services.drafting.remove_provider(a, "Nobody's model"),
    ),
    "drafting.test_provider": (  # the built-in templates: answered without the network
        ADMIN_ONLY,
        lambda w, a, s: w.services.drafting.test_provider(a, TEMPLATES, None),
    ),
    "drafting.templates": (SIGNED_IN, lambda w, a, s: w.services.drafting.templates(a)),
    "drafting.save_template": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.drafting.save_template(
            a, Template("", "Thanks", Intent.OTHER, "en-US", "Thank you.")
        ),
    ),
    "drafting.remove_template": (  # no such template: refused after the check
        ADMIN_ONLY,
        lambda w, a, s: w.services.drafting.remove_template(a, "999999"),
    ),
    "drafting.knowledge": (SIGNED_IN, lambda w, a, s: w.services.drafting.knowledge(a)),
    "drafting.save_knowledge": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.drafting.save_knowledge(a, Knowledge(tone="Warm.")),
    ),
    # --- shipping labels ------------------------------------------------------------------
    "labels.read": (SIGNED_IN, lambda w, a, s: w.services.labels.read(a, lambda r: r.recent())),
    "labels.shippable": (
        SIGNED_IN,
        lambda w, a, s: w.services.labels.shippable(a, [w.order_in(s)]),
    ),
    "labels.shipments": (
        SIGNED_IN,
        lambda w, a, s: w.services.labels.shipments(a, [w.order_in(s)]),
    ),
    "labels.get_rates": (  # no ship-from address: refused after the check
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.get_rates(
            a, w.order_in(s), dataclasses.replace(_BOX, store_id=s)
        ),
    ),
    "labels.buy": (  # Amazon refuses the purchase: nothing bought, after the check
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.buy(a, w.order_in(s), _a_quote(w.order_in(s)), "r1"),
    ),
    "labels.forget_uncertain": (  # the label is bought, not uncertain: refused after the check
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.forget_uncertain(a, w.shipment_in(s)),
    ),
    "labels.documents": (  # Amazon does not know the shipment: after the check
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.documents(a, w.shipment_in(s)),
    ),
    "labels.record_printed": (
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.record_printed(
            a, w.shipment_in(s), printer="LabelPDF", label_format="PDF"
        ),
    ),
    "labels.slip_recipient": (  # the name is off by default: Amazon is not asked
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.slip_recipient(a, w.order_in(s)),
    ),
    "labels.remember_printer": (
        SIGNED_IN,
        lambda w, a, s: w.services.labels.remember_printer(a, "SLIP", "LabelPDF"),
    ),
    "labels.void": (  # Amazon refuses to void: after the check
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.void(a, w.shipment_in(s)),
    ),
    "labels.refresh_tracking": (
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.refresh_tracking(a, w.shipment_in(s)),
    ),
    "labels.batch_rates": (  # another store's order is simply not found
        OPERATORS,
        lambda w, a, s: w.services.labels.batch_rates(a, [w.order_in(s)]),
    ),
    "labels.batch_buy": (
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.batch_buy(
            a,
            [
                BatchLine(
                    w.order_in(s),
                    s,
                    BatchState.RATED,
                    quote=_a_quote(w.order_in(s)),
                    rate=_a_quote(w.order_in(s)).rates[0],
                )
            ],
        ),
    ),
    "labels.save_preset": (
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.save_preset(
            a, dataclasses.replace(_BOX, store_id=s, name=f"Box {next(_names)}")
        ),
    ),
    "labels.delete_preset": (  # no such preset: refused after the check
        SHIP_ON_STORE,
        lambda w, a, s: w.services.labels.delete_preset(a, s, 999999),
    ),
    "labels.save_defaults": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.labels.save_defaults(a, ShippingDefaults(store_id=s)),
    ),
    "labels.save_printer": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.labels.save_printer(
            a, "Zebra", "zpl_tcp", "10.0.0.9:9100", "{}"
        ),
    ),
    "labels.remove_printer": (  # not set up: refused after the check
        ADMIN_ONLY,
        lambda w, a, s: w.services.labels.remove_printer(a, "Nobody's printer"),
    ),
    # --- privacy: deletion requests, erasing and exporting a buyer's data (admins) ----------
    "subjects.register": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.subjects.register(
            a, RequestSource.SELLER, Subject(SubjectKind.ORDER, w.order_in(s)), _NOW
        ),
    ),
    "subjects.requests": (ADMIN_ONLY, lambda w, a, s: w.services.subjects.requests(a)),
    "subjects.execute": (  # no such request: refused after the check
        ADMIN_ONLY,
        lambda w, a, s: w.services.subjects.execute(a, 999999),
    ),
    "subjects.erase": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.subjects.erase(a, Subject(SubjectKind.ORDER, w.order_in(s))),
    ),
    "subjects.export": (
        ADMIN_ONLY,
        lambda w, a, s: w.services.subjects.export(a, Subject(SubjectKind.ORDER, w.order_in(s))),
    ),
    "subjects.write_export": (  # a folder that is a file: refused after the check
        ADMIN_ONLY,
        lambda w, a, s: w.services.subjects.write_export(
            a, Subject(SubjectKind.ORDER, w.order_in(s)), Path(__file__)
        ),
    ),
    "privacy.purge": (  # a dry run: the permission check, then nothing to change
        frozenset({"admin", "system"}),
        lambda w, a, s: w.services.privacy.purge(a, dry_run=True),
    ),
    "privacy.status": (ADMIN_ONLY, lambda w, a, s: w.services.privacy.status(a)),
    "privacy.runs": (ADMIN_ONLY, lambda w, a, s: w.services.privacy.runs(a)),
    "labels.purge_reprint_cache": (
        SIGNED_IN,
        lambda w, a, s: w.services.labels.purge_reprint_cache(a),
    ),
}

#: Public methods without a caller, and why that is right.
NO_ACTOR: dict[str, str] = {
    "auth.needs_first_admin": "sign-in step: is there an enrolled operator yet",
    "auth.begin_first_admin": "first-run wizard: refuses once an operator is enrolled",
    "auth.complete_enrollment": "sign-in step: needs the enrollment token of a checked password",
    "auth.check_password": "sign-in step: the credentials are the check",
    "auth.begin_enrollment": "sign-in step: needs the token of a checked password",
    "auth.check_second_factor": "sign-in step: needs the token of a checked password",
    "auth.redeem_setup_code": "sign-in step: the one-time setup code is the check",
    "auth.demo_session": "signs in the demo operator; refuses outside the demo profile",
    "auth.password_problems": "policy feedback on typed text; reads no account",
    "auth.password_rules": "the policy in words; reads no account",
    "sync.is_running": "whether a sync holds a store's lock in memory; reads no data",
    "sync.call_amazon": "one SP-API request for a service that checked its caller already",
    "history.is_running": "whether a history load runs for a store, in memory; reads no data",
    "history.cancel": "stops a running history load between steps (the load checked its caller)",
    "history.resume_unfinished": "the app restarts loads a closed app left running, as the system",
    "audit.verify": "integrity of the whole chain; reveals no entry",
    "unattended.sign_in": "the keychain credential, checked against its stored hash, is the check",
    "audit.verify_against": "checks an export the caller already holds against the chain",
    "audit.actions": "the static list of action names, for the filter",
    "sync_job.start": "the scheduled sync acts as the system principal; the app starts it",
    "sync_job.run_now": "asks the scheduled sync (system principal) to run at once",
    "sync_job.cancel_current": "stops the scheduled sync's current run",
    "sync_job.wait_idle": "waits for the scheduled sync's current run to end",
    "sync_job.status": "last run, error and progress of the scheduled sync",
    "mail_job.start": "the scheduled mail check acts as the system principal; the app starts it",
    "mail_job.run_now": "asks the scheduled mail check (system principal) to run at once",
    "mail_job.cancel_current": "stops the scheduled mail check's current round",
    "mail_job.wait_idle": "waits for the scheduled mail check's current round to end",
    "mail_job.status": "last run, error and progress of the scheduled mail check",
    "mail_job.stop_watchers": "stops the IDLE connections of the scheduled mail check",
    "drafting.warm_up": "loads the offline language model in the background; reads no data",
    "privacy_job.start": "the scheduled purge acts as the system principal; the app starts it",
    "privacy_job.run_now": "asks the scheduled purge (system principal) to run at once",
    "privacy_job.cancel_current": "stops the scheduled purge's current run between batches",
    "privacy_job.wait_idle": "waits for the scheduled purge's current run to end",
    "privacy_job.status": "last run, error and progress of the scheduled purge",
}


def _cancelled() -> threading.Event:
    """A cancel already set: the sync checks its caller, then stops before the network."""
    event = threading.Event()
    event.set()
    return event


def _service_classes() -> dict[str, type]:
    hints = typing.get_type_hints(Services)
    return {f.name: hints[f.name] for f in dataclasses.fields(Services) if f.name != "core"}


def _public_methods() -> set[str]:
    found = set()
    for service, cls in _service_classes().items():
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") or not callable(member):
                continue
            found.add(f"{service}.{name}")
    return found


def test_every_public_service_method_is_in_the_matrix() -> None:
    public = _public_methods()
    listed = set(MATRIX) | set(NO_ACTOR)
    assert not set(MATRIX) & set(NO_ACTOR)
    assert public - listed == set(), "add these methods to MATRIX (or NO_ACTOR, with a reason)"
    assert listed - public == set(), "these are no longer public service methods"


def _outcome(call: Call, w: World, actor: Any, store_id: int) -> str:
    try:
        result = call(w, actor, store_id)
        if isinstance(result, Future):
            result.result(timeout=30)
    except PermissionDenied:
        return "denied"
    except UserError:
        return "allowed"  # past the permission check, refused for another reason
    return "allowed"


@pytest.mark.parametrize("service", sorted({m.split(".")[0] for m in MATRIX}))
def test_permission_matrix(world: World, service: str) -> None:
    """One world per service (its calls change only rows made for them); every cell
    that differs is listed, as ``method: {kind: got}``."""
    wrong: dict[str, dict[str, str]] = {}
    for method in sorted(m for m in MATRIX if m.startswith(service + ".")):
        allowed, call = MATRIX[method]
        for kind in KINDS:
            got = _outcome(call, world, world.actors[kind], world.target(kind))
            if got != ("allowed" if kind in allowed else "denied"):
                wrong.setdefault(method, {})[kind] = got
    assert wrong == {}


def test_a_forged_admin_creates_no_store_and_writes_nothing(world: World) -> None:
    forged = world.actors["forged"]
    before = world.services.stores.list_stores(world.actors["admin"]).result()
    with pytest.raises(PermissionDenied):
        world.services.stores.create_store(forged, draft("Forged shop"), CREDS)
    assert world.services.stores.list_stores(world.actors["admin"]).result() == before
    assert world.services.stores.find_store(world.actors["admin"], "Forged shop").result() is None


@pytest.mark.parametrize("kind", ["stale", "forged"])
def test_list_reads_follow_the_stored_operator_not_the_actor(world: World, kind: str) -> None:
    actor = world.actors[kind]
    assert [s.id for s in world.services.stores.list_stores(actor).result()] == [world.store_a]
    assert [s.id for s in world.services.operators.list_stores(actor).result()] == [world.store_a]
    assert world.services.stores.find_store(actor, "Store B").result() is None


def test_the_system_syncs_every_store_and_its_audit_entries_name_no_operator(
    world: World,
) -> None:
    result = world.services.sync.sync_store(access.SYSTEM, world.store_b, _cancelled())
    assert result.cancelled
    entries = world.services.audit.read(
        world.actors["admin"], lambda r: r.entries(r.seqs(AuditFilter(), limit=2))
    ).result()
    assert [e.action for e in entries] == ["sync_finished", "sync_started"]
    assert all(e.actor_id is None for e in entries)


def test_last_success_is_of_the_stores_the_caller_may_see(world: World) -> None:
    admin, agent = world.actors["admin"], world.actors["agent_own"]
    result = world.services.sync.sync_store(admin, world.store_b, threading.Event())
    assert not result.cancelled
    assert world.services.sync.last_success(admin).result() == result.finished_at
    assert world.services.sync.last_success(agent).result() is None  # B is not its store
