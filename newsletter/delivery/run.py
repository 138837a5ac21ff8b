"""`newsletter send`: check the week, prepare the run, send, and move the outbox week on.

Nothing is sent, and nothing is marked, before the week passed its checks,
the relay answered and accepted the login: a wrong password or an
unreachable host leaves the journal and the outbox as they were.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsletter import clock, outbox
from newsletter.config import load_settings
from newsletter.delivery import SEND_LOCK
from newsletter.delivery.db import connect
from newsletter.delivery.dkim import load_signer
from newsletter.delivery.journal import Journal
from newsletter.delivery.message import load_template
from newsletter.delivery.send import Job, SendError, Tally, deliver, render
from newsletter.delivery.smtp import FileBackend, SmtpBackend, check_smtp_settings
from newsletter.delivery.subscribers import SubscriberStore, normalize_email
from newsletter.delivery.tokens import load_secret
from newsletter.errors import Problems
from newsletter.weeks import posts_in_week, resolve_week


@dataclass
class SendResult:
    """The outcome of a run, for the summary."""

    week: str
    status: str  # the outbox status afterwards
    counts: dict[str, int]
    tally: Tally
    uncertain: int  # rows found `sending` and marked uncertain by this run
    seconds: float
    failures: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class DryRunResult:
    """What a real run would do."""

    week: str
    recipients: int  # subscribed addresses without a final row for this week
    counts: dict[str, int]
    example: Path | None


def _settings(root: Path) -> object:
    problems = Problems(root=root)
    settings = load_settings(root, problems)
    problems.raise_if_errors()
    return settings


def _week(root: Path, settings: object, spec: str) -> tuple[str, Path, str]:
    """``(label, outbox folder, status)`` of the week to send."""
    tz = settings.site.tz  # type: ignore[attr-defined]
    label = resolve_week(spec, clock.now(), tz).label
    folder = settings.outbox_dir / label  # type: ignore[attr-defined]
    meta = outbox.read_meta(settings.outbox_dir, label)  # type: ignore[attr-defined]
    if meta is None:
        raise SendError(f"{label} is not in the outbox: run 'newsletter build --week {label}' first")
    return label, folder, str(meta["status"])


def check_draft(root: Path, settings: object, label: str, folder: Path) -> None:
    """Refuse a draft with check errors, or one older than its posts (a post changed since it was built)."""
    from newsletter.checks import check_message
    from newsletter.load import load_project
    from newsletter.render.email import render_digest

    errors = [r for r in check_message(folder, settings, settings.public_dir) if r.level == "error"]  # type: ignore
    if errors:
        shown = "; ".join(str(e.message) for e in errors[:3])
        raise SendError(f"outbox/{label} has {len(errors)} check error(s): {shown} (see 'newsletter check')")
    project = load_project(root)
    week = resolve_week(label, project.now, settings.site.tz)  # type: ignore[attr-defined]
    posts = posts_in_week(project.published, week, settings.digest.order)  # type: ignore[attr-defined]
    fresh = render_digest(project, week, posts) if posts else None
    on_disk = [(folder / name).read_text(encoding="utf-8") for name in ("message.html", "message.txt")]
    if fresh is None or [fresh.html, fresh.text] != on_disk:
        raise SendError(
            f"outbox/{label} is older than its posts: run 'newsletter build --week {label}', look at it, then send"
        )


@contextlib.contextmanager
def send_lock(root: Path) -> Iterator[None]:
    """One ``send`` at a time per project: a second would take the first one's rows for leftovers."""
    path = root / SEND_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SendError("another 'newsletter send' is running in this project; wait for it to end") from None
        yield
    finally:
        os.close(fd)


def _job(root: Path, settings: object, label: str, folder: Path) -> Job:
    smtp = settings.smtp  # type: ignore[attr-defined]
    template = load_template(folder, settings, load_secret(root))
    return Job(
        root=root,
        settings=settings,
        week=label,
        sender=_envelope_sender(template.sender),
        template=template,
        signer=load_signer(root, settings),
        backend=lambda: SmtpBackend(settings, root),
        connections=smtp.connections,
        rate=float(smtp.rate),
        attempts=smtp.attempts,
        retry_delay=float(smtp.retry_delay),
    )


