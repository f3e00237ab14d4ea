"""The sealed audit log: HMAC chain under the audit key, the in-file head, the anchor
outside the file, triggers restored at open, verify --against an export, the purge.

Each attack from issue 8 is reproduced here as an attacker would do it: with the
database key (dropping triggers, rewriting rows, recomputing a SHA-256 chain), or with no
key at all (copying an older vault.db back).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.audit import (
    TRIGGERS,
    Action,
    AuditFilter,
    AuditKeyMissing,
    AuditLog,
    ExportUnreadable,
    Outcome,
    canonical,
    chain_hash,
    make_audit_log,
    prepare_on_open,
    protection_report,
)
from app.audit_anchor import AnchorInvalid, FileAnchor, Head, KeychainAnchor
from app.bootstrap import open_vault, resolve_key
from app.clock import FakeClock
from app.paths import Profile
from app.secrets import SecretStore
from app.vault import Vault, migrations
from tests.support import AUDIT_TEST_KEY, MemoryKeyring, append_entries, run_sql, settle


def audit_key(vault: Vault) -> bytes:
    """The profile's audit key once the vault provides one, else the tests' key."""
    return vault.audit_key if vault.audit_key is not None else AUDIT_TEST_KEY


def sealed_log(vault: Vault, secrets: SecretStore, clock: FakeClock) -> AuditLog:
    return make_audit_log(vault, secrets, clock=clock, key=audit_key(vault))


def reopen_raw(profile: Profile, secrets: SecretStore, key: bytes) -> Vault:
    """Open without :func:`prepare_on_open` (to see what verify finds by itself)."""
    mode, db_key = resolve_key(profile, secrets)
    vault = Vault.open(profile, db_key, mode)
    vault.audit_key = key
    return vault


@pytest.fixture
def log(vault: Vault, secrets: SecretStore, clock: FakeClock) -> AuditLog:
    return sealed_log(vault, secrets, clock)


def test_entries_are_sealed_with_the_audit_key(vault: Vault, log: AuditLog) -> None:
    append_entries(vault, log, 3)
    result = vault.call(log.verify)
    assert result.ok and result.checked == 3 and result.anchored, result.summary()
    # The same entries checked under another key do not verify: the key is in the seal.
    other = AuditLog(clock=log.clock, key=b"\x01" * 32)
    assert vault.call(other.verify).outcomes == [Outcome.FORGED] * 3


def test_rewrite_with_the_db_key_and_a_recomputed_sha_chain_is_forged(
    vault: Vault, log: AuditLog
) -> None:
    append_entries(vault, log, 5)

    def rewrite(conn: Any) -> None:
        conn.execute("DROP TRIGGER audit_log_no_update")
        rows = conn.execute(
            "SELECT seq, at, actor_id, action, object_type, object_id, details"
            " FROM audit_log ORDER BY seq"
        ).fetchall()
        prev = "0" * 64
        for r in rows:
            details = json.loads(r[6])
            if r[0] == 3:
                details["new"] = 999
            text = canonical(
                seq=r[0], at=r[1], actor_id=r[2], action=r[3], object_type=r[4],
                object_id=r[5], details=details,
            )  # fmt: skip
            h = chain_hash(prev, text)
            conn.execute(
                "UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (json.dumps(details, sort_keys=True, separators=(",", ":")), prev, h, r[0]),
            )
            prev = h
        conn.execute("DROP TRIGGER audit_head_forward")
        conn.execute("UPDATE audit_head SET hash = ?, keyed_from = NULL", (prev,))

    vault.call_write(rewrite)
    result = vault.call(log.verify)
    assert not result.ok
    assert Outcome.ANCHOR_MISMATCH in result.outcomes  # the anchor outside saw entry 5
    assert Outcome.TRIGGERS_MISSING in result.outcomes
    # In the file it now looks like a log never sealed; the record outside says otherwise.
    assert result.first_broken_seq == 5 and "Audit entry 5 does not match" in result.summary()


@pytest.mark.expect_log("muttefik.audit", "WARNING", "triggers were missing")
@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['truncated'\]")
def test_deleted_last_rows_are_truncation_and_stay_visible(
    profile: Profile, vault: Vault, secrets: SecretStore, log: AuditLog, clock: FakeClock
) -> None:
    key = audit_key(vault)
    append_entries(vault, log, 5)

    run_sql(vault, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq >= 4")
    result = vault.call(log.verify)
    assert result.outcomes[0] is Outcome.TRUNCATED
    assert "The last audit entries (4–5) were deleted" in result.summary()
    assert Outcome.ROLLED_BACK not in result.outcomes  # told apart from an older file
    vault.close()

    # Reopen: the trigger is recreated and both findings are sealed into the log; new
    # entries continue after entry 5, so the gap stays.
    vault = reopen_raw(profile, secrets, key)
    try:
        prepare_on_open(vault, secrets, key=audit_key(vault), clock=clock)
        after = sealed_log(vault, secrets, clock)
        rows = vault.call(
            lambda c: c.execute("SELECT seq, action FROM audit_log ORDER BY seq").fetchall()
        )
        assert [r[0] for r in rows] == [1, 2, 3, 6, 7]
        assert [r[1] for r in rows[3:]] == ["audit_protection_restored", "audit_anomaly"]
        result = vault.call(after.verify)
        assert result.outcomes == [Outcome.GAP, Outcome.RECORDED, Outcome.RECORDED]
        text = result.summary()
        assert "Audit entries 4–5 are missing" in text
        assert "the last entries (4–5) had been deleted" in text
        assert "protection against changes had been removed (audit_log_no_delete)" in text
    finally:
        vault.close()


@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['rolled_back'\]")
def test_an_older_copy_put_back_is_a_rollback(
    profile: Profile, vault: Vault, secrets: SecretStore, log: AuditLog, clock: FakeClock
) -> None:
    key = audit_key(vault)
    append_entries(vault, log, 3)
    vault.close()
    shutil.copy(profile.db_path, profile.root.parent / "old-vault.db")
    vault = reopen_raw(profile, secrets, key)
    append_entries(vault, sealed_log(vault, secrets, clock), 3)
    vault.close()
    shutil.copy(profile.root.parent / "old-vault.db", profile.db_path)  # no key needed

    vault = reopen_raw(profile, secrets, key)
    try:
        result = vault.call(sealed_log(vault, secrets, clock).verify)
        assert result.outcomes == [Outcome.ROLLED_BACK]
        assert "The data file is older than the record kept in the keychain" in result.summary()
        assert "entries 4–6 are missing" in result.summary()
        prepare_on_open(vault, secrets, key=audit_key(vault), clock=clock)
        result = vault.call(sealed_log(vault, secrets, clock).verify)
        assert result.outcomes == [Outcome.GAP, Outcome.RECORDED]
        assert "an older copy of the files was put back" in result.summary()
        assert result.head_seq == 7  # the record continues after the anchor's entry 6
    finally:
        vault.close()


@pytest.mark.expect_log("muttefik.audit", "WARNING", "triggers were missing")
def test_dropped_triggers_come_back_at_open_and_are_reported(
    profile: Profile, vault: Vault, secrets: SecretStore, log: AuditLog, clock: FakeClock
) -> None:
    append_entries(vault, log, 1)
    vault.call_write(lambda c: c.execute("DROP TRIGGER audit_log_no_delete"))
    result = vault.call(log.verify)
    assert result.outcomes == [Outcome.TRIGGERS_MISSING]
    _mode, db_key = resolve_key(profile, secrets)
    report = protection_report(profile.db_path, db_key)  # what `muttefik check` prints
    assert report is not None and "audit_log_no_delete" in report
    vault.close()

    vault, _ = open_vault(profile, secrets)  # the real open path restores them
    try:
        prepare_on_open(vault, secrets, key=audit_key(vault), clock=clock)  # idempotent
        assert protection_report(profile.db_path, db_key) is None
        with pytest.raises(Exception, match="kept at least"):
            vault.call_write(lambda c: c.execute("DELETE FROM audit_log"))
    finally:
        vault.close()


def test_restored_triggers_are_the_migrations_own(vault: Vault) -> None:
    def sql(conn: Any) -> dict[str, str]:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        return {r[0]: r[1] for r in rows if r[0] in TRIGGERS}

    migrated = vault.call(sql)
    assert migrated == TRIGGERS


def test_append_without_a_key_is_refused(vault: Vault, clock: FakeClock) -> None:
    keyless = AuditLog(clock=clock)
    with pytest.raises(AuditKeyMissing):
        vault.call_write(lambda c: keyless.append(c, actor_id=None, action=Action.SIGN_IN_OK))
    assert vault.call(lambda c: c.execute("SELECT count(*) FROM audit_log").fetchone()[0]) == 0
    assert vault.call(keyless.verify).outcomes == [Outcome.NO_KEY]


def test_the_anchor_is_written_only_after_commit(
    vault: Vault, log: AuditLog, memory_keyring: MemoryKeyring
) -> None:
    assert log.anchor is not None
    append_entries(vault, log, 2)
    assert log.anchor.load() == Head(2, vault.call(lambda c: c.execute(
        "SELECT hash FROM audit_log WHERE seq = 2").fetchone()[0]))  # fmt: skip

    def fail(conn: Any) -> None:
        log.append(conn, actor_id=None, action=Action.SIGN_IN_OK)
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        vault.call_write(fail)
    anchor = log.anchor.load()
    assert anchor is not None and anchor.seq == 2
    assert vault.call(log.verify).ok


def test_anchor_missing_altered_or_mismatched(
    vault: Vault, log: AuditLog, secrets: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    append_entries(vault, log, 3)
    assert isinstance(log.anchor, KeychainAnchor)
    saved = secrets.get("audit-head")
    assert saved is not None
    secrets.delete("audit-head")
    assert vault.call(log.verify).outcomes == [Outcome.ANCHOR_MISSING]
    secrets.set("audit-head", saved.replace('"seq": 3', '"seq": 9'))
    with pytest.raises(AnchorInvalid):
        log.anchor.load()
    assert vault.call(log.verify).outcomes == [Outcome.ANCHOR_INVALID]
    log.anchor.save(Head(3, "f" * 64))  # validly sealed, but not this file's entry 3
    result = vault.call(log.verify)
    assert result.outcomes == [Outcome.ANCHOR_MISMATCH] and result.first_broken_seq == 3
    log.anchor.save(Head(2, vault.call(lambda c: c.execute(
        "SELECT hash FROM audit_log WHERE seq = 2").fetchone()[0])))  # fmt: skip
    behind = vault.call(log.verify)
    assert behind.ok and "1 entries behind" in behind.summary()


def test_file_anchor_outside_the_profile(tmp_path: Path) -> None:
    anchor = FileAnchor(tmp_path / "state" / "abc.json", AUDIT_TEST_KEY)
    assert anchor.load() is None
    anchor.save(Head(4, "a" * 64))
    assert anchor.load() == Head(4, "a" * 64)
    assert (anchor.path.stat().st_mode & 0o777) == 0o600
    other = FileAnchor(anchor.path, b"\x02" * 32)  # another profile's key
    with pytest.raises(AnchorInvalid):
        other.load()
    anchor.path.write_text(anchor.path.read_text().replace('"seq": 4', '"seq": 5'))
    with pytest.raises(AnchorInvalid):
        anchor.load()


# --- profiles made before the audit key ----------------------------------------------


@pytest.fixture(params=[2, 3])
def legacy_vault(
    profile: Profile, secrets: SecretStore, request: pytest.FixtureRequest
) -> Iterator[Vault]:
    """A profile at schema v2 or v3 with four plain SHA-256 entries, as before the audit
    key; then upgraded to the latest schema."""
    mode, key = resolve_key(profile, secrets)
    vault = Vault.open(profile, key, mode, migrate=False)
    vault.call(lambda c: migrations.migrate(c, target=request.param))

    def old_entries(conn: Any) -> None:
        prev = "0" * 64
        for seq in range(1, 5):
            at = f"2026-01-0{seq}T00:00:00.000000Z"
            text = canonical(
                seq=seq, at=at, actor_id=1, action="sign_in_ok",
                object_type=None, object_id=None, details={"method": "totp"},
            )  # fmt: skip
            h = hashlib.sha256((prev + text).encode()).hexdigest()
            conn.execute(
                "INSERT INTO audit_log(seq, at, actor_id, action, details, prev_hash, hash)"
                " VALUES (?, ?, 1, 'sign_in_ok', '{\"method\":\"totp\"}', ?, ?)",
                (seq, at, prev, h),
            )
            prev = h

    vault.call_write(old_entries)
    vault.call(migrations.migrate)
    yield vault
    vault.close()


def test_a_legacy_chain_is_verified_then_sealed(
    legacy_vault: Vault, secrets: SecretStore, clock: FakeClock
) -> None:
    vault = legacy_vault
    log = sealed_log(vault, secrets, clock)
    assert vault.call(log.verify).ok  # not sealed yet: SHA-256 chain, no anchor yet
    prepare_on_open(vault, secrets, key=audit_key(vault), clock=clock)
    append_entries(vault, log, 1)
    rows = vault.call(
        lambda c: c.execute("SELECT seq, action, details FROM audit_log ORDER BY seq").fetchall()
    )
    assert rows[4][:2] == (5, "audit_keyed")
    assert json.loads(rows[4][2]) == {"legacy_seq": 4, "legacy_status": "intact"}
    assert vault.call(lambda c: c.execute("SELECT keyed_from FROM audit_head").fetchone()) == (5,)
    result = vault.call(log.verify)
    assert result.ok and result.checked == 6 and result.anchored, result.summary()


def test_a_broken_legacy_chain_is_not_laundered(
    legacy_vault: Vault, secrets: SecretStore, clock: FakeClock
) -> None:
    vault = legacy_vault

    run_sql(
        vault,
        "DROP TRIGGER audit_log_no_update",
        "UPDATE audit_log SET actor_id = 7 WHERE seq = 2",
        TRIGGERS["audit_log_no_update"],
    )
    log = sealed_log(vault, secrets, clock)
    append_entries(vault, log, 1)  # the first sealed append seals the legacy chain first
    result = vault.call(log.verify)
    assert result.outcomes == [Outcome.FORGED, Outcome.RECORDED]
    assert result.first_broken_seq == 2
    assert "already damaged at entry 2 when it was sealed" in result.summary()


def test_a_sealed_log_cannot_be_passed_off_as_legacy(vault: Vault, log: AuditLog) -> None:
    append_entries(vault, log, 3)

    run_sql(vault, "DROP TRIGGER audit_head_forward", "UPDATE audit_head SET keyed_from = NULL")
    result = vault.call(log.verify)
    assert not result.ok  # entries are checked under the key whatever the head row says


# --- export and purge -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_verify_against_an_export(vault: Vault, log: AuditLog, fmt: Any) -> None:
    append_entries(vault, log, 4)
    out = io.StringIO(newline="")
    assert vault.call(lambda c: log.export(c, AuditFilter(), fmt, out)) == 4
    lines = out.getvalue().splitlines()
    append_entries(vault, log, 2)  # later entries are fine
    result = vault.call(lambda c: log.verify_against(c, lines))
    assert result.ok and "Nothing up to entry 4 (the export's head) changed" in result.summary()

    def edit(conn: Any) -> None:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET hash = ? WHERE seq = 2", ("e" * 64,))

    vault.call_write(edit)
    result = vault.call(lambda c: log.verify_against(c, lines))
    assert Outcome.EXPORT_MISMATCH in result.outcomes
    assert "Audit entry 2 differs from the export" in result.summary()
    with pytest.raises(ExportUnreadable):
        vault.call(lambda c: log.verify_against(c, ["not", "an", "export"]))


def test_purge_keeps_verification_and_cannot_be_faked(vault: Vault, secrets: SecretStore) -> None:
    clock = FakeClock(datetime(2020, 1, 1, tzinfo=UTC))
    log = sealed_log(vault, secrets, clock)
    append_entries(vault, log, 3)
    clock.advance(400 * 86400)
    append_entries(vault, log, 2)
    clock.advance(200 * 86400)
    assert vault.call_write(log.purge_expired) == 3
    result = vault.call(log.verify)
    assert result.ok and result.checked == 3 and result.anchored, result.summary()

    # An attacker with the DB key "purges" two more entries and moves the in-file anchor.
    def fake_purge(conn: Any) -> None:
        row = conn.execute("SELECT seq, hash FROM audit_log WHERE seq = 5").fetchone()
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq <= 5")
        conn.execute("UPDATE audit_anchor SET seq = ?, hash = ?", (row[0], row[1]))

    vault.call_write(fake_purge)
    result = vault.call(log.verify)
    assert Outcome.PURGE_UNRECORDED in result.outcomes
    assert "up to 5 were removed from the data file without a recorded" in result.summary()


@pytest.mark.expect_log("muttefik.db", "ERROR", "after-commit callback failed")
def test_after_commit_runs_only_after_a_commit(vault: Vault) -> None:
    ran: list[str] = []

    def ok(conn: Any) -> None:
        vault.after_commit(lambda: ran.append("first"))
        vault.after_commit(lambda: 1 / 0)  # logged; the others still run
        vault.after_commit(lambda: ran.append("second"))

    vault.call_write(ok)
    settle(vault)
    assert ran == ["first", "second"]

    def fails(conn: Any) -> None:
        vault.after_commit(lambda: ran.append("rolled back"))
        raise ValueError("no")

    with pytest.raises(ValueError):
        vault.call_write(fails)
    vault.call_write(lambda conn: None)
    assert ran == ["first", "second"]
    with pytest.raises(RuntimeError):
        vault.call(lambda conn: vault.after_commit(lambda: None))  # not inside write


@pytest.mark.expect_log("muttefik.db", "WARNING", "no usable keychain")
@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['rolled_back'\]")
def test_passphrase_mode_keeps_the_head_in_a_file_outside_the_profile(
    profile: Profile, tmp_path: Path, clock: FakeClock
) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    no_keychain = SecretStore(service=profile.keychain_service, backend=FailKeyring())
    vault, _ = open_vault(profile, no_keychain, passphrase=lambda new: "Velvet-Orbit-73-Lantern!")
    try:
        key = audit_key(vault)
        log = sealed_log(vault, no_keychain, clock)
        assert isinstance(log.anchor, FileAnchor)
        assert log.anchor.path.is_relative_to(tmp_path / "state")  # not in the profile
        append_entries(vault, log, 3)
        assert log.anchor.load() is not None and log.anchor.load().seq == 3  # type: ignore[union-attr]
    finally:
        vault.close()
    shutil.copy(profile.db_path, tmp_path / "old.db")
    vault, _ = open_vault(profile, no_keychain, passphrase=lambda new: "Velvet-Orbit-73-Lantern!")
    append_entries(vault, sealed_log(vault, no_keychain, clock), 2)
    vault.close()
    shutil.copy(tmp_path / "old.db", profile.db_path)
    vault, _ = open_vault(profile, no_keychain, passphrase=lambda new: "Velvet-Orbit-73-Lantern!")
    try:
        if vault.audit_key is None:  # before the vault had its own audit key
            vault.audit_key = key
            prepare_on_open(vault, no_keychain, clock=clock)
        result = vault.call(sealed_log(vault, no_keychain, clock).verify)
        assert result.outcomes == [Outcome.GAP, Outcome.RECORDED]
        assert "an older copy of the files was put back" in result.summary()
    finally:
        vault.close()


def test_verify_against_names_entries_gone_since_the_export(vault: Vault, log: AuditLog) -> None:
    append_entries(vault, log, 6)
    out = io.StringIO(newline="")
    vault.call(lambda c: log.export(c, AuditFilter(), "jsonl", out))

    run_sql(vault, "DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq >= 4")
    result = vault.call(lambda c: log.verify_against(c, out.getvalue().splitlines()))
    assert "Audit entries 4–6 are in the export but no longer in the data file." in (
        result.summary()
    )
    assert Outcome.TRUNCATED in result.outcomes


def test_the_head_is_not_registered_as_a_secret(vault: Vault, log: AuditLog) -> None:
    from app import redact

    before = len(redact._secrets)
    append_entries(vault, log, 3)
    append_entries(vault, log, 3)
    assert log.anchor is not None and log.anchor.load() is not None
    assert len(redact._secrets) == before  # the log filter's list does not grow per entry


@pytest.mark.expect_log("muttefik.audit", "WARNING", "triggers were missing")
@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['truncated'\]")
def test_a_look_alike_trigger_is_replaced(
    vault: Vault, log: AuditLog, secrets: SecretStore, clock: FakeClock
) -> None:
    append_entries(vault, log, 2)

    def swap(conn: Any) -> None:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log WHEN 0"
            " BEGIN SELECT 1; END"
        )
        conn.execute("DELETE FROM audit_log WHERE seq = 2")

    vault.call_write(swap)
    assert Outcome.TRIGGERS_MISSING in vault.call(log.verify).outcomes
    report = prepare_on_open(vault, secrets, key=audit_key(vault), clock=clock)
    assert report.restored == ("audit_log_no_delete",)
    with pytest.raises(Exception, match="kept at least"):
        vault.call_write(lambda c: c.execute("DELETE FROM audit_log WHERE seq = 1"))


@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['rolled_back'\]")
def test_an_export_is_still_proven_when_later_entries_are_missing(
    profile: Profile, vault: Vault, secrets: SecretStore, log: AuditLog, clock: FakeClock
) -> None:
    """A rollback past the export loses later entries; the export's part still holds,
    and verify --against says so beside the rollback finding."""
    key = audit_key(vault)
    append_entries(vault, log, 3)
    out = io.StringIO(newline="")
    vault.call(lambda c: log.export(c, AuditFilter(), "jsonl", out))
    lines = out.getvalue().splitlines()
    vault.close()
    shutil.copy(profile.db_path, profile.root.parent / "old-vault.db")
    vault = reopen_raw(profile, secrets, key)
    append_entries(vault, sealed_log(vault, secrets, clock), 3)
    vault.close()
    shutil.copy(profile.root.parent / "old-vault.db", profile.db_path)

    vault = reopen_raw(profile, secrets, key)
    try:
        prepare_on_open(vault, secrets, key=key, clock=clock)
        result = vault.call(lambda c: sealed_log(vault, secrets, clock).verify_against(c, lines))
        assert not result.ok
        assert Outcome.EXPORT_MISMATCH not in result.outcomes
        assert "Nothing up to entry 3 (the export's head) changed" in result.summary()
        assert "an older copy of the files was put back" in result.summary()
    finally:
        vault.close()
