"""Client-side token buckets that mirror Amazon's usage plans, and retry back-off.

Amazon meters each operation per seller account with a token bucket (rate, burst).
Ours starts from the documented plan, follows the live ``x-amzn-RateLimit-Limit``
header, and is emptied by a 429, so the sync sends a request exactly when Amazon will
accept it: no idling while tokens are there, no storm of 429s.

The header can overstate what is left for us (another seat or tool sharing the seller's
quota, a plan changed mid-run).  A 429 on the first request after a 429 (we waited for
exactly the advertised refill, and still no token) halves our rate, down to 1/64 of the
advertised; each success wins 2 % back, up to the advertised rate.  A header announcing
a different rate (a new plan) is taken as it is.

Waiting happens with ``cancel.wait(timeout)`` on the calling worker thread (never
``time.sleep``, never the GUI thread); the waiter is injectable for tests.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.clock import Clock
from app.errors import OperationCancelled

#: Amazon's documented default usage plans: (requests per second, burst).
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    # Reports API 2021-06-30 (models/reports-api-model/reports_2021-06-30.json)
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReportDocument": (0.0167, 15),
}

# Slowing down on repeated 429s: halve, never below advertised/_FLOOR; recover per success.
_SLOW_DOWN = 0.5
_FLOOR = 64.0
_RECOVER = 1.02

# Sent a hair after our bucket says a token is there: the server's bucket refills at the
# same rate but float rounding on either side must not turn into a 429.
_SAFETY_SECONDS = 0.002

Waiter = Callable[[threading.Event, float], bool]


def event_wait(cancel: threading.Event, seconds: float) -> bool:
    """Default waiter: wake early (True) when ``cancel`` is set."""
    return cancel.wait(seconds)


@dataclass(frozen=True)
class BucketState:
    """A bucket as a process leaves it, for the next one (``rate_buckets`` row)."""

    tokens: float
    rate: float
    advertised: float
    saved_at: datetime

    def tokens_at(self, now: datetime, burst: int) -> float:
        """The tokens there are at ``now``, refilled since it was saved."""
        since = max(0.0, (now - self.saved_at).total_seconds())
        return min(float(burst), self.tokens + since * self.rate)


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second.  Thread-safe."""

    def __init__(self, rate: float, burst: int, clock: Clock, *, tokens: float | None = None):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.advertised = rate
        self.burst = burst
        self._after_429 = False
        self._clock = clock
        self._tokens = float(burst) if tokens is None else float(tokens)
        self._stamp = clock.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def try_take(self) -> float:
        """Take a token and return 0.0, or return the seconds until one is there."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate + _SAFETY_SECONDS

    def acquire(self, cancel: threading.Event, *, waiter: Waiter = event_wait) -> float:
        """Block (on this worker thread) until a token is taken; returns seconds waited.

        Raises :class:`OperationCancelled` as soon as ``cancel`` is set.
        """
        waited = 0.0
        while True:
            if cancel.is_set():
                raise OperationCancelled()
            delay = self.try_take()
            if delay == 0.0:
                return waited
            if waiter(cancel, delay):
                raise OperationCancelled()
            waited += delay

    def set_rate(self, rate: float) -> None:
        """Follow the live rate Amazon reports (``x-amzn-RateLimit-Limit``) when it
        changes; the same figure again keeps what 429s taught us."""
        if rate <= 0:
            return
        with self._lock:
            self._refill()
            if rate != self.advertised:
                self.advertised = self.rate = rate

    def throttled(self) -> None:
        """Amazon said 429: its bucket is empty, so ours is too.  A second 429 in a row
        means it refills slower than advertised: slow down."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0)
            if self._after_429:
                floor = self.advertised / _FLOOR
                self.rate = max(floor, min(self.rate, self.advertised) * _SLOW_DOWN)
            self._after_429 = True

    def succeeded(self) -> None:
        """A request got through: win back some of the rate lost to 429s."""
        with self._lock:
            self._refill()
            self._after_429 = False
            self.rate = min(self.advertised, self.rate * _RECOVER)

    def state(self) -> BucketState:
        with self._lock:
            self._refill()
            return BucketState(self._tokens, self.rate, self.advertised, self._clock.now())

    def eta(self, requests: int) -> float:
        """Seconds the next ``requests`` calls need at this rate (burst counted)."""
        if requests <= 0:
            return 0.0
        with self._lock:
            self._refill()
            missing = max(0.0, requests - self._tokens)
            return missing / self.rate


class RateLimits:
    """One bucket per (store, operation), shared by every sync run and order fetch."""

    def __init__(self, clock: Clock, plans: dict[str, tuple[float, int]] | None = None) -> None:
        self._clock = clock
        self._plans = dict(plans or USAGE_PLANS)
        self._buckets: dict[tuple[int, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, store_id: int, operation: str) -> TokenBucket:
        with self._lock:
            key = (store_id, operation)
            found = self._buckets.get(key)
            if found is None:
                rate, burst = self._plans[operation]
                found = self._buckets[key] = TokenBucket(rate, burst, self._clock)
            return found

    def restore(self, store_id: int, operation: str, state: BucketState) -> None:
        """Restart ``operation``'s bucket from its saved state (refilled for the time
        since): what the last sync left, in this process or another, less what was
        spent outside a sync since (Test connection)."""
        with self._lock:
            _, burst = self._plans[operation]
            tokens = state.tokens_at(self._clock.now(), burst)
            bucket = TokenBucket(state.advertised, burst, self._clock, tokens=tokens)
            bucket.rate = min(state.rate, state.advertised)
            self._buckets[(store_id, operation)] = bucket

    def forget(self, store_id: int) -> None:
        with self._lock:
            for key in [k for k in self._buckets if k[0] == store_id]:
                del self._buckets[key]


@dataclass
class Backoff:
    """Exponential back-off with jitter for 5xx, network and unreadable replies.

    ``next_delay()`` returns the next wait, or ``None`` when attempts are used up.
    """

    base: float = 1.0
    cap: float = 60.0
    attempts: int = 5
    rng: random.Random | None = None
    _done: int = 0

    def next_delay(self) -> float | None:
        if self._done >= self.attempts:
            return None
        delay = min(self.cap, self.base * (2**self._done))
        self._done += 1
        jitter: float = (self.rng or random).random()
        return float(delay * (0.5 + jitter))

    def reset(self) -> None:
        self._done = 0
