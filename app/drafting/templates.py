"""Reply templates: the starter library (``resources/templates/*.json``), rendering with
the order's values, and choosing the best template for an intent and a language.

Variables (:data:`VARIABLES`): ``{order_id} {item_title} {ship_date} {carrier}
{tracking} {delivery_window}`` come from the order (no PII); ``{buyer_first_name}`` is
personal and stays in the draft as it is unless ``personal`` values are given, which
happens locally, right before sending, only when the seller asks
(``DraftService.personalise``).  A value the order does not have becomes a clear
placeholder in the template's language (``[tracking number]``), never an error.
Pure functions; any thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from app.drafting.models import Intent, OrderContext

#: Every variable a template may use, in the order the editor lists them.
VARIABLES = (
    "order_id",
    "item_title",
    "ship_date",
    "carrier",
    "tracking",
    "delivery_window",
    "buyer_first_name",
)
#: Filled only from ``personal`` values (locally, at send time).
PERSONAL = frozenset({"buyer_first_name"})

#: The placeholder for a value the order does not have, per language.
_MISSING: dict[str, dict[str, str]] = {
    "en": {
        "order_id": "[order number]",
        "item_title": "[item]",
        "ship_date": "[ship date]",
        "carrier": "[carrier]",
        "tracking": "[tracking number]",
        "delivery_window": "[delivery date]",
        "buyer_first_name": "[first name]",
    },
    "de": {
        "order_id": "[Bestellnummer]",
        "item_title": "[Artikel]",
        "ship_date": "[Versanddatum]",
        "carrier": "[Versanddienst]",
        "tracking": "[Sendungsnummer]",
        "delivery_window": "[Liefertermin]",
        "buyer_first_name": "[Vorname]",
    },
    "fr": {
        "order_id": "[numéro de commande]",
        "item_title": "[article]",
        "ship_date": "[date d'expédition]",
        "carrier": "[transporteur]",
        "tracking": "[numéro de suivi]",
        "delivery_window": "[date de livraison]",
        "buyer_first_name": "[prénom]",
    },
    "es": {
        "order_id": "[número de pedido]",
        "item_title": "[artículo]",
        "ship_date": "[fecha de envío]",
        "carrier": "[transportista]",
        "tracking": "[número de seguimiento]",
        "delivery_window": "[fecha de entrega]",
        "buyer_first_name": "[nombre]",
    },
    "it": {
        "order_id": "[numero d'ordine]",
        "item_title": "[articolo]",
        "ship_date": "[data di spedizione]",
        "carrier": "[corriere]",
        "tracking": "[numero di tracciamento]",
        "delivery_window": "[data di consegna]",
        "buyer_first_name": "[nome]",
    },
}

_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
    "it": (
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ),
}

_VARIABLE = re.compile(r"\{(\w+)\}")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
#: What is left to fill in a draft: ``[NAME]``-style placeholders and ``{variables}``.
PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,40}\]|\{(?:" + "|".join(VARIABLES) + r")\}")

_LIBRARY = Path(__file__).resolve().parents[2] / "resources" / "templates"


@dataclass(frozen=True)
class Template:
    """A reply template.  ``id``: ``builtin:<language>:<intent>`` for the starter
    library, the seller's own get a number as text when saved (``""`` before)."""

    id: str
    title: str
    intent: Intent
    language: str  # "en-US", "en-GB", "de-DE", … (or just "fr")
    body: str
    tags: tuple[str, ...] = ()
    builtin: bool = False

    @property
    def base_language(self) -> str:
        return self.language.split("-")[0].lower()


def base_language(language: str) -> str:
    return language.split("-")[0].lower()


# --- rendering --------------------------------------------------------------------------


def _local_date(day: date, language: str) -> str:
    lang = base_language(language)
    months = _MONTHS.get(lang, _MONTHS["en"])
    month = months[day.month - 1]
    if language.lower() == "en-us" or language.lower() in ("en", "en-ca"):
        return f"{month} {day.day}, {day.year}"
    if lang == "de":
        return f"{day.day}. {month} {day.year}"
    if lang == "ja":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {month} {day.year}"


def _localise_dates(text: str, language: str) -> str:
    def one(match: re.Match[str]) -> str:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return match[0]
        return _local_date(day, language)

    return _ISO_DATE.sub(one, text)


