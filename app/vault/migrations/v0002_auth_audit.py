"""Operators (passwords, TOTP, recovery and setup codes, lockout, stores) and the audit log.

The audit table is append-only: triggers abort every UPDATE, and every DELETE except the
retention purge, which must first open a gate row (``audit_purge_gate``) naming the
cutoff, and even then cannot remove entries younger than 12 months by the wall clock.
"""

SQL = """
CREATE TABLE operators (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,       -- stored lower case
    display_name         TEXT NOT NULL,
    email                TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    password_hash        TEXT,                       -- NULL until the setup code is redeemed
    password_changed_at  TEXT,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    totp_secret          TEXT,                       -- NULL until MFA is enrolled
    totp_last_step       INTEGER,                    -- replay protection
    mfa_enrolled_at      TEXT,                       -- first enrollment; kept by an MFA reset
    disabled             INTEGER NOT NULL DEFAULT 0,
    failed_attempts      INTEGER NOT NULL DEFAULT 0, -- consecutive, reset on success
    locked_until         TEXT,
    created_at           TEXT NOT NULL,
    last_sign_in_at      TEXT,
    demo                 INTEGER NOT NULL DEFAULT 0  -- the demo profile's auto-signed-in admin
);

CREATE TABLE operator_stores (
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    store_id    INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    PRIMARY KEY (operator_id, store_id)
) WITHOUT ROWID;
CREATE INDEX operator_stores_store ON operator_stores(store_id);

CREATE TABLE password_history (
    id            INTEGER PRIMARY KEY,
    operator_id   INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX password_history_operator ON password_history(operator_id, id);

CREATE TABLE recovery_codes (
    id          INTEGER PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,                       -- salted SHA-256 of an 80-bit code
    used_at     TEXT
);
CREATE INDEX recovery_codes_operator ON recovery_codes(operator_id);

CREATE TABLE setup_codes (
    operator_id INTEGER PRIMARY KEY REFERENCES operators(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,                       -- salted SHA-256 of an 80-bit code
    expires_at  TEXT NOT NULL
);

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,                       -- UTC, fixed-width, sortable
    actor_id    INTEGER,                             -- operators.id; no FK: entries outlive rows
    action      TEXT NOT NULL,
    object_type TEXT,
    object_id   TEXT,
    details     TEXT NOT NULL,                       -- canonical JSON, allow-listed keys only
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor_id, seq);
CREATE INDEX audit_log_action ON audit_log(action, seq);

-- The last entry removed by the retention purge: the chain continues from its hash.
CREATE TABLE audit_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);

-- Open only inside the purge's transaction.
CREATE TABLE audit_purge_gate (before TEXT NOT NULL);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_purge_gate g WHERE OLD.at < g.before)
     OR OLD.at >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-12 months')
BEGIN
    SELECT RAISE(ABORT, 'audit entries are kept at least 12 months');
END;

CREATE TRIGGER audit_anchor_forward BEFORE UPDATE ON audit_anchor
WHEN NEW.seq <= OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit anchor only moves forward');
END;

CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
BEGIN
    SELECT RAISE(ABORT, 'audit anchor cannot be removed');
END;
"""
