"""Relay emails as Amazon sends them, built in memory for tests (no Qt, no files).

:func:`relay_email` writes a buyer message the way Amazon's relay does (the shapes of
``../shared/samples/emails``): the subject "… from Amazon customer NAME (Order: …)" in
the marketplace's language, the buyer's text between the Begin/End message markers, the
"no response needed" link, the privacy footer and the ``[commMgrTok:…]`` token.
:func:`seller_reply` writes the seller's own reply (as found in the Sent folder).
Both return the raw bytes, ready for a Maildir file, an IMAP APPEND or
:func:`app.mail.parse.parse_email`.
"""

from __future__ import annotations

import base64
import json
import quopri
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, formataddr
from html import escape
from pathlib import Path
from typing import Any

DEFAULT_ALIAS_LOCAL = "42cfsuosg0wp8i"
SELLER = "seller@acme-kitchen.example"


@dataclass(frozen=True)
class Lang:
    """One marketplace language of the relay's fixed texts."""

    subject: str  # {buyer} and {order} filled in
    subject_presale: str  # no order id: a product question before buying
    begin: str
    end: str
    resolve: str
    click: str
    privacy: str


LANGS: dict[str, Lang] = {
    "en": Lang(
        "Inquiry from Amazon customer {buyer} (Order: {order})",
        "Product details inquiry from Amazon customer {buyer}",
        "------------- Begin message -------------",
        "------------- End message -------------",
        "Resolve case: no response needed",
        "To mark this message as no response needed, click here:",
        "Important: To protect your privacy, Amazon keeps your e-mail address confidential "
        "when you contact a seller. Amazon retains all messages sent and received for two "
        "years.",
    ),
    "de": Lang(
        "Anfrage von Amazon-Kunde {buyer} (Bestellung: {order})",
        "Anfrage zu Produktdetails von Amazon-Kunde {buyer}",
        "------------- Beginn der Nachricht -------------",
        "------------- Ende der Nachricht -------------",
        "Fall lösen: Keine Antwort erforderlich",
        "Um diese Nachricht als „Keine Antwort erforderlich“ zu markieren, klicken Sie hier:",
        "Wichtig: Zum Schutz Ihrer Privatsphäre hält Amazon Ihre E-Mail-Adresse vertraulich, "
        "wenn Sie einen Verkäufer kontaktieren. Amazon bewahrt alle gesendeten und "
        "empfangenen Nachrichten zwei Jahre lang auf.",
    ),
    "fr": Lang(
        "Demande de renseignements du client Amazon {buyer} (Commande : {order})",
        "Question sur un produit du client Amazon {buyer}",
        "------------- Début du message -------------",
        "------------- Fin du message -------------",
        "Résoudre le cas : aucune réponse nécessaire",
        "Pour indiquer qu'aucune réponse n'est nécessaire, cliquez ici :",
        "Important : pour protéger votre vie privée, Amazon garde votre adresse e-mail "
        "confidentielle. Amazon conserve tous les messages envoyés et reçus pendant deux ans.",
    ),
    "es": Lang(
        "Consulta del cliente de Amazon {buyer} (Pedido: {order})",
        "Consulta sobre un producto del cliente de Amazon {buyer}",
        "------------- Inicio del mensaje -------------",
        "------------- Fin del mensaje -------------",
        "Resolver caso: no es necesario responder",
        "Para marcar este mensaje como que no requiere respuesta, haz clic aquí:",
        "Importante: para proteger tu privacidad, Amazon mantiene confidencial tu dirección "
        "de correo electrónico. Amazon conserva todos los mensajes durante dos años.",
    ),
    "it": Lang(
        "Richiesta dal cliente Amazon {buyer} (Ordine: {order})",
        "Domanda su un prodotto dal cliente Amazon {buyer}",
        "------------- Inizio messaggio -------------",
        "------------- Fine messaggio -------------",
        "Risolvi il caso: nessuna risposta necessaria",
        "Per contrassegnare questo messaggio come senza risposta necessaria, fai clic qui:",
        "Importante: per proteggere la tua privacy, Amazon mantiene riservato il tuo "
        "indirizzo e-mail. Amazon conserva tutti i messaggi per due anni.",
    ),
    "ja": Lang(
        "Amazonのお客様 {buyer} からのお問い合わせ (注文番号: {order})",
        "Amazonのお客様 {buyer} からの商品に関するお問い合わせ",
        "------------- メッセージ開始 -------------",
        "------------- メッセージ終了 -------------",
        "ケースを解決: 返信不要",
        "このメッセージを返信不要としてマークするには、こちらをクリックしてください:",
        "重要: お客様のプライバシー保護のため、Amazonはメールアドレスを開示しません。"
        "Amazonは送受信したすべてのメッセージを2年間保管します。",
    ),
}

