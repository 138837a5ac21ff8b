"""The preview's state: the last build's outcome, rebuilds, and what the outbox holds.

Rebuilds call :func:`newsletter.build.build`, the same function as
``newsletter build``. A failed rebuild writes nothing, so the outbox and
public/ keep the last good build, and its ``path:line: message`` errors are
kept here for every page to show.

Each rebuild makes two calls: first this week's draft (the digest only;
``build(root, week="this", feeds=False, site=False)``, which writes nothing
while the week has no published posts), then the chosen week (``last`` by
default) with the whole build. So a post being written this week shows up
at once, and the whole build that follows publishes both messages' web
versions. The build cache makes the second call cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.checks import CheckResult, check_message
from newsletter.config import Settings, load_settings
from newsletter.errors import InputError, NewsletterError, Problems, UsageError
from newsletter.outbox import OutboxEntry, list_messages
from newsletter.weeks import parse_week

if TYPE_CHECKING:
    from newsletter.build import BuildResult

MESSAGE_FILES = ("message.eml", "message.html", "message.txt", "meta.json")


def _notes(results: list[BuildResult]) -> tuple[str, ...]:
    """The builds' notes, less "was sent already": a sent week is shown as its status, not a notice."""
    notes: list[str] = []
    for result in results:
        sent = f"{result.week.label} was sent" if result.digest_status == "sent" and result.week else None
        notes += [n for n in result.notes if not (sent and n.startswith(sent)) and n not in notes]
    return tuple(notes)


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


@dataclass(frozen=True)
class WeekBuild:
    """What the last good rebuild did with one week's digest."""

    label: str  # "2026-W47"
    role: str  # "last week", "this week", or "" for a week named by its label
    outcome: str  # build()'s digest_status: "written", "unchanged", "no posts" or "sent"

    @property
    def name(self) -> str:
        """``2026-W47 (last week)``."""
        return f"{self.label} ({self.role})" if self.role else self.label

    @property
    def live(self) -> bool:
        """True when each rebuild rewrites this week's message."""
        return self.outcome in ("written", "unchanged")


def describe_weeks(weeks: tuple[WeekBuild, ...]) -> str:
    """One line saying which weeks every rebuild rewrites, and why the others are left alone."""
    live = [w.name for w in weeks if w.live]
    parts = [f"Rebuilding {' and '.join(live)} on every change" if live else "No message to rebuild"]
    for week in weeks:
        if week.outcome == "sent":
            parts.append(f"{week.name} was sent and is left as it is")
        elif week.outcome == "no posts":
            parts.append(f"{week.name} has no published posts yet")
    return "; ".join(parts) + "."


@dataclass
class BuildStatus:
    """The outcome of the last build attempt."""

    generation: int = 0  # counts finished attempts; pages reload when it changes
    building: bool = False
    ok: bool = True
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    weeks: tuple[WeekBuild, ...] = ()  # this week's draft and the chosen week
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
        """Build this week's draft and the chosen week; keep the errors when that fails.

        Raises only on bad usage (a ``--week`` that is not a week).
        """
        if self.week not in ("last", "this"):
            parse_week(self.week, UTC)  # UsageError before anything is written
        with self._build_lock:
            before = self.status.weeks
            self._update(building=True)
            start = time.perf_counter()
            errors: list[str] = []
            try:
                results = self._build_weeks()
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
                self._settings = results[-1].project.settings
            seconds = time.perf_counter() - start
            self._update(
                building=False,
                ok=not errors,
                errors=tuple(errors),
                notes=_notes(results) if not errors else self.status.notes,
                weeks=self._weeks(results) if not errors else self.status.weeks,
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
            if self.status.weeks != before:
                self.log(describe_weeks(self.status.weeks))
        return self.status

    def _build_weeks(self) -> list[BuildResult]:
        """This week's draft (digest only), then the chosen week with the whole build.

        The draft comes first so that the whole build, which publishes every
        outbox message as a digest web page, includes its newest version.
        """
        from newsletter.build import build

        results = []
        if self.week != "this":
            results.append(build(self.root, week="this", feeds=False, site=False))
        results.append(build(self.root, week=self.week))
        return results

    def _weeks(self, results: list[BuildResult]) -> tuple[WeekBuild, ...]:
        """The chosen week first, then this week's draft when it is another week."""
        *draft, chosen = results
        this = draft[0].week.label if draft and draft[0].week is not None else None
        weeks: list[WeekBuild] = []
        if chosen.week is not None:
            role = {"last": "last week", "this": "this week"}.get(self.week, "")
            role = "this week" if chosen.week.label == this else role
            weeks.append(WeekBuild(chosen.week.label, role, chosen.digest_status))
        if this is not None and this not in {w.label for w in weeks}:
            weeks.append(WeekBuild(this, "this week", draft[0].digest_status))
        return tuple(weeks)

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

    def week_build(self, label: str) -> WeekBuild | None:
        """What rebuilds do with the week ``label``; None when they leave it alone."""
        return next((w for w in self.status.weeks if w.label == label), None)

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
