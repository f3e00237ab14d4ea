"""The shared client factory: every SP-API client of the app is built and called here.

The library has no endpoint argument, so a store's endpoints go in through a
marketplace-like object (SP-API host) and an ``AccessTokenClient`` subclass (LWA host).
Its access-token cache is per process and keyed only by the refresh token; our subclass
keys it by LWA host + client id + refresh token, so a demo token can never be served to
a real store (or the other way round), and :func:`call` evicts it when Amazon rejects a
token.  Library exceptions become our :class:`~app.errors.UserError` subclasses here, in
one place (:func:`classify`).  One verifying TLS context serves every connection.

Imports sp_api and httpx: import this module only when a client is built (the API
modules do so inside their client).  A client is not thread-safe: one per worker
thread / sync run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sp_api.auth import AccessTokenClient
from sp_api.auth import access_token_client as _token_module
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import ApiResponse, Client, Marketplaces
from sp_api.base.credential_provider import FromCodeCredentialProvider
from sp_api.base.exceptions import (
    SellingApiBadRequestException,
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiStateConflictException,
)

from app.amazon.models import Credentials, Store
from app.amazon.spapi import (
    DEFAULT_TIMEOUT,
    InvalidPageToken,
    NotFoundAtAmazon,
    ThrottledError,
    check_endpoint,
)
from app.errors import (
    AmazonAuthFailed,
    AmazonBadResponse,
    AmazonGrantInvalid,
    AmazonRoleMissing,
    AmazonServerError,
    NetworkDown,
    TlsFailure,
    UserError,
)
from app.net import tls_context as tls_context  # re-exported: the one TLS context

log = logging.getLogger("muttefik.sync")

ApiT = TypeVar("ApiT", bound=Client)

# The library logs request headers (the access token) at DEBUG; keep it quiet.
logging.getLogger("sp_api").setLevel(logging.WARNING)


@dataclass(frozen=True)
class _Marketplace:
    """What the library reads from its ``marketplace`` argument (endpoint override)."""

    endpoint: str
    marketplace_id: str
    region: str
    #: The marketplace's country code as the library names it ("US", "UK", "DE"; ""
    #: when unknown).  ``ShippingV2`` picks ``x-amzn-shipping-business-id`` from it.
    name: str = ""


def marketplace_name(marketplace_id: str) -> str:
    """The library's country code for ``marketplace_id``: "UK" (not "GB") for
    Amazon.co.uk, as ``ShippingV2``'s business ids spell it; "" when unknown."""
    for member in Marketplaces:
        if member.marketplace_id == marketplace_id:
            return "UK" if member.name == "GB" else member.name
    return ""


#: ``bad_request`` of :func:`call`: the HTTP status (400, 409, or 999 when the library
#: has no class for it, such as 422) and Amazon's error ``code`` -> the API's own error,
#: or None for the generic classification.
BadRequest = Callable[[int, str | None], UserError | None]


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


def rate_from(headers: Any) -> float | None:
    """The live rate limit Amazon sent with a reply (``x-amzn-RateLimit-Limit``)."""
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


def classify(
    exc: BaseException,
    *,
    not_found: type[NotFoundAtAmazon] = NotFoundAtAmazon,
    bad_request: BadRequest | None = None,
) -> UserError:
    """Map an exception from the library or the HTTP stack to a seller-facing error;
    a 404 becomes ``not_found`` (the calling API's own words), and a refused request
    (400, 409, 422) goes to ``bad_request`` first when given.  Only an unreadable reply
    is :class:`AmazonBadResponse`; any other exception is ours and re-raised as it is."""
    if isinstance(exc, UserError):
        return exc
    if bad_request is not None and _is_refusal(exc):
        mapped = bad_request(int(getattr(exc, "code", 0)), getattr(exc, "amzn_code", None))
        if mapped is not None:
            return mapped
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
            return ThrottledError(rate_limit=rate_from(exc.headers), detail=detail)
        if isinstance(exc, SellingApiForbiddenException):
            return AmazonRoleMissing(detail=detail)
        if isinstance(exc, SellingApiNotFoundException):
            return not_found(detail=detail)
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
    if isinstance(exc, json.JSONDecodeError):
        return AmazonBadResponse(detail=type(exc).__name__)
    # Anything else (our own TypeError, KeyError, ValueError...) is a bug: not retried.
    raise exc


# --- building and calling a client ----------------------------------------------------------


def _is_refusal(exc: BaseException) -> bool:
    """A 400/409, or a status the library has no class for (422 comes out as the base
    class with code 999): Amazon understood the request and said no."""
    return isinstance(exc, SellingApiBadRequestException | SellingApiStateConflictException) or (
        type(exc) is SellingApiException
    )


def build(
    api_class: type[ApiT],
    store: Store,
    credentials: Credentials,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> ApiT:
    """The library's ``api_class`` (such as ``OrdersV20260101``) for ``store``: its
    endpoints (overrides included), its LWA app and secrets, the shared TLS context and
    the partitioned token cache."""
    if not store.marketplace_ids:
        raise AmazonBadResponse("The store has no marketplace. Choose one in its settings.")
    endpoint = store.effective_sp_api_endpoint.rstrip("/")
    check_endpoint(endpoint)
    token_class = _token_client_class(store.effective_lwa_endpoint, store.lwa_client_id)
    marketplace_id = store.marketplace_ids[0]
    marketplace = _Marketplace(
        endpoint, marketplace_id, store.region.lower(), marketplace_name(marketplace_id)
    )
    api: ApiT = api_class(
        marketplace,
        credentials={
            "refresh_token": credentials.refresh_token,
            "lwa_app_id": store.lwa_client_id,
            "lwa_client_secret": credentials.lwa_client_secret,
        },
        credential_providers=[FromCodeCredentialProvider],
        auth_token_client_class=token_class,
        timeout=timeout,
        verify=tls_context(),
    )
    # SP_API_DEFAULT_MARKETPLACE in the environment replaces the marketplace we passed
    # (and with it the endpoint): put ours back.
    api.endpoint = endpoint
    api.marketplace_id = store.marketplace_ids[0]
    return api


def _evict_token(api: Client) -> None:
    key = api._auth._get_cache_key()
    _token_module.cache.pop(key, None)


def call(
    api: Client,
    fn: Callable[[], ApiResponse],
    *,
    not_found: type[NotFoundAtAmazon] = NotFoundAtAmazon,
    bad_request: BadRequest | None = None,
) -> ApiResponse:
    """Run one request of ``api``; errors come out classified (``bad_request``: see
    :func:`classify`).  On 403 the access token is refreshed once (it may have expired
    or been revoked early) before concluding that a role is missing."""
    for attempt in (1, 2):
        try:
            return fn()
        except SellingApiForbiddenException as exc:
            _evict_token(api)
            if attempt == 2:
                raise classify(exc, not_found=not_found, bad_request=bad_request) from exc
        except Exception as exc:
            raise classify(exc, not_found=not_found, bad_request=bad_request) from exc
    raise AssertionError("unreachable")


def close(api: Client) -> None:
    """Close the client's connections (SP-API and LWA)."""
    try:
        api.close()
        api._auth._transport.close()
    except Exception:  # closing sockets must not mask the real outcome
        log.debug("closing the SP-API client failed", exc_info=True)
