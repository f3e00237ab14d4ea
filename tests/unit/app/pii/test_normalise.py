"""The normaliser: one form for the spellings of a value."""

from __future__ import annotations

import pytest

from app.pii import normalise
from app.pii.normalise import (
    canon,
    digits,
    fold_same_length,
    spellings,
    tokens,
    transliterations,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Müller", "MULLER"),
        ("José  García", "jose garcia"),
        ("Straße", "STRASSE"),
        ("Søren\tØstergaard", "soren ostergaard"),
        ("  Zoë\n", "zoe"),
        ("Łukasz", "lukasz"),
    ],
)
def test_spellings_of_a_value_normalise_alike(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


def test_different_values_stay_different() -> None:
    assert normalise("Anna") != normalise("Anne")


def test_street_words_have_one_spelling() -> None:
    assert canon("Street") == canon("St") == canon("str")
    assert canon("Hauptstraße") == canon("Hauptstr") == canon("HAUPTSTRASSE")
    assert canon("Avenue") == canon("Ave")


def test_umlauts_spelled_out_are_a_variant() -> None:
    assert "mueller" in transliterations("Müller")
    assert "muller" in transliterations("Mueller")


def test_tokens_keep_offsets_into_the_text() -> None:
    text = "Apt 4, 123 Main St."
    assert [(t.raw, text[t.start : t.end]) for t in tokens(text)] == [
        ("Apt", "Apt"),
        ("4", "4"),
        ("123", "123"),
        ("Main", "Main"),
        ("St", "St"),
    ]


def test_digits() -> None:
    assert digits("+1 (206) 555-0100") == "12065550100"
    assert digits("０９０-１２３４-５６７８") == "09012345678"


def test_fold_same_length_keeps_offsets_or_says_it_cannot() -> None:
    assert fold_same_length("Müller, ÉCOLE") == "muller, ecole"
    assert fold_same_length("Straße") is None  # ß is two letters folded
    assert fold_same_length("Æbeltoft") is None


def test_spellings_are_what_canon_maps_to_a_word() -> None:
    assert spellings("st") >= {"st", "street", "str", "strasse"}
    assert spellings("hauptst") == {"hauptst", "hauptstr", "hauptstrasse"}
    assert all(canon(s) == "ave" for s in spellings("ave"))
