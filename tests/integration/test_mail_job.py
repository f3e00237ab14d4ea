"""The scheduled mail check on a real dovecot: IMAP IDLE brings new relay mail into the
inbox at once, while the poll interval is an hour away."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app import settings
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import SystemClock
from app.mail.models import MailPasswords, Security
from app.notices import ThreadsChanged
from app.paths import Profile
from app.secrets import SecretStore
from app.services import Core, Services, build_services
from app.vault import Vault
from tests.helpers.dovecot import ImapMailbox
from tests.helpers.emails import relay_alias, relay_email
from tests.helpers.inbox import add_store
from tests.helpers.operators import put_operator

pytestmark = pytest.mark.integration

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)


@pytest.fixture
def services(profile: Profile, vault: Vault, secrets: SecretStore) -> Iterator[Services]:
    core = Core(profile=profile, vault=vault, secrets=secrets, clock=SystemClock())
    put_operator(vault, ADMIN)
    add_store(vault)
    s = build_services(core)
    yield s
    core.jobs.shutdown()


def test_idle_brings_new_mail_at_once(services: Services, imap_mailbox: ImapMailbox) -> None:
    now = services.core.clock.now()
    services.core.vault.call_write(
        lambda conn: settings.put(conn, settings.MAIL_POLL_MINUTES, 60, now=now)
    )
    services.mail.save_account(
        ADMIN,
        imap_mailbox.account(
            store_id=1, smtp_host="127.0.0.1", smtp_port=2525, smtp_security=Security.PLAIN
        ),
        MailPasswords(imap=imap_mailbox.password),
    )
    arrived = threading.Event()
    services.core.notices.subscribe(
        ThreadsChanged, lambda n: arrived.set() if n.new_messages else None
    )
    services.mail_job.start(run_now=False)  # no round now; the next poll is an hour away
    assert services.mail_job.idling.wait(20), "the IDLE watcher did not start"

    imap_mailbox.append(relay_email(order_id="111-2222222-3333333", alias=relay_alias("idle")))

    assert arrived.wait(20), "new mail did not arrive through IDLE"
    assert services.mail_job.status().last_error is None
