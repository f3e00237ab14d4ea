"""Erasing threads' buyer PII: after a purge none of the buyer's markers (name, alias,
phone, address, attachment name) is in any value of any table and a search for the
name finds nothing; a thread not purged keeps its markers; a dry run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.amazon import orders_repo
from app.amazon.models import OrderStatus
from app.mail import repo
from app.privacy import purge
from app.privacy.models import PurgeCounts
from app.vault import Vault
from tests.helpers.labels import every_value
from tests.helpers.orders import make
from tests.helpers.privacy import found, markers, put_buyer, tag_of

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
DAY = timedelta(days=1)
ON, TW = 1, 2  # the buyers of an expired and a recent order


@pytest.fixture
def threads(vault: Vault) -> dict[str, int]:
    """Thread "on": delivered 40 days ago (expired); "tw": delivered 5 days ago."""
    old = make(1, status=OrderStatus.SHIPPED, delivered_at=NOW - 40 * DAY)
    new = make(2, status=OrderStatus.SHIPPED, delivered_at=NOW - 5 * DAY)

    def write(conn: Any) -> None:
        conn.execute("INSERT INTO stores(id, name, created_at) VALUES (1, 'Main', 'x')")
        orders_repo.upsert_orders(conn, [old, new], now=NOW)

    vault.call_write(write)
    return {
        "on": put_buyer(vault, ON, old.order_id, NOW - 60 * DAY),
        "tw": put_buyer(vault, TW, new.order_id, NOW - 60 * DAY),
    }


def search(vault: Vault, text: str) -> list[int]:
    return vault.call(lambda c: repo.thread_ids(c, [1], repo.ThreadQuery(text=text), now=NOW))


def test_the_markers_are_stored_and_found_before(vault: Vault, threads: dict[str, int]) -> None:
    assert found(vault, ON) == list(markers(ON))
    assert search(vault, f"Quaxworth{tag_of(ON)}") == [threads["on"]]


def test_purge_erases_every_marker_of_the_thread(vault: Vault, threads: dict[str, int]) -> None:
    counts = vault.call_write(
        lambda c: purge.purge_batch(c, [threads["on"]], as_of=NOW, dry_run=False)
    )
    assert counts == PurgeCounts(threads=1, messages=2, drafts=1, attachments=1)
    assert found(vault, ON) == []
    assert search(vault, f"Quaxworth{tag_of(ON)}") == []
    assert search(vault, markers(ON)["first"]) == []
    # the other buyer is untouched (the scan works)
    assert found(vault, TW) == list(markers(TW))
    assert search(vault, f"Quaxworth{tag_of(TW)}") == [threads["tw"]]


def test_the_conversation_stays_readable(vault: Vault, threads: dict[str, int]) -> None:
    vault.call_write(lambda c: purge.purge_batch(c, [threads["on"]], as_of=NOW, dry_run=False))
    convo = vault.call(lambda c: repo.conversation(c, threads["on"], now=NOW))
    assert convo is not None
    assert convo.thread.alias == f"purged-{threads['on']}@invalid"
    assert convo.thread.buyer_display_name is None
    assert "[NAME]" in convo.thread.subject
    assert convo.thread.order_id == make(1).order_id
    body = convo.messages[0].body
    assert "My parcel has not arrived" in body
    assert "[NAME]" in body and "[PHONE]" in body
    assert convo.messages[1].body.startswith("Hi [NAME], sorry")
    assert set(search(vault, "parcel has not arrived")) == set(threads.values())
    names = vault.call(lambda c: [r[0] for r in c.execute("SELECT filename FROM attachments")])
    assert sorted(names) == ["attachment-0.pdf", f"receipt{tag_of(TW)}scan.PDF"]
    stamp = vault.call(
        lambda c: c.execute(
            "SELECT pii_purged_at FROM threads WHERE id = ?", (threads["on"],)
        ).fetchone()[0]
    )
    assert stamp == orders_repo.to_db_time(NOW)


def test_a_new_message_after_the_purge_starts_a_new_thread(
    vault: Vault, threads: dict[str, int]
) -> None:
    vault.call_write(lambda c: purge.purge_batch(c, [threads["on"]], as_of=NOW, dry_run=False))
    again = put_buyer(vault, ON, make(1).order_id, NOW - 30 * DAY)
    assert again != threads["on"]


def test_purging_twice_counts_nothing(vault: Vault, threads: dict[str, int]) -> None:
    vault.call_write(lambda c: purge.purge_batch(c, [threads["on"]], as_of=NOW, dry_run=False))
    again = vault.call_write(
        lambda c: purge.purge_batch(c, [threads["on"]], as_of=NOW, dry_run=False)
    )
    assert again == PurgeCounts()


def test_dry_run_changes_nothing(vault: Vault, threads: dict[str, int]) -> None:
    before = vault.call(every_value)
    counts = vault.call(
        lambda c: purge.purge_batch(c, list(threads.values()), as_of=NOW, dry_run=True)
    )
    assert counts == PurgeCounts(threads=2, messages=4, drafts=2, attachments=2)
    assert vault.call(every_value) == before


def test_a_failed_batch_leaves_no_half(vault: Vault, threads: dict[str, int]) -> None:
    before = vault.call(every_value)

    def write(conn: Any) -> None:
        purge.purge_batch(conn, [threads["on"]], as_of=NOW, dry_run=False)
        raise RuntimeError("crash in the middle of a batch")

    with pytest.raises(RuntimeError):
        vault.call_write(write)
    assert vault.call(every_value) == before


def test_purge_outside_a_transaction_is_refused(vault: Vault, threads: dict[str, int]) -> None:
    with pytest.raises(RuntimeError, match="write transaction"):
        vault.call(lambda c: purge.purge_batch(c, [threads["on"]], as_of=NOW, dry_run=False))


def test_expired_label_cache_is_deleted(vault: Vault, threads: dict[str, int]) -> None:
    def write(conn: Any) -> None:
        conn.execute(
            "INSERT INTO shipments(id, store_id, order_id, state, label_format, created_at) "
            "VALUES (1, 1, ?, 'bought', 'PDF', 'x')",
            (make(1).order_id,),
        )
        conn.executemany(
            "INSERT INTO label_cache(shipment, doc_index, doc_type, doc_format, nonce, "
            "ciphertext, expires_at) VALUES (1, ?, 'LABEL', 'PDF', x'00', x'00', ?)",
            [(0, orders_repo.to_db_time(NOW - DAY)), (1, orders_repo.to_db_time(NOW + DAY))],
        )

    vault.call_write(write)
    assert vault.call(lambda c: purge.purge_label_cache(c, as_of=NOW, dry_run=True)) == 1
    assert vault.call_write(lambda c: purge.purge_label_cache(c, as_of=NOW, dry_run=False)) == 1
    left = vault.call(lambda c: c.execute("SELECT doc_index FROM label_cache").fetchall())
    assert left == [(1,)]


def test_attachment_names_keep_only_part_and_extension() -> None:
    assert purge.attachment_name(2, "Jane Doe receipt.PDF") == "attachment-2.pdf"
    assert purge.attachment_name(3, "photo of Jane") == "attachment-3"
