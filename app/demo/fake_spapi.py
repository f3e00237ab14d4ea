"""A fake Selling Partner API (Orders 2026-01-01 + Login with Amazon) over real HTTP.

Used by the demo mode, by tests and by benchmarks.  It runs a ``ThreadingHTTPServer``
on 127.0.0.1 (ephemeral port) in a background thread and behaves like Amazon, not
like our client: same paths, payload shapes, error bodies, rate limits.

Usage::

    with FakeSpApi(orders=2000, seed=1, speed=1000) as srv:
        srv.base_url        # "http://127.0.0.1:PORT" (SP-API endpoint)
        srv.lwa_url         # "http://127.0.0.1:PORT/auth/o2/token"
        srv.client_id, srv.client_secret, srv.refresh_token   # valid demo credentials
        OrdersV20260101(**srv.client_kwargs())                 # real python-amazon-sp-api
        srv.faults.set(Fault.THROTTLE, count=3)                # next 3 API calls get 429
        srv.update_order(order_id, fulfillment_status="SHIPPED")

Constructor (keyword-only): ``orders`` (initial count, default 2000), ``seed`` (data
is deterministic for a given ``seed`` and ``now``), ``speed`` (multiplies Amazon's
refill rates; bursts stay 20/30; ``None`` disables rate limiting and the
``x-amzn-RateLimit-Limit`` header then says 1000/s), ``now`` (anchor of
the 120-day history; defaults to the clock), ``clock`` (an ``app.clock.Clock``; by
default real time starting at ``now``), ``settle_seconds`` (Amazon's "at least two
minutes before the request" for upper bounds; 0 makes new updates searchable at once),
``overstate`` (the rate header claims this many times the rate actually applied).

Endpoints:

* ``POST /auth/o2/token`` (grant_type=refresh_token): LWA token, 401 ``invalid_client``,
  400 ``invalid_grant`` / ``invalid_request`` / ``unsupported_grant_type``.
* Reports API 2021-06-30 (``/reports/2021-06-30/...``: createReport, getReport,
  getReportDocument) and the document download (``/report-documents/<key>``, a
  pre-signed URL: no access token): see :mod:`app.demo.fake_spapi_reports`;
  ``report_markers(order_id)``, ``add_localized_orders(marketplace_id, count)``,
  ``expire_document_urls()``, ``reports``; ``report_delay=(low, high)`` seconds of
  processing (default 60-180, divided by ``speed``).
* Shipping API v2 (``/shipping/v2/...``: getRates, purchaseShipment,
  getShipmentDocuments, cancelShipment, getTracking): see
  :mod:`app.demo.fake_spapi_shipping`; ``shipments``, ``purchase_count(order_id)``,
  ``recipient(order_id)`` (the fake name and address printed on its labels),
  ``unshipped_order(marketplace_id)`` (one that gets rates), ``expire_rate_tokens()``.
* ``GET /orders/2026-01-01/orders`` (searchOrders) and ``.../orders/{orderId}``
  (getOrder).  Needs ``x-amz-access-token`` from this server, else 403 ``Unauthorized``.
  Results are sorted ascending by the time field filtered on (lastUpdatedTime for
  ``lastUpdatedAfter``, createdTime for ``createdAfter``; Amazon documents no order),
  then orderId.  The upper bound (given, or now - settle_seconds) is echoed as
  ``lastUpdatedBefore``/``createdBefore`` and frozen in the pagination token, so a
  walk over pages returns each matching order at most once even while orders change;
  orders updated mid-walk show up in the next sync from that bound.

Faults (:class:`Fault`, via ``srv.faults.set(name, count=None|N, delay=, operation=)``):
``throttle``, ``server_error``, ``unavailable``, ``slow``, ``malformed_json``,
``truncated_json``, ``disconnect``, ``missing_role``, ``odd_order`` (API);
``purchase_failed``, ``insufficient_funds``, ``address_invalid``, ``token_expired``
(purchaseShipment); ``report_fatal``, ``report_cancelled`` (createReport),
``expired_document_url`` (getReportDocument), ``truncated_document`` (the download);
``expired_token``,
``invalid_client``, ``invalid_grant`` (LWA).  Counters: ``request_count(op)``,
``throttled_count(op)``, ``requests`` (each with the includedData it asked for; LWA
secrets redacted).  Other controls: ``update_order``, ``remove_order``,
``add_orders``, ``order_ids``, ``expire_tokens`` (every issued access token expires),
``revoke_refresh_token`` (LWA answers invalid_grant), ``drain(op)`` (burst used up).

Orders are seeded and lazy (see ``seed_orders``): PACKAGES only exist for
merchant-fulfilled shipped orders (as Amazon documents), each ``includedData`` group
appears only when asked for, and buyer/recipient data is plainly fake.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from app.clock import Clock
from app.demo.fake_labels import FakeRecipient
from app.demo.fake_spapi_faults import (
    DOWNLOAD_REPORT,
    GET_ORDER,
    LWA_TOKEN,
    REPORT_OPERATIONS,
    SEARCH_ORDERS,
    SHIPPING_OPERATIONS,
    Fault,
    Faults,
    RateLimiter,
)
from app.demo.fake_spapi_query import (
    InvalidInput,
    Params,
    check_order_id,
    encode_token,
    parse_included,
    parse_search,
)
from app.demo.fake_spapi_render import make_odd
from app.demo.fake_spapi_reports import DEFAULT_DELAY, DOCUMENTS_PATH, FakeReports
from app.demo.fake_spapi_reports import route as reports_route
from app.demo.fake_spapi_shipping import FakeShipment, FakeShipping
from app.demo.fake_spapi_shipping import route as shipping_route
from app.demo.loopback import LoopbackServer
from app.demo.seed_orders import MARKETPLACE_BY_ID, OrderStore, iso, to_epoch

log = logging.getLogger("muttefik.demo")

ORDERS_PATH = "/orders/2026-01-01/orders"
LWA_PATH = "/auth/o2/token"
TOKEN_LIFETIME = 3600
DENIED = "Access to requested resource is denied."
QUOTA = "You exceeded your quota for the requested resource."
_SECRET_FIELDS = frozenset({"client_secret", "refresh_token"})


class _AnchoredClock:
    """Real time, shifted so that it starts at ``start``."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class RequestRecord:
    operation: str  # searchOrders / getOrder / lwaToken / unknown
    path: str
    query: Mapping[str, list[str]]
    included_data: frozenset[str]
    status: int


