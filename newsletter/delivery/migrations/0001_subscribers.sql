-- One row per address. Times are UTC, ISO 8601 text ("2026-11-29T09:30:00Z"): the same on SQLite and PostgreSQL.
CREATE TABLE subscribers (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('subscribed', 'pending', 'unsubscribed', 'bounced', 'complained')),
    source TEXT NOT NULL DEFAULT '',
    consent_at TEXT,
    status_changed_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX subscribers_by_status ON subscribers (status, email);
