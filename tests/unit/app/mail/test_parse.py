"""app/mail/parse.py: Amazon relay emails → ParsedEmail, on the project's samples, our own
corpus (tests/data/emails) and emails built by tests/helpers/emails.py."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.mail.parse import (
    MAX_BODY_CHARS,
    AttachmentNotFound,
    EmailUnreadable,
    attachment_bytes,
    is_relay_address,
    marketplace_of,
    parse_email,
    parse_email_json,
)
from tests.helpers.emails import (
    CORPUS_RECEIVED,
    EMAILS,
    LANGS,
    email_cases,
    mismatches,
    relay_email,
    seller_reply,
)

SAMPLES = email_cases("samples")
CORPUS = email_cases("corpus")
JSON_KEYS = {
    "order_id",
    "alias",
    "marketplace_domain",
    "buyer_display_name",
    "subject",
    "received_at",
    "body",
    "no_response_needed_url",
    "attachments",
}


def _result(raw: bytes) -> dict[str, Any]:
    parsed = parse_email(raw, received=CORPUS_RECEIVED)
    fields = asdict(parsed)
    fields["references"] = list(parsed.references)
    fields["flags"] = list(parsed.flags)
    return {**fields, **parse_email_json(parsed)}


def test_there_are_samples_and_a_corpus() -> None:
    assert len(SAMPLES) == 4
    assert len(CORPUS) >= 20


@pytest.mark.parametrize(("name", "raw", "expected"), SAMPLES, ids=[c[0] for c in SAMPLES])
def test_the_shared_samples_parse_as_expected(
    name: str, raw: bytes, expected: dict[str, Any]
) -> None:
    result = _result(raw)
    assert mismatches(result, expected) == []
    assert result["flags"] == []


@pytest.mark.parametrize(("name", "raw", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_the_corpus_parses_as_expected(name: str, raw: bytes, expected: dict[str, Any]) -> None:
    assert mismatches(_result(raw), expected) == []


def test_the_json_has_exactly_the_issues_keys() -> None:
    result = parse_email_json(parse_email(SAMPLES[0][1]))
    assert set(result) == JSON_KEYS
    assert result["received_at"] == "2026-11-23T00:09:00+00:00"


def test_mismatches_reports_a_difference() -> None:
    """The corpus check can fail: a wrong value, a missing text, a forbidden one."""
    result = _result(SAMPLES[0][1])
    assert mismatches(result, {"order_id": "000-0000000-0000000"})
    assert mismatches(result, {"buyer_text_contains": "not there"})
    assert mismatches(result, {"body_must_not_contain": ["Hi"]})
    assert mismatches(result, {"flags_contain": ["anything"]})


# --- languages, marketplaces, encodings ---------------------------------------------------


@pytest.mark.parametrize("lang", sorted(LANGS))
@pytest.mark.parametrize("encoding", ["quoted-printable", "base64", "8bit"])
def test_each_language_gives_the_buyers_text_only(lang: str, encoding: str) -> None:
    text = "Line one ü é ñ 日本\n\nLine three, after a blank line."
    raw = relay_email(lang=lang, text=text, encoding=encoding, buyer="Ana María")
    parsed = parse_email(raw)
    assert parsed.body == text
    assert parsed.order_id == "111-3958185-1645065"
    assert parsed.buyer_display_name == "Ana María"
    assert parsed.flags == ()


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_the_buyers_name_comes_from_the_subject_without_a_display_name(lang: str) -> None:
    parsed = parse_email(relay_email(lang=lang, buyer=None, subject=None))
    assert parsed.buyer_display_name is None  # neither From nor subject names one
    named = LANGS[lang].subject.format(buyer="Kim", order="111-3958185-1645065")
    assert parse_email(relay_email(lang=lang, buyer=None, subject=named)).buyer_display_name == (
        "Kim"
    )


@pytest.mark.parametrize(
    ("marketplace", "lang"),
    [
        ("amazon.com", "en"),
        ("amazon.co.uk", "en"),
        ("amazon.ca", "en"),
        ("amazon.de", "de"),
        ("amazon.fr", "fr"),
        ("amazon.es", "es"),
        ("amazon.it", "it"),
        ("amazon.co.jp", "ja"),
        ("amazon.com.br", "en"),
        ("amazon.com.mx", "es"),
    ],
)
def test_the_marketplace_comes_from_the_alias(marketplace: str, lang: str) -> None:
    parsed = parse_email(relay_email(marketplace=marketplace, lang=lang))
    assert parsed.marketplace_domain == marketplace
    assert parsed.alias.endswith("@marketplace." + marketplace)
    assert parsed.is_amazon


def test_html_only_is_converted_to_text() -> None:
    text = "First paragraph with <angle> & ampersand.\n\nSecond\nline."
    parsed = parse_email(relay_email(html_only=True, text=text))
    assert parsed.body == text
    assert parsed.no_response_needed_url is not None


def test_shift_jis_with_windows_characters_reads() -> None:
    text = "①番の商品について"  # circled digit: cp932, not plain Shift_JIS
    parsed = parse_email(
        relay_email(lang="ja", text=text, charset="cp932", declared_charset="shift_jis")
    )
    assert parsed.body == text
    assert parsed.flags == ()


def test_a_charset_that_does_not_fit_is_read_with_replacements_and_flagged() -> None:
    raw = relay_email(text="Grüße", charset="utf-8", declared_charset="us-ascii", encoding="8bit")
    assert parse_email(raw).body == "Grüße"  # ASCII label, UTF-8 bytes: read as UTF-8
    raw = relay_email(text="Grüße", charset="latin-1", declared_charset="utf-8", encoding="8bit")
    parsed = parse_email(raw)
    assert parsed.body == "Gr\ufffd\ufffde"
    assert any("could not be read" in flag for flag in parsed.flags)


# --- threading headers, Sent replies, dates ---------------------------------------------


def test_threading_headers_are_read_without_brackets() -> None:
    raw = relay_email(message_id="m-2@marketplace.amazon.com", in_reply_to="r-1@acme.example")
    parsed = parse_email(raw)
    assert parsed.message_id == "m-2@marketplace.amazon.com"
    assert parsed.in_reply_to == "r-1@acme.example"
    assert parsed.references == ("r-1@acme.example",)
    assert parsed.to_addresses == ("seller@acme-kitchen.example",)
    assert parsed.from_address == "42cfsuosg0wp8i@marketplace.amazon.com"


def test_the_sellers_reply_in_sent_belongs_to_the_alias_it_went_to() -> None:
    parsed = parse_email(seller_reply(alias="Ab12@Marketplace.Amazon.co.uk"))
    assert parsed.is_amazon
    assert parsed.alias == "ab12@marketplace.amazon.co.uk"
    assert parsed.marketplace_domain == "amazon.co.uk"
    assert parsed.from_address == "seller@acme-kitchen.example"
    assert parsed.order_id == "111-3958185-1645065"


def test_mail_not_to_or_from_amazon_is_not_amazon() -> None:
    raw = seller_reply(alias="friend@example.org", subject="Lunch?")
    parsed = parse_email(raw)
    assert not parsed.is_amazon
    assert parsed.alias == ""
    assert parsed.marketplace_domain == ""


def test_the_date_keeps_its_offset() -> None:
    when = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    assert parse_email(relay_email(date=when)).received_at == when


def test_without_any_date_the_mailboxs_time_is_used_and_flagged() -> None:
    raw = relay_email().replace(b"Date: ", b"X-Old-Date: ")
    naive = datetime(2026, 11, 21, 6, 0)
    parsed = parse_email(raw, received=naive)
    assert parsed.received_at == naive.replace(tzinfo=UTC)
    assert any("date is missing" in flag for flag in parsed.flags)
    assert parse_email(raw).received_at.tzinfo is not None  # no time given: still aware


# --- the buyer's text -----------------------------------------------------------------


@pytest.mark.parametrize(
    "history",
    [
        "On Mon, 23 Nov 2026 at 09:00, Acme Kitchen <seller@acme-kitchen.example> wrote:\n> Hi",
        "Am 23.11.2026 um 09:00 schrieb Acme Kitchen <seller@acme-kitchen.example>:\n> Hallo",
        "Le lun. 23 nov. 2026 à 09:00, Acme Kitchen a écrit :\n> Bonjour",
        "El lun, 23 nov 2026 a las 9:00, Acme Kitchen escribió:\n> Hola",
        "Il giorno lun 23 nov 2026 alle 09:00 Acme Kitchen ha scritto:\n> Ciao",
        "2026年11月23日(月) 9:00 Acme Kitchen さんは書きました:\n> こんにちは",
        "-----Original Message-----\nFrom: Acme Kitchen\nSent: Monday",
        "----- Message d'origine -----\nDe : Acme",
        "> only a quoted line",
    ],
)
def test_quoted_history_is_left_out(history: str) -> None:
    parsed = parse_email(relay_email(text=f"My new question.\n\n{history}"))
    assert parsed.body == "My new question."


def test_a_greater_than_sign_inside_a_line_stays() -> None:
    text = "Size 3 > size 2? On the box it says so.\nOn Monday I wrote you already."
    assert parse_email(relay_email(text=text)).body == text


def test_a_dash_line_of_the_buyer_is_not_a_marker() -> None:
    text = "-----\nList:\n----- a -----\nend"
    assert parse_email(relay_email(text=text)).body == text


def test_without_markers_the_footer_is_still_cut() -> None:
    raw = relay_email(text="Just this.")
    raw = raw.replace(b"------------- Begin message -------------", b"")
    raw = raw.replace(b"------------- End message -------------", b"")
    parsed = parse_email(raw)
    assert parsed.body == "Just this."
    assert parsed.no_response_needed_url is not None


def test_a_huge_body_is_cut_and_flagged() -> None:
    parsed = parse_email(relay_email(text="x" * (MAX_BODY_CHARS + 5_000), encoding="base64"))
    assert len(parsed.body) == MAX_BODY_CHARS
    assert any("cut at 100,000" in flag for flag in parsed.flags)


def test_pathological_text_is_read() -> None:
    """Inputs that make careless patterns backtrack: long dash runs, many links, @s."""
    text = "-" * 50_000 + "\n" + "http://" * 20_000 + "\n" + "a@" * 20_000 + "\n" + "1-" * 20_000
    parsed = parse_email(relay_email(text=text, encoding="base64"))
    assert parsed.body.startswith("-" * 100)


# --- attachments ------------------------------------------------------------------------


def test_attachment_bytes_gives_each_attachment_back() -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256))
    photo = b"\xff\xd8\xff" + b"p" * 50
    raw = relay_email(
        attachments=[("a.pdf", "application/pdf", pdf), ("Foto ü.jpg", "image/jpeg", photo)]
    )
    parsed = parse_email(raw)
    assert [(a.filename, a.size, a.part) for a in parsed.attachments] == [
        ("a.pdf", len(pdf), 0),
        ("Foto ü.jpg", len(photo), 1),
    ]
    meta, data = attachment_bytes(raw, 1)
    assert (meta, data) == (parsed.attachments[1], photo)
    assert attachment_bytes(raw, 0)[1] == pdf
    with pytest.raises(AttachmentNotFound):
        attachment_bytes(raw, 2)


def test_an_attached_email_is_one_attachment() -> None:
    inner = relay_email(text="The earlier message")
    raw = (
        b"From: a@marketplace.amazon.com\nSubject: fwd\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="X"\n\n--X\nContent-Type: text/plain\n\n'
        b"See attached.\n--X\nContent-Type: message/rfc822\n\n" + inner + b"\n--X--\n"
    )
    parsed = parse_email(raw)
    assert parsed.body == "See attached."
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("attached-email.eml", "message/rfc822")
    ]
    assert b"The earlier message" in attachment_bytes(raw, 0)[1]


# --- not an email, damaged emails -----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b" \n\r\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"Just a note without any header\nsecond line\n",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"Colour: red\nSize: 12\n",
    ],
)
def test_what_is_not_an_email_is_refused(raw: bytes) -> None:
    with pytest.raises(EmailUnreadable) as caught:
        parse_email(raw)
    assert caught.value.message
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(("name", "raw", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_a_cut_off_email_never_crashes(name: str, raw: bytes, expected: dict[str, Any]) -> None:
    """Every prefix of every corpus email is read or refused as not an email."""
    step = max(1, len(raw) // 40)
    for end in range(0, min(len(raw), 8_000), step):
        try:
            parsed = parse_email(raw[:end], received=CORPUS_RECEIVED)
        except EmailUnreadable:
            continue
        assert parsed.received_at.tzinfo is not None


def test_garbage_headers_are_survived() -> None:
    raw = (
        b"From: =?bogus-charset?q?=FF=FE?= <<<@@>>>\n"
        b"To: ,,,;;;\nSubject: =?utf-8?b?!!!notbase64?=\n"
        b"Date: Mon, 99 Foo 2026 99:99:99 +9999\nMessage-ID: \n"
        b'Content-Type: multipart/mixed; boundary=""\n'
        b"Content-Transfer-Encoding: base64\n\n--\n@@@@\n"
    )
    parsed = parse_email(raw, received=CORPUS_RECEIVED)
    assert parsed.alias == ""
    assert parsed.received_at == CORPUS_RECEIVED
    assert parsed.flags


def test_parsing_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Buyer PII stays out of the log: the parser writes no record at all."""
    caplog.set_level(logging.DEBUG)
    for _name, raw, _expected in CORPUS:
        parse_email(raw, received=CORPUS_RECEIVED)
    assert caplog.records == []


