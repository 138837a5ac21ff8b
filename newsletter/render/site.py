"""The web side: post pages, the site index, the post archive, the digest archive.

Every page uses the same URLs as the feeds and the digests link to. The
digests' web versions themselves (``digests/<week>.html``) are the outbox
messages' HTML, published by the build.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newsletter.load import Project
from newsletter.models import Post
from newsletter.render.content import post_cta
from newsletter.slugs import category_slug
from newsletter.templates import environment

if TYPE_CHECKING:
    from newsletter.outbox import OutboxEntry

INDEX_POSTS = 30


def longdate(value: datetime) -> str:
    """``18 November 2026`` (no locale, no platform-specific strftime)."""
    return f"{value.day} {value:%B %Y}"


def render_site(
    project: Project,
    messages: Sequence[OutboxEntry],
    skip: Callable[[str, Sequence[Post]], bool] | None = None,
) -> dict[str, str]:
    """Render every page of the web side, by path relative to public/.

    ``skip(path, posts)`` may say that a page made from these posts is up
    to date already (the build cache knows); such pages are not rendered.
    """
    settings = project.settings
    env = environment(settings.templates_dir)
    env.filters.setdefault("longdate", longdate)
    common: dict[str, Any] = {
        "site": settings.site,
        "base": settings.site.base_url,
        "postal_address": settings.email.postal_address,
    }
    published = project.published
    pages: dict[str, str] = {}
    if not settings.site.post_url:
        template = env.get_template("site/post.html")
        for post in published:
            path = f"posts/{post.slug}/index.html"
            if skip is not None and skip(path, [post]):
                continue
            pages[path] = template.render(
                common,
                post=post,
                canonical=post.url,
                categories=[(name, category_slug(name)) for name in post.categories],
                cta=post_cta(post, settings),
            )
    listing = env.get_template("site/index.html")
    for path in ("index.html", "posts/index.html"):
        if skip is None or not skip(path, published):
            pages[path] = _listing(listing, common, settings, published, archive=path != "index.html")
    pages["digests/index.html"] = env.get_template("site/digests.html").render(
        common, messages=messages, canonical=settings.site.base_url + "digests/"
    )
    return pages


def _listing(template: Any, common: dict[str, Any], settings: Any, published: list[Post], archive: bool) -> str:
    """The site index (recent posts with summaries) or the archive of all posts."""
    if archive:
        return template.render(
            common,
            heading="All posts",
            intro=f"{len(published)} posts, newest first.",
            posts=published,
            show_summaries=False,
            more=False,
            total=len(published),
            canonical=settings.site.base_url + "posts/",
        )
    return template.render(
        common,
        heading="Recent posts",
        intro="",
        posts=published[:INDEX_POSTS],
        show_summaries=True,
        more=len(published) > INDEX_POSTS,
        total=len(published),
        canonical=settings.site.base_url,
    )
