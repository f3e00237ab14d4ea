"""``muttefik mail add|edit|remove|list|fetch`` and ``muttefik threads``: buyer messages,
headless.

``add``, ``edit`` and ``remove`` connect a store's mailbox and need an administrator;
passwords are never taken from arguments: asked for without echo on a terminal, or
read line by line from standard input after the sign-in's answers::

    printf '%s\\n' "$IMAP_PASSWORD" "" | muttefik mail add --store "My shop" \\
        --imap-host imap.example.com --imap-user orders@example.com \\
        --smtp-host smtp.example.com --from orders@example.com

(an empty SMTP password means the IMAP one).  ``fetch`` runs one fetch of a store's
mailbox and prints the counts; ``threads --json`` prints one JSON object per thread.
Both run unattended (cron) like ``muttefik sync`` when unattended access is enabled.
Everything goes through :class:`~app.mail.service.MailService` and
:class:`~app.mail.inbox_service.InboxService`, as for the app.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.auth.rbac import Permission
from app.cli.orders import _signed_in, _stop_signals_cancel
from app.cli.stores import _find, read_secret
from app.cli.terminal import ask_line, open_cli_services, prompt, sign_in_on_terminal
from app.errors import OperationCancelled
from app.mail.models import MailAccount, MailboxKind, MailPasswords, Security

if TYPE_CHECKING:
    from app.auth.models import Actor
    from app.services import Services

_DEFAULT_PORTS = {
    ("imap", Security.TLS): 993,
    ("imap", Security.STARTTLS): 143,
    ("imap", Security.PLAIN): 143,
    ("smtp", Security.TLS): 465,
    ("smtp", Security.STARTTLS): 587,
    ("smtp", Security.PLAIN): 25,
}


def register(sub: Any) -> None:
    mail = sub.add_parser("mail", help="connect a store's mailbox, list mailboxes, fetch mail")
    mail_sub = mail.add_subparsers(dest="mail_command", metavar="ACTION")
    listing = mail_sub.add_parser("list", help="list the stores' mailboxes")
    listing.set_defaults(func=cmd_mail_list)
    mail.set_defaults(func=cmd_mail_list)

    add = mail_sub.add_parser(
        "add",
        help="connect a store's mailbox (admin sign-in); asks for the passwords, or reads "
        "them from standard input",
    )
    _account_options(add, required=True)
    add.add_argument(
        "--no-test", action="store_true", help="save without connecting to the server first"
    )
    add.set_defaults(func=cmd_mail_add)

    edit = mail_sub.add_parser(
        "edit", help="change a store's mailbox (admin sign-in); options not given stay"
    )
    _account_options(edit, required=False)
    edit.add_argument(
        "--passwords",
        action="store_true",
        help="enter new passwords (asked for, or read from standard input)",
    )
    edit.add_argument(
        "--no-test", action="store_true", help="save without connecting to the server first"
    )
    edit.set_defaults(func=cmd_mail_edit)

    remove = mail_sub.add_parser(
        "remove",
        help="disconnect a store's mailbox and forget its passwords (admin sign-in); "
        "messages already imported stay",
    )
    remove.add_argument("--store", required=True, metavar="NAME")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(func=cmd_mail_remove)

    fetch = mail_sub.add_parser(
        "fetch", help="fetch new mail of a store's mailbox once and print the counts"
    )
    fetch.add_argument("--store", required=True, metavar="NAME")
    fetch.add_argument(
        "--unattended",
        action="store_true",
        help="sign in as the scheduler, without prompts (see `muttefik unattended`)",
    )
    fetch.set_defaults(func=cmd_mail_fetch)

    threads = sub.add_parser("threads", help="list buyer-message threads with their reply clock")
    threads.add_argument("--store", metavar="NAME", help="only this store's threads")
    threads.add_argument(
        "--json", action="store_true", help="one JSON object per line (for scripts)"
    )
    threads.add_argument(
        "--unattended",
        action="store_true",
        help="sign in as the scheduler, without prompts (see `muttefik unattended`)",
    )
    threads.set_defaults(func=cmd_threads)


def _account_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--store", required=True, metavar="NAME", help="the store's name")
    parser.add_argument(
        "--from",
        dest="from_address",
        required=required,
        metavar="ADDRESS",
        help="the email address you registered with Amazon (replies are sent from it)",
    )
    imap = parser.add_argument_group("incoming mail: an IMAP server, or a Maildir folder")
    where = imap.add_mutually_exclusive_group(required=required)
    where.add_argument("--imap-host", metavar="HOST")
    where.add_argument("--maildir", metavar="DIR", help="a local Maildir folder instead")
    imap.add_argument("--imap-port", type=int, metavar="PORT", help="default: by security")
    imap.add_argument("--imap-security", choices=[s.value for s in Security], help="default: tls")
    imap.add_argument("--imap-user", metavar="USER", help="default: the From address")
    imap.add_argument("--inbox-folder", metavar="FOLDER", help="default: INBOX")
    imap.add_argument(
        "--sent-folder", metavar="FOLDER", help="default: the folder the server marks Sent"
    )
    smtp = parser.add_argument_group("outgoing mail (replies to buyers)")
    smtp.add_argument("--smtp-host", metavar="HOST")
    smtp.add_argument("--smtp-port", type=int, metavar="PORT", help="default: by security")
    smtp.add_argument(
        "--smtp-security", choices=[s.value for s in Security], help="default: starttls"
    )
    smtp.add_argument("--smtp-user", metavar="USER", help="default: the IMAP user")


def _signed_in_admin(services: Services) -> Actor:
    return sign_in_on_terminal(services.auth, Permission.MANAGE_CREDENTIALS).actor


def _account_from(args: argparse.Namespace, store_id: int, old: MailAccount | None) -> MailAccount:
    base = old or MailAccount(store_id=store_id, kind=MailboxKind.IMAP, from_address="")
    changes: dict[str, Any] = {}
    if args.from_address is not None:
        changes["from_address"] = args.from_address
    if args.maildir is not None:
        changes.update(kind=MailboxKind.MAILDIR, maildir_path=args.maildir, imap_host=None)
    elif args.imap_host is not None:
        changes.update(kind=MailboxKind.IMAP, imap_host=args.imap_host, maildir_path=None)
    kind = changes.get("kind", base.kind)
    if kind is MailboxKind.IMAP:
        security = Security(args.imap_security) if args.imap_security else None
        security = security or base.imap_security or Security.TLS
        changes["imap_security"] = security
        if args.imap_port is not None:
            changes["imap_port"] = args.imap_port
        elif base.imap_port is None or args.imap_security:
            changes["imap_port"] = _DEFAULT_PORTS[("imap", security)]
        user = args.imap_user or base.imap_user
        changes["imap_user"] = user or changes.get("from_address", base.from_address)
        if args.inbox_folder:
            changes["inbox_folder"] = args.inbox_folder
        if args.sent_folder:
            changes["sent_folder"] = args.sent_folder
    if args.smtp_host is not None:
        changes["smtp_host"] = args.smtp_host
    if changes.get("smtp_host", base.smtp_host):
        security = Security(args.smtp_security) if args.smtp_security else None
        security = security or base.smtp_security or Security.STARTTLS
        changes["smtp_security"] = security
        if args.smtp_port is not None:
            changes["smtp_port"] = args.smtp_port
        elif base.smtp_port is None or args.smtp_security:
            changes["smtp_port"] = _DEFAULT_PORTS[("smtp", security)]
        if args.smtp_user:
            changes["smtp_user"] = args.smtp_user
    return replace(base, store_id=store_id, **changes)


def _ask_passwords(account: MailAccount) -> MailPasswords:
    imap = None
    if account.kind is MailboxKind.IMAP:
        imap = prompt(read_secret, "Mailbox (IMAP) password: ", "mailbox password")
    smtp = None
    if account.smtp_host:
        asked = "SMTP password (empty: the same as the mailbox): "
        if account.kind is MailboxKind.MAILDIR:
            asked = "SMTP password: "
        smtp = read_secret(asked) or None
    return MailPasswords(imap=imap, smtp=smtp)


def cmd_mail_list(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = sign_in_on_terminal(services.auth).actor
        stores = {s.id: s for s in services.stores.list_stores(actor).result()}
        accounts = services.mail.accounts(actor).result()
        if not accounts:
            print("No mailbox connected yet. `muttefik mail add --store NAME …` connects one.")
        for a in accounts:
            name = stores[a.store_id].name if a.store_id in stores else str(a.store_id)
            if a.kind is MailboxKind.IMAP:
                where = f"IMAP {a.imap_user}@{a.imap_host}:{a.imap_port} ({a.imap_security})"
            else:
                where = f"Maildir {a.maildir_path}"
            out = (
                f"SMTP {a.smtp_host}:{a.smtp_port} ({a.smtp_security})"
                if a.smtp_host
                else "no SMTP"
            )
            print(f"{name}  {where}  {out}  from {a.from_address}")
        return 0


def _save(
    services: Services, actor: Actor, account: MailAccount, pw: MailPasswords | None, test: bool
) -> None:
    if test:
        print("Connecting to the mailbox…", flush=True)
        print(services.mail.test_account(actor, account, pw))
    services.mail.save_account(actor, account, pw)


def cmd_mail_add(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        store = _find(services, actor, args.store)
        if services.mail.get_account(actor, store.id).result() is not None:
            from app.mail.service import MailSettingsInvalid

            raise MailSettingsInvalid(
                f"{store.name} already has a mailbox. `muttefik mail edit --store …` changes it."
            )
        account = _account_from(args, store.id, None)
        from app.mail.service import validate_account

        validate_account(account)  # before asking for passwords
        passwords = _ask_passwords(account)
        _save(services, actor, account, passwords, not args.no_test)
        print(
            f"The mailbox of {store.name} is connected. `muttefik mail fetch --store "
            f"{store.name!r}` fetches its mail now; the app checks it every few minutes."
        )
        return 0


def cmd_mail_edit(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        store = _find(services, actor, args.store)
        old = services.mail.get_account(actor, store.id).result()
        if old is None:
            from app.mail.service import MailboxNotConnected

            raise MailboxNotConnected()
        account = _account_from(args, store.id, old)
        from app.mail.service import validate_account

        validate_account(account)
        passwords = _ask_passwords(account) if args.passwords else None
        _save(services, actor, account, passwords, not args.no_test)
        print(f"The mailbox of {store.name} is saved.")
        return 0


def cmd_mail_remove(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in_admin(services)
        store = _find(services, actor, args.store)
        if not args.yes:
            answer = ask_line(
                f"Disconnect the mailbox of {store.name} and forget its passwords? "
                "Imported messages stay. [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise OperationCancelled()
        services.mail.remove_account(actor, store.id)
        print(f"The mailbox of {store.name} is disconnected.")
        return 0


def cmd_mail_fetch(args: argparse.Namespace) -> int:
    with open_cli_services(args) as services:
        actor = _signed_in(services, args)
        store = _find(services, actor, args.store)
        print(f"Fetching mail of {store.name}…", flush=True)
        cancel = threading.Event()
        with _stop_signals_cancel(cancel) as stopped_by:
            counts = services.mail.fetch(actor, store.id, cancel)
        line = (
            f"seen {counts.seen}, imported {counts.imported}, skipped {counts.skipped} "
            f"(not Amazon), flagged {counts.flagged}"
        )
        if stopped_by:
            print(f"Stopped; the next fetch continues from here: {line}.")
            return 128 + stopped_by[0]
        print(f"Done: {line}.")
        return 0


def cmd_threads(args: argparse.Namespace) -> int:
    from app.mail.inbox_service import ThreadQuery

    with open_cli_services(args) as services:
        actor = _signed_in(services, args)
        store_ids: frozenset[int] = frozenset()
        if args.store:
            store_ids = frozenset({_find(services, actor, args.store).id})
        query = ThreadQuery(store_ids=store_ids)
        rows = services.inbox.read(actor, lambda r: r.thread_rows(r.thread_ids(query))).result()
        for row in rows:
            if args.json:
                print(json.dumps(thread_json(row), ensure_ascii=False))
            else:
                due = row.due_at.isoformat(timespec="minutes") if row.due_at else "-"
                print(
                    f"{row.id:>6}  {row.store_name}  {row.order_id or '(no order)':<19}  "
                    f"{row.state:<11}  due {due}  {row.message_count} messages"
                )
        if not rows and not args.json:
            print("No threads.")
        sys.stdout.flush()
        return 0


def thread_json(row: Any) -> dict[str, Any]:
    """One line of ``muttefik threads --json``."""
    return {
        "thread_id": row.id,
        "store": row.store_name,
        "alias": row.alias,
        "order_id": row.order_id,
        "state": str(row.state),
        "last_buyer_message_at": row.last_buyer_at.isoformat() if row.last_buyer_at else None,
        "reply_due_at": row.due_at.isoformat() if row.due_at else None,
        "message_count": row.message_count,
    }
