"""The mail door: each store's mailbox, fetching buyer messages, sending replies.

Mailbox settings live in ``mail_accounts`` (the store is referenced, not extended);
passwords in the keychain as ``mail:<store id>:imap-password`` /
``mail:<store id>:smtp-password``, never in the DB and never returned.

- Connecting, changing and removing a mailbox: ``manage_credentials`` (admins), audited.
- Fetching: ``fetch_mail`` on the store (agents on their stores, admins, and the system
  principal for the scheduled fetch, :mod:`app.mail.mail_job`).  Each batch of messages
  is stored in one transaction together with the folder's new position, so a crash or a
  server going away loses nothing and stores nothing twice (Message-IDs are unique per
  store, so a UIDVALIDITY reset or a Sent copy never doubles a message).
- Sending: ``reply_to_buyers``.  A reply row is written (state ``sending``) before the
  SMTP conversation; a send that ended after the message was handed over is
  ``uncertain`` and is never sent again without looking for it in the Sent folder
  first, and then only when the seller confirms.

Reads return futures of the DB thread; everything else blocks on the network or the
keychain: run it on a worker (``ui.ops.Op(lane=Lane.NET)``) or in the CLI.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

from app import access
from app.amazon import orders_repo
from app.amazon.stores import load_store
from app.audit import Action, AuditLog, make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.errors import UserError
from app.mail import parse, repo, smtp, transport
from app.mail.models import (
    AttachmentMeta,
    Direction,
    FetchCounts,
    FolderState,
    MailAccount,
    MailboxKind,
    MailPasswords,
    ParsedEmail,
    RawMessage,
    Security,
    SendState,
)
from app.notices import MailAccountsChanged, MailFetchFailed, Notices, ThreadsChanged
from app.secrets import SecretStore
from app.vault import Vault

log = logging.getLogger("muttefik.mail")
Conn = Any

BATCH = 200  # messages per fetch batch (one transaction each)
ORDER_FETCHES_PER_ROUND = 10  # orders buyers wrote about that are fetched at once


class MailboxNotConnected(UserError):
    title = "No mailbox connected"
    message = (
        "This store has no mailbox yet. An admin connects one in Tools → Mailboxes, or "
        "with `muttefik mail add --store NAME`."
    )


class MailSettingsInvalid(UserError):
    title = "Mailbox settings need a look"
    message = "Some mailbox settings are not valid."

    def __init__(
        self, message: str | None = None, *, field: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        #: The ``MailAccount`` field at fault (the dialog marks it); None: the whole.
        self.field = field


class MailPasswordMissing(UserError):
    title = "Mailbox password missing"
    message = (
        "The mailbox password is not in your keychain any more. An admin enters it again "
        "in Tools → Mailboxes, or with `muttefik mail edit --store NAME`."
    )


class NoOutgoingServer(MailSettingsInvalid):
    title = "No outgoing mail server"
    message = (
        "This store's mailbox has no outgoing (SMTP) server, so replies cannot be sent "
        "from Müttefik Desk. An admin adds it in Tools → Mailboxes; until then answer in "
        "Seller Central. Your text is kept as the draft."
    )


class ReplyMaybeSent(UserError):
    title = "This reply may already have been sent"
    message = (
        "The connection to your mail server ended after the reply was handed over, and it "
        "was not found in your Sent folder. It may have reached the buyer. Check your "
        "Sent folder or Seller Central; send it again only if it is not there."
    )


@dataclass(frozen=True)
class SendResult:
    message_rowid: int
    thread_id: int
    already_sent: bool = False  # an earlier, uncertain send was found in the Sent folder


class Source(Protocol):
    """What :mod:`app.mail.imap` and :mod:`app.mail.maildir` offer (see there)."""

    def folders(self) -> tuple[str, str | None]: ...
    def fetch_new(self, folder: str, state: FolderState, *, limit: int = ...) -> Any: ...
    def fetch_raw(self, folder: str, key: str) -> bytes | None: ...
    def find_message_id(self, folder: str, message_id: str) -> bool: ...
    def append(self, folder: str, raw: bytes, *, seen: bool = ...) -> None: ...
    def close(self) -> None: ...
    def supports_idle(self) -> bool: ...
    def idle_wait(
        self,
        folder: str,
        timeout: float,
        stop: threading.Event,
        *,
        ready: threading.Event | None = None,
    ) -> bool: ...


SourceFactory = Callable[[MailAccount, MailPasswords], Source]
Sender = Callable[..., None]


def _default_source(account: MailAccount, passwords: MailPasswords) -> Source:
    return transport.open_source(account, passwords)


def secret_name(store_id: int, which: str) -> str:
    """Keychain entry names: ``which`` is ``imap-password`` or ``smtp-password``."""
    return f"mail:{store_id}:{which}"


# --- validation -----------------------------------------------------------------------

_MAX_FIELD = 500


def _host(value: str | None, what: str, field: str) -> str:
    host = (value or "").strip()
    if not host:
        raise MailSettingsInvalid(f"Enter the {what} server's name.", field=field)
    if len(host) > 253 or any(c.isspace() or ord(c) < 33 or ord(c) > 126 for c in host):
        raise MailSettingsInvalid(
            f"The {what} server's name has characters a server name cannot have.", field=field
        )
    return host


def _port(value: object, what: str, field: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        port = 0
    if value is None or not 1 <= port <= 65535:
        raise MailSettingsInvalid(f"The {what} port must be a number from 1 to 65535.", field=field)
    return port


def _security(value: object, host: str, what: str, field: str) -> Security:
    try:
        security = Security(str(value)) if value is not None else None  # "plain" too
    except ValueError:
        security = None
    if security is None:
        raise MailSettingsInvalid(f"Choose how the {what} connection is protected.", field=field)
    if security is Security.PLAIN and not transport.is_loopback(host):
        raise MailSettingsInvalid(
            f"The {what} connection must use TLS or STARTTLS: without it your password "
            "and your buyers' messages would cross the network readable by anyone on the "
            "way. (Unprotected connections are allowed only to this computer.)",
            field=field,
        )
    return security


def _text(value: str | None, what: str, field: str, *, required: bool = True) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise MailSettingsInvalid(f"Enter the {what}.", field=field)
        return None
    if len(text) > _MAX_FIELD or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise MailSettingsInvalid(f"The {what} is too long or has control characters.", field=field)
    return text


def validate_account(account: MailAccount) -> MailAccount:
    """The account with its fields trimmed and typed, or :class:`MailSettingsInvalid` in
    plain words naming the field."""
    _, address = parseaddr(account.from_address or "")
    if not address or address.count("@") != 1 or address != (account.from_address or "").strip():
        raise MailSettingsInvalid(
            "Enter the email address you registered with Amazon as the From address "
            "(for example orders@yourshop.com): Amazon relays only mail from it.",
            field="from_address",
        )
    kind = MailboxKind(str(account.kind))
    clean = replace(account, kind=kind, from_address=address)
    if kind is MailboxKind.IMAP:
        host = _host(account.imap_host, "incoming (IMAP)", "imap_host")
        clean = replace(
            clean,
            imap_host=host,
            imap_port=_port(account.imap_port, "IMAP", "imap_port"),
            imap_security=_security(account.imap_security, host, "IMAP", "imap_security"),
            imap_user=_text(account.imap_user, "mailbox user name", "imap_user"),
            inbox_folder=_text(account.inbox_folder, "inbox folder", "inbox_folder") or "INBOX",
            sent_folder=_text(account.sent_folder, "Sent folder", "sent_folder", required=False),
            maildir_path=None,
        )
    else:
        path = _text(account.maildir_path, "Maildir folder", "maildir_path")
        assert path is not None
        folder = Path(path).expanduser()
        if not all((folder / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise MailSettingsInvalid(
                f"{folder} is not a Maildir folder (it needs cur, new and tmp inside).",
                field="maildir_path",
            )
        clean = replace(clean, maildir_path=str(folder.resolve()), imap_host=None)
    if account.smtp_host:
        host = _host(account.smtp_host, "outgoing (SMTP)", "smtp_host")
        clean = replace(
            clean,
            smtp_host=host,
            smtp_port=_port(account.smtp_port, "SMTP", "smtp_port"),
            smtp_security=_security(account.smtp_security, host, "SMTP", "smtp_security"),
            smtp_user=_text(account.smtp_user, "SMTP user name", "smtp_user", required=False),
        )
    elif kind is MailboxKind.IMAP:
        raise MailSettingsInvalid(
            "Enter the outgoing (SMTP) server: replies to buyers are sent through it.",
            field="smtp_host",
        )
    return clean


_ACCOUNT_COLUMNS = (
    "store_id, kind, from_address, imap_host, imap_port, imap_security, imap_user, "
    "inbox_folder, sent_folder, maildir_path, smtp_host, smtp_port, smtp_security, "
    "smtp_user"
)


def load_account(conn: Conn, store_id: int) -> MailAccount | None:
    row = conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM mail_accounts WHERE store_id = ?", (store_id,)
    ).fetchone()
    if row is None:
        return None
    return MailAccount(
        store_id=row[0],
        kind=MailboxKind(row[1]),
        from_address=row[2],
        imap_host=row[3],
        imap_port=row[4],
        imap_security=Security(row[5]) if row[5] else None,
        imap_user=row[6],
        inbox_folder=row[7],
        sent_folder=row[8],
        maildir_path=row[9],
        smtp_host=row[10],
        smtp_port=row[11],
        smtp_security=Security(row[12]) if row[12] else None,
        smtp_user=row[13],
    )


def _account_values(a: MailAccount) -> tuple[Any, ...]:
    return (
        a.store_id,
        str(a.kind),
        a.from_address,
        a.imap_host,
        a.imap_port,
        str(a.imap_security) if a.imap_security else None,
        a.imap_user,
        a.inbox_folder,
        a.sent_folder,
        a.maildir_path,
        a.smtp_host,
        a.smtp_port,
        str(a.smtp_security) if a.smtp_security else None,
        a.smtp_user,
    )


# --- the service ----------------------------------------------------------------------


class MailService:
    def __init__(
        self,
        *,
        vault: Vault,
        secrets: SecretStore,
        clock: Clock,
        notices: Notices,
        audit: AuditLog | None = None,
        fetch_order: Callable[[int, str], object] | None = None,
        source_factory: SourceFactory | None = None,
        sender: Sender | None = None,
        smtp_check: Sender | None = None,
    ) -> None:
        self.vault = vault
        self.secrets = secrets
        self.clock = clock
        self.notices = notices
        self.audit = audit or make_audit_log(vault, secrets, clock=clock, key=vault.audit_key)
        #: ``fetch_order(store_id, order_id)`` as the system (the single-order fetch):
        #: an order a buyer writes about gets its context at once.
        self._fetch_order = fetch_order
        self._source_factory = source_factory or _default_source
        self._sender = sender or smtp.send
        self._smtp_check = smtp_check or smtp.check
        self._fetching: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    # --- accounts ---------------------------------------------------------------------

    def get_account(self, actor: Actor, store_id: int) -> Future[MailAccount | None]:
        def read(conn: Conn) -> MailAccount | None:
            access.current(conn, actor, Permission.VIEW_STORE, store_id=store_id)
            return load_account(conn, store_id)

        return self.vault.run(read)

    def accounts(self, actor: Actor) -> Future[list[MailAccount]]:
        """The mailboxes of the stores the caller may see."""

        def read(conn: Conn) -> list[MailAccount]:
            _, visible = access.current_and_stores(conn, actor)
            rows = conn.execute("SELECT store_id FROM mail_accounts ORDER BY store_id")
            ids = [r[0] for r in rows if visible is None or r[0] in visible]
            return [a for i in ids if (a := load_account(conn, i)) is not None]

        return self.vault.run(read)

    def save_account(
        self, actor: Actor, account: MailAccount, passwords: MailPasswords | None
    ) -> MailAccount:
        """Connect or change a store's mailbox (admins).  ``passwords`` None keeps the
        stored ones (a change of server names only).  Blocks on the keychain."""
        clean = validate_account(account)
        now = orders_repo.to_db_time(self.clock.now())

        def save(conn: Conn) -> tuple[bool, list[str]]:
            admin = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            if (
                conn.execute("SELECT 1 FROM stores WHERE id = ?", (clean.store_id,)).fetchone()
                is None
            ):
                raise MailSettingsInvalid("This store no longer exists.")
            old = load_account(conn, clean.store_id)
            values = _account_values(clean)
            if old is None:
                conn.execute(
                    f"INSERT INTO mail_accounts({_ACCOUNT_COLUMNS}, created_at, updated_at) "
                    f"VALUES ({','.join('?' * (len(values) + 2))})",
                    (*values, now, now),
                )
                self.audit.append(
                    conn,
                    actor_id=admin.id,
                    action=Action.MAILBOX_CONNECTED,
                    object_type="store",
                    object_id=clean.store_id,
                    details={"kind": str(clean.kind)},
                )
                changed: list[str] = []
            else:
                names = [c.strip() for c in _ACCOUNT_COLUMNS.split(",")]
                before = _account_values(old)
                changed = [n for n, a, b in zip(names, before, values, strict=True) if a != b]
                conn.execute(
                    "UPDATE mail_accounts SET "
                    + ", ".join(f"{n} = ?" for n in names[1:])
                    + ", updated_at = ? WHERE store_id = ?",
                    (*values[1:], now, clean.store_id),
                )
                if passwords is not None:
                    changed.append("passwords")
                self.audit.append(
                    conn,
                    actor_id=admin.id,
                    action=Action.MAILBOX_CHANGED,
                    object_type="store",
                    object_id=clean.store_id,
                    details={"fields": "+".join(changed) or "none"},
                )
            self.notices.after_commit(self.vault, MailAccountsChanged(frozenset({clean.store_id})))
            return old is None, changed

        if (
            passwords is None
            and clean.kind is MailboxKind.IMAP
            and not self.secrets.get(secret_name(clean.store_id, "imap-password"))
        ):
            raise MailPasswordMissing("Enter the mailbox password.")
        created, _ = self.vault.call_write(save)
        if passwords is not None:
            try:
                self._put_passwords(clean.store_id, passwords)
            except BaseException:
                if created:  # no mailbox without its password stays behind
                    self._delete_row(clean.store_id)
                raise
        return clean

    def remove_account(self, actor: Actor, store_id: int) -> None:
        def delete(conn: Conn) -> None:
            admin = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            if conn.execute("DELETE FROM mail_accounts WHERE store_id = ?", (store_id,)).rowcount:
                conn.execute("DELETE FROM mail_folders WHERE store_id = ?", (store_id,))
                conn.execute("DELETE FROM mail_seen_keys WHERE store_id = ?", (store_id,))
                self.audit.append(
                    conn,
                    actor_id=admin.id,
                    action=Action.MAILBOX_REMOVED,
                    object_type="store",
                    object_id=store_id,
                )
                self.notices.after_commit(self.vault, MailAccountsChanged(frozenset({store_id})))
            else:
                raise MailboxNotConnected()

        self.vault.call_write(delete)
        for which in ("imap-password", "smtp-password"):
            try:
                self.secrets.delete(secret_name(store_id, which))
            except Exception as exc:
                log.warning(
                    "could not remove a mail password of store %d: %s", store_id, type(exc).__name__
                )

    def _delete_row(self, store_id: int) -> None:
        try:
            self.vault.call_write(
                lambda conn: conn.execute(
                    "DELETE FROM mail_accounts WHERE store_id = ?", (store_id,)
                )
            )
        except Exception:
            log.exception("removing the mailbox of store %d after its password failed", store_id)

    def _put_passwords(self, store_id: int, passwords: MailPasswords) -> None:
        if passwords.imap:
            self.secrets.set(secret_name(store_id, "imap-password"), passwords.imap)
        if passwords.smtp:
            self.secrets.set(secret_name(store_id, "smtp-password"), passwords.smtp)
        else:
            with contextlib.suppress(Exception):  # nothing was stored
                self.secrets.delete(secret_name(store_id, "smtp-password"))

    def _passwords(self, account: MailAccount) -> MailPasswords:
        """The keychain's passwords for a caller already checked.  Blocks."""
        if account.kind is MailboxKind.MAILDIR and not account.smtp_host:
            return MailPasswords()
        imap = self.secrets.get(secret_name(account.store_id, "imap-password"))
        smtp_pw = self.secrets.get(secret_name(account.store_id, "smtp-password"))
        if account.kind is MailboxKind.IMAP and not imap:
            raise MailPasswordMissing()
        return MailPasswords(imap=imap, smtp=smtp_pw)

    def test_account(
        self, actor: Actor, account: MailAccount, passwords: MailPasswords | None
    ) -> str:
        """Connect to the mailbox as configured and read its folders; a sentence for
        the seller.  ``passwords`` None: the stored ones.  Blocks on the network."""
        self.vault.call(lambda conn: access.current(conn, actor, Permission.MANAGE_CREDENTIALS))
        clean = validate_account(account)
        if passwords is None:
            passwords = self._passwords(clean)
        source = self._source_factory(clean, passwords)
        try:
            inbox, sent = source.folders()
        finally:
            source.close()
        found = f"the inbox ({inbox})" + (f" and the Sent folder ({sent})" if sent else "")
        if not clean.smtp_host:
            return f"Connected: Müttefik Desk can read {found}."
        self._smtp_check(clean, passwords.smtp or passwords.imap)
        return (
            f"Connected: Müttefik Desk can read {found} and sign in to the outgoing "
            f"server {clean.smtp_host} (nothing was sent)."
        )

    def open_source(self, actor: Actor, account: MailAccount) -> Source:
        """A connection to the store's mailbox (the IDLE watcher's).  Blocks."""
        self.vault.call(
            lambda conn: access.current(
                conn, actor, Permission.FETCH_MAIL, store_id=account.store_id
            )
        )
        return self._source_factory(account, self._passwords(account))

    # --- fetching ---------------------------------------------------------------------

    @contextmanager
    def _one_fetch(self, store_id: int) -> Iterator[bool]:
        with self._guard:
            lock = self._fetching.setdefault(store_id, threading.Lock())
        got = lock.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                lock.release()

    def fetch(
        self, actor: Actor, store_id: int, cancel: threading.Event | None = None
    ) -> FetchCounts:
        """Fetch new mail of one store's mailbox (inbox, then Sent) into its threads.

        Blocks on the network and the DB; returns the counts.  A fetch of the same store
        already running in this process makes this one return empty counts."""
        cancel = cancel or threading.Event()

        def start(conn: Conn) -> MailAccount:
            access.current(conn, actor, Permission.FETCH_MAIL, store_id=store_id)
            account = load_account(conn, store_id)
            if account is None:
                raise MailboxNotConnected()
            return account

        account = self.vault.call(start)
        with self._one_fetch(store_id) as mine:
            if not mine:
                return FetchCounts()
            try:
                counts = self._fetch(actor, account, cancel)
            except UserError as exc:
                self._record_error(store_id, exc)
                self.notices.publish(MailFetchFailed(store_id, exc))
                raise
        self._fetch_orders(actor, store_id, cancel)
        return counts

    def _fetch(self, actor: Actor, account: MailAccount, cancel: threading.Event) -> FetchCounts:
        source = self._source_factory(account, self._passwords(account))
        total = FetchCounts()
        try:
            inbox, sent = source.folders()
            for folder, direction in ((inbox, Direction.IN), (sent, Direction.OUT)):
                if folder is None:
                    continue
                while not cancel.is_set():
                    state = self._folder_state(account.store_id, folder)
                    batch = source.fetch_new(folder, state, limit=BATCH)
                    counts = self._store_batch(
                        actor,
                        account,
                        folder,
                        direction,
                        state,
                        batch.uidvalidity,
                        batch.messages,
                    )
                    total = _add(total, counts)
                    if not batch.more:
                        break
        finally:
            source.close()
        if total.imported:
            self._audit_fetch(actor, account.store_id, total)
        return total

    def _folder_state(self, store_id: int, folder: str) -> FolderState:
        return self.vault.call(lambda conn: repo.folder_state(conn, store_id, folder))

    def _store_batch(
        self,
        actor: Actor,
        account: MailAccount,
        folder: str,
        direction: Direction,
        state: FolderState,
        uidvalidity: int | None,
        messages: list[RawMessage],
    ) -> FetchCounts:
        now = self.clock.now()
        parsed = [(raw, _parse(raw, now)) for raw in messages]
        reset = uidvalidity is not None and uidvalidity != state.uidvalidity

        def store(conn: Conn) -> FetchCounts:
            access.current(conn, actor, Permission.FETCH_MAIL, store_id=account.store_id)
            imported = skipped = flagged = new_in = 0
            threads: set[int] = set()
            for raw, p in parsed:
                if not _wanted(p, direction):
                    skipped += 1
                    continue
                key = f"{uidvalidity}:{raw.uid}" if raw.uid is not None else raw.key
                stored = repo.store_message(
                    conn,
                    account.store_id,
                    p,
                    direction=direction,
                    folder=folder,
                    source_key=key,
                    now=now,
                )
                if stored.new:
                    imported += 1
                    flagged += bool(p.flags)
                    new_in += direction is Direction.IN
                    threads.add(stored.thread_id)
            uids = [m.uid for m in messages if m.uid is not None]
            last_uid = max(uids, default=0 if reset else state.last_uid)
            if not reset:
                last_uid = max(last_uid, state.last_uid)
            repo.save_folder_state(
                conn,
                account.store_id,
                folder,
                uidvalidity=uidvalidity,
                last_uid=last_uid,
                seen_keys=[m.key for m in messages if m.uid is None],
                now=now,
            )
            if threads:
                self.notices.after_commit(
                    self.vault,
                    ThreadsChanged(frozenset({account.store_id}), tuple(sorted(threads)), new_in),
                )
            return FetchCounts(len(messages), imported, skipped, flagged, frozenset(threads))

        return self.vault.call_write(store)

    def _record_error(self, store_id: int, exc: UserError) -> None:
        now = self.clock.now()
        try:
            self.vault.call_write(
                lambda conn: conn.execute(
                    "UPDATE mail_folders SET last_error = ?, last_fetch = ? WHERE store_id = ?",
                    (exc.title, orders_repo.to_db_time(now), store_id),
                )
            )
        except Exception as err:
            log.info("mail error of store %d not recorded (%s)", store_id, type(err).__name__)

    def _audit_fetch(self, actor: Actor, store_id: int, counts: FetchCounts) -> None:
        def write(conn: Conn) -> None:
            self.audit.append(
                conn,
                actor_id=access.audit_actor_id(actor),
                action=Action.MAIL_FETCHED,
                object_type="store",
                object_id=store_id,
                details={
                    "seen": counts.seen,
                    "imported": counts.imported,
                    "skipped": counts.skipped,
                    "flagged": counts.flagged,
                },
            )

        self.vault.call_write(write)

    def _fetch_orders(self, actor: Actor, store_id: int, cancel: threading.Event) -> None:
        """Fetch the orders buyers wrote about that are not stored yet (best effort)."""
        if self._fetch_order is None:
            return
        missing = self.vault.call(lambda conn: repo.orders_without_context(conn, store_id))
        for order_id in missing[:ORDER_FETCHES_PER_ROUND]:
            if cancel.is_set():
                return
            try:
                self._fetch_order(store_id, order_id)
            except UserError as exc:
                log.info("order of a buyer message not fetched (%s)", exc.title)
                return  # the next round tries again
            except Exception:
                log.exception("fetching the order of a buyer message crashed")
                return

    # --- sending ----------------------------------------------------------------------

    def send_reply(
        self, actor: Actor, thread_id: int, text: str, *, send_again: bool = False
    ) -> SendResult:
        """Send ``text`` to the thread's buyer through the relay.  Blocks (network).

        The text is saved as the thread's draft first, so a failure loses nothing.  An
        earlier send of this thread that ended uncertainly is looked for in the Sent
        folder; if found, nothing is sent (``already_sent``); if not, this raises
        :class:`ReplyMaybeSent` unless ``send_again`` (the seller confirmed)."""
        body = text.strip()
        if not body:
            raise MailSettingsInvalid("The reply is empty.")
        now = self.clock.now()

        def prepare(
            conn: Conn,
        ) -> tuple[MailAccount, repo.ReplyTarget, repo.PendingReply | None, int | None]:
            store_id = repo.thread_store(conn, thread_id)
            operator = access.current(conn, actor, Permission.REPLY_TO_BUYERS, store_id=store_id)
            account = load_account(conn, store_id)
            if account is None:
                raise MailboxNotConnected()
            store = load_store(conn, store_id)
            if not account.smtp_host and not (store and store.demo):
                raise NoOutgoingServer()
            repo.set_draft(conn, thread_id, text, now)
            target = repo.reply_target(conn, thread_id)
            if "@" not in target.alias:
                raise MailSettingsInvalid(
                    "This conversation has no Amazon relay address to answer (the message "
                    "could not be read); answer it from Seller Central."
                )
            pending = repo.pending_reply(conn, thread_id)
            return account, target, pending, operator.id

        account, target, pending, operator_id = self.vault.call_write(prepare)
        if pending is not None:
            # Handed over when the connection ended, or the app stopped mid-send.
            if self._found_in_sent(account, pending.message_id):
                self._finish(
                    actor, pending.message_rowid, thread_id, SendState.SENT, None, len(body)
                )
                return SendResult(pending.message_rowid, thread_id, already_sent=True)
            if not send_again:
                raise ReplyMaybeSent()
        message_id = (
            pending.message_id
            if pending is not None
            else f"{uuid.uuid4().hex}@{account.from_address.rpartition('@')[2]}"
        )
        message = smtp.build_reply(
            account=account,
            to=target.alias,
            subject=target.subject,
            body=body,
            in_reply_to=target.in_reply_to,
            references=target.references,
            message_id=message_id,
            date=now,
        )

        def begin(conn: Conn) -> int:
            if pending is not None:  # the seller confirmed: the same message, once more
                conn.execute(
                    "UPDATE messages SET send_state = 'sending', body = ?, send_error = NULL "
                    "WHERE id = ?",
                    (body, pending.message_rowid),
                )
                return pending.message_rowid
            return repo.begin_reply(
                conn,
                thread_id,
                operator_id=operator_id,
                message_id=message_id,
                subject=str(message["Subject"]),
                body=body,
                in_reply_to=target.in_reply_to,
                now=now,
            )

        rowid = self.vault.call_write(begin)
        try:
            self._deliver(account, message)
        except transport.SendUncertain as exc:
            self._finish(actor, rowid, thread_id, SendState.UNCERTAIN, exc, len(body))
            raise
        except UserError as exc:
            self._finish(actor, rowid, thread_id, SendState.FAILED, exc, len(body))
            raise
        except BaseException as exc:
            self._finish(actor, rowid, thread_id, SendState.FAILED, UserError(), len(body))
            if isinstance(exc, Exception):
                log.exception("sending a reply crashed")
            raise
        self._finish(actor, rowid, thread_id, SendState.SENT, None, len(body))
        self._copy_to_sent(account, message)
        return SendResult(rowid, thread_id)

    def _deliver(self, account: MailAccount, message: Any) -> None:
        if not account.smtp_host:  # the demo store only (send_reply checked): its Sent
            source = self._source_factory(account, MailPasswords())
            try:
                _, sent = source.folders()
                source.append(sent or ".Sent", bytes(message), seen=True)
            finally:
                source.close()
            return
        passwords = self._passwords(account)
        password = passwords.smtp or passwords.imap
        self._sender(account, password, message)

    def _copy_to_sent(self, account: MailAccount, message: Any) -> None:
        """Put the reply in the mailbox's Sent folder unless the server did (best effort),
        as desktop mail programs do: the seller sees it from any mail program."""
        if account.kind is not MailboxKind.IMAP:
            return
        mid = str(message["Message-ID"]).strip("<>")
        try:
            source = self._source_factory(account, self._passwords(account))
            try:
                _, sent = source.folders()
                if sent and not source.find_message_id(sent, mid):
                    source.append(sent, bytes(message), seen=True)
            finally:
                source.close()
        except Exception as exc:
            log.info("reply not copied to the Sent folder (%s)", type(exc).__name__)

    def _found_in_sent(self, account: MailAccount, message_id: str) -> bool:
        try:
            source = self._source_factory(account, self._passwords(account))
            try:
                _, sent = source.folders()
                return sent is not None and source.find_message_id(sent, message_id)
            finally:
                source.close()
        except UserError as exc:
            log.info("Sent folder not searched (%s)", exc.title)
            return False

    def _finish(
        self,
        actor: Actor,
        rowid: int,
        thread_id: int,
        state: SendState,
        error: UserError | None,
        chars: int,
    ) -> None:
        now = self.clock.now()

        def write(conn: Conn) -> None:
            repo.finish_reply(conn, rowid, state, error=error.title if error else None, now=now)
            store_id = repo.thread_store(conn, thread_id)
            if state is SendState.SENT:
                self.audit.append(
                    conn,
                    actor_id=access.audit_actor_id(actor),
                    action=Action.REPLY_SENT,
                    object_type="thread",
                    object_id=thread_id,
                    details={"chars": chars},
                )
            else:
                self.audit.append(
                    conn,
                    actor_id=access.audit_actor_id(actor),
                    action=Action.REPLY_NOT_SENT,
                    object_type="thread",
                    object_id=thread_id,
                    details={"error": type(error).__name__, "state": str(state)},
                )
            self.notices.after_commit(
                self.vault, ThreadsChanged(frozenset({store_id}), (thread_id,))
            )

        self.vault.call_write(write)

    # --- attachments ------------------------------------------------------------------

    def attachment(
        self, actor: Actor, message_rowid: int, part: int, *, saving: bool = False
    ) -> tuple[AttachmentMeta, bytes]:
        """One attachment's content, fetched from the mailbox now (never stored).
        ``saving``: the seller chose "Save as…" (audited).  Blocks (network)."""

        def find(conn: Conn) -> tuple[MailAccount, str, str, str | None, int | None]:
            row = conn.execute(
                "SELECT store_id, folder, source_key, message_id FROM messages WHERE id = ?",
                (message_rowid,),
            ).fetchone()
            if row is None:
                raise repo.ThreadNotFound()
            access.current(conn, actor, Permission.VIEW_STORE, store_id=row[0])
            account = load_account(conn, row[0])
            if account is None:
                raise MailboxNotConnected()
            if saving:
                self.audit.append(
                    conn,
                    actor_id=access.audit_actor_id(actor),
                    action=Action.ATTACHMENT_SAVED,
                    object_type="message",
                    object_id=message_rowid,
                    details={"part": part},
                )
            if not row[1] or not row[2]:
                raise AttachmentGone()
            validity = repo.folder_state(conn, row[0], row[1]).uidvalidity
            return account, row[1], row[2], row[3], validity

        account, folder, key, message_id, validity = (
            self.vault.call_write(find) if saving else self.vault.call(find)
        )
        if account.kind is MailboxKind.IMAP:
            # A UID means nothing once the folder's UIDVALIDITY changed.
            stored_validity, _, key = key.rpartition(":")
            if stored_validity != str(validity):
                raise AttachmentGone()
        source = self._source_factory(account, self._passwords(account))
        try:
            raw = source.fetch_raw(folder, key)
        finally:
            source.close()
        if raw is None or not _same_message(raw, message_id):
            raise AttachmentGone()
        return parse.attachment_bytes(raw, part)


