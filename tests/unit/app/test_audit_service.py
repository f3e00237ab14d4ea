"""AuditService: reads by sequence number (keyset, newest first) for callers allowed to
view the log, re-read inside the read's own DB job."""

from __future__ import annotations

import pytest

from app.audit import Action, AuditFilter, AuditLog
from app.audit_service import AuditService
from app.auth.models import Actor
from app.auth.rbac import Role
from app.clock import FakeClock
from app.errors import PermissionDenied
from app.vault import Vault
from tests.helpers.operators import put_operator
from tests.support import AUDIT_TEST_KEY, append_entries

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)
AGENT = Actor(id=2, username="bora", display_name="Bora", role=Role.AGENT)


@pytest.fixture
def service(vault: Vault, clock: FakeClock) -> AuditService:
    """Ten entries by the admin."""
    put_operator(vault, ADMIN)
    put_operator(vault, AGENT)
    log = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    append_entries(vault, log, 10)
    return AuditService(vault=vault, audit=log)


def test_keyset_pages_are_not_shifted_by_entries_appended_meanwhile(
    service: AuditService, vault: Vault
) -> None:
    read = service.read
    first = read(ADMIN, lambda r: r.seqs(AuditFilter(), limit=4)).result()
    assert first == [10, 9, 8, 7]
    append_entries(vault, service.audit, 3)  # while the seller looks at the first page
    after = read(ADMIN, lambda r: r.seqs(AuditFilter(), below=first[-1], limit=4)).result()
    assert after == [6, 5, 4, 3]  # an OFFSET 4 page would now start at 9
    assert read(ADMIN, lambda r: r.seqs(AuditFilter(), limit=2)).result() == [13, 12]


def test_entries_by_seq_newest_first_and_filtered_seqs(service: AuditService, vault: Vault) -> None:
    vault.call_write(
        lambda conn: service.audit.append(conn, actor_id=None, action=Action.SIGN_IN_OK)
    )
    entries = service.read(ADMIN, lambda r: r.entries([3, 11, 999, 5])).result()
    assert [e.seq for e in entries] == [11, 5, 3]  # unknown seqs are left out
    assert entries[0].actor_id is None and entries[0].actor_username is None
    only = service.read(ADMIN, lambda r: r.seqs(AuditFilter(action=Action.SIGN_IN_OK)))
    assert only.result() == [11]


@pytest.mark.parametrize(
    "actor",
    [
        AGENT,
        Actor(id=2, username="bora", display_name="Bora", role=Role.ADMIN),  # forged
        Actor(id=9, username="gone", display_name="Gone", role=Role.ADMIN),  # no such
    ],
)
def test_only_a_stored_admin_may_read(service: AuditService, actor: Actor) -> None:
    ran: list[int] = []
    future = service.read(actor, lambda r: ran.append(1))
    with pytest.raises(PermissionDenied):
        future.result()
    assert not ran  # refused before the caller's function ran
