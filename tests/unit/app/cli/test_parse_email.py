"""``muttefik parse-email FILE.eml`` (app/cli/parse_email.py): one JSON object with the
issue's keys, exit 0; not an email → exit 2 and one line on stderr; no profile touched.

The samples run the real command in a subprocess with its own home folders (to see that
it creates no profile); the corpus runs in-process (``app.cli.main``), which is faster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from tests.helpers.emails import EMAILS, email_cases, mismatches

ROOT = Path(__file__).resolve().parents[4]
SAMPLES = email_cases("samples")
CORPUS = [case for case in email_cases("corpus") if "Date" in case[1].decode("latin-1")]
KEYS = {
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


def parse_email_command(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The real command, in a fresh process whose every user folder is inside ``home``."""
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "parse-email", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("name", [case[0] for case in SAMPLES])
def test_the_command_prints_each_samples_expected_values(tmp_path: Path, name: str) -> None:
    expected = json.loads((EMAILS / "samples" / f"{name}.expected.json").read_text("utf-8"))
    done = parse_email_command(tmp_path, str(EMAILS / "samples" / f"{name}.eml"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == KEYS
    assert mismatches(result, expected) == []
    assert done.stderr == b""
    # No profile, no keychain, no database: nothing under the data or config folders.
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "config").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"shopping list\neggs\n", "no email headers"),
    ],
)
def test_what_is_not_an_email_exits_2_with_one_line(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "thing.eml"
    path.write_bytes(content)
    done = parse_email_command(tmp_path / "home", str(path))
    assert done.returncode == 2
    assert done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1
    assert reason in lines[0]
    assert not (tmp_path / "home" / "data").exists()


def test_a_missing_file_exits_2_naming_it(tmp_path: Path) -> None:
    done = parse_email_command(tmp_path, str(tmp_path / "nowhere.eml"))
    assert done.returncode == 2
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1
    assert "nowhere.eml" in lines[0]


@pytest.mark.parametrize(("name", "raw", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_the_command_reads_the_corpus(
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    name: str,
    raw: bytes,
    expected: dict[str, Any],
) -> None:
    path = tmp_path / f"{name}.eml"
    path.write_bytes(raw)
    assert main(["parse-email", str(path)]) == 0
    result = json.loads(capsysbinary.readouterr().out.decode("utf-8"))
    assert set(result) == KEYS
    checks = KEYS | {"buyer_text_contains", "body_must_not_contain", "body_length"}
    shown = {key: want for key, want in expected.items() if key in checks}
    assert mismatches(result, shown) == []