class AttachmentGone(UserError):
    title = "Attachment not found"
    message = (
        "The email with this attachment is no longer in the mailbox (it may have been "
        "moved or deleted there), so its attachment cannot be opened."
    )


def _same_message(raw: bytes, message_id: str | None) -> bool:
    """Whether ``raw`` is the stored message (its Message-ID), so an attachment is never
    taken from another email that now sits at the same place."""
    if not message_id:
        return True
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return transport.bare_message_id(str(headers.get("Message-ID", ""))) == message_id


_UNREADABLE = "This message could not be read as an email; open it in your mail program to see it."


def _parse(raw: RawMessage, now: datetime) -> ParsedEmail:
    try:
        return parse.parse_email(raw.raw, received=raw.received)
    except parse.EmailUnreadable:
        return ParsedEmail(
            order_id=None,
            alias="",
            marketplace_domain="",
            buyer_display_name=None,
            subject="(unreadable message)",
            received_at=raw.received or now,
            body="",
            no_response_needed_url=None,
            flags=(_UNREADABLE,),
        )


def _wanted(p: ParsedEmail, direction: Direction) -> bool:
    """Buyer messages from the relay in the inbox; the seller's replies to it in Sent.
    A message too damaged to say who sent it is kept, flagged, never dropped silently."""
    if p.is_amazon:
        return True
    return direction is Direction.IN and bool(p.flags) and not p.from_address


def _add(a: FetchCounts, b: FetchCounts) -> FetchCounts:
    return FetchCounts(
        a.seen + b.seen,
        a.imported + b.imported,
        a.skipped + b.skipped,
        a.flagged + b.flagged,
        a.threads | b.threads,
    )
