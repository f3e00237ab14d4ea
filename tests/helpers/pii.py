"""Made-up buyers and messages that carry their PII, for tests of redaction and the guard.

- ``fake_buyer(seed) -> (KnownPII, marketplace)``: a buyer of one marketplace (US, UK,
  DE, FR, ES, IT) with a name, a postal address, a phone and a relay alias, all invented
  (phone numbers from the ranges set aside for fiction where there are such: 555-01xx in
  the US, 07700 900xxx in the UK).
- ``message_with(known, seed) -> str``: a buyer message that writes that PII the way
  people do: first name alone, other case, accents dropped, phone digits with other
  separators, address lines in another order; next to order ids, ASINs, amounts, dates.
- ``leaks(text, known) -> list[str]``: what of ``known`` is still readable in ``text``
  (names word by word, phones by digits, addresses by number and street word, emails by
  their local part): empty when nothing leaked.
- Hypothesis strategies: ``buyers()``, ``messages()`` (known, marketplace, text).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from app.pii import KnownPII, Redaction


@dataclass(frozen=True)
class Locale:
    marketplace: str
    domain: str
    first: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]  # "{n}" is the house number
    places: tuple[str, ...]  # postcode and city as written on a label
    phones: tuple[str, ...]  # "#" is a random digit


LOCALES = {
    "US": Locale(
        "US",
        "com",
        ("Jennifer", "Michael", "Ashley", "Tyrone", "Brittany", "Carlos", "Megan", "Dakota"),
        ("Whitfield", "Okafor", "Hernandez", "Kowalczyk", "Nguyen", "Brennan", "Castellano"),
        ("{n} Maple Avenue", "{n} W Jefferson St", "{n} Oakridge Drive Apt 4B", "{n} Elm Street"),
        ("Springfield, IL 62704", "Austin, TX 78701", "Portland, OR 97205", "Dayton, OH 45402"),
        ("(###) 555-01##", "###-555-01##", "+1 ### 555 01##", "###.555.01##"),
    ),
    "UK": Locale(
        "UK",
        "co.uk",
        ("Olivia", "Harry", "Siobhan", "Rhys", "Priya", "Callum", "Niamh", "Oliver"),
        ("Pemberton", "Fairweather", "Ashworth", "MacLeod", "Chaudhry", "Llewellyn"),
        ("{n} Kingsley Road", "Flat {n}, Harbour Court", "{n} Priory Lane", "{n} Ashdown Close"),
        ("Leeds LS6 2AB", "Bristol BS8 4QT", "Norwich NR2 3HX", "Cardiff CF10 1EP"),
        ("07700 900###", "+44 7700 900###", "07700900###", "0161 496 0###"),
    ),
    "DE": Locale(
        "DE",
        "de",
        ("Jürgen", "Anneliese", "Maximilian", "Lea", "Sönke", "Katharina", "Dörte", "Lukas"),
        ("Müller", "Schröder", "Weißenberg", "Hoffmann", "Krüger", "Bachmeier", "Lindqvist"),
        ("Lindenstraße {n}", "Am Kirchberg {n}", "Goethestr. {n}", "Bahnhofsweg {n}a"),
        ("10115 Berlin", "80331 München", "50667 Köln", "04109 Leipzig"),
        ("0176 ########", "+49 176 ########", "030 ######", "0176/########"),
    ),
    "FR": Locale(
        "FR",
        "fr",
        ("Amélie", "Théo", "Hélène", "François", "Maëlle", "Loïc", "Céline", "Mathis"),
        ("Lefèvre", "Dubois", "Moreau", "Garnier", "Rousseau", "Delacroix", "Béranger"),
        (
            "{n} rue des Lilas",
            "{n} avenue Victor Hugo",
            "{n} bis, rue de la Paix",
            "{n} boulevard Voltaire",
        ),
        ("75011 Paris", "69003 Lyon", "31000 Toulouse", "13001 Marseille"),
        ("06 ## ## ## ##", "+33 6 ## ## ## ##", "06.##.##.##.##", "01 ## ## ## ##"),
    ),
    "ES": Locale(
        "ES",
        "es",
        ("Lucía", "Javier", "María José", "Álvaro", "Nerea", "Íñigo", "Carmen", "Sergio"),
        ("García", "Fernández", "Martínez", "Ruiz", "Sánchez", "Etxeberria", "Gómez"),
        (
            "Calle Mayor {n}, 2º B",
            "Avenida de la Constitución {n}",
            "C/ Alcalá {n}",
            "Paseo del Prado {n}",
        ),
        ("28013 Madrid", "08002 Barcelona", "41001 Sevilla", "46002 Valencia"),
        ("6## ### ###", "+34 6## ### ###", "6########", "91 ### ## ##"),
    ),
    "IT": Locale(
        "IT",
        "it",
        ("Giulia", "Matteo", "Chiara", "Niccolò", "Francesca", "Lorenzo", "Ilaria", "Tommaso"),
        ("Rossi", "Bianchi", "Esposito", "Colombo", "Ferraro", "De Luca", "Galli"),
        (
            "Via Garibaldi {n}",
            "Corso Vittorio Emanuele {n}",
            "Piazza Navona {n}",
            "Viale Monza {n}",
        ),
        ("00184 Roma (RM)", "20121 Milano", "50123 Firenze", "80132 Napoli"),
        ("333 ### ####", "+39 333 ### ####", "333#######", "06 #### ####"),
    ),
}
MARKETPLACES = tuple(LOCALES)

_GREETING = {
    "US": "Hi,",
    "UK": "Hello,",
    "DE": "Hallo,",
    "FR": "Bonjour,",
    "ES": "Hola,",
    "IT": "Buongiorno,",
}
_BODY = {
    "US": "my order {order} (ASIN {asin}) for $24.99 has not arrived since {date}.",
    "UK": "order {order} (ASIN {asin}, £19.50) still hasn't come, it was due {date}.",
    "DE": "meine Bestellung {order} (ASIN {asin}, 29,90 €) ist seit {date} nicht da.",
    "FR": "ma commande {order} (ASIN {asin}, 34,90 €) n'est pas arrivée depuis le {date}.",
    "ES": "mi pedido {order} (ASIN {asin}, 21,95 €) no ha llegado desde el {date}.",
    "IT": "il mio ordine {order} (ASIN {asin}, 18,90 €) non è arrivato dal {date}.",
}
_INTRO = {
    "US": "This is {name}.",
    "UK": "My name is {name}.",
    "DE": "Ich bin {name}.",
    "FR": "Je m'appelle {name}.",
    "ES": "Me llamo {name}.",
    "IT": "Mi chiamo {name}.",
}
_ADDRESS = {
    "US": "Please ship to {address}.",
    "UK": "Please send it to {address}.",
    "DE": "Bitte an {address} schicken.",
    "FR": "Merci d'envoyer à {address}.",
    "ES": "Enviadlo a {address}, por favor.",
    "IT": "Spedite a {address}, grazie.",
}
_PHONE = {
    "US": "Call me at {phone}.",
    "UK": "Ring me on {phone}.",
    "DE": "Rufen Sie mich unter {phone} an.",
    "FR": "Appelez-moi au {phone}.",
    "ES": "Llamadme al {phone}.",
    "IT": "Chiamatemi al {phone}.",
}
_EMAIL = {
    "US": "or write to {email}",
    "UK": "or email {email}",
    "DE": "oder an {email} schreiben",
    "FR": "ou écrivez à {email}",
    "ES": "o escribid a {email}",
    "IT": "o scrivete a {email}",
}
_SIGNOFF = {
    "US": "Thanks,",
    "UK": "Kind regards,",
    "DE": "Viele Grüße",
    "FR": "Cordialement,",
    "ES": "Saludos,",
    "IT": "Grazie,",
}


def _digits(pattern: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in pattern)


def fake_buyer(seed: int) -> tuple[KnownPII, str]:
    """A made-up buyer of one marketplace, the same for the same seed."""
    rng = random.Random(seed)
    loc = LOCALES[MARKETPLACES[seed % len(MARKETPLACES)]]
    name = f"{rng.choice(loc.first)} {rng.choice(loc.last)}"
    street = rng.choice(loc.streets).format(n=rng.randrange(2, 240))
    address = f"{street}, {rng.choice(loc.places)}"
    phone = _digits(rng.choice(loc.phones), rng)
    alias = "".join(rng.choice("abcdefghjkmnpqrstvwxyz0123456789") for _ in range(14))
    email = f"{alias}@marketplace.amazon.{loc.domain}"
    known = KnownPII(names=(name,), addresses=(address,), phones=(phone,), emails=(email,))
    return known, loc.marketplace


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def phone_variant(phone: str, rng: random.Random) -> str:
    """The same number written another way: other separators, or none."""
    digits = re.sub(r"\D", "", phone)
    international = phone.strip().startswith("+")
    style = rng.randrange(4)
    if style == 0:
        return digits if not international else "+" + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    sep = ("-", ".", " ")[style - 1]
    return ("+" if international else "") + sep.join(groups)


def name_variant(name: str, rng: random.Random) -> str:
    """The first name alone, the name in capitals or lowercase, or without accents."""
    first = name.split()[0]
    return rng.choice([first, name.upper(), name.lower(), fold(name), first.lower(), fold(first)])


def address_variant(address: str, rng: random.Random) -> str:
    """The address with its lines in another order, or on several lines."""
    parts = [p.strip() for p in address.split(",")]
    if rng.random() < 0.5:
        return ", ".join(reversed(parts))
    return "\n".join(parts)


def message_with(known: KnownPII, seed: int) -> str:
    """A buyer message writing ``known``'s PII as people do, among non-PII values."""
    rng = random.Random(seed)
    marketplace = _marketplace_of(known)
    order = f"{rng.randrange(100, 999)}-{rng.randrange(10**6, 10**7)}-{rng.randrange(10**6, 10**7)}"
    asin = "B0" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))
    date = f"{rng.randrange(1, 28):02d}/{rng.randrange(1, 12):02d}/2026"
    lines = [_GREETING[marketplace]]
    body = [_BODY[marketplace].format(order=order, asin=asin, date=date)]
    if known.names:
        body.insert(0, _INTRO[marketplace].format(name=name_variant(known.names[0], rng)))
    if known.addresses:
        text = (
            address_variant(known.addresses[0], rng) if rng.random() < 0.5 else known.addresses[0]
        )
        body.append(_ADDRESS[marketplace].format(address=text))
    if known.phones:
        phone = known.phones[0] if rng.random() < 0.5 else phone_variant(known.phones[0], rng)
        tail = ""
        if known.emails:
            email = known.emails[0]
            tail = " " + _EMAIL[marketplace].format(
                email=email.upper() if rng.random() < 0.3 else email
            )
        body.append(_PHONE[marketplace].format(phone=phone).rstrip(".") + tail + ".")
    rng.shuffle(body)
    lines += body
    if known.names:
        lines += [_SIGNOFF[marketplace], name_variant(known.names[0], rng)]
    return "\n".join(lines)


