"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 from the published posts.

The XML formats are written by feedgen, which has pitfalls this module works
around on purpose (see docs in email-and-feeds.md):

- ``add_entry`` prepends unless ``order="append"``;
- ``updated``/``lastBuildDate`` (feed and entry) default to the wall clock,
  so every one of them is set from the posts;
- the RSS channel ``<link>`` is the *last* ``link()`` call;
- one generator shares its self link between RSS and Atom, so each format
  (and each category feed) gets its own generator;
- in RSS an author without an e-mail is dropped: ``dc:creator`` carries it;
- 1.0.0 drops ``rel``/``type`` on entry-level Atom links (a link without
  ``rel`` means ``alternate`` in Atom, which is what we want anyway).

JSON Feed is written with the json module from the same prepared items.
feedgen is imported inside :func:`render_feeds` so that the CLI starts fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from html import escape
from typing import TYPE_CHECKING, Any

from newsletter import __version__
from newsletter.addresses import group_names
from newsletter.config import Settings
from newsletter.models import Post
from newsletter.render.content import per_project, post_content_html

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry
    from feedgen.feed import FeedGenerator

    from newsletter.load import Project

MAIN_FEEDS = ("feed.xml", "atom.xml", "feed.json")
_RENDERERS: dict[int, tuple[object, FeedRenderer]] = {}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# A feed with no posts still needs an Atom <updated>: a fixed date, never the
# clock (the W3C validator calls dates before 1990 implausible).
NOTHING_PUBLISHED = datetime(2000, 1, 1, tzinfo=UTC)
# Characters XML 1.0 cannot hold at all; lxml refuses them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Elements read as plain text. The W3C validator warns (CharacterData,
# ContainsUndeclaredHTML) when their text holds "&" or "<" as named entities
# and prefers hexadecimal character references; the XML means the same
# either way. Their text has no "<" (lxml writes "&lt;"), so [^<]* is all of it.
_PLAIN_TEXT = re.compile(
    rb"<(title|description|category|author|managingEditor|dc:creator|name|subtitle|summary)( [^>]*)?>[^<]*</\1>"
)
# An end tag in plain text makes the validator call it undeclared HTML.
_END_TAG = re.compile(r"</[A-Za-z]")


@dataclass(frozen=True)
class FeedItem:
    """What every format needs from one post, computed once per post."""

    id: str
    url: str
    title: str
    content_html: str
    summary: str
    published: datetime
    modified: datetime
    author: str
    categories: tuple[str, ...]


def feed_item(post: Post, settings: Settings) -> FeedItem:
    """Prepare one post for the feeds: full HTML content and clean text."""
    return FeedItem(
        id=post.id,
        url=post.url,
        title=_xml_text(post.title),
        content_html=_xml_text(post_content_html(post, settings)),
        summary=_xml_text(post.summary),
        published=post.date,
        modified=post.modified,
        author=_xml_text(post.author),
        # Tags go out as categories too (RSS and Atom have no other place for them).
        categories=tuple(_xml_text(name) for name in dict.fromkeys(post.categories + post.tags)),
    )


class FeedRenderer:
    """Renders the feeds of one project, one file per call.

    Made once per project (:func:`feed_renderer`) and reused for every
    feed: each post's :class:`FeedItem` (its HTML) and RSS entry are made
    once, on first use, and shared by every feed that lists the post.
    Plain state made lazily: usable in worker processes forked before or
    after it was made.
    """

    def __init__(self, project: Project):
        self.project = project
        self.settings = project.settings
        self._items: dict[str, FeedItem] = {}  # by file: a post's one true identity
        self._rss: _RssWriter | None = None

    @cached_property
    def newest(self) -> list[Post]:
        """The posts of the main feeds: the newest ``feed.limit`` published ones."""
        return self.project.published[: self.settings.feed.limit]

    def items(self, posts: Iterable[Post]) -> list[FeedItem]:
        """The feed items of ``posts``; a post in several feeds is rendered to HTML once."""
        result = []
        for post in posts:
            item = self._items.get(post.path)
            if item is None:
                item = self._items[post.path] = feed_item(post, self.settings)
            result.append(item)
        return result

    @property
    def rss(self) -> _RssWriter:
        """The RSS writer, whose entries every RSS feed shares."""
        if self._rss is None:
            self._rss = _RssWriter(self.settings)
        return self._rss

    def main(self, path: str) -> str | bytes:
        """``feed.xml`` (RSS), ``atom.xml`` (Atom) or ``feed.json`` (JSON Feed) of the newest posts."""
        site = self.settings.site
        newest = self.items(self.newest)
        if path == "feed.xml":
            return self.rss.render(newest, path, site.title, site.description)
        if path == "atom.xml":
            return render_atom(newest, self.settings)
        if path == "feed.json":
            return render_json_feed(newest, self.settings)
        raise ValueError(f"no main feed {path!r}")

    def category(self, path: str, name: str, posts: Sequence[Post]) -> bytes:
        """The RSS feed of one category: an entry of :func:`group_by_category` (``categories/<slug>.xml``)."""
        site = self.settings.site
        description = f"Posts filed under {name}."
        if site.description:
            description = f"{description} {site.description}"
        return self.rss.render(self.items(posts), path, f"{site.title}: {name}", description)


