"""Sync benchmark (prints figures; not a timed test).

1. Rate-limited: 10,000 orders from the fake SP-API with Amazon's limits sped up by
   ``--speed``; elapsed vs the minimum the limits allow (burst 20, then 0.0056*speed
   pages/s), their ratio (target <= 1.10) and unhandled 429s (target 0).
2. Unlimited: orders stored per second (target >= 2,000/s).
3. GUI responsiveness: see bench/sync_gui.py (hook: :func:`run_sync_in_background`).

Run: ``.venv/bin/python -m bench.sync [--orders 10000] [--speed 1000]``
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import settings
from app.amazon.client import SEARCH_ORDERS, clear_token_cache
from app.amazon.models import Credentials, Region, StoreDraft, SyncProgress, SyncResult
from app.amazon.stores import StoreService
from app.amazon.sync import SyncService
from app.auth.models import Actor
from app.auth.rbac import Role
from app.bootstrap import open_vault
from app.clock import SystemClock
from app.demo.fake_spapi import FakeSpApi
from app.demo.fake_spapi_catalog import MARKETPLACES
from app.events import EventBus
from app.paths import Profile
from app.secrets import SecretStore
from tests.support import MemoryKeyring

ADMIN = Actor(id=1, username="bench", display_name="Bench", role=Role.ADMIN)
SEARCH_RATE, SEARCH_BURST = 0.0056, 20


def _setup(srv: FakeSpApi) -> tuple[Any, SyncService, int]:
    profile = Profile(Path(tempfile.mkdtemp()) / "bench")
    profile.ensure()
    secrets = SecretStore(service="bench", backend=MemoryKeyring(), enforce_policy=False)
    vault, _ = open_vault(profile, secrets)
    clock = SystemClock()
    now = clock.now()
    vault.call_write(lambda c: settings.put(c, settings.SYNC_BACKFILL_DAYS, 130, now=now))
    events = EventBus()
    stores = StoreService(vault=vault, secrets=secrets, clock=clock, events=events)
    store = stores.create_store(
        ADMIN,
        StoreDraft(
            "Bench",
            Region.NA,
            tuple(m.marketplace_id for m in MARKETPLACES),
            srv.client_id,
            srv.base_url,
            srv.lwa_url,
        ),
        Credentials(srv.client_secret, srv.refresh_token),
    )
    sync = SyncService(vault=vault, secrets=secrets, clock=clock, events=events, stores=stores)
    return vault, sync, store.id


def run_sync_in_background(
    srv: FakeSpApi, progress: Callable[[SyncProgress], None] | None = None
) -> tuple[threading.Thread, dict[str, Any]]:
    """Hook for bench/sync_gui.py (3): start a full sync from ``srv`` on a worker thread
    and return it with a dict that receives ``result`` (or ``error``) when done."""
    vault, sync, store_id = _setup(srv)
    out: dict[str, Any] = {"vault": vault}

    def work() -> None:
        try:
            out["result"] = sync.sync_store(ADMIN, store_id, threading.Event(), progress)
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=work, name="bench-sync", daemon=True)
    thread.start()
    return thread, out


def rate_limited(orders: int, speed: float) -> None:
    clear_token_cache()
    with FakeSpApi(orders=orders, seed=7, speed=speed, settle_seconds=0) as srv:
        vault, sync, store_id = _setup(srv)
        began = time.perf_counter()
        result: SyncResult = sync.sync_store(ADMIN, store_id, threading.Event())
        elapsed = time.perf_counter() - began
        pages = srv.request_count(SEARCH_ORDERS)
        throttled = srv.throttled_count(SEARCH_ORDERS)
        stored = len(vault.call(lambda c: c.execute("SELECT order_id FROM orders").fetchall()))
        vault.close()
    rate = SEARCH_RATE * speed
    min_pages = -(-orders // 100)
    least = max(0, min_pages - SEARCH_BURST) / rate
    least_used = max(0, pages - throttled - SEARCH_BURST) / rate
    print(f"(1) rate-limited: {orders} orders, speed x{speed:g} ({rate:.2f} pages/s, burst 20)")
    print(
        f"    stored {stored} orders in {result.pages} pages ({pages} requests) in {elapsed:.2f} s"
    )
    print(
        f"    minimum the limits allow for {min_pages} pages: {least:.2f} s"
        f" -> ratio {elapsed / least:.3f}"
    )
    print(
        f"    minimum for the {pages - throttled} pages sent: {least_used:.2f} s -> ratio "
        f"{elapsed / least_used:.3f}"
    )
    print(
        f"    429 answers: {throttled} (handled by waiting: {result.throttled}; unhandled: 0 "
        "unless the sync raised)"
    )


def unlimited(orders: int) -> None:
    clear_token_cache()
    with FakeSpApi(orders=orders, seed=8, speed=None, settle_seconds=0) as srv:
        vault, sync, store_id = _setup(srv)
        began = time.perf_counter()
        result = sync.sync_store(ADMIN, store_id, threading.Event())
        elapsed = time.perf_counter() - began
        vault.close()
    print(
        f"(2) unlimited: {result.orders} orders in {elapsed:.2f} s = "
        f"{result.orders / elapsed:,.0f} orders/s (HTTP + parsing + storing)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--speed", type=float, default=1000.0)
    args = parser.parse_args()
    rate_limited(args.orders, args.speed)
    unlimited(args.orders)
    print("(3) GUI responsiveness: bench/sync_gui.py")


if __name__ == "__main__":
    main()
