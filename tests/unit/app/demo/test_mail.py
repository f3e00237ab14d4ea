"""The demo's mailbox: seeded relay emails tied to the demo orders, and new ones arriving."""

from __future__ import annotations

import mailbox
import os
import random
import re
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.clock import FakeClock
from app.demo.mail import (
    DEMO_SELLER_ADDRESS,
    SENT_FOLDER,
    DemoMailFeed,
    DemoOrder,
    deliver_one,
    demo_orders,
    seed_demo_mailbox,
)
from app.demo.seed_orders import OrderStore
from app.mail.clock import ClockEvent, EventKind, clock_start, due_at, urgency
from app.mail.models import ParsedEmail, Urgency
from app.mail.parse import is_relay_address, parse_email

NOW = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}")

# A few words only each language's texts use (the seeded texts are short and plain).
LANGUAGE_WORDS = {
    "amazon.com": {"hi", "hello", "the", "my", "i", "any", "sorry", "thanks", "please", "do"},
    "amazon.ca": {"hi", "hello", "the", "my", "i", "any", "sorry", "thanks", "please", "do"},
    "amazon.co.uk": {"hi", "hello", "the", "my", "i", "any", "sorry", "thanks", "please", "do"},
    "amazon.de": {"hallo", "guten", "ich", "sie", "bitte", "der", "gibt", "noch", "ist"},
    "amazon.fr": {"bonjour", "je", "ma", "le", "merci", "est", "avez"},
    "amazon.es": {"hola", "el", "mi", "por", "hay", "me"},
    "amazon.it": {"buongiorno", "il", "vorrei", "ci", "potete", "posso"},
}


@pytest.fixture(scope="module")
def orders() -> list[DemoOrder]:
    return demo_orders(OrderStore(count=2000, seed=1, now=NOW))


def _inbox(path: Path) -> list[tuple[str, ParsedEmail]]:
    box = mailbox.Maildir(path, factory=None, create=False)
    return [(key, parse_email(box.get_bytes(key))) for key in box.iterkeys()]


def _sent(path: Path) -> list[ParsedEmail]:
    sent = mailbox.Maildir(path, factory=None, create=False).get_folder(SENT_FOLDER)
    return [parse_email(sent.get_bytes(key)) for key in sent.iterkeys()]


def _seeded(tmp_path: Path, orders: list[DemoOrder], seed: int = 7) -> Path:
    path = tmp_path / "demo-mail"
    seed_demo_mailbox(path, orders, now=NOW, seed=seed)
    return path


def test_the_seeded_mailbox_parses_into_demo_orders_aliases_and_languages(
    tmp_path: Path, orders: list[DemoOrder]
) -> None:
    path = tmp_path / "demo-mail"
    written = seed_demo_mailbox(path, orders, now=NOW, seed=7)
    inbox = [parsed for _, parsed in _inbox(path)]
    assert written == len(inbox)
    assert 55 <= written <= 70

    known = {o.order_id: o for o in orders}
    domain_of = {"US": "amazon.com", "CA": "amazon.ca", "GB": "amazon.co.uk"}
    for parsed in inbox:
        assert parsed.is_amazon and is_relay_address(parsed.alias)
        assert parsed.alias.endswith("@marketplace." + parsed.marketplace_domain)
        assert parsed.to_addresses == (DEMO_SELLER_ADDRESS,)
        assert parsed.received_at <= NOW
        assert (
            parsed.no_response_needed_url and "no-response-needed" in parsed.no_response_needed_url
        )
        for leftover in ("Begin message", "End message", "commMgrTok", "no-response-needed"):
            assert leftover not in parsed.body
        assert parsed.body.strip()
        if parsed.order_id is not None:
            order = known[parsed.order_id]  # a real demo order, in its own marketplace
            expected = domain_of.get(order.country, "amazon." + order.country.lower())
            assert parsed.marketplace_domain == expected
            assert order.created < parsed.received_at
        words = set(re.findall(r"[a-zà-ÿ]+", parsed.body.lower()))
        if parsed.marketplace_domain == "amazon.co.jp":
            assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", parsed.body)
        else:
            assert words & LANGUAGE_WORDS[parsed.marketplace_domain], parsed.marketplace_domain

    assert {p.marketplace_domain for p in inbox} == {
        "amazon.com", "amazon.ca", "amazon.co.uk", "amazon.de",
        "amazon.fr", "amazon.es", "amazon.it", "amazon.co.jp",
    }  # fmt: skip
    with_order = [p for p in inbox if p.order_id is not None]
    assert len(with_order) >= 40
    assert len({p.alias for p in inbox if p.order_id is None}) >= 8  # pre-sale questions
    photos = [a for p in inbox for a in p.attachments]
    assert len(photos) >= 5
    assert {a.content_type for a in photos} == {"image/png"}
    assert all(a.size > 1000 for a in photos)
    per_alias = Counter(p.alias for p in inbox)
    assert sum(1 for n in per_alias.values() if n == 2) >= 8
    assert sum(1 for n in per_alias.values() if n == 3) >= 2
    # An alias belongs to one thread: one order at most.
    orders_of = defaultdict(set)
    for p in inbox:
        orders_of[p.alias].add(p.order_id)
    assert all(len(ids) == 1 for ids in orders_of.values())


