"""Threads and messages in the vault: threading by store + alias (+ order id), no
doubles, the clock and state after each change, replies, folder state, search."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from app.amazon import orders_repo
from app.amazon.models import OrderItem
from app.mail import repo
from app.mail.models import Direction, ParsedEmail, SendState, ThreadState, Urgency
from app.mail.parse import parse_email
from app.mail.repo import ThreadFilter, ThreadQuery
from app.vault import Vault
from tests.helpers.emails import relay_alias, relay_email, seller_reply
from tests.helpers.orders import make

T = TypeVar("T")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ORDER = "111-3958185-1645065"
ALIAS = relay_alias()


@pytest.fixture
def db(vault: Vault) -> Callable[[Callable[[Any], T]], T]:
    """Runs a function in one write transaction (as the services do)."""
    vault.call_write(
        lambda c: c.executemany(
            "INSERT INTO stores(id, name, created_at) VALUES (?, ?, ?)",
            [(1, "Main", "2026-01-01T00:00:00Z"), (2, "Other", "2026-01-01T00:00:00Z")],
        )
    )
    return vault.call_write


def buyer(at: datetime = T0, **kw: Any) -> ParsedEmail:
    return parse_email(relay_email(date=at, **kw))


def store(
    conn: Any,
    parsed: ParsedEmail,
    *,
    direction: Direction = Direction.IN,
    store_id: int = 1,
    now: datetime | None = None,
) -> repo.StoredMessage:
    return repo.store_message(
        conn,
        store_id,
        parsed,
        direction=direction,
        folder="INBOX" if direction is Direction.IN else "Sent",
        source_key="1:1",
        now=now or parsed.received_at,
    )


def thread(conn: Any, thread_id: int, now: datetime = T0) -> repo.ThreadRow:
    rows = repo.thread_rows(conn, [thread_id], now=now)
    assert rows, f"thread {thread_id} is gone"
    return rows[0]


def search(conn: Any, text: str, now: datetime = T0, **kw: Any) -> list[int]:
    return repo.thread_ids(conn, [1, 2], ThreadQuery(text=text, **kw), now=now)


def test_a_buyer_message_starts_a_thread_with_the_clock_running(db: Any) -> None:
    def run(conn: Any) -> None:
        got = store(conn, buyer(attachments=[("photo.jpg", "image/jpeg", b"x" * 10)]))
        assert got.new and got.order_id == ORDER
        row = thread(conn, got.thread_id, now=T0 + timedelta(hours=19))
        assert (row.alias, row.order_id, row.store_name) == (ALIAS, ORDER, "Main")
        assert row.state is ThreadState.NEEDS_REPLY
        assert row.due_at == T0 + timedelta(hours=24)
        assert row.urgency is Urgency.SOON  # 5 h left
        assert (row.message_count, row.unread, row.flagged) == (1, 1, 0)
        assert row.buyer_display_name == "Cherri" and row.marketplace_domain == "amazon.com"
        convo = repo.conversation(conn, got.thread_id, now=T0)
        assert convo is not None
        [message] = convo.messages
        assert message.body.startswith("Hi, my package has not arrived")
        assert [(a.filename, a.size) for a in message.attachments] == [("photo.jpg", 10)]
        assert message.no_response_url and "no-response-needed" in message.no_response_url

    db(run)


def test_the_same_message_id_is_stored_once(db: Any) -> None:
    """A folder read again (UIDVALIDITY reset) or the same mail in two folders."""
    parsed = buyer(message_id="abc@marketplace.amazon.com")

    def run(conn: Any) -> None:
        first = store(conn, parsed)
        again = repo.store_message(
            conn, 1, parsed, direction=Direction.IN, folder="INBOX", source_key="2:1", now=T0
        )
        assert not again.new
        assert (again.thread_id, again.message_rowid) == (first.thread_id, first.message_rowid)
        assert thread(conn, first.thread_id).message_count == 1
        assert conn.execute("SELECT count(*) FROM messages_fts").fetchone()[0] == 1
        # Another store may hold the same Message-ID (two mailboxes got a copy).
        other = store(conn, parsed, store_id=2)
        assert other.new and other.thread_id != first.thread_id

    db(run)


def test_a_message_without_message_id_is_stored_once(db: Any) -> None:
    raw = relay_email(date=T0).replace(b"Message-ID:", b"X-Old-ID:")
    parsed = parse_email(raw)
    assert parsed.message_id is None

    def run(conn: Any) -> None:
        assert store(conn, parsed).new
        assert not store(conn, parsed).new

    db(run)


def test_a_pre_sale_question_links_to_the_order_that_follows(db: Any) -> None:
    def run(conn: Any) -> None:
        orders_repo.upsert_orders(
            conn,
            [
                make(
                    5,
                    order_id=ORDER,
                    items=(OrderItem("1", "B0HEADLAMP", "SKU-LAMP", "Lamp", 1, None),),
                )
            ],
            now=T0,
        )
        question = store(conn, buyer(order_id=None, text="Does it fit a bike helmet?"))
        assert question.order_id is None
        assert search(conn, "B0HEADLAMP") == []
        after = store(conn, buyer(T0 + timedelta(days=2), text="It arrived broken."))
        assert after.thread_id == question.thread_id and after.order_id == ORDER
        assert thread(conn, after.thread_id).order_id == ORDER
        # The earlier message is found by the order's ASIN and SKU now too.
        assert search(conn, "B0HEADLAMP") == [question.thread_id]
        assert search(conn, "sku-lamp helmet") == [question.thread_id]
        # A later message without an order id joins the alias's newest thread.
        later = store(conn, buyer(T0 + timedelta(days=3), order_id=None, text="Hello?"))
        assert later.thread_id == question.thread_id and later.order_id == ORDER

    db(run)


def test_an_existing_thread_for_the_order_wins_over_linking(db: Any) -> None:
    def run(conn: Any) -> None:
        with_order = store(conn, buyer())
        presale = store(conn, buyer(T0 + timedelta(hours=1), order_id=None))
        assert presale.thread_id == with_order.thread_id  # newest thread of the alias
        conn.execute("UPDATE threads SET order_id = NULL WHERE id = ?", (with_order.thread_id,))
        conn.execute(
            "INSERT INTO threads(store_id, alias, order_id, last_message_at, created_at, "
            "updated_at) VALUES (1, ?, ?, ?, ?, ?)",
            (ALIAS, ORDER, "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", "x"),
        )
        exact = conn.execute("SELECT id FROM threads WHERE order_id = ?", (ORDER,)).fetchone()[0]
        got = store(conn, buyer(T0 + timedelta(hours=2)))
        assert got.thread_id == exact
        assert thread(conn, with_order.thread_id).order_id is None
        # Another alias, same order id: its own thread.
        other = store(conn, buyer(alias=relay_alias("zz9"), message_id="other@x"))
        assert other.thread_id not in (exact, with_order.thread_id)

    db(run)


def test_a_reply_found_in_sent_answers_the_thread_and_a_new_message_restarts_it(db: Any) -> None:
    def run(conn: Any) -> None:
        first = buyer(message_id="q1@marketplace.amazon.com")
        got = store(conn, first)
        sent = parse_email(
            seller_reply(in_reply_to="q1@marketplace.amazon.com", date=T0 + timedelta(hours=3))
        )
        out = store(conn, sent, direction=Direction.OUT)
        assert out.new and out.thread_id == got.thread_id
        row = thread(conn, got.thread_id)
        assert row.state is ThreadState.REPLIED and row.due_at is None
        assert row.urgency is Urgency.NONE and row.message_count == 2
        # A buyer message sent before the reply but fetched after it changes nothing.
        store(conn, buyer(T0 + timedelta(hours=2), text="Also, the colour?"))
        assert thread(conn, got.thread_id).state is ThreadState.REPLIED
        # A new one after the reply starts the clock from itself.
        store(conn, buyer(T0 + timedelta(hours=5), text="Thanks, one more thing"))
        row = thread(conn, got.thread_id)
        assert row.state is ThreadState.NEEDS_REPLY
        assert row.due_at == T0 + timedelta(hours=29)
        assert row.last_buyer_at == T0 + timedelta(hours=5)

    db(run)


def test_a_sent_copy_without_references_matches_by_alias_and_order(db: Any) -> None:
    def run(conn: Any) -> None:
        got = store(conn, buyer())
        out = store(
            conn, parse_email(seller_reply(date=T0 + timedelta(hours=1))), direction=Direction.OUT
        )
        assert out.thread_id == got.thread_id
        assert thread(conn, got.thread_id).state is ThreadState.REPLIED

    db(run)


def test_a_reply_sent_from_here(db: Any) -> None:
    def run(conn: Any) -> None:
        got = store(conn, buyer(message_id="q1@m"))
        tid = got.thread_id
        repo.set_draft(conn, tid, "Your parcel ships today.", T0)
        assert thread(conn, tid).state is ThreadState.DRAFT
        rowid = repo.begin_reply(
            conn,
            tid,
            operator_id=None,
            message_id="r1@seller",
            subject="Re: x",
            body="Your parcel ships today.",
            in_reply_to="q1@m",
            now=T0 + timedelta(hours=1),
        )
        pending = repo.pending_reply(conn, tid)
        assert pending is not None and pending.send_state is SendState.SENDING
        assert thread(conn, tid).state is ThreadState.DRAFT  # not answered until sent
        with pytest.raises(repo.ReplyPending):
            repo.begin_reply(
                conn,
                tid,
                operator_id=None,
                message_id="r2@seller",
                subject="Re: x",
                body="again",
                in_reply_to="q1@m",
                now=T0 + timedelta(hours=1),
            )
        repo.finish_reply(conn, rowid, SendState.SENT, error=None, now=T0 + timedelta(hours=1))
        row = thread(conn, tid)
        assert row.state is ThreadState.REPLIED and row.due_at is None and not row.has_draft
        assert repo.pending_reply(conn, tid) is None
        # Its copy in Sent is not stored again.
        copy = parse_email(seller_reply(message_id="r1@seller", in_reply_to="q1@m"))
        assert not store(conn, copy, direction=Direction.OUT).new
        assert thread(conn, tid).message_count == 2
        assert search(conn, "ships today") == [tid]

    db(run)


def test_a_failed_send_keeps_the_text_as_draft_and_a_retry_replaces_it(db: Any) -> None:
    def run(conn: Any) -> None:
        tid = store(conn, buyer()).thread_id
        args = dict(operator_id=None, subject="Re: x", in_reply_to=None, now=T0)
        rowid = repo.begin_reply(conn, tid, message_id="r1@s", body="Sorry!", **args)  # type: ignore[arg-type]
        repo.finish_reply(conn, rowid, SendState.FAILED, error="The server refused.", now=T0)
        convo = repo.conversation(conn, tid, now=T0)
        assert convo is not None and convo.draft == "Sorry!" and convo.pending is None
        assert convo.thread.state is ThreadState.DRAFT and convo.thread.due_at is not None
        assert convo.messages[-1].send_state is SendState.FAILED
        assert convo.thread.message_count == 1  # a failed attempt is no message
        retry = repo.begin_reply(conn, tid, message_id="r2@s", body="Sorry!", **args)  # type: ignore[arg-type]
        convo = repo.conversation(conn, tid, now=T0)
        assert convo is not None
        assert [m.rowid for m in convo.messages][1:] == [retry]  # the failed one went

    db(run)


def test_an_uncertain_send_stays_pending_until_its_sent_copy_is_found(db: Any) -> None:
    def run(conn: Any) -> None:
        tid = store(conn, buyer(message_id="q1@m")).thread_id
        rowid = repo.begin_reply(
            conn,
            tid,
            operator_id=None,
            message_id="r1@s",
            subject="Re: x",
            body="On its way",
            in_reply_to="q1@m",
            now=T0 + timedelta(hours=1),
        )
        repo.finish_reply(conn, rowid, SendState.UNCERTAIN, error="No answer.", now=T0)
        pending = repo.pending_reply(conn, tid)
        assert pending is not None and pending.message_id == "r1@s"
        assert thread(conn, tid).state is ThreadState.DRAFT  # the clock keeps running
        copy = parse_email(seller_reply(message_id="r1@s", in_reply_to="q1@m"))
        assert not store(conn, copy, direction=Direction.OUT, now=T0 + timedelta(hours=2)).new
        assert repo.pending_reply(conn, tid) is None
        row = thread(conn, tid)
        assert row.state is ThreadState.REPLIED and not row.has_draft

    db(run)


def test_drafts_and_no_response_needed(db: Any) -> None:
    def run(conn: Any) -> None:
        tid = store(conn, buyer()).thread_id
        repo.set_draft(conn, tid, "Hello", T0)
        assert thread(conn, tid).state is ThreadState.DRAFT
        repo.set_draft(conn, tid, "  ", T0)
        assert thread(conn, tid).state is ThreadState.NEEDS_REPLY
        url = repo.mark_no_response(conn, tid, T0 + timedelta(hours=1))
        assert url is not None and "no-response-needed" in url
        row = thread(conn, tid)
        assert row.state is ThreadState.NO_RESPONSE and row.due_at is None
        store(conn, buyer(T0 + timedelta(hours=4), text="Are you there?"))
        row = thread(conn, tid)
        assert row.state is ThreadState.NEEDS_REPLY
        assert row.due_at == T0 + timedelta(hours=28)
        assert repo.mark_read(conn, tid) and not repo.mark_read(conn, tid)
        assert thread(conn, tid).unread == 0
        with pytest.raises(repo.ThreadNotFound):
            repo.set_draft(conn, 999, "x", T0)

    db(run)


def test_a_flagged_message_is_kept_and_counted(db: Any) -> None:
    raw = relay_email(date=T0, charset="utf-8", declared_charset="x-no-such-charset", text="Grüße")

    def run(conn: Any) -> None:
        parsed = parse_email(raw)
        assert parsed.flags
        tid = store(conn, parsed).thread_id
        assert thread(conn, tid).flagged == 1
        assert repo.thread_ids(conn, [1], ThreadQuery(filter=ThreadFilter.FLAGGED), now=T0) == [tid]
        convo = repo.conversation(conn, tid, now=T0)
        assert convo is not None and convo.messages[0].flags == parsed.flags

    db(run)


def test_folder_state_round_trip(db: Any) -> None:
    def run(conn: Any) -> None:
        assert repo.folder_state(conn, 1, "INBOX").last_uid == 0
        repo.save_folder_state(conn, 1, "INBOX", uidvalidity=7, last_uid=42, now=T0)
        repo.save_folder_state(
            conn, 1, "maildir:new", uidvalidity=None, last_uid=0, seen_keys=["a", "b"], now=T0
        )
        repo.save_folder_state(
            conn,
            1,
            "maildir:new",
            uidvalidity=None,
            last_uid=0,
            seen_keys=["b", "c"],
            error="Folder unreadable.",
            now=T0,
        )
        inbox = repo.folder_state(conn, 1, "INBOX")
        assert (inbox.uidvalidity, inbox.last_uid) == (7, 42)
        assert repo.folder_state(conn, 1, "maildir:new").known_keys == {"a", "b", "c"}
        assert repo.folder_state(conn, 2, "INBOX").uidvalidity is None

    db(run)


def test_orders_without_context(db: Any) -> None:
    def run(conn: Any) -> None:
        store(conn, buyer())
        store(conn, buyer(order_id="222-0000000-0000002", alias=relay_alias("b2")))
        store(conn, buyer(order_id=None, alias=relay_alias("b3")))
        orders_repo.upsert_orders(conn, [make(9, order_id="222-0000000-0000002")], now=T0)
        assert repo.orders_without_context(conn, 1) == [ORDER]
        assert repo.orders_without_context(conn, 2) == []
        # An order from an order report lacks packages and windows: fetched as well.
        report_copy = make(9, order_id=ORDER, details_pending=True, packages=())
        orders_repo.upsert_orders(conn, [report_copy], now=T0)
        assert repo.orders_without_context(conn, 1) == [ORDER]
        orders_repo.upsert_orders(conn, [make(9, order_id=ORDER)], now=T0)
        assert repo.orders_without_context(conn, 1) == []

    db(run)


def test_thread_list_order_filters_counts_and_search(db: Any) -> None:
    now = T0 + timedelta(hours=30)

    def run(conn: Any) -> None:
        # overdue (received T0), due soon (received now-20h), ok (now-1h), replied, other store
        overdue = store(
            conn, buyer(T0, alias=relay_alias("a1"), text="Where is my parcel?")
        ).thread_id
        soon = store(
            conn,
            buyer(
                now - timedelta(hours=20),
                alias=relay_alias("a2"),
                order_id="111-0000000-0000002",
                text="Kaputt angekommen",
                lang="de",
                marketplace="amazon.de",
            ),
        ).thread_id
        fine = store(
            conn,
            buyer(now - timedelta(hours=1), alias=relay_alias("a3"), order_id=None, buyer="Lukas"),
        ).thread_id
        replied = store(
            conn,
            buyer(
                T0 - timedelta(days=3),
                alias=relay_alias("a4"),
                order_id="111-0000000-0000004",
                message_id="a4@m",
            ),
        ).thread_id
        store(
            conn,
            parse_email(
                seller_reply(
                    alias=relay_alias("a4"), in_reply_to="a4@m", date=T0 - timedelta(days=2)
                )
            ),
            direction=Direction.OUT,
        )
        silent = store(
            conn,
            buyer(T0 - timedelta(days=1), alias=relay_alias("a5"), order_id="111-0000000-0000005"),
        ).thread_id
        repo.mark_no_response(conn, silent, T0)
        elsewhere = store(
            conn,
            buyer(T0, alias=relay_alias("a6"), order_id="111-0000000-0000006"),
            store_id=2,
        ).thread_id

        ids = lambda **kw: repo.thread_ids(conn, [1], ThreadQuery(**kw), now=now)  # noqa: E731
        # Due soonest first, then nothing due by newest message.
        assert ids() == [overdue, soon, fine, silent, replied]
        assert repo.thread_ids(conn, [1, 2], ThreadQuery(store_ids=frozenset({2})), now=now) == [
            elsewhere
        ]
        assert repo.thread_ids(conn, [1], ThreadQuery(store_ids=frozenset({2})), now=now) == []
        assert ids(filter=ThreadFilter.NEEDS_REPLY) == [overdue, soon, fine]
        assert ids(filter=ThreadFilter.OVERDUE) == [overdue]
        assert ids(filter=ThreadFilter.DUE_SOON) == [soon]
        assert ids(filter=ThreadFilter.REPLIED) == [replied]
        assert ids(filter=ThreadFilter.NO_RESPONSE) == [silent]
        assert ids(limit=2) == [overdue, soon]
        urgencies = [r.urgency for r in repo.thread_rows(conn, ids(), now=now)]
        assert urgencies == [Urgency.OVERDUE, Urgency.SOON, Urgency.OK, Urgency.NONE, Urgency.NONE]
        counts = repo.counts(conn, [1], now=now)
        assert (counts.all, counts.needs_reply, counts.due_soon, counts.overdue) == (5, 3, 1, 1)
        assert (counts.replied, counts.no_response, counts.flagged) == (1, 1, 0)
        assert repo.counts(conn, [], now=now).all == 0
        # Search: buyer text, German text, order id (whole and part), reply text, name.
        assert ids(text="parcel") == [overdue, replied]  # the reply says "parcel" too
        assert ids(text="KAPUTT") == [soon]
        assert ids(text="111-0000000-0000002") == [soon]  # by the thread's order id
        assert ids(text="111-1111111-1111111") == []  # no thread has it: searched as text
        assert ids(text="0000004") == [replied]
        assert ids(text="on its way") == [replied]
        assert ids(text="lukas") == [fine]
        assert ids(text="parcel where") == [overdue]
        assert ids(text="parcel kaputt") == []
        # One or two characters: the start of an order id or buyer name.
        assert ids(text="Lu") == [fine]
        assert set(ids(text="11")) == {overdue, soon, replied, silent}
        assert ids(text="a") == []  # subjects are not searched by their start
        assert ids(text='"') == []
        assert ids(text="%") == []
        assert ids(text="pa t") == []
        assert ids(text="arcel wh") == [overdue]

    db(run)


def test_an_answer_given_here_covers_a_message_dated_a_little_ahead_of_our_clock(
    db: Any,
) -> None:
    """The relay's Date header may run ahead of this machine's clock."""
    ahead = T0 + timedelta(seconds=40)

    def run(conn: Any) -> None:
        tid = store(conn, buyer(ahead)).thread_id
        repo.mark_no_response(conn, tid, T0)
        assert thread(conn, tid).state is ThreadState.NO_RESPONSE
        other = store(conn, buyer(ahead, alias=relay_alias("b2"), message_id="b2@m")).thread_id
        rowid = repo.begin_reply(
            conn,
            other,
            operator_id=None,
            message_id="r@s",
            subject="Re: x",
            body="Done.",
            in_reply_to="b2@m",
            now=T0,
        )
        repo.finish_reply(conn, rowid, SendState.SENT, error=None, now=T0)
        assert thread(conn, other).state is ThreadState.REPLIED

    db(run)


def test_a_search_shows_the_threads_of_the_newest_matches(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repo, "SEARCH_CAP", 2)

    def run(conn: Any) -> None:
        made = [
            store(
                conn,
                buyer(
                    T0 + timedelta(hours=h),
                    alias=relay_alias(f"c{h}"),
                    order_id=f"111-000000{h}-0000000",
                    buyer="Lukas",
                ),
            ).thread_id
            for h in range(3)
        ]
        newest_two = [made[1], made[2]]  # in inbox order: due soonest first
        assert search(conn, "package", now=T0 + timedelta(hours=3)) == newest_two
        # One or two letters: at most the cap of order ids and of names each.
        short = search(conn, "Lu", now=T0 + timedelta(hours=3))
        assert len(short) == 2 and set(short) < set(made)
        assert search(conn, "111", now=T0 + timedelta(hours=3)) == newest_two

    db(run)


def test_an_order_stored_after_its_messages_becomes_searchable_by_asin(db: Any) -> None:
    def run(conn: Any) -> None:
        tid = store(conn, buyer()).thread_id
        assert search(conn, "B0LATEITEM") == []
        item = OrderItem("1", "B0LATEITEM", "SKU-LATE", "Late", 1, None)
        orders_repo.upsert_orders(conn, [make(7, order_id=ORDER, items=(item,))], now=T0)
        assert repo.refresh_refs(conn, [ORDER, "999-0000000-0000000"]) == 1
        assert search(conn, "B0LATEITEM") == [tid]
        assert search(conn, "sku-late") == [tid]

    db(run)
