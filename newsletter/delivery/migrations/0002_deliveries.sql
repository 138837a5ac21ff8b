-- The delivery journal: one row per week and recipient, moved on before each step it describes.
CREATE TABLE deliveries (
    week TEXT NOT NULL,
    email TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'deferred', 'failed', 'uncertain')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    reply TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (week, email)
);

CREATE INDEX deliveries_by_state ON deliveries (week, state, email);
