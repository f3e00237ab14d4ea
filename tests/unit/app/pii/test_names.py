"""Names nobody told us about (app/pii/names.py)."""

from __future__ import annotations

import pytest

from app.pii.names import find_names, name_line_before


def _found(text: str) -> list[str]:
    return [text[s:e] for s, e in find_names(text)]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, my name is Jennifer Whitfield.", "Jennifer Whitfield"),
        ("hi my name is brittany nguyen and", "brittany nguyen"),
        ("Hello, I'm Tyrone Okafor. The charger", "Tyrone Okafor"),
        ("Hello, Priya Chaudhry here. Could you", "Priya Chaudhry"),
        ("Hallo, ich bin die Hanna Becker und", "Hanna Becker"),
        ("Je m'appelle Jean-Baptiste de La Rochefoucauld, le", "Jean-Baptiste de La Rochefoucauld"),
        ("Me llamo Rubén Castaño y el reloj", "Rubén Castaño"),
        ("Buonasera, mi chiamo Francesca De Luca, la", "Francesca De Luca"),
        ("Dear Mrs Pemberton,\nthe", "Pemberton"),
        ("Sehr geehrter Herr Hoffmann,\nleider", "Hoffmann"),
        ("Bitte bei Frau Krüger abgeben.", "Krüger"),
        ("It broke.\nThanks,\nJennifer", "Jennifer"),
        ("It broke.\nCheers, Tom", "Tom"),
        ("Bitte.\nMit freundlichen Grüßen\nAnneliese Schröder", "Anneliese Schröder"),
        ("Merci.\nCordialement,\n\nAmélie Lefèvre", "Amélie Lefèvre"),
        ("thanks\njennifer", "jennifer"),
        ("I'd like a replacement.\n— Carlos H.", "Carlos H."),
        ("Please advise.\nMegan Brennan", "Megan Brennan"),
    ],
)
def test_names_are_found(text: str, name: str) -> None:
    assert name in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm Happy with it but the Bluetooth drops.",
        "Hi Team,\nthe Echo Dot does not connect.\nThanks!",
        "Ich bin Kunde seit 2015.",
        "This is Amazing quality.",
        "Dear Amazon Seller,\nwhere is it?",
        "Bonjour Madame, Monsieur,\nle colis.\nCordialement",
        "Where is my parcel?\nRegards",
        "Thank you so much!\nSent from my iPhone",
        "Hi, I'm Jane",  # one line: no signature, and "Jane" is found by the intro
    ],
)
def test_what_is_no_name(text: str) -> None:
    found = _found(text)
    assert found in ([], ["Jane"])


def test_the_name_line_above_an_address_block() -> None:
    text = "Ship to:\nDakota Brennan\n702 Oakridge Drive"
    start = text.index("702")
    span = name_line_before(text, start)
    assert span is not None and text[span[0] : span[1]] == "Dakota Brennan"
    assert name_line_before("Order 1\n702 Oakridge Drive", 8) is None