# The Seller Central host that serves each marketplace's "no response needed" link.
_CENTRAL = {"amazon.co.jp": "sellercentral-japan.amazon.com"}


def relay_alias(local: str = DEFAULT_ALIAS_LOCAL, marketplace: str = "amazon.com") -> str:
    return f"{local}@marketplace.{marketplace}"


def no_response_url(marketplace: str = "amazon.com", token: str = "11ZZP7ERGY1S9ZSC2UBM") -> str:
    host = _CENTRAL.get(marketplace, f"sellercentral.{marketplace}")
    return f"https://{host}/gp/communication-manager/no-response-needed.html?msg={token}"


def relay_email(
    *,
    order_id: str | None = "111-3958185-1645065",
    alias: str | None = None,
    text: str = "Hi, my package has not arrived yet. Can you check?",
    marketplace: str = "amazon.com",
    lang: str = "en",
    html_only: bool = False,
    attachments: Sequence[tuple[str, str, bytes]] = (),
    date: datetime | None = None,
    message_id: str | None = None,
    buyer: str | None = "Cherri",
    subject: str | None = None,
    charset: str = "utf-8",
    declared_charset: str | None = None,
    encoding: str = "quoted-printable",
    token: str = "11ZZP7ERGY1S9ZSC2UBM",
    to: str = SELLER,
    in_reply_to: str | None = None,
) -> bytes:
    """One buyer message from Amazon's relay, as raw bytes.

    ``alias``: the buyer's relay address (default: one on ``marketplace``).
    ``attachments``: ``(filename, content_type, data)`` each, sent base64.
    ``date``: the Date header (default: now, UTC). ``message_id`` without ``<>``
    (default: a new unique one). ``buyer=None``: the display name and subject carry no
    name. ``subject`` replaces the localized one. The text part is encoded in
    ``charset`` with ``encoding`` ("quoted-printable", "base64" or "8bit") and labelled
    ``declared_charset`` (default ``charset``; a different label makes a broken email).
    """
    words = LANGS[lang]
    alias = alias or relay_alias(marketplace=marketplace)
    date = date or datetime.now(UTC)
    message_id = message_id or f"{uuid.uuid4().hex}@marketplace.{marketplace}"
    if subject is None:
        name = buyer or ""
        template = words.subject if order_id else words.subject_presale
        subject = " ".join(template.format(buyer=name, order=order_id).split())
    display = f"{buyer} - Amazon Marketplace" if buyer else "Amazon Marketplace"
    url = no_response_url(marketplace, token)
    headers = [
        ("From", _address(display, alias)),
        ("To", to),
        ("Subject", _header(subject)),
        ("Date", format_datetime(date)),
        ("Message-ID", f"<{message_id}>"),
    ]
    if in_reply_to:
        headers += [("In-Reply-To", f"<{in_reply_to}>"), ("References", f"<{in_reply_to}>")]
    headers.append(("MIME-Version", "1.0"))
    if html_only:
        body = _html_body(words, text, url, token)
        kind = "text/html"
    else:
        body = _plain_body(words, text, url, token)
        kind = "text/plain"
    label = declared_charset or charset
    text_part = _part(kind, label, body.encode(charset), encoding)
    if not attachments:
        return _join(headers) + text_part
    boundary = f"=============={uuid.uuid4().hex}=="
    headers.append(("Content-Type", f'multipart/mixed; boundary="{boundary}"'))
    parts = [text_part]
    for filename, content_type, data in attachments:
        parts.append(_attachment(filename, content_type, data))
    return _join(headers) + b"\n" + _multipart(boundary, parts)


def seller_reply(
    *,
    alias: str = relay_alias(),
    text: str = "Thank you for your message. Your parcel is on its way.",
    subject: str = "Re: Inquiry from Amazon customer Cherri (Order: 111-3958185-1645065)",
    in_reply_to: str | None = None,
    from_address: str = SELLER,
    date: datetime | None = None,
    message_id: str | None = None,
) -> bytes:
    """The seller's reply to a buyer, as Müttefik Desk or a mail program sends it."""
    date = date or datetime.now(UTC)
    message_id = message_id or f"{uuid.uuid4().hex}@acme-kitchen.example"
    headers = [
        ("From", from_address),
        ("To", alias),
        ("Subject", _header(subject)),
        ("Date", format_datetime(date)),
        ("Message-ID", f"<{message_id}>"),
    ]
    if in_reply_to:
        headers += [("In-Reply-To", f"<{in_reply_to}>"), ("References", f"<{in_reply_to}>")]
    headers.append(("MIME-Version", "1.0"))
    return _join(headers) + _part("text/plain", "utf-8", text.encode(), "quoted-printable")


