"""Passphrase mode: Argon2id-derived key, KDF file beside the database, wrong passphrase."""

from __future__ import annotations

import base64
import json
import stat

import pytest
from argon2.low_level import Type, hash_secret_raw
from keyring.backends.fail import Keyring as FailKeyring

from app.bootstrap import open_vault
from app.errors import PassphraseRequired, PassphraseWrong
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import KeyMode
from app.vault import passphrase as pp
from app.vault.connection import can_open
from app.vault.keys import plan

PASSPHRASE = "correct horse battery staple"


def _no_keychain(profile: Profile) -> SecretStore:
    return SecretStore(service=profile.keychain_service, backend=FailKeyring())


def test_derivation_is_argon2id_with_the_stored_parameters() -> None:
    params = pp.KdfParams.new()
    key = params.derive(PASSPHRASE)
    assert len(key) == 32
    expected = hash_secret_raw(
        PASSPHRASE.encode(),
        base64.b64decode(params.salt),
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )
    assert key == expected
    assert params.derive(PASSPHRASE) == key  # deterministic
    assert params.derive(PASSPHRASE + "!") != key
    assert pp.KdfParams.new().derive(PASSPHRASE) != key  # fresh salt, fresh key
    assert len(base64.b64decode(params.salt)) == 16
    assert params.memory_cost >= 64 * 1024 and params.time_cost >= 3


def test_unknown_kdf_is_refused() -> None:
    params = pp.KdfParams(salt=pp.KdfParams.new().salt, kdf="pbkdf2")
    with pytest.raises(ValueError, match="unknown kdf"):
        params.derive(PASSPHRASE)


def test_no_keychain_on_first_run_offers_passphrase_mode(profile: Profile) -> None:
    got = plan(profile, _no_keychain(profile))
    assert got.mode is KeyMode.PASSPHRASE
    assert got.needs_passphrase and got.new_profile


def test_passphrase_mode_first_run_and_restart(profile: Profile) -> None:
    asked: list[bool] = []

    def provider(new_profile: bool) -> str:
        asked.append(new_profile)
        return PASSPHRASE

    vault, key = open_vault(profile, _no_keychain(profile), passphrase=provider)
    vault.call_write(lambda c: c.execute("INSERT INTO stores(name, created_at) VALUES ('a', 'b')"))
    vault.close()
    assert vault.mode is KeyMode.PASSPHRASE
    assert asked == [True]

    # KDF file: 0600, argon2id, salt and parameters, no key and no passphrase in it
    assert stat.S_IMODE(profile.kdf_path.stat().st_mode) == 0o600
    raw = profile.kdf_path.read_text()
    data = json.loads(raw)
    assert data["kdf"] == "argon2id"
    assert {"salt", "time_cost", "memory_cost", "parallelism"} <= set(data)
    assert PASSPHRASE not in raw and key.hex() not in raw
    assert pp.load(profile.kdf_path) == pp.KdfParams(**data)
    assert pp.load(profile.kdf_path).derive(PASSPHRASE) == key  # type: ignore[union-attr]

    vault, key2 = open_vault(profile, _no_keychain(profile), passphrase=provider)
    try:
        assert key2 == key and asked == [True, False]
        assert vault.call(lambda c: c.execute("SELECT count(*) FROM stores").fetchone()[0]) == 1
    finally:
        vault.close()


def test_wrong_passphrase_is_passphrase_wrong_and_changes_nothing(profile: Profile) -> None:
    vault, key = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    db_before = profile.db_path.read_bytes()
    kdf_before = profile.kdf_path.read_bytes()
    with pytest.raises(PassphraseWrong):
        open_vault(profile, _no_keychain(profile), passphrase=lambda new: "not the passphrase")
    assert profile.db_path.read_bytes() == db_before
    assert profile.kdf_path.read_bytes() == kdf_before
    assert can_open(profile.db_path, key)


def test_passphrase_profile_without_a_provider_asks_for_one(profile: Profile) -> None:
    vault, _ = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    with pytest.raises(PassphraseRequired):
        open_vault(profile, _no_keychain(profile))


def test_passphrase_profile_stays_in_passphrase_mode_when_a_keychain_appears(
    profile: Profile, secrets: SecretStore
) -> None:
    vault, _ = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    assert plan(profile, secrets).mode is KeyMode.PASSPHRASE


@pytest.mark.parametrize(
    ("first", "second", "ok"),
    [
        ("long enough passphrase", "long enough passphrase", True),
        ("short", "short", False),
        ("long enough passphrase", "long enough passphrasE", False),
    ],
)
def test_passphrase_rules(first: str, second: str, ok: bool) -> None:
    problem = pp.passphrase_problem(first, second)
    assert (problem is None) is ok
    if problem:
        assert first not in problem
