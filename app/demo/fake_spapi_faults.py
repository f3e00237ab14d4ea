"""Switchable faults and Amazon-style token buckets for the fake SP-API server.

Both classes are thread-safe: the server's request threads consume from them while a
test thread flips faults on and off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum

from app.clock import Clock

#: Operation names, as in Amazon's models (and ``lwaToken`` for the LWA endpoint).
SEARCH_ORDERS = "searchOrders"
GET_ORDER = "getOrder"
LWA_TOKEN = "lwaToken"
# Shipping API v2
GET_RATES = "getRates"
PURCHASE_SHIPMENT = "purchaseShipment"
GET_SHIPMENT_DOCUMENTS = "getShipmentDocuments"
CANCEL_SHIPMENT = "cancelShipment"
GET_TRACKING = "getTracking"
SHIPPING_OPERATIONS = (
    GET_RATES,
    PURCHASE_SHIPMENT,
    GET_SHIPMENT_DOCUMENTS,
    CANCEL_SHIPMENT,
    GET_TRACKING,
)
# Reports API 2021-06-30, and the download of a report document from its URL (not an
# SP-API operation: no token, no rate limit; named for the request counters and faults)
CREATE_REPORT = "createReport"
GET_REPORT = "getReport"
GET_REPORT_DOCUMENT = "getReportDocument"
DOWNLOAD_REPORT = "downloadReport"
REPORT_OPERATIONS = (CREATE_REPORT, GET_REPORT, GET_REPORT_DOCUMENT)
API_OPERATIONS = (SEARCH_ORDERS, GET_ORDER, *SHIPPING_OPERATIONS, *REPORT_OPERATIONS)

#: Amazon's documented default usage plans (requests per second, burst).
USAGE_PLANS: dict[str, tuple[float, int]] = {
    SEARCH_ORDERS: (0.0056, 20),
    GET_ORDER: (0.5, 30),
    **dict.fromkeys(SHIPPING_OPERATIONS, (80.0, 100)),
    CREATE_REPORT: (0.0167, 15),
    GET_REPORT: (2.0, 15),
    GET_REPORT_DOCUMENT: (0.0167, 15),
}


#: What ``x-amzn-RateLimit-Limit`` says when rate limiting is off (``speed=None``).
UNLIMITED_RATE = 1000.0


class Fault(StrEnum):
    """Faults a test can switch on; ``FakeSpApi.faults.set(Fault.THROTTLE, count=3)``."""

    # SP-API endpoints (``operation=`` narrows them to searchOrders or getOrder)
    THROTTLE = "throttle"  # 429 QuotaExceeded, whatever the bucket says
    SERVER_ERROR = "server_error"  # 500 InternalFailure
    UNAVAILABLE = "unavailable"  # 503 ServiceUnavailable
    SLOW = "slow"  # sleep ``delay`` seconds before answering (any endpoint)
    MALFORMED_JSON = "malformed_json"  # 200 with a body that is not JSON
    TRUNCATED_JSON = "truncated_json"  # 200 with the first half of the JSON body
    DISCONNECT = "disconnect"  # headers + half the body, then the connection drops
    MISSING_ROLE = "missing_role"  # 403 Unauthorized (app lacks the role)
    ODD_ORDER = "odd_order"  # 200; the first order: unknown status, an item without ASIN
    # Shipping v2 purchaseShipment (400 with Amazon's error code; nothing is bought)
    PURCHASE_FAILED = "purchase_failed"  # the carrier refused the shipment
    INSUFFICIENT_FUNDS = "insufficient_funds"  # the seller's payment method declined
    ADDRESS_INVALID = "address_invalid"  # the carrier rejected an address
    TOKEN_EXPIRED = "token_expired"  # TOKEN_EXPIRED, however fresh the rates are
    # Reports API
    REPORT_FATAL = "report_fatal"  # the next report ends FATAL, with an error document
    REPORT_CANCELLED = "report_cancelled"  # the next report ends CANCELLED (as if no data)
    TRUNCATED_DOCUMENT = "truncated_document"  # a download stops after half its length
    EXPIRED_DOCUMENT_URL = "expired_document_url"  # the next document URL is born expired
    # LWA token endpoint
    EXPIRED_TOKEN = "expired_token"  # issued access tokens are already expired
    INVALID_CLIENT = "invalid_client"  # 401 invalid_client
    INVALID_GRANT = "invalid_grant"  # 400 invalid_grant


@dataclass
class _Armed:
    remaining: int | None  # None: until cleared
    delay: float
    operation: str | None


class Faults:
    """The set of armed faults.  Each fault fires for the next ``count`` matching
    requests, or for every matching request until :meth:`clear` when ``count`` is None.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[Fault, _Armed] = {}
        self._fired: dict[Fault, int] = {}

    def set(
        self,
        fault: Fault | str,
        *,
        count: int | None = None,
        delay: float = 0.0,
        operation: str | None = None,
    ) -> None:
        """Arm ``fault``.  ``operation`` limits an API fault to one operation
        (``searchOrders``, ``getOrder``, ``getRates``, ``purchaseShipment``...);
        ``delay`` (seconds) is for :attr:`Fault.SLOW`."""
        name = Fault(fault)
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None for 'until cleared')")
        if name is Fault.SLOW and delay <= 0:
            raise ValueError("Fault.SLOW needs a positive delay")
        if operation is not None and operation not in API_OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}")
        with self._lock:
            self._armed[name] = _Armed(count, delay, operation)

    def clear(self, fault: Fault | str | None = None) -> None:
        """Disarm one fault, or all of them."""
        with self._lock:
            if fault is None:
                self._armed.clear()
            else:
                self._armed.pop(Fault(fault), None)

    def is_set(self, fault: Fault | str) -> bool:
        with self._lock:
            return Fault(fault) in self._armed

    def fired(self, fault: Fault | str) -> int:
        """How many requests this fault has hit so far."""
        with self._lock:
            return self._fired.get(Fault(fault), 0)

    def take(self, fault: Fault, operation: str) -> float | None:
        """Consume one firing of ``fault`` for a request to ``operation``.

        Returns None when the fault does not fire, else its delay (0.0 for faults
        without one).  Called on the server's request threads.
        """
        with self._lock:
            armed = self._armed.get(fault)
            if armed is None:
                return None
            if armed.operation is not None and armed.operation != operation:
                return None
            if armed.remaining is not None:
                armed.remaining -= 1
                if armed.remaining <= 0:
                    del self._armed[fault]
            self._fired[fault] = self._fired.get(fault, 0) + 1
            return armed.delay


