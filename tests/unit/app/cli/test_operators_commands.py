"""``muttefik audit verify|export`` and ``muttefik users …`` run in-process on a temp profile."""

from __future__ import annotations

import builtins
import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import bootstrap
from app.auth import totp
from app.cli import main
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import answer_prompts, run
from tests.helpers.world import ADMIN_PW
from tests.support import service_missing


def signed_in_as_admin(
    cli_profile: tuple[Profile, str], monkeypatch: pytest.MonkeyPatch
) -> Profile:
    """The profile, with the prompts answering as the admin (password, then a current code)."""
    profile, secret = cli_profile
    answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
    return profile


def test_audit_verify_ok_needs_no_sign_in(
    cli_profile: tuple[Profile, str], capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    profile, _ = cli_profile
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": pytest.fail("asked for a secret"))
    assert run(profile, "audit", "verify") == 0
    assert "intact: 4 entries" in capsys.readouterr().out


@pytest.mark.expect_log("muttefik.audit", "WARNING", "triggers were missing")
def test_audit_verify_names_the_tampered_entry(
    cli_profile: tuple[Profile, str], secrets: SecretStore, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, _ = cli_profile
    vault, _ = bootstrap.open_vault(profile, secrets)

    def tamper(conn: Any) -> None:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET actor_id = 99 WHERE seq = 2")

    vault.call_write(tamper)
    vault.close()
    assert run(profile, "audit", "verify") == 1
    assert "Audit entry 2 was changed or forged" in capsys.readouterr().err


def test_users_list_after_terminal_sign_in(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
    assert run(profile, "users", "add", "bora", "--name", "Bora K", "--email", "b@example.com") == 0
    out = capsys.readouterr().out
    assert "One-time setup code" in out
    answer_prompts(
        monkeypatch,
        "admin",
        ADMIN_PW,
        totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30)),
    )
    assert run(profile, "users", "list") == 0
    out = capsys.readouterr().out
    assert "admin" in out and "bora" in out and "setup pending" in out


def test_wrong_password_on_the_terminal_fails_cleanly(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, _ = cli_profile
    answer_prompts(monkeypatch, "admin", "Wrong-Password-99!")
    assert run(profile, "users", "list") == 2
    assert "Wrong username or password" in capsys.readouterr().err


def test_audit_export_to_a_private_file(
    cli_profile: tuple[Profile, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = signed_in_as_admin(cli_profile, monkeypatch)
    out = tmp_path / "audit.jsonl"
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    code = run(
        profile, "audit", "export", "--since", since, "--format", "jsonl", "--output", str(out)
    )
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[-1]["record"] == "head" and records[-1]["seq"] == len(records) - 1
    actions = [r["action"] for r in records[:-1]]
    assert actions[:2] == ["operator_created", "mfa_enrolled"] and "sign_in_ok" in actions
    assert out.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("answers", "asked_for"),
    [((), "username"), (("admin",), "password"), (("admin", ADMIN_PW), "code")],
)
def test_end_of_input_at_a_sign_in_prompt_fails_cleanly(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answers: tuple[str, ...],
    asked_for: str,
) -> None:
    """Ctrl-D or a closed stdin at any sign-in prompt: a message, exit 2, no traceback."""
    profile, _ = cli_profile
    lines = iter(answers)

    def answer(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", answer)
    monkeypatch.setattr(getpass, "getpass", answer)
    assert run(profile, "users", "list") == 2
    err = capsys.readouterr().err
    assert f"No input: The input ended where the {asked_for} was asked for" in err
    assert "Traceback" not in err


def refused_before_prompts(
    cli_profile: tuple[Profile, str], monkeypatch: pytest.MonkeyPatch
) -> Profile:
    """The profile, with any prompt failing the test: the command must refuse before asking."""
    monkeypatch.setattr(builtins, "input", lambda prompt="": pytest.fail(f"asked {prompt}"))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": pytest.fail(f"asked {prompt}"))
    return cli_profile[0]


def usage_error(capsys: pytest.CaptureFixture[str], profile: Profile, *argv: str) -> str:
    """Run a command that argparse must refuse (exit code 2); return what it printed."""
    with pytest.raises(SystemExit) as info:
        run(profile, *argv)
    assert info.value.code == 2
    return capsys.readouterr().err


ADD = ("users", "add", "bora", "--name", "Bora K", "--email", "b@example.com")


@pytest.mark.parametrize("store_id", ["99999999999999999999", "0", "-3", "x"])
def test_users_add_refuses_an_impossible_store_id_before_sign_in(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    store_id: str,
) -> None:
    profile = refused_before_prompts(cli_profile, monkeypatch)
    err = usage_error(capsys, profile, *ADD, "--store", store_id)
    assert "store id" in err and "Traceback" not in err


def test_users_add_refuses_a_store_that_does_not_exist(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = signed_in_as_admin(cli_profile, monkeypatch)
    assert run(profile, *ADD, "--store", str(2**63 - 1)) == 2
    assert "no longer exists" in capsys.readouterr().err


@pytest.mark.parametrize("email", ["b\u202e@example.com", "b\x00@example.com", "b\x1b[2J@ex.com"])
def test_users_add_refuses_hidden_characters_in_the_email(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    email: str,
) -> None:
    profile = signed_in_as_admin(cli_profile, monkeypatch)
    code = run(profile, "users", "add", "bora", "--name", "Bora K", "--email", email)
    assert code == 2
    assert "valid email address" in capsys.readouterr().err


def test_an_unknown_username_is_not_echoed_unbounded(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = signed_in_as_admin(cli_profile, monkeypatch)
    assert run(profile, "users", "disable", "z" * 100_000) == 2
    err = capsys.readouterr().err
    assert "no operator" in err and len(err) < 500


def _since() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")


@pytest.mark.parametrize(
    ("where", "words"),
    [
        (lambda tmp: tmp, "is a folder"),
        (lambda tmp: tmp / "missing" / "audit.csv", "does not exist"),
        (lambda tmp: Path("/sys/audit.csv"), "cannot be written"),
    ],
    ids=["folder", "missing-folder", "unwritable-folder"],
)
def test_audit_export_to_a_bad_place_is_refused_before_sign_in(
    cli_profile: tuple[Profile, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    where: Any,
    words: str,
) -> None:
    target: Path = where(tmp_path)
    if target == Path("/sys/audit.csv") and not Path("/sys").is_dir():
        service_missing("needs Linux /sys (a folder even root cannot write)")
    profile = refused_before_prompts(cli_profile, monkeypatch)
    assert run(profile, "audit", "export", "--since", _since(), "--output", str(target)) == 2
    err = capsys.readouterr().err
    assert words in err and str(target) in err and "Traceback" not in err


@pytest.mark.parametrize("since", ["2026-02-30", "yesterday", "0000-01-01", "99999-01-01"])
def test_audit_export_with_an_impossible_date_is_a_usage_error(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    since: str,
) -> None:
    profile = refused_before_prompts(cli_profile, monkeypatch)
    assert "2026-01-31" in usage_error(capsys, profile, "audit", "export", "--since", since)


def test_audit_export_since_the_first_year_works(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = signed_in_as_admin(cli_profile, monkeypatch)
    assert run(profile, "audit", "export", "--since", "0001-01-01", "--format", "jsonl") == 0
    assert "operator_created" in capsys.readouterr().out


def test_an_unknown_store_name_is_not_echoed_unbounded(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = signed_in_as_admin(cli_profile, monkeypatch)
    assert run(profile, "sync", "--store", "z" * 100_000 + "\u202e") == 2
    err = capsys.readouterr().err
    assert "no store" in err and len(err) < 500


def _drop_trigger_and_last_rows(profile: Profile, secrets: SecretStore, rows: int) -> None:
    """The attacker with the database key: no trigger, last rows gone."""
    vault, _ = bootstrap.open_vault(profile, secrets)

    def attack(conn: Any) -> None:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        last = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (last - rows,))

    vault.call_write(attack)
    vault.close()


@pytest.mark.expect_log("muttefik.audit", "WARNING", "triggers were missing")
@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['truncated'\]")
def test_check_and_verify_report_a_truncated_log(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.cli import vault as commands

    monkeypatch.setattr(commands, "secret_store_for", lambda p: secrets)
    profile, _ = cli_profile
    _drop_trigger_and_last_rows(profile, secrets, 2)
    assert run(profile, "check") == 1
    assert "protection against changes is missing (audit_log_no_delete)" in (
        capsys.readouterr().out
    )
    assert run(profile, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert "Audit entries 3–4 are missing from the data file." in err
    assert "records that the last entries (3–4) had been deleted" in err
    assert run(profile, "check") == 0  # the open put the trigger back


@pytest.mark.expect_log("muttefik.audit", "WARNING", "triggers were missing")
@pytest.mark.expect_log("muttefik.audit", "WARNING", r"mismatch found at open: \['truncated'\]")
def test_audit_verify_against_an_export(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = signed_in_as_admin(cli_profile, monkeypatch)
    out = tmp_path / "audit.csv"
    assert run(profile, "audit", "export", "--since", "2020-01-01", "--output", str(out)) == 0
    capsys.readouterr()
    head = int(out.read_text().splitlines()[-1].split(",")[0])  # the audit_head row
    assert run(profile, "audit", "verify", "--against", str(out)) == 0
    assert f"Nothing up to entry {head} (the export's head) changed." in capsys.readouterr().out
    _drop_trigger_and_last_rows(profile, secrets, 3)  # the export's own entry and two more
    assert run(profile, "audit", "verify", "--against", str(out)) == 1
    gone = f"Audit entries {head - 1}–{head} are in the export but no longer in the data file."
    assert gone in capsys.readouterr().err
    assert run(profile, "audit", "verify", "--against", str(tmp_path / "nope.csv")) == 2
    assert "Cannot read the export" in capsys.readouterr().err


def test_users_add_offers_the_operator_roles_only(capsys: pytest.CaptureFixture[str]) -> None:
    """The system principal is no role an operator can be given."""
    add = ["users", "add", "bora", "--name", "Bora K", "--email", "b@example.com", "--role"]
    with pytest.raises(SystemExit):
        main([*add, "system"])
    err = capsys.readouterr().err
    assert "invalid choice: 'system'" in err and "'admin', 'agent'" in err
