"""Amazon: store connection details, orders (non-PII only), sync cursors.

Secrets (LWA client secret, refresh token) are not here: they live in the keychain as
``store:<id>:lwa-client-secret`` and ``store:<id>:refresh-token``.
"""

SQL = """
ALTER TABLE stores ADD COLUMN region TEXT NOT NULL DEFAULT 'NA';
ALTER TABLE stores ADD COLUMN marketplace_ids TEXT NOT NULL DEFAULT '[]';   -- JSON list
ALTER TABLE stores ADD COLUMN lwa_client_id TEXT NOT NULL DEFAULT '';       -- not secret
ALTER TABLE stores ADD COLUMN sp_api_endpoint TEXT;                         -- NULL = Amazon
ALTER TABLE stores ADD COLUMN lwa_endpoint TEXT;                            -- NULL = Amazon
ALTER TABLE stores ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stores ADD COLUMN updated_at TEXT;

-- One row per order; only non-PII fields (no buyer, no recipient).
CREATE TABLE orders (
    id                  INTEGER PRIMARY KEY,
    order_id            TEXT NOT NULL UNIQUE,
    store_id            INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    marketplace_id      TEXT NOT NULL,
    marketplace_name    TEXT,
    status              TEXT NOT NULL,
    purchase_date       TEXT NOT NULL,
    last_updated        TEXT NOT NULL,
    fulfillment_channel TEXT,              -- AFN / MFN
    service_level       TEXT,
    ship_by_earliest    TEXT,
    ship_by_latest      TEXT,
    deliver_by_earliest TEXT,
    deliver_by_latest   TEXT,
    delivered_at        TEXT,
    total_amount        TEXT,              -- decimal as text (exact)
    currency            TEXT,
    total_value         REAL,              -- for sorting only
    is_prime            INTEGER NOT NULL DEFAULT 0,
    is_business         INTEGER NOT NULL DEFAULT 0,
    is_preorder         INTEGER NOT NULL DEFAULT 0,
    needs_shipping      INTEGER NOT NULL DEFAULT 0,
    delivery_state      TEXT NOT NULL,
    items_summary       TEXT NOT NULL DEFAULT '',
    item_count          INTEGER NOT NULL DEFAULT 0,
    synced_at           TEXT NOT NULL
);
-- (sort column, order_id) indexes cover the id-list queries of the orders view.
CREATE INDEX orders_purchase ON orders(purchase_date, order_id);
CREATE INDEX orders_store_purchase ON orders(store_id, purchase_date, order_id);
CREATE INDEX orders_status_purchase ON orders(status, purchase_date, order_id);
CREATE INDEX orders_ship_by ON orders(needs_shipping, ship_by_latest, order_id);
-- status rides along so "status filter, sorted by total" walks this index in order.
CREATE INDEX orders_total ON orders(total_value, order_id, status);

CREATE TABLE order_items (
    order_rowid   INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    order_item_id TEXT NOT NULL,
    asin          TEXT NOT NULL,
    sku           TEXT,
    title         TEXT,
    quantity      INTEGER NOT NULL,
    unit_price    TEXT,
    currency      TEXT,
    PRIMARY KEY (order_rowid, position)
) WITHOUT ROWID;
-- No sku/asin indexes: search goes through orders_fts (a case-insensitive LIKE could
-- not use them), and each one cost the sync a dirty index page per item written.

CREATE TABLE packages (
    order_rowid      INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    package_ref      TEXT NOT NULL,
    carrier          TEXT,
    tracking_number  TEXT,
    status           TEXT,
    shipping_service TEXT,
    ship_time        TEXT,
    PRIMARY KEY (order_rowid, package_ref)
) WITHOUT ROWID;

-- Search as you type: order id, SKUs, ASINs, titles (rowid = orders.id).
CREATE VIRTUAL TABLE orders_fts USING fts5(
    order_id, skus, asins, titles, tokenize = 'trigram'
);

-- Sync position per store and API.  ``cursor`` is the lastUpdatedAfter watermark of the
-- incremental sync; ``backfilled_to`` the oldest purchase date fully fetched;
-- ``page_token``/``window_*`` the page in progress, so a restart continues there.
CREATE TABLE sync_cursors (
    store_id        INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    api             TEXT NOT NULL,
    cursor          TEXT,
    backfilled_to   TEXT,
    window_kind     TEXT,
    window_start    TEXT,
    window_end      TEXT,
    page_token      TEXT,
    last_success    TEXT,
    last_error      TEXT,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (store_id, api)
) WITHOUT ROWID;
"""
