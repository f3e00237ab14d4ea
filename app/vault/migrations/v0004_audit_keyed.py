"""The audit log's in-file head: the last entry's seq and MAC, kept in the same
transaction as every append, so entries deleted from the end are told apart from an
older copy of the whole file (see app/audit.py).

``keyed_from`` is the first entry sealed with HMAC-SHA-256 under the audit key; entries
before it keep their plain SHA-256 chain (profiles made before this version).  NULL until
the first keyed entry is appended.  The head only moves forward and is never removed.
"""

SQL = """
CREATE TABLE audit_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    keyed_from INTEGER
);

INSERT INTO audit_head(id, seq, hash, keyed_from)
SELECT 1, seq, hash, NULL FROM (
    SELECT seq, hash FROM audit_log
    UNION ALL
    SELECT seq, hash FROM audit_anchor
) ORDER BY seq DESC LIMIT 1;

CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head
WHEN NEW.seq <= OLD.seq
     OR (OLD.keyed_from IS NOT NULL AND NEW.keyed_from IS NOT OLD.keyed_from)
BEGIN
    SELECT RAISE(ABORT, 'audit head only moves forward');
END;

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit head cannot be removed');
END;
"""
