"""Order report parsing throughput (prints figures; not a timed test).

Builds a realistic ``GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL`` document
(every column Amazon documents plus two extra ones, address columns filled, 1-3 item
rows per order, some rows of one order apart) and times
:func:`app.amazon.report_rows.read_report` over it, fed in 64 KiB chunks as a download
gives them: plain UTF-8, gzip UTF-8 and plain cp932 (Japanese titles).  Prints rows/s.
Target: >= 100,000 rows/s plain on the 2 shared cores.

Measured 2026-12-01 (100,000 rows, 62,608 orders, 2 shared cores with others at work;
best of 3, four runs):

    plain UTF-8   2.3-2.7 s   37,000-43,000 rows/s   (garbage collector 0.7-0.9 s)
    gzip UTF-8    2.3-2.7 s   37,000-44,000 rows/s   (garbage collector 0.7-0.9 s)
    plain cp932   2.3-2.6 s   38,000-43,000 rows/s   (garbage collector 0.7-0.9 s)

Short of the target, and not by the parsing: building the result alone (62,608 frozen
``Order`` and 104,000 ``OrderItem`` dataclasses with their ``Money``, no parsing) takes
about 1.5 s on this machine, garbage collection included; the rows themselves (bytes to
lines to cells to per-order accumulators) take about 1 s, i.e. ~100,000 rows/s.  A
30-day range of a busy store (10,000 orders, ~16,000 rows) reads in about 0.4 s.

Run: ``.venv/bin/python -m bench.report_rows [ROWS]`` (default 100,000)
"""

from __future__ import annotations

import gc
import gzip
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.amazon.report_rows import read_report  # noqa: E402

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CHUNK = 1 << 16
HEADER = (
    "amazon-order-id\tmerchant-order-id\tpurchase-date\tlast-updated-date\torder-status\t"
    "fulfillment-channel\tsales-channel\torder-channel\turl\tship-service-level\t"
    "product-name\tsku\tasin\titem-status\tquantity\tcurrency\titem-price\titem-tax\t"
    "shipping-price\tshipping-tax\tgift-wrap-price\tgift-wrap-tax\t"
    "item-promotion-discount\tship-promotion-discount\tship-city\tship-state\t"
    "ship-postal-code\tship-country\tpromotion-ids\tcpf\tis-business-order\t"
    "purchase-order-number\tprice-designation\tnumber-of-items\taddress-type"
)
TITLES = (
    "Stainless Steel Water Bottle 750 ml, Leak-Proof, Blue",
    "Organic Cotton Bath Towel Set (4 pieces), Anthracite",
    "USB-C Charging Cable 2 m, Braided",
)
TITLES_JP = (
    "ステンレス製ボトル 750ml ブルー",
    "オーガニックコットン バスタオル 4枚組",
    "USB-C ケーブル 2m",
)
STATUSES = ("Shipped", "Shipped", "Shipped", "Unshipped", "Pending", "Cancelled")


def document(rows: int, *, japanese: bool = False, seed: int = 1) -> str:
    rnd = random.Random(seed)
    lines = [HEADER]
    held: list[str] = []  # a few rows of an order come later in the file
    start = NOW - timedelta(days=30)
    n = 0
    while len(lines) - 1 + len(held) < rows:
        n += 1
        order_id = f"{111 + n % 3}-{n:07d}-{rnd.randrange(10**7):07d}"
        bought = start + timedelta(seconds=n * 17)
        status = rnd.choice(STATUSES)
        channel = rnd.choice(("Amazon", "Merchant"))
        for item in range(rnd.choice((1, 1, 1, 2, 3))):
            quantity = rnd.randint(1, 3)
            price = quantity * rnd.randint(500, 9000) / 100
            title = (TITLES_JP if japanese else TITLES)[item % 3]
            row = "\t".join(
                (
                    order_id,
                    "",
                    bought.isoformat(),
                    (bought + timedelta(hours=5)).isoformat(),
                    status,
                    channel,
                    "Amazon.co.jp" if japanese else "Amazon.com",
                    "",
                    "",
                    "Standard",
                    title,
                    f"SKU-{item}-{n % 500}",
                    f"B0{n % 9000:08d}",
                    status,
                    str(quantity),
                    "JPY" if japanese else "USD",
                    f"{price:.2f}",
                    f"{price * 0.08:.2f}",
                    "4.99",
                    "0.40",
                    "",
                    "",
                    "-1.00" if n % 7 else "",
                    "",
                    "Springfield",
                    "IL",
                    "62704",
                    "US",
                    "",
                    "",
                    "false",
                    "",
                    "",
                    "1",
                    "Residential",
                )
            )
            (held if rnd.random() < 0.01 else lines).append(row)
    lines.extend(held)
    return "\n".join(lines[: rows + 1]) + "\n"


def chunked(data: bytes) -> Iterator[bytes]:
    for at in range(0, len(data), CHUNK):
        yield data[at : at + CHUNK]


class GcClock:
    """Seconds the garbage collector ran (watched through ``gc.callbacks``, not changed)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start


def timed(label: str, data: bytes, compression: str | None, charset: str, rows: int) -> None:
    best, best_gc, orders = float("inf"), 0.0, 0
    for _ in range(3):
        clock = GcClock()
        gc.collect()
        gc.callbacks.append(clock)
        started = time.perf_counter()
        result = read_report(
            chunked(data), compression=compression, charset=charset, store_id=1, now=NOW
        )
        elapsed = time.perf_counter() - started
        gc.callbacks.remove(clock)
        assert result.rows == rows, result.rows
        orders = len(result.orders)
        del result
        if elapsed < best:
            best, best_gc = elapsed, clock.seconds
    print(
        f"{label:<12} {rows:>8,} rows  {len(data) / 1e6:5.1f} MB  {best:5.2f} s  "
        f"{rows / best:>8,.0f} rows/s  (garbage collector {best_gc:4.2f} s; {orders:,} orders)"
    )


def main(rows: int = 100_000) -> None:
    text = document(rows)
    plain = text.encode("utf-8")
    timed("plain UTF-8", plain, None, "UTF-8", rows)
    timed("gzip UTF-8", gzip.compress(plain, 6), "GZIP", "UTF-8", rows)
    timed("plain cp932", document(rows, japanese=True).encode("cp932"), None, "Windows-31J", rows)
    print("target: >= 100,000 rows/s plain")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
