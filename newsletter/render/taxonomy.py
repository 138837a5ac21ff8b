"""The web pages of categories and tags: ``categories/<slug>/`` and ``tags/<slug>/``.

Each lists every published post filed under that name, newest first, and a
category's page links to its RSS feed (``categories/<slug>.xml``) when the
project writes those. Post pages link here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from newsletter.addresses import taxonomy_pages
from newsletter.models import Post

if TYPE_CHECKING:
    from newsletter.load import Project
    from newsletter.render.site import SiteRenderer


def render_taxonomy_page(renderer: SiteRenderer, kind: str, name: str, slug: str, members: Sequence[Post]) -> str:
    """The HTML of one category (``kind`` "categories") or tag ("tags") page listing ``members``."""
    settings = renderer.settings
    base = renderer.base
    language = renderer.language
    feed = f"{base}categories/{slug}.xml" if kind == "categories" and settings.feed.categories else ""
    return renderer.render(
        "site/taxonomy.html",
        heading=(
            language.gettext("Category: %(name)s", name=name)
            if kind == "categories"
            else language.gettext("Tag: %(name)s", name=name)
        ),
        name=name,
        intro=language.ngettext("%(num)s post, newest first.", "%(num)s posts, newest first.", len(members)),
        posts=members,
        cards=renderer.cards.join("taxonomy_card", members),
        feed=feed,
        canonical=f"{base}{kind}/{slug}/",
    )


def render_taxonomy_pages(
    project: Project, skip: Callable[[str, Sequence[Post]], bool] | None = None
) -> dict[str, str]:
    """The HTML of every category and tag page that ``skip(path, posts)`` does not call up to date."""
    from newsletter.render.site import site_renderer

    renderer = site_renderer(project)
    return {
        path: renderer.taxonomy_page(kind, name, slug, members)
        for path, (kind, name, slug, members) in taxonomy_pages(renderer.published).items()
        if skip is None or not skip(path, members)
    }
