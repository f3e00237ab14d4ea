"""Shipping labels (``app/fulfillment``, issue 13): shipment records, package presets,
each store's shipping defaults, label printers, and the opt-in reprint cache.

No buyer PII in plain text: a shipment is ids, carrier, service, tracking, cost and the
operator.  Label documents (the buyer's address) are never stored, except in
``label_cache`` when the seller turns the reprint cache on: there they are AES-GCM
ciphertext under a key kept in the keychain, expiring after at most 24 hours.
"""

SQL = """
CREATE TABLE shipments (
    id                  INTEGER PRIMARY KEY,
    store_id            INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    order_id            TEXT NOT NULL,
    state               TEXT NOT NULL
                        CHECK (state IN ('buying', 'bought', 'uncertain', 'voided')),
    shipment_id         TEXT,               -- Amazon's
    package_reference   TEXT,
    carrier_id          TEXT,
    carrier             TEXT,
    service             TEXT,
    tracking_id         TEXT,
    cost_amount         TEXT,               -- Decimal as text
    cost_currency       TEXT,
    label_format        TEXT NOT NULL,
    dpi                 INTEGER,
    preset              TEXT,               -- the package preset's name, if one was used
    operator_id         INTEGER,            -- NULL: the system
    created_at          TEXT NOT NULL,
    bought_at           TEXT,
    voided_at           TEXT,
    printed             INTEGER NOT NULL DEFAULT 0,
    tracking_status     TEXT,
    delivered_at        TEXT,
    tracking_checked_at TEXT
);
CREATE INDEX shipments_order ON shipments(order_id);
-- Not unique: recording a label Amazon sold must never fail on what Amazon sent.
CREATE INDEX shipments_amazon_id ON shipments(shipment_id) WHERE shipment_id IS NOT NULL;
-- Never two live labels for one order unless the seller asked for another one: the
-- service checks; this index keeps two purchases from starting at the same time.
CREATE UNIQUE INDEX shipments_one_buying ON shipments(order_id) WHERE state = 'buying';

CREATE TABLE package_presets (
    id              INTEGER PRIMARY KEY,
    store_id        INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    sku             TEXT,                   -- NULL: the store's default package
    length          TEXT NOT NULL,
    width           TEXT NOT NULL,
    height          TEXT NOT NULL,
    dimension_unit  TEXT NOT NULL CHECK (dimension_unit IN ('INCH', 'CENTIMETER')),
    weight          TEXT NOT NULL,
    weight_unit     TEXT NOT NULL CHECK (weight_unit IN ('POUND', 'OUNCE', 'KILOGRAM', 'GRAM')),
    updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX package_presets_name ON package_presets(store_id, name COLLATE NOCASE);
CREATE UNIQUE INDEX package_presets_sku ON package_presets(store_id, sku) WHERE sku IS NOT NULL;
CREATE UNIQUE INDEX package_presets_default ON package_presets(store_id) WHERE sku IS NULL;

CREATE TABLE shipping_defaults (
    store_id        INTEGER PRIMARY KEY REFERENCES stores(id) ON DELETE CASCADE,
    ship_from       TEXT,                   -- JSON object: the seller's address
    label_format    TEXT NOT NULL DEFAULT 'PDF' CHECK (label_format IN ('PDF', 'PNG', 'ZPL')),
    dpi             INTEGER,
    packing_slip    INTEGER NOT NULL DEFAULT 0,
    slip_shows_name INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);

-- Printers the seller set up for labels on this computer's profile: CUPS queues
-- (kind 'cups', address NULL) and thermal printers on the network (kind 'zpl_tcp',
-- address "host:port"), each with its print preset (JSON).
CREATE TABLE label_printers (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('cups', 'zpl_tcp')),
    address     TEXT,
    settings    TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL
);
-- The printer last used for each label format.
CREATE TABLE label_printer_last (
    label_format TEXT PRIMARY KEY,
    printer      TEXT NOT NULL
);

-- The opt-in reprint cache (off by default): AES-GCM ciphertext, key in the keychain.
CREATE TABLE label_cache (
    shipment    INTEGER NOT NULL REFERENCES shipments(id) ON DELETE CASCADE,
    doc_index   INTEGER NOT NULL,
    doc_type    TEXT NOT NULL,
    doc_format  TEXT NOT NULL,
    dpi         INTEGER,
    nonce       BLOB NOT NULL,
    ciphertext  BLOB NOT NULL,
    expires_at  TEXT NOT NULL,
    PRIMARY KEY (shipment, doc_index)
);
CREATE INDEX label_cache_expiry ON label_cache(expires_at);
"""
