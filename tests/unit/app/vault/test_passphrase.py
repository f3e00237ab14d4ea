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


def _argon2(params: pp.KdfParams, length: int, salt: bytes | None = None) -> bytes:
    return hash_secret_raw(
        PASSPHRASE.encode(),
        salt or base64.b64decode(params.salt),
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=length,
        type=Type.ID,
    )


def test_derivation_is_argon2id_with_the_stored_parameters() -> None:
    params = pp.KdfParams.new()
    assert params.version == 2
    key = params.derive(PASSPHRASE)
    assert len(key) == 32
    # version 2: one 64-byte run, the database key then the audit key's KEK
    both = _argon2(params, 64)
    assert key == both[:32]
    assert params.derive_keys(PASSPHRASE) == (both[:32], both[32:])
    # version 1 (profiles from before the audit key): a 32-byte key, as it always was
    v1 = pp.KdfParams(salt=params.salt, version=1)
    assert v1.derive(PASSPHRASE) == _argon2(v1, 32)
    v1_key, v1_kek = v1.derive_keys(PASSPHRASE)
    assert v1_key == _argon2(v1, 32) and v1_kek is not None and v1_kek not in (v1_key, key)
    assert params.derive(PASSPHRASE) == key  # deterministic
    assert params.derive(PASSPHRASE + "!") != key
    assert pp.KdfParams.new().derive(PASSPHRASE) != key  # fresh salt, fresh key
    assert len(base64.b64decode(params.salt)) == 16
    assert params.memory_cost >= 64 * 1024 and params.time_cost >= 3


def test_unknown_kdf_is_refused() -> None:
    params = pp.KdfParams(salt=pp.KdfParams.new().salt, kdf="pbkdf2")
    with pytest.raises(ValueError, match="unknown kdf"):
        params.derive(PASSPHRASE)


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_no_keychain_on_first_run_offers_passphrase_mode(profile: Profile) -> None:
    got = plan(profile, _no_keychain(profile))
    assert got.mode is KeyMode.PASSPHRASE
    assert got.needs_passphrase and got.new_profile


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
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


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
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


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_passphrase_profile_without_a_provider_asks_for_one(profile: Profile) -> None:
    vault, _ = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    with pytest.raises(PassphraseRequired):
        open_vault(profile, _no_keychain(profile))


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
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


# --- the audit key in passphrase mode -------------------------------------------------------


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_the_audit_key_is_wrapped_in_the_kdf_file_under_the_passphrase(profile: Profile) -> None:
    vault, key = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    audit_key = vault.audit_key
    assert audit_key is not None and len(audit_key) == 32 and audit_key != key
    raw = profile.kdf_path.read_text()
    assert audit_key.hex() not in raw and key.hex() not in raw
    params = pp.load(profile.kdf_path)
    assert params is not None and params.version == 2 and params.audit_key
    vault, _ = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    assert vault.audit_key == audit_key
    assert profile.kdf_path.read_text() == raw  # opening rewrites nothing
    # a wrong KEK does not unwrap it
    assert pp.unwrap_audit_key(params, bytes(32)) is None


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_a_version_1_profile_still_opens_and_gains_an_audit_key(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = pp.KdfParams(salt=pp.KdfParams.new().salt, version=1)
    monkeypatch.setattr(pp, "new_params", lambda p, a: (v1, v1.derive(p)))
    vault, key = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    monkeypatch.undo()
    pp.save(profile.kdf_path, v1)  # as the previous version wrote it: no audit key
    assert key == v1.derive(PASSPHRASE)
    vault, key2 = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    audit_key = vault.audit_key
    assert key2 == key and audit_key is not None
    params = pp.load(profile.kdf_path)
    assert params is not None and params.version == 1 and params.audit_key
    vault, _ = open_vault(profile, _no_keychain(profile), passphrase=lambda new: PASSPHRASE)
    vault.close()
    assert vault.audit_key == audit_key


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_a_passphrase_change_keeps_the_audit_key(profile: Profile) -> None:
    from app.vault.rotate import rotate_passphrase

    new = "another long passphrase"
    vault, _ = open_vault(profile, _no_keychain(profile), passphrase=lambda n: PASSPHRASE)
    audit_key = vault.audit_key
    try:
        rotate_passphrase(vault, new)
    finally:
        vault.close()
    vault, _ = open_vault(profile, _no_keychain(profile), passphrase=lambda n: new)
    vault.close()
    assert vault.audit_key == audit_key
    params, key = pp.new_params(new, audit_key or b"")
    assert params.version == 2 and params.derive(new) == key


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
def test_passphrase_profile_with_its_data_file_missing_keeps_the_kdf_file(
    profile: Profile,
) -> None:
    from app.bootstrap import start_new_profile
    from app.errors import DataFileMissing

    vault, key = open_vault(profile, _no_keychain(profile), passphrase=lambda n: PASSPHRASE)
    vault.close()
    kdf = profile.kdf_path.read_bytes()
    saved = profile.db_path.read_bytes()
    profile.db_path.unlink()
    with pytest.raises(DataFileMissing):
        open_vault(profile, _no_keychain(profile), passphrase=lambda n: PASSPHRASE)
    assert profile.kdf_path.read_bytes() == kdf
    vault, new_key = start_new_profile(
        profile, _no_keychain(profile), passphrase=lambda n: "a new long passphrase"
    )
    vault.close()
    assert new_key != key
    kept = [p for p in profile.root.iterdir() if p.name.startswith("vault.kdf.retired-")]
    assert len(kept) == 1 and kept[0].read_bytes() == kdf
    old = pp.load(kept[0])
    assert old is not None
    (profile.root / "old.db").write_bytes(saved)
    assert can_open(profile.root / "old.db", old.derive(PASSPHRASE))
