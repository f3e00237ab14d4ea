"""The PII firewall, end to end over real HTTP: generated buyers, threads and orders.

Property (hypothesis): a thread written by a buyer whose name, address, phone and email
we know (written in any of their variants), redacted with ``app.pii.redact`` and put in
a prompt with the order's non-PII context, goes through ``providers.complete`` to the
fake provider (both APIs, streamed or not), and the provider received none of the
known PII, checked here with a normaliser of this test's own (case, accents,
separators).  The same thread unredacted is stopped with ``PIIBlocked`` and the
provider received nothing, not even a connection.  A third property does both with the
PII engine's own generators (``tests/helpers/pii.py``: six marketplaces) and its
``leaks`` oracle.
"""

from __future__ import annotations

import json
import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.demo.fake_ai import FakeAI
from app.drafting import providers
from app.drafting.guard import PIIBlocked
from app.drafting.models import OrderContext, ProviderKind
from app.drafting.prompt import Knowledge, build_messages
from app.pii import redact
from app.pii.models import KnownPII
from tests.helpers import pii as pii_helper

pytestmark = pytest.mark.integration

FIRST = (
    "Zoë", "José", "Björn", "Siobhán", "Łukasz", "Anaïs", "Jürgen", "Émilie", "Søren",
    "María", "Chloé", "Renée", "François", "Dagmar", "Priya", "Olusegun", "Günther",
    "Margaret", "Hiroshi", "Ingrid",
)  # fmt: skip
LAST = (
    "Müller", "O'Brien", "García", "Nguyen", "Kowalski", "Dubois", "Rossi", "Schäfer",
    "Fernández", "Okafor", "Lindqvist", "Wójcik", "Bianchi", "Thompson", "Yamamoto",
)  # fmt: skip
PRODUCTS = (
    "Merino wool hiking socks", "Ceramic pour-over coffee dripper", "USB-C charging cable 2 m",
    "Non-slip yoga mat", "Stainless steel water bottle 750 ml", "LED desk lamp with clamp",
)  # fmt: skip
MARKETPLACES = {
    "US": "amazon.com",
    "UK": "amazon.co.uk",
    "DE": "amazon.de",
    "FR": "amazon.fr",
    "ES": "amazon.es",
    "IT": "amazon.it",
}
CARRIERS = ("UPS", "DHL", "Royal Mail", "USPS", "Hermes")


@dataclass(frozen=True)
class Buyer:
    known: KnownPII
    marketplace: str  # US / UK / DE
    first: str
    last: str
    street: str  # the street line
    town: str  # postcode and city, as written in that country
    postcode: str
    phone_variants: tuple[str, ...]
    email: str
    alias: str


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return plain.replace("ł", "l").replace("ø", "o").replace("Ł", "L").replace("Ø", "O")


@st.composite
def buyers(draw: st.DrawFn) -> Buyer:
    first, last = draw(st.sampled_from(FIRST)), draw(st.sampled_from(LAST))
    market = draw(st.sampled_from(("US", "UK", "DE")))
    number = draw(st.integers(2, 989))
    digits = draw(st.text("0123456789", min_size=6, max_size=6))
    if market == "US":
        name = draw(st.sampled_from(("Evergreen Terrace", "Maple Avenue", "Lakeview Drive")))
        street = f"{number} {name}"
        postcode = draw(st.from_regex(r"[1-9][0-9]{4}", fullmatch=True))
        town = f"{draw(st.sampled_from(('Springfield', 'Portland', 'Madison')))}, IL {postcode}"
        area = draw(st.sampled_from(("206", "312", "415", "617", "646")))
        national = f"{area}{draw(st.sampled_from('23456789'))}{digits}"
        a, b, c = national[:3], national[3:6], national[6:]
        phones = (f"+1 ({a}) {b}-{c}", f"{a}-{b}-{c}", f"({a}) {b} {c}", f"{a}.{b}.{c}",
                  national, f"+1 {a} {b} {c}")  # fmt: skip
    elif market == "UK":
        street = f"{number} {draw(st.sampled_from(('Baker Street', 'Mill Lane', 'Station Road')))}"
        postcode = draw(st.sampled_from(("SW1A 2AA", "M1 1AE", "EH1 1YZ", "B33 8TH", "CR2 6XH")))
        town = f"{draw(st.sampled_from(('London', 'Manchester', 'Leeds')))} {postcode}"
        national = f"77009{digits[:5]}"
        a, b = national[:4], national[4:]
        phones = (f"+44 {a} {b}", f"0{a} {b}", f"0{national}", f"+44 (0){a} {b[:3]} {b[3:]}")
    else:
        street = (
            f"{draw(st.sampled_from(('Hauptstraße', 'Lindenallee', 'Bahnhofstraße')))} {number}"
        )
        postcode = draw(st.from_regex(r"[1-9][0-9]{4}", fullmatch=True))
        town = f"{postcode} {draw(st.sampled_from(('Berlin', 'Köln', 'Leipzig')))}"
        national = f"30{digits}{draw(st.sampled_from('1234567'))}"
        phones = (f"+49 30 {national[2:]}", f"030 {national[2:]}", f"030/{national[2:]}",
                  f"+49 (0)30 {national[2:5]} {national[5:]}")  # fmt: skip
    alias_local = draw(st.text(string.ascii_lowercase + string.digits, min_size=14, max_size=16))
    domain = {"US": "com", "UK": "co.uk", "DE": "de"}[market]
    alias = f"{alias_local}@marketplace.amazon.{domain}"
    email = (
        f"{_ascii(first).lower()}.{_ascii(last).lower().replace(chr(39), '')}{number}@example.org"
    )
    known = KnownPII(
        names=(f"{first} {last}", first),
        addresses=(f"{street}, {town}",),
        phones=(phones[0],),
        emails=(email, alias),
    )
    return Buyer(known, market, first, last, street, town, postcode, phones, email, alias)


