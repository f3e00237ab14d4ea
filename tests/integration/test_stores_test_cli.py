"""``muttefik stores test --store NAME``: the store dialog's "Test connection" from the
terminal, through the real client over HTTP to the fake SP-API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.amazon.spapi import clear_token_cache
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


def test_a_working_store_reports_connected(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    add_store(profile, secrets, server)
    answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
    assert run(profile, "stores", "test", "--store", "main") == 0
    out = capsys.readouterr().out
    assert "Main: Connected" in out and "recent orders" in out
    assert server.request_count("searchOrders") == 1


def test_a_refused_secret_is_reported_in_the_sellers_words(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, secret = cli_profile
    add_store(profile, secrets, server, client_secret="amzn1.oa2-cs.v1.not-the-secret")
    answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
    assert run(profile, "stores", "test", "--store", "Main") == 2
    err = capsys.readouterr().err
    assert "Amazon sign-in failed" in err and "client secret" in err
    assert "not-the-secret" not in err
    assert server.request_count("searchOrders") == 0


def test_a_server_error_says_to_test_again_not_that_a_sync_retries(
    cli_profile: tuple[Profile, str],
    secrets: SecretStore,
    server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test has ended when the message is read: nothing "will try again shortly"."""
    from app.demo.fake_spapi_faults import Fault

    profile, secret = cli_profile
    add_store(profile, secrets, server)
    server.faults.set(Fault.SERVER_ERROR)
    answer_prompts(monkeypatch, "admin", ADMIN_PW, totp.code_at(secret, datetime.now(UTC)))
    assert run(profile, "stores", "test", "--store", "Main") == 2
    err = capsys.readouterr().err
    assert "try again shortly" not in err and "continues by itself" not in err
    assert "muttefik stores test --store Main" in err
