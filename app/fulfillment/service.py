"""The labels door: rates, buying, documents, voiding and tracking for merchant-fulfilled
orders, package presets, shipping defaults and label printers.

Reads return a Future of one DB hop (:meth:`LabelService.read` with a
:class:`LabelsReader`), like the orders door.  Everything that talks to Amazon blocks:
call it on a worker (``ui.ops.Op(..., lane=Lane.NET)``, a batch on ``Lane.LONG``) or in
the CLI.  Every method checks the caller for ``ship_orders`` on the order's store (shipping
settings and printers: ``manage_settings``) inside its transaction.

**Store-nothing.**  Label documents carry the buyer's name and address.  They are kept
in this process's memory (:class:`LabelMemory`), never in the DB, a file or a log; a
reprint after a restart downloads them again from Amazon.  Only if the seller turns on
``labels.reprint_cache`` are they kept, AES-GCM encrypted under a key in the keychain,
for at most 24 hours.

**Never buy twice.**  The client cannot send Amazon's idempotency key, so a row in
state ``buying`` is written before Amazon is asked (a unique index keeps a second
purchase for the order from starting), an order with a live label is refused unless
the seller asks for another one, and a purchase whose outcome is unknown (connection
cut, 5xx) is kept as ``uncertain``: nothing is bought for that order again until the
seller says it was not bought (:meth:`forget_uncertain`).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets as _secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from app import access, settings
from app.amazon import orders_repo
from app.amazon.models import Money, Order, OrderStatus, Store
from app.amazon.orders_repo import to_db_time
from app.amazon.spapi import ThrottledError
from app.amazon.spapi import orders as orders_api
from app.amazon.spapi.shipping import (
    Address,
    DocumentSpec,
    DocumentType,
    LabelDocument,
    LabelFormat,
    Parcel,
    ParcelItem,
    RateExpired,
    RateQuote,
    RateRequest,
    ShippingApi,
    ShippingClientFactory,
    real_client_factory,
)
from app.amazon.stores import load_store, load_stores, read_credentials
from app.audit import Action, AuditLog
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.errors import (
    AmazonBadResponse,
    AmazonServerError,
    NetworkDown,
    OperationCancelled,
    PermissionDenied,
    UserError,
)
from app.fulfillment import repo
from app.fulfillment.models import (
    BatchLine,
    BatchState,
    Bought,
    PackagePreset,
    Shipment,
    ShipmentState,
    ShippableOrder,
    ShippingDefaults,
    service_text,
)
from app.jobs import Job
from app.notices import Notices, ShipmentsChanged
from app.secrets import SecretStore
from app.vault import Vault

log = logging.getLogger("muttefik.labels")

T = TypeVar("T")
Conn = Any

#: Order states a label can be bought for.
SHIPPABLE = frozenset({OrderStatus.UNSHIPPED, OrderStatus.PARTIALLY_SHIPPED})
#: Keychain entry of the reprint cache's key (only made when the cache is turned on).
CACHE_KEY_NAME = "labels:reprint-cache-key"
#: Shipments whose documents stay in memory (a day's labels, many times over).
MEMORY_LIMIT = 2000
_THROTTLE_TRIES = 5


# --- seller-facing errors ------------------------------------------------------------


class NotShippable(UserError):
    title = "No label for this order"
    message = "A label can be bought only for merchant-fulfilled orders that are not shipped."


class ShipFromMissing(UserError):
    title = "Ship-from address missing"
    message = (
        "Amazon needs the address your parcels leave from. Enter it under Tools → "
        "Shipping… (an administrator can), then get the rates again."
    )


class PresetMissing(UserError):
    title = "Package size missing"
    message = (
        "Enter the package's size and weight, or save a package preset for this product "
        "or a default package for the store (Tools → Shipping…)."
    )


class AlreadyBought(UserError):
    title = "Label already bought"

    def __init__(self, shipment: Shipment) -> None:
        which = ", tracking ".join(
            p for p in (shipment.service_text, shipment.tracking_id) if p and p != "—"
        )
        super().__init__(
            f"A label for order {shipment.order_id} was bought already"
            f"{f' ({which})' if which else ''}. Print it again, or void it first; to send "
            "a second parcel, choose “Buy another label”.",
            detail=f"shipment row {shipment.id}",
        )
        self.shipment = shipment


class PurchaseInProgress(UserError):
    title = "Label being bought"
    message = "A label for this order is being bought right now. Wait for it to finish."


class PurchaseUncertain(UserError):
    title = "Did Amazon buy the label?"
    message = (
        "The connection to Amazon broke while the label was being bought, so we cannot "
        "tell whether it was bought. Check the order's shipping in Seller Central before "
        "buying again: nothing will be bought for this order until you confirm it was not."
    )

    def __init__(
        self,
        shipment: Shipment | None = None,
        *,
        message: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, detail=detail)
        self.shipment = shipment


class PriceChanged(UserError):
    """The rates expired; Amazon's new price for the same service differs."""

    title = "Price changed"

    def __init__(self, quote: RateQuote, rate_id: str, old: Money) -> None:
        rate = quote.rate(rate_id)
        assert rate is not None
        super().__init__(
            f"The rates had expired. {service_text(rate.carrier_name, rate.service_name)} "
            "now costs "
            f"{rate.total} instead of {old}. Buy it at the new price?"
        )
        self.quote = quote
        self.rate_id = rate_id
        self.old = old


class ShipmentGone(UserError):
    title = "Label not found"
    message = "This label is no longer recorded (it may have been voided)."


class NotVoidable(UserError):
    title = "Nothing to void"
    message = "Only a bought label can be voided."


class InvalidPreset(UserError):
    title = "Check the package"
    message = "Enter a name, and a size and weight above zero."


class InvalidShipFrom(UserError):
    title = "Check the address"
    message = "Name, street, city, postcode and a two-letter country code are needed."


