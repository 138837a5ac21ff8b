"""WordPress exports (WXR: the XML that Tools > Export writes).

The XML is read with defusedxml (no entity expansion, no external
entities). Only items of type ``post`` become posts; pages, attachments,
menu items and the rest are counted as left out. ``publish`` posts are
published; ``draft``, ``pending``, ``private``, ``future`` and
password-protected posts become drafts; trashed ones are left out.
Categories and tags, the author's display name, the excerpt (as summary),
``post_name`` (as slug) and the post's old address (as alias) come along.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from newsletter.importers.images import OldSite, bring_images
from newsletter.importers.markdown import name_leftovers
from newsletter.importers.model import ImportedPost, ImportProblem, NotAPost, format_date
from newsletter.importers.sources import Context
from newsletter.importers.wphtml import Attachment, to_markdown

_STATUS = {"draft": "draft", "pending": "pending", "private": "private", "future": "future", "auto-draft": "draft"}
_OTHER = {"page": "pages", "attachment": "attachments", "nav_menu_item": "menu items"}
_NAMES = (
    ("wordpress.org/export/", "/excerpt/", "excerpt"),
    ("wordpress.org/export/", "", "wp"),
    ("purl.org/rss/1.0/modules/content", "", "content"),
    ("purl.org/dc/elements", "", "dc"),
)


class _Lines(ET.TreeBuilder):
    """A tree builder that remembers the line each <item> starts on."""

    def __init__(self) -> None:
        super().__init__()
        self.parser: Any = None
        self.lines: dict[int, int] = {}

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        element = super().start(tag, attrs)
        if tag == "item" and self.parser is not None:
            self.lines[id(element)] = self.parser.parser.CurrentLineNumber
        return element


def _local(tag: str) -> str:
    """``{namespace}name`` as ``wp:name``, ``content:name``... whatever the export's version."""
    if not tag.startswith("{"):
        return tag
    space, _, name = tag[1:].partition("}")
    for needle, extra, prefix in _NAMES:
        if needle in space and extra in space:
            return f"{prefix}:{name}"
    return name


