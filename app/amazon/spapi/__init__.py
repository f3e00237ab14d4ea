"""SP-API Orders client: python-amazon-sp-api's ``OrdersV20260101``, pointed at a store.

The library has no endpoint argument, so a store's endpoints go in through a
marketplace-like object (SP-API host) and an ``AccessTokenClient`` subclass (LWA host).
Its access-token cache is per process and keyed only by the refresh token; our subclass
keys it by LWA host + client id + refresh token, so a demo token can never be served to
a real store (or the other way round), and we evict it when Amazon rejects a token.

Library exceptions become our :class:`~app.errors.UserError` subclasses here, in one
place.  TLS verification is never disabled; plain ``http://`` is accepted only for
loopback hosts (demo, tests).

Thread: a client is not thread-safe.  Build one per worker thread / sync run.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from app.amazon.models import Credentials, Store
from app.errors import (
    AmazonBadResponse,
    AmazonError,
    AmazonThrottled,
    InsecureEndpoint,
    StoreSettingsInvalid,
    UserError,
)

log = logging.getLogger("muttefik.sync")

SEARCH_ORDERS = "searchOrders"
GET_ORDER = "getOrder"

#: includedData groups the sync asks for: no BUYER, no RECIPIENT (data minimisation).
#: PROCEEDS carries the order total; FULFILLMENT the ship/deliver windows; PACKAGES
#: carriers and tracking numbers.
SYNC_INCLUDED_DATA: tuple[str, ...] = ("FULFILLMENT", "PACKAGES", "PROCEEDS")
PII_GROUPS = frozenset({"BUYER", "RECIPIENT"})

DEFAULT_TIMEOUT = 30.0
_LOOPBACK_NAMES = frozenset({"localhost"})


class ThrottledError(AmazonThrottled):
    """429 from Amazon; ``rate_limit`` is the live rate from the reply, if any."""

    def __init__(self, *, rate_limit: float | None = None, detail: str | None = None) -> None:
        super().__init__(detail=detail)
        self.rate_limit = rate_limit


class InvalidPageToken(AmazonBadResponse):
    """Amazon refused a pagination token (expired after 24 h, or parameters changed)."""


class OrderNotFound(AmazonError):
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


# --- endpoints ------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


#: Longest endpoint URL accepted (Amazon's are under 60 characters).
MAX_ENDPOINT_LENGTH = 500
#: Printable ASCII without spaces: endpoint URLs, and the store form's ids and secrets.
PLAIN_ASCII_RE = re.compile(r"[\x21-\x7e]*")


def check_endpoint(
    url: str, *, field: str | None = None, label: str = "The endpoint address"
) -> tuple[str, str, str]:
    """Validate an endpoint URL; returns (scheme, host[:port], path).

    Raises :class:`StoreSettingsInvalid` for an address that is too long, holds spaces,
    control or non-ASCII characters, a user name or password, does not parse, or has a
    port outside 1-65535; :class:`InsecureEndpoint` for plain http to a non-loopback host
    (or any other scheme).  ``field`` goes into the error so the store dialog can mark
    the setting; ``label`` names it in the message.
    """
    url = url.strip()
    if len(url) > MAX_ENDPOINT_LENGTH:
        raise StoreSettingsInvalid(
            f"{label} is too long: up to {MAX_ENDPOINT_LENGTH} characters.", field=field
        )
    if not PLAIN_ASCII_RE.fullmatch(url):
        raise StoreSettingsInvalid(
            f"{label} may hold only plain letters, digits and punctuation: no spaces, "
            "control or text-direction characters. Type the address again, or paste it "
            "from Seller Central or your test server's documentation.",
            field=field,
        )
    try:
        parts = urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError as exc:
        if "port" in str(exc).lower():
            raise StoreSettingsInvalid(
                f"The port in {_lower_first(label)} must be a number from 1 to 65535.",
                field=field,
                detail=str(exc),
            ) from None
        raise StoreSettingsInvalid(
            f"{label} is not a valid web address. Check the brackets around an IPv6 "
            "address and the characters after the host name.",
            field=field,
            detail=str(exc),
        ) from None
    if port == 0:
        raise StoreSettingsInvalid(
            f"The port in {_lower_first(label)} must be a number from 1 to 65535.", field=field
        )
    if parts.username is not None or parts.password is not None:
        raise StoreSettingsInvalid(
            f"{label} must not hold a user name or password. Remove the part before '@'; "
            "the app's credentials go in their own fields.",
            field=field,
        )
    if parts.scheme not in ("https", "http") or not hostname:
        raise InsecureEndpoint(field=field, detail=f"not an http(s) URL: {parts.scheme or '?'}://")
    if parts.scheme == "http" and not is_loopback(hostname):
        raise InsecureEndpoint(field=field, detail=f"plain http to {hostname}")
    return parts.scheme, parts.netloc, parts.path


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- the real client (python-amazon-sp-api, imported on first use) -----------------------
# sp_api and httpx take ~0.3 s to import; they live in app.amazon.spapi so that the app's
# startup path (which builds the services) does not pay for them.


def classify(exc: BaseException) -> UserError:
    """Map an exception from the library or the HTTP stack to a seller-facing error."""
    from app.amazon import spapi

    return spapi.classify(exc)


def clear_token_cache() -> None:
    """Forget every cached LWA access token (tests; after credentials change)."""
    from app.amazon import spapi

    spapi.clear_token_cache()


def warm_up() -> None:
    """Load the client library and its TLS context now (a worker thread at session
    start), so the first sync does not pay for them while the seller works."""
    from app.amazon import spapi

    spapi.tls_context()


def real_client_factory(timeout: float = DEFAULT_TIMEOUT) -> ClientFactory:
    def build(store: Store, credentials: Credentials) -> OrdersApi:
        from app.amazon.spapi import SpApiOrdersClient

        return SpApiOrdersClient(store, credentials, timeout=timeout)

    return build
