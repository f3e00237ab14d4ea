"""Odd input on the command line gets a message and a non-zero exit, never a traceback.

These run ``python -m app.cli`` in a subprocess, in its own session (no controlling
terminal, so getpass reads standard input) and without a keychain (passphrase mode).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from keyring.backends.fail import Keyring as FailKeyring

from app.bootstrap import open_vault
from app.paths import Profile
from app.secrets import SecretStore

PASSPHRASE = "correct horse battery staple 9"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def passphrase_profile(tmp_path: Path) -> Profile:
    """A closed profile in passphrase mode (no keychain)."""
    profile = Profile(tmp_path / "pp-profile")
    secrets = SecretStore(service=profile.keychain_service, backend=FailKeyring())
    vault, _ = open_vault(profile, secrets, passphrase=lambda _new: PASSPHRASE)
    vault.close()
    return profile


def muttefik(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=env,
        cwd=ROOT,
        start_new_session=True,  # no /dev/tty: getpass falls back to stdin
        timeout=60,
        check=False,
    )


def assert_clean_refusal(proc: subprocess.CompletedProcess[bytes], *expected: str) -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    assert proc.returncode != 0, err
    for text in expected:
        assert text in err, err
    return err


def test_stdin_closed_at_the_passphrase_prompt(passphrase_profile: Profile) -> None:
    proc = muttefik("--profile", str(passphrase_profile.root), "audit", "verify")
    assert proc.returncode == 2
    assert_clean_refusal(proc, "No input", "passphrase")


def test_stdin_ends_at_the_username_prompt(passphrase_profile: Profile) -> None:
    proc = muttefik(
        "--profile",
        str(passphrase_profile.root),
        "users",
        "list",
        stdin=f"{PASSPHRASE}\n".encode(),
    )
    assert proc.returncode == 2
    assert_clean_refusal(proc, "No input", "username")


def test_stdin_ends_at_the_password_prompt(passphrase_profile: Profile) -> None:
    proc = muttefik(
        "--profile",
        str(passphrase_profile.root),
        "users",
        "list",
        stdin=f"{PASSPHRASE}\nadmin\n".encode(),
    )
    assert proc.returncode == 2
    assert_clean_refusal(proc, "No input", "password")


def test_stdin_closed_when_a_new_profile_asks_for_a_passphrase(tmp_path: Path) -> None:
    proc = muttefik("--profile", str(tmp_path / "new"), "rekey")
    assert_clean_refusal(proc)


def test_a_passphrase_that_is_not_utf8_is_refused(passphrase_profile: Profile) -> None:
    proc = muttefik(
        "--profile", str(passphrase_profile.root), "audit", "verify", stdin=b"\xff\xfe pass\n"
    )
    assert proc.returncode == 2
    assert_clean_refusal(proc, "passphrase", "not valid text")


def test_a_username_that_is_not_utf8_is_refused(passphrase_profile: Profile) -> None:
    proc = muttefik(
        "--profile",
        str(passphrase_profile.root),
        "users",
        "list",
        stdin=f"{PASSPHRASE}\n".encode() + b"adm\xffin\npassword\n",
    )
    assert proc.returncode == 2
    assert_clean_refusal(proc, "username", "not valid text")
