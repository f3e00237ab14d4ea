"""``muttefik unattended enable|disable|status`` (admin sign-in) and ``muttefik sync
--unattended``: with unattended sync enabled, the sync runs as the system with no prompt
(cron can run it); revoked or never enabled, it is refused in plain words."""

from __future__ import annotations

import builtins
import getpass
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import access, bootstrap
from app.amazon.models import SyncResult
from app.amazon.sync import SyncService
from app.auth import totp
from app.paths import Profile
from app.secrets import SecretStore
from app.unattended import CREDENTIAL
from app.vault.keys import KeyMode
from tests.helpers.cli import add_store, answer_prompts, run
from tests.helpers.world import ADMIN_PW


def _sign_in(monkeypatch: pytest.MonkeyPatch, secret: str, later: int = 0) -> None:
    code = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30 * later))
    answer_prompts(monkeypatch, "admin", ADMIN_PW, code)


def _no_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    def asked(prompt: str = "") -> str:
        raise AssertionError(f"prompted: {prompt!r}")

    monkeypatch.setattr(builtins, "input", asked)
    monkeypatch.setattr(getpass, "getpass", asked)


@pytest.fixture
def synced_as(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The actor each ``sync_store`` call ran as (no network)."""
    actors: list[Any] = []

    def sync_store(
        self: Any, actor: Any, store_id: int, cancel: threading.Event, progress: Any
    ) -> SyncResult:
        actors.append(actor)
        now = datetime.now(UTC)
        return SyncResult(store_id, 1, 3, 3, False, True, now, now)

    monkeypatch.setattr(SyncService, "sync_store", sync_store)
    return actors


def test_enabled_sync_runs_as_the_system_with_no_prompt_until_disabled(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    synced_as: list[Any],
) -> None:
    profile, secret = cli_profile
    add_store(profile, secrets)
    _sign_in(monkeypatch, secret)
    assert run(profile, "unattended", "enable") == 0
    assert "enabled" in capsys.readouterr().out
    assert secrets.get(CREDENTIAL)

    _no_prompts(monkeypatch)
    assert run(profile, "sync", "--store", "Main", "--unattended") == 0
    # No terminal (cron): enabled unattended sync is used without the flag too.
    assert run(profile, "sync", "--store", "Main") == 0
    assert synced_as == [access.SYSTEM, access.SYSTEM]
    assert "Done: 1 pages" in capsys.readouterr().out

    _sign_in(monkeypatch, secret, later=1)
    assert run(profile, "unattended", "disable") == 0
    assert "disabled" in capsys.readouterr().out

    _no_prompts(monkeypatch)
    assert run(profile, "sync", "--store", "Main", "--unattended") == 2
    assert "not enabled" in capsys.readouterr().err
    assert len(synced_as) == 2


def test_status_names_who_enabled_it(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    _sign_in(monkeypatch, secret)
    assert run(profile, "unattended", "enable") == 0
    _sign_in(monkeypatch, secret, later=1)  # a code is accepted once: the next one
    assert run(profile, "unattended", "status") == 0
    assert "enabled by admin" in capsys.readouterr().out


def test_a_forged_credential_is_refused(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    synced_as: list[Any],
) -> None:
    profile, secret = cli_profile
    add_store(profile, secrets)
    _sign_in(monkeypatch, secret)
    assert run(profile, "unattended", "enable") == 0
    secrets.set(CREDENTIAL, "guessed-" + "a" * 40)
    _no_prompts(monkeypatch)
    assert run(profile, "sync", "--store", "Main", "--unattended") == 2
    assert "muttefik unattended enable" in capsys.readouterr().err
    assert synced_as == []


def test_enable_needs_an_admin_sign_in(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, _secret = cli_profile
    answer_prompts(monkeypatch, "admin", "wrong password", "000000")
    assert run(profile, "unattended", "enable") == 2


def test_a_passphrase_profile_says_it_cannot_run_unattended(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    real_open = bootstrap.open_vault

    def passphrase_mode(*args: Any, **kwargs: Any) -> Any:
        vault, key = real_open(*args, **kwargs)
        vault.mode = KeyMode.PASSPHRASE
        return vault, key

    monkeypatch.setattr(bootstrap, "open_vault", passphrase_mode)
    _sign_in(monkeypatch, secret)
    assert run(profile, "unattended", "enable") == 2
    assert "passphrase" in capsys.readouterr().err


def test_sync_unattended_on_a_passphrase_profile_says_so_instead_of_prompting(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, _secret = cli_profile
    real_open = bootstrap.open_vault

    def asks_the_passphrase(*args: Any, passphrase: Any = None, **kwargs: Any) -> Any:
        passphrase(False)  # a passphrase-mode profile asks its provider first
        return real_open(*args, **kwargs)

    monkeypatch.setattr(bootstrap, "open_vault", asks_the_passphrase)
    _no_prompts(monkeypatch)
    assert run(profile, "sync", "--store", "Main", "--unattended") == 2
    assert "protected by a passphrase" in capsys.readouterr().err
