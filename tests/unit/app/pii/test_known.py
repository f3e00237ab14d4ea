"""Matching what we know of a buyer in any spelling (app/pii/known.py)."""

from __future__ import annotations

import pytest

from app.pii import Kind, KnownPII, redact
from app.pii.known import KnownMatcher


def _found(known: KnownPII, text: str) -> list[tuple[Kind, str]]:
    return sorted((k, text[s:e]) for k, s, e in KnownMatcher.build(known).find(text))


@pytest.mark.parametrize(
    ("phone", "written"),
    [
        ("+1 (206) 555-0100", "2065550100"),
        ("+1 (206) 555-0100", "206.555.0100"),
        ("+1 (206) 555-0100", "555-0100"),
        ("2065550100", "+1 206 555 0100"),
        ("+44 7700 900123", "07700 900 123"),
        ("0176 98765432", "+49 176 98765432"),
        ("0176 98765432", "0049-176-98765432"),
        ("090-1234-5678", "０９０－１２３４－５６７８"),
    ],
)
def test_a_known_phone_in_any_format(phone: str, written: str) -> None:
    assert _found(KnownPII(phones=(phone,)), f"call {written} now") == [(Kind.PHONE, written)]


def test_a_known_address_in_another_order_and_spelling() -> None:
    known = KnownPII(addresses=("123 Main Street, Apt 4, Seattle, WA 98101",))
    text = "it is apt 4, 123 MAIN ST. in town"
    assert _found(known, text) == [(Kind.ADDRESS, "apt 4, 123 MAIN ST")]


def test_a_city_alone_is_not_the_address() -> None:
    known = KnownPII(addresses=("123 Main Street, Apt 4, Seattle, WA 98101",))
    assert _found(known, "I was in Seattle, WA last week, Apt 4 is free") == []
    assert _found(known, "zip 98101") == [(Kind.ADDRESS, "98101")]
    assert _found(known, "Main St 123") == [(Kind.ADDRESS, "Main St 123")]


def test_name_words_in_any_case_and_spelling() -> None:
    known = KnownPII(names=("Jürgen Müller",))
    text = "JUERGEN, jurgen, Mueller and muller"
    assert [v for _, v in _found(known, text)] == sorted(["JUERGEN", "jurgen", "Mueller", "muller"])


def test_everyday_words_match_only_with_a_capital() -> None:
    known = KnownPII(names=("May Rose",))
    assert _found(known, "you may see a rose") == []
    assert _found(known, "Thanks, May") == [(Kind.NAME, "May")]


def test_titles_and_particles_are_not_name_words() -> None:
    known = KnownPII(names=("Mr Jan de Vries",))
    assert [v for _, v in _found(known, "Mr de la Cruz and Jan")] == ["Jan"]


def test_contains_answers_the_first_kind_it_sees() -> None:
    known = KnownPII(names=("Jane Doe",), emails=("jd@x.com",))
    matcher = KnownMatcher.build(known)
    assert matcher.contains("mail JD@X.COM") is Kind.EMAIL
    assert matcher.contains("dear jane") is Kind.NAME
    assert matcher.contains("dear seller") is None


def test_names_in_scripts_without_spaces_are_found_inside_words() -> None:
    known = KnownPII(names=("山田 太郎",))
    assert (Kind.NAME, "山田太郎") in _found(known, "山田太郎です。")
    assert redact("山田太郎です。", known).text == "[NAME]です。"
    assert KnownMatcher.build(known).contains("お客様 太郎様") is Kind.NAME


@pytest.mark.parametrize(
    "text",
    [
        "Grüße, Jürgen Weiß",  # ß folds to two letters: offsets move, token by token
        "Grüße, JURGEN WEISS, Æbeltoft",
        "Gruesse, juergen weiss",
    ],
)
def test_known_names_when_folding_moves_offsets_or_not(text: str) -> None:
    known = KnownPII(names=("Jürgen Weiß",))
    assert redact(text, known).text.endswith(("[NAME]", "[NAME], Æbeltoft"))


def test_a_known_street_in_its_other_spellings() -> None:
    known = KnownPII(addresses=("Hauptstraße 5, 10115 Berlin",))
    for written in ("Hauptstr. 5", "HAUPTSTRASSE 5", "hauptstrasse 5", "Hauptstraße 5"):
        assert _found(known, f"an {written} bitte") == [(Kind.ADDRESS, written.rstrip("."))]
