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


def test_sync_with_history_days_loads_the_history_through_reports_first(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    clear_token_cache()
    with FakeSpApi(orders=150, seed=3, speed=None, settle_seconds=0, report_delay=(0, 0)) as srv:
        add_store(profile, secrets, srv)
        answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
        assert run(profile, "sync", "--store", "Main", "--history-days", "45") == 0
        assert srv.request_count("createReport") == 2  # 45 days: 30 + 15
    clear_token_cache()
    out = capsys.readouterr().out
    assert "Loading the order history of Main through Amazon's order reports" in out
    assert "2 of 2 reports" in out
    assert "Order history loaded:" in out
    assert out.index("Order history loaded:") < out.index("Syncing orders of Main")
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        audited = vault.call(
            lambda c: c.execute(
                "SELECT count(*) FROM audit_log WHERE action = 'order_history_loaded'"
            ).fetchone()[0]
        )
    finally:
        vault.close()
    assert audited == 1


def test_history_days_out_of_range_is_refused(
    cli_profile: tuple[Profile, str], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, _secret = cli_profile
    with pytest.raises(SystemExit) as exited:
        run(profile, "sync", "--store", "Main", "--history-days", "900")
    assert exited.value.code == 2
    assert "give between 1 and 730 days" in capsys.readouterr().err
