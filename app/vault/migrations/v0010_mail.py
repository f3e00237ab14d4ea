"""Buyer messages (``app/mail``): each store's mailbox, where each folder's fetch ended,
threads with their reply clock, messages, attachment metadata, and the search index.

Buyer PII (architecture.md): ``threads.alias``, ``threads.buyer_display_name``,
``messages.subject`` / ``messages.body`` and ``attachments.filename`` (issue 14 purges
them).  Passwords are in the keychain, never here.  Times are UTC ISO 8601 strings as
in ``orders`` (``orders_repo.to_db_time``).
"""

SQL = """
CREATE TABLE mail_accounts (
    store_id        INTEGER PRIMARY KEY REFERENCES stores(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('imap', 'maildir')),
    from_address    TEXT NOT NULL,
    imap_host       TEXT,
    imap_port       INTEGER,
    imap_security   TEXT CHECK (imap_security IN ('tls', 'starttls', 'plain')),
    imap_user       TEXT,
    inbox_folder    TEXT NOT NULL DEFAULT 'INBOX',
    sent_folder     TEXT,
    maildir_path    TEXT,
    smtp_host       TEXT,
    smtp_port       INTEGER,
    smtp_security   TEXT CHECK (smtp_security IN ('tls', 'starttls', 'plain')),
    smtp_user       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Where the last fetch of each folder ended.  A changed UIDVALIDITY restarts the
-- folder from UID 1; Message-IDs keep that from storing anything twice.
CREATE TABLE mail_folders (
    store_id        INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    folder          TEXT NOT NULL,
    uidvalidity     INTEGER,
    last_uid        INTEGER NOT NULL DEFAULT 0,
    last_fetch      TEXT,
    last_error      TEXT,
    PRIMARY KEY (store_id, folder)
) WITHOUT ROWID;

-- Maildir has no UIDs: the unique file names already looked at (imported or skipped).
CREATE TABLE mail_seen_keys (
    store_id        INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    folder          TEXT NOT NULL,
    key             TEXT NOT NULL,
    PRIMARY KEY (store_id, folder, key)
) WITHOUT ROWID;

-- A conversation with one buyer: store + relay alias (+ order id once known).
CREATE TABLE threads (
    id                  INTEGER PRIMARY KEY,
    store_id            INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    alias               TEXT NOT NULL,
    order_id            TEXT,
    marketplace_domain  TEXT,
    buyer_display_name  TEXT COLLATE NOCASE,  -- "lu" finds Lukas by index
    subject             TEXT,
    state               TEXT NOT NULL DEFAULT 'needs_reply'
                        CHECK (state IN ('needs_reply', 'draft', 'replied', 'no_response')),
    clock_start         TEXT,   -- the oldest buyer message not answered yet
    due_at              TEXT,   -- clock_start + 24 h; NULL when nothing is to answer
    last_buyer_at       TEXT,
    last_message_at     TEXT NOT NULL,
    message_count       INTEGER NOT NULL DEFAULT 0,
    unread              INTEGER NOT NULL DEFAULT 0,
    flagged             INTEGER NOT NULL DEFAULT 0,  -- messages flagged for review
    no_response_at      TEXT,   -- last "no response needed" (answers what came before)
    draft               TEXT,
    draft_updated_at    TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX threads_key ON threads(store_id, alias, coalesce(order_id, ''));
CREATE INDEX threads_due ON threads(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX threads_last ON threads(last_message_at);
-- The inbox's order (due soonest first, then newest) with what its filters read: the
-- thread list is read from this index alone, never sorted.
CREATE INDEX threads_inbox ON threads(
    due_at IS NULL, due_at, last_message_at DESC, id DESC, store_id, state, flagged
);
-- An order id typed whole, and the first letters of an order id or a buyer's name.
CREATE INDEX threads_order ON threads(order_id) WHERE order_id IS NOT NULL;
CREATE INDEX threads_name ON threads(buyer_display_name) WHERE buyer_display_name IS NOT NULL;

CREATE TABLE messages (
    id                      INTEGER PRIMARY KEY,
    thread_id               INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    store_id                INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    direction               TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    message_id              TEXT,           -- the email's Message-ID, without <>
    -- The Message-ID, or for a message without one a hash of what identifies it:
    -- a folder read again (UIDVALIDITY reset, Sent copy of our reply) stores nothing twice.
    dedup_key               TEXT NOT NULL,
    in_reply_to             TEXT,
    folder                  TEXT,           -- where it can be fetched again (attachments)
    source_key              TEXT,           -- IMAP "uidvalidity:uid"; Maildir file key
    received_at             TEXT NOT NULL,
    subject                 TEXT,
    body                    TEXT NOT NULL DEFAULT '',
    no_response_url         TEXT,
    flags                   TEXT,           -- JSON list of review reasons, NULL if none
    send_state              TEXT CHECK (send_state IN ('sending', 'sent', 'failed', 'uncertain')),
    send_error              TEXT,
    operator_id             INTEGER REFERENCES operators(id) ON DELETE SET NULL,
    created_at              TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_dedup ON messages(store_id, dedup_key);
CREATE INDEX messages_mid ON messages(store_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_thread ON messages(thread_id, received_at);
-- Search hits (message rowids) to their threads without reading the wide message rows.
CREATE INDEX messages_thread_of ON messages(id, thread_id);

CREATE TABLE attachments (
    message_rowid   INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    part            INTEGER NOT NULL,
    filename        TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL,
    PRIMARY KEY (message_rowid, part)
) WITHOUT ROWID;

-- Search as you type over subjects, buyer text and replies, and the order id, ASINs
-- and SKUs of the thread's order (rowid = messages.id).  secure-delete: a deleted or
-- purged text leaves no trace in the index's pages.  trigram, not unicode61 + prefix:
-- measured in bench/search.py (500,000 messages), it meets the 30 ms target for every
-- kind of query and finds substrings (mid order id, German compounds, Japanese).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    subject, body, refs, tokenize = 'trigram'
);
INSERT INTO messages_fts(messages_fts, rank) VALUES ('secure-delete', 1);
"""
