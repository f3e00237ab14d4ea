"""``muttefik stores add|edit|remove`` on a real vault: an admin signs in on the terminal,
the secrets come from standard input, the store service checks and records the change."""

from __future__ import annotations

import builtins
import getpass
import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app import bootstrap
from app.amazon.models import Region, Store
from app.amazon.stores import load_stores, secret_name
from app.audit import Action
from app.auth import totp
from app.clock import FakeClock
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import run
from tests.helpers.world import ADMIN_PW, make_world

SECRET = "amzn1.oa2-cs.v1.secret-from-stdin"
TOKEN = "Atzr|IwEB-refresh-token-from-stdin"
ADD = (
    "stores",
    "add",
    "Main shop",
    "--region",
    "EU",
    "--marketplace",
    "a1pa6795ukmfr9",
    "--marketplace",
    "A1F83G8C2ARO7P",
    "--client-id",
    "amzn1.application-oa2-client.abc",
)


@pytest.fixture
def cli_admin(
    profile: Profile, secrets: SecretStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Profile, Iterator[str]]]:
    """A profile with an admin and the memory keychain, and the second factors the admin
    can give one after the other (each TOTP code is accepted once: two codes, then the
    recovery codes)."""
    monkeypatch.setattr(bootstrap, "secret_store_for", lambda p: secrets)
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        clock = FakeClock(datetime.now(UTC) - timedelta(hours=1))
        _, secret, recovery = make_world(vault, clock, secrets=secrets).create_admin()
    finally:
        vault.close()
    now = datetime.now(UTC)
    codes = [totp.code_at(secret, now), totp.code_at(secret, now + timedelta(seconds=30))]
    yield profile, iter([*codes, *recovery])


def sign_in_then(
    monkeypatch: pytest.MonkeyPatch, codes: Iterator[str], stdin: str, *lines: str
) -> None:
    """The admin signs in through the prompts (username, then password and code without
    echo); ``lines`` answer later plain prompts; ``stdin`` is what a script pipes in."""
    answers = iter(("admin", *lines))
    secrets_typed = iter((ADMIN_PW, next(codes)))
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(answers))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(secrets_typed))
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))


def stores_of(profile: Profile, secrets: SecretStore) -> list[Store]:
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        return vault.call(load_stores)
    finally:
        vault.close()


def actions(profile: Profile, secrets: SecretStore) -> list[tuple[str, int | None]]:
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        rows = vault.call(
            lambda c: c.execute(
                "SELECT action, actor_id FROM audit_log WHERE object_type = 'store' ORDER BY seq"
            ).fetchall()
        )
    finally:
        vault.close()
    return [(str(a), b) for a, b in rows]