# --- labels in memory ---------------------------------------------------------------


class LabelMemory:
    """Documents of the labels bought or downloaded in this run, by shipment row id.
    Process memory only; the oldest are dropped past :data:`MEMORY_LIMIT`."""

    def __init__(self, limit: int = MEMORY_LIMIT) -> None:
        self._docs: OrderedDict[int, tuple[LabelDocument, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def put(self, row_id: int, documents: tuple[LabelDocument, ...]) -> None:
        with self._lock:
            self._docs[row_id] = documents
            self._docs.move_to_end(row_id)
            while len(self._docs) > self._limit:
                self._docs.popitem(last=False)

    def get(self, row_id: int) -> tuple[LabelDocument, ...] | None:
        with self._lock:
            return self._docs.get(row_id)

    def drop(self, row_id: int) -> None:
        with self._lock:
            self._docs.pop(row_id, None)

    def clear(self) -> None:
        with self._lock:
            self._docs.clear()

    def __contains__(self, row_id: object) -> bool:
        with self._lock:
            return row_id in self._docs


# --- reads ------------------------------------------------------------------------------


class LabelsReader:
    """What one caller may see of shipping.  DB thread, inside :meth:`LabelService.read`."""

    def __init__(
        self,
        conn: Conn,
        actor: Actor,
        memory: LabelMemory,
        in_flight: frozenset[int] = frozenset(),
    ) -> None:
        self._conn = conn
        self._memory = memory
        self._in_flight = in_flight
        self.actor, visible = access.current_and_stores(conn, actor)
        self.visible = frozenset(visible)

    def _as_now(self, shipment: Shipment) -> Shipment:
        """A "buying" row no purchase of this run is making was left by a run that ended
        mid-purchase: it is uncertain (the seller must check Seller Central)."""
        return _left_over(shipment, self._in_flight)

    def shippable(self, order_ids: Sequence[str]) -> list[ShippableOrder]:
        """The orders (visible and stored), each with its preset and why not, if not."""
        out = []
        for order_id in order_ids:
            store_id = _order_store(self._conn, order_id)
            if store_id is None or store_id not in self.visible:
                continue
            order = orders_repo.get_order(self._conn, self.actor, order_id)
            if order is not None:
                out.append(_shippable(self._conn, order, self._in_flight))
        return out

    def shipments(self, order_ids: Sequence[str]) -> list[Shipment]:
        return [
            self._as_now(s)
            for s in repo.shipments_for_orders(self._conn, list(order_ids))
            if s.store_id in self.visible
        ]

    def find(self, ref: str) -> Shipment | None:
        """A visible shipment by Amazon's shipment id, or by its record number."""
        found = repo.shipment_by_amazon_id(self._conn, ref)
        if found is None and ref.isdigit():
            found = repo.shipment(self._conn, int(ref))
        if found is None or found.store_id not in self.visible:
            return None
        return self._as_now(found)

    def recent(self, limit: int = 200) -> list[Shipment]:
        return [self._as_now(s) for s in repo.recent_shipments(self._conn, self.visible, limit)]

    def in_memory(self, row_id: int) -> bool:
        """Whether the label can be printed again without asking Amazon."""
        return row_id in self._memory

    def presets(self, store_id: int) -> list[PackagePreset]:
        if store_id not in self.visible:
            return []
        return repo.presets(self._conn, store_id)

    def defaults(self, store_id: int) -> ShippingDefaults:
        if store_id not in self.visible:
            return ShippingDefaults(store_id=store_id)
        return repo.defaults(self._conn, store_id)

    def stores(self) -> list[Store]:
        return [s for s in load_stores(self._conn) if s.id in self.visible]

    def printers(self) -> list[tuple[str, str, str | None, str]]:
        """(name, kind, address, settings JSON) of the label printers set up."""
        return repo.printers(self._conn)

    def last_printers(self) -> dict[str, str]:
        """The printer last used per label format ("PDF", "PNG", "ZPL", "SLIP")."""
        return repo.last_printers(self._conn)

    def reprint_cache_on(self) -> bool:
        return settings.get(self._conn, settings.LABEL_REPRINT_CACHE)


def _order_store(conn: Conn, order_id: str) -> int | None:
    r = conn.execute("SELECT store_id FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    return None if r is None else int(r[0])


def _left_over(shipment: Shipment, in_flight: frozenset[int] | set[int]) -> Shipment:
    if shipment.state is ShipmentState.BUYING and shipment.id not in in_flight:
        return replace(shipment, state=ShipmentState.UNCERTAIN)
    return shipment


def _shippable(conn: Conn, order: Order, in_flight: frozenset[int] = frozenset()) -> ShippableOrder:
    skus = [i.sku for i in order.items if i.sku]
    existing = repo.active_shipment(conn, order.order_id)
    if existing is not None:
        existing = _left_over(existing, in_flight)
    blocked = None
    if order.fulfillment_channel != "MFN":
        blocked = "Fulfilled by Amazon: Amazon ships it."
    elif order.status not in SHIPPABLE:
        blocked = {
            OrderStatus.SHIPPED: "Shipped already.",
            OrderStatus.CANCELLED: "Cancelled.",
        }.get(order.status, "Not ready to ship yet.")
    return ShippableOrder(
        order_id=order.order_id,
        store_id=order.store_id,
        status=order.status,
        fulfillment_channel=order.fulfillment_channel,
        ship_by=order.ship_by_latest,
        items=tuple((i.sku, i.title, i.quantity) for i in order.items),
        preset=repo.preset_for(conn, order.store_id, skus),
        blocked=blocked,
        existing=existing,
    )


# --- the service ------------------------------------------------------------------------


class LabelService:
    """Thread: reads any (Futures); everything else blocks (worker or CLI)."""

    def __init__(
        self,
        *,
        vault: Vault,
        secrets: SecretStore,
        clock: Clock,
        notices: Notices,
        audit: AuditLog,
        client_factory: ShippingClientFactory | None = None,
        orders_client_factory: orders_api.RecipientFactory | None = None,
        retry_base: float = 1.0,
    ) -> None:
        self.vault = vault
        self.secrets = secrets
        self.clock = clock
        self.notices = notices
        self.audit = audit
        self.client_factory = client_factory or real_client_factory()
        #: Orders API clients, only for the buyer's name on a packing slip (opt-in).
        self.orders_client_factory = orders_client_factory or orders_api.recipient_client_factory()
        self.memory = LabelMemory()
        self.retry_base = retry_base
        #: The rate request behind each quote this run made (no PII: the seller's address,
        #: the parcel), so an expired quote can be asked for again.
        self._requests: dict[str, RateRequest] = {}
        self._requests_lock = threading.Lock()
        #: Called with the store's id after a label was bought: Amazon now shows the order
        #: as shipped, so the app's sync wires this to fetch it soon (``build_services``).
        self.after_purchase: Callable[[int], None] | None = None
        #: Rows of purchases this run is making (a "buying" row not here was left by a
        #: run that ended mid-purchase).
        self._buying: set[int] = set()

    # --- reads (DB thread, one job each) -------------------------------------------------

    def read(self, actor: Actor, fn: Callable[[LabelsReader], T]) -> Future[T]:
        in_flight = frozenset(self._buying)
        return self.vault.run(lambda conn: fn(LabelsReader(conn, actor, self.memory, in_flight)))

    def shippable(self, actor: Actor, order_ids: Sequence[str]) -> Future[list[ShippableOrder]]:
        ids = list(order_ids)
        return self.read(actor, lambda r: r.shippable(ids))

    def shipments(self, actor: Actor, order_ids: Sequence[str]) -> Future[list[Shipment]]:
        ids = list(order_ids)
        return self.read(actor, lambda r: r.shipments(ids))

    # --- rates --------------------------------------------------------------------------

    def get_rates(
        self,
        actor: Actor,
        order_id: str,
        package: PackagePreset,
        *,
        ship_date: date | None = None,
        cancel: threading.Event | None = None,
    ) -> RateQuote:
        """Amazon's rates for the order in ``package`` (a preset, or sizes typed in).
        Raises :class:`NotShippable`, :class:`ShipFromMissing`, Amazon's errors.
        Network: worker thread."""
        _check_package(package)
        store, order, defaults = self.vault.call(
            lambda conn: self._order_for_shipping(conn, actor, order_id)
        )
        if defaults.ship_from is None:
            raise ShipFromMissing()
        request = RateRequest(
            order_id=order_id,
            ship_from=defaults.ship_from,
            parcel=_parcel(order, package),
            ship_date=ship_date,
        )
        quote = self._with_client(
            store, cancel, lambda client: client.get_rates(request), retry=True
        )
        with self._requests_lock:
            self._requests[quote.request_token] = request
        return quote

    # --- buying -------------------------------------------------------------------------

    def buy(
        self,
        actor: Actor,
        order_id: str,
        quote: RateQuote,
        rate_id: str,
        *,
        spec: DocumentSpec | None = None,
        preset: str | None = None,
        another: bool = False,
        cancel: threading.Event | None = None,
    ) -> Bought:
        """Buy the label of ``rate_id`` from ``quote``; the documents stay in memory.

        Expired rates are asked for again: the same service at the same price is bought
        at once; at another price :class:`PriceChanged` carries the new quote (buy
        again with it once the seller agrees).  ``another``: the order has a live label
        and the seller wants a second one.  Network: worker thread."""
        rate = quote.rate(rate_id)
        if rate is None or quote.order_id != order_id:
            raise UserError("That rate is not one of this order's rates. Get the rates again.")
        now = self.clock.now()

        def begin(conn: Conn) -> tuple[Store, ShippingDefaults, int, int | None]:
            store, _order, defaults = self._order_for_shipping(conn, actor, order_id)
            existing = repo.active_shipment(conn, order_id)
            if existing is not None:
                existing = _left_over(existing, self._buying)
                if existing.state is ShipmentState.UNCERTAIN:
                    # Left by a run that ended mid-purchase (killed, crashed): maybe bought.
                    repo.purchase_uncertain(conn, existing.id)
                if existing.state is ShipmentState.UNCERTAIN:
                    raise PurchaseUncertain(existing)
                if existing.state is ShipmentState.BUYING:
                    raise PurchaseInProgress()
                if not another:
                    raise AlreadyBought(existing)
            chosen = spec or defaults.document_spec()
            try:
                row_id = repo.begin_purchase(
                    conn,
                    store_id=store.id,
                    order_id=order_id,
                    operator_id=access.audit_actor_id(actor),
                    label_format=chosen.format,
                    dpi=chosen.dpi,
                    preset=preset,
                    carrier_id=rate.carrier_id,
                    carrier=rate.carrier_name,
                    service=rate.service_name,
                    cost=rate.total,
                    now=now,
                )
            except repo.AlreadyBuying:
                raise PurchaseInProgress() from None
            noted.append(row_id)
            self._buying.add(row_id)  # before commit: no one sees the row as left over
            return store, defaults, row_id, access.audit_actor_id(actor)

        noted: list[int] = []
        try:
            store, defaults, row_id, actor_id = self.vault.call_write(begin)
        except BaseException:
            self._buying.difference_update(noted)  # rolled back
            raise
        try:
            return self._buy_started(
                actor,
                order_id,
                quote,
                rate_id,
                rate,
                spec,
                store,
                defaults,
                row_id,
                actor_id,
                cancel,
            )
        finally:
            self._buying.discard(row_id)

    def _buy_started(
        self,
        actor: Actor,
        order_id: str,
        quote: RateQuote,
        rate_id: str,
        rate: Any,
        spec: DocumentSpec | None,
        store: Store,
        defaults: ShippingDefaults,
        row_id: int,
        actor_id: int | None,
        cancel: threading.Event | None,
    ) -> Bought:
        chosen = spec or defaults.document_spec()
        try:
            purchase, bought_rate = self._purchase(store, quote, rate_id, chosen, cancel)
        except PriceChanged:
            self._not_bought(actor_id, row_id, store.id, order_id, "price_changed", "not_bought")
            raise
        except (NetworkDown, AmazonServerError, AmazonBadResponse) as exc:
            # Sent, maybe bought: never buy again without the seller's say-so.
            self._not_bought(actor_id, row_id, store.id, order_id, type(exc).__name__, "uncertain")
            found = self.vault.call(lambda conn: repo.shipment(conn, row_id))
            raise PurchaseUncertain(found, detail=type(exc).__name__) from exc
        except BaseException as exc:
            self._not_bought(actor_id, row_id, store.id, order_id, type(exc).__name__, "not_bought")
            raise
        documents = purchase.documents
        finished = self.clock.now()

        def finish(conn: Conn) -> Shipment:
            repo.finish_purchase(
                conn,
                row_id,
                shipment_id=purchase.shipment_id,
                package_reference=purchase.package_reference,
                tracking_id=purchase.tracking_id,
                now=finished,
            )
            if bought_rate.total != rate.total:
                conn.execute(
                    "UPDATE shipments SET cost_amount = ?, cost_currency = ? WHERE id = ?",
                    (str(bought_rate.total.amount), bought_rate.total.currency, row_id),
                )
            self.audit.append(
                conn,
                actor_id=actor_id,
                action=Action.LABEL_BOUGHT,
                object_type="order",
                object_id=order_id,
                details={
                    "carrier": _token(bought_rate.carrier_id),
                    "service": _token(bought_rate.service_id),
                    "cost": f"{bought_rate.total.currency}:{bought_rate.total.amount}",
                    "format": str(chosen.format),
                },
            )
            self._changed(conn, store.id, order_id)
            found = repo.shipment(conn, row_id)
            assert found is not None
            return found

        try:
            shipment = self.vault.call_write(finish)
        except Exception as exc:
            # Bought at Amazon, not recorded here (disk full, a damaged file): keep the
            # label in memory and the order blocked until the seller has looked.
            log.error("label of row %d bought but not recorded (%s)", row_id, type(exc).__name__)
            self.memory.put(row_id, documents)
            self._not_bought(actor_id, row_id, store.id, order_id, type(exc).__name__, "uncertain")
            raise PurchaseUncertain(
                message="Amazon sold the label, but Müttefik Desk could not record it. Check the "
                "order in Seller Central before buying again: nothing will be bought for this "
                "order until you confirm.",
                detail=type(exc).__name__,
            ) from exc
        if not any(d.type is DocumentType.LABEL for d in documents):
            # Bought, but the label in the answer was missing or unreadable: ask again.
            try:
                return Bought(shipment=shipment, documents=self.documents(actor, row_id)[0])
            except UserError as exc:
                log.warning(
                    "label of row %d bought but not downloaded (%s)", row_id, type(exc).__name__
                )
                return Bought(shipment=shipment, documents=())
        if self.after_purchase is not None:
            try:
                self.after_purchase(store.id)
            except Exception:  # a sync request must not turn a purchase into an error
                log.exception("asking for a sync after a purchase failed")
        documents = tuple(sorted(documents, key=lambda d: d.type is not DocumentType.LABEL))
        self.memory.put(row_id, documents)
        self._cache(row_id, documents)
        log.info("label bought for shipment row %d (%s)", row_id, chosen.format)
        return Bought(shipment=shipment, documents=documents)

    def _purchase(
        self,
        store: Store,
        quote: RateQuote,
        rate_id: str,
        spec: DocumentSpec,
        cancel: threading.Event | None,
    ) -> tuple[Any, Any]:
        rate = quote.rate(rate_id)
        assert rate is not None
        try:
            purchase = self._with_client(
                store, cancel, lambda c: c.purchase(quote, rate_id, spec), retry=False
            )
            return purchase, rate
        except RateExpired:
            with self._requests_lock:
                request = self._requests.get(quote.request_token)
            if request is None:
                raise
        fresh = self._with_client(store, cancel, lambda c: c.get_rates(request), retry=True)
        with self._requests_lock:
            self._requests[fresh.request_token] = request
        same = next(
            (
                r
                for r in fresh.rates
                if r.carrier_id == rate.carrier_id and r.service_id == rate.service_id
            ),
            None,
        )
        if same is None:
            raise RateExpired(
                f"The rates had expired and Amazon no longer offers {rate.carrier_name} "
                f"{rate.service_name} for this order. Choose another service."
            )
        if same.total != rate.total:
            raise PriceChanged(fresh, same.rate_id, rate.total)
        purchase = self._with_client(
            store, cancel, lambda c: c.purchase(fresh, same.rate_id, spec), retry=False
        )
        return purchase, same

    def _not_bought(
        self,
        actor_id: int | None,
        row_id: int,
        store_id: int,
        order_id: str,
        error: str,
        state: str,
    ) -> None:
        def write(conn: Conn) -> None:
            if state == "uncertain":
                repo.purchase_uncertain(conn, row_id)
            else:
                repo.drop_purchase(conn, row_id)
            self.audit.append(
                conn,
                actor_id=actor_id,
                action=Action.LABEL_NOT_BOUGHT,
                object_type="order",
                object_id=order_id,
                details={"error": error, "state": state},
            )
            self._changed(conn, store_id, order_id)

        try:
            self.vault.call_write(write)
        except Exception:  # the original error matters more; the row stays "buying"
            log.exception("recording a failed purchase (row %d) failed", row_id)

    def forget_uncertain(self, actor: Actor, row_id: int) -> None:
        """The seller checked Seller Central: the uncertain purchase did not happen."""

        def write(conn: Conn) -> None:
            found = repo.shipment(conn, row_id)
            if found is None:
                raise ShipmentGone()
            actor_now = access.current(conn, actor, Permission.SHIP_ORDERS, found.store_id)
            found = _left_over(found, self._buying)
            if found.state is not ShipmentState.UNCERTAIN:
                raise UserError("Only a purchase whose outcome is unknown can be marked so.")
            repo.drop_purchase(conn, row_id)
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(actor_now),
                action=Action.LABEL_FORGOTTEN,
                object_type="order",
                object_id=found.order_id,
            )
            self._changed(conn, found.store_id, found.order_id)

        self.vault.call_write(write)

    # --- documents and printing ---------------------------------------------------------

    def documents(
        self, actor: Actor, row_id: int, *, cancel: threading.Event | None = None
    ) -> tuple[tuple[LabelDocument, ...], str]:
        """The shipment's documents (label first) and where they came from: "memory",
        "cache" (the opt-in reprint cache) or "amazon" (downloaded again).  Worker."""
        now = self.clock.now()

        def look(conn: Conn) -> tuple[Shipment, Store, bool, list[Any]]:
            found = self._shipment_checked(conn, actor, row_id)
            store = load_store(conn, found.store_id)
            assert store is not None
            cache_on = settings.get(conn, settings.LABEL_REPRINT_CACHE)
            cached = repo.cache_get(conn, row_id, now) if cache_on else []
            return found, store, cache_on, cached

        shipment, store, cache_on, cached = self.vault.call(look)
        if shipment.state is not ShipmentState.BOUGHT or not shipment.shipment_id:
            raise UserError(
                "This label was voided or not bought, so it cannot be printed.",
                detail=f"state {shipment.state}",
            )
        in_memory = self.memory.get(row_id)
        if in_memory is not None:
            return in_memory, "memory"
        if cached:
            documents = self._decrypt(row_id, cached)
            if documents:
                self.memory.put(row_id, documents)
                return documents, "cache"
        spec = DocumentSpec(format=shipment.label_format, dpi=shipment.dpi)
        shipment_id = shipment.shipment_id
        reference = shipment.package_reference or "1"
        documents = self._with_client(
            store, cancel, lambda c: c.documents(shipment_id, reference, spec), retry=True
        )
        if not documents:
            raise AmazonBadResponse(detail="getShipmentDocuments without a document")
        labels_first = tuple(
            sorted(documents, key=lambda d: 0 if d.type is DocumentType.LABEL else 1)
        )
        self.memory.put(row_id, labels_first)
        if cache_on:
            self._cache(row_id, labels_first)
        return labels_first, "amazon"

    def record_printed(
        self, actor: Actor, row_id: int, *, printer: str, label_format: str, source: str = ""
    ) -> Shipment:
        """Count a print and audit it (printed / reprinted, the printer's name); remember
        the printer for the format."""

        def write(conn: Conn) -> Shipment:
            found = self._shipment_checked(conn, actor, row_id)
            reprint = found.printed > 0
            repo.count_print(conn, row_id)
            repo.set_last_printer(conn, label_format, printer[:200])
            details: dict[str, Any] = {"printer": _token(printer), "format": _token(label_format)}
            if reprint:
                details["source"] = source or "memory"
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(actor),
                action=Action.LABEL_REPRINTED if reprint else Action.LABEL_PRINTED,
                object_type="order",
                object_id=found.order_id,
                details=details,
            )
            self._changed(conn, found.store_id, found.order_id)
            updated = repo.shipment(conn, row_id)
            assert updated is not None
            return updated

        return self.vault.call_write(write)

    def slip_recipient(
        self, actor: Actor, order_id: str, *, cancel: threading.Event | None = None
    ) -> str | None:
        """The buyer's name for the order's packing slip, if the store's shipping
        settings put it there (``slip_shows_name``, off by default); else ``None`` and
        Amazon is not asked.  Fetched from Amazon each time and returned only (memory),
        never stored or logged; the read is audited.  Network: worker thread."""

        def look(conn: Conn) -> tuple[Store, bool, int | None]:
            store_id = _order_store(conn, order_id)
            if store_id is None:
                access.current(conn, actor)
                raise NotShippable(f"Order {order_id} is not in Müttefik Desk yet.")
            fresh = access.current(conn, actor, Permission.SHIP_ORDERS, store_id=store_id)
            store = load_store(conn, store_id)
            assert store is not None
            return (
                store,
                repo.defaults(conn, store_id).slip_shows_name,
                access.audit_actor_id(fresh),
            )

        store, wanted, actor_id = self.vault.call(look)
        if not wanted:
            return None
        if cancel is not None and cancel.is_set():
            raise OperationCancelled()
        client = self.orders_client_factory(store, read_credentials(self.secrets, store.id))
        try:
            name = client.recipient_name(order_id)
        finally:
            client.close()

        def write(conn: Conn) -> None:
            self.audit.append(
                conn,
                actor_id=actor_id,
                action=Action.RECIPIENT_NAME_READ,
                object_type="order",
                object_id=order_id,
                details={"purpose": "packing_slip"},
            )

        self.vault.call_write(write)
        return name

    def remember_printer(self, actor: Actor, label_format: str, printer: str) -> None:
        """The printer last used for a format (the packing slip: "SLIP")."""

        def write(conn: Conn) -> None:
            access.current(conn, actor)
            repo.set_last_printer(conn, label_format, printer[:200])

        self.vault.call_write(write)

    # --- voiding and tracking -----------------------------------------------------------

    def void(self, actor: Actor, row_id: int, *, cancel: threading.Event | None = None) -> Shipment:
        """Void (cancel) a bought label at Amazon; the documents are forgotten."""

        def look(conn: Conn) -> tuple[Shipment, Store]:
            found = self._shipment_checked(conn, actor, row_id)
            store = load_store(conn, found.store_id)
            assert store is not None
            return found, store

        shipment, store = self.vault.call(look)
        if shipment.state is not ShipmentState.BOUGHT or not shipment.shipment_id:
            raise NotVoidable()
        shipment_id = shipment.shipment_id
        self._with_client(store, cancel, lambda c: c.cancel(shipment_id), retry=False)
        now = self.clock.now()

        def write(conn: Conn) -> Shipment:
            actor_now = access.current(conn, actor, Permission.SHIP_ORDERS, shipment.store_id)
            repo.mark_voided(conn, row_id, now)
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(actor_now),
                action=Action.LABEL_VOIDED,
                object_type="order",
                object_id=shipment.order_id,
            )
            self._changed(conn, shipment.store_id, shipment.order_id)
            found = repo.shipment(conn, row_id)
            assert found is not None
            return found

        voided = self.vault.call_write(write)
        self.memory.drop(row_id)
        return voided

    def refresh_tracking(
        self, actor: Actor, row_id: int, *, cancel: threading.Event | None = None
    ) -> Shipment:
        """Ask Amazon where the parcel is; a delivery is recorded on the shipment and on
        the order (its delivered date starts the PII retention clock)."""

        def look(conn: Conn) -> tuple[Shipment, Store]:
            found = self._shipment_checked(conn, actor, row_id)
            store = load_store(conn, found.store_id)
            assert store is not None
            return found, store

        shipment, store = self.vault.call(look)
        if not shipment.tracking_id or not shipment.carrier_id:
            raise UserError("This label has no tracking number yet.")
        tracking_id, carrier_id = shipment.tracking_id, shipment.carrier_id
        tracking = self._with_client(
            store, cancel, lambda c: c.tracking(tracking_id, carrier_id), retry=True
        )
        now = self.clock.now()

        def write(conn: Conn) -> Shipment:
            access.current(conn, actor, Permission.SHIP_ORDERS, shipment.store_id)
            repo.set_tracking(
                conn,
                row_id,
                status=str(tracking.status),
                delivered_at=tracking.delivered_at,
                now=now,
            )
            if tracking.delivered_at is not None:
                conn.execute(
                    "UPDATE orders SET delivered_at = ? WHERE order_id = ? "
                    "AND delivered_at IS NULL",
                    (to_db_time(tracking.delivered_at), shipment.order_id),
                )
            self._changed(conn, shipment.store_id, shipment.order_id)
            found = repo.shipment(conn, row_id)
            assert found is not None
            return found

        return self.vault.call_write(write)

    # --- batch ----------------------------------------------------------------------------

    def batch_rates(
        self, actor: Actor, order_ids: Sequence[str], *, job: Job | None = None
    ) -> list[BatchLine]:
        """Rates for each order with its preset (the SKU's, else the store default), the
        cheapest claims-protected service picked (else the cheapest).  An order that
        cannot be rated is a FAILED or SKIPPED line with the reason; the rest go on."""
        found = {s.order_id: s for s in self.shippable(actor, order_ids).result()}
        stores = {s.store_id for s in found.values()}
        self.vault.call(
            lambda conn: [
                access.current(conn, actor, Permission.SHIP_ORDERS, sid) for sid in stores
            ]
        )
        lines: list[BatchLine] = []
        for done, order_id in enumerate(order_ids):
            if job is not None:
                job.check()
                job.progress(done, len(order_ids), order_id)
            lines.append(self._rate_line(actor, order_id, found.get(order_id), job))
        if job is not None:
            job.progress(len(order_ids), len(order_ids), "")
        return lines

    def _rate_line(
        self, actor: Actor, order_id: str, order: ShippableOrder | None, job: Job | None
    ) -> BatchLine:
        if order is None:
            return BatchLine(order_id, 0, BatchState.FAILED, message="Order not found.")
        line = BatchLine(order_id, order.store_id, preset=order.preset)
        if order.existing is not None:
            return replace(
                line,
                state=BatchState.SKIPPED,
                shipment=order.existing,
                message="Label bought already."
                if order.existing.state is ShipmentState.BOUGHT
                else "Earlier purchase not confirmed: check Seller Central.",
            )
        if order.blocked:
            return replace(line, state=BatchState.SKIPPED, message=order.blocked)
        if order.preset is None:
            return replace(line, state=BatchState.FAILED, message=PresetMissing.message)
        try:
            quote = self.get_rates(
                actor, order_id, order.preset, cancel=job.cancel if job is not None else None
            )
        except (OperationCancelled, PermissionDenied):
            raise
        except UserError as exc:
            return replace(line, state=BatchState.FAILED, message=exc.message)
        if not quote.rates:
            return replace(
                line, state=BatchState.FAILED, quote=quote, message=_no_rates_message(quote)
            )
        return replace(line, state=BatchState.RATED, quote=quote, rate=pick_rate(quote))

    def batch_buy(
        self,
        actor: Actor,
        lines: Sequence[BatchLine],
        *,
        spec: DocumentSpec | None = None,
        job: Job | None = None,
    ) -> list[BatchLine]:
        """Buy each RATED line's rate; a line that fails says why and the rest go on.
        A line whose order got a label meanwhile is SKIPPED (never bought twice)."""
        out: list[BatchLine] = []
        todo = [line for line in lines if line.state is BatchState.RATED]
        done = 0
        for line in lines:
            if line.state is not BatchState.RATED or line.quote is None or line.rate is None:
                out.append(line)
                continue
            if job is not None:
                if job.cancelled:
                    out.append(line)
                    continue
                job.progress(done, len(todo), line.order_id)
            done += 1
            try:
                bought = self.buy(
                    actor,
                    line.order_id,
                    line.quote,
                    line.rate.rate_id,
                    spec=spec,
                    preset=line.preset.name if line.preset else None,
                )
            except AlreadyBought as exc:
                out.append(
                    replace(
                        line,
                        state=BatchState.SKIPPED,
                        shipment=exc.shipment,
                        message="Label bought already.",
                    )
                )
            except PriceChanged as exc:
                out.append(
                    replace(
                        line,
                        quote=exc.quote,
                        rate=exc.quote.rate(exc.rate_id),
                        state=BatchState.RATED,
                        message=exc.message,
                    )
                )
            except PermissionDenied:
                raise
            except UserError as exc:
                out.append(replace(line, state=BatchState.FAILED, message=exc.message))
            else:
                out.append(
                    replace(line, state=BatchState.BOUGHT, shipment=bought.shipment, message=None)
                )
        if job is not None:
            job.progress(done, len(todo), "")
        return out

    # --- presets, defaults, printers -----------------------------------------------------

    def save_preset(self, actor: Actor, preset: PackagePreset) -> PackagePreset:
        _check_package(preset)
        if not preset.name.strip():
            raise InvalidPreset()
        clean = replace(
            preset,
            name=preset.name.strip()[:80],
            sku=(preset.sku or "").strip()[:80] or None,
        )
        now = self.clock.now()

        def write(conn: Conn) -> PackagePreset:
            actor_now = access.current(conn, actor, Permission.SHIP_ORDERS, clean.store_id)
            same_name = repo.preset_by_name(conn, clean.store_id, clean.name)
            if same_name is not None and same_name.id != clean.id and (same_name.sku != clean.sku):
                raise InvalidPreset(f"A package named “{clean.name}” exists already.")
            row_id = repo.save_preset(conn, clean, now)
            self._settings_audit(conn, actor_now, clean.store_id, "package_preset")
            return replace(clean, id=row_id)

        return self.vault.call_write(write)

    def delete_preset(self, actor: Actor, store_id: int, preset_id: int) -> None:
        def write(conn: Conn) -> None:
            actor_now = access.current(conn, actor, Permission.SHIP_ORDERS, store_id)
            if not repo.delete_preset(conn, store_id, preset_id):
                raise UserError("That package preset no longer exists.")
            self._settings_audit(conn, actor_now, store_id, "package_preset_removed")

        self.vault.call_write(write)

    def save_defaults(self, actor: Actor, defaults: ShippingDefaults) -> None:
        if defaults.ship_from is not None:
            _check_address(defaults.ship_from)
        now = self.clock.now()

        def write(conn: Conn) -> None:
            actor_now = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            if load_store(conn, defaults.store_id) is None:
                raise UserError("This store no longer exists.")
            repo.save_defaults(conn, defaults, now)
            self._settings_audit(conn, actor_now, defaults.store_id, "shipping_defaults")

        self.vault.call_write(write)

    def save_printer(
        self, actor: Actor, name: str, kind: str, address: str | None, settings_json: str
    ) -> None:
        """A label printer and its print preset (``PrintSettings.to_json()``)."""
        clean = name.strip()[:120]
        if not clean or kind not in ("cups", "zpl_tcp"):
            raise UserError("Give the printer a name.")
        if kind == "zpl_tcp" and not (address or "").strip():
            raise UserError("Enter the thermal printer's address, such as 192.168.1.50:9100.")
        now = self.clock.now()

        def write(conn: Conn) -> None:
            actor_now = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            repo.save_printer(
                conn, clean, kind, (address or "").strip() or None, settings_json, now
            )
            self._settings_audit(conn, actor_now, None, "label_printer")

        self.vault.call_write(write)

    def remove_printer(self, actor: Actor, name: str) -> None:
        def write(conn: Conn) -> None:
            actor_now = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            if not repo.remove_printer(conn, name):
                raise UserError("That printer is not set up.")
            self._settings_audit(conn, actor_now, None, "label_printer_removed")

        self.vault.call_write(write)

    def purge_reprint_cache(self, actor: Actor, *, everything: bool = False) -> int:
        """Delete expired cached labels (all of them with ``everything``): the PII
        purge calls this; turning the cache off empties it."""
        now = self.clock.now()

        def write(conn: Conn) -> int:
            access.current(conn, actor)
            return repo.cache_purge(conn, None if everything else now)

        return self.vault.call_write(write)

    # --- helpers ----------------------------------------------------------------------

    def _order_for_shipping(
        self, conn: Conn, actor: Actor, order_id: str
    ) -> tuple[Store, Order, ShippingDefaults]:
        store_id = _order_store(conn, order_id)
        if store_id is None:
            access.current(conn, actor)
            raise NotShippable(
                f"Order {order_id} is not in Müttefik Desk yet. Sync the store first."
            )
        fresh = access.current(conn, actor, Permission.SHIP_ORDERS, store_id=store_id)
        order = orders_repo.get_order(conn, fresh, order_id)
        assert order is not None
        blocked = _shippable(conn, order).blocked
        if blocked:
            raise NotShippable(f"Order {order_id}: {blocked}")
        store = load_store(conn, order.store_id)
        if store is None:
            raise UserError("This store no longer exists.")
        return store, order, repo.defaults(conn, order.store_id)

    def _shipment_checked(self, conn: Conn, actor: Actor, row_id: int) -> Shipment:
        found = repo.shipment(conn, row_id)
        if found is None:
            access.current(conn, actor)
            raise ShipmentGone()
        access.current(conn, actor, Permission.SHIP_ORDERS, store_id=found.store_id)
        return found

    def _with_client(
        self,
        store: Store,
        cancel: threading.Event | None,
        fn: Callable[[ShippingApi], T],
        *,
        retry: bool,
    ) -> T:
        """One call with a fresh client.  A 429 is waited out and tried again (Amazon
        did not act on it); with ``retry``, also a 5xx or a network error, twice."""
        stop = cancel or threading.Event()
        client = self.client_factory(store, read_credentials(self.secrets, store.id))
        try:
            throttled = failures = 0
            while True:
                if stop.is_set():
                    raise OperationCancelled()
                try:
                    return fn(client)
                except ThrottledError:
                    throttled += 1
                    if throttled >= _THROTTLE_TRIES:
                        raise
                    wait = self.retry_base * throttled
                except (AmazonServerError, NetworkDown, AmazonBadResponse):
                    failures += 1
                    if not retry or failures > 2:
                        raise
                    wait = self.retry_base * 2**failures
                if stop.wait(wait):
                    raise OperationCancelled()
        finally:
            client.close()

    def _changed(self, conn: Conn, store_id: int | None, order_id: str | None) -> None:
        self.notices.after_commit(
            self.vault,
            ShipmentsChanged(
                frozenset({store_id}) if store_id is not None else frozenset(),
                (order_id,) if order_id else (),
            ),
        )

    def _settings_audit(self, conn: Conn, actor: Actor, store_id: int | None, what: str) -> None:
        self.audit.append(
            conn,
            actor_id=access.audit_actor_id(actor),
            action=Action.SHIPPING_SETTINGS_CHANGED,
            object_type="store" if store_id is not None else None,
            object_id=store_id,
            details={"what": what},
        )
        self._changed(conn, store_id, None)

    # --- the opt-in reprint cache ---------------------------------------------------------

    def _cache(self, row_id: int, documents: tuple[LabelDocument, ...]) -> None:
        """Keep the documents encrypted if the seller turned the reprint cache on."""
        try:
            on, hours = self.vault.call(
                lambda conn: (
                    settings.get(conn, settings.LABEL_REPRINT_CACHE),
                    settings.get(conn, settings.LABEL_CACHE_HOURS),
                )
            )
            if not on:
                return
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            aes = AESGCM(self._cache_key())
            entries = []
            for index, doc in enumerate(documents):
                nonce = _secrets.token_bytes(12)
                aad = f"{row_id}:{index}".encode()
                entries.append(
                    (
                        index,
                        str(doc.type),
                        str(doc.format),
                        doc.dpi,
                        nonce,
                        aes.encrypt(nonce, doc.data, aad),
                    )
                )
            now = self.clock.now()
            expires = now + timedelta(hours=min(hours, 24))
            self.vault.call_write(lambda conn: repo.cache_put(conn, row_id, entries, expires, now))
        except Exception as exc:  # the label is in memory; only the cache is missing
            log.warning(
                "label of row %d not cached for reprinting (%s)", row_id, type(exc).__name__
            )

    def _decrypt(self, row_id: int, cached: list[Any]) -> tuple[LabelDocument, ...]:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            aes = AESGCM(self._cache_key(create=False))
            return tuple(
                LabelDocument(
                    type=DocumentType(doc_type),
                    format=LabelFormat(fmt),
                    dpi=dpi,
                    data=aes.decrypt(nonce, data, f"{row_id}:{index}".encode()),
                )
                for index, doc_type, fmt, dpi, nonce, data in cached
            )
        except (InvalidTag, KeyError, ValueError) as exc:
            log.warning(
                "cached label of row %d unreadable (%s); downloading it again",
                row_id,
                type(exc).__name__,
            )
            return ()

    def _cache_key(self, *, create: bool = True) -> bytes:
        stored = self.secrets.get(CACHE_KEY_NAME)
        if stored is None:
            if not create:
                raise KeyError(CACHE_KEY_NAME)
            key = _secrets.token_bytes(32)
            self.secrets.set(CACHE_KEY_NAME, base64.b64encode(key).decode())
            return key
        return base64.b64decode(stored)


