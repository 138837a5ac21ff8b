"""The command line of delivery: `newsletter subscribers ...` and `newsletter send`.

Kept beside cli.py (which registers these commands) so that the main command
file stays a list of the publishing commands; same rules: parse, call the
library, print, pick the exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from newsletter.cli import Project, Quiet, Week, _err, _warnings, fail
from newsletter.cli_fast import count as _count

subscribers_app = typer.Typer(
    help="The subscriber list: import, export, list, add, remove.\n\n"
    "Example: newsletter subscribers import members.csv",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _open(project: Path):  # type: ignore[no-untyped-def]
    """The project's settings and its subscriber database."""
    from newsletter.config import load_settings
    from newsletter.delivery.db import connect
    from newsletter.errors import Problems

    problems = Problems(root=project)
    settings = load_settings(project, problems)
    problems.raise_if_errors()
    _warnings(problems.warnings)
    return settings, connect(project, settings)


FORMAT_HELP = (
    "CSV format: auto (from the header row), listmonk (email,name,attributes,status), mailchimp "
    "(Email Address,First Name,Last Name,...; its unsubscribed and cleaned exports too), buttondown "
    "(email,...,subscriber_type), or plain (email and optional name, status columns)."
)


@subscribers_app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="A CSV export.", show_default=False)],
    project: Project = Path("."),
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "auto",
) -> None:
    """Add subscribers from listmonk, Mailchimp or Buttondown CSV.

    Header names are matched without regard to case. An address that
    unsubscribed, bounced or complained stays so, whatever the file says.
    Any bad row stops the import: nothing is written.

    Example: newsletter subscribers import subscribed_members_export.csv
    """
    from newsletter.delivery.csvfile import FORMATS, read_subscribers
    from newsletter.delivery.subscribers import SubscriberStore
    from newsletter.errors import NewsletterError, Problems, UsageError

    try:
        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise NewsletterError(f"cannot read {file}: {exc.strerror}") from None
        problems = Problems()
        rows = read_subscribers(file, data, problems, fmt)
        problems.raise_if_errors()
        _warnings(problems.warnings)
        _, db = _open(project)
        with db:
            counts = SubscriberStore(db).add_many(rows)
    except NewsletterError as exc:
        fail(exc)
    typer.echo(
        f"{file}: {_count(len(rows), 'row')}: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['kept']} kept as they were (unsubscribed, bounced or complained stay so)."
    )


@subscribers_app.command("export")
def export_csv(
    file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Where to write; default: standard output.")
    ] = None,
    project: Project = Path("."),
) -> None:
    """Write every subscriber, with status, source and times, as CSV.

    Example: newsletter subscribers export backup.csv
    """
    import io

    from newsletter.delivery.csvfile import write_subscribers
    from newsletter.delivery.subscribers import SubscriberStore
    from newsletter.errors import NewsletterError
    from newsletter.write import write_atomic

    try:
        _, db = _open(project)
        with db:
            rows = SubscriberStore(db).iter_status()
            if file is None:
                write_subscribers(sys.stdout, rows)
                return
            buffer = io.StringIO()
            count = write_subscribers(buffer, rows)
        write_atomic(file, buffer.getvalue())
    except NewsletterError as exc:
        fail(exc)
    typer.echo(f"wrote {_count(count, 'subscriber')} to {file}", err=True)


@subscribers_app.command("list")
def list_counts(project: Project = Path(".")) -> None:
    """Show how many addresses are in each status.

    Example: newsletter subscribers list
    """
    from newsletter.delivery.subscribers import SubscriberStore
    from newsletter.errors import NewsletterError

    try:
        _, db = _open(project)
        with db:
            counts = SubscriberStore(db).counts()
    except NewsletterError as exc:
        fail(exc)
    for status, number in counts.items():
        typer.echo(f"{status:<13} {number:>8}")
    typer.echo(f"{'total':<13} {sum(counts.values()):>8}")


@subscribers_app.command("add")
def add(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="The person's name (used in To).")] = "",
    project: Project = Path("."),
) -> None:
    """Add one address as subscribed (one that left stays unsubscribed).

    Example: newsletter subscribers add ada@example.org --name "Ada Lovelace"
    """
    from newsletter.delivery.subscribers import SubscriberStore
    from newsletter.errors import NewsletterError

    try:
        _, db = _open(project)
        with db:
            row = SubscriberStore(db).add(email, name, source="cli")
    except NewsletterError as exc:
        fail(exc)
    if row.status == "subscribed":
        typer.echo(f"{row.email}: subscribed")
    else:
        _err(f"{row.email} is {row.status}: left as it is (only the person can subscribe again)")


