"""The buyer's language: py3langid limited to the marketplaces' languages, Japanese by
its script, and the marketplace's language when the text says too little."""

from __future__ import annotations

import pytest

from app.drafting.language import LANGUAGES, detect_language, marketplace_language

SAMPLES = (
    ("en", "Hello, my package has not arrived yet. Could you please check the tracking?"),
    ("de", "Hallo, mein Paket ist leider noch nicht angekommen. Können Sie nachsehen?"),
    ("fr", "Bonjour, mon colis n'est toujours pas arrivé. Pouvez-vous vérifier ?"),
    ("es", "Hola, mi paquete todavía no ha llegado. ¿Pueden comprobarlo, por favor?"),
    ("it", "Buongiorno, il mio pacco non è ancora arrivato. Potete controllare?"),
    ("ja", "注文した商品がまだ届いていません。確認していただけますか。"),
    ("nl", "Hallo, mijn pakket is nog steeds niet aangekomen. Kunt u het controleren?"),
    ("pl", "Dzień dobry, moja paczka jeszcze nie dotarła. Czy mogą Państwo sprawdzić?"),
    ("sv", "Hej, mitt paket har fortfarande inte kommit fram. Kan ni kontrollera det?"),
    ("tr", "Merhaba, siparişim hâlâ gelmedi. Lütfen kontrol edebilir misiniz?"),
)


@pytest.mark.parametrize(("language", "text"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_marketplace_language_is_recognised(language: str, text: str) -> None:
    assert detect_language(text) == language


def test_only_the_marketplaces_languages_are_answered() -> None:
    # Portuguese is close to Spanish; the detector may only name one of ours.
    assert detect_language("Olá, a minha encomenda ainda não chegou, podem verificar?") in LANGUAGES


@pytest.mark.parametrize(
    ("marketplace", "language"),
    [("amazon.de", "de"), ("www.amazon.co.jp", "ja"), ("UK", "en"), ("FR", "fr"), ("", "en")],
)
def test_short_text_falls_back_to_the_marketplace(marketplace: str, language: str) -> None:
    assert detect_language("ok thx", marketplace=marketplace) == language
    assert marketplace_language(marketplace) == language


def test_placeholders_order_ids_and_numbers_say_nothing() -> None:
    text = "[NAME] 111-1234567-1234567 B0ABCDEFGH 12.50 2026-03-05 {buyer_first_name}"
    assert detect_language(text, marketplace="amazon.it") == "it"


def test_a_german_message_with_english_product_words_is_german() -> None:
    text = "Hallo, der USB-C Charger mit Power Delivery funktioniert leider nicht mehr richtig."
    assert detect_language(text, marketplace="amazon.com") == "de"
