"""The subscriber store: one row per address, with its status and where it came from.

Statuses: ``subscribed`` (gets the digest), ``pending`` (asked, not yet
confirmed), ``unsubscribed``, ``bounced`` and ``complained`` (suppressed).
The one rule that protects people who left: nothing turns a suppressed
address back into ``subscribed`` or ``pending`` except
:meth:`SubscriberStore.confirm_resubscription`, which the subscription
service calls after the person confirmed again. Imports, ``add`` and
:meth:`SubscriberStore.set_status` all keep a suppressed address suppressed.

Every query goes through :mod:`newsletter.delivery.db`; the service and the
CLI use this module, never their own SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from newsletter import clock
from newsletter.characters import CONTROL_CHARS, LINE_BREAKS
from newsletter.delivery.db import Database, utc_now_text
from newsletter.errors import NewsletterError

STATUSES = ("subscribed", "pending", "unsubscribed", "bounced", "complained")
SUPPRESSED = frozenset({"unsubscribed", "bounced", "complained"})
ACTIVE = frozenset({"subscribed", "pending"})
_COLUMNS = "email, name, status, source, consent_at, status_changed_at, created_at, attributes"
# Kept in SQL so that a concurrent unsubscribe (the service) is never overwritten by an import.
_MERGED_STATUS = """CASE
    WHEN subscribers.status IN ('unsubscribed', 'bounced', 'complained')
         AND excluded.status IN ('subscribed', 'pending') THEN subscribers.status
    WHEN subscribers.status = 'subscribed' AND excluded.status = 'pending' THEN subscribers.status
    ELSE excluded.status END"""
_UPSERT = f"""INSERT INTO subscribers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (email) DO UPDATE SET
    status = {_MERGED_STATUS},
    status_changed_at = CASE WHEN ({_MERGED_STATUS}) <> subscribers.status
        THEN excluded.status_changed_at ELSE subscribers.status_changed_at END,
    name = CASE WHEN subscribers.name = '' THEN excluded.name ELSE subscribers.name END,
    source = CASE WHEN subscribers.source = '' THEN excluded.source ELSE subscribers.source END,
    consent_at = COALESCE(subscribers.consent_at, excluded.consent_at),
    attributes = CASE WHEN subscribers.attributes = '{{}}' THEN excluded.attributes ELSE subscribers.attributes END"""


class AddressError(NewsletterError):
    """An address or a name that cannot go into the store."""


class SuppressedError(NewsletterError):
    """The address unsubscribed, bounced or complained; only a confirmed re-subscription brings it back."""


@dataclass(frozen=True)
class Subscriber:
    """One row of the store."""

    email: str
    name: str = ""
    status: str = "subscribed"
    source: str = ""
    consent_at: str | None = None
    status_changed_at: str = ""
    created_at: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


def normalize_email(address: str) -> str:
    """The stored form of an address: validated (no DNS look-up), domain in ASCII, all lower case.

    Raises :class:`AddressError` with the validator's reason.
    """
    text = address.strip()
    if not text:
        raise AddressError("the address is empty")
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(f"not a valid address {text[:200]!r}: {exc}") from None
    return (result.ascii_email or result.normalized).lower()


def check_name(name: str) -> str:
    """A subscriber's name, stripped; :class:`AddressError` when it holds a line break or control character.

    Names go into each recipient's ``To`` header: a line break there would
    let a CSV cell add headers of its own.
    """
    if LINE_BREAKS.search(name):
        raise AddressError("the name holds a line break")
    bad = CONTROL_CHARS.search(name)
    if bad:
        raise AddressError(f"the name holds a control character (U+{ord(bad.group()):04X})")
    if len(name) > 200:
        raise AddressError("the name is longer than 200 characters")
    return name.strip()


def check_status(status: str) -> str:
    """``status`` when it is one of :data:`STATUSES`; else :class:`AddressError`."""
    if status not in STATUSES:
        raise AddressError(f"unknown status {status!r} (one of: {', '.join(STATUSES)})")
    return status


def _row(row: tuple[Any, ...]) -> Subscriber:
    email, name, status, source, consent_at, changed, created, attributes = row
    try:
        attrs = json.loads(attributes) if attributes else {}
    except json.JSONDecodeError:
        attrs = {}
    return Subscriber(
        email, name, status, source, consent_at, changed, created, attrs if isinstance(attrs, dict) else {}
    )


def _now_text() -> str:
    return utc_now_text(clock.now())


def time_text(when: datetime | str | None) -> str | None:
    """A consent time as stored (UTC ISO text); strings are kept as given by a trusted caller."""
    if when is None or isinstance(when, str):
        return when
    return utc_now_text(when)


class SubscriberStore:
    """Reads and writes subscribers in one :class:`~newsletter.delivery.db.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (normalised first), or None."""
        try:
            key = normalize_email(email)
        except AddressError:
            return None
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM subscribers WHERE email = ?", (key,))
        return None if row is None else _row(row)

    def add(
        self,
        email: str,
        name: str = "",
        *,
        status: str = "subscribed",
        source: str = "",
        consent_at: datetime | str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Subscriber:
        """Add an address, or merge into the existing row; return the row as stored.

        A suppressed address stays suppressed (see the module docstring); a
        new suppressing status (an unsubscribe list) always applies.
        """
        subscriber = Subscriber(
            normalize_email(email), check_name(name), check_status(status), source,
            time_text(consent_at), "", "", attributes or {},
        )  # fmt: skip
        self.add_many([subscriber])
        stored = self.get(subscriber.email)
        assert stored is not None
        return stored

    def add_many(self, subscribers: Iterable[Subscriber]) -> dict[str, int]:
        """Merge many checked rows in one transaction; return counts ``added``, ``updated``, ``kept``.

        ``kept`` counts rows whose status could not change (a suppressed
        address listed as subscribed). The rows must hold normalised
        addresses (:func:`normalize_email`) and valid statuses.
        """
        now = _now_text()
        rows = [
            (s.email, s.name, s.status, s.source, s.consent_at, now, now, json.dumps(s.attributes, ensure_ascii=False))
            for s in subscribers
        ]
        counts = {"added": 0, "updated": 0, "kept": 0}
        with self.db.transaction():
            existing = self._statuses([r[0] for r in rows])
            for email, _, status, *_ in rows:
                old = existing.get(email)
                if old is None:
                    counts["added"] += 1
                    existing[email] = status
                elif (old in SUPPRESSED and status in ACTIVE) or (old == "subscribed" and status == "pending"):
                    counts["kept"] += 1
                else:
                    counts["updated"] += 1
            self.db.executemany(_UPSERT, rows)
        return counts

    def _statuses(self, emails: list[str]) -> dict[str, str]:
        """The current status of those of ``emails`` already stored."""
        found: dict[str, str] = {}
        for start in range(0, len(emails), 500):
            chunk = emails[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            found.update(self.db.fetchall(f"SELECT email, status FROM subscribers WHERE email IN ({marks})", chunk))
        return found

    def set_status(self, email: str, status: str) -> Subscriber:
        """Change one address's status (unsubscribe, bounce, complaint, confirmation of a pending one).

        Raises :class:`SuppressedError` for a suppressed address asked to
        become ``subscribed`` or ``pending`` (use
        :meth:`confirm_resubscription`), :class:`AddressError` for an
        unknown one.
        """
        key = normalize_email(email)
        check_status(status)
        with self.db.transaction():
            current = self.get(key)
            if current is None:
                raise AddressError(f"{key} is not in the subscriber list")
            if current.status in SUPPRESSED and status in ACTIVE:
                raise SuppressedError(
                    f"{key} is {current.status}; only a confirmed re-subscription makes it {status} again"
                )
            if current.status != status:
                consent = ", consent_at = ?" if status == "subscribed" and current.consent_at is None else ""
                params: list[Any] = [status, _now_text()] + ([_now_text()] if consent else []) + [key]
                self.db.execute(f"UPDATE subscribers SET status = ?, status_changed_at = ?{consent} WHERE email = ?",
                                params)  # fmt: skip
        stored = self.get(key)
        assert stored is not None
        return stored

    def confirm_resubscription(
        self, email: str, *, source: str = "", consent_at: datetime | str | None = None, name: str | None = None
    ) -> Subscriber:
        """Make an address ``subscribed`` whatever its status, after the person confirmed (double opt-in).

        The only way back from ``unsubscribed``, ``bounced`` or
        ``complained``; records the new consent time.
        """
        key = normalize_email(email)
        consent = time_text(consent_at) or _now_text()
        with self.db.transaction():
            if self.get(key) is None:
                self.add_many([Subscriber(key, check_name(name or ""), "subscribed", source, consent)])
            else:
                self.db.execute(
                    "UPDATE subscribers SET status = 'subscribed', status_changed_at = ?, consent_at = ?,"
                    " source = CASE WHEN ? = '' THEN source ELSE ? END WHERE email = ?",
                    (_now_text(), consent, source, source, key),
                )
                if name:
                    self.db.execute("UPDATE subscribers SET name = ? WHERE email = ?", (check_name(name), key))
        stored = self.get(key)
        assert stored is not None
        return stored

    def iter_status(self, *statuses: str, batch: int = 1000) -> Iterator[Subscriber]:
        """Every subscriber with one of ``statuses`` (all when none given), by address, fetched in batches."""
        for status in statuses:
            check_status(status)
        wanted = statuses or STATUSES
        marks = ", ".join("?" * len(wanted))
        after = ""
        while True:
            rows = self.db.fetchall(
                f"SELECT {_COLUMNS} FROM subscribers WHERE status IN ({marks}) AND email > ? ORDER BY email LIMIT ?",
                (*wanted, after, batch),
            )
            for row in rows:
                yield _row(row)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def counts(self) -> dict[str, int]:
        """The number of addresses in each status (every status listed, zeros included)."""
        found = dict(self.db.fetchall("SELECT status, COUNT(*) FROM subscribers GROUP BY status"))
        return {status: int(found.get(status, 0)) for status in STATUSES}
