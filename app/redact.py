"""Keeps secrets and buyer PII out of log lines.

``register_secret`` records every secret value the app handles (keys, tokens,
passwords) so the log filter can replace it.  Buyer emails and phone
numbers are found by the PII engine's detectors (``app.pii.detect``), the same ones
drafting uses; names are not looked for in log lines.
"""

from __future__ import annotations

import logging
import re
import threading

from app.pii.detect import find_emails, find_phones, mask, protected_spans

_lock = threading.Lock()
_secrets: set[str] = set()

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
    # Unknown PII by the engine's detectors: emails and phones (names are left to the
    # drafting redaction: too costly and too noisy for every log line).  Order ids,
    # dates, times and IP addresses are protected from the phone pattern there.
    emails = find_emails(text)
    masked = mask(text, [*protected_spans(text), *emails])
    spans = [(s, e, "[email]") for s, e in emails]
    spans += [(s, e, "[phone]") for s, e in find_phones(text, None, masked)]
    out = []
    pos = 0
    for start, end, placeholder in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(placeholder)
        pos = end
    out.append(text[pos:])
    return "".join(out)


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