@subscribers_app.command("remove")
def remove(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The address.", show_default=False)],
    project: Project = Path("."),
) -> None:
    """Mark an address unsubscribed (kept, so never mailed again).

    Example: newsletter subscribers remove ada@example.org
    """
    from newsletter.delivery.subscribers import SubscriberStore
    from newsletter.errors import NewsletterError

    try:
        _, db = _open(project)
        with db:
            row = SubscriberStore(db).set_status(email, "unsubscribed")
    except NewsletterError as exc:
        fail(exc)
    typer.echo(f"{row.email}: unsubscribed")


class _Bar:
    """sent/failed/deferred on one line of a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.total = 0
        self.last = ""

    def start(self, week: str, total: int) -> None:
        self.total = total
        if self.enabled:
            _err(f"sending {week} to {_count(total, 'recipient')}")

    def show(self, tally) -> None:  # type: ignore[no-untyped-def]
        if not self.enabled or not self.total:
            return
        done = tally.sent + tally.failed
        width = 30
        filled = min(width, done * width // self.total)
        line = (
            f"\r[{'#' * filled:<{width}}] {done}/{self.total}  "
            f"sent {tally.sent}  failed {tally.failed}  deferred {tally.deferred}"
        )
        if line != self.last:
            self.last = line
            sys.stderr.write(line)
            sys.stderr.flush()

    def wait(self, seconds: float) -> None:
        if self.enabled:
            sys.stderr.write(f"\nwaiting {seconds:.0f} s to retry deferred recipients…\n")
            sys.stderr.flush()

    def end(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\n")


def send(
    project: Project = Path("."),
    week: Week = "last",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Everything but the connection.")] = False,
    to: Annotated[
        str | None, typer.Option("--to", metavar="ADDRESS", help="Send a test to this address only (no record).")
    ] = None,
    resend_uncertain: Annotated[
        bool,
        typer.Option("--resend-uncertain", help="Send again to recipients a killed run may or may not have reached."),
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Send the week's outbox message to every subscriber, once.

    Resumes where a stopped run ended; the relay is [smtp] in newsletter.toml,
    the password comes from NEWSLETTER_SMTP_PASSWORD.

    Example: newsletter send --week 2026-W47 --dry-run
    """
    from newsletter.delivery import run
    from newsletter.errors import NewsletterError, UsageError

    try:
        if dry_run and to:
            raise UsageError("give --dry-run or --to, not both")
        if to is not None:
            label = run.test_send(project, to, week)
            typer.echo(f"sent a test of {label} to {to}; no record kept, the week is unchanged")
            return
        if dry_run:
            dry = run.dry_run(project, week)
            counts = ", ".join(f"{n} {s}" for s, n in dry.counts.items() if n) or "none yet"
            typer.echo(f"{dry.week}: would send to {_count(dry.recipients, 'recipient')} (journal: {counts})")
            if dry.example is not None:
                typer.echo(f"the first recipient's message: {dry.example}")
            return
        bar = _Bar(not quiet and sys.stderr.isatty())
        try:
            result = run.send_week(
                project, week, resend_uncertain=resend_uncertain,
                on_start=bar.start, on_progress=bar.show, on_wait=bar.wait,
            )  # fmt: skip
        finally:
            bar.end()
    except NewsletterError as exc:
        fail(exc)
    _summary(result, quiet)


def _summary(result, quiet: bool) -> None:  # type: ignore[no-untyped-def]
    counts = result.counts
    rate = result.tally.sent / result.seconds if result.seconds > 0 else 0.0
    if result.uncertain:
        _err(
            f"{_count(result.uncertain, 'recipient')} left 'sending' by an interrupted run marked uncertain "
            "(not resent; --resend-uncertain sends to them again)"
        )
    for email, state, reply in result.failures:
        if not quiet:
            _err(f"{state}: {email}: {reply}")
    typer.echo(
        f"{result.week}: {counts['sent']} sent, {counts['failed']} failed, {counts['uncertain']} uncertain"
        f"{', ' + str(counts['deferred']) + ' deferred' if counts['deferred'] else ''}"
        f" ({result.tally.sent} in this run, {rate:.0f}/s); the week is {result.status}."
    )
    if result.status != "sent":
        _err(f"not every recipient has a final state yet: run 'newsletter send --week {result.week}' again")
        raise typer.Exit(1)
