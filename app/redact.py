"""Keeps secrets and buyer PII out of log lines.

``register_secret`` records every secret value the app handles (keys, tokens,
passwords) so the log filter can replace it.  Pattern-based PII detection (emails,
phone numbers) is a first line here; the full PII engine lives in app/pii later and
plugs into :func:`redact_text`.
"""

from __future__ import annotations

import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or NANP-looking phone numbers: 7+ digits with separators.
PHONE_RE = re.compile(r"(?<![\w-])\+?\d[\d ()./-]{7,}\d(?![\w-])")
ORDER_ID_RE = re.compile(r"\b\d{3}-\d{7}-\d{7}\b")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# Not PII, and the phone pattern would eat them: order ids, ISO dates and times, and
# dotted IPv4 addresses with an optional port (exactly four octets of 0-255 without
# leading zeros, so dotted phone numbers such as 06.12.34.56.78 are not mistaken, and
# not next to other digit groups, so "+49 30 123.45.67.89" stays one phone number).
_KEEP_RE = re.compile(
    r"\b\d{3}-\d{7}-\d{7}\b"
    r"|\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
    rf"|(?<![\d.+])(?<!\d[ ()/-]){_OCTET}(?:\.{_OCTET}){{3}}(?::\d{{1,5}})?(?!\.?\d)(?![ ()/-]\d)"
)
# Hex strings of 32+ chars (raw keys) and bearer-like tokens.
KEYLIKE_RE = re.compile(r"\b(?:[0-9a-fA-F]{32,}|Atz[ar]\|[\w|=-]+)\b")


def register_secret(value: str) -> None:
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact_text(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, "[secret]")
    text = KEYLIKE_RE.sub("[secret]", text)
    text = EMAIL_RE.sub("[email]", text)
    # Order ids, dates and times are not PII; protect them from the phone pattern.
    parts = _KEEP_RE.split(text)
    ids = _KEEP_RE.findall(text)
    out = [PHONE_RE.sub("[phone]", p) for p in parts]
    text = "".join(a + b for a, b in zip(out, [*ids, ""], strict=True))
    return text


class RedactingFilter(logging.Filter):
    """Formats the record once, redacts it, and freezes the result into ``msg``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        record.exc_info = None if record.exc_text else record.exc_info
        return True
