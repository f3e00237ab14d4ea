"""Reading Amazon relay emails: :func:`parse_email` turns raw bytes into a
:class:`~app.mail.models.ParsedEmail`.

A message that is damaged (broken MIME, unknown charset, missing headers, a huge body)
is never refused: it comes back with what could be read and plain-words ``flags`` so the
import keeps it for review.  Only bytes that are not an email at all raise
:class:`EmailUnreadable`.  Everything is linear in the size of the message (thousands
are read per fetch): no regular expression here can backtrack over a whole body.

Nothing here logs: the results are buyer PII (``app/mail/models.py``).
"""

from __future__ import annotations

import codecs
import email
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from app.errors import UserError
from app.mail.html_text import html_to_text
from app.mail.models import AttachmentMeta, ParsedEmail

__all__ = [
    "MAX_BODY_CHARS",
    "AttachmentNotFound",
    "EmailUnreadable",
    "attachment_bytes",
    "is_relay_address",
    "marketplace_of",
    "parse_email",
    "parse_email_json",
]

MAX_BODY_CHARS = 100_000  # the buyer's text kept; longer is cut and flagged
_SOURCE_CAP = 1_000_000  # characters of a text or HTML part looked at, at most
_HEADER_CAP = 2_000  # characters of a header value looked at by the patterns


class EmailUnreadable(UserError):
    title = "Not an email"
    message = "The file has no email headers (From, Subject, Date …)."


class AttachmentNotFound(UserError):
    title = "Attachment not found"
    message = (
        "This attachment is no longer in the email as the mailbox has it now. Open the "
        "message in your mail program to see its attachments."
    )


# --- addresses --------------------------------------------------------------------------

_RELAY = re.compile(r"[^@\s]+@marketplace\.(amazon\.[a-z]{2,3}(?:\.[a-z]{2})?)", re.IGNORECASE)
_ORDER_ID = re.compile(r"(?<![\d-])\d{3}-\d{7}-\d{7}(?![\d-])")


def is_relay_address(addr: str) -> bool:
    """True for an Amazon buyer-seller relay alias (``…@marketplace.amazon.<tld>``)."""
    return _RELAY.fullmatch(addr.strip()) is not None


def marketplace_of(addr: str) -> str:
    """The marketplace domain of a relay alias ("amazon.co.uk"), '' for other addresses."""
    match = _RELAY.fullmatch(addr.strip())
    return match.group(1).lower() if match else ""


# --- flags (plain words, never buyer text) ------------------------------------------------

NO_SENDER = "The email has no readable sender address."
NO_DATE = "The email's date is missing or unreadable; the time it arrived is used instead."
DAMAGED = "The email's structure is damaged; part of it may be missing."
BAD_CHARACTERS = "Some characters in the email could not be read and are shown as �."
NO_TEXT = "The email has no readable text part."
BODY_CUT = f"The message text was cut at {MAX_BODY_CHARS:,} characters."


def _unknown_charset(label: str) -> str:
    shown = "".join(c for c in label[:40] if c.isprintable())
    return (
        f'The email names a character set Müttefik Desk does not know ("{shown}"); some '
        "letters may show wrongly."
    )


# --- entry points -------------------------------------------------------------------------


