"""``muttefik mail add``, ``mail fetch`` and ``threads --json`` against a real dovecot and
a real aiosmtpd, in-process on a temp profile (the sign-in prompts answered)."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from app.auth import totp
from app.clock import SystemClock
from app.paths import Profile
from app.secrets import SecretStore
from tests.helpers.cli import add_store, answer_prompts, cli_profile, run  # noqa: F401
from tests.helpers.dovecot import ImapMailbox
from tests.helpers.emails import relay_alias, relay_email
from tests.helpers.smtp_server import SmtpServer
from tests.helpers.world import ADMIN_PW

pytestmark = pytest.mark.integration

ORDER = "114-5550101-7654321"


def _sign_in(monkeypatch: pytest.MonkeyPatch, secret: str, later: int) -> None:
    code = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30 * later))
    answer_prompts(monkeypatch, "admin", ADMIN_PW, code)


def test_connect_fetch_and_list_threads_headless(
    cli_profile: tuple[Profile, str],  # noqa: F811
    secrets: SecretStore,
    imap_mailbox: ImapMailbox,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile, secret = cli_profile
    add_store(profile, secrets)
    box, smtp = imap_mailbox, smtp_server
    _sign_in(monkeypatch, secret, 0)
    # Passwords come from standard input (never from arguments): IMAP, then SMTP.
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{box.password}\n{smtp.password}\n"))
    added = run(
        profile,
        "mail", "add", "--store", "Main", "--from", "seller@example.com",
        "--imap-host", box.server.host, "--imap-port", str(box.server.port),
        "--imap-security", "plain", "--imap-user", box.user,
        "--smtp-host", smtp.host, "--smtp-port", str(smtp.port),
        "--smtp-security", "plain", "--smtp-user", smtp.user,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert added == 0, out
    assert "Connected" in out and "is connected" in out
    assert box.password not in out
    assert secrets.get("mail:1:imap-password") == box.password

    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    alias = relay_alias("clibuyer")
    box.append(relay_email(order_id=ORDER, alias=alias, date=sent))
    box.append(relay_email(order_id=None, alias=relay_alias("clipresale")))
    box.append(b"From: a@b.example\r\nTo: seller@example.com\r\nSubject: hi\r\n\r\nhello\r\n")
    _sign_in(monkeypatch, secret, 1)
    assert run(profile, "mail", "fetch", "--store", "Main") == 0
    out = capsys.readouterr().out
    assert "seen 3, imported 2, skipped 1 (not Amazon), flagged 0" in out

    # A code is taken once and only newer ones after it: this sign-in happens a minute on.
    later = SystemClock.now
    monkeypatch.setattr(SystemClock, "now", lambda self: later(self) + timedelta(seconds=60))
    _sign_in(monkeypatch, secret, 2)
    assert run(profile, "threads", "--json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    keys = {
        "thread_id", "store", "alias", "order_id", "state",
        "last_buyer_message_at", "reply_due_at", "message_count",
    }  # fmt: skip
    assert all(set(line) == keys for line in lines)
    thread = next(line for line in lines if line["order_id"] == ORDER)
    assert thread["alias"] == alias.lower() and thread["store"] == "Main"
    assert thread["state"] == "needs_reply" and thread["message_count"] == 1
    due = datetime.fromisoformat(thread["reply_due_at"])
    assert due.utcoffset() is not None and due == sent + timedelta(hours=24)
