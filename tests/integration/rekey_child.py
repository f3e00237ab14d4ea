"""Child process for test_rekey_crash: rotates a profile's key, stopping at a named step.

Usage: python rekey_child.py PROFILE_DIR keychain|passphrase STEP
Prints every step of the rotation as it is reached; at STEP it prints ``stopped`` and
waits to be killed (SIGKILL).  STEP ``none`` runs the rotation to the end and exits.
Passphrase mode changes ``OLD`` to ``NEW`` (below).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

OLD = "correct horse battery staple"
NEW = "tr0ub4dor & three more words"


def main() -> None:
    import app.vault.db as db
    from app.bootstrap import open_vault
    from app.paths import Profile
    from app.secrets import SecretStore
    from app.vault.rotate import rotate_keychain_key, rotate_passphrase

    root, mode, stop = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    profile = Profile(root)
    out = sys.stdout

    def on_step(step: str) -> None:
        out.write(f"{step}\n")
        if step == stop:
            out.write("stopped\n")
            out.flush()
            threading.Event().wait()  # until SIGKILL
        out.flush()

    db.step_hook = on_step
    if mode == "keychain":
        store = SecretStore.for_profile(profile)
        vault, _key = open_vault(profile, store)
        out.write("ready\n")
        out.flush()
        rotate_keychain_key(vault, store)
    else:
        from keyring.backends.fail import Keyring as FailKeyring

        store = SecretStore.for_profile(profile, backend=FailKeyring())
        vault, _key = open_vault(profile, store, passphrase=lambda new: OLD)
        out.write("ready\n")
        out.flush()
        rotate_passphrase(vault, NEW)
    vault.close()
    out.write("finished\n")
    out.flush()


if __name__ == "__main__":
    main()