@st.composite
def contexts(draw: st.DrawFn, marketplace: str) -> OrderContext:
    order_id = draw(st.from_regex(r"(11[1-4]|20[1-6]|30[1-6])-[0-9]{7}-[0-9]{7}", fullmatch=True))
    return OrderContext(
        order_id=order_id,
        marketplace=MARKETPLACES.get(marketplace, "amazon.com"),
        status=draw(st.sampled_from(("Shipped", "Unshipped", "Delivered"))),
        items=(draw(st.sampled_from(PRODUCTS)),),
        skus=(draw(st.from_regex(r"[A-Z]{3,4}-[A-Z0-9]{2,4}", fullmatch=True)),),
        asins=(draw(st.from_regex(r"B0[0-9A-Z]{8}", fullmatch=True)),),
        purchase_date="2026-11-18",
        ship_date="2026-11-20",
        delivery_window="2026-11-24 to 2026-11-27",
        carrier=draw(st.sampled_from(CARRIERS)),
        tracking="1Z" + draw(st.from_regex(r"[0-9A-Z]{16}", fullmatch=True)),
        fulfillment=draw(st.sampled_from(("Amazon", "you"))),
    )


@st.composite
def threads(draw: st.DrawFn, buyer: Buyer, order_id: str) -> list[tuple[str, str]]:
    """A buyer's thread where each message holds known PII in one of its variants."""

    def name() -> str:
        full = f"{buyer.first} {buyer.last}"
        return draw(
            st.sampled_from(
                (
                    full,
                    full.upper(),
                    _ascii(full),
                    buyer.first,
                    buyer.first.lower(),
                    _ascii(buyer.first),
                )
            )
        )

    def pii_sentence() -> str:
        kind = draw(st.sampled_from(("phone", "email", "alias", "street", "address", "name")))
        if kind == "phone":
            return f"You can call me on {draw(st.sampled_from(buyer.phone_variants))}."
        if kind == "email":
            return f"Please write to {draw(st.sampled_from((buyer.email, buyer.email.upper())))}."
        if kind == "alias":
            return f"(sent from {buyer.alias})"
        if kind == "street":
            return f"It should go to {draw(st.sampled_from((buyer.street, buyer.street.upper())))}."
        if kind == "address":
            lines = [buyer.street, buyer.town]
            if draw(st.booleans()):
                lines.reverse()
            return "My address is:\n" + "\n".join(lines)
        return f"My name is {name()}."

    body = draw(
        st.sampled_from(
            (
                f"Where is my order {order_id}? It was due last week.",
                f"The item from order {order_id} arrived damaged, the box was crushed.",
                "Can I exchange it for a bigger size? It is too small.",
                f"Bitte stornieren Sie die Bestellung {order_id}.",
                "I would like a refund, please.",
            )
        )
    )
    greeting = draw(st.sampled_from(("Hello,", "Hi there,", "Hallo,", "Good morning,")))
    sign_off = draw(st.sampled_from(("Thanks,", "Best regards,", "Viele Grüße,", "Cheers")))
    extra = draw(st.lists(st.builds(pii_sentence), min_size=1, max_size=3))
    first = "\n\n".join([greeting, body, *extra, f"{sign_off}\n{name()}"])
    thread = [("buyer", first)]
    if draw(st.booleans()):
        thread.append(("seller", f"Hello {name()}, thank you, we are looking into it."))
        thread.append(("buyer", f"Thanks. {pii_sentence()}\n{name()}"))
    return thread


# --- this test's own oracle -----------------------------------------------------------


def _norm(text: str) -> str:
    folded = _ascii(text).casefold()
    folded = folded.replace("ß", "ss")
    return " " + re.sub(r"[^0-9a-z@.]+", " ", folded).strip() + " "


