"""Amazon's 24-hour rule: calendar hours (weekends, holidays, DST changes count as the
real hours they are), the oldest unanswered buyer message, urgency and its words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.clock import FakeClock
from app.mail.clock import ClockEvent, EventKind, clock_start, due_at, time_left, urgency
from app.mail.models import Urgency

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def buyer(at: datetime) -> ClockEvent:
    return ClockEvent(at, EventKind.BUYER)


def reply(at: datetime) -> ClockEvent:
    return ClockEvent(at, EventKind.REPLY)


def test_the_clock_runs_through_a_weekend() -> None:
    friday_evening = datetime(2026, 11, 27, 18, 30, tzinfo=BERLIN)  # a Friday
    due = due_at(friday_evening)
    assert due == datetime(2026, 11, 28, 18, 30, tzinfo=BERLIN)  # Saturday, not Monday
    clock = FakeClock(friday_evening.astimezone(UTC))
    assert urgency(due, clock.now()) is Urgency.OK
    clock.advance(19 * 3600)  # Saturday 13:30: 5 h left
    assert urgency(due, clock.now()) is Urgency.SOON
    assert time_left(due, clock.now()) == "5 h left"
    clock.advance(4 * 3600 + 12 * 60)  # 17:42: 48 min left
    assert urgency(due, clock.now()) is Urgency.URGENT
    assert time_left(due, clock.now()) == "48 min left"
    clock.advance(48 * 60)
    assert urgency(due, clock.now()) is Urgency.OVERDUE
    clock.advance(3 * 3600)
    assert time_left(due, clock.now()) == "overdue by 3 h"


@pytest.mark.parametrize(
    ("start", "local_due"),
    [
        # Europe/Berlin springs forward on 29 March 2026 (02:00 -> 03:00): 24 real
        # hours after Saturday 10:00 is Sunday 11:00 local time.
        (datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN), datetime(2026, 3, 29, 11, 0)),
        # and falls back on 25 October 2026 (03:00 -> 02:00): Sunday 09:00 local.
        (datetime(2026, 10, 24, 10, 0, tzinfo=BERLIN), datetime(2026, 10, 25, 9, 0)),
        # America/New_York: 8 March 2026 forward, 1 November 2026 back.
        (datetime(2026, 3, 7, 22, 0, tzinfo=NEW_YORK), datetime(2026, 3, 8, 23, 0)),
        (datetime(2026, 10, 31, 22, 0, tzinfo=NEW_YORK), datetime(2026, 11, 1, 21, 0)),
    ],
)
def test_the_due_time_is_24_real_hours_across_a_dst_change(
    start: datetime, local_due: datetime
) -> None:
    due = due_at(start)
    assert due is not None
    assert due - start == timedelta(hours=24)
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24)
    assert due.astimezone(start.tzinfo).replace(tzinfo=None) == local_due
    # An injected clock one real hour before the due time says "1 h left", though the
    # local wall clock moved 23 or 25 hours since the message.
    clock = FakeClock(start.astimezone(UTC))
    clock.advance(23 * 3600)
    assert time_left(due, clock.now()) == "1 h left"
    assert urgency(due, clock.now()) is Urgency.URGENT
    # The same in local times of that zone (Python subtracts those in wall-clock time).
    zone = start.tzinfo
    assert time_left(due.astimezone(zone), clock.now().astimezone(zone)) == "1 h left"
    assert urgency(due.astimezone(zone), clock.now().astimezone(zone)) is Urgency.URGENT


def test_the_clock_starts_at_the_oldest_unanswered_buyer_message() -> None:
    t = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert clock_start([]) is None
    assert clock_start([buyer(t), buyer(t + timedelta(hours=3))]) == t
    # A reply answers every buyer message before it ...
    assert clock_start([buyer(t), reply(t + timedelta(hours=1))]) is None
    # ... and a new buyer message after it starts the clock again, from that message.
    events = [
        buyer(t),
        reply(t + timedelta(hours=1)),
        buyer(t + timedelta(hours=5)),
        buyer(t + timedelta(hours=7)),
    ]
    assert clock_start(events) == t + timedelta(hours=5)
    # The order the events are given in does not matter.
    assert clock_start(list(reversed(events))) == t + timedelta(hours=5)


def test_no_response_needed_stops_the_clock_until_a_new_buyer_message() -> None:
    t = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    stopped = [buyer(t), ClockEvent(t + timedelta(hours=2), EventKind.NO_RESPONSE)]
    assert clock_start(stopped) is None
    assert clock_start([*stopped, buyer(t + timedelta(hours=30))]) == t + timedelta(hours=30)


def test_an_answer_at_the_same_instant_as_a_buyer_message_answers_it() -> None:
    t = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert clock_start([reply(t), buyer(t)]) is None
    assert clock_start([ClockEvent(t, EventKind.NO_RESPONSE), buyer(t)]) is None


@pytest.mark.parametrize(
    ("left", "level", "words"),
    [
        (timedelta(hours=23, minutes=59), Urgency.OK, "23 h 59 min left"),
        (timedelta(hours=6), Urgency.OK, "6 h left"),
        (timedelta(hours=5, minutes=12, seconds=59), Urgency.SOON, "5 h 12 min left"),
        (timedelta(hours=2), Urgency.SOON, "2 h left"),
        (timedelta(hours=1, minutes=59), Urgency.URGENT, "1 h 59 min left"),
        (timedelta(seconds=30), Urgency.URGENT, "under 1 min left"),
        (timedelta(0), Urgency.OVERDUE, "overdue"),
        (-timedelta(minutes=25), Urgency.OVERDUE, "overdue by 25 min"),
        (-timedelta(hours=3, minutes=40), Urgency.OVERDUE, "overdue by 3 h"),
        (-timedelta(days=3, hours=5), Urgency.OVERDUE, "overdue by 3 d 5 h"),
        (-timedelta(days=2), Urgency.OVERDUE, "overdue by 2 d"),
    ],
)
def test_urgency_and_time_left(left: timedelta, level: Urgency, words: str) -> None:
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert urgency(now + left, now) is level
    assert time_left(now + left, now) == words


def test_nothing_due() -> None:
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert due_at(None) is None
    assert urgency(None, now) is Urgency.NONE
    assert time_left(None, now) == ""
