"""The drafting door: a reply draft for a thread, from the seller's templates (offline)
or from an AI provider behind the PII firewall; providers, templates and the knowledge
base (admins).

``draft`` blocks (an AI call takes seconds): run it on the network lane
(``ui.ops.Op(..., lane=Lane.NET)``) or in the CLI.  It reads the thread, its order and
the drafting settings in ONE DB hop (``reply_to_buyers`` on the thread's store checked
there), then works without the DB:

- Language and intent are detected locally from the buyer's messages (nothing leaves
  the process for that).
- Templates: the best template for intent + language is rendered with the order's
  non-PII values; ``{buyer_first_name}`` stays as it is (:meth:`personalise` fills it
  locally, only when the seller asks).  No buyer text is used, so none is redacted.
- AI: every message of the thread is redacted with :func:`app.pii.redact` against what
  we know of this buyer (display name and the subject's name, with the first name
  alone, and the relay alias), the prompt is built from the redacted text and the
  order's non-PII context (:mod:`app.drafting.prompt`), and sent with
  :func:`app.drafting.providers.complete`, whose one client refuses a request that
  still holds any of that PII (:class:`~app.drafting.guard.PIIBlocked`: audited as
  ``draft_blocked`` with the kind only, then raised).

A draft is audited as ``draft_created`` (provider kind, intent, language, length);
never its text.  Reads of providers, templates and the knowledge base are Futures of
one DB hop for any signed-in operator (the inbox's "Use template…" needs them); their
writes need ``manage_settings`` and publish :class:`~app.notices.SettingsChanged`
with the keys ``drafting.providers`` / ``drafting.templates`` / ``drafting.knowledge``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app import access, settings
from app.amazon import orders_repo
from app.amazon.models import Order
from app.audit import Action, AuditLog
from app.auth.models import Actor
from app.auth.rbac import Permission
from app.clock import Clock
from app.drafting import repo
from app.drafting.intents import detect_thread_intent
from app.drafting.language import detect_language, preload
from app.drafting.models import Draft, Intent, OrderContext, ProviderConfig, ProviderKind
from app.drafting.prompt import Knowledge, build_messages
from app.drafting.templates import Template, builtin_templates, choose, placeholders, render
from app.drafting.templates import render_text as render_variables
from app.errors import UserError
from app.jobs import JobHost, Lane
from app.mail import repo as mail_repo
from app.mail.models import Direction
from app.notices import Notices, SettingsChanged
from app.pii.models import KnownPII
from app.secrets import SecretStore
from app.vault import Vault

__all__ = [
    "TEMPLATES",
    "BuiltinReadOnly",
    "DraftService",
    "Knowledge",
    "ProviderNotFound",
    "ProviderSettingsInvalid",
    "Template",
    "TemplateInvalid",
    "TemplateNotFound",
    "secret_name",
]

log = logging.getLogger("muttefik.ai")
Conn = Any

#: The built-in offline provider: always listed, cannot be removed.
TEMPLATES = ProviderConfig(name="Templates", kind=ProviderKind.TEMPLATES)
#: At most this many messages (the newest) and characters per message go to a model.
MAX_MESSAGES = 12
MAX_CHARS = 4000

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_FIRST_NAME_GAP = re.compile(r"[ \t]*\{buyer_first_name\}")


class ProviderNotFound(UserError):
    title = "Drafting provider not found"
    message = (
        "This drafting provider is not set up (any more). Choose another one in "
        "Tools → Drafting…, or use the built-in templates."
    )


class ProviderSettingsInvalid(UserError):
    title = "Provider settings need a look"
    message = "Some settings of this drafting provider are not valid."


class TemplateNotFound(UserError):
    title = "Template not found"
    message = "This reply template no longer exists."


class TemplateInvalid(UserError):
    title = "Template needs a look"
    message = "Give the template a title, a language and some text."


class BuiltinReadOnly(UserError):
    title = "Built in"
    message = (
        "The built-in templates and the built-in provider come with the app and cannot "
        "be changed or removed. Copy a template to make your own version."
    )


def secret_name(provider: str) -> str:
    """The keychain entry of a provider's API key."""
    return f"drafting:provider:{provider}:api-key"


@dataclass(frozen=True)
class _Thread:
    """What one DB hop read for a draft (buyer PII inside: memory only, never logged)."""

    caller: Actor
    thread_id: int
    store_id: int
    marketplace: str
    subject: str
    display_name: str | None
    alias: str
    messages: tuple[tuple[Direction, str, str], ...]  # (direction, subject, body)
    context: OrderContext
    provider: ProviderConfig
    templates: tuple[Template, ...]
    knowledge: Knowledge


