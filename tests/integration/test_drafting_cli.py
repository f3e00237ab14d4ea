"""``muttefik draft --thread ID [--provider NAME]`` run in-process on a temp profile
(the real CLI, the real services and vault, the sign-in prompts answered): a template
draft offline, and a streamed draft from the fake AI provider on loopback, whose
recorded request holds none of the buyer's data.  Nothing is sent or saved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app import bootstrap
from app.amazon import orders_repo
from app.amazon.models import DeliveryState, Order, OrderItem, OrderStatus, Package
from app.auth import totp
from app.auth.store import load_actor
from app.clock import SystemClock
from app.demo.fake_ai import FakeAI
from app.mail import repo
from app.mail.models import Direction
from app.mail.parse import parse_email
from app.paths import Profile
from app.secrets import SecretStore
from app.services import Core, build_services
from tests.helpers.cli import add_store, answer_prompts, cli_profile, run  # noqa: F401
from tests.helpers.emails import relay_email
from tests.helpers.world import ADMIN_PW

pytestmark = pytest.mark.integration

ORDER = "114-5550101-7654321"
BUYER_TEXT = (
    "Hello, I'm Cherri Lynn. The kettle arrived broken, the glass is cracked.\n"
    "You can call me on 206-555-0199.\nThanks,\nCherri"
)


def _sign_in(monkeypatch: pytest.MonkeyPatch, secret: str, later: int) -> None:
    code = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30 * later))
    answer_prompts(monkeypatch, "admin", ADMIN_PW, code)


@pytest.fixture
def seeded(
    cli_profile: tuple[Profile, str],  # noqa: F811
    secrets: SecretStore,
) -> Iterator[tuple[Profile, str, int, FakeAI]]:
    """Store "Main" with one shipped order and one buyer thread about it; the fake AI
    provider saved as "Fake AI" (its key in the keychain)."""
    profile, secret = cli_profile
    add_store(profile, secrets)
    now = datetime.now(UTC)
    order = Order(
        order_id=ORDER,
        store_id=1,
        marketplace_id="ATVPDKIKX0DER",
        marketplace_name="Amazon.com",
        status=OrderStatus.SHIPPED,
        purchase_date=now - timedelta(days=3),
        last_updated=now,
        fulfillment_channel="MFN",
        items=(OrderItem("1", "B0TESTKETL", "KET-1", "Glass Kettle 1.7 l", 1),),
        packages=(Package("p1", "UPS", "1Z999AA10123456784", ship_time=now - timedelta(days=2)),),
        delivery_state=DeliveryState.DELIVERED,
    )
    raw = relay_email(order_id=ORDER, text=BUYER_TEXT, buyer="Cherri Lynn", date=now)
    with FakeAI(api_key="sk-cli-test") as ai:
        vault, _ = bootstrap.open_vault(profile, secrets)
        core = Core(profile=profile, vault=vault, secrets=secrets)
        try:
            vault.call_write(lambda c: orders_repo.upsert_orders(c, [order], now=now))
            parsed = parse_email(raw)
            stored = vault.call_write(
                lambda c: repo.store_message(
                    c, 1, parsed, direction=Direction.IN, folder="INBOX", source_key="k1", now=now
                )
            )
            admin = vault.call(lambda c: load_actor(c, 1))
            assert admin is not None
            build_services(core).drafting.save_provider(
                admin, ai.provider_config(name="Fake AI"), "sk-cli-test"
            )
        finally:
            core.close()
        yield profile, secret, int(stored.thread_id), ai


def test_draft_prints_a_template_draft_and_a_streamed_ai_draft(
    seeded: tuple[Profile, str, int, FakeAI],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile, secret, thread, ai = seeded

    _sign_in(monkeypatch, secret, 0)
    assert run(profile, "draft", "--thread", str(thread)) == 0
    captured = capsys.readouterr()
    text = captured.out.split("\n", 1)[-1]  # after the sign-in's lines
    assert "arrived damaged or is not working" in text and ORDER in text
    assert "Glass Kettle 1.7 l" in text and "Cherri" not in captured.out
    assert "Templates draft (damaged, en, template builtin:en-US:damaged)" in captured.err
    assert "{buyer_first_name}" in captured.err and "Nothing was sent." in captured.err
    assert ai.requests == []  # templates never reach a provider

    _sign_in(monkeypatch, secret, 1)
    assert run(profile, "draft", "--thread", str(thread), "--provider", "Fake AI") == 0
    captured = capsys.readouterr()
    assert "Fake AI draft (damaged, en)" in captured.err
    (request,) = ai.requests
    assert request.stream
    sent = request.raw.decode().lower()
    for pii in ("cherri", "lynn", "555-0199", "marketplace.amazon"):
        assert pii not in sent, pii
    assert "kettle arrived broken" in sent and ORDER in sent

    # A sign-in code is taken once and only newer ones after it: a minute on.
    later = SystemClock.now
    monkeypatch.setattr(SystemClock, "now", lambda self: later(self) + timedelta(seconds=60))
    _sign_in(monkeypatch, secret, 2)
    assert run(profile, "draft", "--thread", str(thread), "--json") == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(line)
    assert set(result) == {
        "thread_id", "provider", "intent", "language", "template_id", "placeholders", "text",
    }  # fmt: skip
    assert (result["provider"], result["intent"]) == ("Templates", "damaged")
    assert result["placeholders"] == ["{buyer_first_name}"]


def test_an_unknown_thread_is_said_in_words(
    seeded: tuple[Profile, str, int, FakeAI],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile, secret, _thread, _ai = seeded
    _sign_in(monkeypatch, secret, 0)
    assert run(profile, "draft", "--thread", "999") == 2
    assert "Conversation not found" in capsys.readouterr().err