def _received(server: FakeAI, since: int) -> str:
    parts: list[str] = []

    def strings(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                parts.append(str(k))
                strings(v)
        elif isinstance(value, list):
            for v in value:
                strings(v)

    for request in server.requests[since:]:
        parts.append(request.path)
        strings(json.loads(request.raw))
    return "\n".join(parts)


def _leaks(buyer: Buyer, received: str) -> list[str]:
    text = _norm(received)
    variants = {_norm(n) for n in buyer.known.names}
    variants |= {_norm(buyer.first), _norm(buyer.last)}
    if "ü" in buyer.first + buyer.last or "ö" in buyer.first + buyer.last:
        umlauts = (buyer.first + " " + buyer.last).replace("ü", "ue").replace("ö", "oe")
        variants |= {_norm(w) for w in umlauts.split()}
    leaks = [f"name {v.strip()!r}" for v in variants if v in text]
    for email in (buyer.email, buyer.alias):
        local = re.escape(email.split("@")[0].casefold())
        if re.search(rf"(?<![0-9a-z]){local}(?![0-9a-z])", received.casefold()):
            leaks.append("email")
    runs = ["".join(re.findall(r"\d", r)) for r in re.findall(r"\d[\d\s\-./()]*\d", received)]
    national = re.sub(r"\D", "", buyer.phone_variants[0])[-9:]
    leaks += ["phone" for run in runs if national in run]
    if _norm(buyer.street) in text:
        leaks.append("street line")
    if _norm(buyer.postcode) in text:
        leaks.append("postcode")
    return leaks


@st.composite
def cases(draw: st.DrawFn) -> tuple[Buyer, OrderContext, list[tuple[str, str]], ProviderKind, bool]:
    buyer = draw(buyers())
    context = draw(contexts(buyer.marketplace))
    thread = draw(threads(buyer, context.order_id or ""))
    kind = draw(st.sampled_from((ProviderKind.OPENAI, ProviderKind.ANTHROPIC)))
    return buyer, context, thread, kind, draw(st.booleans())


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeAI(reply_text="Thank you, we are on it.") as srv:
        yield srv


@PROPERTY
@given(case=cases())
def test_redacted_requests_carry_no_known_pii(server: FakeAI, case: Any) -> None:
    buyer, context, thread, kind, stream = case
    redacted = [
        (role, redact(text, buyer.known, marketplace=buyer.marketplace).text)
        for role, text in thread
    ]
    messages = build_messages(redacted, context, Knowledge(), "en")
    before = len(server.requests)
    chunks: list[str] = []
    answer = providers.complete(
        server.provider_config(kind),
        None,
        messages,
        buyer.known,
        on_chunk=chunks.append if stream else None,
    )
    assert answer == "Thank you, we are on it."
    received = _received(server, before)
    assert context.order_id in received  # the request did carry the thread and order
    assert _leaks(buyer, received) == []


@PROPERTY
@given(case=cases())
def test_unredacted_requests_are_blocked_and_nothing_is_received(server: FakeAI, case: Any) -> None:
    buyer, context, thread, kind, stream = case
    messages = build_messages(thread, context, Knowledge(), "en")
    sent = "\n".join(m["content"] for m in messages)
    assert _leaks(buyer, sent) != []  # the oracle sees it
    before = (len(server.requests), server.connections)
    with pytest.raises(PIIBlocked):
        providers.complete(
            server.provider_config(kind),
            None,
            messages,
            buyer.known,
            on_chunk=(lambda _chunk: None) if stream else None,
        )
    assert (len(server.requests), server.connections) == before


# --- the same with the PII engine's own generators (six marketplaces) -------------------


@st.composite
def engine_cases(draw: st.DrawFn) -> tuple[KnownPII, str, str, OrderContext, ProviderKind]:
    known, marketplace, text = draw(pii_helper.messages())
    context = draw(contexts(marketplace))
    kind = draw(st.sampled_from((ProviderKind.OPENAI, ProviderKind.ANTHROPIC)))
    return known, marketplace, text, context, kind


@PROPERTY
@given(case=engine_cases())
def test_engine_generated_messages_reach_the_provider_only_redacted(
    server: FakeAI, case: Any
) -> None:
    known, marketplace, text, context, kind = case
    config = server.provider_config(kind)
    raw = build_messages([("buyer", text)], context, Knowledge(), "en")
    before = (len(server.requests), server.connections)
    with pytest.raises(PIIBlocked):
        providers.complete(config, None, raw, known)
    assert (len(server.requests), server.connections) == before

    redacted = redact(text, known, marketplace=marketplace).text
    messages = build_messages([("buyer", redacted)], context, Knowledge(), "en")
    providers.complete(config, None, messages, known, on_chunk=lambda _chunk: None)
    assert len(server.requests) == before[0] + 1
    assert pii_helper.leaks(_received(server, before[0]), known) == []
