"""Base schema: settings and stores (extended by later migrations)."""

SQL = """
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,           -- JSON
    updated_at TEXT NOT NULL
);

-- A store is one SP-API seller account in one region; details come with order sync.
CREATE TABLE stores (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
"""