def parse_email(raw: bytes, *, received: datetime | None = None) -> ParsedEmail:
    """Read one raw email.  ``received``: when the mailbox got it (used without a Date).

    Raises :class:`EmailUnreadable` only for bytes that are not an email at all.
    """
    msg = _message(raw)
    flags: list[str] = []
    if _has_defects(msg):
        flags.append(DAMAGED)

    subject = _header(msg, "Subject")
    from_name, from_address = _first_address(msg, "From")
    to_pairs = _addresses(msg, "To")
    if not from_address:
        flags.append(NO_SENDER)

    alias, name = "", None
    if is_relay_address(from_address):
        alias, name = from_address, from_name
    else:  # the seller's own reply, found in Sent: the buyer is the recipient
        for to_name, to_address in to_pairs:
            if is_relay_address(to_address):
                alias, name = to_address, to_name
                break

    text, html_source, attachments = _contents(msg, flags)
    full = text if text is not None else html_to_text(html_source or "")
    if text is None and html_source is None:
        flags.append(NO_TEXT)

    url = _no_response_url(full) or (_no_response_url(html_source) if html_source else None)
    body = _buyer_text(full)
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS]
        flags.append(BODY_CUT)

    order = _ORDER_ID.search(subject[:_HEADER_CAP]) or _ORDER_ID.search(full)
    received_at = _date(msg)
    if received_at is None:
        flags.append(NO_DATE)
        received_at = _aware(received) if received else datetime.now(UTC)

    marketplace = marketplace_of(alias) or _marketplace_from_url(url)
    return ParsedEmail(
        order_id=order.group(0) if order else None,
        alias=alias,
        marketplace_domain=marketplace,
        buyer_display_name=_display_name(name) or _subject_name(subject),
        subject=subject,
        received_at=received_at,
        body=body,
        no_response_needed_url=url,
        attachments=tuple(attachments),
        message_id=next(iter(_message_ids(msg, "Message-ID")), None),
        in_reply_to=next(iter(_message_ids(msg, "In-Reply-To")), None),
        references=tuple(_message_ids(msg, "References")),
        from_address=from_address,
        to_addresses=tuple(address for _, address in to_pairs if address),
        is_amazon=bool(alias),
        flags=tuple(dict.fromkeys(flags)),
    )


def parse_email_json(parsed: ParsedEmail) -> dict[str, Any]:
    """The ``muttefik parse-email`` object: exactly the keys issue 11 names."""
    return {
        "order_id": parsed.order_id,
        "alias": parsed.alias,
        "marketplace_domain": parsed.marketplace_domain,
        "buyer_display_name": parsed.buyer_display_name,
        "subject": parsed.subject,
        "received_at": parsed.received_at.isoformat(),
        "body": parsed.body,
        "no_response_needed_url": parsed.no_response_needed_url,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in parsed.attachments
        ],
    }


def attachment_bytes(raw: bytes, part: int) -> tuple[AttachmentMeta, bytes]:
    """The metadata and decoded content of attachment number ``part`` (0-based, as in
    :attr:`AttachmentMeta.part`).  Raises :class:`AttachmentNotFound` when there is none."""
    msg = _message(raw)
    for index, leaf in enumerate(_attachment_parts(msg)):
        if index == part:
            data = _payload(leaf)
            return _attachment_meta(leaf, index, data), data
    raise AttachmentNotFound


# --- the message and its headers -------------------------------------------------------

_KNOWN_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "received",
    "mime-version",
    "content-type",
    "return-path",
    "delivered-to",
    "reply-to",
)
_WHITESPACE = re.compile(r"\s+")


def _message(raw: bytes) -> Message:
    data = bytes(raw)
    if not data.strip():
        raise EmailUnreadable("The file is empty.")
    if b"\x00" in data[:8192]:
        raise EmailUnreadable("The file holds binary data, not an email.")
    # compat32: the most forgiving parser of the standard library (no header objects
    # that can raise on odd values); headers are decoded below.
    msg = email.message_from_bytes(data, policy=policy.compat32)
    if not any(key.lower() in _KNOWN_HEADERS for key in msg):
        raise EmailUnreadable
    return msg


def _has_defects(msg: Message) -> bool:
    return any(part.defects for part in _all_parts(msg))


def _all_parts(msg: Message) -> Iterator[Message]:
    yield msg
    payload = msg.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from _all_parts(sub)


def _decode_words(value: Any) -> str:
    """A header's text: RFC 2047 words decoded, raw 8-bit bytes read as UTF-8 or
    Windows-1252, unfolded."""
    try:
        chunks = decode_header(value if isinstance(value, Header) else str(value))
        out = []
        for data, charset in chunks:
            if isinstance(data, str):
                out.append(data)
            else:
                out.append(_decode(data, charset, None))
        text = "".join(out)
    except Exception:  # a header too broken to decode: its raw text
        text = str(value)
    return _WHITESPACE.sub(" ", text).strip()


