"""Jekyll sites: ``_posts/YYYY-MM-DD-slug.md`` (or ``.markdown``), ``_drafts/``, YAML front matter, Liquid.

The date and slug come from the file name unless the front matter gives
them; ``published: false`` and ``_drafts/`` make drafts. The old URL (the
post's ``permalink``, else the site's permalink pattern) is kept as an alias.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from newsletter.importers import templates
from newsletter.importers.images import OldSite
from newsletter.importers.markdown import finish
from newsletter.importers.model import ImportedPost, ImportProblem, NotAPost
from newsletter.importers.sources import (
    MARKDOWN_SUFFIXES,
    Context,
    common_post,
    dated_name,
    parse_when,
    read_text,
    split,
    words,
)

_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}


def is_site(folder: Path) -> bool:
    """True for a Jekyll site's root folder."""
    return (folder / "_config.yml").is_file() or (folder / "_config.yaml").is_file() or (folder / "_posts").is_dir()


def config(root: Path) -> dict[str, Any]:
    """The site's _config.yml (empty when absent or unreadable)."""
    for name in ("_config.yml", "_config.yaml"):
        try:
            data = yaml.safe_load((root / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        return data if isinstance(data, dict) else {}
    return {}


def permalink(pattern: str, when: datetime, title: str, categories: list[str]) -> str:
    """A post's URL path under a Jekyll permalink pattern (or style name)."""
    from newsletter.slugs import make_slug

    pattern = _STYLES.get(pattern, pattern)
    parts = {
        ":categories": "/".join(make_slug(c) for c in categories),
        ":year": f"{when:%Y}",
        ":short_year": f"{when:%y}",
        ":month": f"{when:%m}",
        ":i_month": str(when.month),
        ":day": f"{when:%d}",
        ":i_day": str(when.day),
        ":y_day": f"{when:%j}",
        ":output_ext": ".html",
        ":title": title,
        ":slug": title,
    }
    for key in sorted(parts, key=len, reverse=True):
        pattern = pattern.replace(key, parts[key])
    while "//" in pattern:
        pattern = pattern.replace("//", "/")
    return "/" + pattern.lstrip("/")


def read_site(root: Path, start: Path, ctx: Context) -> list[ImportedPost]:
    """Every post under ``start`` (the site's root, ``_posts`` or a file in it) of the Jekyll site at ``root``."""
    settings = config(root)
    baseurl = str(settings.get("baseurl") or "").strip("/")
    style = str(settings.get("permalink") or "date")
    files = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
    posts: list[ImportedPost] = []
    links: dict[str, str] = {}
    for path in files:
        relative = path.relative_to(root).parts if path.is_relative_to(root) else path.parts
        if any(part.startswith(".") or part in ("_site", "node_modules", "vendor") for part in relative):
            continue
        in_posts, in_drafts = "_posts" in relative, "_drafts" in relative
        if path.suffix.lower() not in MARKDOWN_SUFFIXES:
            if path.suffix.lower() == ".html" and in_posts:
                ctx.report.leave_out("unsupported")
                ctx.report.warn("HTML post not imported", path, 1, "Jekyll post written in HTML: not imported")
            continue
        if not (in_posts or in_drafts):
            if not any(part.startswith("_") for part in relative) and path.parent == root:
                ctx.report.leave_out("pages")
            continue
        try:
            post = _read(path, ctx, style, baseurl, in_drafts)
        except NotAPost as exc:
            ctx.report.leave_out(exc.kind)
            continue
        except ImportProblem as exc:
            ctx.report.found += 1
            ctx.report.fail(path, exc.line, exc.message)
            continue
        ctx.report.found += 1
        links[_stem(path.name)] = post.aliases[0] if post.aliases else ""
        posts.append(post)

    def link(target: str) -> str | None:
        return links.get(_stem(target.rsplit("/", 1)[-1])) or None

    def include(name: str) -> str | None:
        try:
            return (root / "_includes" / name).read_text(encoding="utf-8") if "/" not in name.strip("./") else None
        except (OSError, UnicodeDecodeError):
            return None

    old = OldSite(
        roots=[root], base_url=str(settings.get("url") or "").rstrip("/") + "/" if settings.get("url") else ""
    )
    site = templates.Site(link=link, include=include)
    return [finish(post, ctx, site, old, hugo=False) for post in posts]


def _read(path: Path, ctx: Context, style: str, baseurl: str, draft: bool) -> ImportedPost:
    doc = split(read_text(path))
    if doc.format == "none":  # Jekyll copies such a file as it is: it is no post
        raise NotAPost(1, "no front matter", "files without front matter")
    raw_date = doc.data.get("date")
    if raw_date is not None and parse_when(raw_date) is None and dated_name(path)[0]:
        message = f"cannot read the date {raw_date!r}; the file name's date is used"
        ctx.report.warn("date from the file name", path, doc.lines.get("date", 1), message)
        doc.data.pop("date")
    post = common_post(path, doc, "jekyll", ctx, path.name)
    if draft and not post.draft_reason:
        post.draft_reason = "draft"
    given = doc.data.get("permalink")
    if isinstance(given, str) and given.strip():
        old = given.strip() if given.strip().startswith("/") else "/" + given.strip()
        if ":" in old:  # a pattern of its own
            old = permalink(old, _when(post), dated_name(path)[1], post.categories)
    else:
        old = permalink(style, _when(post), post.slug or dated_name(path)[1], words(doc.data.get("categories")))
    post.aliases = [f"/{baseurl}{old}" if baseurl else old, *post.aliases]
    return post


def _stem(name: str) -> str:
    """A post's file name without its Markdown suffix (``ltsp4.2-sound`` keeps its dot)."""
    suffix = Path(name).suffix.lower()
    return name[: -len(suffix)] if suffix in MARKDOWN_SUFFIXES else name


def _when(post: ImportedPost) -> datetime:
    return datetime.strptime(post.date[:10], "%Y-%m-%d")
