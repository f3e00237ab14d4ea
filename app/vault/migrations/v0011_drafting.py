"""Reply drafting (``app/drafting``, issue 12): the seller's reply templates, the AI
providers they set up, and their knowledge base (tone of voice, policies).

No buyer PII here.  Providers' API keys live in the keychain as
``drafting:provider:<name>:api-key``, never in the DB.  The built-in "Templates"
provider and the starter templates ship with the app (``resources/templates``) and
have no rows.
"""

SQL = """
CREATE TABLE drafting_templates (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    intent      TEXT NOT NULL,
    language    TEXT NOT NULL,      -- "en-US", "de-DE", "fr", …
    body        TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',  -- JSON list of strings
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX drafting_templates_pick ON drafting_templates(intent, language);

CREATE TABLE drafting_providers (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind            TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic')),
    base_url        TEXT NOT NULL,
    model           TEXT NOT NULL,
    timeout_seconds REAL NOT NULL DEFAULT 60,
    extra           TEXT NOT NULL DEFAULT '{}',  -- JSON object of strings (api-version, …)
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- One row: the seller's tone of voice and policies, given to AI providers.
CREATE TABLE drafting_knowledge (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    tone        TEXT NOT NULL DEFAULT '',
    policies    TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL
);
"""
