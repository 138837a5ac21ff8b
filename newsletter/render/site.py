"""The web side: post pages, the site index, the post archive, the digest archive.

Pages are written in ``site.language`` (catalogs, dates and direction from
:mod:`newsletter.i18n`); a post's own ``lang:`` marks its article.

Every page uses the same URLs as the feeds and the digests link to. The
digests' web versions themselves (``digests/<week>.html``) are the outbox
messages' HTML, published by the build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsletter.addresses import taxonomy_pages
from newsletter.i18n import Language, for_settings
from newsletter.load import Project
from newsletter.models import Post
from newsletter.permalinks import alias_page, page_path
from newsletter.render.content import per_project, post_cta
from newsletter.render.taxonomy import render_taxonomy_page
from newsletter.slugs import category_slug
from newsletter.templates import environment

if TYPE_CHECKING:
    from newsletter.outbox import OutboxEntry

INDEX_POSTS = 30
_RENDERERS: dict[int, tuple[object, SiteRenderer]] = {}


def _context(settings: Any) -> tuple[Any, dict[str, Any]]:
    """The template environment and the values every page uses."""
    env = environment(settings.templates_dir, for_settings(settings))
    common: dict[str, Any] = {
        "site": settings.site,
        "base": settings.site.base_url,
        "postal_address": settings.email.postal_address,
    }
    return env, common


def post_page_path(post: Post, base_url: str) -> str:
    """Where a post's page goes, relative to public/ (see ``[site] post_path``)."""
    return page_path(post.url, base_url)


def page_template(settings: Any) -> Any:
    """The compiled template of a post's page."""
    return _context(settings)[0].get_template("site/post.html")


class SiteRenderer:
    """Renders the web side's pages of one project, one file per call.

    Made once per project (:func:`site_renderer`) and reused for every page:
    it holds the template environment, the compiled templates, the values
    every page uses and the language. Everything is made on first use, in
    whichever process that is (a build forks its workers after declaring
    its outputs).
    """

    def __init__(self, project: Project):
        self.project = project
        self.settings = project.settings
        self.base = self.settings.site.base_url
        self._env: tuple[Any, dict[str, Any]] | None = None
        self._templates: dict[str, Any] = {}

    @property
    def common(self) -> dict[str, Any]:
        """The values every page uses (site, base, postal_address)."""
        return self._context()[1]

    def _context(self) -> tuple[Any, dict[str, Any]]:
        if self._env is None:
            self._env = _context(self.settings)
        return self._env

    def template(self, name: str) -> Any:
        """A compiled template of the environment, loaded once."""
        found = self._templates.get(name)
        if found is None:
            found = self._templates[name] = self._context()[0].get_template(name)
        return found

    @cached_property
    def language(self) -> Language:
        """The language the pages are written in."""
        return for_settings(self.settings)

    @cached_property
    def published(self) -> list[Post]:
        """The project's published posts, newest first."""
        return self.project.published

    def post_page(self, post: Post) -> str:
        """A post's page, for ``public/<post_page_path(post, base)>``."""
        return self.template("site/post.html").render(
            self.common,
            post=post,
            canonical=post.url,
            categories=[(name, category_slug(name)) for name in post.categories],
            tags=[(name, category_slug(name)) for name in post.tags],
            cta=post_cta(post, self.settings),
        )

    def listing(self, archive: bool) -> str:
        """The site index (``index.html``: recent posts with summaries) or the archive (``posts/index.html``)."""
        language = self.language
        published = self.published
        template = self.template("site/index.html")
        if archive:
            return template.render(
                self.common,
                heading=language.gettext("All posts"),
                intro=language.ngettext("%(num)s post, newest first.", "%(num)s posts, newest first.", len(published)),
                posts=published,
                show_summaries=False,
                more=False,
                total=len(published),
                canonical=self.base + "posts/",
            )
        return template.render(
            self.common,
            heading=language.gettext("Recent posts"),
            intro="",
            posts=published[:INDEX_POSTS],
            show_summaries=True,
            more=len(published) > INDEX_POSTS,
            total=len(published),
            canonical=self.base,
        )

    def taxonomy_page(self, kind: str, name: str, slug: str, members: Sequence[Post]) -> str:
        """One category or tag page: an entry of :func:`newsletter.addresses.taxonomy_pages`."""
        return render_taxonomy_page(self, kind, name, slug, members)

    def redirect(self, post: Post) -> str:
        """The page at one of ``post.aliases`` that leads to the post."""
        return self.template("site/redirect.html").render(self.common, post=post)

    def digests_index(self, messages: Sequence[OutboxEntry]) -> str:
        """The archive of the digests in the outbox (``digests/index.html``)."""
        return self.template("site/digests.html").render(
            self.common, messages=messages, canonical=self.base + "digests/"
        )

    def subscribe_page(self) -> str:
        """The subscribe form (``subscribe/index.html``): it posts to the subscription service."""
        service = self.settings.service.url
        action = (service if service.endswith("/") else service + "/") + "subscribe"
        return self.template("site/subscribe.html").render(
            self.common, action=action, canonical=self.base + "subscribe/"
        )


