"""The preview's state: the last build's outcome, rebuilds, and what the outbox holds.

Rebuilds call :func:`newsletter.build.build`, the same function as
``newsletter build``. A failed rebuild writes nothing, so the outbox and
public/ keep the last good build, and its ``path:line: message`` errors are
kept here for every page to show.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsletter.checks import CheckResult, check_message
from newsletter.config import Settings, load_settings
from newsletter.errors import InputError, NewsletterError, Problems, UsageError
from newsletter.outbox import OutboxEntry, list_messages

MESSAGE_FILES = ("message.eml", "message.html", "message.txt", "meta.json")


def inside(base: Path, *parts: str) -> Path | None:
    """The existing file or folder ``base/parts`` when its real path stays inside ``base``.

    Symbolic links are followed and refused when they lead out of ``base``.
    """
    try:
        real_base = base.resolve(strict=True)
        real = real_base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    return real if real.is_relative_to(real_base) else None


@dataclass
class BuildStatus:
    """The outcome of the last build attempt."""

    generation: int = 0  # counts finished attempts; pages reload when it changes
    building: bool = False
    ok: bool = True
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    finished: str = ""  # local time of day
    seconds: float = 0.0


class PreviewState:
    """Builds the project and tells waiting pages when something changed."""

    def __init__(self, root: Path, week: str = "last", log: Callable[[str], None] = print) -> None:
        self.root = root.resolve()
        self.week = week
        self.log = log
        self.status = BuildStatus()
        self.changed = threading.Condition()
        self.stopping = False
        self._build_lock = threading.Lock()
        self._settings: Settings | None = None
        self._checks: dict[tuple[object, ...], list[CheckResult]] = {}

    # -- building

    def rebuild(self, reason: str = "") -> BuildStatus:
        """Run the build once; keep its errors when it fails. Raises only on bad usage (--week)."""
        from newsletter.build import build

        with self._build_lock:
            self._update(building=True)
            start = time.perf_counter()
            errors: list[str] = []
            notes: list[str] = []
            try:
                result = build(self.root, week=self.week)
            except UsageError:
                self._update(building=False)
                raise
            except InputError as exc:
                errors = [str(e) for e in exc.errors]
            except NewsletterError as exc:
                errors = [f"error: {exc}"]
            except Exception as exc:  # noqa: BLE001 - keep serving the last good build
                errors = [f"internal error: {type(exc).__name__}: {exc}"]
            else:
                self._settings = result.project.settings
                notes = list(result.notes)
                if result.digest_status == "no posts" and result.week is not None:
                    notes.append(f"{result.week.label} has no published posts: no digest written")
            seconds = time.perf_counter() - start
            self._update(
                building=False,
                ok=not errors,
                errors=tuple(errors),
                notes=tuple(notes) if not errors else self.status.notes,
                finished=time.strftime("%H:%M:%S"),
                seconds=seconds,
                generation=self.status.generation + 1,
            )
        why = f" ({reason})" if reason else ""
        if errors:
            self.log(f"build failed{why}; serving the last good build:")
            for line in errors:
                self.log(f"  {line}")
        else:
            self.log(f"built in {seconds:.2f} s{why}")
        return self.status

    def on_change(self, paths: list[str]) -> None:
        """The watcher's callback: rebuild, naming what changed."""
        names = [Path(p).relative_to(self.root).as_posix() if p.startswith(str(self.root)) else p for p in paths]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        self.rebuild(f"changed: {shown}")

    def _update(self, **fields: object) -> None:
        with self.changed:
            for name, value in fields.items():
                setattr(self.status, name, value)
            self.changed.notify_all()

    def stop(self) -> None:
        """Wake every waiting event stream so that it ends."""
        with self.changed:
            self.stopping = True
            self.changed.notify_all()

    # -- reading the outbox

    @property
    def settings(self) -> Settings:
        """The settings of the last good build (or as far as they load)."""
        if self._settings is None:
            self._settings = load_settings(self.root, Problems(root=self.root))
        return self._settings

    @property
    def outbox(self) -> Path | None:
        """The outbox folder when it lies inside the project."""
        found = inside(self.root, "outbox")
        return found if found is not None and found.is_dir() else None

    @property
    def public(self) -> Path | None:
        """The public/ folder when it lies inside the project."""
        found = inside(self.root, "public")
        return found if found is not None and found.is_dir() else None

    def messages(self) -> list[OutboxEntry]:
        """Outbox messages whose folder and files all stay inside the outbox."""
        outbox = self.outbox
        if outbox is None:
            return []
        try:
            entries = list_messages(outbox)
        except NewsletterError:
            return []
        return [e for e in entries if self.message(e.week) is not None]

    def message(self, week: str) -> OutboxEntry | None:
        """One message, or None when absent or when any of its files leads out of the outbox."""
        outbox = self.outbox
        folder = inside(outbox, week) if outbox is not None else None
        if folder is None or not folder.is_dir() or folder.parent != outbox:
            return None
        for name in MESSAGE_FILES:
            if (folder / name).exists() or (folder / name).is_symlink():
                target = inside(folder, name)
                if target is None or not target.is_file():
                    return None
        try:
            entries = list_messages(outbox)
        except NewsletterError:
            return None
        return next((e for e in entries if e.week == week), None)

    def read(self, entry: OutboxEntry, name: str) -> bytes | None:
        """The bytes of one of a message's files (never from outside the outbox)."""
        outbox = self.outbox
        path = inside(outbox, entry.week, name) if outbox is not None and name in MESSAGE_FILES else None
        if path is None or not path.is_file():
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def checks(self, entry: OutboxEntry) -> list[CheckResult]:
        """The message's checks, cached until a rebuild or a change of its files."""
        try:
            stamp = tuple((entry.folder / n).stat().st_mtime_ns for n in ("message.eml", "message.html"))
        except OSError:
            stamp = ()
        key = (entry.week, stamp, self.status.generation)
        if key not in self._checks:
            if len(self._checks) > 200:
                self._checks.clear()
            self._checks[key] = check_message(entry.folder, self.settings, self.public)
        return self._checks[key]
