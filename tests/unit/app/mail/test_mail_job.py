"""The scheduled mail check over a local Maildir: a mailbox saved while it runs, and
"Check now" bringing new relay mail into threads."""

from __future__ import annotations

import mailbox
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import access
from app.auth.models import Actor
from app.auth.rbac import Role
from app.mail.inbox_service import ThreadQuery
from app.mail.models import MailAccount, MailboxKind
from app.notices import ThreadsChanged
from app.services import Core, Services, build_services
from tests.helpers.emails import relay_alias, relay_email
from tests.helpers.inbox import add_store
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)


@pytest.fixture
def services(core: Core) -> Iterator[Services]:
    put_operator(core.vault, ADMIN)
    add_store(core.vault)
    s = build_services(core)
    yield s
    s.mail_job.stop_watchers()


def _account(folder: Path) -> MailAccount:
    mailbox.Maildir(folder, create=True)
    return MailAccount(
        store_id=1,
        kind=MailboxKind.MAILDIR,
        from_address="seller@example.com",
        maildir_path=str(folder),
    )


def test_a_mailbox_saved_while_the_job_runs_does_not_stall_the_database(
    services: Services, tmp_path: Path
) -> None:
    # The job hears MailAccountsChanged on the DB thread, after the commit; it once
    # waited there for a DB read of its own: the save never returned.
    services.mail_job.start(run_now=False)
    saved = threading.Event()

    def save() -> None:
        services.mail.save_account(ADMIN, _account(tmp_path / "box"), None)
        saved.set()

    threading.Thread(target=save, daemon=True).start()
    assert saved.wait(20), "saving a mailbox hung"
    # And the database still answers.
    assert services.mail.accounts(ADMIN).result(timeout=20)[0].store_id == 1


def test_check_now_brings_new_relay_mail_into_threads(services: Services, tmp_path: Path) -> None:
    box = tmp_path / "box"
    services.mail.save_account(ADMIN, _account(box), None)
    mailbox.Maildir(box).add(relay_email(order_id="111-0000001-0000001", alias=relay_alias("a")))
    arrived = threading.Event()
    services.core.notices.subscribe(
        ThreadsChanged, lambda n: arrived.set() if n.new_messages else None
    )
    services.mail_job.start(run_now=False)

    services.mail_job.run_now()

    assert arrived.wait(20)
    rows = services.inbox.read(
        access.SYSTEM, lambda r: r.thread_rows(r.thread_ids(ThreadQuery()))
    ).result()
    assert [r.order_id for r in rows] == ["111-0000001-0000001"]
