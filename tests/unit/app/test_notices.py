"""app.notices: typed notices, published only once their change committed."""

from __future__ import annotations

from typing import Any

import pytest

from app import settings as S
from app.auth.models import Actor
from app.auth.rbac import Role
from app.notices import (
    AuditAppended,
    Notice,
    Notices,
    OperatorsChanged,
    SettingsChanged,
    StoresChanged,
)
from app.services import Core, build_services
from app.vault import Vault
from tests.helpers.operators import put_operator

ADMIN = Actor(id=1, username="admin", display_name="Admin", role=Role.ADMIN)


def _record(notices: Notices, kind: type[Notice] = Notice) -> list[Notice]:
    seen: list[Notice] = []
    notices.subscribe(kind, seen.append)
    return seen


def test_subscribers_get_their_class_and_subclasses_only() -> None:
    notices = Notices()
    stores = _record(notices, StoresChanged)
    everything = _record(notices)
    notices.publish(StoresChanged(frozenset({2})))
    notices.publish(SettingsChanged(frozenset({"k"})))
    assert stores == [StoresChanged(frozenset({2}))]
    assert len(everything) == 2


@pytest.mark.expect_log("muttefik.notices", "ERROR", "handler for StoresChanged failed")
def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    notices = Notices()

    def broken(_notice: Notice) -> None:
        raise ValueError("bug")

    notices.subscribe(StoresChanged, broken)
    seen = _record(notices)
    notices.publish(StoresChanged())
    assert seen == [StoresChanged()]


def test_unsubscribe_stops_delivery() -> None:
    notices = Notices()
    seen: list[Notice] = []
    unsubscribe = notices.subscribe(Notice, seen.append)
    unsubscribe()
    notices.publish(StoresChanged())
    assert seen == []


def test_after_commit_publishes_once_the_write_committed(vault: Vault) -> None:
    notices = Notices()
    seen = _record(notices)
    published_inside: list[int] = []

    def write(conn: Any) -> None:
        notices.after_commit(vault, StoresChanged(frozenset({1})))
        published_inside.append(len(seen))

    vault.call_write(write)
    assert published_inside == [0]  # not while the transaction was open
    assert seen == [StoresChanged(frozenset({1}))]


def test_after_commit_publishes_nothing_on_rollback(vault: Vault) -> None:
    notices = Notices()
    seen = _record(notices)

    def write(conn: Any) -> None:
        notices.after_commit(vault, StoresChanged(frozenset({1})))
        raise ValueError("the change fails")

    with pytest.raises(ValueError):
        vault.call_write(write)
    assert seen == []


def test_after_commit_outside_a_write_is_refused(vault: Vault) -> None:
    with pytest.raises(RuntimeError):
        Notices().after_commit(vault, StoresChanged())


def test_a_settings_change_announces_the_setting_and_the_audit_entry(core: Core) -> None:
    services = build_services(core)
    put_operator(core.vault, ADMIN)
    seen = _record(core.notices)
    services.settings.set(ADMIN, S.IDLE_LOCK_MINUTES, 5)
    last_seq = core.vault.call(lambda c: c.execute("SELECT max(seq) FROM audit_log").fetchone())
    assert seen == [
        AuditAppended(last_seq=last_seq[0]),
        SettingsChanged(frozenset({S.IDLE_LOCK_MINUTES.key})),
    ]
    seen.clear()
    services.settings.set(ADMIN, S.IDLE_LOCK_MINUTES, 5)  # unchanged: nothing to announce
    assert seen == []


def test_one_audit_notice_per_transaction_with_its_last_entry(core: Core) -> None:
    from app.audit import Action

    services = build_services(core)
    put_operator(core.vault, ADMIN)
    seen = _record(core.notices, AuditAppended)
    audit = services.stores.audit

    def write(conn: Any) -> list[int]:
        return [
            audit.append(conn, actor_id=1, action=Action.SETTINGS_CHANGED, details=d)
            for d in ({"key": "a", "old": "1", "new": "2"}, {"key": "b", "old": "1", "new": "2"})
        ]

    seqs = core.vault.call_write(write)
    assert seen == [AuditAppended(last_seq=seqs[-1])]


def test_operator_changes_are_announced(core: Core) -> None:
    services = build_services(core)
    put_operator(core.vault, ADMIN)
    agent = put_operator(
        core.vault, Actor(id=2, username="ayse", display_name="Ayşe", role=Role.AGENT)
    )
    seen = _record(core.notices, OperatorsChanged)
    services.operators.disable(ADMIN, agent.id)
    assert seen == [OperatorsChanged(frozenset({agent.id}))]
