"""Amazon's 24-hour reply rule, as plain functions (no I/O).

Amazon counts a reply later than 24 hours after the buyer's message as late, weekends
and holidays included (``../shared/reference/amazon.md``).  So the clock is plain
elapsed time: the due time is 24 real hours after the oldest buyer message not answered
yet, whatever the local calendar does (a DST change makes it 23:00 or 01:00 local the
next day, never 24 local hours).  All times here are aware datetimes; the vault keeps
them in UTC.

- A reply answers every buyer message before it; "no response needed" does the same
  (it stops the clock until a new buyer message).
- A buyer message after the last answer starts the clock again.

Thread: any.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from app.mail.models import Urgency

REPLY_WITHIN = timedelta(hours=24)
SOON = timedelta(hours=6)  # under this: amber
URGENT = timedelta(hours=2)  # under this: orange; past due: red


class EventKind(StrEnum):
    BUYER = "buyer"  # a buyer message arrived
    REPLY = "reply"  # the seller's reply was sent
    NO_RESPONSE = "no_response"  # marked "no response needed"


@dataclass(frozen=True)
class ClockEvent:
    at: datetime
    kind: EventKind


def clock_start(events: Iterable[ClockEvent]) -> datetime | None:
    """When the clock started: the oldest buyer message after the last answer (a reply
    or "no response needed"), or ``None`` when nothing waits for an answer.  An answer
    at the same instant as a buyer message answers it (times are kept to the second, and
    an answer given here is recorded no earlier than the newest message it answers)."""
    order = {EventKind.BUYER: 0, EventKind.REPLY: 1, EventKind.NO_RESPONSE: 1}
    start: datetime | None = None
    for event in sorted(events, key=lambda e: (e.at, order[e.kind])):
        if event.kind is EventKind.BUYER:
            if start is None:
                start = event.at
        else:
            start = None
    return start


def due_at(start: datetime | None) -> datetime | None:
    """The reply is due 24 real hours after ``start`` (weekends and holidays count), in
    UTC.  (Python adds a timedelta to a zoned datetime in wall-clock time: 24 h after
    Saturday 10:00 before a DST change would be Sunday 10:00 local, 23 or 25 real hours.)"""
    return None if start is None else start.astimezone(UTC) + REPLY_WITHIN


def _left(due: datetime, now: datetime) -> timedelta:
    # In UTC: a difference of two datetimes in the same zone ignores a DST change.
    return due.astimezone(UTC) - now.astimezone(UTC)


def urgency(due: datetime | None, now: datetime) -> Urgency:
    """Where a thread stands: NONE (nothing due), OK (more than 6 h left), SOON (under
    6 h), URGENT (under 2 h), OVERDUE (due time reached)."""
    if due is None:
        return Urgency.NONE
    left = _left(due, now)
    if left <= timedelta(0):
        return Urgency.OVERDUE
    if left < URGENT:
        return Urgency.URGENT
    if left < SOON:
        return Urgency.SOON
    return Urgency.OK


def time_left(due: datetime | None, now: datetime) -> str:
    """The inbox's "time left" text: ``"5 h 12 min left"``, ``"40 min left"``,
    ``"overdue by 3 h"``, ``"overdue by 2 d 4 h"``; ``""`` when nothing is due.
    Minutes are rounded down while time is left (never promise a minute that is not
    there) and overdue shows whole hours past the first hour."""
    if due is None:
        return ""
    seconds = int(_left(due, now).total_seconds())
    if seconds > 0:
        minutes = seconds // 60
        hours, mins = divmod(minutes, 60)
        if hours == 0:
            return f"{mins} min left" if mins else "under 1 min left"
        return f"{hours} h {mins} min left" if mins else f"{hours} h left"
    late = -seconds // 60
    if late < 60:
        return f"overdue by {late} min" if late else "overdue"
    hours = late // 60
    if hours < 48:
        return f"overdue by {hours} h"
    days, hours = divmod(hours, 24)
    return f"overdue by {days} d {hours} h" if hours else f"overdue by {days} d"
