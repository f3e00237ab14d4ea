"""``muttefik redact``: the PII engine on JSON lines, for scripting and for checking.

Each line on stdin is ``{"text": str, "known": {"names": [..], "addresses": [..],
"phones": [..], "emails": [..]}, "marketplace": "US"|"UK"|"DE"|…}`` (``known`` and
``marketplace`` optional); each gets one line on stdout: ``{"text": redacted, "found":
[{"kind", "start", "end"}]}`` with offsets into the input text (in characters), or
``{"error": "…"}`` when the line is not such an object; the next lines go on.  Blank
lines are skipped.  Like ``parse-email`` it needs no profile and no sign-in, and opens
none.  Error lines never quote the input: it is buyer text.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

from app.pii import KnownPII, redact

MAX_LINE_BYTES = 4 * 1024 * 1024
_KNOWN_FIELDS = ("names", "addresses", "phones", "emails")


class BadLine(ValueError):
    """A line that is not a redaction request; the message never holds its content."""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "redact",
        help="replace names, addresses, phones and emails in JSON lines (no profile needed)",
        description=(
            'Reads JSON lines {"text": ..., "known": {...}, "marketplace": ...} on stdin '
            'and writes one line {"text": ..., "found": [...]} for each.'
        ),
    )
    parser.set_defaults(func=cmd_redact)


def cmd_redact(args: argparse.Namespace) -> int:
    return redact_lines(sys.stdin.buffer, sys.stdout)


def redact_lines(source: IO[bytes], out: IO[str]) -> int:
    for raw in source:
        if not raw.strip():
            continue
        try:
            answer = redact_line(raw)
        except BadLine as exc:
            answer = {"error": str(exc)}
        out.write(json.dumps(answer, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def redact_line(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_LINE_BYTES:
        raise BadLine(f"the line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MB")
    try:
        request = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadLine("the line is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(request, dict):
        raise BadLine("the line must be a JSON object with a 'text'")
    text = request.get("text")
    if not isinstance(text, str):
        raise BadLine("'text' must be a string")
    marketplace = request.get("marketplace")
    if marketplace is not None and not isinstance(marketplace, str):
        raise BadLine('\'marketplace\' must be a string such as "US" or "DE"')
    result = redact(text, _known(request.get("known")), marketplace=marketplace)
    return {
        "text": result.text,
        "found": [{"kind": str(f.kind), "start": f.start, "end": f.end} for f in result.found],
    }


def _known(value: object) -> KnownPII:
    if value is None:
        return KnownPII()
    if not isinstance(value, dict):
        raise BadLine("'known' must be an object with names, addresses, phones, emails")
    unknown = sorted(set(value) - set(_KNOWN_FIELDS))
    if unknown:
        raise BadLine(f"'known' has unknown fields: {', '.join(repr(k)[:40] for k in unknown)}")
    fields: dict[str, tuple[str, ...]] = {}
    for field in _KNOWN_FIELDS:
        items = value.get(field, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise BadLine(f"'known.{field}' must be a list of strings")
        fields[field] = tuple(items)
    return KnownPII(**fields)
