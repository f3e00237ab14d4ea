"""Sign-in timing benchmark: does the first wrong attempt in a process cost the same as
the rest, for an unknown username and for a known one with a wrong password?

    .venv/bin/python bench/signin.py [--runs N] [--attempts N]

Each run is a fresh process (``python -c …``) with a new temp profile (in-memory keyring)
holding one operator whose hash (calibrated Argon2id) was made in this parent process,
so the child does no Argon2 work before the first attempt except the service's warm-up.
The child builds the AuthService, waits ``--typing`` seconds (the seller typing; the
warm-up runs meanwhile), then times ``check_password`` for the first attempt and
``--attempts`` more, alternating which kind (unknown/known) goes first between runs.
``--lazy`` skips the warm-up (the dummy is made by the first miss, as before) to compare.
Prints medians in ms and the first/rest ratio per kind.  Target: ratio ≈ 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from app.audit import AuditLog
from app.auth.hashing import PasswordHashing
from app.auth.service import AuthService
from app.bootstrap import open_vault
from app.clock import SystemClock
from app.errors import AuthenticationFailed
from app.paths import Identity, Profile
from app.secrets import SecretStore
from tests.support import AUDIT_TEST_KEY, MemoryKeyring

password_hash, first, typing, attempts, lazy = sys.argv[1:6]


class Lazy(PasswordHashing):
    def start_warm_up(self) -> None:  # the old behaviour: the dummy made by the first miss
        pass


with tempfile.TemporaryDirectory() as tmp:
    profile = Profile(Path(tmp) / "profile")
    profile.ensure()
    profile.write_identity(Identity.new())
    secrets = SecretStore.for_profile(profile, backend=MemoryKeyring(), enforce_policy=False)
    vault, _ = open_vault(profile, secrets)
    vault.call_write(lambda c: c.execute(
        "INSERT INTO operators(username, display_name, email, role, created_at, password_hash,"
        " totp_secret, mfa_enrolled_at) VALUES ('admin', 'A', 'a@example.com', 'admin',"
        " '2026-01-01', ?, 'JBSWY3DPEHPK3PXP', '2026-01-01')", (password_hash,)))
    clock = SystemClock()
    audit = AuditLog(clock=clock, key=AUDIT_TEST_KEY)
    hasher = Lazy() if lazy == "1" else PasswordHashing()
    auth = AuthService(vault=vault, clock=clock, audit=audit, hasher=hasher)
    time.sleep(float(typing))
    kinds = {"unknown": "nobody", "known": "admin"}
    order = [first, "known" if first == "unknown" else "unknown"]
    out = {k: [] for k in kinds}
    for n in range(int(attempts) + 1):
        for kind in order:
            start = time.perf_counter()
            try:
                auth.check_password(kinds[kind], f"Wrong-Password-{n}!")
            except AuthenticationFailed:
                pass
            out[kind].append((time.perf_counter() - start) * 1000)
    vault.close()
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--attempts", type=int, default=5, help="after the first (< 10)")
    parser.add_argument("--typing", type=float, default=1.0, help="seconds before attempt 1")
    parser.add_argument("--lazy", action="store_true", help="old behaviour, for comparison")
    args = parser.parse_args()
    from app.auth.hashing import PasswordHashing

    password_hash = PasswordHashing().hash("Velvet-Orbit-73-Lantern!")
    first: dict[str, list[float]] = {"unknown": [], "known": []}
    rest: dict[str, list[float]] = {"unknown": [], "known": []}
    for run in range(args.runs):
        lead = "unknown" if run % 2 == 0 else "known"
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                password_hash,
                lead,
                str(args.typing),
                str(args.attempts),
                "1" if args.lazy else "0",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(done.stderr.strip()[-2000:], file=sys.stderr)
            return 1
        times = json.loads(done.stdout.strip().splitlines()[-1])
        for kind, values in times.items():
            if kind == lead:  # the very first attempt of the process
                first[kind].append(values[0])
            rest[kind].extend(values[1:])
    how = "lazy dummy (old)" if args.lazy else "warm-up at service start"
    print(f"{args.runs} processes, first attempt after {args.typing:.1f} s of typing; {how}")
    for kind in ("unknown", "known"):
        f, r = statistics.median(first[kind]), statistics.median(rest[kind])
        print(f"{kind:8} first {f:6.1f} ms   rest {r:6.1f} ms   ratio {f / r:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