def _marketplace_of(known: KnownPII) -> str:
    for email in known.emails:
        for code, loc in LOCALES.items():
            if email.endswith("." + loc.domain):
                return code
    return "US"


_WORD = re.compile(r"[^\W_]+")


def leaks(text: str, known: KnownPII) -> list[str]:
    """What of ``known`` can still be read in ``text`` (empty: nothing leaked)."""
    out: list[str] = []
    words = {fold(w).lower() for w in _WORD.findall(text)}
    for name in known.names:
        for part in _WORD.findall(name):
            if len(part) >= 3 and fold(part).lower() in words:
                out.append(f"name word {part!r}")
    digit_text = re.sub(r"[^\d\[]", "", text)  # placeholders ("[") keep numbers apart
    for phone in known.phones:
        digits = re.sub(r"\D", "", phone)
        tail = digits[-7:]
        if tail in digit_text:
            out.append(f"phone {phone!r}")
    for address in known.addresses:
        for part in _WORD.findall(address):
            numbered = any(c.isdigit() for c in part) and len(part) >= 4
            if numbered and re.search(rf"(?<![\w]){re.escape(part)}(?![\w])", text):
                out.append(f"address part {part!r}")
    lowered = text.lower()
    for email in known.emails:
        local = email.split("@")[0].lower()
        if local in lowered:
            out.append(f"email {email!r}")
    return out


