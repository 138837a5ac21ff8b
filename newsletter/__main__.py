"""The program: ``python -m newsletter`` and the ``newsletter`` command.

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
        from newsletter.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)
    run()


if __name__ == "__main__":
    main()
