"""The delivery journal: one row per week and recipient, written before each step it describes.

    pending -> sending -> sent       the relay answered 250
                       -> failed     5xx (the reply kept), or too many 4xx
                       -> deferred   4xx: tried again after a back-off
    sending (left by a killed run) -> uncertain: the message may have gone out

``sending`` is committed before DATA, so after a crash a row is either
``pending``/``deferred`` (the message certainly did not go out: resend),
``sent``/``failed`` (done), or ``sending`` (we cannot know: it becomes
``uncertain`` and is not resent unless asked). Each write is its own
transaction; the conditions in the ``WHERE`` clauses make every move happen
once even if two workers race.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from newsletter.delivery.db import Database, utc_now_text

STATES = ("pending", "sending", "sent", "deferred", "failed", "uncertain")
FINAL = frozenset({"sent", "failed", "uncertain"})


def _now() -> str:
    # Wall time, not newsletter.clock: back-off must advance even under SOURCE_DATE_EPOCH.
    return utc_now_text(datetime.now(tz=UTC))


def _later(seconds: float) -> str:
    return utc_now_text(datetime.fromtimestamp(time.time() + seconds, tz=UTC))


@dataclass(frozen=True)
class Due:
    """A recipient to send to now."""

    email: str
    name: str
    attempts: int


class Journal:
    """The delivery rows of one week."""

    def __init__(self, db: Database, week: str) -> None:
        self.db = db
        self.week = week
        # The sending threads share this journal and its one connection: SQLite takes one writer at a
        # time anyway, and a lock here queues them without the busy handler's sleeps.
        self.lock = threading.Lock()

    def prepare(self) -> int:
        """Add a ``pending`` row for every subscribed address that has none yet; return how many were added."""
        with self.db.transaction():
            before = self._total()
            self.db.execute(
                "INSERT INTO deliveries (week, email, state, attempts, updated_at)"
                " SELECT ?, email, 'pending', 0, ? FROM subscribers WHERE status = 'subscribed'"
                " ON CONFLICT (week, email) DO NOTHING",
                (self.week, _now()),
            )
            return self._total() - before

    def _total(self) -> int:
        row = self.db.fetchone("SELECT COUNT(*) FROM deliveries WHERE week = ?", (self.week,))
        return int(row[0]) if row else 0

    def recover(self, resend_uncertain: bool = False) -> int:
        """Rows left ``sending`` by a killed run become ``uncertain``; return how many.

        With ``resend_uncertain``, every ``uncertain`` row (old and new)
        goes back to ``pending``.
        """
        changed = self.db.execute(
            "UPDATE deliveries SET state = 'uncertain', updated_at = ?,"
            " reply = 'the run sending it was interrupted: it may have been delivered'"
            " WHERE week = ? AND state = 'sending'",
            (_now(), self.week),
        )
        if resend_uncertain:
            self.db.execute(
                "UPDATE deliveries SET state = 'pending', updated_at = ? WHERE week = ? AND state = 'uncertain'",
                (_now(), self.week),
            )
        return changed

    def due(self, batch: int = 500) -> Iterator[Due]:
        """``pending`` rows, then ``deferred`` rows whose time has come, by address, in batches.

        Recipients who left the list since the rows were made are not
        returned: their rows are closed as ``failed`` (not sent).
        """
        with self.lock:
            self._close_unsubscribed()
        after = ""
        now = _now()
        while True:
            with self.lock:
                rows = self._due_batch(after, now, batch)
            for email, name, attempts in rows:
                yield Due(email, name or "", int(attempts))
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def _close_unsubscribed(self) -> None:
        self.db.execute(
            "UPDATE deliveries SET state = 'failed', updated_at = ?, reply = 'not sent: no longer subscribed'"
            " WHERE week = ? AND state IN ('pending', 'deferred') AND NOT EXISTS"
            " (SELECT 1 FROM subscribers s WHERE s.email = deliveries.email AND s.status = 'subscribed')",
            (_now(), self.week),
        )

    def _due_batch(self, after: str, now: str, batch: int) -> list[tuple[str, str, int]]:
        return self.db.fetchall(  # type: ignore[return-value]
            "SELECT d.email, s.name, d.attempts FROM deliveries d JOIN subscribers s ON s.email = d.email"
            " WHERE d.week = ? AND d.email > ?"
            " AND (d.state = 'pending' OR (d.state = 'deferred' AND d.next_attempt_at <= ?))"
            " ORDER BY d.email LIMIT ?",
            (self.week, after, now, batch),
        )

    def claim(self, email: str) -> bool:
        """``pending``/``deferred`` -> ``sending``, committed: call just before DATA. False when not claimable.

        Only while the address is still subscribed: someone who unsubscribed
        (or bounced) while the run was under way is not sent the week; the
        row is closed as ``failed`` ("not sent: no longer subscribed").
        """
        with self.lock:
            changed = self.db.execute(
                "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?"
                " WHERE week = ? AND email = ? AND state IN ('pending', 'deferred') AND EXISTS"
                " (SELECT 1 FROM subscribers s WHERE s.email = deliveries.email AND s.status = 'subscribed')",
                (_now(), self.week, email),
                durable=True,  # on disk before DATA: after a power cut too, a row is never less than it was
            )
            if changed != 1:
                self._close_unsubscribed()
        return changed == 1

    def finish(self, email: str, state: str, reply: str = "", retry_in: float | None = None) -> None:
        """``sending`` -> ``sent``, ``failed`` or ``deferred`` (due again in ``retry_in`` seconds)."""
        with self.lock:
            self._finish(email, state, reply, retry_in)

    def _finish(self, email: str, state: str, reply: str, retry_in: float | None) -> None:
        self.db.execute(
            "UPDATE deliveries SET state = ?, reply = ?, next_attempt_at = ?, updated_at = ?"
            " WHERE week = ? AND email = ? AND state = 'sending'",
            (state, reply[:1000], _later(retry_in) if retry_in is not None else None, _now(), self.week, email),
        )

    def refuse(self, email: str, state: str, reply: str, retry_in: float | None = None) -> None:
        """A recipient refused before DATA (at RCPT): ``pending``/``deferred`` -> ``failed``/``deferred``."""
        with self.lock:
            self._refuse(email, state, reply, retry_in)

    def _refuse(self, email: str, state: str, reply: str, retry_in: float | None) -> None:
        self.db.execute(
            "UPDATE deliveries SET state = ?, reply = ?, attempts = attempts + 1, next_attempt_at = ?, updated_at = ?"
            " WHERE week = ? AND email = ? AND state IN ('pending', 'deferred')",
            (state, reply[:1000], _later(retry_in) if retry_in is not None else None, _now(), self.week, email),
        )

    def counts(self) -> dict[str, int]:
        """Rows of this week in each state (every state listed)."""
        with self.lock:
            rows = self.db.fetchall(
                "SELECT state, COUNT(*) FROM deliveries WHERE week = ? GROUP BY state", (self.week,)
            )
        found = dict(rows)
        return {state: int(found.get(state, 0)) for state in STATES}

    def next_retry(self) -> float | None:
        """Seconds until the earliest ``deferred`` row is due (0 when one is due now), or None when none waits."""
        row = self.db.fetchone(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE week = ? AND state = 'deferred'", (self.week,)
        )
        if not row or row[0] is None:
            return None
        when = datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - time.time())

    def failures(self, limit: int = 20) -> list[tuple[str, str, str]]:
        """``(email, state, reply)`` of failed and uncertain rows, for the summary."""
        return [
            (str(e), str(s), str(r))
            for e, s, r in self.db.fetchall(
                "SELECT email, state, reply FROM deliveries WHERE week = ? AND state IN ('failed', 'uncertain')"
                " ORDER BY email LIMIT ?",
                (self.week, limit),
            )
        ]


def week_counts(db: Database) -> dict[str, dict[str, int]]:
    """``{week: {state: count}}`` for every week in the journal (for ``newsletter outbox``)."""
    result: dict[str, dict[str, int]] = {}
    for week, state, count in db.fetchall("SELECT week, state, COUNT(*) FROM deliveries GROUP BY week, state"):
        result.setdefault(str(week), dict.fromkeys(STATES, 0))[str(state)] = int(count)
    return result
