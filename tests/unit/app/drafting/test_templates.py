"""Templates: rendering with the order's values (dates in the template's locale, a
clear placeholder for a missing value, personal values only when given), choosing by
intent and language, and the starter library checked against Amazon's rules."""

from __future__ import annotations

import re

import pytest

from app.drafting.models import Intent, OrderContext
from app.drafting.templates import (
    VARIABLES,
    Template,
    builtin_templates,
    choose,
    placeholders,
    render,
)

FULL = OrderContext(
    order_id="111-5550101-7654321",
    items=("Glass Kettle 1.7 l",),
    ship_date="2026-03-02",
    carrier="UPS",
    tracking="1Z999AA10123456784",
    delivery_window="2026-03-05 – 2026-03-07",
)
BODY = " | ".join("{" + v + "}" for v in VARIABLES)


def _t(language: str, body: str = BODY, intent: Intent = Intent.OTHER, **kw: object) -> Template:
    return Template(f"x-{language}", "T", intent, language, body, **kw)  # type: ignore[arg-type]


def test_every_variable_is_filled_from_the_order_except_the_personal_one() -> None:
    assert render(_t("en-US"), FULL) == (
        "111-5550101-7654321 | Glass Kettle 1.7 l | March 2, 2026 | UPS | "
        "1Z999AA10123456784 | March 5, 2026 – March 7, 2026 | {buyer_first_name}"
    )


def test_dates_follow_the_template_s_locale() -> None:
    assert "2 March 2026" in render(_t("en-GB"), FULL)
    assert "2. März 2026" in render(_t("de-DE"), FULL)


def test_missing_values_become_clear_placeholders_never_an_error() -> None:
    text = render(_t("en-US"), OrderContext())
    assert text == (
        "[order number] | [item] | [ship date] | [carrier] | [tracking number] | "
        "[delivery date] | {buyer_first_name}"
    )
    assert "[Sendungsnummer]" in render(_t("de-DE"), OrderContext())
    assert "[tracking number]" in render(_t("pl"), OrderContext())  # no words: English


def test_personal_values_are_filled_only_when_given() -> None:
    text = render(
        _t("en-US", "Hello {buyer_first_name}!"), FULL, personal={"buyer_first_name": "Jo"}
    )
    assert text == "Hello Jo!"
    assert render(_t("en-US", "Hello {buyer_first_name}!"), FULL, personal={}) == (
        "Hello {buyer_first_name}!"
    )


def test_unknown_braces_and_several_items_are_handled() -> None:
    many = OrderContext(items=("Mug", "Plate", "Bowl"))
    assert (
        render(_t("en-US", "{item_title} {unknown} {"), many) == "Mug and 2 more items {unknown} {"
    )


def test_placeholders_are_listed_once_in_order() -> None:
    text = "Hi {buyer_first_name}, [NAME] [tracking number] [NAME] {order_id} [x]"
    assert placeholders(text) == (
        "{buyer_first_name}",
        "[NAME]",
        "[tracking number]",
        "{order_id}",
        "[x]",
    )


def test_the_best_template_is_exact_locale_then_language_then_english() -> None:
    us, gb, de = (
        _t("en-US", intent=Intent.DAMAGED),
        _t("en-GB", intent=Intent.DAMAGED),
        _t("de-DE", intent=Intent.DAMAGED),
    )
    other_de = _t("de-DE", intent=Intent.OTHER)
    pool = [us, gb, de, other_de]
    assert choose(pool, Intent.DAMAGED, "en", marketplace="amazon.co.uk") is gb
    assert choose(pool, Intent.DAMAGED, "en", marketplace="amazon.com") is us
    assert choose(pool, Intent.DAMAGED, "de", marketplace="amazon.com") is de
    assert choose(pool, Intent.DAMAGED, "fr", marketplace="amazon.de") is de  # marketplace's
    assert choose(pool, Intent.DAMAGED, "fr", marketplace="amazon.fr") is us  # English
    assert choose(pool, Intent.INVOICE_VAT, "de") is other_de  # "other" of the language
    assert choose([], Intent.DAMAGED, "en") is None


def test_the_seller_s_template_wins_over_a_built_in_one() -> None:
    builtin = _t("en-US", intent=Intent.DAMAGED, builtin=True)
    mine = _t("en-US", intent=Intent.DAMAGED)
    assert choose([builtin, mine], Intent.DAMAGED, "en") is mine


# --- the starter library ----------------------------------------------------------------

LIBRARY = builtin_templates()
_LINK = re.compile(r"https?://|www\.|\.(com|de|co\.uk)\b", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def test_the_library_has_a_reply_per_intent_for_us_uk_and_germany() -> None:
    for language in ("en-US", "en-GB", "de-DE"):
        assert {t.intent for t in LIBRARY if t.language == language} == set(Intent)
    assert all(t.builtin and t.id == f"builtin:{t.language}:{t.intent}" for t in LIBRARY)


@pytest.mark.parametrize("template", LIBRARY, ids=[t.id for t in LIBRARY])
def test_each_starter_template_keeps_amazon_s_rules(template: Template) -> None:
    text = render(template, FULL)
    assert not _LINK.search(text) and not _EMAIL.search(text) and not _EMOJI.search(text)
    assert set(re.findall(r"\{(\w+)\}", template.body)) <= set(VARIABLES)
    assert "{buyer_first_name}" in text  # greeting filled only at send time