class TokenBucket:
    """Amazon's token bucket: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock.monotonic()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            now = self._clock.monotonic()
            elapsed = max(0.0, now - self._stamp)
            self._stamp = now
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def drain(self) -> None:
        """Empty the bucket (a test shortcut for 'the burst is used up')."""
        with self._lock:
            self._tokens = 0.0
            self._stamp = self._clock.monotonic()


class RateLimiter:
    """One bucket per operation.  ``speed`` multiplies the refill rate (burst stays
    Amazon's); ``speed=None`` turns limiting off, e.g. for benchmarks."""

    def __init__(self, speed: float | None, clock: Clock) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive, or None for no rate limiting")
        self.speed = speed
        #: ``x-amzn-RateLimit-Limit`` claims this many times the rate applied (another
        #: seat sharing the seller's quota, a plan changed mid-run).
        self.overstate = 1.0
        self._buckets = {
            op: TokenBucket(rate * speed, burst, clock)
            for op, (rate, burst) in USAGE_PLANS.items()
            if speed is not None
        }

    def try_acquire(self, operation: str) -> bool:
        bucket = self._buckets.get(operation)
        return True if bucket is None else bucket.try_acquire()

    def drain(self, operation: str) -> None:
        bucket = self._buckets.get(operation)
        if bucket is not None:
            bucket.drain()

    def limit_header(self, operation: str) -> str:
        """The ``x-amzn-RateLimit-Limit`` value: the rate actually applied.  Without
        limiting it reports :data:`UNLIMITED_RATE`, so clients that adopt the live rate
        (as Amazon suggests) do not slow a benchmark down to Amazon's real pace."""
        if self.speed is None:
            return f"{UNLIMITED_RATE:g}"
        return f"{USAGE_PLANS[operation][0] * self.speed * self.overstate:g}"
