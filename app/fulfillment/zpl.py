"""The human-readable text of a ZPL label, for the preview (no network renderer).

A ZPL label is a list of fields, each ``^FD…^FS`` after positioning and font commands;
``^FH`` lets a field's data carry ``_hh`` hex escapes, a barcode command (``^BC``,
``^BQ``…) turns the field into a barcode, ``^FB`` into a text block whose lines are
split by ``\\&``, and ``^FX`` is a comment.  :func:`zpl_text` returns the fields' text
in label order.  The result is buyer PII like the label: it stays in memory.
"""

from __future__ import annotations

import re

__all__ = ["looks_like_zpl", "zpl_text"]

# A command: ^ or ~ and two characters (ZPL commands are letter + letter/digit).
_COMMAND = re.compile(r"[\^~]([A-Za-z@][A-Za-z0-9@])")
# ^BQ's field data starts with the error correction level and input mode ("QA,").
_QR_PREFIX = re.compile(r"[HQML][AM],")


def looks_like_zpl(data: bytes) -> bool:
    """True for a ZPL label (``^XA`` … ``^XZ``), False for PDF, PNG and the rest."""
    head = data[:16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"%PDF", b"\x89PNG")):
        return False
    upper = data.upper()
    start = upper.find(b"^XA")
    return start >= 0 and upper.find(b"^XZ", start) > start


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")  # ^CI28 labels (and plain ASCII)
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")  # ZPL's default code page, near enough


def _unescape(data: str, indicator: str | None) -> str:
    raw = data.encode("latin-1")
    if indicator is not None:
        pattern = re.compile(re.escape(indicator.encode("latin-1")) + rb"([0-9A-Fa-f]{2})")
        raw = pattern.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return _decode(raw)


def zpl_text(data: bytes) -> list[str]:
    """Each text and barcode field of the label, in order; barcodes as
    ``"[barcode] <data>"``.  Comments, graphics and empty fields are left out."""
    # Latin-1 maps every byte to one character, so escapes can be undone byte-exactly.
    text = data.decode("latin-1").replace("\r", "").replace("\n", "")
    commands = list(_COMMAND.finditer(text))
    fields: list[str] = []
    barcode = block = False
    barcode_kind = ""
    hex_indicator: str | None = None
    for i, match in enumerate(commands):
        name = match.group(1).upper()
        end = commands[i + 1].start() if i + 1 < len(commands) else len(text)
        args = text[match.end() : end]
        if match.group(0)[0] == "~":
            continue
        if name in ("FD", "FV"):
            value = _unescape(args, hex_indicator)
            if barcode:
                if barcode_kind == "BQ":
                    value = _QR_PREFIX.sub("", value, count=1)
                if value.strip():
                    fields.append(f"[barcode] {value.strip()}")
            else:
                lines = value.split("\\&") if block else [value]
                fields += [line.strip() for line in lines if line.strip()]
        elif name == "FS":
            barcode = block = False
            hex_indicator = None
        elif name == "FH":
            hex_indicator = args[:1] or "_"
        elif name == "FB":
            block = True
        elif name.startswith("B") and name not in ("BY",):
            barcode, barcode_kind = True, name
        elif name == "XZ":
            barcode = block = False
            hex_indicator = None
    return fields
