"""What the subscription service and the bounce import write: unsubscribes, confirmation sends, bounces.

Small, single-purpose writes beside :mod:`newsletter.delivery.subscribers`,
each one statement (or one transaction) so that two ``serve`` workers and a
running ``send`` on one database never lose an update. The tables are made
by ``migrations/0020_service.sql``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from newsletter import clock
from newsletter.delivery.db import Database, utc_now_text
from newsletter.delivery.subscribers import normalize_email

# A soft bounce suppresses an address once it has this many within SOFT_WINDOW.
SOFT_LIMIT = 3
SOFT_WINDOW = timedelta(days=30)
# At most one confirmation message per address within this time.
CONFIRMATION_INTERVAL = timedelta(hours=1)


def unsubscribe(db: Database, email: str, *, source: str = "unsubscribe", status: str = "unsubscribed") -> bool:
    """Suppress ``email`` at once; return True when its status changed.

    Idempotent: an address already suppressed keeps its status (a complaint
    stays a complaint). An address not on the list is added suppressed, so
    that no later import can mail it.
    """
    key = normalize_email(email)
    now = utc_now_text(clock.now())
    changed = db.execute(
        "UPDATE subscribers SET status = ?, status_changed_at = ?"
        " WHERE email = ? AND status IN ('subscribed', 'pending')",
        (status, now, key),
    )
    if changed:
        return True
    inserted = db.execute(
        "INSERT INTO subscribers (email, name, status, source, consent_at, status_changed_at, created_at, attributes)"
        " VALUES (?, '', ?, ?, NULL, ?, ?, '{}') ON CONFLICT (email) DO NOTHING",
        (key, status, source, now, now),
    )
    return bool(inserted)


def suppress(db: Database, email: str, status: str) -> bool:
    """Mark ``email`` bounced or complained (a complaint also overrides an earlier unsubscribe or bounce).

    Return True when the status changed.
    """
    key = normalize_email(email)
    now = utc_now_text(clock.now())
    weaker = "('subscribed', 'pending')"
    if status == "complained":
        weaker = "('subscribed', 'pending', 'unsubscribed', 'bounced')"
    changed = db.execute(
        f"UPDATE subscribers SET status = ?, status_changed_at = ? WHERE email = ? AND status IN {weaker}",
        (status, now, key),
    )
    return bool(changed)


def claim_confirmation(db: Database, email: str, when: datetime | None = None) -> str | None:
    """Reserve the right to send ``email`` a confirmation message now.

    Return the reservation's time text, or None when one went out within
    :data:`CONFIRMATION_INTERVAL`. One statement, so two workers never both
    win.
    """
    key = normalize_email(email)
    now = when or clock.now()
    stamp = utc_now_text(now)
    cutoff = utc_now_text(now - CONFIRMATION_INTERVAL)
    claimed = db.execute(
        "INSERT INTO confirmation_sends (email, sent_at) VALUES (?, ?)"
        " ON CONFLICT (email) DO UPDATE SET sent_at = excluded.sent_at WHERE confirmation_sends.sent_at <= ?",
        (key, stamp, cutoff),
    )
    return stamp if claimed else None


def release_confirmation(db: Database, email: str, stamp: str) -> None:
    """Give back a reservation of :func:`claim_confirmation` whose message could not be sent."""
    db.execute("DELETE FROM confirmation_sends WHERE email = ? AND sent_at = ?", (normalize_email(email), stamp))


def record_bounce(db: Database, email: str, report: str, kind: str, status: str, when: datetime) -> bool:
    """Store one bounce or complaint of ``email``; False when this report was recorded before."""
    inserted = db.execute(
        "INSERT INTO bounce_events (email, report, kind, status, at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (email, report) DO NOTHING",
        (normalize_email(email), report, kind, status, utc_now_text(when)),
    )
    return bool(inserted)


def soft_bounces(db: Database, email: str, until: datetime) -> int:
    """How many soft bounces ``email`` had in the :data:`SOFT_WINDOW` before ``until``."""
    row = db.fetchone(
        "SELECT COUNT(*) FROM bounce_events WHERE email = ? AND kind = 'soft' AND at > ? AND at <= ?",
        (normalize_email(email), utc_now_text(until - SOFT_WINDOW), utc_now_text(until)),
    )
    return int(row[0]) if row else 0
