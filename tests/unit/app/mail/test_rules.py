"""app/mail/rules.py: Amazon's messaging rules on a reply, with offsets into the text."""

from __future__ import annotations

import itertools

import pytest

from app.mail.rules import MESSAGES, check_reply


def found(text: str) -> list[tuple[str, str]]:
    """(kind, the highlighted text) for each hit: checks the offsets too."""
    return [(hit.kind, text[hit.start : hit.end]) for hit in check_reply(text)]


# --- what is not allowed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("See https://acme-kitchen.example/care for tips.", "https://acme-kitchen.example/care"),
        ("Our manual: http://bit.ly/abc123.", "http://bit.ly/abc123"),
        ("Go to www.acme-kitchen.com, thanks", "www.acme-kitchen.com"),
        ("Details on acmekitchen.de/faq (German).", "acmekitchen.de/faq"),
        ("Visit shop.example.co.uk!", "shop.example.co.uk"),
        ("HTTPS://EXAMPLE.ORG/X", "HTTPS://EXAMPLE.ORG/X"),
        ("(see https://example.net/a_b?c=1&d=2)", "https://example.net/a_b?c=1&d=2"),
    ],
)
def test_links_to_other_sites_are_hits(text: str, bad: str) -> None:
    assert found(text) == [("link", bad)]


@pytest.mark.parametrize(
    "text",
    [
        "Your order page: https://www.amazon.com/gp/your-account/order-history",
        "Returns: https://www.amazon.co.uk/returns and amazon.de/rueckgabe",
        "Seller Central: https://sellercentral.amazon.com/messaging",
        "Short link https://amzn.to/3xYz and https://amzn.eu/d/abc",
        "You can find it on Amazon.com.",
    ],
)
def test_amazon_links_are_allowed(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Write to support@acme-kitchen.example please.", "support@acme-kitchen.example"),
        ("Mail: First.Last+tag@mail.example.co.uk.", "First.Last+tag@mail.example.co.uk"),
        ("Reply to 42cfsuosg0wp8i@marketplace.amazon.com", "42cfsuosg0wp8i@marketplace.amazon.com"),
    ],
)
def test_email_addresses_are_hits(text: str, bad: str) -> None:
    assert found(text) == [("email", bad)]


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Call us at (555) 123-4567.", "(555) 123-4567"),
        ("Ring 555-123-4567 today", "555-123-4567"),
        ("Number 555.123.4567", "555.123.4567"),
        ("Our line 1-800-555-0199.", "1-800-555-0199"),
        ("UK: +44 20 7946 0958", "+44 20 7946 0958"),
        ("Germany +49-30-1234567", "+49-30-1234567"),
        ("Mobile 07700 900123", "07700 900123"),
        ("Büro 030/1234567", "030/1234567"),
        ("Londres 020 7946 0958", "020 7946 0958"),
        ("phone: 5551234567", "5551234567"),
        ("WhatsApp 612345678", "612345678"),
        ("Telefon: 0301234567", "0301234567"),
    ],
)
def test_phone_numbers_are_hits(text: str, bad: str) -> None:
    assert found(text) == [("phone", bad)]


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Thanks! 😀", "😀"),
        ("Sorry 🙏🏽 again", "🙏🏽"),
        ("Family 👨‍👩‍👧 photo", "👨‍👩‍👧"),
        ("Love it ❤️", "❤️"),
        ("Done ✔ and ★", "✔"),
        ("UK flag 🇬🇧 here", "🇬🇧"),
    ],
)
def test_emoji_are_hits(text: str, bad: str) -> None:
    assert found(text)[0] == ("emoji", bad)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Use coupon code SAVE10 next time.", "coupon code"),
        ("Here is a promo code for you.", "promo code"),
        ("You get 15% off your next order.", "15% off your next order"),
        ("Enjoy a discount on your next purchase.", "discount on your next purchase"),
        ("Please visit our website for more.", "visit our website"),
        ("Follow us for news.", "Follow us"),
        ("Sign up for our newsletter!", "Sign up for our newsletter"),
        ("Check out our other products too.", "Check out our other products"),
        ("Please leave a positive review.", "leave a positive review"),
        ("Would you leave us a 5-star review?", "leave us a 5-star review"),
        ("We'd love five stars from you", "five stars"),
        ("We refund you if you remove your negative review.", "remove your negative review"),
        ("A gift card in exchange for a review.", "in exchange for a review"),
        ("Besuchen Sie unseren Shop!", "Besuchen Sie unseren Shop"),
        ("Ihr Gutscheincode liegt bei.", "Gutscheincode"),
        ("Die Gutscheinkarte?", None),  # another compound: no whole word matches
        ("Hier ist ein Gutschein.", "Gutschein"),
        ("Voici un code promo.", "code promo"),
        ("Suivez-nous sur Instagram.", "Suivez-nous"),
        ("Síguenos en Facebook.", "Síguenos"),
        ("Le regalamos un cupón.", "cupón"),
        ("Ecco un codice sconto.", "codice sconto"),
        ("Lasci una recensione positiva!", "recensione positiva"),
    ],
)
def test_marketing_is_a_hit(text: str, bad: str | None) -> None:
    expected = [("marketing", bad)] if bad else []
    assert found(text) == expected


