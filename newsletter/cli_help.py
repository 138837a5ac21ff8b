"""``newsletter --help`` without importing Typer: Typer's own output, kept in the package.

Importing Typer (and the click inside it) takes longer than starting
Python; ``--help`` would spend most of its time on it. So the text Typer
prints for ``newsletter --help`` is kept in ``newsletter/data/help.txt``,
written by Typer itself (``python -m newsletter.cli_help`` runs the
command line and keeps what it prints; tests/test_cli.py checks that the
file is what Typer prints now). Its first line is a fingerprint of what
the text comes from: cli.py, cli_send.py and Typer's version.

:func:`known_help` gives the kept text only when it is what Typer would
print in this run: the fingerprint holds, the program runs as
``newsletter`` (the name Usage shows), shell completion is not asked for,
and the terminal has at least 80 columns (click wraps help to
``min(columns, 80) - 2``, so the text is the same on any such terminal).
Otherwise Typer prints the help, as for every other command's ``--help``.

This module is imported before anything else: ``os`` and ``sys`` only.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HELP_FILE = os.path.join(HERE, "data", "help.txt")
SOURCES = ("cli.py", "cli_send.py")
MIN_COLUMNS = 80
PROGRAM = "newsletter"
# The command line run for the kept text: as the installed script, without this shortcut.
TYPER_HELP = "import sys; sys.argv[0] = 'newsletter'; from newsletter.cli import main; main()"


def _typer_init() -> str | None:
    """Typer's ``__init__.py`` (it holds ``__version__``), found as ``import typer`` would, without importing it."""
    for entry in sys.path:
        candidate = os.path.join(entry or os.curdir, "typer", "__init__.py")
        if os.path.isfile(candidate):
            return candidate
    return None


def fingerprint() -> str | None:
    """A checksum of the sources the main help comes from (None when Typer is not found)."""
    import zlib

    typer = _typer_init()
    if typer is None:
        return None
    crc = 0
    for path in [*(os.path.join(HERE, name) for name in SOURCES), typer]:
        with open(path, "rb") as handle:
            crc = zlib.crc32(handle.read(), crc)
    return f"{crc:08x}"


def _columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` gives it to click (COLUMNS first)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def known_help(argv: list[str]) -> bytes | None:
    """The kept output of ``newsletter --help`` when it is what Typer would print for ``argv``, else None."""
    if argv[1:] not in (["--help"], ["-h"]) or os.path.basename(argv[0]) != PROGRAM:
        return None
    main = sys.modules.get("__main__")
    if getattr(main, "__package__", None) not in (None, "") or "_NEWSLETTER_COMPLETE" in os.environ:
        return None
    if _columns() < MIN_COLUMNS:
        return None
    try:
        with open(HELP_FILE, "rb") as handle:
            first, text = handle.read().split(b"\n", 1)
    except (OSError, ValueError):
        return None
    if first.decode("ascii", "replace") != f"fingerprint {fingerprint()}":
        return None
    return text


def typer_help() -> bytes:
    """What Typer prints for ``newsletter --help`` on a terminal of 80 columns or more."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "_NEWSLETTER_COMPLETE"}
    env["COLUMNS"] = str(MIN_COLUMNS)
    done = subprocess.run([sys.executable, "-P", "-c", TYPER_HELP, "--help"], capture_output=True, env=env, check=True)
    return done.stdout


def kept_text() -> bytes:
    """The content of :data:`HELP_FILE`: the fingerprint line, then Typer's output."""
    text = typer_help()
    text.decode("ascii")  # the same bytes whatever the terminal's encoding
    return f"fingerprint {fingerprint()}\n".encode("ascii") + text


if __name__ == "__main__":
    with open(HELP_FILE, "wb") as out:
        out.write(kept_text())
    print(HELP_FILE)