def test_the_seller_replies_sit_in_sent_threaded_to_the_buyer(
    tmp_path: Path, orders: list[DemoOrder]
) -> None:
    path = _seeded(tmp_path, orders)
    inbox = {p.message_id: p for _, p in _inbox(path)}
    sent = _sent(path)
    assert len(sent) >= 15
    for reply in sent:
        assert reply.from_address == DEMO_SELLER_ADDRESS
        assert reply.is_amazon  # To a relay address
        original = inbox[reply.in_reply_to]
        assert reply.to_addresses == (original.alias,)
        assert reply.subject == "Re: " + original.subject
        assert reply.references[-1] == original.message_id
        assert original.received_at < reply.received_at <= NOW


def _buckets(path: Path, now: datetime) -> Counter[Urgency]:
    events: dict[str, list[ClockEvent]] = defaultdict(list)
    for _, parsed in _inbox(path):
        events[parsed.alias].append(ClockEvent(parsed.received_at, EventKind.BUYER))
    for reply in _sent(path):
        events[reply.to_addresses[0]].append(ClockEvent(reply.received_at, EventKind.REPLY))
    return Counter(urgency(due_at(clock_start(e)), now) for e in events.values())


def test_the_threads_spread_over_the_reply_clock(tmp_path: Path, orders: list[DemoOrder]) -> None:
    buckets = _buckets(_seeded(tmp_path, orders), NOW)
    assert buckets[Urgency.OVERDUE] >= 5
    assert buckets[Urgency.URGENT] >= 4
    assert buckets[Urgency.SOON] >= 5
    assert buckets[Urgency.OK] >= 5
    assert buckets[Urgency.NONE] >= 8  # answered
    # Looked at a quarter of an hour later, no thread has changed its colour yet.
    assert _buckets(tmp_path / "demo-mail", NOW + timedelta(minutes=15)) == buckets


def test_seeding_is_deterministic_for_a_seed(tmp_path: Path, orders: list[DemoOrder]) -> None:
    def contents(path: Path) -> list[bytes]:
        box = mailbox.Maildir(path, factory=None, create=False)
        sent = box.get_folder(SENT_FOLDER)
        return sorted(box.get_bytes(k) for k in box.iterkeys()) + sorted(
            sent.get_bytes(k) for k in sent.iterkeys()
        )

    one = contents(_seeded(tmp_path / "one", orders, seed=7))
    two = contents(_seeded(tmp_path / "two", orders, seed=7))
    other = contents(_seeded(tmp_path / "other", orders, seed=8))
    assert one == two
    assert one != other


def test_a_seeded_mailbox_is_not_seeded_again(tmp_path: Path, orders: list[DemoOrder]) -> None:
    path = _seeded(tmp_path, orders)
    before = len(mailbox.Maildir(path, factory=None))
    assert seed_demo_mailbox(path, orders, now=NOW + timedelta(days=1), seed=7) == 0
    assert len(mailbox.Maildir(path, factory=None)) == before


def test_files_carry_the_delivery_time_and_unread_mail_waits_in_new(
    tmp_path: Path, orders: list[DemoOrder]
) -> None:
    path = _seeded(tmp_path, orders)
    inbox = _inbox(path)
    for key, parsed in inbox:
        file = next((path / "new").glob(key + "*"))
        assert os.stat(file).st_mtime == parsed.received_at.timestamp()
    assert not list((path / "cur").iterdir())
    assert list((path / ".Sent" / "cur").iterdir())


def test_deliver_one_adds_exactly_one_new_buyer_message(
    tmp_path: Path, orders: list[DemoOrder]
) -> None:
    path = _seeded(tmp_path, orders)
    before = {key for key, _ in _inbox(path)}
    sent_before = len(_sent(path))
    later = NOW + timedelta(minutes=4)

    key = deliver_one(path, orders, now=later, rng=random.Random(5))

    after = dict(_inbox(path))
    assert set(after) - before == {key}
    assert len(after) == len(before) + 1
    assert len(_sent(path)) == sent_before
    new = after[key]
    assert new.is_amazon and new.received_at == later
    assert new.alias not in {after[k].alias for k in before}  # a new thread
    assert new.order_id is None or new.order_id in {o.order_id for o in orders}


def test_deliver_one_is_deterministic_for_an_rng(tmp_path: Path, orders: list[DemoOrder]) -> None:
    keys = [deliver_one(tmp_path / n, orders, now=NOW, rng=random.Random(5)) for n in "ab"]
    raws = [
        mailbox.Maildir(tmp_path / n, factory=None).get_bytes(k)
        for n, k in zip("ab", keys, strict=True)
    ]
    assert raws[0] == raws[1]


def test_the_feed_delivers_while_the_demo_runs(tmp_path: Path, orders: list[DemoOrder]) -> None:
    delivered: list[str] = []
    arrived = threading.Event()

    def on_delivered(key: str) -> None:
        delivered.append(key)
        if len(delivered) == 2:
            arrived.set()

    clock = FakeClock(NOW)
    feed = DemoMailFeed(tmp_path / "m", orders, clock, interval=0.01, on_delivered=on_delivered)
    feed.start()
    try:
        assert arrived.wait(10)
    finally:
        feed.close()
    box = mailbox.Maildir(tmp_path / "m", factory=None)
    assert set(delivered) <= set(box.keys())
    assert len(box) == len(delivered)


def test_demo_orders_are_the_newest_with_their_first_product() -> None:
    store = OrderStore(count=50, seed=1, now=NOW)
    got = demo_orders(store, limit=10)
    assert [o.order_id for o in got] == list(reversed(store.order_ids()[-10:]))
    assert all(ORDER_ID.fullmatch(o.order_id) and o.asin.startswith("B0") for o in got)
    assert [o.created for o in got] == sorted((o.created for o in got), reverse=True)
