"""Watch the project's inputs (posts/, templates/, newsletter.toml) and report settled changes."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

from newsletter.config import CONFIG_NAME

# Editors' and tools' temporary names: vim (.swp, 4913), emacs (#x#, .#x), backups (~, .bak, .orig),
# downloads (.part, .crdownload), GNU sed -i (sedXXXXXX), JetBrains (x___jb_tmp___).
_TEMP_SUFFIXES: tuple[str, ...] = ("~", ".swp", ".swo", ".swn", ".swx", ".tmp", ".temp", ".part", ".crdownload")
_TEMP_SUFFIXES += (".bak", ".orig", ".rej", ".kate-swp", "___jb_tmp___", "___jb_old___")
_TEMP_NAME = re.compile(r"^(?:sed[A-Za-z0-9]{6}|4913|tmp[\w-]*)$")
# A post may link to any file next to it (it is copied to public/media/), but such a file has an extension.
_ASSET_NAME = re.compile(r"^[^.].*\.[A-Za-z0-9]{1,5}$")


def is_temporary(name: str) -> bool:
    """True for hidden files and names that editors and tools use for swap, backup and temp files."""
    return name.startswith((".", "#")) or name.endswith(_TEMP_SUFFIXES) or bool(_TEMP_NAME.match(name))


def is_input(root: Path, path: str) -> bool:
    """True when ``path`` is a build input.

    Inputs are ``newsletter.toml``, any file under templates/, and under
    posts/ the ``*.md`` posts and the files posts may refer to (images and
    other files with an extension). Hidden files, editors' swap, backup and
    temp files (``.a.md.swp``, ``a.md~``, ``.#a.md``, ``posts/sedX1y2Z3``)
    and anything in a hidden folder are not inputs; neither is anything the
    build writes (public/, outbox/). A folder under posts/ (created, or gone
    with the posts in it) is one.
    """
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return False
    if parts == (CONFIG_NAME,):
        return True
    if len(parts) < 2 or any(part.startswith(".") for part in parts) or is_temporary(parts[-1]):
        return False
    if parts[0] == "templates":
        return True
    if parts[0] != "posts":
        return False
    if parts[-1].endswith(".md") or _ASSET_NAME.match(parts[-1]):
        return True
    # A folder of posts created, or moved away (then nothing is left to tell a folder from a file).
    return Path(path).is_dir() or not Path(path).exists()


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
