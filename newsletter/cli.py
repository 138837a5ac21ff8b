"""The command line: parse options, call the library, print, pick the exit code.

Exit status: 0 done, 1 bad input, 2 bad usage.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from newsletter import __version__
from newsletter.cli_fast import (
    check_project,
    count,
    echo,
    run_build,
    say_built,
    say_digest,
    say_failure,
    say_internal_error,
    say_warnings,
)

app = typer.Typer(
    name="newsletter",
    help="Markdown posts to RSS, Atom and JSON feeds, web pages and a weekly email digest.\n\n"
    "Example: newsletter build -C my-newsletter",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# typer prints an argument's Python type beside its name ("FILE <list[Path]>");
# the metavar (FILE, TITLE, DIR) says what to type, so show the type only without one.
_argument_type = getattr(typer.core.TyperArgument, "display_type_rich", None)


def _shown_type(self: typer.core.TyperArgument, ctx: object) -> str | None:
    return None if self.metavar or _argument_type is None else _argument_type(self, ctx)


if _argument_type is not None:
    typer.core.TyperArgument.display_type_rich = _shown_type  # type: ignore[method-assign,assignment]

PROJECT_HELP = "The project folder (holding newsletter.toml); default: the current folder."
Project = Annotated[
    Path,
    typer.Option("-C", "--project", metavar="DIR", help=PROJECT_HELP, show_default=False),
]


def _err(text: str) -> None:
    typer.echo(text, err=True)


def fail(exc: Exception, quiet: bool = False, last: str = "") -> NoReturn:
    """Print a library error the way users read it and exit (see :func:`newsletter.cli_fast.say_failure`)."""
    from newsletter.errors import NewsletterError

    if isinstance(exc, NewsletterError):
        raise typer.Exit(say_failure(exc, echo, quiet, last))
    raise exc


def _warnings(items: list, quiet: bool = False) -> None:  # type: ignore[type-arg]
    """Print warnings, one line per kind (see errors.group_warnings); none when ``quiet``."""
    say_warnings(items, echo, quiet)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"newsletter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    project: Annotated[
        Path | None,
        typer.Option("-C", "--project", metavar="DIR", help=PROJECT_HELP, show_default=False),
    ] = None,
) -> None:
    """Markdown posts to feeds, web pages and a weekly email digest."""
    from newsletter import clock
    from newsletter.errors import UsageError

    try:
        clock.epoch()  # a bad SOURCE_DATE_EPOCH is a usage error before anything runs
    except UsageError as exc:
        fail(exc)
    from newsletter.config import find_project

    # "newsletter -C DIR check" as "newsletter check -C DIR" (git's order); without -C, the project
    # is the folder holding newsletter.toml, here or above (as git finds its repository).
    found = project if project is not None else find_project(Path("."))
    if found is not None:
        ctx.default_map = _project_defaults(ctx.command, found, skip=() if project is not None else ("init",))


def _project_defaults(group: object, project: Path, skip: tuple[str, ...]) -> dict[str, object]:
    """A click default_map giving every command's (and subcommand's) ``project`` option this value."""
    defaults: dict[str, object] = {}
    for name, command in getattr(group, "commands", {}).items():
        if name in skip:
            continue
        if getattr(command, "commands", None) is not None:  # a group of subcommands
            defaults[name] = _project_defaults(command, project, skip)
        elif any(param.name == "project" for param in command.params):
            defaults[name] = {"project": project}
    return defaults


@app.command()
def init(
    folder: Annotated[
        Path | None,
        typer.Argument(metavar="DIR", help="Folder to create the project in (or -C DIR).", show_default=False),
    ] = None,
    title: Annotated[str, typer.Option(help="Name of the newsletter.")] = "My Newsletter",
    language: Annotated[str, typer.Option(help="Language of the newsletter (site.language), e.g. fr.")] = "en",
    project: Annotated[
        Path | None,
        typer.Option("-C", "--project", metavar="DIR", help=PROJECT_HELP, show_default=False),
    ] = None,
) -> None:
    """Scaffold a project: settings and a sample post.

    Example: newsletter init my-newsletter --title "Clinic News" --language fr
    """
    import shlex

    from newsletter.errors import NewsletterError, UsageError
    from newsletter.scaffold import init_project

    try:
        if folder is not None and project is not None and folder != project:
            raise UsageError(f"two project folders given ({folder} and -C {project}): give one")
        target = folder or project or Path(".")
        written = init_project(target, title, language)
    except NewsletterError as exc:
        fail(exc)
    for path in written:
        typer.echo(f"created {path}")
    where = shlex.quote(str(target))
    typer.echo(f"Next: edit {target / 'newsletter.toml'}, then run 'newsletter build -C {where} --week this'.")


@app.command()
def new(
    title: Annotated[str, typer.Argument(metavar="TITLE", help="Title of the post.")],
    project: Project = Path("."),
) -> None:
    """Create a draft post: posts/<date>-<slug>.md.

    Example: newsletter new "Stem cells and knee pain"
    """
    from newsletter import clock
    from newsletter.config import load_settings
    from newsletter.errors import NewsletterError, Problems
    from newsletter.scaffold import new_post

    problems = Problems(root=project)
    try:
        settings = load_settings(project, problems)
        problems.raise_if_errors()
        path = new_post(project, title, clock.now().astimezone(settings.site.tz))
    except NewsletterError as exc:
        fail(exc)
    typer.echo(f"created {path} (a draft: set 'draft: false' to publish it)")


@app.command("import")
def import_(
    sources: Annotated[
        list[Path],
        typer.Argument(
            metavar="SOURCE...",
            help="Files or folders: a WordPress export (.xml), a Jekyll, Hugo or Pelican site or its posts, "
            "Markdown files with front matter, plain-text posts (.txt).",
            show_default=False,
        ),
    ],
    date: Annotated[
        str | None,
        typer.Option("--date", "-d", metavar="DATE", help="Date of plain-text posts (and of posts that have none)."),
    ] = None,
    project: Project = Path("."),
) -> None:
    """Import posts: WordPress, Jekyll, Hugo, Pelican, Markdown, text.

    Posts that were not public at the source (drafts, private, scheduled,
    password-protected) become drafts here. Existing files are never
    overwritten; a post that cannot be imported is listed as path:line: reason.

    Example: newsletter import old-blog/ export.xml -C my-newsletter
    """
    from newsletter.errors import NewsletterError
    from newsletter.importers import run_import

    try:
        report = run_import(project, sources, date)
    except NewsletterError as exc:
        fail(exc)
    for item in report.not_imported:
        _err(str(item))
    for path in report.written:
        typer.echo(f"imported {path}")
    for line in report.summary():
        (_err if line.startswith(("warning", "not imported")) else typer.echo)(line)
    if report.not_imported:
        raise typer.Exit(1)


@app.command()
def check(
    project: Project = Path("."),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also show notes (sizes, client support).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Validate settings, posts and outbox drafts.

    Writes nothing; exit status 1 on any problem.

    Example: newsletter check -C my-newsletter
    """
    options = {name for name, yes in (("verbose", verbose), ("quiet", quiet)) if yes}
    code = check_project(project, options, echo)
    if code:
        raise typer.Exit(code)


