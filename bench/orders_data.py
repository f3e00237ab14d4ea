"""Orders data at scale (prints figures; not a timed test).

1. The fake SP-API's order store generating 20,000 orders (target < 2 s; the demo and
   the sync benchmark build theirs this way).
2. ``orders_repo.search_ids`` over 100,000 stored orders for four typical queries
   (target < 0.1 s each): all, unshipped by total, a SKU search, to ship by date.

Both were assertions in the unit tests (tests/unit/app/demo/test_fake_spapi_orders.py and
test_orders_repo.py), where a loaded machine made them fail for no fault of the code.

Run: ``.venv/bin/python -m bench.orders_data``
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.amazon import orders_repo  # noqa: E402
from app.amazon.models import OrderStatus  # noqa: E402
from app.amazon.orders_repo import OrderQuery, SortColumn  # noqa: E402
from app.bootstrap import open_vault  # noqa: E402
from app.demo.seed_orders import OrderStore  # noqa: E402
from app.paths import Identity, Profile  # noqa: E402
from app.secrets import SecretStore  # noqa: E402
from tests.helpers.orders import ADMIN, make  # noqa: E402
from tests.support import MemoryKeyring  # noqa: E402

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def generation() -> None:
    started = time.perf_counter()
    store = OrderStore(count=20_000, seed=1, now=NOW)
    elapsed = time.perf_counter() - started
    print(f"fake SP-API: {len(store)} orders generated in {elapsed:.2f} s (target < 2 s)")


def search(total: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        profile = Profile(Path(tmp) / "profile")
        profile.ensure()
        profile.write_identity(Identity.new())
        secrets = SecretStore.for_profile(profile, backend=MemoryKeyring(), enforce_policy=False)
        vault, _key = open_vault(profile, secrets)
        try:

            def add_stores(conn: Any) -> None:
                conn.execute(
                    "INSERT INTO stores(id, name, created_at) VALUES (1, 'S1', 'x'), (2, 'S2', 'x')"
                )

            vault.call_write(add_stores)
            orders = [make(n) for n in range(total)]
            for start in range(0, total, 10_000):
                page = orders[start : start + 10_000]
                vault.call_write(lambda c, p=page: orders_repo.upsert_orders(c, p, now=NOW))
            for query in (
                OrderQuery(),
                OrderQuery(statuses=frozenset({OrderStatus.UNSHIPPED}), sort=SortColumn.TOTAL),
                OrderQuery(text="SKU-4242"),
                OrderQuery(needs_shipping=True, sort=SortColumn.SHIP_BY),
            ):
                began = time.perf_counter()
                ids = vault.call(lambda c, q=query: orders_repo.search_ids(c, ADMIN, q))
                elapsed = time.perf_counter() - began
                print(
                    f"search_ids over {total} orders, sort={query.sort} text={query.text!r}: "
                    f"{len(ids)} ids in {elapsed * 1000:.0f} ms (target < 100 ms)"
                )
        finally:
            vault.close()


def main() -> None:
    generation()
    search()


if __name__ == "__main__":
    main()