# --- what we know (local only) ----------------------------------------------------------


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""


def order_context(order: Order | None, marketplace: str = "") -> OrderContext:
    """The non-PII context of ``order`` for a draft (dates as ISO days)."""
    if order is None:
        return OrderContext(marketplace=marketplace)
    shipped = [p for p in order.packages if p.ship_time]
    ship_date = _day(max(p.ship_time for p in shipped if p.ship_time)) if shipped else ""
    first, last = _day(order.deliver_by_earliest), _day(order.deliver_by_latest)
    window = first if not last or first == last else (f"{first} – {last}" if first else last)
    carriers = dict.fromkeys(p.carrier for p in order.packages if p.carrier)
    trackings = dict.fromkeys(p.tracking_number for p in order.packages if p.tracking_number)
    fulfilment = {"AFN": "Amazon", "MFN": "the seller"}.get(order.fulfillment_channel or "", "")
    return OrderContext(
        order_id=order.order_id,
        marketplace=marketplace or (order.marketplace_name or ""),
        status=str(order.status),
        items=tuple(i.title or i.asin for i in order.items),
        skus=tuple(i.sku for i in order.items if i.sku),
        asins=tuple(i.asin for i in order.items if i.asin),
        purchase_date=_day(order.purchase_date),
        ship_date=ship_date,
        delivery_window=window,
        delivered_date=_day(order.delivered_at),
        carrier=", ".join(c for c in carriers if c),
        tracking=", ".join(t for t in trackings if t),
        fulfillment=fulfilment,
    )


def known_pii(thread: _Thread) -> KnownPII:
    subjects = [thread.subject, *(s for _, s, _ in thread.messages)]
    return mail_repo.buyer_known_pii(thread.display_name, thread.alias, subjects)


