"""``newsletter bounces import MBOX|MAILDIR``: reports from a mailbox -> suppressed addresses.

Each report is matched to a subscriber by the original message's
per-recipient Message-ID (which ``send`` makes from the week and the
address), else by the recipient it names, else by the original ``To``.
Hard bounces and complaints suppress at once; soft bounces once an address
has :data:`~newsletter.delivery.suppression.SOFT_LIMIT` within
:data:`~newsletter.delivery.suppression.SOFT_WINDOW`. Every report is
recorded once (by its own Message-ID), so importing a mailbox again changes
nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsletter import clock
from newsletter.config import load_settings
from newsletter.delivery import suppression
from newsletter.delivery.bounces import Report, parse_message, read_report
from newsletter.delivery.db import Database, connect
from newsletter.delivery.subscribers import SubscriberStore
from newsletter.delivery.tokens import load_secret
from newsletter.errors import NewsletterError, Problems

_DIGEST_ID = re.compile(r"^<digest-(\d{4}-W\d{2})\.([0-9a-f]+)@")


def digest_message_id(secret: bytes, list_id: str, week: str, address: str) -> str:
    """The Message-ID ``send`` gives one recipient's copy of a week (see delivery.message)."""
    mac = hmac.new(secret, f"message-id\n{week}\n{address}".encode(), hashlib.sha256).hexdigest()
    return f"<digest-{week}.{mac[:24]}@{list_id}>"


@dataclass
class ImportReport:
    """What an import found and did, for the user."""

    lines_: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "messages": 0,
            "reports": 0,
            "hard": 0,
            "soft": 0,
            "complaint": 0,
            "suppressed": 0,
            "unmatched": 0,
            "repeated": 0,
            "other": 0,
        }  # fmt: skip
    )

    def add(self, where: str, text: str) -> None:
        """One line about one message."""
        self.lines_.append(f"{where}: {text}")

    def lines(self) -> list[str]:
        """Every line, then the summary."""
        c = self.counts
        summary = (
            f"{c['messages']} messages, {c['reports']} reports: {c['hard']} hard bounces, {c['soft']} soft bounces, "
            f"{c['complaint']} complaints; {c['suppressed']} addresses suppressed, {c['unmatched']} not matched, "
            f"{c['repeated']} seen before, {c['other']} not a bounce or complaint."
        )
        return [*self.lines_, summary]


def read_mailbox(source: Path) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` of every message in an mbox file or a Maildir folder."""
    if source.is_dir():
        if not (source / "cur").is_dir() or not (source / "new").is_dir():
            raise NewsletterError(f"{source}: not a Maildir (no cur/ and new/ folders)")
        box: mailbox.Mailbox = mailbox.Maildir(source, factory=None, create=False)
        keys = sorted(box.keys())
        names = {key: f"{source.name}/{key}" for key in keys}
    elif source.is_file():
        box = mailbox.mbox(source, factory=None, create=False)
        keys = list(box.keys())
        names = {key: f"{source.name}:{number}" for number, key in enumerate(keys, start=1)}
    else:
        raise NewsletterError(f"{source}: no such mbox file or Maildir folder")
    try:
        for key in keys:
            yield names[key], box.get_bytes(key)
    finally:
        box.close()


class Matcher:
    """Finds the subscriber a report is about."""

    def __init__(self, db: Database, store: SubscriberStore, secret: bytes, list_id: str) -> None:
        self.db, self.store, self.secret, self.list_id = db, store, secret, list_id
        self._weeks: dict[str, dict[str, str]] = {}

    def by_message_id(self, message_id: str, candidates: list[str]) -> str | None:
        """The address whose copy of a digest had ``message_id``."""
        match = _DIGEST_ID.match(message_id)
        if match is None:
            return None
        week = match.group(1)
        for address in candidates:
            if address and hmac.compare_digest(digest_message_id(self.secret, self.list_id, week, address), message_id):
                return address
        if week not in self._weeks:  # forwarded mail: the report names another address; ask the journal
            rows = self.db.fetchall("SELECT email FROM deliveries WHERE week = ?", (week,))
            self._weeks[week] = {digest_message_id(self.secret, self.list_id, week, r[0]): r[0] for r in rows}
        return self._weeks[week].get(message_id)

    def match(self, report: Report, address: str, original: str) -> str | None:
        """The subscriber's address for one recipient of ``report``, or None."""
        candidates = [a for a in (address, original, *report.original_to) if a]
        if report.original_message_id:
            found = self.by_message_id(report.original_message_id, candidates)
            if found:
                return found
        for candidate in candidates:
            if self.store.get(candidate) is not None:
                return candidate
        return None


def import_bounces(project: Path, source: Path) -> ImportReport:
    """Read every message of ``source``, apply the bounces and complaints, return what happened."""
    problems = Problems(root=project)
    settings = load_settings(project, problems)
    problems.raise_if_errors()
    secret = load_secret(project)
    messages = list(read_mailbox(source))
    result = ImportReport()
    with connect(project, settings) as db:
        store = SubscriberStore(db)
        matcher = Matcher(db, store, secret, settings.list_id)
        for name, data in messages:
            result.counts["messages"] += 1
            report = read_report(parse_message(data), data)
            if report is None:
                result.counts["other"] += 1
                result.add(name, "not a bounce or complaint report (skipped)")
                continue
            result.counts["reports"] += 1
            _apply(db, matcher, name, report, result)
    return result


def _apply(db: Database, matcher: Matcher, name: str, report: Report, result: ImportReport) -> None:
    """Record one report's recipients and suppress whom it condemns."""
    when = report.received or clock.now()
    acted = False
    for recipient in report.recipients:
        if not recipient.kind:
            continue
        acted = True
        shown = recipient.address or "(address redacted)"
        what = f"{recipient.kind} {recipient.status}".strip() if recipient.kind != "complaint" else "complaint"
        email = matcher.match(report, recipient.address, recipient.original)
        if email is None:
            result.counts["unmatched"] += 1
            result.add(name, f"{what} for {shown}: no subscriber matched")
            continue
        if not suppression.record_bounce(db, email, report.report_id, recipient.kind, recipient.status, when):
            result.counts["repeated"] += 1
            result.add(name, f"{what} for {email}: seen before")
            continue
        result.counts[recipient.kind] += 1
        if recipient.kind == "soft":
            count = suppression.soft_bounces(db, email, when)
            if count < suppression.SOFT_LIMIT:
                result.add(name, f"{what} for {email}: soft bounce {count} of {suppression.SOFT_LIMIT} in 30 days")
                continue
        status = "complained" if recipient.kind == "complaint" else "bounced"
        changed = suppression.suppress(db, email, status)
        result.counts["suppressed"] += int(changed)
        result.add(name, f"{what} for {email}: {'marked ' + status if changed else 'already suppressed'}")
    if not acted:
        actions = ", ".join(sorted({r.action or r.status for r in report.recipients})) or "no recipients"
        result.add(name, f"{report.type} report with nothing to do ({actions})")