def _envelope_sender(from_header: str) -> str:
    from email.headerregistry import Address
    from email.utils import parseaddr

    address = parseaddr(from_header)[1]
    return str(Address(addr_spec=address)) if address else address


def send_week(
    root: Path,
    spec: str = "last",
    *,
    resend_uncertain: bool = False,
    on_start: Callable[[str, int], None] = lambda week, total: None,
    on_progress: Callable[[Tally], None] = lambda tally: None,
    on_wait: Callable[[float], None] = lambda seconds: None,
) -> SendResult:
    """Send a week's outbox message to every subscribed address that has not had it."""
    started = time.monotonic()
    settings = _settings(root)
    label, folder, status = _week(root, settings, spec)
    if status == "sent" and not resend_uncertain:
        raise SendError(f"{label} was sent already; nobody gets a week twice")
    if status == "draft":
        check_draft(root, settings, label, folder)
    job = _job(root, settings, label, folder)
    with send_lock(root), connect(root, settings) as db:
        # A sent week may still hold `uncertain` rows; --resend-uncertain sends to those (and nobody else).
        reopened = status == "sent"
        journal = Journal(db, label)
        if status == "draft" and not SubscriberStore(db).counts()["subscribed"]:
            raise SendError("nobody is subscribed: add addresses with 'newsletter subscribers import' or 'add'")
        probe = job.backend()
        probe.open()  # an unreachable relay or a refused login stops us here, before anything is marked
        probe.close()
        uncertain = journal.recover(resend_uncertain)
        if not reopened:
            journal.prepare()
            outbox.set_status(settings.outbox_dir, label, "sending")  # type: ignore[attr-defined]
        counts = journal.counts()
        on_start(label, counts["pending"] + counts["deferred"])
        tally = deliver(job, journal, on_progress, on_wait)
        counts = journal.counts()
        final = not (counts["pending"] or counts["deferred"] or counts["sending"])
        if final and not reopened:
            outbox.set_status(settings.outbox_dir, label, "sent")  # type: ignore[attr-defined]
        return SendResult(
            week=label,
            status="sent" if final else "sending",
            counts=counts,
            tally=tally,
            uncertain=uncertain,
            seconds=time.monotonic() - started,
            failures=journal.failures(),
        )


def dry_run(root: Path, spec: str = "last") -> DryRunResult:
    """Everything but the connection: checks, counts, and the first recipient's message written for a look."""
    settings = _settings(root)
    label, folder, status = _week(root, settings, spec)
    if status == "sent":
        raise SendError(f"{label} was sent already; nobody gets a week twice")
    if status == "draft":
        check_draft(root, settings, label, folder)
    job = _job(root, settings, label, folder)
    with connect(root, settings) as db:
        journal = Journal(db, label)
        counts = journal.counts()
        finished = db.fetchall(
            "SELECT email FROM deliveries WHERE week = ? AND state IN ('sent', 'failed', 'uncertain')", (label,)
        )
        done = {row[0] for row in finished}
        store = SubscriberStore(db)
        recipients, example = 0, None
        backend = FileBackend(folder / "dry-run", limit=1)
        for subscriber in store.iter_status("subscribed"):
            if subscriber.email in done:
                continue
            recipients += 1
            if example is None:
                data = render(job.template, job.signer, subscriber.email, subscriber.name)
                backend.send(job.sender, subscriber.email, data, lambda: True)
                example = backend.written[0]
    return DryRunResult(label, recipients, counts, example)


def test_send(root: Path, address: str, spec: str = "last") -> str:
    """Send the week's real message to one address: no journal row, the week stays as it is. Returns the week."""
    settings = _settings(root)
    label, folder, _ = _week(root, settings, spec)
    email = normalize_email(address)
    check_smtp_settings(settings, os.environ.get("NEWSLETTER_SMTP_PASSWORD", ""))
    job = _job(root, settings, label, folder)
    data = render(job.template, job.signer, email, "")
    backend = job.backend()
    backend.open()
    try:
        reply = backend.send(job.sender, email, data, lambda: True)
    finally:
        backend.close()
    if reply is None or not reply.accepted:
        raise SendError(f"the relay refused the test message to {email}: {reply}")
    return label
