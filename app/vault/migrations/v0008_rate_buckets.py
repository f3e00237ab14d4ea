"""The rate bucket each store's sync left behind (Amazon's is per seller, not per process).

A new process (the CLI after the app, the app after a CLI run) starts from what the last
run left, refilled for the time since, instead of a full burst Amazon has not got.
"""

SQL = """
CREATE TABLE rate_buckets (
    store_id   INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    operation  TEXT NOT NULL,                        -- searchOrders / getOrder
    tokens     REAL NOT NULL,                        -- left when saved
    rate       REAL NOT NULL,                        -- per second, as slowed by 429s
    advertised REAL NOT NULL,                        -- x-amzn-RateLimit-Limit
    saved_at   TEXT NOT NULL,                        -- UTC
    PRIMARY KEY (store_id, operation)
) WITHOUT ROWID;
"""