# --- pure helpers -----------------------------------------------------------------------


def _token(text: str) -> str:
    """A printer's or carrier's name as an audit token (spaces and the like become _)."""
    return re.sub(r"[^A-Za-z0-9_.:+\-]", "_", text)[:80]


def pick_rate(quote: RateQuote) -> Any:
    """The batch's choice: the cheapest claims-protected rate, else the cheapest."""
    protected = [r for r in quote.rates if r.protected]
    pool = protected or list(quote.rates)
    return min(pool, key=lambda r: (r.total.amount, r.carrier_name, r.service_name))


def _no_rates_message(quote: RateQuote) -> str:
    reasons = sorted({reason for i in quote.ineligible for reason in i.reasons})
    base = "Amazon offers no service for this order and package."
    return f"{base} ({'; '.join(reasons[:3])})" if reasons else base


def _parcel(order: Order, package: PackagePreset) -> Parcel:
    items = tuple(
        ParcelItem(
            order_item_id=i.order_item_id,
            quantity=i.quantity,
            sku=i.sku,
            description=(i.title or i.sku or i.asin)[:120]
            if (i.title or i.sku or i.asin)
            else None,
            unit_value=i.unit_price,
        )
        for i in order.items
        if i.quantity > 0
    )
    value = None
    prices = [i.unit_price for i in order.items if i.unit_price is not None]
    if prices and len({p.currency for p in prices}) == 1:
        total = sum(
            (
                p.amount * i.quantity
                for i, p in zip(
                    [i for i in order.items if i.unit_price is not None], prices, strict=True
                )
            ),
            Decimal(0),
        )
        value = Money(total, prices[0].currency)
    return Parcel(
        length=package.length,
        width=package.width,
        height=package.height,
        dimension_unit=package.dimension_unit,
        weight=package.weight,
        weight_unit=package.weight_unit,
        items=items,
        declared_value=value,
    )


def _check_package(package: PackagePreset) -> None:
    for value in (package.length, package.width, package.height, package.weight):
        if not value.is_finite() or value <= 0 or value > 10000:
            raise InvalidPreset()


def _check_address(address: Address) -> None:
    required = (
        address.name,
        address.address_line1,
        address.city,
        address.postal_code,
    )
    if not all(v.strip() for v in required) or len(address.country_code.strip()) != 2:
        raise InvalidShipFrom()
