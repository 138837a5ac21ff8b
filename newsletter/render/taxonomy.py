"""The web pages of categories and tags: ``categories/<slug>/`` and ``tags/<slug>/``.

Each lists every published post filed under that name, newest first, and a
category's page links to its RSS feed (``categories/<slug>.xml``) when the
project writes those. Post pages link here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from newsletter.addresses import taxonomy_pages
from newsletter.i18n import for_settings
from newsletter.models import Post


def render_taxonomy_pages(
    env: Any, common: dict[str, Any], settings: Any, published: Sequence[Post],
    skip: Callable[[str, Sequence[Post]], bool] | None = None,
) -> dict[str, str]:  # fmt: skip
    """The HTML of every category and tag page that ``skip(path, posts)`` does not call up to date."""
    template = env.get_template("site/taxonomy.html")
    base = settings.site.base_url
    language = for_settings(settings)
    result: dict[str, str] = {}
    for path, (kind, name, slug, members) in taxonomy_pages(published).items():
        if skip is not None and skip(path, members):
            continue
        feed = f"{base}categories/{slug}.xml" if kind == "categories" and settings.feed.categories else ""
        count = len(members)
        result[path] = template.render(
            common,
            heading=(
                language.gettext("Category: %(name)s", name=name)
                if kind == "categories"
                else language.gettext("Tag: %(name)s", name=name)
            ),
            name=name,
            intro=language.ngettext("%(num)s post, newest first.", "%(num)s posts, newest first.", count),
            posts=members,
            feed=feed,
            canonical=f"{base}{kind}/{slug}/",
        )
    return result
