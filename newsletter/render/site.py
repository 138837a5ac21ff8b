"""The web side: post pages, the site index, the post archive, the digest archive.

Pages are written in ``site.language`` (catalogs, dates and direction from
:mod:`newsletter.i18n`); a post's own ``lang:`` marks its article.

Every page uses the same URLs as the feeds and the digests link to. The
digests' web versions themselves (``digests/<week>.html``) are the outbox
messages' HTML, published by the build.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsletter.addresses import taxonomy_pages
from newsletter.i18n import Language, for_settings
from newsletter.load import Project
from newsletter.models import CallToAction, Post
from newsletter.permalinks import alias_page, page_path
from newsletter.render.content import default_cta, per_project
from newsletter.render.pages import Cards, Frame, frame_of
from newsletter.render.taxonomy import render_taxonomy_page
from newsletter.templates import environment, own_templates, package_environment

if TYPE_CHECKING:
    from newsletter.outbox import OutboxEntry

INDEX_POSTS = 30
# The templates of the web side's pages; each extends site/base.html or stands alone.
PAGE_TEMPLATES = (
    "site/post.html",
    "site/index.html",
    "site/taxonomy.html",
    "site/redirect.html",
    "site/digests.html",
    "site/subscribe.html",
)
_RENDERERS: dict[int, tuple[object, SiteRenderer]] = {}


def _common(settings: Any) -> dict[str, Any]:
    """The values every page uses."""
    return {"site": settings.site, "base": settings.site.base_url, "postal_address": settings.email.postal_address}


def post_page_path(post: Post, base_url: str) -> str:
    """Where a post's page goes, relative to public/ (see ``[site] post_path``)."""
    return page_path(post.url, base_url)


def page_template(settings: Any, name: str = "site/post.html") -> Any:
    """The compiled template of a page (in the environment :class:`SiteRenderer` uses): a post's by default."""
    return _environment(settings, for_settings(settings)).get_template(name)


def _environment(settings: Any, language: Language) -> Any:
    """The environment of the site's pages: ours alone unless the project has site templates (see SiteRenderer)."""
    if own_templates(settings.templates_dir, "site"):
        return environment(settings.templates_dir, language)
    return package_environment(language, settings.templates_dir)


