"""Token buckets and back-off, with a fake clock and a waiter that moves it."""

from __future__ import annotations

import random
import threading
from dataclasses import replace

import pytest

from app.amazon.ratelimit import Backoff, RateLimits, TokenBucket
from app.clock import FakeClock
from app.errors import OperationCancelled


def clock_waiter(clock: FakeClock, log: list[float]):  # type: ignore[no-untyped-def]
    def wait(cancel: threading.Event, seconds: float) -> bool:
        log.append(seconds)
        clock.advance(seconds)
        return cancel.is_set()

    return wait


def test_burst_then_documented_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(0.0056, 20, clock)
    waits: list[float] = []
    cancel = threading.Event()
    for _ in range(20):
        assert bucket.acquire(cancel, waiter=clock_waiter(clock, waits)) == 0.0
    assert waits == []
    bucket.acquire(cancel, waiter=clock_waiter(clock, waits))
    # One page every ~178.6 s after the burst, not more, not much less.
    assert sum(waits) == pytest.approx(1 / 0.0056, abs=0.01)


def test_no_idle_wait_when_a_token_is_there(clock: FakeClock) -> None:
    bucket = TokenBucket(0.5, 30, clock, tokens=0.0)
    clock.advance(2.0)
    assert bucket.try_take() == 0.0


def test_throttled_empties_bucket_and_header_rate_is_followed(clock: FakeClock) -> None:
    bucket = TokenBucket(0.0056, 20, clock)
    bucket.throttled()
    bucket.set_rate(2.0)
    assert bucket.try_take() == pytest.approx(0.5, abs=0.01)
    assert bucket.eta(3) == pytest.approx(1.5, abs=0.01)


def test_cancel_interrupts_wait(clock: FakeClock) -> None:
    bucket = TokenBucket(0.0056, 1, clock, tokens=0.0)
    cancel = threading.Event()

    def waiter(ev: threading.Event, seconds: float) -> bool:
        ev.set()  # the seller pressed Cancel while we waited
        return True

    with pytest.raises(OperationCancelled):
        bucket.acquire(cancel, waiter=waiter)


def test_buckets_are_per_store_and_operation(clock: FakeClock) -> None:
    limits = RateLimits(clock)
    a = limits.bucket(1, "searchOrders")
    assert limits.bucket(1, "searchOrders") is a
    assert limits.bucket(2, "searchOrders") is not a
    assert limits.bucket(1, "getOrder").burst == 30


def test_backoff_grows_with_jitter_and_ends() -> None:
    backoff = Backoff(base=1.0, cap=10.0, attempts=4, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(5)]
    assert delays[-1] is None
    got = [d for d in delays if d is not None]
    for n, d in enumerate(got):
        assert 0.5 * min(10.0, 2**n) <= d <= 1.5 * min(10.0, 2**n)


def test_second_429_at_the_refilled_rate_slows_below_the_advertised_rate(
    clock: FakeClock,
) -> None:
    bucket = TokenBucket(2.0, 20, clock)
    bucket.throttled()  # first 429: Amazon's bucket was emptier than ours (no slow-down)
    assert bucket.rate == 2.0
    bucket.set_rate(2.0)  # the header keeps advertising 2/s
    clock.advance(bucket.try_take())  # waited exactly for the advertised refill...
    bucket.throttled()  # ...and still 429: the real rate is lower
    assert bucket.rate == pytest.approx(1.0)
    bucket.set_rate(2.0)  # the same header again does not undo what the 429s taught
    assert bucket.rate == pytest.approx(1.0)
    bucket.set_rate(4.0)  # a new plan does
    assert bucket.rate == pytest.approx(4.0)


def test_slowed_rate_recovers_slowly_on_success_up_to_the_advertised(clock: FakeClock) -> None:
    bucket = TokenBucket(2.0, 20, clock)
    bucket.throttled()
    bucket.throttled()
    slowed = bucket.rate
    assert slowed < 2.0
    bucket.succeeded()
    assert slowed < bucket.rate < 2.0
    for _ in range(200):
        bucket.succeeded()
    assert bucket.rate == pytest.approx(2.0)


def test_slowing_down_has_a_floor(clock: FakeClock) -> None:
    bucket = TokenBucket(2.0, 20, clock)
    for _ in range(100):
        bucket.throttled()
    assert bucket.rate >= 2.0 / 64


def test_restored_bucket_refills_for_the_time_since_and_keeps_its_slowed_rate(
    clock: FakeClock,
) -> None:
    left = RateLimits(clock).bucket(1, "searchOrders")
    left.set_rate(2.0)
    left.throttled()
    left.throttled()  # slowed to 1/s, bucket empty
    state = left.state()
    clock.advance(3.0)
    limits = RateLimits(clock)  # the next process
    limits.restore(1, "searchOrders", state)
    bucket = limits.bucket(1, "searchOrders")
    assert bucket.tokens == pytest.approx(3.0)
    assert (bucket.rate, bucket.advertised) == (pytest.approx(1.0), 2.0)
    spent = replace(state, tokens=0.0, saved_at=clock.now())  # Test connection since
    limits.restore(1, "searchOrders", spent)  # the next sync in this process
    assert limits.bucket(1, "searchOrders").tokens == pytest.approx(0.0)
