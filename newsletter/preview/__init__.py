"""``newsletter preview``: build, serve the outbox on 127.0.0.1, rebuild on change, reload pages.

Like MkDocs' ``serve``, the preview calls the same :func:`newsletter.build.build`
as ``newsletter build``: once at the start, then whenever posts/, templates/
or newsletter.toml change (after the changes settle). Each time it builds
the chosen week (``last`` by default) and also this week's draft, so a post
being written this week shows up at once (see :mod:`newsletter.preview.state`).
Open pages reload themselves through server-sent events. A failed rebuild
keeps the last good build on show, with its ``path:line: message`` errors on
every page; a week already sent is shown as such, never as an error.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsletter.preview.server import PreviewServer
    from newsletter.preview.watch import Watcher

__all__ = ["Preview", "serve"]


def _say(text: str) -> None:
    print(text, flush=True)


class Preview:
    """A running preview: state, server and watcher. Also usable from tests and scripts."""

    def __init__(self, root: Path, week: str = "last", log: Callable[[str], None] = _say) -> None:
        from newsletter.preview.state import PreviewState

        self.state = PreviewState(root, week, log)
        self.server: PreviewServer | None = None
        self.watcher: Watcher | None = None
        self._thread: threading.Thread | None = None

    def open(self, port: int = 0, watch: bool = True) -> str:
        """Bind the server, build once and start watching; return the URL (not serving yet)."""
        from newsletter.config import CONFIG_NAME
        from newsletter.errors import NewsletterError
        from newsletter.preview.server import bind
        from newsletter.preview.watch import Watcher

        if not (self.state.root / CONFIG_NAME).is_file():  # not a project: nothing to preview
            raise NewsletterError(f"no {CONFIG_NAME} in {self.state.root}: run 'newsletter init' or pass -C DIR")
        self.server = bind(self.state, port)  # first: a taken port fails before any build
        self.state.rebuild()
        if watch:
            self.watcher = Watcher(self.state.root, self.state.on_change)
            self.watcher.start()
        return self.server.url

    def start(self, port: int = 0, watch: bool = True) -> str:
        """:meth:`open`, then serve in a background thread; return the URL."""
        url = self.open(port, watch)
        assert self.server is not None
        self._thread = threading.Thread(target=self.server.serve_forever, name="newsletter-preview", daemon=True)
        self._thread.start()
        return url

    def close(self) -> None:
        """Stop watching, end the event streams and close the server."""
        if self.watcher is not None:
            self.watcher.stop()
        self.state.stop()
        if self.server is not None:
            if self._thread is not None:
                self.server.shutdown()
                self._thread.join(timeout=2.0)
            self.server.server_close()


def serve(root: Path, port: int = 0, week: str = "last", log: Callable[[str], None] = _say) -> None:
    """Build, serve on 127.0.0.1 (8025 or the next free port; ``port`` when given), until Ctrl-C.

    Raises :class:`newsletter.errors.NewsletterError` when the port is taken
    or ``week`` is not a week; build errors are shown on the pages instead.
    """
    preview = Preview(root, week, log)
    try:
        url = preview.open(port)
        log(f"Serving the outbox of {preview.state.root} at {url} (Ctrl-C to stop)")
        assert preview.server is not None
        preview.server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        log("stopped.")
    finally:
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while closing
            preview.close()
        sys.stdout.flush()
