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

import hashlib
import ipaddress
import json
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from sp_api.api import OrdersV20260101
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as _token_module
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse
from sp_api.base.credential_provider import FromCodeCredentialProvider
from sp_api.base.exceptions import (
    SellingApiBadRequestException,
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
)

from app.amazon.models import Credentials, Store
from app.errors import (
    AmazonAuthFailed,
    AmazonBadResponse,
    AmazonError,
    AmazonGrantInvalid,
    AmazonRoleMissing,
    AmazonServerError,
    AmazonThrottled,
    InsecureEndpoint,
    NetworkDown,
    TlsFailure,
    UserError,
)

log = logging.getLogger("muttefik.sync")
# The library logs request headers (the access token) at DEBUG; keep it quiet.
logging.getLogger("sp_api").setLevel(logging.WARNING)

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


def check_endpoint(url: str) -> tuple[str, str, str]:
    """Validate an endpoint URL; returns (scheme, host[:port], path).

    Raises :class:`InsecureEndpoint` for plain http to a non-loopback host (or any other
    scheme).
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InsecureEndpoint(detail=f"not an http(s) URL: {parts.scheme or '?'}://")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InsecureEndpoint(detail=f"plain http to {parts.hostname}")
    return parts.scheme, parts.netloc, parts.path


@dataclass(frozen=True)
class _Marketplace:
    """What the library reads from its ``marketplace`` argument (endpoint override)."""

    endpoint: str
    marketplace_id: str
    region: str


def _token_client_class(lwa_url: str, client_id: str) -> type[AccessTokenClient]:
    scheme, host, path = check_endpoint(lwa_url)
    partition = hashlib.sha256(f"{scheme}://{host}{path}|{client_id}".encode()).hexdigest()[:16]

    def cache_key(self: AccessTokenClient, token_flavor: str = "") -> str:
        base: str = AccessTokenClient._get_cache_key(self, token_flavor)
        return f"{base}:{partition}"

    return type(
        "StoreAccessTokenClient",
        (AccessTokenClient,),
        {
            "scheme": f"{scheme}://",
            "host": host,
            "path": path or "/auth/o2/token",
            "_get_cache_key": cache_key,
        },
    )


def clear_token_cache() -> None:
    """Forget every cached access token (tests; after credentials change)."""
    _token_module.cache.clear()
    _token_module.grantless_cache.clear()


# --- error classification ----------------------------------------------------------------


def _rate_from(headers: Any) -> float | None:
    if not headers:
        return None
    raw = headers.get("x-amzn-RateLimit-Limit") if hasattr(headers, "get") else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def classify(exc: BaseException) -> UserError:
    """Map an exception from the library or the HTTP stack to a seller-facing error."""
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, AuthorizationError):
        code = str(exc.error_code or "")
        detail = f"LWA {exc.status_code} {code}"
        if code == "invalid_grant":
            return AmazonGrantInvalid(detail=detail)
        if code in ("invalid_client", "unauthorized_client", "invalid_request"):
            return AmazonAuthFailed(detail=detail)
        if int(exc.status_code or 0) >= 500:
            return AmazonServerError(detail=detail)
        return AmazonAuthFailed(detail=detail)
    if isinstance(exc, SellingApiException):
        amzn_code = getattr(exc, "amzn_code", None)
        status = int(getattr(exc, "code", 0))
        detail = f"SP-API {status} {amzn_code}"
        if isinstance(exc, SellingApiRequestThrottledException):
            return ThrottledError(rate_limit=_rate_from(exc.headers), detail=detail)
        if isinstance(exc, SellingApiForbiddenException):
            return AmazonRoleMissing(detail=detail)
        if isinstance(exc, SellingApiNotFoundException):
            return OrderNotFound(detail=detail)
        if isinstance(exc, SellingApiBadRequestException):
            message = str(getattr(exc, "message", "") or "")
            if "paginationToken" in message:
                return InvalidPageToken(detail=f"{detail}: {message}")
            return AmazonBadResponse(detail=f"{detail}: {message}")
        if status >= 500:
            return AmazonServerError(detail=detail)
        return AmazonBadResponse(detail=detail)
    for link in _chain(exc):
        if isinstance(link, ssl.SSLError | ssl.CertificateError):
            return TlsFailure(detail=type(link).__name__)
    if isinstance(exc, httpx.TimeoutException):
        return NetworkDown(detail=f"timeout: {type(exc).__name__}")
    if isinstance(exc, httpx.TransportError | ConnectionError | OSError):
        return NetworkDown(detail=type(exc).__name__)
    if isinstance(exc, json.JSONDecodeError | ValueError | KeyError | TypeError):
        return AmazonBadResponse(detail=type(exc).__name__)
    raise exc


# --- the real client ----------------------------------------------------------------------


class SpApiOrdersClient:
    """``OrdersV20260101`` for one store.  Not thread-safe: one per worker thread."""

    def __init__(
        self, store: Store, credentials: Credentials, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        if not store.marketplace_ids:
            raise AmazonBadResponse("The store has no marketplace. Choose one in its settings.")
        endpoint = store.effective_sp_api_endpoint.rstrip("/")
        check_endpoint(endpoint)
        self._store = store
        self._token_class = _token_client_class(store.effective_lwa_endpoint, store.lwa_client_id)
        marketplace = _Marketplace(endpoint, store.marketplace_ids[0], store.region.lower())
        self._api = OrdersV20260101(
            marketplace,
            credentials={
                "refresh_token": credentials.refresh_token,
                "lwa_app_id": store.lwa_client_id,
                "lwa_client_secret": credentials.lwa_client_secret,
            },
            credential_providers=[FromCodeCredentialProvider],
            auth_token_client_class=self._token_class,
            timeout=timeout,
            verify=True,
        )
        # SP_API_DEFAULT_MARKETPLACE in the environment replaces the marketplace we
        # passed (and with it the endpoint): put ours back.
        self._api.endpoint = endpoint
        self._api.marketplace_id = store.marketplace_ids[0]

    def _evict_token(self) -> None:
        key = self._api._auth._get_cache_key()
        _token_module.cache.pop(key, None)

    def _call(self, fn: Callable[[], ApiResponse]) -> ApiResponse:
        """Run one request; on 403 refresh the access token once (it may have expired
        or been revoked early) before concluding that a role is missing."""
        for attempt in (1, 2):
            try:
                return fn()
            except SellingApiForbiddenException as exc:
                self._evict_token()
                if attempt == 2:
                    raise classify(exc) from exc
            except Exception as exc:
                raise classify(exc) from exc
        raise AssertionError("unreachable")

    def search_orders(self, params: dict[str, Any]) -> Page:
        included = set(params.get("includedData") or ())
        if included & PII_GROUPS:
            raise ValueError("the sync never requests buyer or recipient data")
        query: dict[str, Any] = {"marketplaceIds": list(self._store.marketplace_ids), **params}
        response = self._call(lambda: self._api.search_orders(**query))
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
            rate_limit=_rate_from(response.headers),
        )

    def get_order(
        self, order_id: str, included: Sequence[str]
    ) -> tuple[dict[str, Any], float | None]:
        if set(included) & PII_GROUPS:
            raise ValueError("order sync never requests buyer or recipient data")
        response = self._call(lambda: self._api.get_order(order_id, includedData=list(included)))
        payload = response.payload
        order = payload.get("order") if isinstance(payload, dict) else None
        if not isinstance(order, dict) or "orderId" not in order:
            raise AmazonBadResponse(detail="getOrder reply without an order")
        return order, _rate_from(response.headers)

    def close(self) -> None:
        try:
            self._api.close()
            self._api._auth._transport.close()
        except Exception:  # closing sockets must not mask the real outcome
            log.debug("closing the SP-API client failed", exc_info=True)


def real_client_factory(timeout: float = DEFAULT_TIMEOUT) -> ClientFactory:
    def build(store: Store, credentials: Credentials) -> OrdersApi:
        return SpApiOrdersClient(store, credentials, timeout=timeout)

    return build
