"""A vault with buyer-message threads for the inbox UI tests: relay emails built by
``tests/helpers/emails.py``, parsed by the real parser and stored by the real
``app.mail.repo.store_message``, at times around the reply clock's thresholds."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.mail import repo
from app.mail.models import Direction
from app.mail.parse import parse_email
from app.vault import Vault
from tests.helpers.emails import relay_alias, relay_email, seller_reply

# Fetch keys as IMAP gives them ("uidvalidity:uid"): never made of buyer data, so the
# privacy tests' scans need no rewrite of them.
_FETCH_KEYS = itertools.count(1)

#: A PNG of 1×1 pixel (a photo attachment the conversation shows from memory).
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f8cfc0f01f00050001ff89993d1d0000000049454e44ae426082"
)


def add_store(vault: Vault, store_id: int = 1, name: str = "Acme Kitchen") -> int:
    vault.call_write(
        lambda conn: conn.execute(
            "INSERT INTO stores(id, name, created_at) VALUES (?, ?, '2026-01-01T00:00:00Z')",
            (store_id, name),
        )
    )
    return store_id


def put_buyer_message(
    vault: Vault,
    *,
    now: datetime,
    received: datetime,
    alias: str,
    order_id: str | None,
    text: str,
    store_id: int = 1,
    buyer: str | None = "Cherri",
    attachments: Sequence[tuple[str, str, bytes]] = (),
    message_id: str | None = None,
) -> repo.StoredMessage:
    raw = relay_email(
        order_id=order_id,
        alias=relay_alias(alias),
        text=text,
        date=received,
        buyer=buyer,
        attachments=attachments,
        message_id=message_id,
    )
    parsed = parse_email(raw)
    return vault.call_write(
        lambda conn: repo.store_message(
            conn,
            store_id,
            parsed,
            direction=Direction.IN,
            folder="INBOX",
            source_key=f"7:{next(_FETCH_KEYS)}",
            now=now,
        )
    )


def put_seller_reply(
    vault: Vault,
    *,
    now: datetime,
    sent: datetime,
    alias: str,
    order_id: str,
    text: str,
    store_id: int = 1,
) -> repo.StoredMessage:
    subject = f"Re: Inquiry from Amazon customer Cherri (Order: {order_id})"
    raw = seller_reply(alias=relay_alias(alias), text=text, date=sent, subject=subject)
    parsed = parse_email(raw)
    return vault.call_write(
        lambda conn: repo.store_message(
            conn,
            store_id,
            parsed,
            direction=Direction.OUT,
            folder="Sent",
            source_key=f"8:{next(_FETCH_KEYS)}",
            now=now,
        )
    )


@dataclass(frozen=True)
class Seeded:
    """Thread ids by what they are, in the order the inbox sorts them (due soonest)."""

    overdue: int
    urgent: int  # under 2 h left
    soon: int  # under 6 h left
    ok: int  # 23 h left
    replied: int
    presale: int  # no order id, 21 h left

    def by_due(self) -> list[int]:
        """The threads with a reply due, due soonest first."""
        return [self.overdue, self.urgent, self.soon, self.presale, self.ok]


def seed_inbox(vault: Vault, now: datetime, *, store_id: int = 1, **kw: Any) -> Seeded:
    """Six threads of one store: overdue, < 2 h, < 6 h, > 6 h, replied, and a pre-sale
    question (no order).  Unique words per thread for searching: see the texts."""
    h = timedelta(hours=1)

    def buyer(alias: str, order: str | None, hours_ago: float, text: str, **extra: Any) -> int:
        return put_buyer_message(
            vault,
            now=now,
            received=now - hours_ago * h,
            alias=alias,
            order_id=order,
            text=text,
            store_id=store_id,
            **extra,
        ).thread_id

    overdue = buyer("overdue0buyer", "111-0000001-0000001", 30, "Where is my parcel? walrus")
    urgent = buyer(
        "urgent00buyer",
        "111-0000002-0000002",
        23,
        "The kettle arrived broken, see the photo. pelican",
        attachments=[("kettle.png", "image/png", PIXEL_PNG)],
    )
    soon = buyer("soon0000buyer", "111-0000003-0000003", 20, "Can I return the mug? otter")
    ok = buyer("ok000000buyer", "111-0000004-0000004", 1, "Please send an invoice. badger")
    replied = buyer("replied0buyer", "111-0000005-0000005", 10, "Does it fit? heron")
    put_seller_reply(
        vault,
        now=now,
        sent=now - 9 * h,
        alias="replied0buyer",
        order_id="111-0000005-0000005",
        text="Yes, it fits. heron",
    )
    presale = buyer("presale0buyer", None, 3, "Is this dishwasher safe? lynx", buyer="Robin")
    return Seeded(overdue, urgent, soon, ok, replied, presale)
