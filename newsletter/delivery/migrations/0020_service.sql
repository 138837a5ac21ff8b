-- The subscription service (`newsletter serve`) and `newsletter bounces import`.

-- When a confirmation message last went to an address: at most one an hour, shared by every serve worker.
CREATE TABLE confirmation_sends (
    email TEXT PRIMARY KEY,
    sent_at TEXT NOT NULL
);

-- One row per bounce or complaint report and address; `report` (the report's own Message-ID, or a digest of it)
-- makes importing the same mailbox twice count nothing twice. kind: hard, soft or complaint.
CREATE TABLE bounce_events (
    email TEXT NOT NULL,
    report TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hard', 'soft', 'complaint')),
    status TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (email, report)
);

CREATE INDEX bounce_events_by_time ON bounce_events (email, kind, at);
