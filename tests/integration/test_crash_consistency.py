"""A child commits numbered rows and is killed with SIGKILL at random moments, 25 times.

After every kill the database passes cipher_integrity_check and quick_check, and holds
every row the child reported as committed (and no gaps: commits are atomic).
"""

from __future__ import annotations

import os
import random
import signal
import sys
from pathlib import Path

import pytest

from app.paths import Profile
from app.vault.check import run_checks
from app.vault.connection import open_connection
from tests.integration.children import reading_child

pytestmark = pytest.mark.integration

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 25


def _stored_rows(profile: Profile, key: bytes) -> tuple[list[int], int | None]:
    conn = open_connection(profile.db_path, key, readonly=True)
    try:
        rows = [r[0] for r in conn.execute("SELECT n FROM rows ORDER BY n").fetchall()]
        counter = conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()
        return rows, (counter[0] if counter else None)
    finally:
        conn.close()


def test_sigkill_at_random_moments_loses_no_committed_row(tmp_path: Path) -> None:
    seed = int(os.environ.get("MUTTEFIK_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    profile = Profile(tmp_path / "profile")
    profile.ensure()
    key = os.urandom(32)
    reported: set[int] = set()

    for round_no in range(KILLS):
        args = [sys.executable, str(CHILD), str(profile.db_path), key.hex(), str(rng.random())[2:]]
        with reading_child(args, dict(os.environ)) as (child, reader):
            assert reader.readline() == "ready", f"round {round_no}: child did not start"
            kill_after = rng.randint(1, 60)
            for _ in range(kill_after):
                line = reader.readline()
                assert line is not None, f"round {round_no}: child died on its own"
                reported.add(int(line))
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
            # lines already in the pipe were printed after a COMMIT returned: they count
            reported.update(int(line) for line in reader.rest())

        result = run_checks(profile, key)
        assert result.ok, f"round {round_no} (seed {seed}): {result.problems[:5]}"
        rows, counter = _stored_rows(profile, key)
        missing = reported - set(rows)
        assert not missing, f"round {round_no} (seed {seed}): lost committed rows {sorted(missing)}"
        assert rows == list(range(1, len(rows) + 1)), f"round {round_no}: gaps in {rows[-5:]}"
        assert counter == rows[-1], f"round {round_no}: counter {counter} != last row {rows[-1]}"

    assert len(reported) >= KILLS
