"""Drafting benchmark (prints figures; not a timed test).

Template drafts (helper T's part): ``DraftService.draft`` with the built-in templates
on a real encrypted vault (temp profile, in-memory keychain) holding a store, an order
and buyer threads in English (US, UK), German, French and Japanese, one of them a 2 KB
message.  The whole call is timed as the app makes it: one DB hop (caller, thread,
order, templates), language and intent detection, rendering, and the audit entry's
write.  The language model loads once per process (``DraftService.warm_up``, which the
app runs when its window shows; without it the first draft pays for it): printed
apart.  Target: a template draft under 50 ms.

Redaction (the PII engine's part, ``print_redaction``): ``app.pii.redact`` on a 2 KB
message with PII of every kind, nothing known and with the buyer's known PII (p50 / p95 /
max; target < 5 ms), throughput over the corpus, and the corpus figures against the
issue's targets (``tests/data/pii``: corpus and held-out).

Run: ``.venv/bin/python -m bench.drafting [--runs 200] [--part templates|redaction]``
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


# --- the PII engine's part: redaction latency, throughput and the corpus figures ---------

# A 2 KB buyer message (2.1 KB) with PII of every kind among order ids, amounts, dates.
_MESSAGE_2KB = (
    (
        "Hello,\nI ordered the blue wool jumper (order 113-4455667-1234567, ASIN B0C1234567) "
        "on 12/03/2026 for $45.99 in size M and it has not arrived. The tracking "
        "1Z999AA10123456784 says delivered but nothing came, and the driver left no note. "
        "Could you please check with the carrier and tell me what happens next? "
    )
    * 7
    + "My name is Jane Doe, I live at 1425 Maple Avenue Apt 4, Springfield, IL 62704 and "
    "my phone is (217) 555-0100, or mail jane.doe@example.com.\nThanks,\nJane"
)


def redaction_latency(runs: int = 500) -> dict[str, float]:
    """``redact`` on a 2 KB message, ms: p50 / p95 / max, without and with known PII."""
    from app.pii import KnownPII, redact

    text = _MESSAGE_2KB
    known = KnownPII(
        names=("Jane Doe",),
        addresses=("1425 Maple Avenue, Apt 4, Springfield, IL 62704",),
        phones=("+1 217 555 0100",),
        emails=("x7k2m9abcd@marketplace.amazon.com",),
    )
    redact(text, known, marketplace="US")  # patterns compile on first use
    figures: dict[str, float] = {"bytes": float(len(text.encode("utf-8")))}
    for label, k in (("unknown", KnownPII()), ("known", known)):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            redact(text, k, marketplace="US")
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        figures[f"{label}_p50"] = statistics.median(times)
        figures[f"{label}_p95"] = times[int(len(times) * 0.95) - 1]
        figures[f"{label}_max"] = times[-1]
    return figures


def guard_latency(runs: int = 500) -> dict[str, float]:
    """``contains_known`` on a 10 KB JSON request body holding none of the PII (the
    outbound guard's every-request cost, the whole body scanned), ms p50 / p95."""
    import json

    from app.pii import KnownPII, contains_known, redact

    known = KnownPII(
        names=("Jane Doe",),
        addresses=("1425 Maple Avenue, Apt 4, Springfield, IL 62704",),
        phones=("+1 217 555 0100",),
        emails=("x7k2m9abcd@marketplace.amazon.com",),
    )
    thread = redact(_MESSAGE_2KB, known, marketplace="US").text
    body = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Write a short, polite reply. No links. " * 40},
            *({"role": "user", "content": thread} for _ in range(4)),
        ],
    }
    text = json.dumps(body)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        assert contains_known(text, known) is None
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "bytes": float(len(text)),
        "p50": statistics.median(times),
        "p95": times[int(len(times) * 0.95) - 1],
    }


def redaction_throughput(rounds: int = 5) -> dict[str, float]:
    """Every corpus message redacted ``rounds`` times: messages and KB per second."""
    from app.pii import redact
    from tests.helpers.pii import load_corpus

    cases = load_corpus("corpus") + load_corpus("heldout")
    size = sum(len(c.text.encode("utf-8")) for c in cases) * rounds
    start = time.perf_counter()
    for _ in range(rounds):
        for case in cases:
            redact(case.text, case.known, marketplace=case.marketplace)
    elapsed = time.perf_counter() - start
    return {"messages": len(cases) * rounds / elapsed, "kb": size / 1024 / elapsed}


def print_redaction(runs: int) -> None:
    from app.pii import redact
    from tests.helpers.pii import load_corpus, score

    print("PII redaction (app/pii):")
    for part in ("corpus", "heldout"):
        s = score(load_corpus(part), redact)
        print(
            f"  {part}: {s.cases} cases; known PII {s.known_leaks}/{s.known} leaked; "
            f"unknown emails+phones {s.contact_leaks}/{s.contact} leaked (target 0); "
            f"addresses {s.addresses_removed}/{s.addresses} removed "
            f"({100 * s.rate(s.addresses_removed, s.addresses):.1f} %, target >= 95); "
            f"names {s.names_removed}/{s.names} "
            f"({100 * s.rate(s.names_removed, s.names):.1f} %, target >= 90); "
            f"non-PII kept {s.kept}/{s.keep} ({100 * s.rate(s.kept, s.keep):.1f} %, target >= 98)"
        )
    lat = redaction_latency(runs)
    print(
        f"  {lat['bytes']:.0f}-byte message: nothing known p50 {lat['unknown_p50']:.2f} ms, "
        f"p95 {lat['unknown_p95']:.2f} ms; with known PII p50 {lat['known_p50']:.2f} ms, "
        f"p95 {lat['known_p95']:.2f} ms, max {lat['known_max']:.2f} ms (target < 5 ms)"
    )
    guard = guard_latency(runs)
    print(
        f"  outbound guard, contains_known on a {guard['bytes'] / 1024:.1f} KB JSON body: "
        f"p50 {guard['p50']:.2f} ms, p95 {guard['p95']:.2f} ms"
    )
    rate = redaction_throughput()
    print(f"  throughput over the corpus: {rate['messages']:.0f} messages/s, {rate['kb']:.0f} KB/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--part", choices=["all", "templates", "redaction"], default="all")
    args = parser.parse_args(argv)
    if args.part in ("all", "templates"):
        print_template_latency(args.runs)
    if args.part in ("all", "redaction"):
        print_redaction(max(args.runs, 500))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
