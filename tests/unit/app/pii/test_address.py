"""Street addresses nobody told us about (app/pii/address.py)."""

from __future__ import annotations

import pytest

from app.pii.address import find_addresses


def _found(text: str, *, us: bool = True) -> list[str]:
    return [text[s:e] for s, e in find_addresses(text, us=us)]


@pytest.mark.parametrize(
    "address",
    [
        "1425 Maple Avenue, Springfield, IL 62704",
        "88 W Jefferson St Apt 4B, Austin, TX 78701",
        "702 Oakridge Drive\nPortland, OR 97205",
        "PO Box 4471, Boise, ID 83702",
        "1600 Pennsylvania Ave NW",
        "14 Kingsley Road, Leeds LS6 2AB",
        "Flat 3, Harbour Court, 21 Quay Street, Bristol BS1 4DJ",
        "Lindenstraße 12, 10115 Berlin",
        "Goethestr. 7a, 80331 München",
        "Am Kirchberg 3\n50667 Köln",
        "12 rue des Lilas, 75011 Paris",
        "BP 512, 75002 Paris Cedex 02",
        "Calle Mayor 12, 2º B, 28013 Madrid",
        "C/ Alcalá 200, 3º izq., 28028 Madrid",
        "Via Garibaldi 15, 00184 Roma (RM)",
        "55 Queen Street West, Toronto, ON M5H 2M9",
        "〒100-0001 東京都千代田区千代田1-1",
    ],
)
def test_addresses_are_found_whole(address: str) -> None:
    assert _found(f"Please send it to {address}.\nThanks") == [address]


def test_a_postcode_takes_the_place_before_it() -> None:
    assert _found("It is London SW1A 1AA, near the park") == ["London SW1A 1AA"]


def test_usaddress_measures_a_us_street_line_without_a_pattern() -> None:
    text = "left at 5000 Forbes Blvd Suite 210 by the driver"
    assert _found(text) == ["5000 Forbes Blvd Suite 210"]


@pytest.mark.parametrize(
    "text",
    [
        "I bought 2 Park Avenue notebooks",
        "Could you ship 12 Way splitters?",
        "The 24000 BTU unit is loud",
        "I have 10000 Stück bestellt",
        "2 pairs of shoes in size 10 were delivered",
        "Order 302-1234567-7654321 on 12/03/2026 for 45,99 €",
        "the Samsung 55 Crystal UHD TV",
    ],
)
def test_what_is_no_address(text: str) -> None:
    assert _found(text) == []
