"""Sign-in throttling that tells an attacker nothing.

``operators.lockouts`` counts lockouts since the last successful sign-in or admin unlock:
each one lasts longer (app/auth/service.py ``LOCKOUTS``).

``sign_in_names`` throttles the usernames that have no usable account behind them
(unknown, disabled, not set up) and attempts on locked accounts, so they lock like real
accounts do, and aggregates their failures into one audit entry per name and window.  A
name is stored only as an HMAC-SHA-256 under ``sign_in_name_key`` (random, made here,
never leaves the encrypted file): people type e-mail addresses as usernames.  The
service keeps the table bounded (least recently used rows go first).
"""

SQL = """
ALTER TABLE operators ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sign_in_name_key (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
);
INSERT INTO sign_in_name_key(id, key) VALUES (1, randomblob(32));

CREATE TABLE sign_in_names (
    name_key     TEXT PRIMARY KEY,                   -- HMAC of the typed name, never the name
    failures     INTEGER NOT NULL DEFAULT 0,         -- consecutive, towards the lockout
    lockouts     INTEGER NOT NULL DEFAULT 0,         -- escalates like operators.lockouts
    locked_until TEXT,
    window_start TEXT NOT NULL,                      -- the audit window of ``pending``
    pending      INTEGER NOT NULL DEFAULT 0,         -- failures not yet in the audit log
    last_at      TEXT NOT NULL                       -- for evicting the least recent row
) WITHOUT ROWID;
CREATE INDEX sign_in_names_last ON sign_in_names(last_at);
CREATE INDEX sign_in_names_window ON sign_in_names(window_start) WHERE pending > 0;
"""