def site_renderer(project: Project) -> SiteRenderer:
    """The :class:`SiteRenderer` of this Project object, made on first use."""
    return per_project(_RENDERERS, project, SiteRenderer)  # type: ignore[arg-type]


def render_post_pages(project: Project, posts: Iterable[Post]) -> Iterator[tuple[str, str]]:
    """Each post's page: (path relative to public/, HTML)."""
    renderer = site_renderer(project)
    base = renderer.base
    for post in posts:
        yield post_page_path(post, base), renderer.post_page(post)


def render_site(
    project: Project,
    messages: Sequence[OutboxEntry] | None,
    skip: Callable[[str, Sequence[Post]], bool] | None = None,
    post_pages: bool = True,
) -> dict[str, str]:
    """Render the pages of the web side, by path relative to public/.

    ``skip(path, posts)`` may say that a page made from these posts is up
    to date already (the build cache knows); such pages are not rendered.
    With ``post_pages`` false, the posts' own pages are left to the caller
    (the build renders them in several processes). With ``messages`` None,
    so is the digest archive (see :func:`render_digests_index`).
    """
    settings = project.settings
    renderer = site_renderer(project)
    published = renderer.published
    pages: dict[str, str] = {}
    if post_pages and not settings.site.post_url:
        base = settings.site.base_url
        todo = [p for p in published if skip is None or not skip(post_page_path(p, base), [p])]
        pages.update(render_post_pages(project, todo))
    for path, (kind, name, slug, members) in taxonomy_pages(published).items():
        if skip is None or not skip(path, members):
            pages[path] = renderer.taxonomy_page(kind, name, slug, members)
    pages.update(render_redirects(project, skip))
    for path in ("index.html", "posts/index.html"):
        if skip is None or not skip(path, published):
            pages[path] = renderer.listing(archive=path != "index.html")
    if messages is not None:
        pages["digests/index.html"] = renderer.digests_index(messages)
    return pages


def redirect_pages(settings: Any, published: Sequence[Post]) -> Iterator[tuple[str, Post]]:
    """Each page at an old address of a post (its ``aliases``): (path relative to public/, post)."""
    base_path = urlsplit(settings.site.base_url).path or "/"
    own_pages = not settings.site.post_url
    for post in published:
        own = page_path(post.url, settings.site.base_url) if own_pages else None
        for alias in post.aliases:
            path = alias_page(alias, base_path)
            if path is not None and path != own:
                yield path, post


def render_redirects(project: Project, skip: Callable[[str, Sequence[Post]], bool] | None = None) -> dict[str, str]:
    """A small page at each old address of a post (its ``aliases``) that leads to the post."""
    renderer = site_renderer(project)
    return {
        path: renderer.redirect(post)
        for path, post in redirect_pages(project.settings, renderer.published)
        if skip is None or not skip(path, [post])
    }


def render_digests_index(project: Project, messages: Sequence[OutboxEntry]) -> str:
    """The archive of the digests in the outbox."""
    return site_renderer(project).digests_index(messages)


def render_subscribe_page(project: Project) -> str:
    """The subscribe form of the web side: it posts to the subscription service (``[service] url``)."""
    return site_renderer(project).subscribe_page()
