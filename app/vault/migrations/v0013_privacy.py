"""The privacy engine (``app/privacy``, issue 14): purge runs, deletion requests, and
which threads have had their buyer PII erased.

No buyer PII here after a request is carried out: an open request names its subject
(an order id or a relay alias) until it is executed; then the alias is replaced by a
keyed hash (``alias-hash:…``) so the record proves what was erased without holding it.
"""

SQL = """
ALTER TABLE threads ADD COLUMN pii_purged_at TEXT;  -- when its buyer PII was erased
CREATE INDEX threads_unpurged ON threads(last_message_at) WHERE pii_purged_at IS NULL;

CREATE TABLE privacy_runs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('purge', 'erase')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    as_of        TEXT NOT NULL,             -- the moment the policy was applied for
    dry_run      INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'cancelled')),
    counts       TEXT NOT NULL DEFAULT '{}', -- JSON {kind: count}
    error        TEXT                        -- an exception type / plain words, no PII
);
CREATE INDEX privacy_runs_recent ON privacy_runs(started_at);

CREATE TABLE deletion_requests (
    id                  INTEGER PRIMARY KEY,
    source              TEXT NOT NULL CHECK (source IN ('amazon', 'seller', 'buyer')),
    subject_kind        TEXT NOT NULL CHECK (subject_kind IN ('order', 'alias')),
    subject             TEXT NOT NULL,       -- order id, alias (open), or alias-hash:… (done)
    store_id            INTEGER REFERENCES stores(id) ON DELETE SET NULL,
    received_at         TEXT NOT NULL,
    due_at              TEXT NOT NULL,
    including_messages  INTEGER NOT NULL DEFAULT 0,
    state               TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
    completed_at        TEXT,
    counts              TEXT,                -- JSON {kind: count} once done
    note                TEXT NOT NULL DEFAULT '',  -- the seller's own words (no buyer data)
    created_by          INTEGER REFERENCES operators(id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX deletion_requests_open ON deletion_requests(due_at) WHERE state = 'open';
"""