# --- what is fine -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Your order 111-3958185-1645065 shipped today.",
        "Order 302-1234567-7654321 (DE) and 249-0000006-6000006 (JP).",
        "We refunded $12.99 and €1.234,56; the total was 1,234.56 USD.",
        "It shipped on 2026-11-23 and arrives 11/25/2026 or 25.11.2026 by 10:30.",
        "Tracking: 1Z999AA10123456784 (UPS).",
        "USPS tracking 9400 1000 0000 0000 0000 00 and 9400100000000000000000.",
        "DHL 00340434161234567890 and 0034 0434 1612 3456 7890.",
        "The skillet is 12 inches (30 cm), ASIN B07XJ8C8F5, SKU ACME-SK-12.",
        "I can offer 10% off as a partial refund for the trouble.",
        "Please send a photo of the label, e.g. from your phone.",
        "The file photo.jpg did not arrive; try again, i.e. attach it.",
        "We sent 2 of 3 items; the third follows in 5 days.",
        "Version 1.2.3 of the manual is in the box.",
        "Thank you for your order! We are sorry for the delay :-)",
        "Temperature up to 230 °C / 450 °F; © Acme™.",
        "Your review of the product is welcome on Amazon.",
        "",
    ],
)
def test_ordinary_replies_have_no_hits(text: str) -> None:
    assert found(text) == []


def test_offsets_point_into_the_exact_text() -> None:
    """Characters before a hit that change length when folded (ß, emoji) do not shift it."""
    text = "Straße 😀 ß İ: visit our website or mail a@b.example ☎"
    hits = check_reply(text)
    assert [text[h.start : h.end] for h in hits] == ["😀", "visit our website", "a@b.example", "☎"]
    assert [h.kind for h in hits] == ["emoji", "marketing", "email", "emoji"]
    assert all(h.message == MESSAGES[h.kind] for h in hits)


def test_hits_come_in_order_and_do_not_overlap() -> None:
    text = "Email shop@acme.example, see https://acme.example/x@y, call +1 555 123 4567 🙂"
    hits = check_reply(text)
    assert [h.start for h in hits] == sorted(h.start for h in hits)
    for first, second in itertools.pairwise(hits):
        assert first.end <= second.start
    assert {h.kind for h in hits} == {"email", "link", "phone", "emoji"}


def test_the_marketplace_does_not_change_what_is_allowed() -> None:
    text = "See https://www.amazon.de/dp/B0 and https://acme.example"
    assert check_reply(text, marketplace_domain="amazon.com") == check_reply(text)


def test_long_odd_text_is_checked() -> None:
    """Inputs that make careless patterns backtrack still give an answer."""
    text = "a" * 20_000 + "@" + "b." * 20_000 + " " + "1 " * 20_000 + "www." * 5_000
    assert check_reply(text)  # the www. run is a link
