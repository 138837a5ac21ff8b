"""Source errors: every problem carries the file and line it comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class SourceError:
    """One problem in one input file, shown as ``path:line: message``."""

    path: str
    line: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        prefix = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}: {prefix}{self.message}"


def _below(text: str, prefix: str) -> str | None:
    """``text`` without ``prefix`` when it names a file below it plainly (no ``..``), else None."""
    if text.startswith(prefix) and not text.startswith("/", len(prefix)) and "/.." not in "/" + text:
        return text[len(prefix) :]
    return None


@dataclass
class Problems:
    """Collects every problem of one run so that all are reported at once."""

    root: Path | None = None
    items: list[SourceError] = field(default_factory=list)

    def display(self, path: Path | str) -> str:
        """Return ``path`` as the user should see it: relative to the project."""
        text = str(path)
        if self.root is not None:
            shown = _below(text, self._prefix())  # the common case, as plain strings
            if shown is not None:
                return shown
        return self._resolved(path)

    def display_all(self, paths: list[str]) -> dict[str, str]:
        """:meth:`display` of each path (a string): the project's prefix worked out once, not once a path."""
        if self.root is None:
            return {path: self.display(path) for path in paths}
        prefix = self._prefix()
        shown = {path: _below(path, prefix) for path in paths}
        return {path: self._resolved(path) if text is None else text for path, text in shown.items()}

    def _prefix(self) -> str:
        top = str(self.root)
        return "" if top == "." else top.rstrip("/") + "/"

    def _resolved(self, path: Path | str) -> str:
        p = Path(path)
        if self.root is not None:
            try:
                return p.resolve().relative_to(self.root.resolve()).as_posix()
            except (ValueError, OSError, RuntimeError):  # outside, or a symbolic link loop
                pass
        return p.as_posix() if isinstance(path, Path) else str(path)

    def error(self, path: Path | str, line: int, message: str) -> None:
        """Record an error (the run will fail)."""
        self.items.append(SourceError(self.display(path), max(line, 1), message))

    def warn(self, path: Path | str, line: int, message: str) -> None:
        """Record a warning (reported, but the run goes on)."""
        self.items.append(SourceError(self.display(path), max(line, 1), message, warning=True))

    @property
    def errors(self) -> list[SourceError]:
        """The problems that stop the run, in file and line order."""
        return sorted(e for e in self.items if not e.warning)

    @property
    def warnings(self) -> list[SourceError]:
        """The problems that do not stop the run."""
        return sorted(e for e in self.items if e.warning)

    def raise_if_errors(self) -> None:
        """Raise :class:`InputError` when any error was collected."""
        if self.errors:
            raise InputError(self.errors, self.warnings)


def group_warnings(items: list[SourceError], examples: int = 3) -> list[str]:
    """Warnings as lines to show: one line per kind (the same message) with a count and a few places.

    ``unknown front-matter key 'layout' is ignored`` in 175 posts is one line
    (``warning: ... (in 175 files, e.g. posts/a.md:3, posts/b.md:3, posts/c.md:3)``),
    not 175. A message that occurs once is shown as ``path:line: warning: message``.
    """
    kinds: dict[str, list[SourceError]] = {}
    for item in items:
        kinds.setdefault(item.message, []).append(item)
    lines = []
    for message, found in kinds.items():
        if len(found) == 1:
            lines.append(str(found[0]))
            continue
        files = len({item.path for item in found})
        where = f"in {files} files" if files == len(found) else f"{len(found)} times in {files} files"
        shown = ", ".join(f"{item.path}:{item.line}" for item in found[:examples])
        more = f" and {len(found) - examples} more" if len(found) > examples else ""
        lines.append(f"warning: {message} ({where}, e.g. {shown}{more})")
    return lines


class NewsletterError(Exception):
    """Base class of every error the library raises on purpose."""

    exit_code = 1


class InputError(NewsletterError):
    """Bad input: one or more ``path:line: message`` problems."""

    def __init__(self, errors: list[SourceError], warnings: list[SourceError] | None = None):
        self.errors = errors
        self.warnings = warnings or []
        super().__init__("\n".join(str(e) for e in errors))


class UsageError(NewsletterError):
    """The command was called wrongly (exit status 2)."""

    exit_code = 2