def _header(msg: Message, name: str) -> str:
    value = msg.get(name)
    return "" if value is None else _decode_words(value)


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    # Raw 8-bit values (a Header here) are decoded first; encoded words after parsing,
    # so a decoded comma or quote cannot split an address.
    values = [_decode_words(v) if isinstance(v, Header) else str(v) for v in msg.get_all(name, [])]
    try:
        pairs = getaddresses(values)
    except Exception:
        return []
    out = []
    for display, address in pairs:
        address = address.strip().lower()
        if "@" not in address:
            address = ""
        out.append((_decode_words(display) if display else "", address))
    return out


def _first_address(msg: Message, name: str) -> tuple[str, str]:
    for pair in _addresses(msg, name):
        if pair[1]:
            return pair
    return "", ""


def _message_ids(msg: Message, name: str) -> list[str]:
    value = msg.get(name)
    if value is None:
        return []
    text = str(value)[: _HEADER_CAP * 4]
    ids = re.findall(r"<([^<>\s]+)>", text)
    if not ids:
        ids = [token.strip("<>") for token in text.split() if token.strip("<>")][:1]
    return ids


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _parse_date(text: str) -> datetime | None:
    try:
        return _aware(parsedate_to_datetime(text.strip()))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _date(msg: Message) -> datetime | None:
    value = msg.get("Date")
    when = _parse_date(str(value)) if value is not None else None
    if when is None:
        received = msg.get_all("Received", [])
        if received and ";" in str(received[0]):
            when = _parse_date(str(received[0]).rsplit(";", 1)[1])
    return when


# --- names ------------------------------------------------------------------------------

_NAME_SUFFIX = re.compile(r"\s+[-–]\s+amazon\b.*$", re.IGNORECASE)
_SUBJECT_NAME = re.compile(
    r"(?:from amazon customer|von amazon[- ]kunde|du client amazon|de la part du client amazon"
    r"|del cliente de amazon|dal cliente amazon|amazonのお客様)\s*([^()（）]+?)"
    r"\s*(?:\(|（|からの|から|様|$)",
    re.IGNORECASE,
)


def _display_name(name: str | None) -> str | None:
    if not name:
        return None
    shown = _NAME_SUFFIX.sub("", name[:_HEADER_CAP]).strip().strip('"').strip()
    if not shown or shown.lower().startswith("amazon"):
        return None
    return shown


def _subject_name(subject: str) -> str | None:
    match = _SUBJECT_NAME.search(subject[:_HEADER_CAP])
    name = match.group(1).strip() if match else ""
    return None if not name or name.startswith(("から", "様")) else name


# --- parts, charsets and attachments ---------------------------------------------------

_CHARSET_ALIASES = {
    "shift_jis": "cp932",  # Japanese mail uses Windows' superset under this label
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
    "unknown-8bit": "",
    "x-unknown": "",
    "us-ascii": "",
    "ascii": "",
}


def _decode(data: bytes, charset: str | None, flags: list[str] | None) -> str:
    """``data`` as text in its declared ``charset``; unknown or wrong ones are flagged
    and read with replacement characters (never raises)."""
    label = (charset or "").strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(label, label)
    if name:
        try:
            info = codecs.lookup(name)
            if not getattr(info, "_is_text_encoding", True):
                raise LookupError(name)
        except LookupError:
            if flags is not None:
                flags.append(_unknown_charset(label))
            name = ""
    if not name:  # none declared (or unknown): UTF-8 when it is, else Windows-1252
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    try:
        return data.decode(name)
    except UnicodeDecodeError:
        if flags is not None:
            flags.append(BAD_CHARACTERS)
        return data.decode(name, "replace")


