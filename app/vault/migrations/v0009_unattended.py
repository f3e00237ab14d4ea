"""Unattended sync (``app/unattended.py``): the hash of the system principal's scoped
credential, who enabled it and when.  The credential itself lives only in the keychain;
at most one row (none: not enabled)."""

SQL = """
CREATE TABLE unattended (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    token_hash  TEXT NOT NULL,                       -- sha256 hex of the keychain credential
    enabled_by  INTEGER REFERENCES operators(id) ON DELETE SET NULL,
    enabled_at  TEXT NOT NULL                        -- UTC
);
"""
