"""The Orders API (``OrdersV20260101``): its contract and its real client.

The sync and the store test use :class:`OrdersApi` and get clients from a
:data:`ClientFactory` (tests pass fakes); :func:`real_client_factory` builds
:class:`SpApiOrdersClient` through :mod:`app.amazon.spapi.factory`, imported only then.
A new API (shipping, reports) gets a module like this one beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from app.amazon.models import Credentials, Store
from app.amazon.spapi import DEFAULT_TIMEOUT, NotFoundAtAmazon
from app.errors import AmazonBadResponse

if TYPE_CHECKING:
    from sp_api.api import OrdersV20260101

SEARCH_ORDERS = "searchOrders"
GET_ORDER = "getOrder"

#: includedData groups the sync asks for: no BUYER, no RECIPIENT (data minimisation).
#: Only :meth:`SpApiOrdersClient.recipient_name` asks for RECIPIENT (a packing slip the
#: seller wants with the name on it), and keeps nothing.
#: PROCEEDS carries the order total; FULFILLMENT the ship/deliver windows; PACKAGES
#: carriers and tracking numbers.
SYNC_INCLUDED_DATA: tuple[str, ...] = ("FULFILLMENT", "PACKAGES", "PROCEEDS")
PII_GROUPS = frozenset({"BUYER", "RECIPIENT"})


class OrderNotFound(NotFoundAtAmazon):
    title = "Order not found"
    message = "Amazon does not know this order (it may belong to another store)."


@dataclass(frozen=True)
class Page:
    """One searchOrders page."""

    orders: list[dict[str, Any]]
    next_token: str | None
    upper_bound: str | None  # lastUpdatedBefore / createdBefore Amazon applied
    rate_limit: float | None


class OrdersApi(Protocol):
    """What the sync needs from an Orders client (real one below; tests may fake it)."""

    def search_orders(self, params: dict[str, Any]) -> Page: ...

    def get_order(
        self, order_id: str, included: Sequence[str]
    ) -> tuple[dict[str, Any], float | None]: ...

    def close(self) -> None: ...


ClientFactory = Callable[[Store, Credentials], OrdersApi]


class RecipientNames(Protocol):
    """The one buyer datum the app asks Amazon for: a name for a packing slip."""

    def recipient_name(self, order_id: str) -> str | None: ...

    def close(self) -> None: ...


RecipientFactory = Callable[[Store, Credentials], RecipientNames]


def recipient_client_factory(timeout: float = DEFAULT_TIMEOUT) -> RecipientFactory:
    def build(store: Store, credentials: Credentials) -> RecipientNames:
        return SpApiOrdersClient(store, credentials, timeout=timeout)

    return build


def real_client_factory(timeout: float = DEFAULT_TIMEOUT) -> ClientFactory:
    def build(store: Store, credentials: Credentials) -> OrdersApi:
        return SpApiOrdersClient(store, credentials, timeout=timeout)

    return build


class SpApiOrdersClient:
    """``OrdersV20260101`` for one store.  Not thread-safe: one per worker thread."""

    def __init__(
        self, store: Store, credentials: Credentials, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        from sp_api.api import OrdersV20260101

        from app.amazon.spapi import factory

        self._factory = factory
        self._store = store
        self._api: OrdersV20260101 = factory.build(
            OrdersV20260101, store, credentials, timeout=timeout
        )

    def search_orders(self, params: dict[str, Any]) -> Page:
        included = set(params.get("includedData") or ())
        if included & PII_GROUPS:
            raise ValueError("the sync never requests buyer or recipient data")
        query: dict[str, Any] = {"marketplaceIds": list(self._store.marketplace_ids), **params}
        response = self._factory.call(
            self._api, lambda: self._api.search_orders(**query), not_found=OrderNotFound
        )
        payload = response.payload
        orders = payload.get("orders") if isinstance(payload, dict) else None
        if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
            # The library turns an unreadable body into an empty payload.
            raise AmazonBadResponse(detail="searchOrders reply without an orders list")
        upper = payload.get("lastUpdatedBefore") or payload.get("createdBefore")
        return Page(
            orders=orders,
            next_token=response.next_token,
            upper_bound=upper if isinstance(upper, str) else None,
            rate_limit=self._factory.rate_from(response.headers),
        )

    def get_order(
        self, order_id: str, included: Sequence[str]
    ) -> tuple[dict[str, Any], float | None]:
        if set(included) & PII_GROUPS:
            raise ValueError("order sync never requests buyer or recipient data")
        response = self._factory.call(
            self._api,
            lambda: self._api.get_order(order_id, includedData=list(included)),
            not_found=OrderNotFound,
        )
        payload = response.payload
        order = payload.get("order") if isinstance(payload, dict) else None
        if not isinstance(order, dict) or "orderId" not in order:
            raise AmazonBadResponse(detail="getOrder reply without an order")
        return order, self._factory.rate_from(response.headers)

    def recipient_name(self, order_id: str) -> str | None:
        """The name on the order's delivery address, for a packing slip the seller asked
        to carry it (RECIPIENT: the one request of the app for buyer data; the caller
        keeps the name in memory only).  ``None`` when Amazon gives none."""
        response = self._factory.call(
            self._api,
            lambda: self._api.get_order(order_id, includedData=["RECIPIENT"]),
            not_found=OrderNotFound,
        )
        payload = response.payload
        order = payload.get("order") if isinstance(payload, dict) else None
        if not isinstance(order, dict):
            raise AmazonBadResponse(detail="getOrder reply without an order")
        recipient = order.get("recipient")
        address = recipient.get("deliveryAddress") if isinstance(recipient, dict) else None
        name = address.get("name") if isinstance(address, dict) else None
        return name.strip()[:200] or None if isinstance(name, str) else None

    def close(self) -> None:
        self._factory.close(self._api)
