"""``newsletter build`` with nothing to do, answered without importing the command line.

Typer and the command definitions take about a third of a build that
finds nothing changed (see :mod:`newsletter.stamp`). For the plain forms
of the command (``build``, ``-q``/``--quiet``, ``-C``/``--project DIR``,
in either place) :func:`quick_build` asks the stamp first; when the last
build is still up to date it prints what :func:`newsletter.cli.build`
prints and the program ends. Anything else (another option, no project,
a bad ``SOURCE_DATE_EPOCH``, something to build) is left to the command
line, which then reuses the stamp read here (``newsletter.build``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsletter.build import BuildResult

QUIET = ("-q", "--quiet")
PROJECT = ("-C", "--project")
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what click.echo removes when not writing to a terminal


def _options(argv: list[str]) -> tuple[str | None, bool] | None:
    """(the -C folder or None, quiet) of a plain ``build`` command line; None for any other."""
    args = argv[1:]
    folder: str | None = None
    quiet = False
    seen_build = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "build" and not seen_build:
            seen_build = True
        elif arg in QUIET and seen_build:
            quiet = True
        elif arg in PROJECT and folder is None and index + 1 < len(args) and args[index + 1][:1] not in ("", "-"):
            folder = args[index + 1]
            index += 1
        else:
            return None
        index += 1
    return (folder, quiet) if seen_build else None


def _project(folder: str | None) -> Path | None:
    """The project folder as the command line finds it (see newsletter.config.find_project)."""
    from newsletter.stamp import SETTINGS_FILE

    if folder is not None:
        return Path(folder)
    start = Path(".")
    here = start.absolute()
    found = next((f for f in (here, *here.parents) if (f / SETTINGS_FILE).is_file()), None)
    return None if found is None else start if found == here else found


def echo(text: str, err: bool = False) -> None:
    """One line, as ``typer.echo`` writes it."""
    stream = sys.stderr if err else sys.stdout
    if not stream.isatty():
        text = _ANSI.sub("", text)
    stream.write(text + "\n")
    stream.flush()


def count(number: int, noun: str) -> str:
    """``1 post``, ``2 posts``: a count with its noun in the right number."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def say_digest(result: BuildResult, quiet: bool) -> None:
    """One line on the week's digest. A week sent already is told by the build's notes, once."""
    week = result.week
    if week is None:
        return
    if result.digest_status == "no posts":
        echo(f"{week.label} ({week.period}) has no published posts: no digest written.")
    elif result.digest_status == "unchanged" and not quiet:
        echo(f"digest {week.label}: unchanged (outbox/{week.label}/)")
    elif not quiet and result.digest is not None:
        size = len(result.digest.eml)
        echo(
            f"digest {week.label}: {result.digest.subject!r}, {size:,} bytes ({result.digest_status}) "
            f"-> outbox/{week.label}/"
        )


def say_built(result: BuildResult, quiet: bool) -> None:
    """What ``newsletter build`` prints after its warnings: the digest, notes, the counts."""
    say_digest(result, quiet)
    for note in result.notes:
        echo(note)
    if not quiet:
        echo(
            f"built {count(result.published, 'post')}: {count(len(result.written), 'file')} written, "
            f"{result.unchanged} unchanged (public/, outbox/)."
        )


def quick_build(argv: list[str]) -> bool:
    """Answer a plain ``newsletter build`` that has nothing to do; False when the command line must run it."""
    options = _options(argv)
    if options is None:
        return False
    from newsletter import build, clock, stamp
    from newsletter.errors import NewsletterError

    try:
        clock.epoch()
    except NewsletterError:
        return False  # the command line says what is wrong with it
    root = _project(options[0])
    if root is None:
        return False
    arguments = ("last", True, True, True, False)  # newsletter.cli.build's
    last = stamp.last(root)
    result = build.nothing_to_do(root, arguments, last)
    if result is None:
        build.probed[os.fspath(root)] = (arguments, last)
        return False
    quiet = options[1]
    with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
        if not quiet:
            from newsletter.errors import group_warnings

            for line in group_warnings(result.warnings):
                echo(line, err=True)
        say_built(result, quiet)
    return True
