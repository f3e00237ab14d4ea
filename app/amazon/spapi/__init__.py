"""SP-API access: what every API module shares, without loading the client library.

One module per API (:mod:`app.amazon.spapi.orders` now; shipping and reports beside it)
holds that API's contract (a Protocol the services use and tests fake, its page and
error types) and its real client.  The real clients are built by
:mod:`app.amazon.spapi.factory`, the one place that knows python-amazon-sp-api: endpoint
override, TLS context, access-token cache by LWA host + client id + refresh token, and
error classification.  sp_api and httpx take ~0.3 s to import, so the factory is
imported only when a client is built (never on the app's startup path); this package
and the API modules stay light.

Here: the endpoint check (store dialog, CLI and factory), the errors every API may
raise, and light entry points into the factory.  TLS verification is never disabled;
plain ``http://`` is accepted only for loopback hosts (demo, tests).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from app.errors import (
    AmazonBadResponse,
    AmazonError,
    AmazonThrottled,
    InsecureEndpoint,
    StoreSettingsInvalid,
    UserError,
)

DEFAULT_TIMEOUT = 30.0
_LOOPBACK_NAMES = frozenset({"localhost"})


class ThrottledError(AmazonThrottled):
    """429 from Amazon; ``rate_limit`` is the live rate from the reply, if any."""

    def __init__(self, *, rate_limit: float | None = None, detail: str | None = None) -> None:
        super().__init__(detail=detail)
        self.rate_limit = rate_limit


class InvalidPageToken(AmazonBadResponse):
    """Amazon refused a pagination token (expired after 24 h, or parameters changed)."""


class NotFoundAtAmazon(AmazonError):
    """404: Amazon does not know the thing asked for.  Each API has its own subclass
    (:class:`~app.amazon.spapi.orders.OrderNotFound`) with its own words."""

    title = "Not found at Amazon"
    message = "Amazon does not know what was asked for (it may belong to another store)."


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


# --- into the factory (python-amazon-sp-api, imported on first use) ----------------------


def classify(exc: BaseException) -> UserError:
    """Map an exception from the library or the HTTP stack to a seller-facing error."""
    if isinstance(exc, UserError):
        return exc
    from app.amazon.spapi import factory

    return factory.classify(exc)


def clear_token_cache() -> None:
    """Forget every cached LWA access token (tests; after credentials change)."""
    from app.amazon.spapi import factory

    factory.clear_token_cache()


def warm_up() -> None:
    """Load the client library and its TLS context now (a worker thread at session
    start), so the first sync does not pay for them while the seller works."""
    from app.amazon.spapi import factory

    factory.tls_context()


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from Amazon's ISO 8601 text; None for anything else (a time
    without a zone is taken as UTC).  Shared by the API modules."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
