"""The command line: parse options, call the library, print, pick the exit code.

Exit status: 0 done, 1 bad input, 2 bad usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from newsletter import __version__

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

Project = Annotated[
    Path,
    typer.Option("-C", "--project", help="The project folder (holding newsletter.toml).", show_default="."),
]


def _err(text: str) -> None:
    typer.echo(text, err=True)


def fail(exc: Exception) -> NoReturn:
    """Print a library error the way users read it and exit."""
    from newsletter.errors import InputError, NewsletterError

    if isinstance(exc, InputError):
        for warning in exc.warnings:
            _err(str(warning))
        for error in exc.errors:
            _err(str(error))
        count = len(exc.errors)
        _err(f"{count} error{'s' if count != 1 else ''}; nothing was written.")
        raise typer.Exit(1)
    if isinstance(exc, NewsletterError):
        _err(f"error: {exc}")
        raise typer.Exit(exc.exit_code)
    raise exc


def _warnings(items: list) -> None:  # type: ignore[type-arg]
    for item in items:
        _err(str(item))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"newsletter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Markdown posts to feeds, web pages and a weekly email digest."""


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder to create the project in.")] = Path("."),
    title: Annotated[str, typer.Option(help="Name of the newsletter.")] = "My Newsletter",
) -> None:
    """Scaffold a new project: newsletter.toml and a sample post.

    Example: newsletter init my-newsletter --title "Clinic News"
    """
    from newsletter.errors import NewsletterError
    from newsletter.scaffold import init_project

    try:
        written = init_project(folder, title)
    except NewsletterError as exc:
        fail(exc)
    for path in written:
        typer.echo(f"created {path}")
    typer.echo(f"Next: edit {folder / 'newsletter.toml'}, then run 'newsletter build -C {folder}'.")


@app.command()
def new(
    title: Annotated[str, typer.Argument(help="Title of the post.")],
    project: Project = Path("."),
) -> None:
    """Create posts/<date>-<slug>.md from a template (as a draft).

    Example: newsletter new "Stem cells and knee pain"
    """
    from newsletter import clock
    from newsletter.config import load_settings
    from newsletter.errors import NewsletterError, Problems
    from newsletter.scaffold import new_post

    problems = Problems(root=project)
    settings = load_settings(project, problems)
    try:
        problems.raise_if_errors()
        path = new_post(project, title, clock.now().astimezone(settings.site.tz))
    except NewsletterError as exc:
        fail(exc)
    typer.echo(f"created {path} (a draft: set 'draft: false' to publish it)")


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Plain-text post files.", show_default=False)],
    date: Annotated[str, typer.Option("--date", "-d", help="Date of the post(s): YYYY-MM-DD [HH:MM].")],
    project: Project = Path("."),
) -> None:
    """Convert plain-text posts (title, 'Posted and filed under', references) to post files.

    Example: newsletter import article.txt --date "2026-11-18 09:30"
    """
    from newsletter.errors import NewsletterError
    from newsletter.importer import run_import

    try:
        written = run_import(project, files, date)
    except NewsletterError as exc:
        fail(exc)
    for path in written:
        typer.echo(f"imported {path}")


@app.command()
def check(project: Project = Path(".")) -> None:
    """Validate settings and every post; write nothing. Exit 1 on any problem.

    Example: newsletter check -C my-newsletter
    """
    from newsletter.errors import NewsletterError
    from newsletter.load import load_project

    try:
        loaded = load_project(project)
    except NewsletterError as exc:
        fail(exc)
    _warnings(loaded.warnings)
    published = len(loaded.published)
    typer.echo(f"ok: {len(loaded.posts)} posts ({published} published), no errors.")


def main() -> None:
    """Entry point: run the app; never show a traceback to a user."""
    try:
        app()
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last line of defence
        _err(f"newsletter: internal error: {type(exc).__name__}: {exc}")
        _err("This is a bug; please report it with the command you ran.")
        sys.exit(1)