class SiteRenderer:
    """Renders the web side's pages of one project, one file per call.

    Made once per project (:func:`site_renderer`) and reused for every page:
    it holds the template environment, the compiled templates, the values
    every page uses, the language and each post's entries in lists. All is
    made on first use, in whichever process that is (a build forks its
    workers after declaring its outputs).

    Where the project has no template of its own among ``site/`` (see
    :func:`newsletter.templates.own_templates`), every template taking
    part is ours: they run outside the sandbox and with their frames
    rendered once (:mod:`newsletter.render.pages`). Otherwise the project's
    templates run in the sandbox, page by page, as they are.
    """

    def __init__(self, project: Project):
        self.project = project
        self.settings = project.settings
        self.base = self.settings.site.base_url
        self._env: tuple[Any, dict[str, Any]] | None = None
        self._templates: dict[str, Any] = {}
        self._frames: dict[str, Frame | None] = {}

    @property
    def common(self) -> dict[str, Any]:
        """The values every page uses (site, base, postal_address)."""
        return self._context()[1]

    def _context(self) -> tuple[Any, dict[str, Any]]:
        if self._env is None:
            if self.ours:
                env = package_environment(self.language, self.settings.templates_dir)
            else:
                env = environment(self.settings.templates_dir, self.language)
            self._env = env, _common(self.settings)
        return self._env

    @cached_property
    def ours(self) -> bool:
        """Whether every site template is one of ours (none of the project's can take part)."""
        return not own_templates(self.settings.templates_dir, "site")

    def prepare(self) -> SiteRenderer:
        """Compile every template and load the catalog now (each is otherwise made on first use).

        A build that forks workers calls this first: they then share it all
        instead of each compiling the templates again.
        """
        for name in PAGE_TEMPLATES:
            self.template(name)
            self.render_frame(name)
        self.cards.template.blocks  # noqa: B018 (made on first use)
        self.language.translations  # noqa: B018
        self.language.date(datetime.date(2000, 1, 1))  # Babel's data of the locale, read once here
        return self

    def template(self, name: str) -> Any:
        """A compiled template of the environment, loaded once."""
        found = self._templates.get(name)
        if found is None:
            found = self._templates[name] = self._context()[0].get_template(name)
        return found

    def render_frame(self, name: str) -> Frame | None:
        """The frame of template ``name`` (see :class:`Frame`), None where pages are rendered whole."""
        frame = self._frames.get(name, False)
        if frame is False:
            frame = self._frames[name] = frame_of(self.template(name), self.common) if self.ours else None
        return frame

    def render(self, name: str, /, **values: Any) -> str:
        """The page of template ``name`` for these values (besides the common ones)."""
        frame = self.render_frame(name)
        if frame is None:
            return str(self.template(name).render(self.common, **values))
        return frame.render(values)

    def render_bytes(self, name: str, /, **values: Any) -> bytes:
        """:meth:`render`, encoded in UTF-8 (for a file)."""
        frame = self.render_frame(name)
        if frame is None:
            return str(self.template(name).render(self.common, **values)).encode("utf-8")
        return frame.render_bytes(values)

    @cached_property
    def cards(self) -> Cards:
        """Each post's entries in lists of posts, from our ``site/cards.html`` (see :class:`Cards`).

        Always ours, outside the sandbox: no project template takes part in
        them (a project changes its lists by overriding ``site/index.html``
        or ``site/taxonomy.html``, which are given the posts too).
        """
        cards = package_environment(self.language, self.settings.templates_dir).get_template("site/cards.html")
        return Cards(cards, self.common)

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
        return self.render("site/post.html", **self._post_values(post))

    def post_page_bytes(self, post: Post) -> bytes:
        """:meth:`post_page` encoded in UTF-8, as the build writes it."""
        return self.render_bytes("site/post.html", **self._post_values(post))

    def _post_values(self, post: Post) -> dict[str, Any]:
        """The values of a post's page besides the common ones."""
        cards = self.cards
        categories, tags, links = cards.taxonomy(post)
        iso_date, long_date = cards.dates(post)
        return {
            "post": post,
            "canonical": post.url,
            "iso_date": iso_date,
            "long_date": long_date,
            "categories": categories,
            "tags": tags,
            "taxonomy_links": links,
            "references": list(enumerate(post.references, start=1)),
            "cta": post.cta if post.cta is not None else self.default_cta,
        }

    @cached_property
    def default_cta(self) -> CallToAction | None:
        """The newsletter's call-to-action, for posts without their own (see :func:`post_cta`)."""
        return default_cta(self.settings)

    def listing(self, archive: bool) -> str:
        """The site index (``index.html``: recent posts with summaries) or the archive (``posts/index.html``)."""
        language = self.language
        published = self.published
        if archive:
            return self.render(
                "site/index.html",
                heading=language.gettext("All posts"),
                intro=language.ngettext("%(num)s post, newest first.", "%(num)s posts, newest first.", len(published)),
                posts=published,
                cards=self.cards.join("listing_card", published, show_summaries=False, keep=False),  # shown once
                show_summaries=False,
                more=False,
                total=len(published),
                canonical=self.base + "posts/",
            )
        return self.render(
            "site/index.html",
            heading=language.gettext("Recent posts"),
            intro="",
            posts=published[:INDEX_POSTS],
            cards=self.cards.join("listing_card", published[:INDEX_POSTS], show_summaries=True),
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
        return self.render("site/redirect.html", post=post)

    def digests_index(self, messages: Sequence[OutboxEntry]) -> str:
        """The archive of the digests in the outbox (``digests/index.html``)."""
        return self.render("site/digests.html", messages=messages, canonical=self.base + "digests/")

    def subscribe_page(self) -> str:
        """The subscribe form (``subscribe/index.html``): it posts to the subscription service."""
        service = self.settings.service.url
        action = (service if service.endswith("/") else service + "/") + "subscribe"
        return self.render("site/subscribe.html", action=action, canonical=self.base + "subscribe/")


def site_renderer(project: Project) -> SiteRenderer:
    """The :class:`SiteRenderer` of this Project object, made on first use."""
    return per_project(_RENDERERS, project, SiteRenderer)  # type: ignore[arg-type]


# Pages made from the settings and what they show alone, as SiteRenderer makes them: for a helper process
# (see newsletter.engine.Output.job), which has no project.


def post_page_bytes(settings: Any, post: Post) -> bytes:
    """A post's page (:meth:`SiteRenderer.post_page_bytes`)."""
    return site_renderer(Project(settings=settings, posts=[post], warnings=[], now=post.date)).post_page_bytes(post)


def digests_index(settings: Any, messages: Sequence[OutboxEntry]) -> str:
    """The archive of the digests in the outbox (:meth:`SiteRenderer.digests_index`)."""
    never = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    return site_renderer(Project(settings=settings, posts=[], warnings=[], now=never)).digests_index(messages)


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
    so is the digest archive (see :func:`digests_index`).
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


def render_subscribe_page(project: Project) -> str:
    """The subscribe form of the web side: it posts to the subscription service (``[service] url``)."""
    return site_renderer(project).subscribe_page()
