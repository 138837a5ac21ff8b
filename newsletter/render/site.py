"""The web side: post pages, the site index, the post archive, the digest archive.

Pages are written in ``site.language`` (catalogs, dates and direction from
:mod:`newsletter.i18n`); a post's own ``lang:`` marks its article.

Every page uses the same URLs as the feeds and the digests link to. The
digests' web versions themselves (``digests/<week>.html``) are the outbox
messages' HTML, published by the build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsletter.i18n import for_settings
from newsletter.load import Project
from newsletter.models import Post
from newsletter.permalinks import alias_page, page_path
from newsletter.render.content import post_cta
from newsletter.render.taxonomy import render_taxonomy_pages
from newsletter.slugs import category_slug
from newsletter.templates import environment

if TYPE_CHECKING:
    from newsletter.outbox import OutboxEntry

INDEX_POSTS = 30


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


def render_post_pages(project: Project, posts: Iterable[Post]) -> Iterator[tuple[str, str]]:
    """Each post's page: (path relative to public/, HTML)."""
    settings = project.settings
    _env, common = _context(settings)
    template = page_template(settings)
    base = settings.site.base_url
    for post in posts:
        yield (
            post_page_path(post, base),
            template.render(
                common,
                post=post,
                canonical=post.url,
                categories=[(name, category_slug(name)) for name in post.categories],
                tags=[(name, category_slug(name)) for name in post.tags],
                cta=post_cta(post, settings),
            ),
        )


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
    env, common = _context(settings)
    published = project.published
    pages: dict[str, str] = {}
    if post_pages and not settings.site.post_url:
        base = settings.site.base_url
        todo = [p for p in published if skip is None or not skip(post_page_path(p, base), [p])]
        pages.update(render_post_pages(project, todo))
    pages.update(render_taxonomy_pages(env, common, settings, published, skip))
    pages.update(render_redirects(env, common, settings, published, skip))
    listing = env.get_template("site/index.html")
    for path in ("index.html", "posts/index.html"):
        if skip is None or not skip(path, published):
            pages[path] = _listing(listing, common, settings, published, archive=path != "index.html")
    if messages is not None:
        pages["digests/index.html"] = render_digests_index(project, messages)
    return pages


def render_redirects(
    env: Any, common: dict[str, Any], settings: Any, published: Sequence[Post],
    skip: Callable[[str, Sequence[Post]], bool] | None = None,
) -> dict[str, str]:  # fmt: skip
    """A small page at each old address of a post (its ``aliases``) that leads to the post."""
    base_path = urlsplit(settings.site.base_url).path or "/"
    template = env.get_template("site/redirect.html")
    pages: dict[str, str] = {}
    own_pages = not settings.site.post_url
    for post in published:
        own = page_path(post.url, settings.site.base_url) if own_pages else None
        for alias in post.aliases:
            path = alias_page(alias, base_path)
            if path is not None and path != own and (skip is None or not skip(path, [post])):
                pages[path] = template.render(common, post=post)
    return pages


def render_digests_index(project: Project, messages: Sequence[OutboxEntry]) -> str:
    """The archive of the digests in the outbox."""
    env, common = _context(project.settings)
    return env.get_template("site/digests.html").render(
        common, messages=messages, canonical=project.settings.site.base_url + "digests/"
    )


def render_subscribe_page(project: Project) -> str:
    """The subscribe form of the web side: it posts to the subscription service (``[service] url``)."""
    env, common = _context(project.settings)
    service = project.settings.service.url
    action = (service if service.endswith("/") else service + "/") + "subscribe"
    return env.get_template("site/subscribe.html").render(
        common, action=action, canonical=project.settings.site.base_url + "subscribe/"
    )


def _listing(template: Any, common: dict[str, Any], settings: Any, published: list[Post], archive: bool) -> str:
    """The site index (recent posts with summaries) or the archive of all posts."""
    language = for_settings(settings)
    if archive:
        return template.render(
            common,
            heading=language.gettext("All posts"),
            intro=language.ngettext("%(num)s post, newest first.", "%(num)s posts, newest first.", len(published)),
            posts=published,
            show_summaries=False,
            more=False,
            total=len(published),
            canonical=settings.site.base_url + "posts/",
        )
    return template.render(
        common,
        heading=language.gettext("Recent posts"),
        intro="",
        posts=published[:INDEX_POSTS],
        show_summaries=True,
        more=len(published) > INDEX_POSTS,
        total=len(published),
        canonical=settings.site.base_url,
    )
