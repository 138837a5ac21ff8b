"""Pelican sites: Markdown with a ``Title:`` metadata header (or YAML front matter).

``Status: draft`` and ``Status: hidden`` make drafts; pages (``content/pages``)
are left out; reStructuredText is not read. The folder a post sits in is its
category when it names none (Pelican's ``USE_FOLDER_AS_CATEGORY``). The old
URL follows ``ARTICLE_URL`` from pelicanconf.py, read as text, never run.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from newsletter.importers import templates
from newsletter.importers.images import OldSite
from newsletter.importers.markdown import finish
from newsletter.importers.model import ImportedPost, ImportProblem
from newsletter.importers.sources import MARKDOWN_SUFFIXES, Context, SourceDoc, common_post, read_text, split

_HEADER = re.compile(r"^([A-Za-z][A-Za-z_ -]*):\s*(.*)$")
_SETTING = re.compile(r"^([A-Z_]+)\s*=\s*(['\"])(.*?)\2\s*(?:#.*)?$", re.M)


def is_site(folder: Path) -> bool:
    """True for a Pelican site's root folder."""
    return (folder / "pelicanconf.py").is_file()


def looks_like_header(text: str) -> bool:
    """True when ``text`` starts with a Pelican metadata header (``Title: ...``)."""
    first = text.split("\n", 1)[0]
    return bool(_HEADER.match(first)) and first.split(":", 1)[0].strip().lower() == "title"


def parse_header(text: str) -> SourceDoc:
    """Split a Pelican Markdown file at the blank line after its ``Key: value`` header."""
    data: dict[str, object] = {}
    lines: dict[str, int] = {}
    at = 0
    key = ""
    all_lines = text.split("\n")
    for number, line in enumerate(all_lines, start=1):
        at = number
        if not line.strip():
            break
        found = _HEADER.match(line)
        if found:
            key = found.group(1).strip().lower()
            data[key] = found.group(2).strip()
            lines[key] = number
        elif key and line[:1] in " \t":  # a continued value
            data[key] = f"{data[key]} {line.strip()}"
        else:
            at = number - 1
            break
    else:
        at = len(all_lines)
    body = "\n".join(all_lines[at:])
    for name in ("tags", "category"):
        if name in data:
            data[name] = [part.strip() for part in str(data[name]).split(",") if part.strip()]
    if "authors" in data and "author" not in data:
        data["author"] = data.pop("authors")
    return SourceDoc(data, body, at + 1, lines, "pelican")


def settings_of(root: Path) -> dict[str, str]:
    """String settings of pelicanconf.py (``NAME = 'value'`` lines)."""
    try:
        text = (root / "pelicanconf.py").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return {m.group(1): m.group(3) for m in _SETTING.finditer(text)}


def read_site(root: Path, start: Path, ctx: Context) -> list[ImportedPost]:
    """Every article under ``start`` (the site root, its content folder, or a file)."""
    conf = settings_of(root)
    content = root / conf.get("PATH", "content")
    pattern = conf.get("ARTICLE_URL", "{slug}.html")
    files = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
    posts = []
    for path in files:
        relative = path.relative_to(content).parts if path.is_relative_to(content) else (path.name,)
        if path.suffix.lower() in (".rst", ".ipynb"):
            ctx.report.found += 1
            ctx.report.leave_out("unsupported")
            ctx.report.warn("format not read", path, 1, f"{path.suffix} posts are not read: convert them to Markdown")
            continue
        if path.suffix.lower() not in MARKDOWN_SUFFIXES:
            continue
        if relative[0] == "pages":
            ctx.report.leave_out("pages")
            continue
        ctx.report.found += 1
        try:
            posts.append(read_file(path, ctx, pattern, relative[0] if len(relative) > 1 else ""))
        except ImportProblem as exc:
            ctx.report.fail(path, exc.line, exc.message)
    old = OldSite(roots=[content], base_url=conf.get("SITEURL", ""), content_root=content)
    return [finish(post, ctx, templates.Site(), old, hugo=False, outputs=False) for post in posts]


def read_file(path: Path, ctx: Context, pattern: str = "{slug}.html", folder: str = "") -> ImportedPost:
    """One Pelican article (not yet finished: see :func:`read_site`)."""
    from newsletter.slugs import make_slug

    text = read_text(path)
    doc = split(text)
    if doc.format == "none":
        if not looks_like_header(text):
            raise ImportProblem(1, "no metadata: a Pelican post starts with a 'Title:' line")
        doc = parse_header(text)
    post = common_post(path, doc, "pelican", ctx, path.name)
    if doc.format == "pelican":
        post.slug = str(doc.data.get("slug") or make_slug(post.title))
    status = str(doc.data.get("status", "")).strip().lower()
    if status in ("draft", "hidden"):
        post.draft_reason = status
    if not post.categories and folder:
        post.categories = [folder]
    when = datetime.strptime(post.date[:10], "%Y-%m-%d")
    try:
        old = pattern.format(
            slug=post.slug,
            date=when,
            lang=post.lang or "en",
            category=make_slug(post.categories[0]) if post.categories else "misc",
        )
        post.aliases = ["/" + old.lstrip("/"), *post.aliases]
    except (KeyError, IndexError, ValueError):
        ctx.report.warn("old URL unknown", path, 1, f"ARTICLE_URL {pattern!r} not understood: no alias kept")
    return post