@dataclass(frozen=True)
class FakeMarketplace:
    """What python-amazon-sp-api reads from its ``marketplace`` argument."""

    endpoint: str
    marketplace_id: str
    region: str
    name: str = ""  # country code; ShippingV2 picks its business id from it ("US", "UK")


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str]
    cut: bool = False  # send half the body, then drop the connection


def _errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


class FakeSpApi(LoopbackServer):
    """The fake server.  Public methods are thread-safe and may be called while
    requests are in flight; request handling runs on the server's own threads."""

    def __init__(
        self,
        *,
        orders: int = 2000,
        seed: int = 1,
        speed: float | None = 1.0,
        now: datetime | None = None,
        clock: Clock | None = None,
        settle_seconds: float = 120.0,
        overstate: float = 1.0,
        report_delay: tuple[float, float] = DEFAULT_DELAY,
    ) -> None:
        start = now or (clock.now() if clock else datetime.now(UTC))
        self.clock: Clock = clock or _AnchoredClock(start)
        self.settle_seconds = int(settle_seconds)
        self.store = OrderStore(count=orders, seed=seed, now=start)
        self.faults = Faults()
        self.rate_limiter = RateLimiter(speed, self.clock)
        self.rate_limiter.overstate = overstate
        self.client_id = "amzn1.application-oa2-client.demo" + secrets.token_hex(12)
        self.client_secret = "amzn1.oa2-cs.v1.demo" + secrets.token_hex(24)
        # Unique per server: python-amazon-sp-api caches access tokens by refresh token.
        self.refresh_token = "Atzr|demo-" + secrets.token_urlsafe(32)
        self._secret = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._refresh_tokens = {self.refresh_token}
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self._requests: list[RequestRecord] = []
        self.shipping = FakeShipping(
            self.store, self.clock, self.faults, lambda: self.rate_limiter.speed
        )
        self.reports = FakeReports(
            self.store,
            self.clock,
            self.faults,
            lambda: self.rate_limiter.speed,
            lambda: self.base_url,
            delay=report_delay,
        )
        super().__init__()

    # --- lifecycle --------------------------------------------------------------

    thread_name = "fake-spapi"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _Handler

    def _started(self) -> None:
        log.info("fake SP-API listening on %s with %d orders", self.base_url, len(self.store))

    @property
    def lwa_url(self) -> str:
        return self.base_url + LWA_PATH

    # --- test controls -------------------------------------------------------------

    def update_order(self, order_id: str, **changes: Any) -> datetime:
        """Change an order (``fulfillment_status=``, ``package_status=``,
        ``last_updated=``) and bump its lastUpdatedTime; returns the new time."""
        return self.store.update(order_id, self.clock.now(), **changes)

    def remove_order(self, order_id: str) -> None:
        """The order vanishes: 404 on getOrder, absent from searchOrders."""
        self.store.remove(order_id)

    def add_orders(self, count: int) -> list[str]:
        """New orders placed now; returns their ids."""
        return self.store.add(count, self.clock.now())

    def order_ids(self) -> list[str]:
        return self.store.order_ids()

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired (as if an hour passed)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def revoke_refresh_token(self) -> None:
        """The seller de-authorised the app: LWA answers invalid_grant from now on."""
        with self._lock:
            self._refresh_tokens.discard(self.refresh_token)

    def drain(self, operation: str) -> None:
        """Use up the burst of ``operation`` (searchOrders / getOrder)."""
        self.rate_limiter.drain(operation)

    @property
    def shipments(self) -> list[FakeShipment]:
        """Labels bought so far (voided ones included, with ``voided`` set)."""
        return self.shipping.shipments

    def purchase_count(self, order_id: str) -> int:
        """How many labels were bought for ``order_id`` (voided ones included)."""
        return self.shipping.purchase_count(order_id)

    def recipient(self, order_id: str) -> FakeRecipient:
        """The fake buyer's name and address that this order's labels carry."""
        return self.shipping.recipient(order_id)

    def unshipped_order(self, marketplace_id: str = "ATVPDKIKX0DER") -> str:
        """An unshipped merchant-fulfilled order of ``marketplace_id`` (one that gets
        Shipping rates), placing new orders if the seeded ones have none."""
        return self.shipping.unshipped_order(marketplace_id)

    def expire_rate_tokens(self) -> None:
        """Every Shipping request token handed out so far is now expired."""
        self.shipping.expire_rate_tokens()

    def report_markers(self, order_id: str) -> list[str]:
        """The marker values in the order's report rows (address columns, and ``cpf`` in
        Brazil): a test proves none of them survives in the app's profile or logs."""
        return self.reports.markers(order_id)

    def add_localized_orders(
        self, marketplace_id: str, count: int, placed: datetime | None = None
    ) -> list[str]:
        """New orders in ``marketplace_id`` (a seeded one, or JP, BR, MX) with product
        titles in its language, alike in searchOrders, getOrder and the order report;
        placed now, or at ``placed``."""
        return self.reports.add_localized_orders(marketplace_id, count, placed)

    def expire_document_urls(self) -> None:
        """Every report document URL handed out so far is now expired."""
        self.reports.expire_urls()

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def request_count(self, operation: str) -> int:
        with self._lock:
            return sum(1 for r in self._requests if r.operation == operation)

    def throttled_count(self, operation: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._requests
                if r.status == 429 and (operation is None or r.operation == operation)
            )

    def client_kwargs(self, marketplace_id: str = "ATVPDKIKX0DER") -> dict[str, Any]:
        """Keyword arguments that point a real python-amazon-sp-api client (e.g.
        ``OrdersV20260101``) at this server.  Imports sp_api lazily."""
        from sp_api.auth import AccessTokenClient
        from sp_api.base.credential_provider import FromCodeCredentialProvider

        lwa_class = type(
            "FakeLwaClient",
            (AccessTokenClient,),
            {"scheme": "http://", "host": f"127.0.0.1:{self.port}"},
        )
        mkt = MARKETPLACE_BY_ID[marketplace_id]
        name = "UK" if mkt.country == "GB" else mkt.country
        return {
            "marketplace": FakeMarketplace(self.base_url, marketplace_id, mkt.region, name),
            "credentials": {
                "refresh_token": self.refresh_token,
                "lwa_app_id": self.client_id,
                "lwa_client_secret": self.client_secret,
            },
            "credential_providers": [FromCodeCredentialProvider],
            "auth_token_client_class": lwa_class,
        }

    # --- request handling (server threads) ---------------------------------------------

    def _now(self) -> int:
        return to_epoch(self.clock.now())

    def _record(self, op: str, path: str, params: Params, status: int) -> None:
        try:
            included = parse_included(params)
        except InvalidInput:
            included = frozenset()
        with self._lock:
            self._requests.append(RequestRecord(op, path, params, included, status))

    def _wait(self, delay: float | None) -> None:
        if delay:
            self._stopping.wait(delay)

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        url = urlsplit(target)
        path = url.path.rstrip("/")
        if method == "POST" and path == LWA_PATH:
            params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            self._wait(self.faults.take(Fault.SLOW, LWA_TOKEN))
            reply = self._token(params)
            # The request log must not hold secrets, even fake ones.
            redacted = {k: ["***"] if k in _SECRET_FIELDS else v for k, v in params.items()}
            self._record(LWA_TOKEN, path, redacted, reply.status)
            return reply
        params = parse_qs(url.query, keep_blank_values=True)
        if method == "GET" and path.startswith(DOCUMENTS_PATH + "/"):
            self._wait(self.faults.take(Fault.SLOW, DOWNLOAD_REPORT))
            download = self.reports.download(path, params)
            reply = _Reply(download.status, download.body, download.headers, download.cut)
            self._record(DOWNLOAD_REPORT, path, params, reply.status)
            return reply
        shipping = shipping_route(method, path)
        reports = reports_route(method, path)
        if method == "GET" and path == ORDERS_PATH:
            op, order_id = SEARCH_ORDERS, None
        elif method == "GET" and path.startswith(ORDERS_PATH + "/") and path.count("/") == 4:
            op, order_id = GET_ORDER, unquote(path.rsplit("/", 1)[1])
        elif shipping is not None:
            op, order_id = shipping[0], unquote(shipping[1] or "") or None
        elif reports is not None:
            op, order_id = reports[0], unquote(reports[1] or "") or None
        else:
            reply = self._json(404, _errors("NotFound", "Resource not found."))
            self._record("unknown", path, params, 404)
            return reply
        self._wait(self.faults.take(Fault.SLOW, op))
        reply = self._api(op, order_id, params, headers, body)
        reply.headers["x-amzn-RateLimit-Limit"] = self.rate_limiter.limit_header(op)
        self._record(op, path, params, reply.status)
        return reply

    def _api(
        self,
        op: str,
        order_id: str | None,
        params: Params,
        headers: Mapping[str, str],
        body: bytes = b"",
    ) -> _Reply:
        """One API request after routing; ``order_id`` is the shipment id for the
        Shipping operations."""
        token = headers.get("x-amz-access-token", "")
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            return self._json(
                403,
                _errors(
                    "Unauthorized",
                    DENIED,
                    "The access token you provided is revoked, malformed or invalid.",
                ),
            )
        if expiry <= self._now():
            return self._json(
                403, _errors("Unauthorized", DENIED, "The access token you provided has expired.")
            )
        if self.faults.take(Fault.MISSING_ROLE, op) is not None:
            return self._json(403, _errors("Unauthorized", DENIED))
        if self.faults.take(Fault.THROTTLE, op) is not None:
            return self._json(429, _errors("QuotaExceeded", QUOTA))
        if not self.rate_limiter.try_acquire(op):
            return self._json(429, _errors("QuotaExceeded", QUOTA))
        if self.faults.take(Fault.SERVER_ERROR, op) is not None:
            return self._json(500, _errors("InternalFailure", "We encountered an internal error."))
        if self.faults.take(Fault.UNAVAILABLE, op) is not None:
            return self._json(
                503, _errors("ServiceUnavailable", "Service temporarily unavailable.")
            )
        try:
            if op in SHIPPING_OPERATIONS:
                reply = self._json(*self.shipping.serve(op, order_id, params, body))
            elif op in REPORT_OPERATIONS:
                reply = self._json(*self.reports.serve(op, order_id, body))
            elif order_id is None:
                reply = self._search(params)
            else:
                reply = self._get(order_id, params)
        except InvalidInput as exc:
            return self._json(400, _errors("InvalidInput", exc.message, exc.details))
        if (
            reply.status == 200
            and op in (SEARCH_ORDERS, GET_ORDER)
            and self.faults.take(Fault.ODD_ORDER, op) is not None
        ):
            reply = self._json(200, make_odd(json.loads(reply.body)))
        if reply.status == 200:
            if self.faults.take(Fault.MALFORMED_JSON, op) is not None:
                reply.body = b"<html><body>Service error</body></html>" + reply.body[:20]
            elif self.faults.take(Fault.TRUNCATED_JSON, op) is not None:
                reply.body = reply.body[: max(1, len(reply.body) // 2)]
            elif self.faults.take(Fault.DISCONNECT, op) is not None:
                reply.cut = True
        return reply

    def _search(self, params: Params) -> _Reply:
        now = self._now()
        query = parse_search(params, now=now, settle=self.settle_seconds, secret=self._secret)
        found, more = self.store.search(query.flt, query.after, query.limit)
        payload: dict[str, Any] = {
            "orders": [
                self.reports.localize(self.store.render(rec, query.included)) for rec in found
            ]
        }
        if more and found:
            last = found[-1]
            key = (last.updated if query.flt.by_updated else last.created, last.order_id)
            token = encode_token(self._secret, query.fingerprint, query.flt.upper, key, now)
            payload["pagination"] = {"nextToken": token}
        bound = "lastUpdatedBefore" if query.flt.by_updated else "createdBefore"
        payload[bound] = iso(query.flt.upper)
        return self._json(200, payload)

    def _get(self, order_id: str, params: Params) -> _Reply:
        check_order_id(order_id)
        included = parse_included(params)
        rec = self.store.get(order_id)
        if rec is None:
            return self._json(
                404, _errors("NotFound", "The requested order was not found.", order_id)
            )
        return self._json(200, {"order": self.reports.localize(self.store.render(rec, included))})

    def _token(self, form: Params) -> _Reply:
        def field(name: str) -> str:
            values = form.get(name) or [""]
            return values[0]

        grant_type = field("grant_type")
        for name in ("grant_type", "client_id", "client_secret", "refresh_token"):
            if not field(name) and not (name == "refresh_token" and grant_type != "refresh_token"):
                return self._lwa_error(
                    400, "invalid_request", f"The request is missing a required parameter : {name}"
                )
        if grant_type != "refresh_token":
            return self._lwa_error(
                400, "unsupported_grant_type", "The authorization grant type is not supported"
            )
        bad_client = field("client_id") != self.client_id or (
            field("client_secret") != self.client_secret
        )
        if bad_client or self.faults.take(Fault.INVALID_CLIENT, LWA_TOKEN) is not None:
            return self._lwa_error(401, "invalid_client", "Client authentication failed")
        with self._lock:
            known = field("refresh_token") in self._refresh_tokens
        if not known or self.faults.take(Fault.INVALID_GRANT, LWA_TOKEN) is not None:
            return self._lwa_error(
                400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
            )
        access = "Atza|demo-" + secrets.token_urlsafe(48)
        expired = self.faults.take(Fault.EXPIRED_TOKEN, LWA_TOKEN) is not None
        with self._lock:
            self._tokens[access] = 0.0 if expired else self._now() + TOKEN_LIFETIME
        return self._json(
            200,
            {
                "access_token": access,
                "refresh_token": field("refresh_token"),
                "token_type": "bearer",
                "expires_in": TOKEN_LIFETIME,
            },
        )

    def _lwa_error(self, status: int, error: str, description: str) -> _Reply:
        return self._json(status, {"error_description": description, "error": error})

    @staticmethod
    def _json(status: int, payload: dict[str, Any]) -> _Reply:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return _Reply(status, body, {"Content-Type": "application/json;charset=UTF-8"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Amazon's endpoints allow
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients
    # wait for a delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    server_version = "Server"
    sys_version = ""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake: FakeSpApi = self.server.fake  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = fake.handle(self.command, self.path, headers, body)
        except Exception:  # a bug in the fake must still answer like a server
            log.exception("fake SP-API failed on %s %s", self.command, self.path.split("?")[0])
            reply = FakeSpApi._json(500, _errors("InternalFailure", "Internal failure."))
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.cut:
            self.send_header("Connection", "close")
        self.end_headers()
        if reply.cut:
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        line = format % args
        if DOCUMENTS_PATH in line:  # a pre-signed URL is a credential: no query in logs
            line = re.sub(r"\?\S*", "?...", line)
        log.debug("fake SP-API %s", line)
