"""``muttefik redact`` (app/cli/redact.py): JSON lines in, one JSON line out for each,
offsets into the input; a bad line gets an ``{"error"}`` line and the rest go on; no
profile is opened or created.

One test runs the real command in a subprocess with its own home folders; the others
call the line loop in-process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import build_parser
from app.cli.redact import MAX_LINE_BYTES, redact_lines

ROOT = Path(__file__).resolve().parents[4]


def _run(*lines: bytes) -> list[dict[str, Any]]:
    out = io.StringIO()
    assert redact_lines(io.BytesIO(b"".join(lines)), out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _line(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


def test_one_answer_per_line_with_offsets_into_the_input() -> None:
    text = "Hi, I'm Jane Doe. Call (206) 555-0100 or jane@example.com about 302-1234567-7654321"
    [answer] = _run(_line({"text": text, "marketplace": "US"}))
    assert set(answer) == {"text", "found"}
    assert answer["text"] == "Hi, I'm [NAME]. Call [PHONE] or [EMAIL] about 302-1234567-7654321"
    assert [(f["kind"], text[f["start"] : f["end"]]) for f in answer["found"]] == [
        ("name", "Jane Doe"),
        ("phone", "(206) 555-0100"),
        ("email", "jane@example.com"),
    ]


def test_known_pii_is_used_and_offsets_count_characters_not_bytes() -> None:
    text = "Grüße aus Köln, Jürgen"
    known = {"names": ["Jürgen Weiß"], "addresses": [], "phones": [], "emails": []}
    [answer] = _run(_line({"text": text, "known": known}))
    assert answer["text"] == "Grüße aus Köln, [NAME]"
    [found] = answer["found"]
    assert text[found["start"] : found["end"]] == "Jürgen"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json\n", "not JSON"),
        (b"[1, 2]\n", "JSON object"),
        (b'{"txt": "x"}\n', "'text'"),
        (b'{"text": 5}\n', "'text'"),
        (b'{"text": "x", "marketplace": 3}\n', "'marketplace'"),
        (b'{"text": "x", "known": []}\n', "'known'"),
        (b'{"text": "x", "known": {"names": "Jane"}}\n', "known.names"),
        (b'{"text": "x", "known": {"phone": ["1"]}}\n', "unknown fields"),
        (b'{"text": "\xff"}\n', "UTF-8"),
    ],
)
def test_a_bad_line_gets_an_error_and_the_next_line_goes_on(line: bytes, reason: str) -> None:
    answers = _run(line, _line({"text": "mail a@b.de"}))
    assert len(answers) == 2
    assert set(answers[0]) == {"error"} and reason in answers[0]["error"]
    assert answers[1]["text"] == "mail [EMAIL]"


def test_error_lines_never_quote_the_buyer_text() -> None:
    [answer] = _run(b'{"text": "Jane Doe 206 555 0100", \n')
    assert "Jane" not in answer["error"] and "555" not in answer["error"]


def test_blank_lines_are_skipped_and_a_missing_final_newline_is_fine() -> None:
    answers = _run(b"\n   \n", _line({"text": "a"}), b'{"text": "b"}')
    assert [a["text"] for a in answers] == ["a", "b"]


def test_an_overlong_line_is_an_error() -> None:
    [answer] = _run(b'{"text": "' + b"x" * MAX_LINE_BYTES + b'"}\n')
    assert "longer than" in answer["error"]


def test_the_command_is_registered() -> None:
    args = build_parser().parse_args(["redact"])
    assert args.command == "redact" and callable(args.func)


def test_the_real_command_needs_no_profile(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(ROOT),
    }
    stdin = _line({"text": "Ich bin Anna, Tel. 0176 98765432", "marketplace": "DE"}) + b"oops\n"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "redact"],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert lines[0]["text"] == "Ich bin [NAME], Tel. [PHONE]"
    assert "error" in lines[1]
    assert done.stderr == b""
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "config").exists()