def parse(path: Path) -> tuple[ET.Element, dict[int, int]]:
    """The WXR file's channel element and the line of each item; ImportProblem when it is not one."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    builder = _Lines()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.parser = parser
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                parser.feed(chunk)
        root = parser.close()
    except ET.ParseError as exc:
        raise ImportProblem(exc.position[0], f"not well-formed XML: {exc}") from None
    except DefusedXmlException as exc:
        raise ImportProblem(1, f"refused: {exc}") from None
    except OSError as exc:
        raise ImportProblem(1, f"cannot read the file: {exc.strerror or exc}") from None
    channel = root.find("channel")
    if root.tag != "rss" or channel is None or not any(_local(c.tag) == "wp:wxr_version" for c in channel):
        raise NotAPost(1, "not a WordPress export (WXR): no <wp:wxr_version> in its <channel>", "other XML files")
    return channel, builder.lines


def _fields(item: ET.Element) -> dict[str, str]:
    return {_local(child.tag): (child.text or "") for child in item if len(child) == 0}


def _date(local: str, gmt: str) -> datetime | None:
    """The post's local date with its offset to UTC when both are known."""
    try:
        when = datetime.strptime(local.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    try:
        utc = datetime.strptime(gmt.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return when
    offset = when - utc
    if abs(offset) > timedelta(hours=15):
        return when
    return when.replace(tzinfo=UTC if not offset else timezone(offset))


def read(path: Path, ctx: Context) -> list[ImportedPost]:
    """Every post of the WXR file at ``path``."""
    channel, lines = parse(path)
    report = ctx.report
    site_url = (channel.findtext("link") or "").strip()
    base = next((c.text or "" for c in channel if _local(c.tag) == "wp:base_blog_url"), "") or site_url
    authors = {}
    for child in channel:
        if _local(child.tag) == "wp:author":
            fields = _fields(child)
            authors[fields.get("wp:author_login", "").strip()] = fields.get("wp:author_display_name", "").strip()
    items = channel.findall("item")
    attachments: dict[str, Attachment] = {}
    for item in items:
        fields = _fields(item)
        if fields.get("wp:post_type") == "attachment":
            attachments[fields.get("wp:post_id", "").strip()] = Attachment(
                url=fields.get("wp:attachment_url", "").strip(),
                title=fields.get("title", "").strip(),
                caption=fields.get("excerpt:encoded", "").strip(),
                parent=fields.get("wp:post_parent", "").strip(),
            )
    posts = []
    for item in items:
        fields = _fields(item)
        kind = fields.get("wp:post_type", "post").strip() or "post"
        line = lines.get(id(item), 1)
        if kind != "post":
            report.leave_out(_OTHER.get(kind, "other WordPress items"))
            continue
        report.found += 1
        status = fields.get("wp:status", "publish").strip() or "publish"
        if status == "trash":
            report.leave_out("trashed")
            continue
        try:
            posts.append(_post(path, line, item, fields, status, authors, attachments, base, ctx))
        except ImportProblem as exc:
            report.fail(path, exc.line, exc.message)
    return posts


def _post(
    path: Path,
    line: int,
    item: ET.Element,
    fields: dict[str, str],
    status: str,
    authors: dict[str, str],
    attachments: dict[str, Attachment],
    base: str,
    ctx: Context,
) -> ImportedPost:
    from newsletter.slugs import make_slug

    title = _plain_title(fields.get("title", ""))
    when = _date(fields.get("wp:post_date", ""), fields.get("wp:post_date_gmt", ""))
    if not title:
        title = f"Untitled ({when:%Y-%m-%d})" if when else "Untitled"
        ctx.report.warn("untitled post", path, line, f"post has no title; titled {title!r}")
    if when is None and not ctx.date:
        raise ImportProblem(line, "no date (wp:post_date): give one with --date")
    post_id = fields.get("wp:post_id", "").strip()
    gallery = [a for a in attachments.values() if a.parent == post_id]
    body = to_markdown(
        fields.get("content:encoded", ""), path, line, ctx.report, attachments, gallery, _footnotes(item)
    )
    categories, tags = [], []
    for child in item.findall("category"):
        name = " ".join((child.text or "").split())
        if name and child.get("domain") == "category" and name not in categories:
            categories.append(name)
        elif name and child.get("domain") == "post_tag" and name not in tags:
            tags.append(name)
    categories = [name for name in categories if name != "Uncategorized"]  # WordPress's default, not a topic
    login = fields.get("dc:creator", "").strip()
    excerpt = fields.get("excerpt:encoded", "")
    summary = " ".join(re.sub(r"<[^>]+>", " ", excerpt).split()) if excerpt.strip() else ""
    slug = unquote(fields.get("wp:post_name", "").strip())
    post = ImportedPost(
        source=path,
        line=line,
        kind="wordpress",
        title=title,
        date=format_date(when) if when else ctx.date,
        body=body,
        slug=slug if slug and make_slug(slug) else "",
        author=authors.get(login) or login,
        categories=categories,
        tags=tags,
        summary=_unescape(summary),
        draft_reason=_STATUS.get(status, "" if status == "publish" else status),
        body_line=line,
    )
    if fields.get("wp:post_password", "").strip():
        post.draft_reason = "password-protected"
    link = urlsplit(fields.get("link", "").strip())
    if link.path and link.path != "/" and not link.query:  # "?p=123" (no pretty links): no page can stand there
        post.aliases = [link.path]  # as the old site served it (percent-encoded)
    folder = f"{post.date[:10]}-{make_slug(post.slug or title) or 'post'}"
    bring_images(
        post, folder, OldSite(roots=_uploads(path), base_url=base.rstrip("/") + "/" if base else ""), ctx.report
    )
    post.body = name_leftovers(post.body, path, line, ctx)
    return post


def _footnotes(item: ET.Element) -> dict[str, str]:
    """The notes of the post's footnotes block (post meta ``footnotes``, a JSON list), by id."""
    import json

    for meta in item:
        if _local(meta.tag) != "wp:postmeta":
            continue
        fields = _fields(meta)
        if fields.get("wp:meta_key", "").strip() == "footnotes":
            try:
                notes = json.loads(fields.get("wp:meta_value", ""))
            except ValueError:
                return {}
            if isinstance(notes, list):
                return {str(n.get("id")): str(n.get("content", "")) for n in notes if isinstance(n, dict)}
    return {}


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def _uploads(path: Path) -> list[Path]:
    """Folders beside the export that may hold the site's files (a copy of wp-content/uploads)."""
    return [folder for folder in (path.parent, path.parent / "wp-content") if folder.is_dir()]


def _plain_title(raw: str) -> str:
    """The text of a WordPress title, which WordPress treats as HTML (``<em>``, ``&amp;``).

    Our titles are plain text, escaped wherever they are shown: kept as
    they are, the tags would read as code on every page and subject line.
    """
    if "<" not in raw and "&" not in raw:
        return " ".join(raw.split())
    import html

    import nh3

    return " ".join(html.unescape(nh3.clean(raw, tags=set())).split())