def test_add_reads_the_secrets_from_standard_input_and_records_the_admin(
    cli_admin: tuple[Profile, Iterator[str]],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, codes = cli_admin
    sign_in_then(monkeypatch, codes, f"{SECRET}\n{TOKEN}\n")
    assert run(profile, *ADD) == 0
    out, err = capsys.readouterr()
    assert "Store Main shop added." in out
    assert SECRET not in out + err and TOKEN not in out + err

    [store] = stores_of(profile, secrets)
    assert (store.name, store.region) == ("Main shop", Region.EU)
    assert store.marketplace_ids == ("A1PA6795UKMFR9", "A1F83G8C2ARO7P")
    assert store.sp_api_endpoint is None and store.lwa_endpoint is None
    assert secrets.get(secret_name(store.id, "lwa-client-secret")) == SECRET
    assert secrets.get(secret_name(store.id, "refresh-token")) == TOKEN
    assert actions(profile, secrets) == [(Action.STORE_CREATED, 1)]


def test_secrets_are_not_accepted_as_arguments(
    cli_admin: tuple[Profile, Iterator[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    profile, _ = cli_admin
    with pytest.raises(SystemExit) as exc:
        run(profile, *ADD, "--client-secret", SECRET)
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_bad_settings_are_refused_before_anyone_signs_in(
    cli_admin: tuple[Profile, Iterator[str]],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, _ = cli_admin
    monkeypatch.setattr(builtins, "input", lambda prompt="": pytest.fail("asked to sign in"))
    bad = [a if a != "A1F83G8C2ARO7P" else "not-a-marketplace" for a in ADD]
    assert run(profile, *bad) == 2
    err = capsys.readouterr().err
    assert "Not an Amazon marketplace id" in err and "--marketplace" in err

    assert run(profile, *ADD, "--endpoint", "http://sandbox.example.com") == 2
    err = capsys.readouterr().err
    assert "not a secure (https) address" in err and "--endpoint" in err
    assert stores_of(profile, secrets) == []


def test_input_that_ends_before_the_refresh_token_adds_nothing(
    cli_admin: tuple[Profile, Iterator[str]],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, codes = cli_admin
    sign_in_then(monkeypatch, codes, f"{SECRET}\n")
    assert run(profile, *ADD) == 2
    assert "The input ended where the refresh token was asked for" in capsys.readouterr().err
    assert stores_of(profile, secrets) == []


def test_edit_changes_only_what_is_given_and_new_secrets_come_from_stdin(
    cli_admin: tuple[Profile, Iterator[str]],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, codes = cli_admin
    sign_in_then(monkeypatch, codes, f"{SECRET}\n{TOKEN}\n")
    assert run(profile, *ADD, "--endpoint", "https://sandbox.example.com/") == 0

    sign_in_then(monkeypatch, codes, "new-secret\nnew-token\n")
    edit = ("stores", "edit", "main SHOP", "--rename", "Outlet", "--token-url")
    assert run(profile, *edit, "https://lwa.example.com/token", "--credentials") == 0
    assert "Store Outlet saved." in capsys.readouterr().out
    [store] = stores_of(profile, secrets)
    assert (store.name, store.region) == ("Outlet", Region.EU)
    assert store.sp_api_endpoint == "https://sandbox.example.com"
    assert store.lwa_endpoint == "https://lwa.example.com/token"
    assert secrets.get(secret_name(store.id, "refresh-token")) == "new-token"

    sign_in_then(monkeypatch, codes, "")
    assert run(profile, "stores", "edit", "Outlet", "--default-endpoints") == 0
    [store] = stores_of(profile, secrets)
    assert store.sp_api_endpoint is None and store.lwa_endpoint is None
    assert secrets.get(secret_name(store.id, "lwa-client-secret")) == "new-secret"
    assert [a for a, _ in actions(profile, secrets)] == [
        Action.STORE_CREATED,
        Action.STORE_CHANGED,
        Action.STORE_CREDENTIALS_CHANGED,
        Action.STORE_CHANGED,
    ]


def test_remove_asks_for_the_name_unless_told_yes(
    cli_admin: tuple[Profile, Iterator[str]],
    secrets: SecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile, codes = cli_admin
    sign_in_then(monkeypatch, codes, f"{SECRET}\n{TOKEN}\n")
    assert run(profile, *ADD) == 0
    [store] = stores_of(profile, secrets)

    sign_in_then(monkeypatch, codes, "", "Other shop")
    assert run(profile, "stores", "remove", "Main shop") == 2
    assert "The store was not removed." in capsys.readouterr().err
    assert len(stores_of(profile, secrets)) == 1

    sign_in_then(monkeypatch, codes, "", " main  shop ")
    assert run(profile, "stores", "remove", "Main shop") == 0
    assert "Store Main shop removed." in capsys.readouterr().out
    assert stores_of(profile, secrets) == []
    assert secrets.get(secret_name(store.id, "refresh-token")) is None

    sign_in_then(monkeypatch, codes, "")
    assert run(profile, "stores", "remove", "Main shop", "--yes") == 2
    assert "There is no store named 'Main shop'" in capsys.readouterr().err