def buyers() -> st.SearchStrategy[tuple[KnownPII, str]]:
    """Made-up buyers (``fake_buyer`` over seeds)."""
    return st.integers(min_value=0, max_value=2**32 - 1).map(fake_buyer)


def messages() -> st.SearchStrategy[tuple[KnownPII, str, str]]:
    """(known, marketplace, a message that carries that PII)."""
    return st.tuples(buyers(), st.integers(min_value=0, max_value=2**32 - 1)).map(
        lambda pair: (pair[0][0], pair[0][1], message_with(pair[0][0], pair[1]))
    )


# --- the corpus (tests/data/pii) ------------------------------------------------------

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "pii"
_KINDS = ("name", "address", "phone", "email")


@dataclass(frozen=True)
class Occurrence:
    kind: str
    value: str  # as written in the text
    known: bool  # written from what the thread knows (KnownPII)


@dataclass(frozen=True)
class Case:
    id: str
    marketplace: str
    text: str
    known: KnownPII
    pii: tuple[Occurrence, ...]
    keep: tuple[str, ...]


def load_corpus(name: str) -> list[Case]:
    """The cases of ``tests/data/pii/<name>.txt`` (format in the README there)."""
    cases: list[Case] = []
    header: list[str] | None = None
    lines: list[str] = []
    for raw in (CORPUS_DIR / f"{name}.txt").read_text("utf-8").splitlines():
        if raw.startswith("==="):
            if header is not None:
                cases.append(_case(header, lines))
            header, lines = raw[3:].split(), []
        elif raw.startswith(("# ", "### ")):
            continue  # a comment or a section title
        elif header is not None:
            lines.append(raw)
    if header is not None:
        cases.append(_case(header, lines))
    return cases


