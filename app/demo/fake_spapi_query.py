"""Query parsing, validation and pagination tokens for the fake searchOrders/getOrder.

Validation follows the parameter notes in Amazon's Orders 2026-01-01 model; anything
invalid raises :class:`InvalidInput`, which the server turns into a 400 ``InvalidInput``
errors body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from app.demo.fake_spapi_catalog import FULFILLMENT_STATUSES, INCLUDED_DATA
from app.demo.seed_orders import SearchFilter, to_epoch

Params = dict[str, list[str]]

ORDER_ID_RE = re.compile(r"^\d{3}-\d{7}-\d{7}$")
TOKEN_LIFETIME = 24 * 3600  # Amazon: "The token will expire after 24 hours."
MAX_PAGE = 100
_FILTER_KEYS = (
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "marketplaceIds",
    "fulfillmentStatuses",
    "fulfilledBy",
)


class InvalidInput(Exception):
    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def split_list(params: Params, name: str) -> list[str] | None:
    """An array parameter: comma-separated (Swagger's default) and/or repeated keys."""
    raw = params.get(name)
    if raw is None:
        return None
    return [part.strip() for value in raw for part in value.split(",") if part.strip()]


def single(params: Params, name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInput(f"{name} must be given once.")
    return values[0]


def parse_time(params: Params, name: str) -> int | None:
    raw = single(params, name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            f"Invalid {name}: {raw!r} is not an ISO 8601 date-time.",
            "Use a value such as 2026-01-01T00:00:00Z.",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_epoch(moment)


def parse_included(params: Params) -> frozenset[str]:
    values = split_list(params, "includedData") or []
    unknown = sorted(set(values) - INCLUDED_DATA)
    if unknown:
        raise InvalidInput(
            f"Invalid includedData value(s): {', '.join(unknown)}.",
            "Valid values: " + ", ".join(sorted(INCLUDED_DATA)) + ".",
        )
    return frozenset(values)


def check_order_id(order_id: str) -> None:
    if not ORDER_ID_RE.match(order_id):
        raise InvalidInput(f"Invalid orderId: {order_id!r}.")


@dataclass(frozen=True)
class SearchQuery:
    flt: SearchFilter
    limit: int
    included: frozenset[str]
    after: tuple[int, str] | None  # keyset cursor from the pagination token
    fingerprint: str  # the filter parameters a pagination token is bound to


def _fingerprint(params: Params) -> str:
    canon: dict[str, object] = {}
    for key in _FILTER_KEYS:
        if key in ("marketplaceIds", "fulfillmentStatuses", "fulfilledBy"):
            values = split_list(params, key)
            canon[key] = sorted(values) if values is not None else None
        else:
            canon[key] = parse_time(params, key)
    blob = json.dumps(canon, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _enum_list(params: Params, name: str, allowed: frozenset[str]) -> frozenset[str] | None:
    values = split_list(params, name)
    if values is None:
        return None
    bad = sorted(set(values) - allowed)
    if bad:
        raise InvalidInput(f"Invalid {name} value(s): {', '.join(bad)}.")
    return frozenset(values)


def parse_search(params: Params, *, now: int, settle: int, secret: bytes) -> SearchQuery:
    """Validate a searchOrders query string.  ``now``/``settle`` are epoch seconds: an
    upper bound must be at least ``settle`` seconds in the past (Amazon: two minutes)."""
    created_after = parse_time(params, "createdAfter")
    created_before = parse_time(params, "createdBefore")
    updated_after = parse_time(params, "lastUpdatedAfter")
    updated_before = parse_time(params, "lastUpdatedBefore")
    if (created_after is None) == (updated_after is None):
        raise InvalidInput("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
    if created_after is not None and (updated_before is not None):
        raise InvalidInput("lastUpdatedBefore cannot be combined with createdAfter.")
    if updated_after is not None and created_before is not None:
        raise InvalidInput("createdBefore cannot be combined with lastUpdatedAfter.")
    by_updated = updated_after is not None
    lower = updated_after if by_updated else created_after
    given_upper = updated_before if by_updated else created_before
    assert lower is not None
    name = "lastUpdatedBefore" if by_updated else "createdBefore"
    if given_upper is not None:
        if given_upper < lower:
            raise InvalidInput(f"{name} must be equal to or after the lower bound.")
        if given_upper > now - settle:
            raise InvalidInput(f"{name} must be at least two minutes before the request time.")
    upper = given_upper if given_upper is not None else now - settle

    mkts = split_list(params, "marketplaceIds")
    if mkts is not None and len(mkts) > 50:
        raise InvalidInput("marketplaceIds accepts at most 50 values.")
    statuses = _enum_list(params, "fulfillmentStatuses", FULFILLMENT_STATUSES)
    fulfilled_by = _enum_list(params, "fulfilledBy", frozenset({"AMAZON", "MERCHANT"}))

    raw_limit = single(params, "maxResultsPerPage")
    limit = MAX_PAGE
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("maxResultsPerPage must be an integer between 1 and 100.")

    fingerprint = _fingerprint(params)
    after: tuple[int, str] | None = None
    token = single(params, "paginationToken")
    if token is not None:
        fp, upper, after, expires = decode_token(token, secret)
        if fp != fingerprint:
            raise InvalidInput(
                "The paginationToken does not match the request parameters.",
                "Send the same filter parameters as the request that returned the token.",
            )
        if expires < now:
            raise InvalidInput("The paginationToken has expired.")

    flt = SearchFilter(
        by_updated=by_updated,
        lower=lower,
        upper=upper,
        marketplace_ids=frozenset(mkts) if mkts is not None else None,
        statuses=statuses,
        fulfilled_by=fulfilled_by,
    )
    return SearchQuery(flt, limit, parse_included(params), after, fingerprint)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(
    secret: bytes, fingerprint: str, upper: int, after: tuple[int, str], now: int
) -> str:
    """An opaque keyset cursor: the query it belongs to, the frozen upper bound and
    the (time, orderId) of the last order returned, so later updates cannot make the
    walk skip or repeat orders."""
    body = json.dumps(
        {"f": fingerprint, "u": upper, "k": list(after), "x": now + TOKEN_LIFETIME},
        separators=(",", ":"),
    ).encode()
    sig = hmac.new(secret, body, hashlib.sha256).digest()[:12]
    return _b64(body) + "." + _b64(sig)


def decode_token(token: str, secret: bytes) -> tuple[str, int, tuple[int, str], int]:
    try:
        body_txt, sig_txt = token.split(".")
        body, sig = _unb64(body_txt), _unb64(sig_txt)
        if not hmac.compare_digest(sig, hmac.new(secret, body, hashlib.sha256).digest()[:12]):
            raise ValueError("signature")
        data = json.loads(body)
        stamp, order_id = data["k"]
        return str(data["f"]), int(data["u"]), (int(stamp), str(order_id)), int(data["x"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput("Invalid paginationToken.") from None