# --- relay addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "marketplace"),
    [
        ("42cfsuosg0wp8i@marketplace.amazon.com", "amazon.com"),
        ("ABC+tag@Marketplace.Amazon.co.uk", "amazon.co.uk"),
        ("x@marketplace.amazon.com.br", "amazon.com.br"),
        ("x@marketplace.amazon.co.jp", "amazon.co.jp"),
        (" x@marketplace.amazon.de ", "amazon.de"),
        ("x@amazon.com", ""),
        ("x@marketplace.amazon.com.evil.example", ""),
        ("x@marketplace-amazon.com", ""),
        ("marketplace.amazon.com", ""),
        ("@marketplace.amazon.com", ""),
        ("x y@marketplace.amazon.com", ""),
        ("", ""),
    ],
)
def test_relay_addresses(address: str, marketplace: str) -> None:
    assert is_relay_address(address) is bool(marketplace)
    assert marketplace_of(address) == marketplace


def test_the_sample_copies_are_the_shared_ones() -> None:
    # The copies of ../shared/samples/emails, checked against the sums recorded when
    # they were copied (identical to the originals then; ../shared is not on CI).
    recorded = {}
    for line in (EMAILS / "samples.sha256").read_text().splitlines():
        digest, name = line.split()
        recorded[name] = digest
    copies = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (EMAILS / "samples").iterdir()
    }
    assert copies == recorded


def test_crlf_line_ends_and_a_mbox_from_line_read_the_same() -> None:
    """IMAP hands over CRLF; mail programs' saved files may start with "From - …"."""
    raw = SAMPLES[0][1]
    plain = parse_email(raw)
    for variant in (raw.replace(b"\n", b"\r\n"), b"From - Mon Nov 23 00:09:00 2026\n" + raw):
        assert parse_email(variant) == plain
