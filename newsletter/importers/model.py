"""The one shape every importer produces, and the report of an import run.

Each source module (plaintext, wordpress, jekyll, hugo, pelican, markdown)
reads its files into :class:`ImportedPost` values; :mod:`.writer` alone turns
them into post files. :class:`ImportReport` collects what was imported, what
was left out on purpose (counted by kind), what could not be imported
(``path:line: reason``) and the warnings (grouped by kind).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from newsletter.errors import SourceError

# Why a post is imported as a draft (it was not public at the source).
UNPUBLISHED = ("draft", "pending", "private", "future", "password-protected", "published: false", "hidden")
# What is left out on purpose, in the order the summary lists it.
LEFT_OUT = (
    "trashed",
    "pages",
    "attachments",
    "menu items",
    "other WordPress items",
    "section pages",
    "files without front matter",
    "other XML files",
    "unsupported",
)


class ImportProblem(ValueError):
    """A source post that cannot be imported, with its line."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class NotAPost(ImportProblem):
    """A file that is no post at all (no front matter, XML that is no WordPress export).

    Named as a problem when given on the command line; counted as left out
    (``kind``) when met while walking a folder.
    """

    def __init__(self, line: int, message: str, kind: str):
        super().__init__(line, message)
        self.kind = kind


@dataclass
class ImageCopy:
    """An image file of the old site that comes along with a post."""

    source: Path
    target: str  # path under posts/, e.g. "images/2017-07-11-name/photo.png"


@dataclass
class ImportedPost:
    """One post read from any source, before it becomes a post file."""

    source: Path  # the file it came from (a WXR file holds many posts)
    line: int  # where the post starts in that file
    kind: str  # "wordpress", "jekyll", "hugo", "pelican", "markdown", "plaintext"
    title: str
    date: str  # as the post file will hold it: "YYYY-MM-DD HH:MM" (+ offset when known)
    body: str  # Markdown
    slug: str = ""
    name: str = ""  # file name stem when it should differ from "<date>-<slug>"
    author: str = ""
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    summary: str = ""
    draft_reason: str = ""  # one of UNPUBLISHED when the post was not public at the source
    aliases: list[str] = field(default_factory=list)  # site-root-relative paths of the old URLs
    lang: str = ""
    updated: str = ""
    extra: dict[str, object] = field(default_factory=dict)  # references, cta (plain text)
    images: list[ImageCopy] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # source line of each front-matter key
    body_line: int = 0  # source line where the body starts (0: unknown)
    # Maps a line of the written post file to a line of the source (plain text knows exactly).
    locate: Callable[[str, int], int] | None = None
    new_url: str = ""  # the address the post gets here, once the loader has read its file

    @property
    def draft(self) -> bool:
        """True when the post must not be published."""
        return bool(self.draft_reason)


@dataclass
class ImportReport:
    """Everything an import run found, did and left undone."""

    found: int = 0
    written: list[Path] = field(default_factory=list)
    drafts: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    not_imported: list[SourceError] = field(default_factory=list)
    warnings: list[tuple[str, SourceError]] = field(default_factory=list)  # (kind, warning)

    def leave_out(self, kind: str, count: int = 1) -> None:
        """Count a source item left out on purpose."""
        self.left_out[kind] += count

    def warn(self, kind: str, path: Path | str, line: int, message: str) -> None:
        """Record a warning of a kind ("shortcode not understood", "image not found", ...)."""
        self.warnings.append((kind, SourceError(_show(path), line, message, warning=True)))

    def fail(self, path: Path | str, line: int, message: str) -> None:
        """Record a source post that is not imported."""
        self.not_imported.append(SourceError(_show(path), line, message))

    def summary(self, examples: int = 3) -> list[str]:
        """The lines of the summary printed after an import."""
        drafts = sum(self.drafts.values())
        lines = [f"found {self.found} post(s); imported {len(self.written)}"]
        if drafts:
            why = ", ".join(f"{count} {reason}" for reason, count in sorted(self.drafts.items()))
            lines[0] += f" ({drafts} as drafts, not published: {why})"
        if self.left_out:
            order = {kind: index for index, kind in enumerate(LEFT_OUT)}
            kinds = sorted(self.left_out.items(), key=lambda item: (order.get(item[0], 99), item[0]))
            lines.append("left out: " + ", ".join(f"{count} {kind}" for kind, count in kinds))
        if self.not_imported:
            posts = len({(item.path, item.line) for item in self.not_imported})
            lines.append(f"not imported: {posts} (listed above)")
        groups: dict[str, list[SourceError]] = {}
        for kind, item in self.warnings:
            groups.setdefault(kind, []).append(item)
        for kind, items in sorted(groups.items(), key=lambda group: (-len(group[1]), group[0])):
            shown = "; ".join(f"{item.path}:{item.line}: {item.message}" for item in items[:examples])
            more = f" (and {len(items) - examples} more)" if len(items) > examples else ""
            lines.append(f"warning: {kind}: {len(items)}, e.g. {shown}{more}")
        return lines


def _show(path: Path | str) -> str:
    return path.as_posix() if isinstance(path, Path) else path


def format_date(when: datetime) -> str:
    """A date as post files hold it: ``YYYY-MM-DD HH:MM``, seconds when set, the offset when known."""
    text = when.strftime("%Y-%m-%d %H:%M")
    if when.second:
        text += when.strftime(":%S")
    if when.tzinfo is not None and when.utcoffset() is not None:
        offset = when.strftime("%z")
        text += f"{offset[:3]}:{offset[3:]}"
    return text