def first_name(display_name: str | None, subject: str = "") -> str | None:
    for name in mail_repo.buyer_names(display_name, [subject]):
        return name.split()[0]
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_provider(config: ProviderConfig) -> ProviderConfig:
    """A seller's provider made tidy, or :class:`ProviderSettingsInvalid` in words."""
    name = config.name.strip()
    if not name:
        raise ProviderSettingsInvalid("Give the provider a name.")
    if name.casefold() == TEMPLATES.name.casefold() or config.kind is ProviderKind.TEMPLATES:
        raise ProviderSettingsInvalid(
            "“Templates” is the built-in provider. Choose another name and an AI service."
        )
    url = config.base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderSettingsInvalid(
            "The base URL must start with https:// and name a server, for example "
            "https://api.openai.com/v1."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ProviderSettingsInvalid(
            "Plain http:// is only allowed for a model on this computer (localhost). Use "
            "https:// for a server elsewhere."
        )
    model = config.model.strip()
    if not model:
        raise ProviderSettingsInvalid("Enter the model's name, for example gpt-4o-mini.")
    if not 1 <= config.timeout_seconds <= 600:
        raise ProviderSettingsInvalid("The timeout must be between 1 and 600 seconds.")
    return replace(config, name=name, base_url=url, model=model)


def validate_template(template: Template) -> Template:
    title, body, language = template.title.strip(), template.body.strip(), template.language
    if not title or not body:
        raise TemplateInvalid()
    if not _LANGUAGE_TAG.fullmatch(language.strip()):
        raise TemplateInvalid("The language must look like “en-US”, “de-DE” or “fr”.")
    tags = tuple(dict.fromkeys(t.strip() for t in template.tags if t.strip()))
    return replace(template, title=title, body=body, language=language.strip(), tags=tags)


def _warm() -> None:
    preload()  # the language model
    builtin_templates()  # the starter library's files
    detect_thread_intent(["warm up"])  # the intent rules compiled
    import app.mail.rules  # noqa: F401  Amazon's messaging rules, checked on every reply


# --- the service ------------------------------------------------------------------------


class DraftService:
    """Thread: ``draft``, ``test_provider`` and the writes block (worker, NET lane for
    ``draft``); the reads return Futures of the DB thread."""

    def __init__(
        self,
        *,
        vault: Vault,
        secrets: SecretStore,
        clock: Clock,
        notices: Notices,
        audit: AuditLog,
        jobs: JobHost,
    ) -> None:
        self.vault = vault
        self.secrets = secrets
        self.clock = clock
        self.notices = notices
        self.audit = audit
        self.jobs = jobs

    # --- drafting -------------------------------------------------------------------------

    def warm_up(self) -> Future[None]:
        """Load the offline language model, the starter templates and the intent rules in
        the background (about a second, once per process), so the first draft of the
        session does not wait for them.  The app calls
        this when its window is shown; it reads no data."""
        return self.jobs.call(Lane.LONG, _warm)

    def draft(
        self,
        actor: Actor,
        thread_id: int,
        *,
        provider: str | None = None,
        template_id: str | None = None,
        on_chunk: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Draft:
        """A reply draft for the thread (see the module docstring).  ``provider``: a
        provider's name (default: the ``drafting.provider`` setting); ``template_id``:
        use this template (implies the templates).  ``on_chunk`` gets an AI draft's text
        as it streams (on this thread); ``cancel`` stops it (``OperationCancelled``).
        Raises ``ThreadNotFound``, ``PermissionDenied``, :class:`ProviderNotFound`,
        ``PIIBlocked`` and the providers' errors."""
        started = time.perf_counter()
        now = self.clock.now()
        thread = self.vault.call(
            lambda conn: self._read_thread(conn, actor, thread_id, provider, template_id, now)
        )
        buyer = [body for d, _, body in thread.messages if d is Direction.IN and body.strip()]
        sample = "\n".join(buyer[-2:]) or thread.subject
        language = detect_language(sample, marketplace=thread.marketplace)
        intent = detect_thread_intent(buyer, thread.subject)
        if thread.provider.kind is ProviderKind.TEMPLATES:
            result = self._from_template(thread, intent, language, template_id)
        else:
            result = self._from_provider(thread, intent, language, on_chunk, cancel)
        self._audit(
            thread.caller,
            Action.DRAFT_CREATED,
            thread_id,
            {
                "provider_kind": str(thread.provider.kind),
                "intent": str(result.intent),
                "language": result.language,
                "chars": len(result.text),
            },
        )
        log.info(
            "draft for thread %d: %s, %s, %s, %d chars, %.0f ms",
            thread_id,
            thread.provider.kind,
            result.intent,
            result.language,
            len(result.text),
            (time.perf_counter() - started) * 1000,
        )
        return result

    def _read_thread(
        self,
        conn: Conn,
        actor: Actor,
        thread_id: int,
        provider: str | None,
        template_id: str | None,
        now: datetime,
    ) -> _Thread:
        store_id = mail_repo.thread_store(conn, thread_id)
        caller = access.current(conn, actor, Permission.REPLY_TO_BUYERS, store_id=store_id)
        found = mail_repo.conversation(conn, thread_id, now=now)
        if found is None:
            raise mail_repo.ThreadNotFound(detail=f"thread {thread_id}")
        row = found.thread
        order = orders_repo.get_order(conn, caller, row.order_id) if row.order_id else None
        name = provider or (None if template_id else settings.get(conn, settings.DRAFT_PROVIDER))
        if template_id or not name or name.casefold() == TEMPLATES.name.casefold():
            config = TEMPLATES
        else:
            stored = repo.load_provider(conn, name)
            if stored is None:
                raise ProviderNotFound(detail=f"provider {name!r}")
            config = stored
        return _Thread(
            caller=caller,
            thread_id=thread_id,
            store_id=store_id,
            marketplace=row.marketplace_domain,
            subject=row.subject,
            display_name=row.buyer_display_name,
            alias=row.alias,
            messages=tuple((m.direction, m.subject, m.body) for m in found.messages),
            context=order_context(order, row.marketplace_domain),
            provider=config,
            templates=tuple(repo.load_templates(conn)) if config is TEMPLATES else (),
            knowledge=repo.load_knowledge(conn) if config is not TEMPLATES else Knowledge(),
        )

    def _from_template(
        self, thread: _Thread, intent: Intent, language: str, template_id: str | None
    ) -> Draft:
        pool = (*thread.templates, *builtin_templates())
        if template_id:
            template = next((t for t in pool if t.id == template_id), None)
            if template is None:
                raise TemplateNotFound(detail=f"template {template_id}")
        else:
            template = choose(pool, intent, language, marketplace=thread.marketplace)
            if template is None:  # the starter library always has English: not reached
                raise TemplateNotFound(detail="no template at all")
        text = render(template, thread.context)
        return Draft(
            text=text,
            provider=TEMPLATES.name,
            intent=intent,
            language=template.base_language,
            template_id=template.id,
            placeholders=placeholders(text),
        )

    def _from_provider(
        self,
        thread: _Thread,
        intent: Intent,
        language: str,
        on_chunk: Callable[[str], None] | None,
        cancel: threading.Event | None,
    ) -> Draft:
        from app.drafting import providers
        from app.drafting.guard import PIIBlocked
        from app.pii import redact

        config = thread.provider
        known = known_pii(thread)
        redacted = [
            (str(direction), redact(body[:MAX_CHARS], known, marketplace=thread.marketplace).text)
            for direction, _, body in thread.messages[-MAX_MESSAGES:]
            if body.strip()
        ]
        messages = build_messages(redacted, thread.context, thread.knowledge, language)
        api_key = self.secrets.get(secret_name(config.name))
        try:
            text = providers.complete(
                config, api_key, messages, known, on_chunk=on_chunk, cancel=cancel
            )
        except PIIBlocked as exc:
            self._audit(
                thread.caller,
                Action.DRAFT_BLOCKED,
                thread.thread_id,
                {"kind": str(exc.kind), "provider_kind": str(config.kind)},
            )
            raise
        text = text.strip()
        return Draft(
            text=text,
            provider=config.name,
            intent=intent,
            language=language,
            placeholders=placeholders(text),
        )

    def _audit(self, caller: Actor, action: str, thread_id: int, details: dict[str, Any]) -> None:
        self.vault.call_write(
            lambda conn: self.audit.append(
                conn,
                actor_id=access.audit_actor_id(caller),
                action=action,
                object_type="thread",
                object_id=thread_id,
                details=details,
            )
        )

    def personalise(self, actor: Actor, thread_id: int, text: str) -> str:
        """``text`` with ``{buyer_first_name}`` and ``[NAME]`` filled with the buyer's
        first name and the order's variables filled, locally (nothing is sent or
        stored).  Without a known name, ``{buyer_first_name}`` is dropped ("Hello
        {buyer_first_name}," becomes "Hello,") and ``[NAME]`` stays for the seller."""
        now = self.clock.now()

        def read(conn: Conn) -> tuple[str | None, OrderContext]:
            store_id = mail_repo.thread_store(conn, thread_id)
            caller = access.current(conn, actor, Permission.REPLY_TO_BUYERS, store_id=store_id)
            rows = mail_repo.thread_rows(conn, [thread_id], now=now)
            if not rows:
                raise mail_repo.ThreadNotFound(detail=f"thread {thread_id}")
            row = rows[0]
            order = orders_repo.get_order(conn, caller, row.order_id) if row.order_id else None
            return (
                first_name(row.buyer_display_name, row.subject),
                order_context(order, row.marketplace_domain),
            )

        name, context = self.vault.call(read)
        language = detect_language(text, marketplace=context.marketplace)
        if name:
            text = text.replace("[NAME]", name)
            return render_variables(text, context, language, personal={"buyer_first_name": name})
        return render_variables(_FIRST_NAME_GAP.sub("", text), context, language)

    # --- providers ------------------------------------------------------------------------

    def providers(self, actor: Actor) -> Future[list[ProviderConfig]]:
        """The built-in templates first, then the seller's providers by name."""

        def read(conn: Conn) -> list[ProviderConfig]:
            access.current(conn, actor)
            return [TEMPLATES, *repo.load_providers(conn)]

        return self.vault.run(read)

    def save_provider(self, actor: Actor, config: ProviderConfig, api_key: str | None) -> None:
        """Add or change a provider (by name); ``api_key`` None keeps the stored key,
        ``""`` removes it (local models need none).  Blocks on the keychain."""
        clean = validate_provider(config)

        def write(conn: Conn) -> str:
            admin = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            row_id, stored = repo.save_provider(conn, clean, self.clock.now())
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.PROVIDER_SAVED,
                object_type="provider",
                object_id=row_id,
                details={"kind": str(clean.kind)},
            )
            self._changed(conn, "drafting.providers")
            return stored

        name = self.vault.call_write(write)
        if api_key:
            self.secrets.set(secret_name(name), api_key)
        elif api_key == "":
            with contextlib.suppress(Exception):  # nothing was stored
                self.secrets.delete(secret_name(name))

    def remove_provider(self, actor: Actor, name: str) -> None:
        """Remove a provider and its key; the default goes back to the templates if it
        was this one."""

        def write(conn: Conn) -> str:
            admin = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            if name.casefold() == TEMPLATES.name.casefold():
                raise BuiltinReadOnly()
            removed = repo.delete_provider(conn, name)
            if removed is None:
                raise ProviderNotFound(detail=f"provider {name!r}")
            row_id, stored = removed
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.PROVIDER_REMOVED,
                object_type="provider",
                object_id=row_id,
            )
            default = settings.get(conn, settings.DRAFT_PROVIDER)
            if default.casefold() == name.casefold():
                settings.put(conn, settings.DRAFT_PROVIDER, TEMPLATES.name, now=self.clock.now())
                self.notices.after_commit(
                    self.vault, SettingsChanged(frozenset({settings.DRAFT_PROVIDER.key}))
                )
            self._changed(conn, "drafting.providers")
            return stored

        stored = self.vault.call_write(write)
        try:
            self.secrets.delete(secret_name(stored))
        except Exception as exc:  # none stored (a local model), or the keychain refused
            log.info("no API key removed for a drafting provider: %s", type(exc).__name__)

    def test_provider(self, actor: Actor, config: ProviderConfig, api_key: str | None) -> str:
        """Try the provider with a one-token request; a sentence for the seller, or the
        provider's error.  ``api_key`` None: the stored key of a provider of that name.
        Blocks (network): run it on a worker."""

        def check(conn: Conn) -> str | None:
            access.current(conn, actor, Permission.MANAGE_SETTINGS)
            stored = repo.load_provider(conn, config.name)
            return None if stored is None else stored.name

        stored = self.vault.call(check)
        if config.kind is ProviderKind.TEMPLATES:
            return "The built-in templates work offline and need no connection."
        from app.drafting import providers

        clean = validate_provider(config)
        if api_key is None and stored is not None:
            api_key = self.secrets.get(secret_name(stored))
        return providers.test_provider(clean, api_key)

    # --- templates ------------------------------------------------------------------------

    def templates(self, actor: Actor) -> Future[list[Template]]:
        """The seller's templates (by title), then the built-in ones."""

        def read(conn: Conn) -> list[Template]:
            access.current(conn, actor)
            return [*repo.load_templates(conn), *builtin_templates()]

        return self.vault.run(read)

    def save_template(self, actor: Actor, template: Template) -> Template:
        """Add (``id`` empty) or change one of the seller's templates; returns it as
        stored.  Built-in templates are read-only (:class:`BuiltinReadOnly`)."""
        clean = validate_template(template)

        def write(conn: Conn) -> Template:
            admin = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            if clean.builtin or clean.id.startswith("builtin:"):
                raise BuiltinReadOnly()
            saved = repo.save_template(conn, clean, self.clock.now())
            if saved is None:
                raise TemplateNotFound(detail=f"template {clean.id}")
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.TEMPLATE_SAVED,
                object_type="template",
                object_id=saved.id,
                details={"intent": str(saved.intent)},
            )
            self._changed(conn, "drafting.templates")
            return saved

        return self.vault.call_write(write)

    def remove_template(self, actor: Actor, template_id: str) -> None:
        def write(conn: Conn) -> None:
            admin = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            if template_id.startswith("builtin:"):
                raise BuiltinReadOnly()
            if not repo.delete_template(conn, template_id):
                raise TemplateNotFound(detail=f"template {template_id}")
            self.audit.append(
                conn,
                actor_id=admin.id,
                action=Action.TEMPLATE_REMOVED,
                object_type="template",
                object_id=template_id,
            )
            self._changed(conn, "drafting.templates")

        self.vault.call_write(write)

    # --- knowledge ------------------------------------------------------------------------

    def knowledge(self, actor: Actor) -> Future[Knowledge]:
        def read(conn: Conn) -> Knowledge:
            access.current(conn, actor)
            return repo.load_knowledge(conn)

        return self.vault.run(read)

    def save_knowledge(self, actor: Actor, knowledge: Knowledge) -> None:
        def write(conn: Conn) -> None:
            admin = access.current(conn, actor, Permission.MANAGE_SETTINGS)
            repo.save_knowledge(conn, knowledge, self.clock.now())
            self.audit.append(
                conn, actor_id=admin.id, action=Action.KNOWLEDGE_SAVED, object_type="knowledge"
            )
            self._changed(conn, "drafting.knowledge")

        self.vault.call_write(write)

    def _changed(self, conn: Conn, key: str) -> None:
        del conn  # published after this transaction commits
        self.notices.after_commit(self.vault, SettingsChanged(frozenset({key})))
