"""``muttefik requests …``, ``export`` and ``erase`` run in-process on a temp profile with
the terminal sign-in: a request registered (Amazon's: due in 72 h) with the relay
address on standard input, listed, exported to a folder, carried out (the list no longer
shows the address), and an order erased with its messages; then no marker of either
buyer in any value of the data file while a third buyer's stay."""

from __future__ import annotations

import io
import json
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app import bootstrap
from app.auth import totp
from app.clock import SystemClock
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import answer_prompts, cli_profile, run  # noqa: F401
from tests.helpers.emails import relay_alias
from tests.helpers.inbox import add_store, put_buyer_message
from tests.helpers.labels import every_value, put_order
from tests.helpers.world import ADMIN_PW

pytestmark = pytest.mark.integration

# (alias local part, buyer name, order id): unique markers per buyer.
BUYERS = (
    ("qzclialpha01", "Zephyrinecli", "111-0000001-0000001"),
    ("qzclibeta002", "Orlandocli", "111-0000002-0000002"),
    ("qzcligamma03", "Ismeraldacli", "111-0000003-0000003"),
)


class Terminal:
    """Signs each command in with a fresh authenticator code (a code is taken once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
        self.monkeypatch = monkeypatch
        self.secret = secret
        self.step = 0
        self.real_now = SystemClock.now

    def __call__(self, profile: Profile, *args: str, stdin: str = "") -> int:
        self.step += 1
        shift = timedelta(seconds=60 * self.step)
        real = self.real_now
        self.monkeypatch.setattr(SystemClock, "now", lambda clock: real(clock) + shift)
        code = totp.code_at(self.secret, datetime.now(UTC) + shift)
        answer_prompts(self.monkeypatch, "admin", ADMIN_PW, code)
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return run(profile, *args)


@pytest.fixture
def shop(
    cli_profile: tuple[Profile, str],  # noqa: F811
    secrets: SecretStore,
) -> Iterator[tuple[Profile, str]]:
    """Three buyers, each with an order and a message carrying their markers."""
    profile, secret = cli_profile
    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        add_store(vault)
        now = datetime.now(UTC)
        for alias, name, order in BUYERS:
            put_order(vault, order)
            put_buyer_message(
                vault,
                now=now,
                received=now - timedelta(hours=2),
                alias=alias,
                order_id=order,
                text=f"Hello, {name} here: where is my parcel?",
                buyer=name,
            )
    finally:
        vault.close()
    yield profile, secret


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_requests_export_and_erase_from_the_terminal(
    shop: tuple[Profile, str],
    secrets: SecretStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    profile, secret = shop
    terminal = Terminal(monkeypatch, secret)
    one, two, three = BUYERS
    alias_one = relay_alias(one[0])

    code = terminal(
        profile,
        *("requests", "add", "--source", "amazon", "--alias", "-", "--received", "2026-11-01"),
        stdin=alias_one + "\n",
    )
    assert code == 0
    (added,) = _lines(capsys.readouterr().out)
    assert added["subject"] == alias_one and added["state"] == "open"
    received = datetime.fromisoformat(added["received_at"])
    assert datetime.fromisoformat(added["due_at"]) - received == timedelta(hours=72)

    assert terminal(profile, "requests", "list") == 0
    assert [r["id"] for r in _lines(capsys.readouterr().out)] == [added["id"]]

    out_dir = tmp_path / "answers"
    out_dir.mkdir()
    code = terminal(profile, "export", "--alias", "-", "--out", str(out_dir), stdin=alias_one)
    assert code == 0
    paths = [Path(p) for p in capsys.readouterr().out.split()]
    assert [p.name for p in paths] == ["export.json", "export.html"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths)
    exported = json.loads(paths[0].read_text(encoding="utf-8"))
    assert [o["order_id"] for o in exported["orders"]] == [one[2]]
    assert one[1] in exported["threads"][0]["messages"][0]["body"]

    assert terminal(profile, "requests", "run", "--id", str(added["id"])) == 0
    (done,) = _lines(capsys.readouterr().out)
    assert done["state"] == "done" and done["subject"] is None
    assert done["counts"]["threads"] == 1
    assert terminal(profile, "requests", "list") == 0
    assert _lines(capsys.readouterr().out) == []
    assert terminal(profile, "requests", "list", "--all") == 0
    listed = capsys.readouterr().out
    assert alias_one not in listed and '"subject": null' in listed

    code = terminal(profile, "erase", "--order", two[2], "--including-messages")
    assert code == 0
    printed = capsys.readouterr().out
    assert "Erased the buyer data of order" in printed
    assert "messages deleted: 1" in printed

    vault, _ = bootstrap.open_vault(profile, secrets)
    try:
        values = vault.call(every_value).lower()
    finally:
        vault.close()
    for alias, name, _order in (one, two):
        assert alias not in values and name.lower() not in values, name
    assert three[0] in values and three[1].lower() in values  # the scan works
    for path in paths:  # the seller's export is theirs: the app leaves it alone
        assert path.exists()


def test_a_bad_subject_is_refused_before_signing_in(
    shop: tuple[Profile, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile, secret = shop
    terminal = Terminal(monkeypatch, secret)
    assert terminal(profile, "erase", "--alias", "-", stdin="not an address\n") == 2
    err = capsys.readouterr().err
    assert "relay address" in err and "not an address" not in err
