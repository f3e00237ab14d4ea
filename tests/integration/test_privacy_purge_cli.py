"""``muttefik purge`` run in-process on a temp profile with the terminal sign-in: a dry
run says what it would erase and changes nothing, a run erases the expired buyer only,
``--as-of`` a later day erases what expires by then; the counts are printed per kind."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app import bootstrap
from app.amazon import orders_repo
from app.amazon.models import OrderStatus
from app.auth import totp
from app.clock import SystemClock
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import answer_prompts, cli_profile, run  # noqa: F401
from tests.helpers.inbox import add_store
from tests.helpers.orders import make
from tests.helpers.privacy import found, markers, put_buyer
from tests.helpers.world import ADMIN_PW

pytestmark = pytest.mark.integration

OLD, RECENT = 11, 12  # buyers of an order delivered 40 days ago, and 5 days ago
DAY = timedelta(days=1)


@pytest.fixture
def shop(
    cli_profile: tuple[Profile, str],  # noqa: F811
    secrets: SecretStore,
) -> Iterator[tuple[Profile, str]]:
    profile, secret = cli_profile
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        add_store(vault)
        now = datetime.now(UTC)
        orders = {
            OLD: make(OLD, status=OrderStatus.SHIPPED, delivered_at=now - 40 * DAY),
            RECENT: make(RECENT, status=OrderStatus.SHIPPED, delivered_at=now - 5 * DAY),
        }
        vault.call_write(lambda c: orders_repo.upsert_orders(c, orders.values(), now=now))
        for n, order in orders.items():
            put_buyer(vault, n, order.order_id, now - 60 * DAY)
    finally:
        vault.close()
    yield profile, secret


class Purge:
    """``muttefik purge ARGS`` signed in as the admin, each run a minute later than the
    one before with that minute's code (a code is accepted once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, profile: Profile, secret: str) -> None:
        self.monkeypatch, self.profile, self.secret = monkeypatch, profile, secret
        self.runs = 0

    def __call__(self, *args: str) -> int:
        self.runs += 1
        shift = timedelta(minutes=self.runs)
        real = SystemClock.now
        self.monkeypatch.setattr(SystemClock, "now", lambda clock: real(clock) + shift)
        code = totp.code_at(self.secret, datetime.now(UTC) + shift)
        answer_prompts(self.monkeypatch, "admin", ADMIN_PW, code)
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        try:
            return run(self.profile, "purge", *args)
        finally:
            self.monkeypatch.setattr(SystemClock, "now", real)


def markers_left(profile: Profile, secrets: SecretStore, n: int) -> list[str]:
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        return found(vault, n)
    finally:
        vault.close()


def test_purge_from_the_terminal(
    shop: tuple[Profile, str],
    secrets: SecretStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile, secret = shop
    purge = Purge(monkeypatch, profile, secret)
    assert purge("--dry-run") == 0
    out = capsys.readouterr().out
    assert (
        "Would erase: buyer data of 1 conversation, 2 messages re-written, 1 draft, "
        "1 attachment name. Nothing was changed (dry run)." in out
    )
    assert markers_left(profile, secrets, OLD) == list(markers(OLD))

    assert purge() == 0
    out = capsys.readouterr().out
    assert "Erased: buyer data of 1 conversation, 2 messages re-written" in out
    assert markers_left(profile, secrets, OLD) == []
    assert markers_left(profile, secrets, RECENT) == list(markers(RECENT))
    for value in markers(OLD).values():
        assert value not in out

    later = (datetime.now(UTC) + 26 * DAY).strftime("%Y-%m-%d")
    assert purge("--as-of", later) == 0
    assert "Erased: buyer data of 1 conversation" in capsys.readouterr().out
    assert markers_left(profile, secrets, RECENT) == []

    assert purge() == 0
    assert "Erased: nothing." in capsys.readouterr().out


def test_a_bad_date_is_refused(
    shop: tuple[Profile, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    profile, secret = shop
    with pytest.raises(SystemExit) as stopped:
        Purge(monkeypatch, profile, secret)("--as-of", "tomorrow")
    assert stopped.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
