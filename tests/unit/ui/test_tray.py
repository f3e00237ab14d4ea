"""Tray notices: counts of new buyer messages (no PII), threads entering their last 2
hours, muted by ``notify.mute``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.clock import FakeClock
from app.notices import ThreadsChanged
from app.services import Core, Services, build_services
from app.settings import NOTIFY_MUTE
from app.vault import Vault
from tests.helpers.inbox import add_store, put_buyer_message
from tests.helpers.operators import put_operator
from tests.helpers.orders import ADMIN
from ui import tray as tray_module
from ui.events import QtEvents
from ui.tray import TrayNotifier


@pytest.fixture
def services(core: Core) -> Services:
    return build_services(core)


@pytest.fixture
def events(services: Services) -> Iterator[QtEvents]:
    qt_events = QtEvents(services.core.notices)
    yield qt_events
    qt_events.close()


def _tray(qtbot: Any, services: Services, events: QtEvents) -> tuple[TrayNotifier, list[str]]:
    actor = put_operator(services.core.vault, ADMIN)
    notifier = TrayNotifier(
        services=services, actor=lambda: actor, qt_events=events, tray_available=False
    )
    shown: list[str] = []
    notifier.message_shown.connect(lambda _title, text: shown.append(text))
    return notifier, shown


def test_new_messages_are_counted_in_one_notice_without_buyer_data(
    qtbot: Any,
    vault: Vault,
    services: Services,
    events: QtEvents,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tray_module, "COALESCE_MS", 20)
    add_store(vault)
    notifier, shown = _tray(qtbot, services, events)
    with qtbot.waitSignal(notifier.message_shown, timeout=3000):
        services.core.notices.publish(ThreadsChanged(frozenset({1}), (1,), new_messages=2))
        services.core.notices.publish(ThreadsChanged(frozenset({1}), (2,), new_messages=1))
    assert shown == ["3 new buyer messages"]
    with qtbot.assertNotEmitted(notifier.message_shown, wait=100):
        services.core.notices.publish(ThreadsChanged(frozenset({1}), (1,), new_messages=0))
    notifier.close()


def test_threads_entering_the_last_two_hours_once_each(
    qtbot: Any, vault: Vault, services: Services, events: QtEvents, clock: FakeClock
) -> None:
    add_store(vault)
    now = clock.now()
    put_buyer_message(
        vault,
        now=now,
        received=now - timedelta(hours=21),
        alias="later0urgent",
        order_id="111-0000001-0000001",
        text="Where is it? Cherri here, 12 Main Street",
    )
    notifier, shown = _tray(qtbot, services, events)
    with qtbot.assertNotEmitted(notifier.message_shown, wait=200):
        notifier.check_urgent()  # 3 h left: nothing yet
    clock.advance(90 * 60)  # 1.5 h left
    with qtbot.waitSignal(notifier.message_shown, timeout=3000):
        notifier.check_urgent()
    assert shown == ["1 buyer message has less than 2 hours left for a reply"]
    assert not any(word in shown[0] for word in ("Cherri", "Main", "later0urgent"))
    with qtbot.assertNotEmitted(notifier.message_shown, wait=200):
        notifier.check_urgent()  # already announced
    notifier.close()


def test_muted(
    qtbot: Any,
    vault: Vault,
    services: Services,
    events: QtEvents,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tray_module, "COALESCE_MS", 20)
    add_store(vault)
    notifier, shown = _tray(qtbot, services, events)
    actor = put_operator(vault, ADMIN)
    services.settings.set(actor, NOTIFY_MUTE, True)
    with qtbot.waitSignal(
        events.published, timeout=3000, check_params_cb=lambda n: isinstance(n, ThreadsChanged)
    ):
        services.core.notices.publish(ThreadsChanged(frozenset({1}), (1,), new_messages=4))
    assert notifier._pending_new == 4
    # Once that notice's mute check was asked for (the DB thread answers in order),
    # unmuting lets the next one through: only the next one shows.
    qtbot.waitUntil(lambda: notifier._pending_new == 0 and not notifier._coalesce.isActive())
    services.settings.set(actor, NOTIFY_MUTE, False)
    with qtbot.waitSignal(notifier.message_shown, timeout=3000):
        services.core.notices.publish(ThreadsChanged(frozenset({1}), (2,), new_messages=1))
    assert shown == ["1 new buyer message"]
    notifier.close()
