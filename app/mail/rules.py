"""Amazon's buyer-seller messaging rules, checked on a reply before it is sent.

:func:`check_reply` finds what Amazon does not allow in a message to a buyer: links to
sites other than Amazon, email addresses, phone numbers, emoji, and marketing (coupons,
other products, social media, asking for a positive review).  Each hit carries offsets
into the exact text given, so the reply editor can highlight it; the seller may fix it
or send anyway.  It errs towards few false alarms: order ids, amounts, dates, times and
tracking numbers are not phone numbers.  Linear in the text (no backtracking patterns).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.mail.models import RuleHit

__all__ = ["MESSAGES", "check_reply"]

MESSAGES = {
    "link": "Links to websites other than Amazon are not allowed in messages to buyers.",
    "email": "Email addresses are not allowed in messages to buyers.",
    "phone": "Phone numbers are not allowed in messages to buyers.",
    "emoji": "Emoji are not allowed in messages to buyers.",
    "marketing": (
        "Marketing is not allowed in messages to buyers: no coupons or discounts on "
        "future orders, no promoting other products, your website or social media, and "
        "no asking for a positive review."
    ),
}


def check_reply(text: str, *, marketplace_domain: str = "") -> list[RuleHit]:
    """What in ``text`` breaks Amazon's messaging rules, in order of position.

    Links to any Amazon site (``amazon.<tld>``, ``amzn.<tld>``) are allowed wherever
    the buyer shops, so ``marketplace_domain`` changes nothing today; it is accepted
    so callers need not change when a marketplace gets its own rule.
    """
    del marketplace_domain
    hits: list[RuleHit] = []
    for kind, spans in (
        ("email", _emails(text)),
        ("link", _links(text)),
        ("phone", _phones(text)),
        ("emoji", _emoji(text)),
        ("marketing", _marketing(text)),
    ):
        for start, end in spans:
            if not any(start < hit.end and hit.start < end for hit in hits):
                hits.append(RuleHit(kind, start, end, MESSAGES[kind]))
    return sorted(hits, key=lambda hit: hit.start)


# --- email addresses ------------------------------------------------------------------

_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")


def _emails(text: str) -> Iterator[tuple[int, int]]:
    at = text.find("@")
    while at >= 0:
        start = at
        while start > 0 and text[start - 1] in _LOCAL_CHARS and at - start < 64:
            start -= 1
        start += len(text[start:at]) - len(text[start:at].lstrip("."))
        domain = _DOMAIN.match(text, at + 1, min(len(text), at + 256))
        if start < at and domain:
            yield start, domain.end()
        at = text.find("@", at + 1)


# --- links --------------------------------------------------------------------------

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`]{1,2000}", re.IGNORECASE)
_TLDS = (
    "com|net|org|info|biz|io|co|uk|de|fr|es|it|nl|be|ch|at|pl|se|dk|no|fi|pt|ie|jp|cn|"
    "ca|au|nz|us|eu|in|br|mx|tr|ru|shop|store|online|site|website|app|me|ly|gl|to|tv|"
    "xyz|top|link|page"
)
_BARE = re.compile(
    r"(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")\b"
    r"(?![.-]?\w)(?:/[^\s<>\"'`]{0,2000})?",
    re.IGNORECASE,
)
_AMAZON_HOST = re.compile(r"(?:.+\.)?(?:amazon|amzn)\.[a-z]{2,3}(?:\.[a-z]{2})?", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


def _links(text: str) -> Iterator[tuple[int, int]]:
    taken: list[tuple[int, int]] = []
    for match in (*_URL.finditer(text), *_BARE.finditer(text)):
        start, end = match.start(), match.end()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        if any(start < e and s < end for s, e in taken):
            continue
        url = text[start:end]
        host = re.sub(r"^(?:https?://)?", "", url, flags=re.IGNORECASE)
        host = re.split(r"[/?#:]", host, maxsplit=1)[0]
        if _AMAZON_HOST.fullmatch(host):
            continue
        taken.append((start, end))
        yield start, end


# --- phone numbers ------------------------------------------------------------------

_PHONES = (
    # International: +44 20 7946 0958, +1 (555) 123-4567, +49-30-1234567
    re.compile(r"(?<![\w+])\+\d[\d .()/-]{6,20}\d(?![\w-]|[ .-]\d)"),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567, 1-555-123-4567
    re.compile(
        r"(?<![\w.+-])(?<!\d )(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}"
        r"(?![\w-]|[ .-]\d)"
    ),
    # A trunk-prefix number: 020 7946 0958, 07700 900123, 030/1234567, 06-12345678
    re.compile(r"(?<![\w.+-])(?<!\d )0\d{1,4}(?:[ /-]\d{2,8}){1,3}(?![\w-]|[ /.-]\d)"),
)
_PHONE_WORD = re.compile(
    r"\b(?:tel|phone|telephone|call|ring|mobile|cell|whatsapp|telefon|telefonnummer|"
    r"handy|anrufen|téléphone|portable|appelez|teléfono|móvil|llámanos|llame|telefono|"
    r"cellulare|chiamaci|chiami)\b[^\d\n]{0,20}(\+?\d[\d .()/-]{5,20}\d)",
    re.IGNORECASE,
)
_NOT_PHONE = (
    re.compile(r"\d{3}-\d{7}-\d{7}"),  # an Amazon order id
    re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"),  # a date
)


def _phones(text: str) -> Iterator[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for pattern in _PHONES:
        for match in pattern.finditer(text):
            if _is_phone(match.group(0), low=9 if match.group(0)[0] == "0" else 8):
                spans.append(match.span())
    for match in _PHONE_WORD.finditer(text):
        if _is_phone(match.group(1), low=7):
            spans.append(match.span(1))
    spans.sort()
    last = -1
    for start, end in spans:
        if start >= last:
            last = end
            yield start, end


def _is_phone(candidate: str, *, low: int) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if not low <= digits <= 15:
        return False
    return not any(pattern.fullmatch(candidate.strip()) for pattern in _NOT_PHONE)


# --- emoji --------------------------------------------------------------------------

_EMOJI_CHARS = (
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, flags, skin tones …
    "\u2600-\u27bf"  # miscellaneous symbols and dingbats (☺ ★ ✔ ❤)
    "\u2b50-\u2b55"  # ⭐ ⭕
    "\u231a\u231b\u23e9-\u23fa\u3030\u303d\u3297-\u3299"
)
_JOINERS = "\u200d\ufe0f\ufe0e\u20e3"  # ZWJ, variation selectors, keycap
_EMOJI = re.compile(f"[{_EMOJI_CHARS}][{_EMOJI_CHARS}{_JOINERS}]*")


def _emoji(text: str) -> Iterator[tuple[int, int]]:
    for match in _EMOJI.finditer(text):
        yield match.span()


# --- marketing ----------------------------------------------------------------------

_MARKETING = re.compile(
    r"\b(?:"
    # coupons and discounts on later purchases
    r"coupons?(?: codes?)?|promo(?:tional)? codes?|discount codes?|voucher codes?|"
    r"(?:discount|\d{1,2} ?%) (?:off |on )?your next (?:order|purchase)|"
    r"off your next (?:order|purchase)|special offers?|"
    r"exclusive (?:offers?|deals?)|limited[- ]time (?:offers?|deals?)|buy one,? get one|"
    r"free gift|"
    # other channels and products
    r"visit our (?:website|web ?site|site|online store|store|shop|homepage)|"
    r"follow us|like us on|find us on|(?:join|sign up for|subscribe to) our "
    r"(?:newsletter|mailing list)|"
    r"check out our (?:other|new|latest) (?:products|items|listings)|"
    # reviews (asking for a good one, or a change)
    r"(?:leave|write|give|post) (?:us )?(?:a |an )?(?:positive|good|great|glowing|"
    r"5[- ]star|five[- ]star) (?:review|feedback|rating)|"
    r"(?:5|five)[- ]stars?|"
    r"(?:remove|change|update|delete|revise) (?:your|the) (?:negative )?(?:review|feedback)|"
    r"in (?:exchange|return) for (?:a |your )?(?:review|feedback)|"
    # German
    r"gutschein(?:code)?|rabattcode|rabatt auf ihre nächste bestellung|"
    r"besuchen sie unser(?:e|en)? (?:website|webseite|homepage|shop|online-?shop)|"
    r"folgen sie uns|positive bewertung|(?:5|fünf) sterne|"
    # French
    r"code promo|bon de réduction|réduction sur votre prochaine commande|"
    r"visitez notre (?:site|boutique)|suivez[- ]nous|avis positif|(?:5|cinq) étoiles|"
    # Spanish
    r"cupón|código de descuento|descuento en (?:tu|su) próximo pedido|"
    r"visita nuestra (?:web|tienda|página)|síguenos|reseña positiva|(?:5|cinco) estrellas|"
    # Italian
    r"codice sconto|buono sconto|sconto sul (?:tuo|suo) prossimo ordine|"
    r"visita il nostro (?:sito|negozio)|seguici|recensione positiva|(?:5|cinque) stelle"
    r")(?!\w)",
    re.IGNORECASE,
)


def _marketing(text: str) -> Iterator[tuple[int, int]]:
    for match in _MARKETING.finditer(text):
        yield match.span()