def _case(header: list[str], lines: list[str]) -> Case:
    case_id, marketplace = header
    text_lines = []
    known: dict[str, list[str]] = {kind: [] for kind in _KINDS}
    pii: list[Occurrence] = []
    keep: list[str] = []
    for line in lines:
        if not line.startswith("@"):
            if pii or keep or any(known.values()):
                if line.strip():
                    raise ValueError(f"{case_id}: text after the annotations")
                continue
            text_lines.append(line)
            continue
        tag, _, value = line[1:].partition(" ")
        value = value.replace("\\n", "\n")
        if tag == "keep":
            keep.append(value)
        elif tag.startswith("known-") and tag[6:] in _KINDS:
            known[tag[6:]].append(value)
        elif tag.rstrip("!") in _KINDS:
            pii.append(Occurrence(tag.rstrip("!"), value, tag.endswith("!")))
        else:
            raise ValueError(f"{case_id}: unknown annotation @{tag}")
    while text_lines and not text_lines[-1].strip():
        text_lines.pop()
    text = "\n".join(text_lines)
    for value in [o.value for o in pii] + keep:
        if value not in text:
            raise ValueError(f"{case_id}: {value!r} is not in the text")
    return Case(
        case_id,
        marketplace,
        text,
        KnownPII(
            names=tuple(known["name"]),
            addresses=tuple(known["address"]),
            phones=tuple(known["phone"]),
            emails=tuple(known["email"]),
        ),
        tuple(pii),
        tuple(keep),
    )


