"""Amazon's Reports API 2021-06-30 for the fake SP-API: the order report
``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL`` (and its ``BY_LAST_UPDATE``
twin), with Amazon's paths, payload shapes, processing states and a pre-signed
document URL on the same loopback server.

:class:`FakeReports` holds the state (reports, documents, URLs) and answers one request
at a time; :class:`~app.demo.fake_spapi.FakeSpApi` routes ``/reports/2021-06-30/...``
here after its access-token, fault and rate-limit checks, and ``/report-documents/...``
(the download: no access token, as at S3) without them.

Behaviour:

* ``createReport``: 202 ``{"reportId"}``; an unknown ``reportType``, a missing
  marketplace, an unreadable or future ``dataStartTime``, or a start after the end is a
  400 ``InvalidInput``.  ``dataEndTime`` after now is cut to now.
* ``getReport``: ``IN_QUEUE`` for the first quarter of the processing delay, then
  ``IN_PROGRESS``, then the outcome.  The delay is drawn per report from
  ``delay`` (default 60-180 s; deterministic per seed and report number) and divided by
  the server's ``speed``, on the server's clock.  Outcomes: ``FATAL`` with an error
  document when the range is longer than 30 days (or fault ``report_fatal``);
  ``CANCELLED`` without a document when no order falls in the range (Amazon's answer
  for no data; or fault ``report_cancelled``); else ``DONE`` with a
  ``reportDocumentId``.  The document is made when the report is first seen done.
* ``getReportDocument``: ``{reportDocumentId, url[, compressionAlgorithm]}``; each call
  hands out a fresh URL valid 5 minutes of the server's clock divided by ``speed``, but
  at least 10 s (fault ``expired_document_url``: born expired).  Documents over
  :data:`GZIP_OVER` bytes are gzip-compressed (``compressionAlgorithm: GZIP``).
* Download (``GET /report-documents/<key>?X-Amz-...``): the bytes with
  ``Content-Type: text/plain;charset=<UTF-8|Cp1252|Shift_JIS>`` by marketplace (JP is
  encoded as Windows-31J, as Amazon does), 403 with S3's XML ``Request has expired``
  after expiry, 403 ``SignatureDoesNotMatch`` for a wrong signature, 404 ``NoSuchKey``.
  Fault ``truncated_document``: ``Content-Length`` of the whole, half the bytes sent.

The TSV has a header row, every column of Amazon's list (:data:`COLUMNS`) plus two
extra columns real files carry at times, one row per order item, ``\\r\\n`` line ends
in EU and JP documents and ``\\n`` elsewhere.  Its values agree with searchOrders for
the same order (ids, times, status, channel, items, prices, business flag); the
address columns and ``cpf`` hold markers (:meth:`FakeReports.markers`) so a test can
prove they are dropped.  The seeded catalogue is English; :meth:`add_localized_orders`
places orders whose titles are in the marketplace's language (é, ü, Japanese), served
alike by searchOrders, getOrder and the report (:meth:`localize`).
"""

from __future__ import annotations

import gzip
import json
import random
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.clock import Clock
from app.demo.fake_spapi_catalog import MARKETPLACE_BY_ID, Marketplace
from app.demo.fake_spapi_faults import (
    CREATE_REPORT,
    GET_REPORT,
    GET_REPORT_DOCUMENT,
    Fault,
    Faults,
)
from app.demo.seed_orders import OrderRecord, OrderStore, SearchFilter, to_epoch

JSON = dict[str, Any]
Params = Mapping[str, list[str]]

REPORTS_PATH = "/reports/2021-06-30"
DOCUMENTS_PATH = "/report-documents"
BY_ORDER_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
BY_LAST_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
REPORT_TYPES = frozenset({BY_ORDER_DATE, BY_LAST_UPDATE})
MAX_RANGE = timedelta(days=30)
URL_SECONDS = 300.0
#: A URL lives at least this long whatever ``speed``: network and CPU time do not speed
#: up with the clock (the demo runs at speed 2000, where 300 s would be 0.15 s).
URL_FLOOR_SECONDS = 10.0
GZIP_OVER = 100_000
DEFAULT_DELAY = (60.0, 180.0)