Week = Annotated[
    str,
    typer.Option(
        "--week", "-w", metavar="WEEK", help="ISO week (2026-W47), 'last' (the last complete week) or 'this'."
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only problems.")]


def _run_build(project: Path, quiet: bool, **options: object):  # type: ignore[no-untyped-def]
    """Build as ``options`` say (see :func:`newsletter.cli_fast.run_build`); exit on a failure, said."""
    result, code = run_build(project, quiet, echo, **options)
    if result is None:
        raise typer.Exit(code)
    return result


@app.command()
def feed(project: Project = Path("."), quiet: Quiet = False) -> None:
    """Write the RSS, Atom and JSON feeds into public/.

    Example: newsletter feed -C my-newsletter
    """
    result = _run_build(project, quiet, digest=False, site=False)
    if not quiet:
        typer.echo(f"feeds: {count(len(result.written), 'file')} written, {result.unchanged} unchanged, in public/")


@app.command()
def digest(project: Project = Path("."), week: Week = "last", quiet: Quiet = False) -> None:
    """Write one weekly digest into the outbox.

    The week's folder holds message.eml, message.html, message.txt and meta.json.

    Example: newsletter digest --week 2026-W47
    """
    result = _run_build(project, quiet, week=week, feeds=False, site=False, sent_is_error=True)
    say_digest(result, quiet)
    for note in result.notes:
        typer.echo(note)


@app.command()
def build(project: Project = Path("."), week: Week = "last", quiet: Quiet = False) -> None:
    """The main job: feeds, the week's digest, web pages.

    Example: newsletter build --week 2026-W47
    """
    say_built(_run_build(project, quiet, week=week), quiet)


@app.command()
def outbox(project: Project = Path(".")) -> None:
    """List the outbox: week, status, posts, size, subject.

    Example: newsletter outbox -C my-newsletter
    """
    from newsletter.config import load_settings
    from newsletter.errors import NewsletterError, Problems
    from newsletter.outbox import list_messages

    problems = Problems(root=project)
    try:
        settings = load_settings(project, problems)
        problems.raise_if_errors()
        messages = list_messages(settings.outbox_dir)
    except NewsletterError as exc:
        fail(exc)
    if not messages:
        typer.echo("The outbox is empty: run 'newsletter digest' or 'newsletter build'.")
        return
    deliveries = _delivery_counts(project, settings)
    typer.echo(f"{'week':<9}  {'status':<7}  {'posts':>5}  {'html':>8}  {'eml':>8}  subject")
    for m in messages:
        typer.echo(
            f"{m.week:<9}  {m.status:<7}  {len(m.posts):>5}  {m.sizes.get('html', 0):>8,}  "
            f"{m.sizes.get('eml', 0):>8,}  {m.subject}"
        )
        counts = deliveries.get(m.week)
        if counts:
            typer.echo(f"{'':<9}  delivery: " + ", ".join(f"{n} {state}" for state, n in counts.items() if n))


def _delivery_counts(project: Path, settings) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    """The delivery journal's counts per week; none when no database was made yet (listing creates none)."""
    from newsletter.delivery.db import connect, database_setting
    from newsletter.delivery.journal import week_counts
    from newsletter.errors import NewsletterError

    target = database_setting(settings)
    if "://" not in target and not (project / target).is_file():
        return {}
    try:
        with connect(project, settings) as db:
            return week_counts(db)
    except NewsletterError as exc:
        _err(f"warning: delivery counts unavailable: {exc}")
        return {}


@app.command()
def preview(
    project: Project = Path("."),
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "-p",
            metavar="PORT",
            help="Port on 127.0.0.1 (1-65535). Default: 8025, or the next free one after it.",
            show_default=False,
            min=1,
            max=65535,
        ),
    ] = None,
    week: Week = "last",
) -> None:
    """Serve the outbox on 127.0.0.1 with live reload.

    Example: newsletter preview --port 8025
    """
    from newsletter.config import require_folder
    from newsletter.errors import NewsletterError
    from newsletter.preview import serve

    try:
        require_folder(project)
        serve(project, port=port or 0, week=week)
    except NewsletterError as exc:
        fail(exc)


