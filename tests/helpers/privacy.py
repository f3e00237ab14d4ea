"""Buyers whose PII carries unique markers, for the privacy engine's tests (issue 14).

:func:`put_buyer` stores, through the real parser and ``app.mail.repo.store_message``,
one buyer message (name in From and subject, relay alias, phone and street address in
the body, an attachment named after them) and the seller's reply naming them, plus a
draft; :func:`found` says which of a buyer's markers are still in any value of any table.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from typing import Any

from app.mail import repo
from app.mail.models import Direction
from app.mail.parse import parse_email
from app.vault import Vault
from tests.helpers.emails import relay_alias, relay_email, seller_reply
from tests.helpers.labels import every_value


def tag_of(n: int) -> str:
    """Two letters unique for ``n`` < 676 (names and streets hold no digits)."""
    letters = string.ascii_lowercase
    return letters[n // 26 % 26] + letters[n % 26]


def markers(n: int) -> dict[str, str]:
    """Buyer ``n``'s PII, each value unique to ``n``."""
    tag = tag_of(n)
    return {
        "first": f"Zebul{tag}",
        "last": f"Quaxworth{tag}",
        "alias": f"zq{tag}buyer77",
        "phone": f"206-555-{n % 10000:04d}",
        "street": f"Quillfeather{tag}",
        "file": f"receipt{tag}scan",
    }


def put_buyer(vault: Vault, n: int, order_id: str | None, at: datetime, store_id: int = 1) -> int:
    """Buyer ``n``'s message at ``at``, the seller's reply a day later and a draft;
    returns the thread id."""
    m = markers(n)
    name = f"{m['first']} {m['last']}"
    alias = relay_alias(m["alias"])
    text = (
        f"Hello, this is {name}. My parcel has not arrived. Please call me at "
        f"{m['phone']}.\n\nShip to:\n{name}\n4417 {m['street']} Lane\nSpringfield, IL 62704"
    )
    inbound = parse_email(
        relay_email(
            order_id=order_id,
            alias=alias,
            text=text,
            buyer=name,
            date=at,
            attachments=[(f"{m['file']}.PDF", "application/pdf", b"%PDF-1.4 x")],
        )
    )
    reply = parse_email(
        seller_reply(
            alias=alias,
            text=f"Hi {m['first']}, sorry about that, a new one is on its way.",
            subject=f"Re: Inquiry from Amazon customer {name} (Order: {order_id})",
            date=at + timedelta(days=1),
        )
    )

    def write(conn: Any) -> int:
        stored = repo.store_message(
            conn,
            store_id,
            inbound,
            direction=Direction.IN,
            folder="INBOX",
            source_key=f"1:{n}",
            now=at,
        )
        repo.store_message(
            conn,
            store_id,
            reply,
            direction=Direction.OUT,
            folder="Sent",
            source_key=f"2:{n}",
            now=at + timedelta(days=1),
        )
        repo.set_draft(conn, stored.thread_id, f"Dear {m['first']}, thanks!", at)
        return stored.thread_id

    return vault.call_write(write)


def found(vault: Vault, n: int) -> list[str]:
    """Which of buyer ``n``'s markers are in any value of any table (case-insensitive)."""
    everything = vault.call(every_value).casefold()
    return [k for k, v in markers(n).items() if v.casefold() in everything]
