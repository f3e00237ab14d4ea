"""The buyer's language, offline: py3langid limited to the marketplaces' languages.

py3langid's model takes about a second to load (an xz-compressed array), so it is
loaded once, on first use, under a lock, into an identifier of our own (the library's
module-level ``set_languages`` would change every user of the library in the process).
Japanese is told by its script without the model; text too short to say anything, or
said with little confidence, falls back to the marketplace's language.  Thread: any.
"""

from __future__ import annotations

import re
import threading
from typing import Any

#: The languages of the marketplaces we serve (ISO 639-1).
LANGUAGES = ("en", "de", "fr", "es", "it", "ja", "nl", "pl", "sv", "tr")

#: Marketplace (domain or country code) → its language.
_MARKETPLACE_LANGUAGE = {
    "amazon.com": "en",
    "amazon.ca": "en",
    "amazon.co.uk": "en",
    "amazon.ie": "en",
    "amazon.com.au": "en",
    "amazon.in": "en",
    "amazon.sg": "en",
    "amazon.ae": "en",
    "amazon.sa": "en",
    "amazon.de": "de",
    "amazon.at": "de",
    "amazon.fr": "fr",
    "amazon.com.be": "fr",
    "amazon.es": "es",
    "amazon.com.mx": "es",
    "amazon.it": "it",
    "amazon.co.jp": "ja",
    "amazon.nl": "nl",
    "amazon.pl": "pl",
    "amazon.se": "sv",
    "amazon.com.tr": "tr",
    "us": "en",
    "ca": "en",
    "uk": "en",
    "gb": "en",
    "ie": "en",
    "au": "en",
    "in": "en",
    "sg": "en",
    "ae": "en",
    "de": "de",
    "at": "de",
    "fr": "fr",
    "be": "fr",
    "es": "es",
    "mx": "es",
    "it": "it",
    "jp": "ja",
    "nl": "nl",
    "pl": "pl",
    "se": "sv",
    "tr": "tr",
}

#: Below this normalised probability the model's guess is not trusted.
MIN_CONFIDENCE = 0.6
#: Fewer letters than this say too little.
MIN_LETTERS = 12

_KANA = re.compile(r"[\u3040-\u30ff]")
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uff66-\uff9f]")
# Placeholders, order ids, ASIN-like codes, numbers: no language in them.
_NOISE = re.compile(
    r"\[[A-Z ]+\]|\{\w+\}|\b\d{3}-\d{7}-\d{7}\b|\bB0[A-Z0-9]{8}\b|https?://\S+|[\d.,:/-]+"
)

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    """The identifier, loaded once (about a second, the first time)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            found = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            found.set_languages(list(LANGUAGES))
            _identifier = found
        return _identifier


def preload() -> None:
    """Load the model now (on a worker), so the first draft does not wait for it."""
    _model()


def marketplace_language(marketplace: str | None) -> str:
    """The language of ``marketplace`` ("amazon.de", "www.amazon.co.uk", "DE", "UK");
    English when unknown."""
    key = (marketplace or "").strip().lower().removeprefix("www.")
    return _MARKETPLACE_LANGUAGE.get(key, "en")


def detect_language(text: str, *, marketplace: str | None = None) -> str:
    """The language of ``text`` as an ISO 639-1 code among :data:`LANGUAGES`; the
    marketplace's when the text is too short or the guess too weak."""
    fallback = marketplace_language(marketplace)
    clean = _NOISE.sub(" ", text)
    if len(_KANA.findall(clean)) >= 2 or len(_CJK.findall(clean)) >= 4:
        return "ja"
    if sum(c.isalpha() for c in clean) < MIN_LETTERS:
        return fallback
    language, confidence = _model().classify(clean)
    if float(confidence) < MIN_CONFIDENCE:
        return fallback
    return str(language)
