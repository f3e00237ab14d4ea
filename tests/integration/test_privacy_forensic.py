"""Forensic proof of the PII purge and deletion requests (issue 14): after they ran, no
byte of the data file or its WAL (every page decrypted with the raw key, free space and
old WAL frames included: tests/helpers/sqlcipher_pages.py), of the log files or of the
temp folder holds an erased buyer's markers; the buyers whose PII is still within its
retention period are found by the same scan (so the scan is able to find them).

Every buyer's PII carries unique made-up markers: the display name (From, subjects,
the thread's name, the body's greeting and signature, our reply and the draft), the
relay alias, an email address typed into the body, and an attachment's file name.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import SecretService
from keyring.backends.fail import Keyring as FailKeyring

from app import access
from app.amazon import orders_repo
from app.amazon.models import DeliveryState, OrderStatus
from app.audit import make_audit_log
from app.auth.models import Actor
from app.bootstrap import open_vault
from app.clock import FakeClock
from app.jobs import Job
from app.logsetup import setup_logging
from app.mail import repo
from app.mail.models import Direction
from app.mail.parse import parse_email
from app.paths import Profile
from app.privacy.models import PurgeRun, RequestSource, RunKind, RunState, Subject, SubjectKind
from app.privacy.service import BATCH_SIZE, BULK_THRESHOLD, PrivacyService
from app.privacy.subjects import SubjectService
from app.secrets import SecretStore
from app.services import Core
from app.vault import Vault
from tests.helpers import orders
from tests.helpers.emails import relay_alias, relay_email, seller_reply
from tests.helpers.inbox import PIXEL_PNG, add_store
from tests.helpers.secret_service import SecretServiceSession
from tests.helpers.sqlcipher_pages import Scan, find_in_files, find_markers
from tests.helpers.world import make_world
from tests.integration.children import reading_child

pytestmark = pytest.mark.integration

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PASSPHRASE = "correct horse battery staple in a field"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Buyer:
    """One buyer's thread: what dates its PII, and the markers its PII carries."""

    first: str
    last: str
    alias_local: str
    email_local: str
    order_id: str | None
    status: OrderStatus = OrderStatus.SHIPPED
    delivered: datetime | None = None
    window_end: datetime | None = None
    cancelled: datetime | None = None
    last_message: datetime = AS_OF - 2 * DAY

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def alias(self) -> str:
        return relay_alias(self.alias_local)

    @property
    def markers(self) -> list[str]:
        return [self.first, self.last, self.alias_local, self.email_local]


# Expired at AS_OF (30 days): delivered 60 days ago; cancelled 45 days ago; a pre-sale
# question 40 days ago.
EXPIRED = [
    Buyer(
        "Zorvanthiel",
        "Quillbrooke",
        "kq7zvm3trw9x",
        "vexmarlowe71",
        "111-7000001-0000001",
        delivered=AS_OF - 60 * DAY,
        last_message=AS_OF - 59 * DAY,
    ),
    Buyer(
        "Myrtlewhisk",
        "Fenderhollow",
        "pz4hwq8nks2d",
        "glimmerotto52",
        "111-7000002-0000002",
        status=OrderStatus.CANCELLED,
        cancelled=AS_OF - 45 * DAY,
        last_message=AS_OF - 46 * DAY,
    ),
    Buyer(
        "Bramblequist",
        "Oakenshawly",
        "rj6tyx2bqm8v",
        "tundrapaxel39",
        None,
        last_message=AS_OF - 40 * DAY,
    ),
]
# Within the period: delivered 5 days ago; a window ending 20 days ago (10 days left);
# a pre-sale question 2 days ago.
KEPT = [
    Buyer(
        "Quintabelle",
        "Harrowgatey",
        "wd3kfz9pqe5m",
        "saffronweld84",
        "111-7000004-0000004",
        delivered=AS_OF - 5 * DAY,
        last_message=AS_OF - 4 * DAY,
    ),
    Buyer(
        "Thistlemarr",
        "Coppervaine",
        "hn8xrq5vlt2c",
        "lanternvolk26",
        "111-7000005-0000005",
        window_end=AS_OF - 20 * DAY,
        last_message=AS_OF - 25 * DAY,
    ),
    Buyer(
        "Velvetorine",
        "Ashcombrey",
        "mc2pgw7zdy4k",
        "orchidbanz63",
        None,
        last_message=AS_OF - 2 * DAY,
    ),
]