def feed_renderer(project: Project) -> FeedRenderer:
    """The :class:`FeedRenderer` of this Project object, made on first use."""
    return per_project(_RENDERERS, project, FeedRenderer)  # type: ignore[arg-type]


def render_feeds(project: Project, skip: Callable[[str, Sequence[Post]], bool] | None = None) -> dict[str, str | bytes]:
    """Return the feeds by path relative to public/.

    {"feed.xml": ..., "atom.xml": ..., "feed.json": ..., "categories/<category-slug>.xml": ...}:
    XML as UTF-8 bytes with a declaration, JSON as text. ``skip(path,
    posts)`` may say that a category feed of these posts is up to date
    already (the build cache knows); it is then not rendered.
    """
    settings = project.settings
    renderer = feed_renderer(project)
    files: dict[str, str | bytes] = {}
    for path in MAIN_FEEDS:
        if skip is None or not skip(path, renderer.newest):
            files[path] = renderer.main(path)
    if settings.feed.categories:
        for slug, (name, posts) in sorted(group_by_category(project.published, settings.feed.limit).items()):
            path = f"categories/{slug}.xml"
            if skip is None or not skip(path, posts):
                files[path] = renderer.category(path, name, posts)
    return files


def group_by_category(posts: Sequence[Post], limit: int) -> dict[str, tuple[str, list[Post]]]:
    """Map each category slug to a display name and its newest ``limit`` posts (see :func:`group_names`)."""
    return group_names(posts, limit, lambda post: post.categories)


def _xml_text(text: str) -> str:
    """Drop characters XML cannot carry (lxml would raise on them)."""
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text


def _last_modified(items: Sequence[FeedItem]) -> datetime:
    """When the feed last changed: the latest ``modified`` of its items."""
    return max((item.modified for item in items), default=NOTHING_PUBLISHED)


def _feed_author(settings: Settings) -> str:
    return _xml_text(settings.site.author or settings.site.title)


def _hex_refs(xml: bytes) -> bytes:
    """Write "&" and "<" in plain-text elements as hex character references."""

    def fix(match: re.Match[bytes]) -> bytes:
        return match.group(0).replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")

    return _PLAIN_TEXT.sub(fix, xml)


