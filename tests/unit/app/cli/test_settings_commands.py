"""``muttefik settings get|set``: an administrator reads and changes settings through the
settings service, which checks the value and records the change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app import bootstrap, settings
from app.audit import Action
from app.auth import totp
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import answer_prompts, run
from tests.helpers.world import ADMIN_PW


def _sign_in(monkeypatch: pytest.MonkeyPatch, secret: str, later: int = 0) -> None:
    code = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30 * later))
    answer_prompts(monkeypatch, "admin", ADMIN_PW, code)


def _stored(profile: Profile, secrets: SecretStore) -> tuple[int, list[tuple[int, str]]]:
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        value = vault.call(lambda c: settings.get(c, settings.SYNC_INTERVAL_MINUTES))
        audited = vault.call(
            lambda c: c.execute(
                "SELECT actor_id, details FROM audit_log WHERE action = ? ORDER BY seq",
                (Action.SETTINGS_CHANGED,),
            ).fetchall()
        )
    finally:
        vault.close()
    return value, audited


def test_get_lists_every_setting_and_one_by_its_key(
    cli_profile: tuple[Profile, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    _sign_in(monkeypatch, secret)
    assert run(profile, "settings", "get") == 0
    out = capsys.readouterr().out
    for key, setting in settings.REGISTRY.items():
        shown = ("yes" if setting.default else "no") if setting.type is bool else setting.default
        assert f"{key} = {shown}" in out and setting.description in out
    _sign_in(monkeypatch, secret, later=1)
    assert run(profile, "settings", "get", "sync.interval_minutes") == 0
    assert capsys.readouterr().out.strip() == "10"


def test_set_changes_the_value_and_the_audit_log_names_the_admin(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    _sign_in(monkeypatch, secret)
    assert run(profile, "settings", "set", "sync.interval_minutes", "30") == 0
    assert "sync.interval_minutes = 30" in capsys.readouterr().out
    value, audited = _stored(profile, secrets)
    assert value == 30
    assert [(actor, json.loads(d)["new"]) for actor, d in audited] == [(1, "30")]


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("sync.interval_minutes", "1", "at least 2"),
        ("sync.interval_minutes", "often", "whole number"),
        ("sync.everything", "1", "settings get"),
    ],
)
def test_a_value_or_key_that_does_not_fit_changes_nothing(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    value: str,
    says: str,
) -> None:
    profile, secret = cli_profile
    _sign_in(monkeypatch, secret)
    assert run(profile, "settings", "set", key, value) == 2
    assert says in capsys.readouterr().err
    assert _stored(profile, secrets) == (10, [])