def _items(titles: Sequence[str], language: str) -> str:
    titles = [t for t in titles if t]
    if not titles:
        return ""
    if len(titles) == 1:
        return titles[0]
    more = {"de": "und {n} weitere Artikel", "fr": "et {n} autres articles"}.get(
        base_language(language), "and {n} more items"
    )
    return f"{titles[0]} {more.format(n=len(titles) - 1)}"


def order_values(context: OrderContext, language: str) -> dict[str, str]:
    """The order's variables as text in ``language`` (empty where unknown)."""
    return {
        "order_id": context.order_id or "",
        "item_title": _items(context.items, language),
        "ship_date": _localise_dates(context.ship_date, language),
        "carrier": context.carrier,
        "tracking": context.tracking,
        "delivery_window": _localise_dates(context.delivery_window, language),
    }


def render_text(
    body: str,
    context: OrderContext,
    language: str,
    *,
    personal: Mapping[str, str] | None = None,
) -> str:
    """``body`` with its variables filled (see the module docstring); unknown
    ``{words}`` are left as they are."""
    values = order_values(context, language)
    missing = _MISSING.get(base_language(language), _MISSING["en"])

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name in PERSONAL:
            value = (personal or {}).get(name)
            return value if value else match[0]
        if name not in values:
            return match[0]
        return values[name] or missing[name]

    return _VARIABLE.sub(fill, body)


def render(
    template: Template, context: OrderContext, *, personal: Mapping[str, str] | None = None
) -> str:
    """The template's body for this order (see :func:`render_text`)."""
    return render_text(template.body, context, template.language, personal=personal)


def placeholders(text: str) -> tuple[str, ...]:
    """The placeholders left in ``text`` (``[NAME]``, ``[tracking number]``,
    ``{buyer_first_name}``), each once, in order."""
    return tuple(dict.fromkeys(m[0] for m in PLACEHOLDER.finditer(text)))


# --- the starter library ----------------------------------------------------------------


def _read_library(folder: Path) -> tuple[Template, ...]:
    found: list[Template] = []
    for path in sorted(folder.glob("*.json")):
        language = path.stem
        for entry in json.loads(path.read_text(encoding="utf-8")):
            intent = Intent(entry["intent"])
            found.append(
                Template(
                    id=f"builtin:{language}:{intent}",
                    title=str(entry["title"]),
                    intent=intent,
                    language=language,
                    body=str(entry["body"]),
                    tags=tuple(str(t) for t in entry.get("tags", ())),
                    builtin=True,
                )
            )
    return tuple(found)


@cache
def builtin_templates() -> tuple[Template, ...]:
    """The starter library shipped in ``resources/templates`` (read once)."""
    return _read_library(_LIBRARY)


# --- choosing ---------------------------------------------------------------------------


def locale_for(language: str, marketplace: str | None) -> str:
    """The template locale for a reply in ``language`` on ``marketplace``: British
    English on amazon.co.uk and the like, American elsewhere."""
    market = (marketplace or "").lower()
    if language == "en":
        british = ("co.uk", "ie", "com.au", "in", "sg", "ae", "uk", "gb")
        if market.removeprefix("www.").removeprefix("amazon.") in british:
            return "en-GB"
        return "en-US"
    return language


def choose(
    templates: Iterable[Template],
    intent: Intent,
    language: str,
    *,
    marketplace: str | None = None,
) -> Template | None:
    """The best template for ``intent`` in ``language``: the seller's own before the
    built-in ones; the exact locale, then the language, then the marketplace's
    language, then English; the intent first, then an "other" template."""
    from app.drafting.language import marketplace_language

    pool = list(templates)
    wanted = locale_for(language, marketplace)
    languages = [base_language(language), marketplace_language(marketplace), "en"]

    def rank(t: Template) -> tuple[int, int, int, int] | None:
        if t.intent is intent:
            by_intent = 0
        elif t.intent is Intent.OTHER:
            by_intent = 1
        else:
            return None
        if t.language.lower() == wanted.lower():
            by_language = 0
        elif t.base_language in languages:
            by_language = 1 + languages.index(t.base_language)
        else:
            return None
        return (by_intent, by_language, 1 if t.builtin else 0, 0)

    ranked = [(r, i, t) for i, t in enumerate(pool) if (r := rank(t)) is not None]
    if not ranked:
        return None
    ranked.sort(key=lambda x: (x[0], x[1]))
    return ranked[0][2]
