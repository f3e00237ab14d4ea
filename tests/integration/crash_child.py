"""Child process for test_crash_consistency: commits numbered rows until it is killed.

Usage: python crash_child.py DB_PATH KEY_HEX SEED
Prints ``ready`` once open, then each row number right after its COMMIT returned.
The connection is the app's (``open_connection``: WAL, synchronous=FULL, secure_delete).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path


def main() -> None:
    from app.vault.connection import open_connection

    path, key, seed = Path(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    conn = open_connection(path, key)
    conn.execute("CREATE TABLE IF NOT EXISTS rows(n INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER)"
    )
    n = conn.execute("SELECT coalesce(max(n), 0) FROM rows").fetchone()[0]
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    while True:
        n += 1
        conn.execute("BEGIN IMMEDIATE")
        # Payloads from a few bytes to more than a page, so commits touch overflow pages.
        conn.execute(
            "INSERT INTO rows(n, payload) VALUES (?, randomblob(?))", (n, rng.randint(8, 9000))
        )
        conn.execute(
            "INSERT INTO counter(id, n) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET n = excluded.n",
            (n,),
        )
        if n % 5 == 0:  # overwrite an older row: secure_delete zeroes the freed space
            conn.execute("UPDATE rows SET payload = randomblob(100) WHERE n = ?", (n // 2,))
        conn.execute("COMMIT")
        out.write(f"{n}\n")
        out.flush()
        if n % 40 == 0:  # crash during checkpoints too
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


if __name__ == "__main__":
    main()
