"""Stores (SP-API seller accounts): settings in the vault, secrets in the keychain.

Admins manage stores (permission ``manage_credentials``); agents see only the stores
they are members of.  Every method checks its caller with :func:`app.access.current`
on the DB thread before it reads or changes anything.  The LWA client secret and
refresh token go to the keychain as ``store:<id>:lwa-client-secret`` /
``store:<id>:refresh-token``; never to the DB, and no public method returns them.

Thread: the reads (:meth:`StoreService.list_stores`, :meth:`StoreService.find_store`)
return futures of the DB thread; every other method blocks on the DB thread, the
keychain and/or the network, so call it from a worker thread (``ui/ops.py``) or the CLI,
never from the GUI thread.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app import access
from app.amazon import bucket_repo, orders_repo
from app.amazon.models import Credentials, Region, Store, StoreDraft
from app.amazon.spapi import PLAIN_ASCII_RE, check_endpoint, classify
from app.amazon.spapi.orders import (
    SEARCH_ORDERS,
    SYNC_INCLUDED_DATA,
    ClientFactory,
    real_client_factory,
)
from app.audit import Action, AuditLog, make_audit_log
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.errors import (
    StoreCredentialsMissing,
    StoreNameTaken,
    StoreSettingsInvalid,
    UserError,
)
from app.notices import Notices, StoresChanged
from app.secrets import SecretStore
from app.vault import Vault

log = logging.getLogger("muttefik.sync")
Conn = Any

_MARKETPLACE_RE = re.compile(r"^[A-Z0-9]{8,20}$")
_STORE_COLUMNS = (
    "id, name, region, marketplace_ids, lwa_client_id, sp_api_endpoint, lwa_endpoint, demo, "
    "created_at, updated_at"
)


def secret_name(store_id: int, which: str) -> str:
    """Keychain entry names: ``which`` is ``lwa-client-secret`` or ``refresh-token``."""
    return f"store:{store_id}:{which}"


def read_credentials(secrets: SecretStore, store_id: int) -> Credentials:
    """The store's secrets from the keychain, for a service that has checked its caller
    (the sync: ``sync_orders`` on this store).  Raises :class:`StoreCredentialsMissing`.
    Blocks on the keychain: worker thread."""
    token = secrets.get(secret_name(store_id, "refresh-token"))
    secret = secrets.get(secret_name(store_id, "lwa-client-secret"))
    if not token or not secret:
        raise StoreCredentialsMissing(detail=f"store {store_id}")
    return Credentials(lwa_client_secret=secret, refresh_token=token)


@dataclass(frozen=True)
class ConnectionReport:
    """Outcome of "Test connection", in a seller's words.

    ``ok``: a token was issued and one page of orders was read.  Otherwise ``error`` is
    the seller-facing error (its ``title``/``message`` say what to fix).
    """

    ok: bool
    title: str
    message: str
    orders_seen: int = 0
    error: UserError | None = None


def _store_from_row(r: Any) -> Store:
    return Store(
        id=int(r[0]),
        name=r[1],
        region=Region(r[2]),
        marketplace_ids=tuple(json.loads(r[3] or "[]")),
        lwa_client_id=r[4] or "",
        sp_api_endpoint=r[5],
        lwa_endpoint=r[6],
        demo=bool(r[7]),
        created_at=orders_repo.from_db_time(r[8]),
        updated_at=orders_repo.from_db_time(r[9]),
    )


def load_store(conn: Conn, store_id: int) -> Store | None:
    """DB thread."""
    r = conn.execute(f"SELECT {_STORE_COLUMNS} FROM stores WHERE id = ?", (store_id,)).fetchone()
    return None if r is None else _store_from_row(r)


def load_stores(conn: Conn) -> list[Store]:
    """DB thread: every store, by name."""
    return [
        _store_from_row(r)
        for r in conn.execute(f"SELECT {_STORE_COLUMNS} FROM stores ORDER BY name COLLATE NOCASE")
    ]


#: Longest values accepted from the store dialog (Amazon's client ids are ~70
#: characters, refresh tokens ~400).
MAX_NAME_LENGTH = 80
MAX_CLIENT_ID_LENGTH = 200
MAX_SECRET_LENGTH = 2000
_ENDPOINT_LABELS = {
    "sp_api_endpoint": "The SP-API endpoint",
    "lwa_endpoint": "The LWA token URL",
}
# Characters that change how text around them is shown (or show nothing): controls,
# lone surrogates, bidirectional-text controls and other invisible format characters.
# Joiners (U+200C/D) and emoji tag characters stay allowed.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_ALLOWED_FORMAT = frozenset("\u200c\u200d")


def _hidden_character(text: str) -> str | None:
    for char in text:
        category = unicodedata.category(char)
        if char in _BIDI_CONTROLS or category in ("Cc", "Cs"):
            return char
        if (
            category == "Cf"
            and char not in _ALLOWED_FORMAT
            and not "\U000e0020" <= char <= "\U000e007f"
        ):
            return char
    return None


def _check_token(value: str, field: str, what: str, limit: int) -> None:
    if len(value) > limit or not PLAIN_ASCII_RE.fullmatch(value):
        raise StoreSettingsInvalid(
            f"The {what} may hold only plain letters, digits and punctuation, without "
            f"spaces, up to {limit} characters. Copy it again from Seller Central.",
            field=field,
        )


def validate_draft(draft: StoreDraft) -> StoreDraft:
    """Normalise and check a draft; raises :class:`StoreSettingsInvalid` (or
    :class:`~app.errors.InsecureEndpoint`) naming the field at fault.  Pure: no I/O, so
    the dialog may call it on the GUI thread."""
    if len(draft.name) > 4 * MAX_NAME_LENGTH:  # before splitting a pasted novel
        raise StoreSettingsInvalid(
            f"The store name is too long: up to {MAX_NAME_LENGTH} characters.", field="name"
        )
    name = " ".join(draft.name.split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise StoreSettingsInvalid(
            f"Give the store a name (up to {MAX_NAME_LENGTH} characters).", field="name"
        )
    hidden = _hidden_character(name)
    if hidden is not None:
        raise StoreSettingsInvalid(
            f"The store name holds an invisible control or text-direction character "
            f"(U+{ord(hidden):04X}), which can make it show differently from what is "
            "stored. Type the name again instead of pasting it.",
            field="name",
        )
    try:
        region = Region(draft.region)
    except ValueError:
        raise StoreSettingsInvalid("Choose the store's region.", field="region") from None
    raw_mkts = list(draft.marketplace_ids)
    if len(raw_mkts) > 50:
        raise StoreSettingsInvalid("Choose at most 50 marketplaces.", field="marketplace_ids")
    mkts = tuple(dict.fromkeys(m.strip().upper() for m in raw_mkts if m.strip()))
    if not mkts:
        raise StoreSettingsInvalid(
            "Choose at least one marketplace for the store.", field="marketplace_ids"
        )
    bad = [m for m in mkts if not _MARKETPLACE_RE.match(m)]
    if bad:
        shown = f": {bad[0]}" if len(bad[0]) <= 20 and PLAIN_ASCII_RE.fullmatch(bad[0]) else "."
        raise StoreSettingsInvalid(f"Not an Amazon marketplace id{shown}", field="marketplace_ids")
    client_id = draft.lwa_client_id.strip()
    if client_id:
        _check_token(client_id, "lwa_client_id", "LWA client id", MAX_CLIENT_ID_LENGTH)
    sp = (draft.sp_api_endpoint or "").strip().rstrip("/") or None
    lwa = (draft.lwa_endpoint or "").strip() or None
    for field, url in (("sp_api_endpoint", sp), ("lwa_endpoint", lwa)):
        if url:
            check_endpoint(url, field=field, label=_ENDPOINT_LABELS[field])
    return StoreDraft(
        name=name,
        region=region,
        marketplace_ids=mkts,
        lwa_client_id=client_id,
        sp_api_endpoint=sp,
        lwa_endpoint=lwa,
    )


def validate_credentials(credentials: Credentials) -> Credentials:
    """Both secrets present, printable ASCII without spaces, of a sane length; returns
    them stripped.  Raises :class:`StoreSettingsInvalid` naming the field.  Pure."""
    secret = credentials.lwa_client_secret.strip()
    token = credentials.refresh_token.strip()
    if not secret or not token:
        raise StoreSettingsInvalid(
            "Enter both the LWA client secret and the refresh token.",
            field="refresh_token" if secret else "client_secret",
        )
    _check_token(secret, "client_secret", "client secret", MAX_SECRET_LENGTH)
    _check_token(token, "refresh_token", "refresh token", MAX_SECRET_LENGTH)
    return Credentials(lwa_client_secret=secret, refresh_token=token)


class StoreService:
    """Create, change, remove and test stores.  See the module docstring for threads."""

    def __init__(
        self,
        *,
        vault: Vault,
        secrets: SecretStore,
        clock: Clock,
        notices: Notices | None = None,
        audit: AuditLog | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.vault = vault
        self.secrets = secrets
        self.clock = clock
        self.notices = notices
        self.audit = audit or make_audit_log(vault, secrets, clock=clock, key=vault.audit_key)
        self.client_factory = client_factory or real_client_factory(timeout=20.0)
        self._lock = threading.Lock()

    # --- reads -------------------------------------------------------------------------

    def list_stores(self, actor: Actor) -> Future[list[Store]]:
        """The stores ``actor`` may see, by name."""

        def read(conn: Conn) -> list[Store]:
            allowed = set(access.visible_stores(conn, actor))
            return [s for s in load_stores(conn) if s.id in allowed]

        return self.vault.run(read)

    def find_store(self, actor: Actor, name: str) -> Future[Store | None]:
        """A visible store by name (case-insensitive), for the CLI."""
        wanted = name.strip().casefold()

        def read(conn: Conn) -> Store | None:
            allowed = set(access.visible_stores(conn, actor))
            for store in load_stores(conn):
                if store.id in allowed and store.name.casefold() == wanted:
                    return store
            return None

        return self.vault.run(read)

    def has_credentials(self, actor: Actor, store_id: int) -> bool:
        """Whether both secrets of a store the caller may see are in the keychain.
        Blocks on the keychain (it may wait for an unlock prompt): worker thread."""
        self.vault.call(lambda conn: access.current(conn, actor, Permission.VIEW_STORE, store_id))
        return bool(
            self.secrets.get(secret_name(store_id, "refresh-token"))
            and self.secrets.get(secret_name(store_id, "lwa-client-secret"))
        )

    # --- changes -----------------------------------------------------------------------

    def create_store(
        self,
        actor: Actor,
        draft: StoreDraft,
        credentials: Credentials | None = None,
        *,
        demo: bool = False,
    ) -> Store:
        clean = validate_draft(draft)
        if credentials is not None:  # checked before anything is written
            credentials = validate_credentials(credentials)
        now = orders_repo.to_db_time(self.clock.now())

        def insert(conn: Conn) -> Store:
            admin = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            taken = conn.execute(
                "SELECT 1 FROM stores WHERE name = ? COLLATE NOCASE", (clean.name,)
            ).fetchone()
            if taken:
                raise StoreNameTaken()
            cur = conn.execute(
                "INSERT INTO stores(name, region, marketplace_ids, lwa_client_id, "
                "sp_api_endpoint, lwa_endpoint, demo, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    clean.name,
                    str(clean.region),
                    json.dumps(list(clean.marketplace_ids)),
                    clean.lwa_client_id,
                    clean.sp_api_endpoint,
                    clean.lwa_endpoint,
                    int(demo),
                    now,
                    now,
                ),
            )
            store_id = int(cur.lastrowid)
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.STORE_CREATED,
                object_type="store",
                object_id=store_id,
                details={"region": str(clean.region)},
            )
            store = load_store(conn, store_id)
            assert store is not None
            return store

        store = self.vault.call_write(insert)
        if credentials is not None:
            try:
                self._put_secrets(store.id, credentials)
            except BaseException:
                # A locked or missing keychain: no store without credentials stays behind
                # (the seller retries with the same name once the keychain works).
                self._undo_create(actor, store.id)
                raise
        self._changed(store.id)
        return store

    def _undo_create(self, actor: Actor, store_id: int) -> None:
        try:
            self._remove(actor, store_id, {"reason": "credentials_not_saved"})
        except Exception:
            log.exception("removing store %d after its secrets failed to save failed", store_id)
        for which in ("lwa-client-secret", "refresh-token"):  # one of them may be stored
            try:
                self.secrets.delete(secret_name(store_id, which))
            except Exception as exc:
                log.warning(
                    "could not remove a secret of store %d: %s", store_id, type(exc).__name__
                )

    def update_store(self, actor: Actor, store_id: int, draft: StoreDraft) -> Store:
        clean = validate_draft(draft)
        now = orders_repo.to_db_time(self.clock.now())

        def update(conn: Conn) -> list[str]:
            admin = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            old = load_store(conn, store_id)
            if old is None:
                raise StoreSettingsInvalid("This store no longer exists.")
            taken = conn.execute(
                "SELECT 1 FROM stores WHERE name = ? COLLATE NOCASE AND id <> ?",
                (clean.name, store_id),
            ).fetchone()
            if taken:
                raise StoreNameTaken()
            new = replace(
                old,
                name=clean.name,
                region=clean.region,
                marketplace_ids=clean.marketplace_ids,
                lwa_client_id=clean.lwa_client_id,
                sp_api_endpoint=clean.sp_api_endpoint,
                lwa_endpoint=clean.lwa_endpoint,
            )
            fields = [
                f
                for f in (
                    "name",
                    "region",
                    "marketplace_ids",
                    "lwa_client_id",
                    "sp_api_endpoint",
                    "lwa_endpoint",
                )
                if getattr(old, f) != getattr(new, f)
            ]
            if not fields:
                return []
            conn.execute(
                "UPDATE stores SET name=?, region=?, marketplace_ids=?, lwa_client_id=?, "
                "sp_api_endpoint=?, lwa_endpoint=?, updated_at=? WHERE id=?",
                (
                    new.name,
                    str(new.region),
                    json.dumps(list(new.marketplace_ids)),
                    new.lwa_client_id,
                    new.sp_api_endpoint,
                    new.lwa_endpoint,
                    now,
                    store_id,
                ),
            )
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.STORE_CHANGED,
                object_type="store",
                object_id=store_id,
                details={"fields": "+".join(fields)},
            )
            return fields

        if self.vault.call_write(update):
            self._changed(store_id)
        store = self.vault.call(lambda conn: load_store(conn, store_id))
        assert store is not None
        return store

    def set_credentials(self, actor: Actor, store_id: int, credentials: Credentials) -> None:
        """Replace the store's secrets in the keychain and audit it (checked before the
        keychain is touched, and again in the audit entry's transaction)."""
        clean = validate_credentials(credentials)
        self.vault.call(lambda conn: self._managed_store(conn, actor, store_id))
        self._put_secrets(store_id, clean)

        def record(conn: Conn) -> None:
            admin = self._managed_store(conn, actor, store_id)
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.STORE_CREDENTIALS_CHANGED,
                object_type="store",
                object_id=store_id,
                details={"fields": "lwa_client_secret+refresh_token"},
            )

        self.vault.call_write(record)
        self._changed(store_id)

    def delete_store(self, actor: Actor, store_id: int) -> None:
        """Remove the store, its orders, sync state and keychain entries."""
        self._remove(actor, store_id)
        for which in ("lwa-client-secret", "refresh-token"):
            self.secrets.delete(secret_name(store_id, which))
        self._changed(store_id)

    def _remove(self, actor: Actor, store_id: int, details: dict[str, Any] | None = None) -> None:
        """Delete the store's rows (orders, sync state, the store) and audit it."""

        def delete(conn: Conn) -> None:
            admin = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
            orders_repo.delete_store_orders(conn, store_id)
            conn.execute("DELETE FROM sync_cursors WHERE store_id = ?", (store_id,))
            conn.execute("DELETE FROM stores WHERE id = ?", (store_id,))
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.STORE_DELETED,
                object_type="store",
                object_id=store_id,
                details=details,
            )

        self.vault.call_write(delete)

    def _managed_store(self, conn: Conn, actor: Actor, store_id: int) -> Actor:
        """DB thread: the caller, checked for ``manage_credentials``, and the store exists."""
        admin = access.current(conn, actor, Permission.MANAGE_CREDENTIALS)
        if load_store(conn, store_id) is None:
            raise StoreSettingsInvalid("This store no longer exists.")
        return admin

    def _put_secrets(self, store_id: int, credentials: Credentials) -> None:
        self.secrets.set(
            secret_name(store_id, "lwa-client-secret"), credentials.lwa_client_secret.strip()
        )
        self.secrets.set(secret_name(store_id, "refresh-token"), credentials.refresh_token.strip())

    # --- test connection ---------------------------------------------------------------

    def test_connection(
        self,
        actor: Actor,
        store: Store | StoreDraft,
        credentials: Credentials | None = None,
        *,
        stored_for: int | None = None,
    ) -> ConnectionReport:
        """Fetch a token and one page of orders; report the outcome in a seller's words.

        ``store`` may be an unsaved draft (the dialog tests before saving); then
        ``credentials`` are required, or ``stored_for``: the id of the store whose saved
        secrets to use (editing a store without typing them again).  Network thread
        (blocks up to the timeout).
        """
        saved = stored_for if stored_for is not None else getattr(store, "id", None)
        if credentials is None and saved:
            self.vault.call(lambda conn: self._managed_store(conn, actor, saved))
        else:
            self.vault.call(lambda conn: access.current(conn, actor, Permission.MANAGE_CREDENTIALS))
        try:
            if isinstance(store, StoreDraft):
                clean = validate_draft(store)
                target = Store(
                    id=0,
                    name=clean.name,
                    region=clean.region,
                    marketplace_ids=clean.marketplace_ids,
                    lwa_client_id=clean.lwa_client_id,
                    sp_api_endpoint=clean.sp_api_endpoint,
                    lwa_endpoint=clean.lwa_endpoint,
                )
            else:
                target = store
            if not target.lwa_client_id:
                raise StoreSettingsInvalid("Enter the LWA client id of your app.")
            if credentials is not None:
                creds = validate_credentials(credentials)
            elif saved:
                creds = read_credentials(self.secrets, saved)
            else:
                raise StoreCredentialsMissing(
                    "Enter the LWA client secret and the refresh token to test the connection."
                )
            client = self.client_factory(target, creds)
            try:
                since = orders_repo.to_db_time(self.clock.now().replace(microsecond=0))
                assert since is not None
                page = client.search_orders(
                    {
                        "lastUpdatedAfter": _days_before(since, 7),
                        "maxResultsPerPage": 10,
                        "includedData": list(SYNC_INCLUDED_DATA),
                    }
                )
            finally:
                client.close()
        except Exception as exc:
            error = classify(exc)
            log.info("test connection failed: %s (%s)", error.title, error.detail)
            return ConnectionReport(False, error.title, error.message, error=error)
        if saved:  # the request took one of Amazon's tokens: the next sync counts it
            self._spent_token(saved)
        return ConnectionReport(
            True,
            "Connected",
            "Amazon accepted the credentials and returned your recent orders "
            f"({len(page.orders)}{'+' if page.next_token else ''} in the last 7 days, "
            f"operation {SEARCH_ORDERS}).",
            orders_seen=len(page.orders),
        )

    def _spent_token(self, store_id: int) -> None:
        now = self.clock.now()
        try:
            self.vault.call_write(
                lambda conn: bucket_repo.spend_one(conn, store_id, SEARCH_ORDERS, now)
            )
        except Exception as exc:  # at worst the next sync meets one 429
            log.info("rate bucket of store %d not updated (%s)", store_id, type(exc).__name__)

    def _changed(self, store_id: int) -> None:
        """Announce a committed change of the store (called after its write returned)."""
        if self.notices is not None:
            self.notices.publish(StoresChanged(frozenset({store_id})))


def _days_before(iso: str, days: int) -> str:
    from datetime import timedelta

    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
