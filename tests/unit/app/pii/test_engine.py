"""``redact`` and ``contains_known``: the engine's two questions."""

from __future__ import annotations

import json
import re
from itertools import pairwise

import pytest
from hypothesis import given, settings

from app.pii import Found, Kind, KnownPII, contains_known, contains_known_json, redact
from tests.helpers.pii import leaks, messages

JANE = KnownPII(
    names=("Jane Doe",),
    addresses=("123 Main Street, Apt 4, Seattle, WA 98101",),
    phones=("+1 206-555-0100",),
    emails=("x7k2m9abcd@marketplace.amazon.com",),
)


def test_known_pii_goes_in_every_spelling() -> None:
    text = (
        "hi, JANE here (jane doe). Apt 4, 123 main st, seattle. call 206.555.0100 or "
        "(206) 555 0100 or X7K2M9ABCD@marketplace.amazon.com"
    )
    out = redact(text, JANE).text
    for leaked in ["jane", "JANE", "Doe", "doe", "123 main", "0100", "X7K2M9ABCD"]:
        assert leaked not in out, leaked
    assert "[NAME]" in out and "[ADDRESS]" in out and "[PHONE]" in out and "[EMAIL]" in out


def test_accents_and_umlauts_of_a_known_name() -> None:
    known = KnownPII(names=("Jürgen Müller",))
    out = redact("Grüße, Juergen MULLER und jurgen", known).text
    assert out == "Grüße, [NAME] und [NAME]"


def test_everyday_words_that_are_also_names_are_kept_in_lowercase() -> None:
    out = redact("Will you ship? I will wait. Thanks, Will", KnownPII(names=("Will Hart",))).text
    assert out == "[NAME] you ship? I will wait. Thanks, [NAME]"


def test_unknown_pii_is_detected() -> None:
    text = (
        "Hi,\nMy name is Jane Doe and order 302-1234567-7654321 has not arrived. "
        "Call me at (206) 555-0100 or mail jd@example.com.\n"
        "Please ship to 123 Main Street Apt 4, Seattle, WA 98101.\nThanks,\nJane"
    )
    r = redact(text, marketplace="US")
    assert r.text == (
        "Hi,\nMy name is [NAME] and order 302-1234567-7654321 has not arrived. "
        "Call me at [PHONE] or mail [EMAIL].\n"
        "Please ship to [ADDRESS].\nThanks,\n[NAME]"
    )


def test_found_offsets_point_into_the_input_sorted_and_disjoint() -> None:
    text = "Ich bin Anna Schmidt, Hauptstraße 5, 10115 Berlin, Tel. 0176 98765432."
    r = redact(text, marketplace="DE")
    assert [(f.kind, text[f.start : f.end]) for f in r.found] == [
        (Kind.NAME, "Anna Schmidt"),
        (Kind.ADDRESS, "Hauptstraße 5, 10115 Berlin"),
        (Kind.PHONE, "0176 98765432"),
    ]
    ends = [(f.start, f.end) for f in r.found]
    assert all(a[1] <= b[0] for a, b in pairwise(ends))


def test_what_drafting_needs_survives() -> None:
    text = (
        "Order 302-1234567-7654321, ASIN B0C1234567, SKU TSHIRT-BLK-XL, size 42, 2 pairs, "
        "€19.99, delivered 12/03/2026, tracking 1Z999AA10123456784. The blue wool jumper "
        "arrived torn."
    )
    r = redact(text, marketplace="UK")
    assert r.text == text and r.found == ()


def test_nothing_known_and_empty_text() -> None:
    assert redact("") == redact("", KnownPII())
    assert redact("").found == ()


def test_found_is_a_tuple_of_found() -> None:
    r = redact("mail a@b.de now")
    assert r.found == (Found(Kind.EMAIL, 5, 11),)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"m": "call +1 (206) 555-0100"}', Kind.PHONE),
        ('{"m": "call 2065550100"}', Kind.PHONE),
        ('{"m": "123 MAIN ST"}', Kind.ADDRESS),
        ('{"m": "Seattle, WA 98101"}', Kind.ADDRESS),
        ('{"m": "apt 4\\n123 Main Street"}', Kind.ADDRESS),
        ('{"m": "Hello JANE"}', Kind.NAME),
        ('{"m": "hello d\\u00f6e"}', Kind.NAME),
        ('{"m": "x7k2m9abcd@MARKETPLACE.amazon.com"}', Kind.EMAIL),
        ('{"m": "Where is order 302-1234567-7654321? It shipped from Seattle."}', None),
        ('{"m": "[NAME] asks where [ADDRESS] is"}', None),
    ],
)
def test_contains_known(text: str, kind: Kind | None) -> None:
    assert contains_known(text, JANE) == kind


def test_contains_known_reads_python_data_and_ascii_escaped_json() -> None:
    known = KnownPII(names=("Zoë Müller",))
    body = {"messages": [{"role": "user", "content": "Grüße von Zoë"}]}
    assert contains_known_json(body, known) is Kind.NAME
    assert contains_known(json.dumps(body), known) is Kind.NAME  # \u00eb escapes
    assert contains_known_json({"content": "Grüße"}, known) is None


def test_nothing_known_contains_nothing() -> None:
    assert contains_known("Jane Doe 206 555 0100", KnownPII()) is None


@settings(max_examples=150, deadline=None)
@given(messages())
def test_known_pii_never_survives_redaction(case: tuple[KnownPII, str, str]) -> None:
    known, marketplace, text = case
    assert leaks(text, known) != []  # the message does carry the PII
    out = redact(text, known, marketplace=marketplace).text
    assert leaks(out, known) == []
    for order_id in re.findall(r"\b\d{3}-\d{7}-\d{7}\b", text):
        assert order_id in out
    assert re.findall(r"\bB0[A-Z0-9]{8}\b", out) == re.findall(r"\bB0[A-Z0-9]{8}\b", text)
