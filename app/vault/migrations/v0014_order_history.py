"""Order history through Amazon's order reports (issue 15).

``orders.details_pending`` marks an order read from an order report: it lacks what only
the Orders API gives (packages, tracking, ship and delivery windows).  The regular sync
(or the single-order fetch, when the seller opens it or a buyer writes about it) fills
it in and clears the mark; a report never overwrites an order the Orders API wrote.

``history_loads`` is one store's history load (the window asked for, its state, counts);
``history_ranges`` its date ranges of at most 30 days, each with Amazon's report id once
requested, so a load resumes after a restart from the last finished range (and polls a
report already requested instead of asking for it again).  No buyer data here.
"""

SQL = """
ALTER TABLE orders ADD COLUMN details_pending INTEGER NOT NULL DEFAULT 0;

CREATE TABLE history_loads (
    store_id     INTEGER PRIMARY KEY REFERENCES stores(id) ON DELETE CASCADE,
    since        TEXT NOT NULL,              -- oldest purchase date asked for
    until        TEXT NOT NULL,              -- newest
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'cancelled', 'failed')),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    orders       INTEGER NOT NULL DEFAULT 0, -- orders stored from the reports
    error        TEXT                        -- the failure's title (plain words, no PII)
);

CREATE TABLE history_ranges (
    store_id     INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    range_start  TEXT NOT NULL,
    range_end    TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'requested', 'done', 'empty')),
    report_id    TEXT,                       -- Amazon's, once requested
    attempts     INTEGER NOT NULL DEFAULT 0, -- reports asked for (a FATAL one is asked again once)
    orders       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, range_start)
);
"""
