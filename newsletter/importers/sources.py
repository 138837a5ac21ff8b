"""What the Markdown importers share: reading a source file, its front matter, its dates and keys.

Front matter comes as YAML (``---``, read with the post loader's safe
reader), TOML (``+++``, ``tomllib``) or JSON (a ``{`` object). Dates are
read as Jekyll and Hugo read them (``2017-07-11 9:00:00 +0200``,
``2018-06-29T17:24:56-04:00``, a bare date) with ``dateutil``.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.importers.model import ImportedPost, ImportProblem, ImportReport, format_date

if TYPE_CHECKING:
    from newsletter.config import Settings

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd", ".mkdn"}
_DATED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")


@dataclass
class Context:
    """What every importer of one run needs: the settings, the report, the --date."""

    settings: Settings
    report: ImportReport
    date: str = ""  # --date as post files hold it, or ""


@dataclass
class SourceDoc:
    """A source file split into front matter and body."""

    data: dict[str, Any]
    body: str
    body_line: int
    lines: dict[str, int] = field(default_factory=dict)
    format: str = "yaml"  # "yaml", "toml", "json", "pelican", "none"


def read_text(path: Path) -> str:
    """A source file as text, with the post loader's limits (size, UTF-8, no control characters)."""
    from newsletter.importers.plaintext import read_plain_file

    return read_plain_file(path).replace("\r\n", "\n").replace("\r", "\n")


def split(text: str) -> SourceDoc:
    """Split ``text`` at its front matter, whatever its format; no front matter gives ``format="none"``."""
    from newsletter import frontmatter

    first = text.split("\n", 1)[0].strip()
    if first == "---":
        try:
            front, first_line, body, body_line = frontmatter.split(text)
            data, lines = frontmatter.parse(front, first_line)
        except frontmatter.FrontMatterError as exc:
            raise ImportProblem(exc.line, exc.message) from None
        return SourceDoc(data, body, body_line, lines, "yaml")
    if first == "+++":
        end = re.search(r"^\+\+\+[ \t]*$", text[text.index("\n") + 1 :] if "\n" in text else "", re.M)
        if end is None:
            raise ImportProblem(1, "TOML front matter is not closed: add a '+++' line after it")
        start = text.index("\n") + 1
        front = text[start : start + end.start()]
        try:
            data = tomllib.loads(front)
        except tomllib.TOMLDecodeError as exc:
            line = int(m.group(1)) + 1 if (m := re.search(r"line (\d+)", str(exc))) else 1
            raise ImportProblem(line, f"cannot read the TOML front matter: {exc}") from None
        body_at = start + end.end() + 1
        return SourceDoc(data, text[body_at:], text.count("\n", 0, body_at) + 1, _key_lines(front, 2), "toml")
    if text.startswith("{"):
        try:
            data, end_at = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError as exc:
            raise ImportProblem(exc.lineno, f"cannot read the JSON front matter: {exc.msg}") from None
        if isinstance(data, dict):
            body_at = text.find("\n", end_at) + 1 or len(text)
            return SourceDoc(
                data, text[body_at:], text.count("\n", 0, body_at) + 1, _key_lines(text[:end_at], 1), "json"
            )
    return SourceDoc({}, text, 1, {}, "none")


def _key_lines(front: str, first_line: int) -> dict[str, int]:
    """Lines of top-level keys in TOML or JSON front matter (``key =`` / ``"key":`` at a line start)."""
    lines: dict[str, int] = {}
    for number, line in enumerate(front.split("\n"), start=first_line):
        found = re.match(r'^\s*"?([A-Za-z_][\w-]*)"?\s*[=:]', line)
        if found:
            lines.setdefault(found.group(1), number)
    return lines


def parse_when(value: Any) -> datetime | None:
    """A front-matter date as Jekyll, Hugo and Pelican accept it; None when it is not one."""
    from dateutil import parser

    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not re.match(r"^\s*\d{4}-\d{1,2}-\d{1,2}", value):
        return None
    try:
        return parser.isoparse(value.strip())
    except (ValueError, OverflowError):
        pass
    try:
        return parser.parse(value, yearfirst=True)
    except (ValueError, OverflowError):
        return None


def words(value: Any) -> list[str]:
    """Tags or categories: a list, or a string of names (comma-separated, else space-separated as Jekyll)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [" ".join(str(item).split()) for item in value if item is not None and str(item).strip()]
    text = str(value)
    parts = text.split(",") if "," in text else text.split()
    return [" ".join(part.split()) for part in parts if part.strip()]


def text_of(value: Any) -> str:
    """A one-line text value ('' for anything else)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return " ".join(str(value).split())
    return ""


def author_of(value: Any) -> str:
    """An author given as a name, a list of names or a mapping with a name."""
    if isinstance(value, dict):
        return text_of(value.get("name") or value.get("display_name"))
    if isinstance(value, list):
        return ", ".join(name for name in (author_of(item) for item in value) if name)
    return text_of(value)


def dated_name(path: Path) -> tuple[str, str]:
    """(date, rest) of a ``YYYY-MM-DD-rest`` file or folder name, else ("", name)."""
    found = _DATED_NAME.match(path.stem)
    return (found.group(1), found.group(2)) if found else ("", path.stem)


def common_post(path: Path, doc: SourceDoc, kind: str, ctx: Context, name: str) -> ImportedPost:
    """The keys Jekyll, Hugo, Pelican and plain front matter share, as an imported post.

    ``name`` is the file's own name (a bundle's folder name), which gives
    the date (``YYYY-MM-DD-``) and the slug when the front matter has none.
    """
    data = doc.data
    file_date, file_slug = dated_name(Path(name))
    title = text_of(data.get("title"))
    if not title:
        raise ImportProblem(doc.lines.get("title", 1), "no title in the front matter")
    raw_date = next((data[k] for k in ("date", "publishDate", "pubDate", "published_at") if data.get(k)), None)
    when = parse_when(raw_date) if raw_date is not None else None
    if raw_date is not None and when is None:
        raise ImportProblem(doc.lines.get("date", 1), f"cannot read the date {raw_date!r}")
    if when is None and file_date:
        when = parse_when(file_date)
    if when is None and not ctx.date:
        raise ImportProblem(1, "no date (none in the front matter or the file name): give one with --date")
    updated = parse_when(
        data.get("lastmod") or data.get("updated") or data.get("last_modified_at") or data.get("modified")
    )
    summary = text_of(data.get("summary") or data.get("description") or data.get("excerpt"))
    aliases = [a for a in words(data.get("aliases")) if a.startswith("/")]
    post = ImportedPost(
        source=path,
        line=1,
        kind=kind,
        title=title,
        date=format_date(when) if when else ctx.date,
        body=doc.body,
        slug=text_of(data.get("slug")) or file_slug,
        author=author_of(data.get("author") or data.get("authors")),
        categories=words(data.get("categories") if "categories" in data else data.get("category")),
        tags=words(data.get("tags") if "tags" in data else data.get("tag")),
        summary=summary,
        aliases=aliases,
        lang=text_of(data.get("lang") or data.get("language")),
        updated=format_date(updated) if updated and when and updated > when else "",
        lines=dict(doc.lines),
        body_line=doc.body_line,
    )
    if data.get("draft") is True or str(data.get("draft")).lower() == "true":
        post.draft_reason = "draft"
    if data.get("published") is False or str(data.get("published")).lower() == "false":
        post.draft_reason = "published: false"
    return post