_STREET_WORDS = frozenset(
    """
    street st road rd avenue ave drive dr lane ln boulevard blvd court ct close way place
    rue avenue boulevard allee allée chemin impasse quai place calle avenida paseo plaza
    carrer via viale piazza corso strasse straße str weg platz allee apt flat unit suite
    the de la des du del di
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def removed(occurrence: Occurrence, redacted: str) -> bool:
    """Whether ``occurrence`` can no longer be read in the redacted text."""
    value = occurrence.value
    words = {fold(w).lower() for w in _WORD.findall(redacted)}
    if occurrence.kind == "name":
        parts = [p for p in _WORD.findall(value) if len(p) >= 2]
        if any(ord(c) >= 0x2E80 for c in value):  # CJK: no spaces between words
            return not any(p in redacted for p in parts)
        return not any(fold(p).lower() in words for p in parts) if parts else True
    if occurrence.kind == "email":
        local = re.split(r"@|\s*\[at\]\s*|\s+at\s+", value)[0]
        return fold(local).lower() not in fold(redacted).lower()
    if occurrence.kind == "phone":
        return not _phone_left(value, redacted)
    # address: no number of it and not its street (or place) word is left
    parts = _WORD.findall(value)
    numbered = [p for p in parts if any(c.isdigit() for c in p)]
    named = [p for p in parts if not any(c.isdigit() for c in p) and len(p) >= 4]
    named = [p for p in named if fold(p).lower() not in _STREET_WORDS]
    for part in numbered:
        if re.search(rf"(?<![\w]){re.escape(part)}(?![\w])", redacted):
            return False
    return not named or fold(named[0]).lower() not in words


def _phone_left(value: str, redacted: str) -> bool:
    """Six digits or more of the number, from its start or its end, as written, or all of
    its digits as one number: still in the text."""
    spots = [i for i, c in enumerate(value) if c.isdigit()]
    if len(spots) < 6:
        return value in redacted
    head = value[: spots[5] + 1]
    tail = value[spots[-6] :]
    digits = "".join(value[i] for i in spots)
    whole = re.search(rf"(?<!\d){digits}(?!\d)", redacted) is not None
    return head in redacted or tail in redacted or whole


@dataclass
class Score:
    cases: int = 0
    known: int = 0
    known_leaks: int = 0
    contact: int = 0  # unknown emails and phones
    contact_leaks: int = 0
    addresses: int = 0
    addresses_removed: int = 0
    names: int = 0
    names_removed: int = 0
    keep: int = 0
    kept: int = 0
    misses: list[str] | None = None

    def rate(self, part: int, whole: int) -> float:
        return 1.0 if whole == 0 else part / whole


def score(cases: list[Case], redact_fn: Callable[..., Redaction]) -> Score:
    """Run ``redact_fn(text, known, marketplace=...)`` over the cases and count."""
    out = Score(misses=[])
    assert out.misses is not None
    for case in cases:
        out.cases += 1
        redacted = redact_fn(case.text, case.known, marketplace=case.marketplace).text
        for occurrence in case.pii:
            gone = removed(occurrence, redacted)
            if occurrence.known:
                out.known += 1
                out.known_leaks += not gone
            elif occurrence.kind in ("email", "phone"):
                out.contact += 1
                out.contact_leaks += not gone
            elif occurrence.kind == "address":
                out.addresses += 1
                out.addresses_removed += gone
            else:
                out.names += 1
                out.names_removed += gone
            if not gone:
                out.misses.append(
                    f"{case.id}: {occurrence.kind} {occurrence.value!r} -> {redacted!r}"
                )
        for value in case.keep:
            out.keep += 1
            if value in redacted:
                out.kept += 1
            else:
                out.misses.append(f"{case.id}: lost {value!r} -> {redacted!r}")
    return out
