"""Plain data of the Amazon area: stores, orders (non-PII only), sync state.

Immutable dataclasses, no Qt, no I/O.  Times are aware UTC datetimes; money amounts are
:class:`~decimal.Decimal` with a currency code.  Buyer and recipient data never appear
here: the sync does not request it (data minimisation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class Region(StrEnum):
    """SP-API region of a seller account (also picks the default endpoints)."""

    NA = "NA"
    EU = "EU"
    FE = "FE"


# Amazon's production endpoints per region.
SP_API_ENDPOINTS: dict[Region, str] = {
    Region.NA: "https://sellingpartnerapi-na.amazon.com",
    Region.EU: "https://sellingpartnerapi-eu.amazon.com",
    Region.FE: "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"


@dataclass(frozen=True)
class Store:
    """One SP-API seller account in one region.  Holds no secrets.

    ``sp_api_endpoint``/``lwa_endpoint`` are the advanced overrides (Amazon's sandbox or a
    local server); ``None`` means Amazon's production endpoints for ``region``.
    """

    id: int
    name: str
    region: Region
    marketplace_ids: tuple[str, ...]
    lwa_client_id: str = ""
    sp_api_endpoint: str | None = None
    lwa_endpoint: str | None = None
    demo: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def effective_sp_api_endpoint(self) -> str:
        return self.sp_api_endpoint or SP_API_ENDPOINTS[self.region]

    @property
    def effective_lwa_endpoint(self) -> str:
        return self.lwa_endpoint or LWA_TOKEN_URL


@dataclass(frozen=True)
class StoreDraft:
    """What the store dialog submits to create or update a store (no id yet)."""

    name: str
    region: Region
    marketplace_ids: tuple[str, ...]
    lwa_client_id: str = ""
    sp_api_endpoint: str | None = None
    lwa_endpoint: str | None = None


@dataclass(frozen=True)
class Credentials:
    """The secret half of a store's connection.  Held only in memory, never logged."""

    lwa_client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


class OrderStatus(StrEnum):
    """Orders API 2026-01-01 ``FulfillmentStatus``."""

    PENDING_AVAILABILITY = "PENDING_AVAILABILITY"
    PENDING = "PENDING"
    UNSHIPPED = "UNSHIPPED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"
    UNFULFILLABLE = "UNFULFILLABLE"


class DeliveryState(StrEnum):
    """What the orders table shows in its "Delivery" column (derived, not from Amazon)."""

    PENDING = "pending"  # not ready to ship yet (pending, pre-order)
    TO_SHIP = "to_ship"  # unshipped or partially shipped
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"


@dataclass(frozen=True)
class OrderItem:
    order_item_id: str
    asin: str
    sku: str | None
    title: str | None
    quantity: int
    unit_price: Money | None = None


@dataclass(frozen=True)
class PackageItem:
    """How many units of one order item (``OrderItem.order_item_id``) a package holds."""

    order_item_id: str
    quantity: int


@dataclass(frozen=True)
class Package:
    """A shipped package (merchant-fulfilled orders): carrier and tracking, no address.

    ``items`` says which order items went in it (a partial shipment ships some of them).
    """

    package_ref: str
    carrier: str | None = None
    tracking_number: str | None = None
    status: str | None = None
    shipping_service: str | None = None
    ship_time: datetime | None = None
    items: tuple[PackageItem, ...] = ()


@dataclass(frozen=True)
class Order:
    """One order as stored: only non-PII fields.

    ``fulfillment_channel`` is ``"AFN"`` (fulfilled by Amazon) or ``"MFN"`` (merchant).
    ``delivered_at`` is set when a package is known to be delivered; PII retention counts
    from :attr:`retention_anchor`.  ``attention`` says in plain words what could not be
    read (an unknown status, an item without an ASIN); ``None`` for a well-formed order.
    ``details_pending``: read from an order report (issue 15), so packages, tracking and
    the ship and delivery windows are not known yet (the sync or a getOrder fills them).
    """

    order_id: str
    store_id: int
    marketplace_id: str
    marketplace_name: str | None
    status: OrderStatus
    purchase_date: datetime
    last_updated: datetime
    fulfillment_channel: str | None
    service_level: str | None = None
    ship_by_earliest: datetime | None = None
    ship_by_latest: datetime | None = None
    deliver_by_earliest: datetime | None = None
    deliver_by_latest: datetime | None = None
    delivered_at: datetime | None = None
    total: Money | None = None
    is_prime: bool = False
    is_business: bool = False
    is_preorder: bool = False
    items: tuple[OrderItem, ...] = ()
    packages: tuple[Package, ...] = ()
    delivery_state: DeliveryState = DeliveryState.PENDING
    attention: str | None = None
    details_pending: bool = False  # read from an order report: no packages, no windows yet

    @property
    def retention_anchor(self) -> datetime | None:
        """The delivered date, or failing that the end of the delivery window."""
        return self.delivered_at or self.deliver_by_latest

    @property
    def needs_shipping(self) -> bool:
        return self.fulfillment_channel == "MFN" and self.status in (
            OrderStatus.UNSHIPPED,
            OrderStatus.PARTIALLY_SHIPPED,
        )


@dataclass(frozen=True)
class OrderRow:
    """One line of the orders table (summary columns only)."""

    order_id: str
    store_id: int
    purchase_date: datetime
    status: OrderStatus
    marketplace_id: str
    marketplace_name: str | None
    items_summary: str
    item_count: int
    total: Money | None
    ship_by: datetime | None
    delivery_state: DeliveryState
    fulfillment_channel: str | None
    is_prime: bool
    attention: str | None = None  # see Order.attention


class SyncPhase(StrEnum):
    STARTING = "starting"
    INCREMENTAL = "incremental"  # orders updated since the last sync
    BACKFILL = "backfill"  # older history, newest window first
    WAITING = "waiting"  # waiting for a rate-limit token
    DONE = "done"


@dataclass(frozen=True)
class SyncProgress:
    """Reported after every page (and while waiting for the rate limit).

    ``eta_seconds`` is computed from the rate limit when the remaining amount is known
    (backfill windows are estimated from what earlier pages returned); ``None`` = unknown.
    """

    store_id: int
    phase: SyncPhase
    pages: int
    orders: int
    window_start: datetime | None = None
    window_end: datetime | None = None
    backfilled_to: datetime | None = None
    eta_seconds: float | None = None
    waiting_seconds: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class SyncResult:
    store_id: int
    pages: int
    orders: int  # orders written (new or changed)
    new_orders: int
    cancelled: bool
    backfill_complete: bool
    started_at: datetime
    finished_at: datetime
    throttled: int = 0  # 429 answers handled by waiting
    retries: int = 0  # 5xx / network retries
    needs_attention: int = 0  # odd orders stored as needing attention (or left out)


@dataclass(frozen=True)
class SyncState:
    """Where the sync of one store stands (the status bar shows this).

    ``cursor`` is the ``lastUpdatedAfter`` watermark of the incremental sync;
    ``backfilled_to`` the oldest purchase date fully fetched; ``last_error`` the title of
    the last failure (cleared by a successful sync).
    """

    store_id: int
    cursor: datetime | None
    backfilled_to: datetime | None
    backfill_target: datetime | None
    last_success: datetime | None
    last_error: str | None
    running: bool = False


@dataclass(frozen=True)
class HistoryProgress:
    """Where a store's order history load stands (Amazon's order reports, issue 15):
    reported after every step.  ``eta_seconds``: None until a first report is done
    (Amazon's preparation time is not known before)."""

    store_id: int
    ranges_done: int
    ranges_total: int
    orders: int
    eta_seconds: float | None
    message: str