def _markers(buyers: list[Buyer]) -> list[str]:
    return [m for b in buyers for m in b.markers]


def _put_order(vault: Vault, n: int, b: Buyer) -> None:
    assert b.order_id is not None
    purchase = (b.delivered or b.window_end or b.cancelled or AS_OF) - 10 * DAY
    order = orders.make(
        n,
        order_id=b.order_id,
        status=b.status,
        purchase_date=purchase,
        last_updated=b.cancelled or purchase + DAY,
        delivered_at=b.delivered,
        deliver_by_latest=b.window_end or purchase + 7 * DAY,
        delivery_state=(
            DeliveryState.CANCELLED
            if b.status is OrderStatus.CANCELLED
            else DeliveryState.DELIVERED
            if b.delivered
            else DeliveryState.IN_TRANSIT
        ),
    )
    vault.call_write(lambda conn: orders_repo.upsert_orders(conn, [order], now=purchase))


def _store(vault: Vault, raw: bytes, direction: Direction, uid: int, now: datetime) -> int:
    """Store one email as the mail fetch does (an IMAP source key: no buyer data in it;
    tests/helpers/inbox.py makes its keys of the alias, which a real fetch never does)."""
    parsed = parse_email(raw)
    folder = "INBOX" if direction is Direction.IN else "Sent"
    stored = vault.call_write(
        lambda conn: repo.store_message(
            conn, 1, parsed, direction=direction, folder=folder, source_key=f"7:{uid}", now=now
        )
    )
    return int(stored.thread_id)


def _set_draft(vault: Vault, thread_id: int, draft: str) -> None:
    vault.call_write(
        lambda conn: conn.execute("UPDATE threads SET draft = ? WHERE id = ?", (draft, thread_id))
    )


def _seed(vault: Vault, buyers: list[Buyer]) -> dict[str, int]:
    """Each buyer's order, message (with a photo named after them), our reply and a
    draft; returns the thread id by buyer's first name."""
    threads = {}
    for n, b in enumerate(buyers, start=1):
        if b.order_id:
            _put_order(vault, n, b)
        received = b.last_message - DAY if b.order_id else b.last_message
        text = (
            f"Hello, this is {b.name}. My parcel is damaged, photo attached. "
            f"You can also write to {b.email_local}@example.org.\n\nThanks, {b.first}"
        )
        raw = relay_email(
            order_id=b.order_id,
            alias=b.alias,
            text=text,
            date=received,
            buyer=b.name,
            attachments=[(f"{b.first.lower()}_damage.png", "image/png", PIXEL_PNG)],
        )
        thread_id = _store(vault, raw, Direction.IN, 2 * n, received)
        threads[b.first] = thread_id
        if b.order_id:
            subject = f"Re: Inquiry from Amazon customer {b.name} (Order: {b.order_id})"
            reply = seller_reply(
                alias=b.alias,
                text=f"Dear {b.first}, we are sorry about the parcel.",
                date=b.last_message,
                subject=subject,
            )
            assert _store(vault, reply, Direction.OUT, 2 * n + 1, b.last_message) == thread_id
        draft = f"Hi {b.first}, a new one is on its way."
        _set_draft(vault, thread_id, draft)
    return threads


@dataclass
class Shop:
    profile: Profile
    secrets: SecretStore
    key: bytes
    core: Core
    admin: Actor
    threads: dict[str, int]
    temp: Path
    logs: Path
    passphrase: str | None = None
    closed: bool = False

    @property
    def vault(self) -> Vault:
        return self.core.vault

    def reopen(self) -> None:
        words = self.passphrase
        provider = None if words is None else (lambda new: words)
        vault, key = open_vault(self.profile, self.secrets, passphrase=provider)
        assert key == self.key
        self.closed = False
        self.core = Core(
            profile=self.profile, vault=vault, secrets=self.secrets, clock=self.core.clock
        )

    def close(self) -> None:
        if self.core.vault is not None and not self.closed:
            self.closed = True
            self.core.close()


def _open_shop(
    profile: Profile,
    secrets: SecretStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    passphrase: str | None = None,
) -> Shop:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    logs = tmp_path / "logs"
    setup_logging(logs, level=logging.DEBUG, stderr=False)
    words = passphrase
    vault, key = open_vault(
        profile, secrets, passphrase=None if words is None else (lambda new: words)
    )
    clock = FakeClock(AS_OF)
    core = Core(profile=profile, vault=vault, secrets=secrets, clock=clock)
    world = make_world(vault, clock, secrets=secrets)
    session, _secret, _codes = world.create_admin()
    add_store(vault)
    threads = _seed(vault, EXPIRED + KEPT)
    return Shop(profile, secrets, key, core, session.actor, threads, temp, logs, passphrase)


