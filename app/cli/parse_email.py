"""``muttefik parse-email FILE.eml``: what Müttefik Desk reads from one relay email.

Prints one JSON object (:func:`app.mail.parse.parse_email_json`).  It needs no profile
and no sign-in, and opens none: it only reads the file.  A file that is not an email
ends with exit code 2 and one line saying why (``app.cli.run`` prints the UserError).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.mail.parse import EmailUnreadable, parse_email, parse_email_json

MAX_FILE_BYTES = 64 * 1024 * 1024  # larger than any relay email (attachments up to 10 MB)


class EmailFileUnreadable(UserError):
    title = "Could not read the file"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "parse-email",
        help="show what is read from a relay email, as JSON (no profile needed)",
    )
    parser.add_argument("file", metavar="FILE.eml", help="the email, as saved by a mail program")
    parser.set_defaults(func=cmd_parse_email)


def cmd_parse_email(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EmailFileUnreadable(f"{path}: {reason}.") from None
    if len(raw) > MAX_FILE_BYTES:
        raise EmailUnreadable(f"{path} is larger than any email Amazon relays.")
    parsed = parse_email(raw)
    text = json.dumps(parse_email_json(parsed), ensure_ascii=False, indent=2) + "\n"
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()
    return 0
