"""Unknown emails and phones, and the values that must survive them."""

from __future__ import annotations

import pytest

from app.pii.detect import find_emails, find_phones, mask, protected_spans, region_for


def _found(spans: list[tuple[int, int]], text: str) -> list[str]:
    return [text[s:e] for s, e in spans]


@pytest.mark.parametrize(
    "email",
    [
        "jane.doe@example.com",
        "x7k2m9abcd@marketplace.amazon.co.uk",
        "Max.Mustermann+shop@gmx.de",
        "jane dot doe at gmail dot com",
        "jane.doe [at] example [dot] com",
    ],
)
def test_emails_are_found(email: str) -> None:
    text = f"write to {email} please"
    assert _found(find_emails(text), text) == [email]


@pytest.mark.parametrize(
    ("phone", "region"),
    [
        ("(206) 555-0100", "US"),
        ("206-555-0100", "US"),
        ("+1 206 555 0100", None),
        ("2065550100", "US"),
        ("07700 900123", "GB"),
        ("+44 7700 900123", "GB"),
        ("0176 98765432", "DE"),
        ("0176/98765432", "DE"),
        ("+49 (0)30 1234567", "DE"),
        ("06 12 34 56 78", "FR"),
        ("06.12.34.56.78", "FR"),
        ("+33 6 12 34 56 78", "FR"),
        ("612 345 678", "ES"),
        ("+34 612345678", "ES"),
        ("333 123 4567", "IT"),
        ("090-1234-5678", "JP"),
        ("0049 30 1234567", "DE"),
    ],
)
def test_phones_are_found(phone: str, region: str | None) -> None:
    text = f"call me on {phone} tomorrow"
    assert _found(find_phones(text, region), text) == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "order 302-1234567-7654321 shipped",
        "ASIN B0C1234567 and B08N5WRWNW",
        "tracking 1Z999AA10123456784",
        "tracking 9400 1000 0000 0000 0000 00",
        "Sendungsnummer: 00340434161094042557",
        "delivered on 12/03/2026 or 2026-03-12",
        "it cost €1.234,56 or $1,299.99 or 1 234 567,00 €",
        "EAN 4006381333931",
        "SKU: 1234-5678-90",
        "size 42, 2 x 3 pcs, 10:30",
        "server 192.168.100.200:8080",
    ],
)
def test_non_pii_numbers_are_not_phones(text: str) -> None:
    assert find_phones(text, "DE") == []


def test_protected_values_are_masked_with_their_labels() -> None:
    text = "Order 302-1234567-7654321, ASIN B0C1234567, call 0176 98765432"
    masked = mask(text, protected_spans(text))
    assert masked == "_" * 25 + ", " + "_" * 15 + ", call 0176 98765432"


@pytest.mark.parametrize(
    ("marketplace", "region"),
    [
        ("UK", "GB"),
        ("uk", "GB"),
        ("amazon.co.uk", "GB"),
        ("www.amazon.de", "DE"),
        ("marketplace.amazon.fr", "FR"),
        ("Amazon.co.jp", "JP"),
        ("JP", "JP"),
        ("", None),
        (None, None),
        ("amazon.example", None),
    ],
)
def test_region_for(marketplace: str | None, region: str | None) -> None:
    assert region_for(marketplace) == region