def _payload(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822" or part.is_multipart():
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            try:
                return inner[0].as_bytes()
            except Exception:
                return b""
        return b""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data if isinstance(data, bytes) else b""


def _is_attachment(part: Message) -> bool:
    if part.get_content_type() == "message/rfc822":
        return True
    if part.get_content_maintype() == "multipart":  # its boundary was never found: text
        return False
    if part.get_content_disposition() == "attachment" or part.get_content_maintype() != "text":
        return True
    return part.get_filename() is not None and part.get_content_subtype() not in (
        "plain",
        "html",
    )


def _leaves(msg: Message, *, top: bool = True) -> Iterator[Message]:
    """Every leaf part in order; an attached email is one leaf (not opened)."""
    if not top and msg.get_content_type() == "message/rfc822":
        yield msg
        return
    payload = msg.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                yield from _leaves(sub, top=False)
    else:
        yield msg


def _attachment_parts(msg: Message) -> Iterator[Message]:
    """The attachments in order: their index is :attr:`AttachmentMeta.part`."""
    return (leaf for leaf in _leaves(msg) if _is_attachment(leaf))


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def _attachment_meta(part: Message, index: int, data: bytes) -> AttachmentMeta:
    raw_name: Any = None
    try:
        raw_name = part.get_filename() or part.get_param("name")
    except Exception:
        raw_name = None
    name = _decode_words(raw_name) if raw_name else ""
    if isinstance(raw_name, tuple):  # an RFC 2231 value get_filename did not collapse
        name = _decode_words(email.utils.collapse_rfc2231_value(raw_name))
    # A name is only a label: never a path (it may be saved by the seller later).
    name = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    if not name:
        name = (
            "attached-email.eml"
            if part.get_content_type() == "message/rfc822"
            else (f"attachment-{index + 1}")
        )
    return AttachmentMeta(
        filename=name[:255], content_type=part.get_content_type(), size=len(data), part=index
    )


def _contents(
    msg: Message, flags: list[str]
) -> tuple[str | None, str | None, list[AttachmentMeta]]:
    """The first text/plain body, the first HTML body (source) and the attachments."""
    text: str | None = None
    html_source: str | None = None
    attachments: list[AttachmentMeta] = []
    for leaf in _leaves(msg):
        if _is_attachment(leaf):
            attachments.append(_attachment_meta(leaf, len(attachments), _payload(leaf)))
            continue
        kind = leaf.get_content_type()
        if kind != "text/html" and kind != "text/plain":
            kind = "text/plain"  # text/enriched, text/x-…: shown as it is
        if (text if kind == "text/plain" else html_source) is not None:
            continue
        decoded = _decode(_payload(leaf), leaf.get_content_charset(), flags)[:_SOURCE_CAP]
        if not decoded.strip():
            continue
        if kind == "text/plain":
            text = decoded
        else:
            html_source = decoded
    return text, html_source, attachments


# --- the buyer's text -----------------------------------------------------------------

# Amazon's markers: a short text between long runs of dashes, e.g.
# "------------- Begin message -------------" (localized).  Mail programs' own
# "-----Original Message-----" has five dashes: not a marker.
_MARKER = re.compile(r"-{8,}\s*([^-\s][^-]{0,78}?)\s*-{8,}")
_END_WORDS = ("end", "ende", "fin", "fine", "fim", "einde", "koniec", "終了", "終わり")
_ORIGINAL = re.compile(
    r"-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale|mensagem original|oorspronkelijk bericht|"
    r"元のメッセージ)\s*-{2,}",
    re.IGNORECASE,
)
_WROTE_VERBS = (
    "wrote",
    "schrieb",
    "a écrit",
    "escribió",
    "ha scritto",
    "schreef",
    "escreveu",
    "napisał",
    "yazdı",
)
_WROTE_LEAD = ("on ", "am ", "le ", "el ", "il ", "op ", "em ", "at ")
_FOOTER_STARTS = (
    "resolve case:",
    "to mark this message as no response needed",
    "important: to protect your privacy",
    "[commmgrtok:",
    "fall lösen:",
    "wichtig: zum schutz ihrer privatsphäre",
    "résoudre le cas",
    "important : pour protéger votre vie privée",
    "resolver caso",
    "importante: para proteger tu privacidad",
    "risolvi il caso",
    "importante: per proteggere la tua privacy",
    "ケースを解決",
    "重要: お客様のプライバシー",
)
_NRN = "no-response-needed"
_URL_STOP = frozenset(" \t\r\n<>\"'()[]{}")


def _no_response_url(text: str | None) -> str | None:
    """Amazon's "no response needed" link (found by a plain search: linear)."""
    if not text:
        return None
    at = text.find(_NRN)
    if at < 0:
        return None
    start = at
    while start > 0 and text[start - 1] not in _URL_STOP and at - start < 2000:
        start -= 1
    end = at
    while end < len(text) and text[end] not in _URL_STOP and end - at < 2000:
        end += 1
    url = html.unescape(text[start:end]).rstrip(".,;:!?")
    scheme = url.find("http")
    if scheme < 0:
        return None
    url = url[scheme:]
    return url if url.startswith(("https://", "http://")) else None


def _marketplace_from_url(url: str | None) -> str:
    if not url:
        return ""
    match = re.match(r"https?://sellercentral\.(amazon\.[a-z]{2,3}(?:\.[a-z]{2})?)/", url)
    return match.group(1) if match else ""


def _marker(line: str) -> str | None:
    stripped = line.strip()
    if len(stripped) > 200 or not stripped.startswith("--------"):
        return None
    match = _MARKER.fullmatch(stripped)
    return match.group(1).lower() if match else None


def _buyer_text(full: str) -> str:
    """The buyer's words: between Amazon's markers when present, without the footer,
    the no-response link, the token and quoted earlier messages."""
    lines = full.splitlines()
    begin = end = None
    for index, line in enumerate(lines):
        word = _marker(line)
        if word is None:
            continue
        if begin is None:
            if any(word.split()[0] == w or word.split()[-1] == w for w in _END_WORDS):
                end = index  # an end marker alone: the text is above it
                break
            begin = index
        else:
            end = index
            break
    if begin is not None or end is not None:
        lines = lines[(begin + 1 if begin is not None else 0) : end]
    lines = _cut_footer(lines)
    lines = _cut_quotes(lines)
    return _tidy(lines)


def _cut_footer(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        lowered = line.strip().lower()
        if _NRN in lowered:  # the link's whole paragraph ("To mark … click here:")
            while index > 0 and lines[index - 1].strip():
                index -= 1
            return lines[:index]
        if lowered.startswith(_FOOTER_STARTS):
            return lines[:index]
    return lines


def _cut_quotes(lines: list[str]) -> list[str]:
    """Without "> " lines, and up to an earlier message's "On … wrote:" (localized,
    maybe wrapped onto two lines) or "-----Original Message-----"."""
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if _ORIGINAL.fullmatch(stripped) or stripped == "_" * 32:
            break
        if stripped.endswith((":", "：")):
            if _wrote_line(stripped):
                break
            if out and _wrote_line(out[-1].strip() + " " + stripped):
                out.pop()
                break
        out.append(line)
    return out


def _wrote_line(text: str) -> bool:
    """An earlier message's header line: "On … wrote:", "Am … schrieb …:", "…書きました:"."""
    lowered = text.lower()
    if len(lowered) > 400 or not lowered.endswith((":", "：")):
        return False
    if "書きました" in lowered or "のメッセージ" in lowered:
        return True
    return lowered.startswith(_WROTE_LEAD) and any(verb in lowered for verb in _WROTE_VERBS)


def _tidy(lines: list[str]) -> str:
    cleaned: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line and (not cleaned or not cleaned[-1]):
            continue  # no leading blank lines, no runs of them
        cleaned.append(line)
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    return "\n".join(cleaned)
