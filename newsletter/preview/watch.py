"""Watch the project's inputs (posts/, templates/, newsletter.toml) and report settled changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from newsletter.config import CONFIG_NAME

WATCHED_FOLDERS = ("posts", "templates")
_EDITOR_TEMP = ("~", ".swp", ".swx", ".tmp", ".part")


def is_input(root: Path, path: str) -> bool:
    """True when ``path`` is a build input: under posts/ or templates/, or the settings file.

    Editors' swap and backup files and hidden files are not inputs; neither
    is anything the build writes (public/, outbox/).
    """
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return False
    if parts == (CONFIG_NAME,):
        return True
    if len(parts) < 2 or parts[0] not in WATCHED_FOLDERS:
        return False
    name = parts[-1]
    return not (name.startswith((".", "#")) or name.endswith(_EDITOR_TEMP))


class Watcher:
    """A thread that calls ``on_change(paths)`` once changes have settled.

    ``watchfiles`` debounces: it yields once no change came for ``step_ms``,
    or after ``debounce_ms`` of changes at the latest, so an editor's save
    (write, rename, chmod) or a ``git checkout`` gives one rebuild, not ten.
    """

    def __init__(
        self,
        root: Path,
        on_change: Callable[[list[str]], None],
        debounce_ms: int = 200,
        step_ms: int = 50,
    ) -> None:
        self.root = root.resolve()
        self.on_change = on_change
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsletter-watch", daemon=True)

    def start(self) -> None:
        """Start watching (returns once the watcher is set up, or after two seconds)."""
        self._thread.start()
        self._ready.wait(2.0)

    def stop(self) -> None:
        """Stop watching and wait briefly for the thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        from watchfiles import watch  # imported here: only the preview needs it

        root = self.root

        def accept(_change: object, path: str) -> bool:
            return is_input(root, path)

        changes = watch(
            root,
            watch_filter=accept,
            debounce=self.debounce_ms,
            step=self.step_ms,
            stop_event=self._stop,
            yield_on_timeout=True,
            rust_timeout=100,
            raise_interrupt=False,
        )
        for batch in changes:
            self._ready.set()
            if batch and not self._stop.is_set():
                self.on_change(sorted({path for _change, path in batch}))
