"""The drafting door: template drafts for real stored threads and orders (intent,
language, locale, placeholders, no buyer PII in the draft), the audit entries without
text, personalising locally, and the providers / templates / knowledge settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import settings
from app.amazon import orders_repo
from app.amazon.models import DeliveryState, Order, OrderItem, OrderStatus, Package
from app.audit import AuditFilter, make_audit_log
from app.audit_service import AuditService
from app.auth.models import Actor
from app.auth.rbac import Role
from app.drafting.models import Intent, ProviderConfig, ProviderKind
from app.drafting.service import (
    TEMPLATES,
    BuiltinReadOnly,
    DraftService,
    Knowledge,
    ProviderNotFound,
    ProviderSettingsInvalid,
    Template,
    TemplateNotFound,
    secret_name,
)
from app.errors import PermissionDenied
from app.mail import repo
from app.mail.models import Direction
from app.mail.parse import parse_email
from app.notices import SettingsChanged
from app.services import Core
from tests.helpers import fake_ai as fake_ai_helper
from tests.helpers.emails import relay_email
from tests.helpers.fake_ai import API_KEY, FakeAI
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)
AGENT = Actor(id=2, username="bora", display_name="Bora", role=Role.AGENT, store_ids=frozenset({1}))
ORDER = "111-5550101-7654321"
ORDER_DE = "302-5550101-7654321"
ORDER_AFN = "113-5550101-7654321"


@dataclass
class World:
    core: Core
    drafting: DraftService
    audit: AuditService

    def thread(self, text: str, *, order_id: str | None = ORDER, **kw: Any) -> int:
        parsed = parse_email(
            relay_email(order_id=order_id, text=text, date=self.core.clock.now(), **kw)
        )
        stored = self.core.vault.call_write(
            lambda c: repo.store_message(
                c, 1, parsed, direction=Direction.IN, folder="INBOX",
                source_key=parsed.message_id, now=self.core.clock.now(),
            )
        )  # fmt: skip
        return int(stored.thread_id)

    def entries(self, action: str) -> list[Any]:
        return self.audit.read(
            ADMIN, lambda r: r.entries(r.seqs(AuditFilter(action=action), limit=50))
        ).result()


def _order(order_id: str, marketplace: str, *, shipped: bool = True) -> Order:
    day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return Order(
        order_id=order_id,
        store_id=1,
        marketplace_id=marketplace,
        marketplace_name="Amazon.com",
        status=OrderStatus.SHIPPED if shipped else OrderStatus.UNSHIPPED,
        purchase_date=day - timedelta(days=2),
        last_updated=day,
        fulfillment_channel="MFN" if shipped else "AFN",
        deliver_by_earliest=day + timedelta(days=3),
        deliver_by_latest=day + timedelta(days=5),
        items=(OrderItem("1", "B0TESTKETL", "KET-1", "Glass Kettle 1.7 l", 1),),
        packages=(
            (Package("p1", carrier="UPS", tracking_number="1Z999AA10123456784", ship_time=day),)
            if shipped
            else ()
        ),
        delivery_state=DeliveryState.IN_TRANSIT,
    )


@pytest.fixture
def world(core: Core) -> Iterator[World]:
    core.vault.call_write(
        lambda c: c.executemany(
            "INSERT INTO stores(id, name, created_at) VALUES (?, ?, ?)",
            [(1, "Main", "2026-01-01T00:00:00Z"), (2, "Other", "2026-01-01T00:00:00Z")],
        )
    )
    put_operator(core.vault, ADMIN)
    put_operator(core.vault, AGENT)
    core.vault.call_write(
        lambda c: orders_repo.upsert_orders(
            c,
            [
                _order(ORDER, "ATVPDKIKX0DER"),
                _order(ORDER_DE, "A1PA6795UKMFR9"),
                _order(ORDER_AFN, "ATVPDKIKX0DER", shipped=False),
            ],
            now=core.clock.now(),
        )
    )
    audit_log = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    drafting = DraftService(
        vault=core.vault,
        secrets=core.secrets,
        clock=core.clock,
        notices=core.notices,
        audit=audit_log,
        jobs=core.jobs,
    )
    yield World(core, drafting, AuditService(vault=core.vault, audit=audit_log))


# --- template drafts --------------------------------------------------------------------


def test_a_broken_kettle_gets_the_damaged_template_filled_from_the_order(world: World) -> None:
    thread = world.thread("Hi, the kettle arrived broken, the glass is cracked. Cherri")
    draft = world.drafting.draft(AGENT, thread)
    assert draft.provider == "Templates"
    assert draft.intent is Intent.DAMAGED
    assert draft.template_id == "builtin:en-US:damaged"
    assert draft.language == "en"
    assert ORDER in draft.text and "Glass Kettle 1.7 l" in draft.text
    assert "Cherri" not in draft.text  # personal values only at send time
    assert draft.placeholders == ("{buyer_first_name}",)


def test_where_is_my_order_names_carrier_tracking_and_dates_in_us_style(world: World) -> None:
    thread = world.thread("Hello, where is my order? It has not arrived yet.")
    draft = world.drafting.draft(AGENT, thread)
    assert draft.intent is Intent.WHERE_IS_MY_ORDER
    assert "UPS" in draft.text and "1Z999AA10123456784" in draft.text
    assert "March 2, 2026" in draft.text  # ship date
    assert "March 5, 2026 – March 7, 2026" in draft.text  # delivery window


def test_a_value_the_order_lacks_becomes_a_clear_placeholder(world: World) -> None:
    thread = world.thread("Where is my package? Still waiting for my order.", order_id=ORDER_AFN)
    draft = world.drafting.draft(AGENT, thread)
    assert draft.intent is Intent.WHERE_IS_MY_ORDER
    assert "[tracking number]" in draft.text and "[carrier]" in draft.text
    assert "[tracking number]" in draft.placeholders


def test_a_german_buyer_on_amazon_de_gets_the_german_template(world: World) -> None:
    thread = world.thread(
        "Hallo, mein Paket ist leider beschädigt angekommen. Der Wasserkocher ist kaputt.",
        order_id=ORDER_DE,
        marketplace="amazon.de",
        lang="de",
    )
    draft = world.drafting.draft(AGENT, thread)
    assert (draft.intent, draft.language) == (Intent.DAMAGED, "de")
    assert draft.template_id == "builtin:de-DE:damaged"
    assert draft.text.startswith("Hallo {buyer_first_name},")


def test_a_uk_buyer_gets_british_english(world: World) -> None:
    thread = world.thread(
        "Could you send me a VAT invoice for this order please?", marketplace="amazon.co.uk"
    )
    draft = world.drafting.draft(AGENT, thread)
    assert draft.intent is Intent.INVOICE_VAT
    assert draft.template_id == "builtin:en-GB:invoice_vat"


def test_a_presale_question_without_an_order_still_gets_a_draft(world: World) -> None:
    thread = world.thread(
        "Is this kettle dishwasher safe? What material is the lid?", order_id=None
    )
    draft = world.drafting.draft(AGENT, thread)
    assert draft.intent is Intent.PRODUCT_QUESTION
    assert "[item]" in draft.text


def test_the_seller_s_own_template_comes_before_the_built_in_one(world: World) -> None:
    mine = world.drafting.save_template(
        ADMIN, Template("", "Our damage reply", Intent.DAMAGED, "en-US", "Sorry! {order_id}")
    )
    thread = world.thread("The mug arrived smashed.")
    draft = world.drafting.draft(AGENT, thread)
    assert draft.template_id == mine.id and draft.text == f"Sorry! {ORDER}"


def test_a_chosen_template_is_used_whatever_the_intent(world: World) -> None:
    thread = world.thread("The mug arrived smashed.")
    draft = world.drafting.draft(AGENT, thread, template_id="builtin:en-US:invoice_vat")
    assert draft.template_id == "builtin:en-US:invoice_vat"
    with pytest.raises(TemplateNotFound):
        world.drafting.draft(AGENT, thread, template_id="builtin:xx:nothing")


def test_a_draft_is_audited_without_its_text(world: World) -> None:
    thread = world.thread("The kettle arrived broken.")
    draft = world.drafting.draft(AGENT, thread)
    (entry,) = world.entries("draft_created")
    assert entry.actor_id == AGENT.id and entry.object_id == str(thread)
    assert entry.details == {
        "provider_kind": "templates",
        "intent": "damaged",
        "language": "en",
        "chars": len(draft.text),
    }


def test_only_who_may_reply_in_the_store_may_draft(world: World) -> None:
    other_agent = Actor(
        id=3, username="cem", display_name="Cem", role=Role.AGENT, store_ids=frozenset({2})
    )
    put_operator(world.core.vault, other_agent)
    thread = world.thread("Where is my order?")
    with pytest.raises(PermissionDenied):
        world.drafting.draft(other_agent, thread)
    with pytest.raises(PermissionDenied):
        world.drafting.personalise(other_agent, thread, "Hi {buyer_first_name}")
    assert world.entries("draft_created") == []


def test_a_named_provider_that_is_not_set_up_is_refused(world: World) -> None:
    thread = world.thread("Where is my order?")
    with pytest.raises(ProviderNotFound):
        world.drafting.draft(AGENT, thread, provider="Nobody's model")


def test_warm_up_loads_the_language_model_off_the_caller_s_thread(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.drafting import language

    monkeypatch.setattr(language, "_identifier", None)
    world.drafting.warm_up().result(timeout=60)
    assert language._identifier is not None


# --- personalising ----------------------------------------------------------------------


def test_personalise_fills_the_first_name_and_name_placeholders_locally(world: World) -> None:
    thread = world.thread("Where is my order?", buyer="Cherri Lynn")
    text = world.drafting.personalise(
        AGENT, thread, "Hello {buyer_first_name},\n[NAME], order {order_id}."
    )
    assert text == f"Hello Cherri,\nCherri, order {ORDER}."


def test_personalise_without_a_known_name_drops_the_greeting_name(world: World) -> None:
    thread = world.thread("Where is my order?", buyer=None)
    text = world.drafting.personalise(AGENT, thread, "Hello {buyer_first_name},\nThanks [NAME]")
    assert text == "Hello,\nThanks [NAME]"


# --- providers --------------------------------------------------------------------------

LOCAL = ProviderConfig("Local llama", ProviderKind.OPENAI, "http://127.0.0.1:11434/v1", "llama3")


def test_providers_list_the_built_in_templates_first_and_keep_keys_in_the_keychain(
    world: World,
) -> None:
    seen: list[SettingsChanged] = []
    world.core.notices.subscribe(SettingsChanged, seen.append)
    world.drafting.save_provider(ADMIN, LOCAL, "sk-local")
    assert world.drafting.providers(AGENT).result() == [TEMPLATES, LOCAL]
    assert world.core.secrets.get(secret_name("Local llama")) == "sk-local"
    world.drafting.save_provider(ADMIN, LOCAL.__class__(**{**LOCAL.__dict__, "model": "m2"}), None)
    assert world.drafting.providers(ADMIN).result()[1].model == "m2"
    assert world.core.secrets.get(secret_name("Local llama")) == "sk-local"  # kept
    (entry, _) = world.entries("provider_saved")
    assert entry.details == {"kind": "openai"}
    assert SettingsChanged(frozenset({"drafting.providers"})) in seen


def test_removing_the_default_provider_returns_to_the_templates(world: World) -> None:
    world.drafting.save_provider(ADMIN, LOCAL, "sk-local")
    world.core.vault.call_write(
        lambda c: settings.put(
            c, settings.DRAFT_PROVIDER, "Local llama", now=world.core.clock.now()
        )
    )
    world.drafting.remove_provider(ADMIN, "local LLAMA")
    assert world.drafting.providers(ADMIN).result() == [TEMPLATES]
    assert world.core.secrets.get(secret_name("Local llama")) is None
    assert world.core.vault.call(lambda c: settings.get(c, settings.DRAFT_PROVIDER)) == "Templates"
    with pytest.raises(BuiltinReadOnly):
        world.drafting.remove_provider(ADMIN, "Templates")
    with pytest.raises(ProviderNotFound):
        world.drafting.remove_provider(ADMIN, "Local llama")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": " "}, "name"),
        ({"name": "templates"}, "built-in"),
        ({"base_url": "ftp://example.com"}, "https://"),
        ({"base_url": "http://models.example.com/v1"}, "localhost"),
        ({"model": ""}, "model"),
        ({"timeout_seconds": 0.0}, "timeout"),
    ],
)
def test_provider_settings_are_checked_in_words(
    world: World, change: dict[str, Any], words: str
) -> None:
    bad = ProviderConfig(**{**LOCAL.__dict__, **change})
    with pytest.raises(ProviderSettingsInvalid) as caught:
        world.drafting.save_provider(ADMIN, bad, None)
    assert words in caught.value.message
    assert world.drafting.providers(ADMIN).result() == [TEMPLATES]


def test_testing_the_built_in_provider_needs_no_network(world: World) -> None:
    assert "offline" in world.drafting.test_provider(ADMIN, TEMPLATES, None)


# --- templates and knowledge ------------------------------------------------------------


def test_templates_are_saved_changed_and_removed_and_built_ins_are_read_only(
    world: World,
) -> None:
    saved = world.drafting.save_template(
        ADMIN,
        Template("", " Late parcel ", Intent.DELIVERY_PROBLEM, "en-GB", "Sorry.", ("late", " ")),
    )
    assert saved.id.isdigit() and saved.title == "Late parcel" and saved.tags == ("late",)
    changed = world.drafting.save_template(
        ADMIN, Template(saved.id, "Late", Intent.OTHER, "fr", "Désolé.")
    )
    listed = world.drafting.templates(AGENT).result()
    assert listed[0] == changed and changed.intent is Intent.OTHER
    assert sum(t.builtin for t in listed) == 30  # 10 intents × en-US, en-GB, de-DE
    builtin = next(t for t in listed if t.builtin)
    with pytest.raises(BuiltinReadOnly):
        world.drafting.save_template(ADMIN, builtin)
    with pytest.raises(BuiltinReadOnly):
        world.drafting.remove_template(ADMIN, builtin.id)
    world.drafting.remove_template(ADMIN, saved.id)
    with pytest.raises(TemplateNotFound):
        world.drafting.remove_template(ADMIN, saved.id)
    assert [e.details for e in world.entries("template_saved")] == [
        {"intent": "other"},
        {"intent": "delivery_problem"},
    ]
    assert len(world.entries("template_removed")) == 1


def test_the_knowledge_base_is_saved_and_audited_without_its_text(world: World) -> None:
    assert world.drafting.knowledge(AGENT).result() == Knowledge()
    world.drafting.save_knowledge(ADMIN, Knowledge(tone="Warm and short.", policies="30 days."))
    assert world.drafting.knowledge(AGENT).result() == Knowledge("Warm and short.", "30 days.")
    (entry,) = world.entries("knowledge_saved")
    assert entry.details == {}
    with pytest.raises(PermissionDenied):
        world.drafting.save_knowledge(AGENT, Knowledge(tone="x"))


# --- AI drafts (the fake provider on loopback) ------------------------------------------

fake_ai = fake_ai_helper.fake_ai

BUYER_TEXT = (
    "Hi, I'm Cherri Lynn. The kettle arrived broken, the lid is cracked.\n"
    "Call me on +1 206 555 0100 or write to cherri.lynn@example.com.\n"
    "Thanks,\nCherri"
)


def _ai(world: World, fake_ai: FakeAI, kind: ProviderKind = ProviderKind.OPENAI) -> str:
    config = fake_ai.provider_config(kind, name=f"Fake {kind}")
    world.drafting.save_provider(ADMIN, config, API_KEY)
    return config.name


@pytest.mark.parametrize("kind", [ProviderKind.OPENAI, ProviderKind.ANTHROPIC])
def test_an_ai_draft_streams_and_the_provider_never_sees_the_buyer(
    world: World, fake_ai: FakeAI, kind: ProviderKind
) -> None:
    name = _ai(world, fake_ai, kind)
    thread = world.thread(BUYER_TEXT, buyer="Cherri Lynn")
    alias = world.core.vault.call(
        lambda c: c.execute("SELECT alias FROM threads WHERE id = ?", (thread,)).fetchone()[0]
    )
    chunks: list[str] = []
    draft = world.drafting.draft(AGENT, thread, provider=name, on_chunk=chunks.append)
    assert len(chunks) > 1 and draft.text == "".join(chunks).strip()
    assert (draft.provider, draft.intent, draft.language) == (name, Intent.DAMAGED, "en")
    (request,) = fake_ai.requests
    sent = request.raw.decode()
    for pii in ("Cherri", "Lynn", "555 0100", "example.com", alias.split("@")[0]):
        assert pii.lower() not in sent.lower(), pii
    assert ORDER in sent and "kettle arrived broken" in sent  # the request is useful
    (entry,) = world.entries("draft_created")
    assert entry.details["provider_kind"] == str(kind)


def test_the_default_provider_setting_is_used(world: World, fake_ai: FakeAI) -> None:
    name = _ai(world, fake_ai)
    world.core.vault.call_write(
        lambda c: settings.put(c, settings.DRAFT_PROVIDER, name, now=world.core.clock.now())
    )
    draft = world.drafting.draft(AGENT, world.thread("Where is my order?"))
    assert draft.provider == name and len(fake_ai.requests) == 1


def test_a_request_still_holding_pii_is_stopped_audited_and_never_sent(
    world: World, fake_ai: FakeAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.pii
    from app.drafting.guard import PIIBlocked
    from app.pii.models import Redaction

    name = _ai(world, fake_ai)
    monkeypatch.setattr(app.pii, "redact", lambda text, known, **kw: Redaction(text))  # a miss
    thread = world.thread(BUYER_TEXT, buyer="Cherri Lynn")
    with pytest.raises(PIIBlocked) as caught:
        world.drafting.draft(AGENT, thread, provider=name)
    assert "Nothing was sent" in caught.value.message
    assert fake_ai.requests == []
    (entry,) = world.entries("draft_blocked")
    assert entry.details == {"kind": "name", "provider_kind": "openai"}
    assert world.entries("draft_created") == []
