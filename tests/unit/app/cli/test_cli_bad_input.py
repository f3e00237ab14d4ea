"""Odd input on the command line gets a message and a non-zero exit, never a traceback.

These run ``python -m app.cli`` in a subprocess, in its own session (no controlling
terminal, so getpass reads standard input) and without a keychain (passphrase mode).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from keyring.backends.fail import Keyring as FailKeyring

from app.auth import totp
from app.bootstrap import open_vault
from app.clock import FakeClock
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.world import ADMIN_PW, make_world

PASSPHRASE = "correct horse battery staple 9"
ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def passphrase_profile(tmp_path: Path) -> Profile:
    """A closed profile in passphrase mode (no keychain)."""
    profile = Profile(tmp_path / "pp-profile")
    secrets = SecretStore(service=profile.keychain_service, backend=FailKeyring())
    vault, _ = open_vault(profile, secrets, passphrase=lambda _new: PASSPHRASE)
    vault.close()
    return profile


@pytest.fixture
def admin_profile(tmp_path: Path) -> tuple[Profile, str]:
    """A closed passphrase-mode profile with an admin (MFA enrolled an hour ago); returns
    the profile and the admin's TOTP secret."""
    profile = Profile(tmp_path / "admin-profile")
    secrets = SecretStore(service=profile.keychain_service, backend=FailKeyring())
    vault, _ = open_vault(profile, secrets, passphrase=lambda _new: PASSPHRASE)
    try:
        world = make_world(vault, FakeClock(datetime.now(UTC) - timedelta(hours=1)))
        _, secret, _ = world.create_admin()
    finally:
        vault.close()
    return profile, secret


def sign_in_answers(secret: str) -> bytes:
    code = totp.code_at(secret, datetime.now(UTC))
    return f"{PASSPHRASE}\nadmin\n{ADMIN_PW}\n{code}\n".encode()


def muttefik_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(ROOT),
    }


def muttefik(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        env=muttefik_env(),
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


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_stdin_closed_at_the_passphrase_prompt(passphrase_profile: Profile) -> None:
    proc = muttefik("--profile", str(passphrase_profile.root), "audit", "verify")
    assert proc.returncode == 2
    assert_clean_refusal(proc, "No input", "passphrase")


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        (f"{PASSPHRASE}\n".encode(), ("No input", "username")),
        (f"{PASSPHRASE}\nadmin\n".encode(), ("No input", "password")),
        (f"{PASSPHRASE}\n".encode() + b"adm\xffin\npassword\n", ("username", "not valid text")),
    ],
    ids=["stdin-ends-at-username", "stdin-ends-at-password", "username-not-utf8"],
)
@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_odd_sign_in_input_is_refused(
    passphrase_profile: Profile, stdin: bytes, expected: tuple[str, ...]
) -> None:
    proc = muttefik("--profile", str(passphrase_profile.root), "users", "list", stdin=stdin)
    assert proc.returncode == 2
    assert_clean_refusal(proc, *expected)


def test_stdin_closed_when_a_new_profile_asks_for_a_passphrase(tmp_path: Path) -> None:
    proc = muttefik("--profile", str(tmp_path / "new"), "rekey")
    assert_clean_refusal(proc)


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_a_passphrase_that_is_not_utf8_is_refused(passphrase_profile: Profile) -> None:
    proc = muttefik(
        "--profile", str(passphrase_profile.root), "audit", "verify", stdin=b"\xff\xfe pass\n"
    )
    assert proc.returncode == 2
    assert_clean_refusal(proc, "passphrase", "not valid text")


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_export_to_stdout_holds_the_export_and_not_the_prompts(
    admin_profile: tuple[Profile, str],
) -> None:
    """``muttefik audit export … > file``: the username prompt goes to stderr."""
    profile, secret = admin_profile
    proc = muttefik(
        "--profile",
        str(profile.root),
        "audit",
        "export",
        "--since",
        "2020-01-01",
        stdin=sign_in_answers(secret),
    )
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    out = proc.stdout.decode()
    assert out.startswith("seq,") and "operator_created" in out, out[:200]
    assert "Username" not in out and "Username: " in err


EXPORT = ("audit", "export", "--since", "2020-01-01")


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_a_closed_stdout_ends_the_command_quietly(admin_profile: tuple[Profile, str]) -> None:
    """``muttefik audit export … | head -0``: no BrokenPipeError traceback."""
    profile, secret = admin_profile
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--profile", str(profile.root), *EXPORT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=muttefik_env(),
        cwd=ROOT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the command writes anything
    _, err_bytes = proc.communicate(sign_in_answers(secret), timeout=60)
    err = err_bytes.decode()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode != 0