# --- building blocks ------------------------------------------------------------------


def _plain_body(words: Lang, text: str, url: str, token: str) -> str:
    return (
        f"{words.begin}\n\n{text}\n\n{words.end}\n\n\n"
        f"{words.resolve}\n{words.click}\n{url}\n\n{words.privacy}\n"
        f"[commMgrTok:A{token[:12]}]\n"
    )


def _html_body(words: Lang, text: str, url: str, token: str) -> str:
    paragraphs = "".join(
        "<p>" + escape(block).replace("\n", "<br>") + "</p>" for block in text.split("\n\n")
    )
    link = escape(url)
    return (
        "<html><head><style>p { margin: 0 }</style></head><body>"
        f"<p>{escape(words.begin)}</p><p></p>{paragraphs}<p></p><p>{escape(words.end)}</p>"
        f"<p></p><p>{escape(words.resolve)}</p><p>{escape(words.click)}</p>"
        f'<p><a href="{link}">{link}</a></p><p>{escape(words.privacy)}</p>'
        f"<p>[commMgrTok:A{token[:12]}]</p></body></html>\n"
    )


def _header(value: str) -> str:
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


def _address(display: str, address: str) -> str:
    return formataddr((display, address), charset="utf-8")


def _join(headers: list[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\n" for name, value in headers).encode("ascii")


def _encode(data: bytes, encoding: str) -> bytes:
    if encoding == "quoted-printable":
        return quopri.encodestring(data)
    if encoding == "base64":
        return base64.encodebytes(data)
    if encoding == "8bit":
        return data
    raise ValueError(f"unknown transfer encoding {encoding!r}")


def _part(kind: str, charset: str, data: bytes, encoding: str) -> bytes:
    head = (
        f'Content-Type: {kind}; charset="{charset}"\nContent-Transfer-Encoding: {encoding}\n\n'
    ).encode("ascii")
    return head + _encode(data, encoding)


def _attachment(filename: str, content_type: str, data: bytes) -> bytes:
    if filename.isascii():
        name = f'filename="{filename}"'
    else:  # RFC 2231, as mail programs send non-ASCII names
        from urllib.parse import quote

        name = f"filename*=utf-8''{quote(filename)}"
    head = (
        f"Content-Type: {content_type}\nContent-Transfer-Encoding: base64\n"
        f"Content-Disposition: attachment; {name}\n\n"
    ).encode("ascii")
    return head + base64.encodebytes(data)


def _multipart(boundary: str, parts: list[bytes]) -> bytes:
    out = b""
    for part in parts:
        out += f"--{boundary}\n".encode() + part
        if not part.endswith(b"\n"):
            out += b"\n"
    return out + f"--{boundary}--\n".encode()


# --- the email corpus (tests/data/emails) --------------------------------------------

EMAILS = Path(__file__).resolve().parent.parent / "data" / "emails"
# Used when a corpus email has no date of its own (the mailbox's arrival time).
CORPUS_RECEIVED = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


def email_cases(folder: str) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(name, raw email, expected values) for each ``*.eml`` in tests/data/emails/FOLDER
    ("samples": the project's shared examples; "corpus": our own)."""
    cases = []
    for path in sorted((EMAILS / folder).glob("*.eml")):
        expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
        cases.append((path.stem, path.read_bytes(), expected))
    return cases


def mismatches(result: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """How ``result`` (``parse_email_json`` keys, plus any ParsedEmail field) differs
    from an ``.expected.json``: exact keys compare equal; ``buyer_text_contains``,
    ``body_must_not_contain``, ``body_length`` and ``flags_contain`` check parts."""
    problems = []
    for key, want in expected.items():
        if key == "buyer_text_contains":
            if want not in result["body"]:
                problems.append(f"body lacks {want!r}")
        elif key == "body_must_not_contain":
            problems += [f"body has {bad!r}" for bad in want if bad in result["body"]]
        elif key == "body_length":
            if len(result["body"]) != want:
                problems.append(f"body is {len(result['body'])} characters, not {want}")
        elif key == "flags_contain":
            flags = " | ".join(result["flags"])
            problems += [
                f"no flag with {word!r} in {flags!r}" for word in want if word not in flags
            ]
        elif result.get(key, "<missing>") != want:
            problems.append(f"{key}: {result.get(key, '<missing>')!r} != {want!r}")
    return problems
