"""Static data behind the demo orders: marketplaces, products, fake people.

Marketplace ids, currencies and domains are Amazon's real ones; products, brands,
names, streets and phone numbers are invented (phone numbers come from ranges set
aside for fiction, e.g. 555-01xx in North America).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

FULFILLMENT_STATUSES = frozenset(
    {
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    }
)
PACKAGE_STATUSES = frozenset(
    {"PENDING", "IN_TRANSIT", "SHIPPED", "DELIVERED", "CANCELLED", "UNDELIVERABLE"}
)
INCLUDED_DATA = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    name: str
    country: str
    currency: str
    region: str  # python-amazon-sp-api region: na / eu / fe
    fx: float  # demo price factor against USD
    sales_tax: float  # US/CA tax collected on top; VAT markets include it in the price
    prefixes: tuple[str, ...]  # first group of the order id
    email_domain: str
    tax_party: str
    fake_phone: str  # a fictional range; two digits are appended
    carriers: tuple[tuple[str, str, str], ...]  # (carrier, service, tracking format)
    cities: tuple[tuple[str, str, str], ...]  # (city, state/region, postal code)
    warehouse: dict[str, Any]
    weight: int  # share of the demo orders


def _warehouse(city: str, region: str, postal: str, country: str) -> dict[str, Any]:
    return {
        "name": "Demo Seller Warehouse",
        "addressLine1": "1 Demo Street",
        "city": city,
        "stateOrRegion": region,
        "postalCode": postal,
        "countryCode": country,
    }


_US_TAX = "Amazon Services LLC"
_EU_TAX = "Amazon Services Europe S.a.r.L."
_EU_CARRIERS = (("DHL", "DHL Paket", "dhl"), ("DPD", "DPD Classic", "dpd"))

MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace(
        "ATVPDKIKX0DER", "Amazon.com", "US", "USD", "na", 1.0, 0.08,
        ("111", "112", "113", "114"), "marketplace.amazon.com", _US_TAX, "+1 555-01",
        (("UPS", "UPS Ground", "ups"), ("USPS", "USPS Ground Advantage", "usps"),
         ("FedEx", "FedEx Home Delivery", "fedex")),
        (("Seattle", "WA", "98101"), ("Austin", "TX", "73301"), ("Columbus", "OH", "43004"),
         ("Denver", "CO", "80202"), ("Portland", "ME", "04101")),
        _warehouse("Reno", "NV", "89502", "US"), 45,
    ),
    Marketplace(
        "A2EUQ1WTGCTBG2", "Amazon.ca", "CA", "CAD", "na", 1.35, 0.13,
        ("701", "702"), "marketplace.amazon.ca", "Amazon.com.ca ULC", "+1 613-555-01",
        (("Canada Post", "Expedited Parcel", "canadapost"), ("Purolator", "Ground", "fedex")),
        (("Toronto", "ON", "M5V 2T6"), ("Calgary", "AB", "T2P 1J9"),
         ("Halifax", "NS", "B3H 1A1")),
        _warehouse("Mississauga", "ON", "L5T 2N7", "CA"), 8,
    ),
    Marketplace(
        "A1F83G8C2ARO7P", "Amazon.co.uk", "GB", "GBP", "eu", 0.8, 0.0,
        ("202", "203", "204", "205", "206", "026"), "marketplace.amazon.co.uk", _EU_TAX,
        "+44 20 7946 00",
        (("Royal Mail", "Tracked 48", "royalmail"), ("Evri", "Standard", "dpd")),
        (("Manchester", "Greater Manchester", "M1 1AE"), ("Leeds", "West Yorkshire", "LS1 4DY"),
         ("Bristol", "Bristol", "BS1 4ST")),
        _warehouse("Coventry", "West Midlands", "CV1 2GT", "GB"), 15,
    ),
    Marketplace(
        "A1PA6795UKMFR9", "Amazon.de", "DE", "EUR", "eu", 0.92, 0.0,
        ("302", "303", "304", "305", "306", "028"), "marketplace.amazon.de", _EU_TAX,
        "+49 30 23125 0",
        (*_EU_CARRIERS, ("Hermes", "Hermes Paket", "dpd")),
        (("Berlin", "Berlin", "10115"), ("Hamburg", "Hamburg", "20095"),
         ("Köln", "Nordrhein-Westfalen", "50667"), ("München", "Bayern", "80331")),
        _warehouse("Leipzig", "Sachsen", "04109", "DE"), 15,
    ),
    Marketplace(
        "A13V1IB3VIYZZH", "Amazon.fr", "FR", "EUR", "eu", 0.92, 0.0,
        ("402", "403", "404", "405", "171"), "marketplace.amazon.fr", _EU_TAX,
        "+33 1 99 00 00 ",
        (("Colissimo", "Colissimo Domicile", "royalmail"), ("DPD", "DPD Classic", "dpd")),
        (("Lyon", "Rhône", "69001"), ("Lille", "Nord", "59000"), ("Nantes", "Loire-Atlantique",
         "44000")),
        _warehouse("Lyon", "Rhône", "69007", "FR"), 7,
    ),
    Marketplace(
        "APJ6JRA9NG5V4", "Amazon.it", "IT", "EUR", "eu", 0.92, 0.0,
        ("402", "403", "404", "405", "406", "407", "408", "171"), "marketplace.amazon.it",
        _EU_TAX, "+39 02 0000 00", (("BRT", "BRT Espresso", "dhl"), *_EU_CARRIERS),
        (("Milano", "MI", "20121"), ("Torino", "TO", "10121"), ("Bologna", "BO", "40121")),
        _warehouse("Piacenza", "PC", "29122", "IT"), 5,
    ),
    Marketplace(
        "A1RKKUPIHCS9HS", "Amazon.es", "ES", "EUR", "eu", 0.92, 0.0,
        ("402", "403", "404", "405", "406", "407", "408", "171"), "marketplace.amazon.es",
        _EU_TAX, "+34 91 000 00", (("Correos", "Paq Estándar", "royalmail"), *_EU_CARRIERS),
        (("Madrid", "Madrid", "28013"), ("Valencia", "Valencia", "46002"),
         ("Sevilla", "Sevilla", "41001")),
        _warehouse("Madrid", "Madrid", "28042", "ES"), 5,
    ),
)  # fmt: skip
MARKETPLACE_BY_ID = {m.marketplace_id: m for m in MARKETPLACES}


@dataclass(frozen=True)
class Product:
    asin: str
    sku: str
    title: str
    price_usd: int  # whole dollars; demo prices end in .99


def _asin(n: int) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = []
    value = n * 2_654_435_761 % 34**8
    for _ in range(8):
        value, rem = divmod(value, 34)
        digits.append(alphabet[rem])
    return "B0" + "".join(digits)


_PRODUCTS = (
    ("KST-FP-12", "Kestrel Ceramic Non-Stick Frying Pan, 12 Inch, Induction Compatible", 34),
    ("KST-KN-8", "Kestrel Chef's Knife 8 Inch, High Carbon Stainless Steel", 29),
    ("KST-CB-3", "Kestrel Bamboo Cutting Board Set of 3 with Juice Groove", 24),
    ("NRD-BT-750", "Nordvik Insulated Water Bottle 750 ml, Leak-Proof, Matte Black", 19),
    ("NRD-LB-40", "Nordvik Lunch Box 4-Compartment, BPA Free, Sage Green", 17),
    ("NRD-TH-1L", "Nordvik Stainless Steel Thermos 1 L, Keeps Hot 24h", 27),
    ("AMP-USBC-2M", "Ampero USB-C to USB-C Cable 2 m, 100 W Fast Charging, Braided", 12),
    ("AMP-PB-10K", "Ampero Power Bank 10000 mAh, Slim, USB-C PD 20 W", 25),
    ("AMP-WC-15", "Ampero 15 W Wireless Charging Pad, Qi Certified", 18),
    ("AMP-CAR-2P", "Ampero Dual Port Car Charger 48 W with LED Ring", 14),
    ("LUM-DL-4", "Lumivo LED Desk Lamp with Wireless Charger, 4 Colour Modes", 39),
    ("LUM-SL-2", "Lumivo Solar Garden Lights, Pack of 8, Warm White", 26),
    ("LUM-NL-6", "Lumivo Plug-In Night Light with Dusk-to-Dawn Sensor, 6 Pack", 16),
    ("PAW-HR-M", "Pawlo No-Pull Dog Harness, Reflective, Size M", 22),
    ("PAW-BWL-2", "Pawlo Stainless Steel Dog Bowls, Set of 2, Non-Slip Base", 15),
    ("PAW-CT-TWR", "Pawlo Cat Scratching Post Tower 80 cm, Sisal Rope", 44),
    ("TRK-HP-40", "Trekline Hiking Backpack 40 L, Water Resistant, with Rain Cover", 59),
    ("TRK-HL-300", "Trekline Rechargeable Headlamp 300 Lumen, IPX6", 21),
    ("TRK-TP-2P", "Trekline 2-Person Camping Tent, 3-Season, Quick Setup", 89),
    ("FLX-YM-6", "Flexa Yoga Mat 6 mm, Non-Slip, with Carry Strap", 28),
    ("FLX-RB-5", "Flexa Resistance Bands Set of 5 with Door Anchor", 19),
    ("FLX-DB-10", "Flexa Adjustable Dumbbell Pair, 2 x 10 kg", 79),
    ("HMY-PL-2", "Hearthmy Memory Foam Pillow, Set of 2, Washable Cover", 45),
    ("HMY-SH-Q", "Hearthmy Microfibre Bed Sheet Set, Queen, Dove Grey", 32),
    ("HMY-DF-3", "Hearthmy Reed Diffuser Set, 3 x 100 ml, Linen Scent", 23),
    ("SCR-NB-A5", "Scriba Dotted Notebook A5, Hardcover, 160 Pages", 13),
    ("SCR-GP-12", "Scriba Gel Pens 0.5 mm, 12 Colours", 9),
    ("SCR-DO-1", "Scriba Bamboo Desk Organiser with 5 Compartments", 21),
    ("BRZ-HD-1", "Breezo Ionic Hair Dryer 1800 W with Diffuser", 36),
    ("BRZ-ET-1", "Breezo Sonic Electric Toothbrush with 4 Brush Heads", 42),
)
CATALOG: tuple[Product, ...] = tuple(
    Product(_asin(i + 1), sku, title, price) for i, (sku, title, price) in enumerate(_PRODUCTS)
)

BUYER_NAMES = (
    "Alex Sample",
    "Jordan Example",
    "Sam Placeholder",
    "Taylor Testbuyer",
    "Robin Fictional",
    "Jane Doe",
    "John Doe",
    "Max Mustermann",
    "Erika Musterfrau",
    "Chris Demo",
)
CANCEL_REASONS = (
    "Ordered by mistake",
    "Found a better price",
    "Delivery date too late",
    "Out of stock",
)


def tracking_number(fmt: str, rng: random.Random, country: str) -> str:
    """A carrier-shaped tracking number (format only; not a real parcel)."""

    def digits(n: int) -> str:
        return f"{rng.randrange(10**n):0{n}d}"

    if fmt == "ups":
        return f"1Z{rng.getrandbits(64):016X}"
    if fmt == "usps":
        return "9400" + digits(18)
    if fmt == "fedex":
        return digits(12)
    if fmt == "canadapost":
        return digits(16)
    if fmt == "royalmail":
        letters = (
            "ABCDEFGHJKLMNPRSTUVWXYZ"[rng.randrange(23)]
            + "ABCDEFGHJKLMNPRSTUVWXYZ"[rng.randrange(23)]
        )
        return f"{letters}{digits(9)}{country}"
    if fmt == "dhl":
        return "00340" + digits(15)
    return digits(14)  # dpd and friends
