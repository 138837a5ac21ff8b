"""The program: ``python -m newsletter`` and the ``newsletter`` command.

``newsletter --help`` is answered from Typer's kept output when that holds
(see :mod:`newsletter.cli_help`), and plain ``newsletter build`` and
``newsletter check`` commands by :mod:`newsletter.cli_fast`, without
importing the command line.

Ctrl-C is taken over before anything is imported, so that even during
start-up it ends with "interrupted" (status 130), never a traceback. The
first one interrupts; later ones are ignored while the run cleans up (it
stops its worker processes and removes what it staged).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _interrupted(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    """Run the command line (newsletter.cli) with Ctrl-C handled."""
    signal.signal(signal.SIGINT, _interrupted)
    try:
        from newsletter.cli_help import known_help

        text = known_help(sys.argv)
        if text is not None:
            _print_and_leave(text)
        from newsletter.cli_fast import quick

        try:
            code = quick(sys.argv)  # a plain "newsletter build" or "newsletter check"
        except Exception:  # noqa: BLE001 - the command line runs it and says what is wrong
            code = None
        if code is not None:
            _print_and_leave(b"", code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)
    try:
        from newsletter.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)
    run()


def _print_and_leave(text: bytes, code: int = 0) -> None:
    """Write ``text`` to stdout and exit with ``code``, as cli.main leaves (a closed pipe is no error)."""
    try:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":
    main()