class _RssWriter:
    """RSS 2.0 feeds: the main one and one per category, sharing entries."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.email = settings.site.author_email
        # Keyed by the item's identity; holding the item keeps that key unique.
        self.entries: dict[int, tuple[FeedItem, FeedEntry]] = {}

    def entry(self, item: FeedItem) -> FeedEntry:
        """The item's RSS entry, built once and reused by every RSS feed."""
        cached = self.entries.get(id(item))
        if cached is not None:
            return cached[1]
        from feedgen.entry import FeedEntry

        entry = FeedEntry()
        entry.guid(item.id, permalink=False)
        entry.title(item.title)
        entry.link(href=item.url)
        # <description> is HTML to every reader: escape the plain summary.
        if item.summary:
            entry.description(escape(item.summary, quote=False))
        entry.content(item.content_html)
        entry.published(item.published)
        entry.updated(item.modified)
        if item.author:
            if self.email:
                entry.author(name=item.author, email=self.email)
            else:
                # feedgen drops an RSS author without e-mail: use dc:creator.
                entry.load_extension("dc", atom=False, rss=True)
                entry.dc.dc_creator(item.author)
        if item.categories:
            # One call: feedgen rebuilds its RSS list on every category() call.
            entry.category([{"term": name} for name in item.categories])
        self.entries[id(item)] = (item, entry)
        return entry

    def render(self, items: Sequence[FeedItem], path: str, title: str, description: str) -> bytes:
        """One RSS 2.0 document published at ``site.base_url + path``."""
        from feedgen.feed import FeedGenerator

        site = self.settings.site
        fg = FeedGenerator()
        if not self.email:
            fg.load_extension("dc", atom=False, rss=True)
        _channel(fg, self.settings, site.base_url + path, "application/rss+xml")
        fg.title(_xml_text(title))
        # Like an item's <description>, readers show the channel's as HTML: a
        # category named "<img src=x onerror=...>" must stay text.
        fg.description(_xml_text(escape(description or site.title, quote=False)))
        fg.generator(f"newsletter {__version__}")
        fg.docs("https://www.rssboard.org/rss-specification")
        fg.updated(_last_modified(items))
        if self.email:
            fg.managingEditor(f"{self.email} ({_feed_author(self.settings)})")
        for item in items:
            fg.add_entry(self.entry(item), order="append")
        return _hex_refs(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def _channel(fg: FeedGenerator, settings: Settings, self_url: str, media_type: str) -> None:
    """Settings shared by RSS and Atom: links, language, logo, no clock."""
    site = settings.site
    # Self first, site last: the RSS channel <link> is the last link() call.
    fg.link(href=self_url, rel="self", type=media_type)
    fg.link(href=site.base_url, rel="alternate", type="text/html")
    fg.language(site.language)
    if site.logo:
        fg.logo(site.logo)
    if site.icon:
        fg.icon(site.icon)


def render_atom(items: Sequence[FeedItem], settings: Settings) -> bytes:
    """The Atom 1.0 document for ``atom.xml``, from its own generator."""
    from feedgen.entry import FeedEntry
    from feedgen.feed import FeedGenerator

    site = settings.site
    self_url = site.base_url + "atom.xml"
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(_xml_text(site.title))
    if site.description:
        fg.subtitle(_xml_text(site.description))
    author: dict[str, str] = {"name": _feed_author(settings), "uri": site.base_url}
    if site.author_email:
        author["email"] = site.author_email
    fg.author(author)
    _channel(fg, settings, self_url, "application/atom+xml")
    fg.generator("newsletter", version=__version__)
    fg.updated(_last_modified(items))
    for item in items:
        entry = FeedEntry()
        entry.id(item.id)
        entry.title(item.title)
        entry.link(href=item.url)
        entry.published(item.published)
        entry.updated(item.modified)
        if item.author:
            entry.author({"name": item.author, **({"email": site.author_email} if site.author_email else {})})
        entry.content(item.content_html, type="html")
        if _END_TAG.search(item.summary):
            # Text that looks like HTML is declared as HTML, escaped: the same words.
            entry.summary(escape(item.summary, quote=False), type="html")
        elif item.summary:
            entry.summary(item.summary, type="text")
        if item.categories:
            entry.category([{"term": name} for name in item.categories])
        fg.add_entry(entry, order="append")
    return _hex_refs(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def render_json_feed(items: Sequence[FeedItem], settings: Settings) -> str:
    """The JSON Feed 1.1 document for ``feed.json`` (keys in a fixed order)."""
    site = settings.site
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": site.title,
        "home_page_url": site.base_url,
        "feed_url": site.base_url + "feed.json",
    }
    if site.description:
        feed["description"] = site.description
    feed["language"] = site.language
    feed["authors"] = [{"name": site.author or site.title, "url": site.base_url}]
    if site.logo:
        feed["icon"] = site.logo
    if site.icon:
        feed["favicon"] = site.icon
    feed["items"] = [_json_item(item) for item in items]
    return json.dumps(feed, ensure_ascii=False, indent=2) + "\n"


def _json_item(item: FeedItem) -> dict[str, Any]:
    result: dict[str, Any] = {"id": item.id, "url": item.url, "title": item.title, "content_html": item.content_html}
    if item.summary:
        result["summary"] = item.summary
    result["date_published"] = item.published.isoformat()
    result["date_modified"] = item.modified.isoformat()
    if item.author:
        result["authors"] = [{"name": item.author}]
    if item.categories:
        result["tags"] = list(item.categories)
    return result
