"""Benchmark: the longest GUI stall while typing a search in the Inbox over 500,000 messages.

Opens the encrypted profile of ``bench/search.py`` (its :func:`bench.search.build`,
cached under /tmp), shows the real Inbox tab (offscreen) as an admin, and types queries
into the search box one key at a time, as a seller does: a fast typist (one key every
``--fast`` ms, under the 150 ms debounce: one search at the end) and a slow one (every
``--slow`` ms: a search per key, the older answers dropped).  Meanwhile a 10 ms timer on
the GUI thread records the longest gap between its ticks (``bench.sync_gui.GapMeter``).
For each query it prints that gap and the time from the last key to the shown rows being
filled.  Target: no gap over 50 ms.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.search_gui [--messages 500000]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.search import NOW, build
from bench.sync_gui import GapMeter, _wait_for

TARGET_MS = 50.0


def _open(built: Any) -> tuple[Any, Any]:
    """The profile's vault and the services on it, acting as a stored admin."""
    from app.auth.models import Actor
    from app.auth.rbac import Role
    from app.clock import FakeClock
    from app.paths import Profile
    from app.secrets import SecretStore
    from app.services import Core, build_services
    from app.vault import Vault
    from app.vault.keys import KeyMode
    from tests.support import MemoryKeyring

    profile = Profile(built.encrypted.parent)
    vault = Vault.open(profile, built.key, KeyMode.KEYCHAIN)
    vault.call_write(
        lambda conn: conn.execute(
            "INSERT OR IGNORE INTO operators(id, username, display_name, email, role, "
            "created_at) VALUES (1, 'bench', 'Bench', '', 'admin', '2026-01-01T00:00:00+00:00')"
        )
    )
    secrets = SecretStore(service="bench-search-gui", backend=MemoryKeyring(), enforce_policy=False)
    core = Core(profile=profile, vault=vault, secrets=secrets, clock=FakeClock(NOW))
    services = build_services(core)
    actor = Actor(id=1, username="bench", display_name="Bench", role=Role.ADMIN)
    return services, actor


def _shown_loaded(view: Any) -> bool:
    from ui.models.roles import ItemRole

    model, table = view.model, view.table
    if model.searching:
        return False
    count = model.rowCount()
    if count == 0:
        return True
    first = max(0, table.rowAt(0))
    last = table.rowAt(table.viewport().height() - 1)
    last = count - 1 if last < 0 else last
    return all(model.data(model.index(r, 0), ItemRole.LOADED) for r in range(first, last + 1))


def _type(app: QApplication, view: Any, text: str, interval_ms: int) -> float:
    """Type ``text`` into the search box, one key per ``interval_ms`` (GUI event loop
    running throughout); returns perf_counter() of the last key."""
    keys = list(text)
    last_key = [0.0]
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(interval_ms)

    def press() -> None:
        QTest.keyClicks(view.search, keys.pop(0))
        last_key[0] = time.perf_counter()
        if not keys:
            timer.stop()
            loop.quit()

    timer.timeout.connect(press)
    timer.start()
    loop.exec()
    return last_key[0]


def _clear(app: QApplication, view: Any) -> None:
    view.search.clear()
    view.apply_filters()
    _wait_for(app, view.model.search_finished, lambda: _shown_loaded(view), 60)


def run(messages: int, fast: int, slow: int) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    from ui import ops

    ops.install()
    built = build(messages)
    services, actor = _open(built)
    from ui.views.inbox import InboxView

    began = time.perf_counter()
    view = InboxView(services=services, actor=actor, clock=services.core.clock)
    view.resize(1400, 800)
    view.show()
    _wait_for(app, view.model.search_finished, lambda: _shown_loaded(view), 60)
    # As the app does once its window is shown (ui/main.py): later garbage collections
    # walk only what was created since, not PySide's and the services' objects.
    from ui.runtime import freeze_long_lived_objects

    freeze_long_lived_objects()
    print(
        f"{messages:,} messages; inbox shown with {view.model.rowCount():,} threads in "
        f"{(time.perf_counter() - began) * 1000:.0f} ms"
    )
    s = built.samples
    typed = [
        ("a word", "kaputt"),
        ("two words", "arrived broken"),
        ("order id", s["order"][0]),
        ("ASIN", s["asin"][0]),
        ("SKU", s["sku"][0]),
        ("name", sorted(set(s["name"]))[0] if s["name"] else "Zeynep"),
        ("2-letter prefix", "11"),
    ]
    meter = GapMeter()
    worst = 0.0
    print(f"{'query':<18}{'typist':>8}{'results':>10}{'longest GUI gap':>18}{'last key→rows':>16}")
    for label, text in typed:
        for typist, interval in (("fast", fast), ("slow", slow)):
            _clear(app, view)
            meter.start()
            last_key = _type(app, view, text, interval)
            _wait_for(
                app,
                view.model.search_finished,
                lambda t=text: view.model.query.text == t and _shown_loaded(view),
                60,
            )
            done = time.perf_counter()
            gap = meter.stop()
            worst = max(worst, gap)
            print(
                f"{label:<18}{typist:>8}{view.model.rowCount():>10,}{gap:>15.1f} ms"
                f"{(done - last_key) * 1000:>13.0f} ms"
            )
            for at, g in meter.gaps[:3]:
                print(f"{'':<26}gap {g:.0f} ms at {at:.0f} ms")
    verdict = "ok" if worst < TARGET_MS else "OVER TARGET"
    print(f"longest GUI gap while typing: {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    view.close()
    services.core.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--fast", type=int, default=80, help="ms between keys (fast typist)")
    parser.add_argument("--slow", type=int, default=300, help="ms between keys (slow typist)")
    args = parser.parse_args()
    run(args.messages, args.fast, args.slow)


if __name__ == "__main__":
    main()
