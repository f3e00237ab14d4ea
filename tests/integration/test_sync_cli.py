"""``muttefik sync --store NAME``: an operator signs in, the real client syncs over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app import bootstrap
from app.amazon.spapi import clear_token_cache
from app.audit import Action
from app.auth import totp
from app.demo.fake_spapi import FakeSpApi
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import add_store, answer_prompts, run
from tests.helpers.world import ADMIN_PW

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Any:
    clear_token_cache()
    with FakeSpApi(orders=150, seed=3, speed=None, settle_seconds=0) as srv:
        yield srv
    clear_token_cache()


def test_sync_signs_in_syncs_and_audits_the_operator(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    add_store(profile, secrets, server)
    answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
    assert run(profile, "sync", "--store", "Main") == 0
    out = capsys.readouterr().out
    assert "Syncing orders of Main" in out and "Done:" in out

    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        stored = vault.call(lambda c: c.execute("SELECT count(*) FROM orders").fetchone()[0])
        actors = vault.call(
            lambda c: c.execute(
                "SELECT DISTINCT actor_id FROM audit_log WHERE action = ?",
                (Action.SYNC_FINISHED,),
            ).fetchall()
        )
    finally:
        vault.close()
    assert stored > 0
    assert actors == [(1,)]  # the signed-in admin, not an anonymous command-line user


def test_sync_refuses_a_wrong_code(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, _ = cli_profile
    add_store(profile, secrets, server)
    answer_prompts(monkeypatch, "admin", ADMIN_PW, "000000")
    assert run(profile, "sync", "--store", "Main") == 2
    assert server.request_count("searchOrders") == 0
