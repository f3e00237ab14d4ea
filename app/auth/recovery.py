"""Recovery and setup codes: random, shown once, stored as salted SHA-256.

A code is 16 characters from a 31-letter alphabet without look-alikes (79 bits), shown in
groups of four (``k7mq-2xfp-…``).  At 79 bits a fast salted hash is safe to store (no
guessing attack is feasible), and checking ten of them stays instant.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # 31 symbols; no 0/o/1/l/i
GROUPS = 4
GROUP_LEN = 4
COUNT = 10
CODE_LEN = GROUPS * GROUP_LEN


def generate_one() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LEN))
    return "-".join(raw[i : i + GROUP_LEN] for i in range(0, CODE_LEN, GROUP_LEN))


def generate(count: int = COUNT) -> list[str]:
    return [generate_one() for _ in range(count)]


def normalise(code: str) -> str:
    return "".join(ch for ch in code.strip().lower() if ch not in " -")


def looks_like_code(code: str) -> bool:
    c = normalise(code)
    return len(c) == CODE_LEN and all(ch in ALPHABET for ch in c)


def hash_code(code: str) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.sha256((salt + normalise(code)).encode()).hexdigest()
    return f"sha256${salt}${digest}"


def matches(code: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "sha256":
        return False
    candidate = hashlib.sha256((salt + normalise(code)).encode()).hexdigest()
    return hmac.compare_digest(candidate, digest)
