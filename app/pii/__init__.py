"""PII detection and redaction: one engine for the log filter, drafting and the purge."""