#: Amazon's documented columns of the order report, in order.
COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date",
    "order-status", "fulfillment-channel", "sales-channel", "order-channel",
    "ship-service-level", "product-name", "sku", "asin", "item-status", "quantity",
    "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
    "gift-wrap-price", "gift-wrap-tax", "item-promotion-discount",
    "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code",
    "ship-country", "promotion-ids", "cpf", "is-business-order", "purchase-order-number",
    "price-designation",
)  # fmt: skip
#: Columns real files carry at times beyond the documented list.
EXTRA_COLUMNS = ("number-of-items", "signature-confirmation-recommended")
PII_COLUMNS = ("ship-city", "ship-state", "ship-postal-code", "ship-country", "cpf")

_EU = frozenset({"GB", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE", "TR"})
_LEVELS = {
    "STANDARD": "Standard",
    "EXPEDITED": "Expedited",
    "NEXT_DAY": "NextDay",
    "SECOND_DAY": "SecondDay",
}
_STATUSES = {
    "PENDING": "Pending",
    "PENDING_AVAILABILITY": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "PartiallyShipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Cancelled",
    "UNFULFILLABLE": "Unfulfillable",
}


def _extra_marketplace(
    marketplace_id: str, name: str, country: str, currency: str, region: str, fx: float,
    tax: float, prefix: str, city: tuple[str, str, str],
) -> Marketplace:  # fmt: skip
    return Marketplace(
        marketplace_id, name, country, currency, region, fx, tax, (prefix,),
        f"marketplace.{name.lower()}", "Amazon", "+00 000 00",
        (("Demo Carrier", "Standard", "dpd"),), (city,),
        {"name": "Demo Seller Warehouse", "addressLine1": "1 Demo Street", "city": city[0],
         "stateOrRegion": city[1], "postalCode": city[2], "countryCode": country},
        0,
    )  # fmt: skip


#: Marketplaces the seeded orders do not use, for :meth:`FakeReports.add_localized_orders`.
_EXTRA = (
    _extra_marketplace("A1VC38T7YXB528", "Amazon.co.jp", "JP", "JPY", "fe", 150.0, 0.0, "503",
                       ("千代田区", "東京都", "100-0001")),
    _extra_marketplace("A2Q3Y263D00KWC", "Amazon.com.br", "BR", "BRL", "na", 5.0, 0.0, "701",
                       ("São Paulo", "SP", "01000-000")),
    _extra_marketplace("A1AM78C64UM0Y8", "Amazon.com.mx", "MX", "MXN", "na", 17.0, 0.16, "702",
                       ("Ciudad de México", "CDMX", "06000")),
)  # fmt: skip
EXTRA_MARKETPLACES: dict[str, Marketplace] = {m.marketplace_id: m for m in _EXTRA}

_LOCAL_TITLES: dict[str, Callable[[str], str]] = {
    "DE": lambda t: f"{t} – für Küche, Büro & Reise (Größe M)",
    "FR": lambda t: f"{t} – édition française, qualité supérieure",
    "IT": lambda t: f"{t} – qualità superiore, più resistente",
    "ES": lambda t: f"{t} – edición española, diseño ergonómico",
    "MX": lambda t: f"{t} – edición México, diseño ergonómico",
    "BR": lambda t: f"{t} – edição nacional, proteção extra",
    "JP": lambda t: f"【国内正規品】{t}（ブラック）～ギフト対応①",
}


def charset_for(country: str) -> tuple[str, str]:
    """(the charset Amazon names in Content-Type, the Python codec) for a country."""
    if country == "JP":
        return "Shift_JIS", "cp932"  # Amazon JP writes Windows-31J (①, ～)
    if country in _EU:
        return "Cp1252", "cp1252"
    return "UTF-8", "utf-8"


def route(method: str, path: str) -> tuple[str, str | None] | None:
    """(operation, report or document id) for a Reports API request, None otherwise."""
    if not path.startswith(REPORTS_PATH + "/"):
        return None
    parts = path[len(REPORTS_PATH) + 1 :].split("/")
    if method == "POST" and parts == ["reports"]:
        return CREATE_REPORT, None
    if method == "GET" and len(parts) == 2 and parts[1]:
        if parts[0] == "reports":
            return GET_REPORT, parts[1]
        if parts[0] == "documents":
            return GET_REPORT_DOCUMENT, parts[1]
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _errors(code: str, message: str, details: str = "") -> JSON:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


def _s3_error(code: str, message: str, extra: str = "") -> bytes:
    request_id = secrets.token_hex(8).upper()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{extra}"
        f"<RequestId>{request_id}</RequestId><HostId>{secrets.token_urlsafe(48)}</HostId>"
        "</Error>"
    ).encode()


@dataclass
class _Report:
    report_id: str
    report_type: str
    marketplace_ids: tuple[str, ...]
    start: datetime
    end: datetime
    created: datetime
    delay: float  # seconds of the server's clock (already divided by speed)
    forced: str | None  # FATAL / CANCELLED from a fault
    status: str = "IN_QUEUE"
    document_id: str | None = None
    finished: datetime | None = None


@dataclass(frozen=True)
class _Document:
    body: bytes
    content_type: str
    compressed: bool


@dataclass(frozen=True)
class _Url:
    document_id: str
    signature: str
    expires: datetime


@dataclass(frozen=True)
class Download:
    """What the server sends for a document URL."""

    status: int
    body: bytes
    headers: dict[str, str]
    cut: bool = False


class FakeReports:
    """Reports and their documents.  Thread-safe; request threads call :meth:`serve`
    and :meth:`download`, test threads the controls."""

    def __init__(
        self,
        store: OrderStore,
        clock: Clock,
        faults: Faults,
        speed: Callable[[], float | None],
        base_url: Callable[[], str],
        *,
        delay: tuple[float, float] = DEFAULT_DELAY,
    ) -> None:
        if not 0 <= delay[0] <= delay[1]:
            raise ValueError("delay must be (low, high) with 0 <= low <= high")
        self._store = store
        self._clock = clock
        self._faults = faults
        self._speed = speed
        self._base_url = base_url
        self.delay = delay
        self._lock = threading.Lock()
        self._reports: dict[str, _Report] = {}
        self._documents: dict[str, _Document] = {}
        self._urls: dict[str, _Url] = {}
        self._localized: set[str] = set()
        self._count = 0

    # --- controls --------------------------------------------------------------------

    def markers(self, order_id: str) -> list[str]:
        """The values the order's report rows carry in the address columns and ``cpf``
        (Brazil only): none of them may survive the app's parsing."""
        rec = self._store.get(order_id)
        if rec is None:
            raise KeyError(order_id)
        found = [f"MKCITY-{order_id}", f"MKSTATE-{order_id}", f"MKZIP-{order_id}"]
        found.append(f"MKCTRY-{order_id}")
        if rec.mkt.country == "BR":
            found.append(f"MKCPF-{order_id}")
        return found

    def add_localized_orders(
        self, marketplace_id: str, count: int, placed: datetime | None = None
    ) -> list[str]:
        """``count`` new orders (placed now, or at ``placed``) in ``marketplace_id`` (a
        seeded one, or JP, BR, MX) whose product titles are in the marketplace's
        language."""
        mkt = MARKETPLACE_BY_ID.get(marketplace_id) or EXTRA_MARKETPLACES.get(marketplace_id)
        if mkt is None:
            raise ValueError(f"unknown marketplace {marketplace_id!r}")
        ids = self._store.add(count, placed or self._clock.now())
        for order_id in ids:
            rec = self._store.get(order_id)
            assert rec is not None
            rec.mkt = mkt
        with self._lock:
            self._localized.update(ids)
        return ids

    def localize(self, order: JSON) -> JSON:
        """``order`` (an Orders API Order) with titles in its marketplace's language when
        it was placed by :meth:`add_localized_orders`; others are left as they are."""
        with self._lock:
            if order.get("orderId") not in self._localized:
                return order
        rec = self._store.get(str(order["orderId"]))
        local = _LOCAL_TITLES.get(rec.mkt.country) if rec is not None else None
        if local is not None:
            for item in order.get("orderItems") or ():
                product = item.get("product") or {}
                if isinstance(product.get("title"), str):
                    product["title"] = local(product["title"])
        return order

    def processing_seconds(self) -> list[float]:
        """Each report's processing time so far asked for, in Amazon's seconds (the
        server's clock times ``speed``): a benchmark's floor for the reports path."""
        with self._lock:
            delays = [r.delay for r in self._reports.values()]
        return [d * self._scale() for d in delays]

    def expire_urls(self) -> None:
        """Every document URL handed out so far is now expired."""
        past = self._clock.now() - timedelta(seconds=1)
        with self._lock:
            self._urls = {k: _Url(u.document_id, u.signature, past) for k, u in self._urls.items()}

    # --- the API ---------------------------------------------------------------------

    def serve(self, op: str, ident: str | None, body: bytes) -> tuple[int, JSON]:
        if op == CREATE_REPORT:
            return self._create(body)
        if op == GET_REPORT:
            return self._get_report(ident or "")
        return self._get_document(ident or "")

    def _scale(self) -> float:
        return self._speed() or 1.0

    def _create(self, body: bytes) -> tuple[int, JSON]:
        try:
            spec = json.loads(body or b"{}")
        except ValueError:
            return 400, _errors("InvalidInput", "Request body is not valid JSON.")
        if not isinstance(spec, dict):
            return 400, _errors("InvalidInput", "Request body is not valid JSON.")
        report_type = spec.get("reportType")
        if report_type not in REPORT_TYPES:
            return 400, _errors("InvalidInput", "Invalid Input", f"reportType {report_type!r}")
        marketplaces = spec.get("marketplaceIds")
        if (
            not isinstance(marketplaces, list)
            or not marketplaces
            or not all(isinstance(m, str) for m in marketplaces)
        ):
            return 400, _errors("InvalidInput", "Invalid Input", "marketplaceIds is required")
        unknown = [m for m in marketplaces if m not in MARKETPLACE_BY_ID | EXTRA_MARKETPLACES]
        if unknown:
            return 400, _errors("InvalidInput", "Invalid Input", f"marketplaceIds {unknown}")
        now = self._clock.now()
        try:
            start = _parse_time(spec.get("dataStartTime"), now)
            end = _parse_time(spec.get("dataEndTime"), now)
        except ValueError as exc:
            return 400, _errors("InvalidInput", "Invalid Input", str(exc))
        if start > now:
            return 400, _errors(
                "InvalidInput", "Invalid Input", "dataStartTime must not be in the future"
            )
        end = min(end, now)
        if start > end:
            return 400, _errors(
                "InvalidInput", "Invalid Input", "dataStartTime must precede dataEndTime"
            )
        forced = None
        if self._faults.take(Fault.REPORT_FATAL, CREATE_REPORT) is not None:
            forced = "FATAL"
        elif self._faults.take(Fault.REPORT_CANCELLED, CREATE_REPORT) is not None:
            forced = "CANCELLED"
        with self._lock:
            self._count += 1
            rng = random.Random(self._store.seed * 7_919 + self._count)
            low, high = self.delay
            delay = (low + (high - low) * rng.random()) / self._scale()
            report_id = str(50_000_000_000 + self._store.seed * 1_000_000 + self._count)
            self._reports[report_id] = _Report(
                report_id, report_type, tuple(marketplaces), start, end, now, delay, forced
            )
        return 202, {"reportId": report_id}

    def _get_report(self, report_id: str) -> tuple[int, JSON]:
        with self._lock:
            report = self._reports.get(report_id)
        if report is None:
            return 404, _errors("NotFound", "The requested report was not found.", report_id)
        self._advance(report)
        payload: JSON = {
            "reportId": report.report_id,
            "reportType": report.report_type,
            "dataStartTime": _iso(report.start),
            "dataEndTime": _iso(report.end),
            "marketplaceIds": list(report.marketplace_ids),
            "createdTime": _iso(report.created),
            "processingStatus": report.status,
        }
        if report.status != "IN_QUEUE":
            payload["processingStartTime"] = _iso(
                report.created + timedelta(seconds=report.delay / 4)
            )
        if report.finished is not None:
            payload["processingEndTime"] = _iso(report.finished)
        if report.document_id is not None:
            payload["reportDocumentId"] = report.document_id
        return 200, payload

    def _advance(self, report: _Report) -> None:
        """Move ``report`` on to where the clock says it is; make its document when it
        first finishes."""
        elapsed = (self._clock.now() - report.created).total_seconds()
        with self._lock:
            if report.finished is not None:
                return
            if elapsed < report.delay / 4:
                return
            if elapsed < report.delay:
                report.status = "IN_PROGRESS"
                return
        outcome, document = self._outcome(report)
        with self._lock:
            if report.finished is not None:  # another request thread got there first
                return
            if document is not None:
                document_id = self._document_id(report)
                self._documents[document_id] = document
                report.document_id = document_id
            report.status = outcome
            report.finished = report.created + timedelta(seconds=report.delay)

    def _outcome(self, report: _Report) -> tuple[str, _Document | None]:
        if report.forced == "FATAL":
            return "FATAL", _error_document(
                "An internal error occurred while processing the report. Request the report again."
            )
        if report.end - report.start > MAX_RANGE:
            return "FATAL", _error_document(
                "The dataStartTime and dataEndTime of the request are more than 30 days "
                "apart: the date range exceeds 30 days. Request a date range of 30 days or "
                "less."
            )
        if report.forced == "CANCELLED":
            return "CANCELLED", None
        body = self._tsv(report)
        if body is None:
            return "CANCELLED", None  # Amazon's answer for a range without data
        return "DONE", body

    def _document_id(self, report: _Report) -> str:
        region = _marketplace(report.marketplace_ids[0]).region
        return f"amzn1.spdoc.1.4.{region}.{uuid.uuid4()}.T{report.report_id[-6:]}.{URL_SECONDS:g}"

    def _get_document(self, document_id: str) -> tuple[int, JSON]:
        with self._lock:
            document = self._documents.get(document_id)
        if document is None:
            return 404, _errors(
                "NotFound", "The requested report document was not found.", document_id
            )
        now = self._clock.now()
        lifetime = max(URL_SECONDS / self._scale(), min(URL_SECONDS, URL_FLOOR_SECONDS))
        if self._faults.take(Fault.EXPIRED_DOCUMENT_URL, GET_REPORT_DOCUMENT) is not None:
            lifetime = -1.0
        key = secrets.token_urlsafe(24)
        signature = secrets.token_hex(32)
        with self._lock:
            self._urls[key] = _Url(document_id, signature, now + timedelta(seconds=lifetime))
        query = (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Date={now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
            f"&X-Amz-Expires={URL_SECONDS:g}&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={signature}"
        )
        payload: JSON = {
            "reportDocumentId": document_id,
            "url": f"{self._base_url()}{DOCUMENTS_PATH}/{key}?{query}",
        }
        if document.compressed:
            payload["compressionAlgorithm"] = "GZIP"
        return 200, payload

    def download(self, path: str, params: Params) -> Download:
        """A GET of a document URL (as S3 answers it)."""
        key = path[len(DOCUMENTS_PATH) + 1 :]
        with self._lock:
            url = self._urls.get(key)
            document = self._documents.get(url.document_id) if url is not None else None
        xml = {"Content-Type": "application/xml"}
        if url is None or document is None:
            return Download(404, _s3_error("NoSuchKey", "The specified key does not exist."), xml)
        if (params.get("X-Amz-Signature") or [""])[0] != url.signature:
            return Download(
                403,
                _s3_error(
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you "
                    "provided.",
                ),
                xml,
            )
        now = self._clock.now()
        if now >= url.expires:
            extra = (
                f"<X-Amz-Expires>{URL_SECONDS:g}</X-Amz-Expires>"
                f"<Expires>{url.expires:%Y-%m-%dT%H:%M:%SZ}</Expires>"
                f"<ServerTime>{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</ServerTime>"
            )
            return Download(403, _s3_error("AccessDenied", "Request has expired", extra), xml)
        cut = self._faults.take(Fault.TRUNCATED_DOCUMENT, "downloadReport") is not None
        headers = {"Content-Type": document.content_type, "ETag": f'"{secrets.token_hex(16)}"'}
        return Download(200, document.body, headers, cut)

    # --- the document ------------------------------------------------------------------

    def _tsv(self, report: _Report) -> _Document | None:
        by_updated = report.report_type == BY_LAST_UPDATE
        flt = SearchFilter(
            by_updated=by_updated,
            lower=to_epoch(report.start),
            upper=to_epoch(report.end),
            marketplace_ids=frozenset(report.marketplace_ids),
        )
        found, _ = self._store.search(flt, None, len(self._store) + 1)
        if not found:
            return None
        charset, codec = charset_for(_marketplace(report.marketplace_ids[0]).country)
        newline = "\r\n" if charset != "UTF-8" else "\n"
        lines = ["\t".join(COLUMNS + EXTRA_COLUMNS)]
        for rec in found:
            lines.extend("\t".join(row) for row in self._rows(rec))
        text = newline.join(lines) + newline
        body = text.encode(codec, errors="replace")
        compressed = len(body) > GZIP_OVER
        if compressed:
            body = gzip.compress(body, mtime=0)
        return _Document(body, f"text/plain;charset={charset}", compressed)

    def _rows(self, rec: OrderRecord) -> list[tuple[str, ...]]:
        order = self.localize(
            self._store.render(rec, frozenset({"FULFILLMENT", "PROCEEDS", "PROMOTION"}))
        )
        oid = rec.order_id
        mkt = rec.mkt
        fulfillment = order.get("fulfillment") or {}
        status = str(fulfillment.get("fulfillmentStatus", ""))
        afn = fulfillment.get("fulfilledBy") == "AMAZON"
        cancelled = status == "CANCELLED"
        report_status = _STATUSES.get(status, status.title())
        if status == "SHIPPED" and afn and rec.pkg_status != "DELIVERED":
            report_status = "Shipping"  # Amazon's word while FBA ships it
        level = _LEVELS.get(str(fulfillment.get("fulfillmentServiceLevel")), "Standard")
        shipping_fee = ""
        for part in (order.get("proceeds") or {}).get("breakdowns") or ():
            if part.get("type") == "SHIPPING":
                shipping_fee = part["subtotal"]["amount"]
        business = "AMAZON_BUSINESS" in (order.get("programs") or ())
        updated = _iso(datetime.fromisoformat(str(order["lastUpdatedTime"])))
        rows: list[tuple[str, ...]] = []
        items = order.get("orderItems") or []
        for pos, item in enumerate(items):
            product = item["product"]
            qty = int(item["quantityOrdered"])
            unit = product["price"]["unitPrice"]["amount"]
            done = (item.get("fulfillment") or {}).get("quantityFulfilled", 0)
            item_status = "Cancelled" if cancelled else ("Shipped" if done else "Unshipped")
            price = tax = ""
            if not cancelled:
                price = _cents_text(_cents(unit) * qty)
                tax = "0.00"
                for part in (item.get("proceeds") or {}).get("breakdowns") or ():
                    if part.get("type") == "TAX":
                        tax = part["subtotal"]["amount"]
            promos = (item.get("promotion") or {}).get("breakdowns") or ()
            zero = "" if cancelled else "0.00"
            ship_price = (shipping_fee or "0.00") if pos == 0 and not cancelled else zero
            rows.append(
                (
                    oid, "", _iso_epoch(rec.created), updated,
                    report_status, "Amazon" if afn else "Merchant", mkt.name, "", level,
                    str(product["title"]), str(product["sellerSku"]), str(product["asin"]),
                    item_status, str(qty), mkt.currency, price, tax, ship_price, zero, zero,
                    zero, zero, zero, f"MKCITY-{oid}", f"MKSTATE-{oid}", f"MKZIP-{oid}",
                    f"MKCTRY-{oid}", ",".join(p["promotionId"] for p in promos),
                    f"MKCPF-{oid}" if mkt.country == "BR" else "",
                    "true" if business else "false",
                    f"PO-DEMO-{rec.idx:06d}" if business else "",
                    "BusinessPrice" if business else "",
                    str(len(items)), "false",
                )
            )  # fmt: skip
        return rows


def _marketplace(marketplace_id: str) -> Marketplace:
    return MARKETPLACE_BY_ID.get(marketplace_id) or EXTRA_MARKETPLACES[marketplace_id]


def _error_document(details: str) -> _Document:
    body = json.dumps({"errorDetails": details}).encode()
    return _Document(body, "text/plain;charset=UTF-8", False)


def _parse_time(value: Any, default: datetime) -> datetime:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError("dates must be ISO 8601 strings")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date: {value[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso_epoch(epoch: int) -> str:
    return _iso(datetime.fromtimestamp(epoch, UTC))


def _cents(amount: str) -> int:
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _cents_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
