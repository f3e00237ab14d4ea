"""Deletion requests and erasing one subject against a real vault: due dates (Amazon's
72 h, others 30 days), an alias erased leaves no marker of that buyer in any value of
any table while another buyer's stay, including_messages deletes the messages (search
rows too), the completed request keeps a keyed hash instead of the alias, the audit
entry holds counts only, and only admins may do any of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.audit import AuditFilter, make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Role
from app.errors import PermissionDenied
from app.notices import ThreadsChanged
from app.privacy import subjects
from app.privacy.models import RequestSource, RequestState, Subject, SubjectKind
from app.privacy.subjects import RequestNotFound, SubjectInvalid, SubjectService
from app.services import Core
from tests.helpers.emails import relay_alias
from tests.helpers.inbox import add_store, put_buyer_message, put_seller_reply
from tests.helpers.labels import every_value, put_order
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)
AGENT = Actor(id=2, username="bob", display_name="Bob", role=Role.AGENT, store_ids=frozenset({1}))
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# Buyer one (erased) and buyer two (kept): unique markers in alias, name and text.
ONE_ALIAS, ONE_NAME, ONE_ORDER = "qzalphamark1", "Zephyrinequx", "111-0000001-0000001"
TWO_ALIAS, TWO_NAME, TWO_ORDER = "qzbetamark22", "Orlandovex", "111-0000002-0000002"


@pytest.fixture
def service(core: Core) -> SubjectService:
    add_store(core.vault)
    put_operator(core.vault, ADMIN)
    put_operator(core.vault, AGENT)
    audit = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    return SubjectService(
        vault=core.vault,
        clock=core.clock,
        notices=core.notices,
        audit=audit,
        secrets=core.secrets,
    )


def _seed(core: Core) -> None:
    for alias, name, order in ((ONE_ALIAS, ONE_NAME, ONE_ORDER), (TWO_ALIAS, TWO_NAME, TWO_ORDER)):
        put_order(core.vault, order)
        put_buyer_message(
            core.vault,
            now=NOW,
            received=NOW - timedelta(hours=3),
            alias=alias,
            order_id=order,
            text=f"Hello, {name} here. Where is my parcel?",
            buyer=name,
            attachments=[(f"{name}-photo.png", "image/png", b"\x89PNG")],
        )
        put_seller_reply(
            core.vault,
            now=NOW,
            sent=NOW - timedelta(hours=1),
            alias=alias,
            order_id=order,
            text=f"Dear {name}, it is on its way.",
        )


def _alias(local: str) -> Subject:
    return Subject(SubjectKind.ALIAS, relay_alias(local))


def _hash(core: Core, alias: str) -> str:
    assert core.vault.audit_key is not None
    key = subjects.subject_hash_key(core.vault.audit_key)
    assert key != core.vault.audit_key
    return subjects.alias_hash(key, alias)


def _values(core: Core) -> str:
    return core.vault.call(every_value)


def test_due_dates_amazon_72_hours_others_30_days(service: SubjectService) -> None:
    received = datetime(2026, 10, 30, 8, 0, tzinfo=UTC)
    order = Subject(SubjectKind.ORDER, ONE_ORDER)
    amazon = service.register(ADMIN, RequestSource.AMAZON, order, received)
    seller = service.register(ADMIN, RequestSource.SELLER, order, received)
    buyer = service.register(
        ADMIN, RequestSource.BUYER, _alias(ONE_ALIAS), received, including_messages=True
    )
    assert amazon.due_at == received + timedelta(hours=72)
    assert seller.due_at == received + timedelta(days=30)
    assert buyer.due_at == received + timedelta(days=30)
    assert buyer.including_messages and buyer.state is RequestState.OPEN
    listed = service.requests(ADMIN).result()
    assert [r.id for r in listed] == [amazon.id, seller.id, buyer.id]  # due soonest first
    assert listed[2].subject.value == relay_alias(ONE_ALIAS)


def test_subjects_are_checked_and_normalised(service: SubjectService) -> None:
    at = NOW
    with pytest.raises(SubjectInvalid):
        service.register(ADMIN, RequestSource.SELLER, Subject(SubjectKind.ORDER, "x y"), at)
    with pytest.raises(SubjectInvalid):
        service.register(ADMIN, RequestSource.SELLER, Subject(SubjectKind.ALIAS, "nobody"), at)
    shouted = Subject(SubjectKind.ALIAS, " " + relay_alias(ONE_ALIAS).upper())
    made = service.register(ADMIN, RequestSource.SELLER, shouted, at)
    assert made.subject.value == relay_alias(ONE_ALIAS)


def test_execute_for_an_alias_deleting_messages_leaves_nothing_of_that_buyer(
    core: Core, service: SubjectService
) -> None:
    _seed(core)
    seen: list[ThreadsChanged] = []
    core.notices.subscribe(ThreadsChanged, seen.append)
    request = service.register(
        ADMIN, RequestSource.BUYER, _alias(ONE_ALIAS), NOW, including_messages=True
    )
    assert ONE_ALIAS in _values(core)

    done = service.execute(ADMIN, request.id)

    assert done.state is RequestState.DONE and done.completed_at == NOW
    assert done.counts is not None
    assert (done.counts.threads, done.counts.messages_deleted) == (1, 2)
    assert done.counts.attachments == 1
    assert done.subject.value.startswith(subjects.HASH_PREFIX)
    assert done.subject.value == _hash(core, relay_alias(ONE_ALIAS))
    values = _values(core)
    for marker in (ONE_ALIAS, ONE_NAME):
        assert marker not in values, marker
        assert marker.lower() not in values.lower(), marker
    for marker in (TWO_ALIAS, TWO_NAME):
        assert marker in values, marker  # the scan works, and the other buyer stays
    # The search index holds nothing of the deleted messages.
    hits = core.vault.call(
        lambda c: c.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (f'"{ONE_NAME}"',)
        ).fetchone()[0]
    )
    assert hits == 0
    assert seen and seen[-1].store_ids == frozenset({1})
    assert ONE_ORDER in values  # the order itself (no PII) stays


def test_execute_for_an_alias_erases_its_pii_and_keeps_the_conversation(
    core: Core, service: SubjectService
) -> None:
    _seed(core)
    request = service.register(ADMIN, RequestSource.AMAZON, _alias(ONE_ALIAS), NOW)

    done = service.execute(ADMIN, request.id)

    assert done.counts is not None
    assert (done.counts.threads, done.counts.messages_deleted) == (1, 0)
    assert done.counts.messages >= 1 and done.counts.attachments == 1
    assert done.subject.value == _hash(core, relay_alias(ONE_ALIAS))
    values = _values(core)
    for marker in (ONE_ALIAS, ONE_NAME):
        assert marker.lower() not in values.lower(), marker
    for marker in (TWO_ALIAS, TWO_NAME):
        assert marker in values, marker
    kept = core.vault.call(
        lambda c: c.execute(
            "SELECT count(*) FROM messages m JOIN threads t ON t.id = m.thread_id "
            "WHERE t.order_id = ? AND m.body LIKE '%parcel%'",
            (ONE_ORDER,),
        ).fetchone()[0]
    )
    assert kept == 1  # the conversation stays readable, without the buyer
    found = core.vault.call(
        lambda c: c.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (f'"{ONE_NAME}"',)
        ).fetchone()[0]
    )
    assert found == 0


def test_erase_records_a_run_and_an_audit_entry_with_counts_only(
    core: Core, service: SubjectService
) -> None:
    _seed(core)
    counts = service.erase(ADMIN, _alias(ONE_ALIAS), including_messages=True)
    assert counts.messages_deleted == 2

    run = core.vault.call(
        lambda c: c.execute("SELECT kind, state, counts FROM privacy_runs").fetchall()
    )
    assert [(r[0], r[1]) for r in run] == [("erase", "done")]
    entries = core.vault.call(
        lambda c: service.audit.entries(
            c, service.audit.seqs(c, AuditFilter(action=subjects.SUBJECT_ERASED))
        )
    )
    assert len(entries) == 1
    assert entries[0].actor_id == ADMIN.id
    assert entries[0].details["kind"] == "alias"
    assert entries[0].details["messages_deleted"] == 2
    flat = repr(entries[0])
    assert ONE_ALIAS not in flat and ONE_NAME not in flat
    requests = service.requests(ADMIN, open_only=False).result()
    assert [r.state for r in requests] == [RequestState.DONE]


def test_execute_twice_and_unknown_request(core: Core, service: SubjectService) -> None:
    _seed(core)
    request = service.register(
        ADMIN,
        RequestSource.SELLER,
        Subject(SubjectKind.ORDER, ONE_ORDER),
        NOW,
        including_messages=True,
    )
    first = service.execute(ADMIN, request.id)
    again = service.execute(ADMIN, request.id)
    assert again == first
    assert first.subject.value == ONE_ORDER  # an order id is not PII: kept
    with pytest.raises(RequestNotFound):
        service.execute(ADMIN, 999)


def test_an_erased_order_also_loses_its_cached_labels(core: Core, service: SubjectService) -> None:
    _seed(core)

    def cache(conn: Any) -> None:
        conn.execute(
            "INSERT INTO shipments(id, store_id, order_id, state, label_format, created_at) "
            "VALUES (7, 1, ?, 'bought', 'PDF', '2026-11-01T00:00:00Z')",
            (ONE_ORDER,),
        )
        conn.execute(
            "INSERT INTO label_cache(shipment, doc_index, doc_type, doc_format, nonce, "
            "ciphertext, expires_at) VALUES (7, 0, 'LABEL', 'PDF', x'00', x'0102', "
            "'2026-11-02T00:00:00Z')"
        )

    core.vault.call_write(cache)
    counts = service.erase(ADMIN, Subject(SubjectKind.ORDER, ONE_ORDER), including_messages=True)
    assert counts.label_cache == 1
    left = core.vault.call(lambda c: c.execute("SELECT count(*) FROM label_cache").fetchone()[0])
    assert left == 0


def test_only_admins_manage_privacy(core: Core, service: SubjectService) -> None:
    _seed(core)
    order = Subject(SubjectKind.ORDER, ONE_ORDER)
    request = service.register(ADMIN, RequestSource.SELLER, order, NOW)
    with pytest.raises(PermissionDenied):
        service.register(AGENT, RequestSource.SELLER, order, NOW)
    with pytest.raises(PermissionDenied):
        service.requests(AGENT).result()
    with pytest.raises(PermissionDenied):
        service.execute(AGENT, request.id)
    with pytest.raises(PermissionDenied):
        service.erase(AGENT, order)
    with pytest.raises(PermissionDenied):
        service.export(AGENT, order)
    assert ONE_NAME in _values(core)  # nothing was erased