@app.command()
def serve(
    project: Project = Path("."),
    host: Annotated[str, typer.Option("--host", metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", metavar="PORT", help="Port.", min=1, max=65535)] = 8080,
    proxy: Annotated[
        str,
        typer.Option("--proxy", metavar="ADDR", help="Trust X-Forwarded-For/-Proto from this proxy, e.g. 127.0.0.1."),
    ] = "",
) -> None:
    """Run the subscription service: unsubscribe and subscribe.

    One-click unsubscribe (RFC 8058) and double opt-in subscribe, on waitress.

    Example: newsletter serve --port 8080 --proxy 127.0.0.1
    """
    from newsletter.errors import NewsletterError
    from newsletter.service.server import serve as run_service

    try:
        run_service(project, host=host, port=port, proxy=proxy)
    except NewsletterError as exc:
        fail(exc)
    except OSError as exc:  # the port is taken, or a privileged port
        _err(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(1) from None


bounces_app = typer.Typer(
    help="Bounces and complaints: suppress the addresses they name.\n\n"
    "Example: newsletter bounces import ~/Maildir/.bounces",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(bounces_app, name="bounces")


@bounces_app.command("import")
def bounces_import(
    source: Annotated[Path, typer.Argument(metavar="MBOX|MAILDIR", help="An mbox file or a Maildir folder.")],
    project: Project = Path("."),
) -> None:
    """Read bounce reports (RFC 3464 DSNs) and complaints (ARF, RFC 5965); suppress the addresses they name.

    Hard bounces and complaints suppress at once, soft bounces after 3 in 30 days.
    Example: newsletter bounces import ~/Maildir/.bounces
    """
    from newsletter.delivery.bounce_import import import_bounces
    from newsletter.errors import NewsletterError

    try:
        report = import_bounces(project, source)
    except NewsletterError as exc:
        fail(exc)
    for line in report.lines():
        typer.echo(line)


def _register_delivery() -> None:
    """`subscribers` and `send` live in cli_send.py (imported here, after the shared helpers exist)."""
    from newsletter import cli_send

    app.add_typer(cli_send.subscribers_app, name="subscribers")
    app.command("send")(cli_send.send)


_register_delivery()


def main() -> None:
    """Entry point: run the app; never show a traceback to a user.

    Ctrl-C ends a command with "interrupted" and status 130 (typer turns
    the KeyboardInterrupt into that status on its own); the build has
    stopped its worker processes and removed what it staged by then.
    """
    code: int | str | None = 0
    try:
        app()
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # noqa: BLE001 - last line of defence
        code = say_internal_error(exc, echo)
    if code == 130:
        _err("interrupted")
    _leave(code)


def _leave(code: int | str | None) -> None:
    """Exit now, without the interpreter's teardown.

    Every file is written and closed by the time a command returns; what is
    left is freeing the loaded project object by object (50 ms at 10,000
    posts), which the system does at once.
    """
    if isinstance(code, str):  # as sys.exit("message") does
        _err(code)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (newsletter --help | head)
            stream.flush()
    os._exit(code or 0)