@pytest.fixture
def shop(
    profile: Profile, secrets: SecretStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    """A profile with the six buyers' threads, the app's file log at DEBUG in the
    test's folder and a temp folder of the test's own (so the scans see everything)."""
    shop = _open_shop(profile, secrets, tmp_path, monkeypatch)
    try:
        yield shop
    finally:
        shop.close()


@pytest.fixture
def keychain_shop(
    profile: Profile,
    use_secret_service: SecretServiceSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Shop]:
    """The same, its keys in a real Secret Service, so a child process opens it too."""
    keyring = SecretService.Keyring()  # type: ignore[no-untyped-call]
    secrets = SecretStore.for_profile(profile, backend=keyring)
    shop = _open_shop(profile, secrets, tmp_path, monkeypatch)
    try:
        yield shop
    finally:
        shop.close()


@pytest.fixture
def passphrase_shop(
    profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    """The same in passphrase mode: no keychain at all, the key derived from a
    passphrase (the raw key the scan needs is the one the vault opened with)."""
    secrets = SecretStore.for_profile(profile, backend=FailKeyring())
    shop = _open_shop(profile, secrets, tmp_path, monkeypatch, passphrase=PASSPHRASE)
    try:
        yield shop
    finally:
        shop.close()


def assert_scan(shop: Shop, gone: list[str], kept: list[str]) -> Scan:
    """Close the vault (as the app does at exit), then: no marker of ``gone`` in any
    decrypted page of the data file and its WAL, nor in the logs or the temp folder;
    every marker of ``kept`` still in the data file.  Reopens the vault after."""
    shop.close()
    scan = Scan()
    found = find_markers(shop.profile, shop.key, gone + kept, scan)
    assert scan.pages[shop.profile.db_path] > 10, "the scan read the data file"
    left = {m: [str(w) for w in found[m]] for m in gone if found[m]}
    assert left == {}, "erased PII is still in the data file"
    missing = [m for m in kept if not found[m]]
    assert missing == [], "PII within its period not found: the scan does not see it"
    # Buyer PII is never in a log or temp file, erased or not (nor in clear in the profile).
    in_files = find_in_files([shop.logs, shop.temp, shop.profile.root], gone + kept)
    assert {m: str(p) for m, p in in_files.items()} == {}, "PII in a plain file"
    assert (shop.logs / "muttefik.log").stat().st_size > 0, "the log file was written"
    shop.reopen()
    return scan


def _audit(core: Core) -> Any:
    return make_audit_log(
        core.vault, core.secrets, clock=core.clock, key=core.vault.audit_key, notices=core.notices
    )


def _subjects(shop: Shop) -> SubjectService:
    core = shop.core
    return SubjectService(
        vault=core.vault,
        clock=core.clock,
        notices=core.notices,
        audit=_audit(core),
        secrets=core.secrets,
    )


def _privacy(
    shop: Shop, batch_size: int = BATCH_SIZE, bulk_threshold: int = BULK_THRESHOLD
) -> PrivacyService:
    core = shop.core
    return PrivacyService(
        vault=core.vault,
        clock=core.clock,
        notices=core.notices,
        audit=_audit(core),
        jobs=core.jobs,
        batch_size=batch_size,
        bulk_threshold=bulk_threshold,
    )


def _purge(
    shop: Shop,
    job: Job | None = None,
    batch_size: int = BATCH_SIZE,
    bulk_threshold: int = BULK_THRESHOLD,
) -> PurgeRun:
    """The purge as the scheduled job runs it (the system, as of 30 days past)."""
    return _privacy(shop, batch_size, bulk_threshold).purge(access.SYSTEM, as_of=AS_OF, job=job)


def _search_hits(shop: Shop, text: str) -> int:
    """Messages the inbox's search index finds for ``text`` (a phrase)."""
    return int(
        shop.vault.call(
            lambda conn: conn.execute(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (f'"{text}"',)
            ).fetchone()[0]
        )
    )


@pytest.mark.parametrize("bulk", [False, True], ids=["secure-delete", "bulk-then-merge"])
def test_the_purge_leaves_no_byte_of_expired_pii(shop: Shop, bulk: bool) -> None:
    """Both ways the search index lets go of text: deleting securely row by row, and a
    bulk run's plain deletes followed by the merge in steps."""
    scan_before = assert_scan(shop, gone=[], kept=_markers(EXPIRED + KEPT))
    assert scan_before.pages
    run = _purge(shop, bulk_threshold=1 if bulk else BULK_THRESHOLD)
    assert run.state is RunState.DONE and run.counts.threads == len(EXPIRED)
    assert_scan(shop, gone=_markers(EXPIRED), kept=_markers(KEPT))

    # The search index holds trigrams, which no byte scan of a whole marker can see:
    # searching for an erased buyer finds nothing, for a kept one their messages.
    def searched(b: Buyer) -> list[str]:
        return [b.first, b.last, b.email_local]

    assert {m: _search_hits(shop, m) for b in EXPIRED for m in searched(b)} == {
        m: 0 for b in EXPIRED for m in searched(b)
    }
    assert all(_search_hits(shop, m) > 0 for b in KEPT for m in searched(b))


@pytest.mark.expect_log("muttefik.db", "WARNING", r"no usable keychain")
def test_a_passphrase_profile_is_purged_and_erased_the_same(passphrase_shop: Shop) -> None:
    """No keychain: the purge, and a deletion request by alias (whose record keeps a
    keyed hash of the alias), leave no byte of the buyers behind."""
    shop = passphrase_shop
    erased, *others = KEPT
    run = _purge(shop)
    assert run.state is RunState.DONE and run.counts.threads == len(EXPIRED)
    subjects = _subjects(shop)
    request = subjects.register(
        shop.admin,
        RequestSource.BUYER,
        Subject(SubjectKind.ALIAS, erased.alias),
        AS_OF - DAY,
    )
    done = subjects.execute(shop.admin, request.id)
    assert done.counts.threads == 1
    assert_scan(shop, gone=_markers(EXPIRED) + erased.markers, kept=_markers(others))


def test_an_expired_cached_label_leaves_no_byte(shop: Shop) -> None:
    """The opt-in reprint cache holds labels encrypted under a keychain key; once
    expired the purge deletes them, and their ciphertext is in no page after."""
    blob = os.urandom(4096)
    nonce = os.urandom(12)

    def put(conn: Any) -> None:
        conn.execute(
            "INSERT INTO shipments(id, store_id, order_id, state, label_format, created_at) "
            "VALUES (1, 1, ?, 'bought', 'PDF', ?)",
            (EXPIRED[0].order_id, AS_OF.isoformat()),
        )
        conn.execute(
            "INSERT INTO label_cache(shipment, doc_index, doc_type, doc_format, nonce, "
            "ciphertext, expires_at) VALUES (1, 0, 'LABEL', 'PDF', ?, ?, ?)",
            (nonce, blob, orders_repo.to_db_time(AS_OF - DAY)),
        )

    shop.vault.call_write(put)
    pieces = [blob[i : i + 24] for i in (0, 2000, 4000)]

    def places() -> dict[str | bytes, int]:
        shop.close()
        found = find_markers(shop.profile, shop.key, pieces)
        shop.reopen()
        return {m: len(w) for m, w in found.items()}

    assert all(places().values()), "the scan finds the cached label before"
    run = _purge(shop)
    assert run.counts.label_cache == 1
    assert places() == dict.fromkeys(pieces, 0)


def test_erasing_one_alias_erases_that_buyer_only(shop: Shop) -> None:
    erased, *others = KEPT
    counts = _subjects(shop).erase(shop.admin, Subject(SubjectKind.ALIAS, erased.alias))
    assert counts.threads == 1
    assert_scan(shop, gone=erased.markers, kept=_markers(others + EXPIRED))


def test_a_carried_out_request_leaves_no_alias_not_even_in_the_request(shop: Shop) -> None:
    """An open request names the alias (by design); once carried out, the request keeps
    a keyed hash, and neither the alias nor anything else of the buyer is left."""
    erased, *others = KEPT
    subjects = _subjects(shop)
    subject = Subject(SubjectKind.ALIAS, erased.alias)
    request = subjects.register(shop.admin, RequestSource.AMAZON, subject, AS_OF - DAY)
    assert_scan(shop, gone=[], kept=_markers(KEPT))
    done = _subjects(shop).execute(shop.admin, request.id)
    assert done.counts is not None and done.counts.threads == 1
    assert_scan(shop, gone=erased.markers, kept=_markers(others + EXPIRED))


def test_erasing_an_order_with_its_messages_leaves_nothing_of_them(shop: Shop) -> None:
    erased, *others = KEPT
    assert erased.order_id is not None
    counts = _subjects(shop).erase(
        shop.admin, Subject(SubjectKind.ORDER, erased.order_id), including_messages=True
    )
    assert counts.messages_deleted == 2
    assert_scan(shop, gone=erased.markers, kept=_markers(others + EXPIRED))


def test_a_purge_cancelled_between_batches_is_whole_and_the_next_run_finishes(
    shop: Shop,
) -> None:
    """One thread per batch, cancelled once the first batch committed: that thread is
    erased whole, the others untouched; the data file is sound; the next run ends it."""
    job = Job(on_progress=lambda done, total, text: job.cancel.set())
    run = _purge(shop, job, batch_size=1)
    assert run.state is RunState.CANCELLED and run.counts.threads == 1
    assert shop.core.check_integrity().ok
    first, *rest = EXPIRED
    assert_scan(shop, gone=first.markers, kept=_markers(rest + KEPT))
    run = _purge(shop, batch_size=1)
    assert run.state is RunState.DONE and run.counts.threads == len(rest)
    assert_scan(shop, gone=_markers(EXPIRED), kept=_markers(KEPT))


# A child that purges the keychain shop's profile one thread per batch and stops where
# it is told, for the parent to SIGKILL: "between" (the first batch committed, in the
# progress report before the second) or "inside" (the second batch's thread re-written,
# its transaction not committed).
CHILD = """
import sys, threading
from datetime import datetime
from pathlib import Path

from keyring.backends import SecretService
from keyring.backends.fail import Keyring as FailKeyring

from app import access
from app.audit import make_audit_log
from app.bootstrap import open_vault
from app.clock import FakeClock
from app.jobs import Job
from app.logsetup import setup_logging
from app.notices import Notices
from app.paths import Profile
from app.privacy import purge
from app.privacy.service import PrivacyService

root, as_of = Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
logs, where = sys.argv[3], sys.argv[4]
setup_logging(Path(logs), level=10, stderr=False)
profile = Profile(root)
secrets = __import__("app.secrets").secrets.SecretStore.for_profile(
    profile, backend=SecretService.Keyring()
)
vault, _key = open_vault(profile, secrets)
clock = FakeClock(as_of)
notices = Notices()
audit = make_audit_log(vault, secrets, clock=clock, key=vault.audit_key, notices=notices)
service = PrivacyService(vault=vault, clock=clock, notices=notices, audit=audit, batch_size=1)


def hold():
    print("holding", flush=True)
    threading.Event().wait()


def progress(done, total, text):
    print(f"batch {done}", flush=True)
    if where == "between":
        hold()


original = purge.purge_thread


def purge_thread(conn, thread_id, **kw):
    counts = original(conn, thread_id, **kw)
    if where == "inside" and thread_id > 1:
        assert conn.in_transaction
        hold()
    return counts


purge.purge_thread = purge_thread
print("ready", flush=True)
service.purge(access.SYSTEM, as_of=as_of, job=Job(progress))
print("finished", flush=True)
"""


@pytest.mark.parametrize("where", ["between", "inside"])
def test_a_purge_killed_mid_run_leaves_a_sound_file_and_the_next_run_finishes(
    keychain_shop: Shop, where: str
) -> None:
    shop = keychain_shop
    shop.close()  # the child takes the profile's lock
    args = [sys.executable, "-c", CHILD, str(shop.profile.root), AS_OF.isoformat()]
    with reading_child([*args, str(shop.logs), where], dict(os.environ)) as (child, out):
        lines = []
        while (line := out.readline()) not in ("holding", None):
            lines.append(line)
        assert line == "holding", lines
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    assert lines == ["ready", "batch 1"]  # killed before a second batch committed
    shop.reopen()
    assert shop.core.check_integrity().ok
    # The first batch committed: that thread is erased; the second is all there.
    first, second, third = EXPIRED
    assert_scan(shop, gone=first.markers, kept=_markers([second, third, *KEPT]))
    run = _purge(shop, batch_size=1)
    assert run.state is RunState.DONE and run.counts.threads == 2
    runs = _privacy(shop).runs(shop.admin).result()
    assert [(r.state, r.error) for r in runs if r.kind is RunKind.PURGE][1:] == [
        (RunState.FAILED, "interrupted")
    ]
    assert_scan(shop, gone=_markers(EXPIRED), kept=_markers(KEPT))
