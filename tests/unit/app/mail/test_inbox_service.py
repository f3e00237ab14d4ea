"""The inbox door: reads bound to the caller as stored now and limited to its stores,
writes checked for reply_to_buyers on the thread's store, notices after commit, the
"no response needed" audit entry without PII, urgency from the service clock."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app import access
from app.audit import Action, make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Role
from app.errors import PermissionDenied
from app.mail import repo
from app.mail.inbox_service import (
    InboxService,
    ThreadFilter,
    ThreadNotFound,
    ThreadQuery,
)
from app.mail.models import Direction, ThreadState, Urgency
from app.mail.parse import parse_email
from app.notices import ThreadsChanged
from app.services import Core
from tests.helpers.emails import relay_alias, relay_email
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN)
AGENT = Actor(id=2, username="bora", display_name="Bora", role=Role.AGENT, store_ids=frozenset({1}))
SECRET_TEXT = "my address is 12 Secret Street"


@pytest.fixture
def inbox(core: Core) -> InboxService:
    core.vault.call_write(
        lambda c: c.executemany(
            "INSERT INTO stores(id, name, created_at) VALUES (?, ?, ?)",
            [(1, "Main", "2026-01-01T00:00:00Z"), (2, "Other", "2026-01-01T00:00:00Z")],
        )
    )
    put_operator(core.vault, ADMIN)
    put_operator(core.vault, AGENT)
    audit = make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )
    return InboxService(vault=core.vault, notices=core.notices, clock=core.clock, audit=audit)


def seed(core: Core, store_id: int, alias: str, **kw: Any) -> int:
    parsed = parse_email(relay_email(alias=alias, date=core.clock.now(), **kw))
    return core.vault.call_write(
        lambda c: (
            repo.store_message(
                c,
                store_id,
                parsed,
                direction=Direction.IN,
                folder="INBOX",
                source_key=None,
                now=core.clock.now(),
            ).thread_id
        )
    )


def notices(core: Core) -> list[ThreadsChanged]:
    seen: list[ThreadsChanged] = []
    core.notices.subscribe(ThreadsChanged, seen.append)
    return seen


def test_an_agent_reads_only_its_stores(inbox: InboxService, core: Core) -> None:
    own = seed(core, 1, relay_alias("own"))
    other = seed(core, 2, relay_alias("other"), order_id="222-0000000-0000002")
    assert set(inbox.read(ADMIN, lambda r: r.thread_ids(ThreadQuery())).result(5)) == {own, other}
    assert inbox.read(AGENT, lambda r: r.thread_ids(ThreadQuery())).result(5) == [own]
    assert (
        inbox.read(AGENT, lambda r: r.thread_ids(ThreadQuery(store_ids=frozenset({2})))).result(5)
        == []
    )
    rows = inbox.read(AGENT, lambda r: r.thread_rows([own, other])).result(5)
    assert [r.id for r in rows] == [own]
    assert inbox.read(AGENT, lambda r: r.conversation(other)).result(5) is None
    assert inbox.read(AGENT, lambda r: r.conversation(own)).result(5) is not None
    assert inbox.counts(AGENT).result(5).needs_reply == 1
    assert inbox.counts(ADMIN).result(5).needs_reply == 2
    assert [s.id for s in inbox.read(AGENT, lambda r: r.stores()).result(5)] == [1]
    # The system (background work) may read every store.
    assert inbox.read(access.SYSTEM, lambda r: r.counts()).result(5).all == 2


def test_a_caller_no_longer_allowed_reads_nothing(inbox: InboxService, core: Core) -> None:
    seed(core, 1, relay_alias("own"))
    put_operator(core.vault, dataclasses.replace(AGENT, disabled=True))
    for caller in (AGENT, None, Actor(9, "ghost", "Ghost", Role.ADMIN)):
        future = inbox.read(caller, lambda r: r.thread_ids(ThreadQuery()))  # type: ignore[arg-type]
        assert isinstance(future.exception(5), PermissionDenied)
    # Stale: the agent lost store 1 since signing in.
    put_operator(core.vault, dataclasses.replace(AGENT, store_ids=frozenset({2})))
    assert inbox.read(AGENT, lambda r: r.thread_ids(ThreadQuery())).result(5) == []


def test_urgency_follows_the_service_clock(inbox: InboxService, core: Core) -> None:
    tid = seed(core, 1, relay_alias("own"))
    row = lambda: inbox.read(AGENT, lambda r: r.thread_rows([tid])).result(5)[0]  # noqa: E731
    assert row().urgency is Urgency.OK
    core.clock.advance(19 * 3600)  # type: ignore[attr-defined]
    assert row().urgency is Urgency.SOON
    assert inbox.read(
        AGENT, lambda r: r.thread_ids(ThreadQuery(filter=ThreadFilter.DUE_SOON))
    ).result(5) == [tid]
    core.clock.advance(5 * 3600)  # type: ignore[attr-defined]
    assert row().urgency is Urgency.OVERDUE
    assert inbox.counts(AGENT).result(5).overdue == 1


def test_draft_and_read_announce_the_thread_after_commit(inbox: InboxService, core: Core) -> None:
    tid = seed(core, 1, relay_alias("own"))
    seen = notices(core)
    inbox.save_draft(AGENT, tid, "Thanks, checking now.")
    assert seen == [ThreadsChanged(frozenset({1}), (tid,))]
    convo = inbox.read(AGENT, lambda r: r.conversation(tid)).result(5)
    assert convo is not None and convo.draft == "Thanks, checking now."
    assert convo.thread.state is ThreadState.DRAFT
    inbox.mark_read(AGENT, tid)
    inbox.mark_read(AGENT, tid)  # nothing changed: no second notice
    assert len(seen) == 2
    assert inbox.read(AGENT, lambda r: r.thread_rows([tid])).result(5)[0].unread == 0


def test_writes_need_reply_to_buyers_on_the_threads_store(inbox: InboxService, core: Core) -> None:
    other = seed(core, 2, relay_alias("other"))
    seen = notices(core)
    for call in (
        lambda a: inbox.save_draft(a, other, "x"),
        lambda a: inbox.mark_no_response(a, other),
        lambda a: inbox.mark_read(a, other),
    ):
        for caller in (AGENT, access.SYSTEM, None):
            with pytest.raises(PermissionDenied):
                call(caller)
    assert seen == []
    convo = inbox.read(ADMIN, lambda r: r.conversation(other)).result(5)
    assert convo is not None and convo.draft is None and convo.thread.unread == 1
    with pytest.raises(ThreadNotFound):
        inbox.save_draft(ADMIN, 999, "x")


def test_no_response_needed_is_audited_without_pii(inbox: InboxService, core: Core) -> None:
    alias = relay_alias("own")
    tid = seed(core, 1, alias, text=SECRET_TEXT, buyer="Zeynep")
    seen = notices(core)
    url = inbox.mark_no_response(AGENT, tid)
    assert url is not None and "no-response-needed" in url
    assert seen == [ThreadsChanged(frozenset({1}), (tid,))]
    row = inbox.read(AGENT, lambda r: r.thread_rows([tid])).result(5)[0]
    assert row.state is ThreadState.NO_RESPONSE and row.urgency is Urgency.NONE
    entries = core.vault.call(
        lambda c: c.execute(
            "SELECT * FROM audit_log WHERE action = ?", (Action.THREAD_NO_RESPONSE,)
        ).fetchall()
    )
    assert len(entries) == 1
    text = repr(entries)
    assert "thread" in text and str(tid) in text
    for pii in (alias, "Zeynep", "Secret Street", url):
        assert pii not in text
