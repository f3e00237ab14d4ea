"""``muttefik rekey`` killed with SIGKILL at every step, in keychain and passphrase mode.

A child process rotates the key and stops at a named step (deterministic), or is killed
at a random moment once the rotation started; then ``muttefik check`` runs as a separate
process.  It must find the data intact (never "damaged"), the next open must hold every
row, the keychain (or KDF file) must end tidy, and before the main file was verified
under the new key the old key must still be there.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import SecretService
from keyring.backends.fail import Keyring as FailKeyring

from app.bootstrap import open_vault
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import passphrase as pp
from app.vault.check import run_checks
from app.vault.keys import DB_KEY, DB_KEY_PENDING
from app.vault.wal import wal_path
from tests.helpers.secret_service import SecretServiceSession
from tests.integration.children import reading_child
from tests.integration.rekey_child import NEW, OLD

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("rekey_child.py")
ROWS = 400  # ~1.5 MB: the rekey and its checkpoint take long enough to be hit at random

# Steps in order; "rekeyed": committed into the WAL only, main file still under the old key.
KEYCHAIN_STEPS = ["pending-stored", "rekeyed", "checkpointed", "verified", "current-stored"]
PASSPHRASE_STEPS = ["pending-stored", "rekeyed", "checkpointed", "verified"]


def _keychain(profile: Profile) -> SecretStore:
    return SecretStore.for_profile(profile, backend=SecretService.Keyring())


def _no_keychain(profile: Profile) -> SecretStore:
    return SecretStore.for_profile(profile, backend=FailKeyring())


def _entry(profile: Profile, name: str) -> str | None:
    value: str | None = SecretService.Keyring().get_password(profile.keychain_service, name)
    return value


def _seed(profile: Profile, mode: str) -> bytes:
    if mode == "keychain":
        vault, key = open_vault(profile, _keychain(profile))
    else:
        vault, key = open_vault(profile, _no_keychain(profile), passphrase=lambda new: OLD)

    def fill(conn: Any) -> None:
        conn.execute("CREATE TABLE rows(n INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        for n in range(1, ROWS + 1):
            conn.execute("INSERT INTO rows(n, payload) VALUES (?, randomblob(3000))", (n,))

    vault.call_write(fill)
    vault.close()
    return key


def _run_child(profile: Profile, mode: str, env: dict[str, str], stop: str | float) -> list[str]:
    """Run the child to ``stop`` (a step name, or seconds after the rotation began) and
    SIGKILL it there.  Returns the steps it reported."""
    step = stop if isinstance(stop, str) else "never"
    lines: list[str] = []
    args = [sys.executable, str(CHILD), str(profile.root), mode, step]
    with reading_child(args, env) as (child, reader):
        assert reader.readline() == "ready"
        if isinstance(stop, str):
            while (line := reader.readline()) not in ("stopped", None):
                lines.append(line)
            assert line == "stopped", f"child ended before {stop}: {lines}"
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=stop)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        lines += reader.rest()
    return lines


def _check_cli(profile: Profile, env: dict[str, str], passphrase: str | None) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "--profile", str(profile.root), "check"],
        input=(passphrase + "\n") if passphrase else "",
        capture_output=True,
        text=True,
        env=dict(env, PYTHONPATH=str(ROOT)),
        cwd=ROOT,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def _assert_intact(profile: Profile, key: bytes) -> None:
    assert run_checks(profile, key).ok
    assert not wal_path(profile.db_path).exists() or wal_path(profile.db_path).stat().st_size == 0


def _rows(vault: Any) -> list[int]:
    return [r[0] for r in vault.call(lambda c: c.execute("SELECT n FROM rows").fetchall())]


@pytest.mark.parametrize("stop", [*KEYCHAIN_STEPS, "random"])
def test_sigkill_during_keychain_rekey(
    tmp_path: Path, use_secret_service: SecretServiceSession, stop: str
) -> None:
    profile = Profile(tmp_path / "profile")
    profile.ensure()
    old = _seed(profile, "keychain")
    env = use_secret_service.env()
    rounds = 6 if stop == "random" else 1
    rng = random.Random(int(os.environ.get("MUTTEFIK_CRASH_SEED", random.randrange(1 << 30))))
    for round_no in range(rounds):
        steps = _run_child(profile, "keychain", env, stop if stop != "random" else rng.random())
        pending, current = _entry(profile, DB_KEY_PENDING), _entry(profile, DB_KEY)
        verified = "verified" in steps
        if not verified:
            # the main file is not verified under the new key: the old key is still there
            assert _entry(profile, DB_KEY) == old.hex(), f"round {round_no}: {steps}"

        code, out = _check_cli(profile, env, None)
        assert code == 0, f"round {round_no} after {steps}: {out}"
        assert "passed both integrity checks" in out and "damaged" not in out

        store = _keychain(profile)
        vault, key = open_vault(profile, store)
        try:
            assert _rows(vault) == list(range(1, ROWS + 1))
        finally:
            vault.close()
        assert _entry(profile, DB_KEY) == key.hex()
        assert _entry(profile, DB_KEY_PENDING) is None
        if stop != "random":
            assert key == (old if "rekeyed" not in steps else bytes.fromhex(pending or ""))
        else:  # the kill may fall between a commit and the step's report
            assert key.hex() in (old.hex(), pending, current)
        _assert_intact(profile, key)
        old = key


@pytest.mark.parametrize("stop", [*PASSPHRASE_STEPS, "random"])
@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_sigkill_during_passphrase_change(tmp_path: Path, stop: str) -> None:
    profile = Profile(tmp_path / "profile")
    profile.ensure()
    _seed(profile, "passphrase")
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    old_params = profile.kdf_path.read_bytes()
    steps = _run_child(
        profile, "passphrase", env, stop if stop != "random" else random.uniform(0.0, 1.5)
    )
    if "verified" not in steps:
        assert profile.kdf_path.read_bytes() == old_params, steps
    if "rekeyed" in steps:
        candidates = [NEW]
    elif "pending-stored" in steps:
        # The kill may land after the rekey finished but before the child reported it:
        # the file is then under the new passphrase, whose pending parameters are kept.
        candidates = [OLD, NEW]
    else:
        candidates = [OLD]
    for works in candidates:
        code, out = _check_cli(profile, env, works)
        if code == 0:
            break
    assert code == 0, f"after {steps}: {out}"
    assert "passed both integrity checks" in out and "damaged" not in out

    vault, key = open_vault(profile, _no_keychain(profile), passphrase=lambda new: works)
    try:
        assert _rows(vault) == list(range(1, ROWS + 1))
    finally:
        vault.close()
    assert not pp.pending_path(profile.kdf_path).exists()
    _assert_intact(profile, key)
