"""Drafting benchmark (prints figures; not a timed test).

Template drafts (helper T's part): ``DraftService.draft`` with the built-in templates
on a real encrypted vault (temp profile, in-memory keychain) holding a store, an order
and buyer threads in English (US, UK), German, French and Japanese, one of them a 2 KB
message.  The whole call is timed as the app makes it: one DB hop (caller, thread,
order, templates), language and intent detection, rendering, and the audit entry's
write.  The language model loads once per process (``DraftService.warm_up``, which the
app runs when its window shows; without it the first draft pays for it): printed
apart.  Target: a template draft under 50 ms.

Redaction throughput, the 2 KB redaction latency and the PII corpus figures are the
PII engine's part (``app/pii``), printed by its own function in this file.

Run: ``.venv/bin/python -m bench.drafting [--runs 200]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ORDER = "111-5550101-7654321"
THREADS = (
    ("amazon.com", "en", "Hi, the kettle arrived broken and the lid is cracked. Jo"),
    ("amazon.com", "en", "Where is my order? It has not arrived yet and I need it Friday."),
    ("amazon.co.uk", "en", "Could I get a VAT invoice for this order, please?"),
    ("amazon.de", "de", "Hallo, ich möchte den Artikel zurücksenden. Wie geht das?"),
    ("amazon.fr", "fr", "Bonjour, je voudrais annuler ma commande, merci."),
    ("amazon.co.jp", "ja", "注文した商品がまだ届いていません。いつ届きますか？"),
    (
        "amazon.com",
        "en",
        ("My parcel still has not arrived and the tracking has not moved for days. " * 28)[:2048],
    ),
)


def _world(tmp: Path) -> tuple[Any, Any, list[int], Any]:
    from app.amazon import orders_repo
    from app.amazon.models import DeliveryState, Order, OrderItem, OrderStatus, Package
    from app.audit import AuditLog
    from app.auth.models import Actor
    from app.auth.rbac import Role
    from app.bootstrap import open_vault
    from app.clock import SystemClock
    from app.drafting.service import DraftService
    from app.jobs import JobHost
    from app.mail import repo
    from app.mail.models import Direction
    from app.mail.parse import parse_email
    from app.paths import Identity, Profile
    from app.secrets import SecretStore
    from tests.helpers.emails import relay_email
    from tests.helpers.operators import put_operator
    from tests.support import AUDIT_TEST_KEY, MemoryKeyring

    profile = Profile(tmp / "profile")
    profile.ensure()
    profile.write_identity(Identity.new())
    secrets = SecretStore.for_profile(profile, backend=MemoryKeyring(), enforce_policy=False)
    vault, _ = open_vault(profile, secrets)
    clock = SystemClock()
    now = clock.now()
    vault.call_write(
        lambda c: c.execute(
            "INSERT INTO stores(id, name, created_at) VALUES (1, 'Main', '2026-01-01T00:00:00Z')"
        )
    )
    admin = put_operator(vault, Actor(id=1, username="ada", display_name="Ada", role=Role.ADMIN))
    order = Order(
        order_id=ORDER,
        store_id=1,
        marketplace_id="ATVPDKIKX0DER",
        marketplace_name="Amazon.com",
        status=OrderStatus.SHIPPED,
        purchase_date=now - timedelta(days=3),
        last_updated=now,
        fulfillment_channel="MFN",
        items=(OrderItem("1", "B0TESTKETL", "KET-1", "Glass Kettle 1.7 l", 1),),
        packages=(Package("p1", "UPS", "1Z999AA10123456784", ship_time=now),),
        delivery_state=DeliveryState.IN_TRANSIT,
    )
    vault.call_write(lambda c: orders_repo.upsert_orders(c, [order], now=now))
    threads = []
    for i, (marketplace, lang, text) in enumerate(THREADS):
        parsed = parse_email(
            relay_email(
                order_id=ORDER,
                text=text,
                marketplace=marketplace,
                lang=lang if lang in ("en", "de", "fr", "ja") else "en",
                alias=f"bench{i:04d}buyer@marketplace.{marketplace}",
                date=datetime.now(UTC),
            )
        )
        stored = vault.call_write(
            lambda c, p=parsed, i=i: repo.store_message(
                c, 1, p, direction=Direction.IN, folder="INBOX", source_key=f"k{i}", now=now
            )
        )
        threads.append(int(stored.thread_id))
    jobs = JobHost(clock=clock)
    service = DraftService(
        vault=vault,
        secrets=secrets,
        clock=clock,
        notices=jobs.notices,
        audit=AuditLog(clock=clock, key=AUDIT_TEST_KEY),
        jobs=jobs,
    )
    return service, admin, threads, (vault, jobs)


def template_latency(runs: int = 200) -> dict[str, float]:
    """Template draft latency in ms: the language model's load (``warm_up``, once per
    process), the first draft after it, then p50 / p95 / max over ``runs`` drafts
    across the threads."""
    with tempfile.TemporaryDirectory() as tmp:
        service, admin, threads, (vault, jobs) = _world(Path(tmp))
        try:
            start = time.perf_counter()
            service.warm_up().result()
            model = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            service.draft(admin, threads[0])
            first = (time.perf_counter() - start) * 1000
            times = []
            for n in range(runs):
                start = time.perf_counter()
                service.draft(admin, threads[n % len(threads)])
                times.append((time.perf_counter() - start) * 1000)
        finally:
            jobs.shutdown()
            vault.close()
    times.sort()
    return {
        "model": model,
        "first": first,
        "p50": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
        "max": times[-1],
    }


def print_template_latency(runs: int) -> None:
    figures = template_latency(runs)
    print(f"Template drafts ({runs} runs, {len(THREADS)} threads in 5 languages, one 2 KB):")
    print(f"  language model load (DraftService.warm_up, once): {figures['model']:.0f} ms")
    print(f"  first draft after it: {figures['first']:.1f} ms")
    print(
        f"  then p50 {figures['p50']:.1f} ms, p95 {figures['p95']:.1f} ms, "
        f"max {figures['max']:.1f} ms (target < 50 ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    print_template_latency(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
