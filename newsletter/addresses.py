"""Which file under public/ each address claims: posts, category and tag pages, old addresses.

The loader checks here, before anything is rendered, that no post's page
and no redirect page of an old address (``aliases``) would take the file of
another output; such a clash is a ``path:line`` error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from newsletter.errors import Problems
from newsletter.models import Post
from newsletter.permalinks import alias_page, page_path
from newsletter.slugs import category_slug

TAXONOMIES = ("categories", "tags")
# Pages the build always writes, and who they are.
FIXED_PAGES = {"index.html": "the site index", "posts/index.html": "the list of posts",
               "digests/index.html": "the digest archive"}  # fmt: skip
_NAMES_OF: dict[str, Callable[[Post], tuple[str, ...]]] = {
    "categories": lambda post: post.categories,
    "tags": lambda post: post.tags,
}


def group_names(
    posts: Sequence[Post], limit: int, names_of: Callable[[Post], tuple[str, ...]]
) -> dict[str, tuple[str, list[Post]]]:
    """Map each slug of the names ``names_of(post)`` to a display name and its first ``limit`` posts.

    Names that differ only in case or punctuation share a slug; its name is
    the smallest of them so it does not depend on post order.
    """
    slugs: dict[str, str] = {}
    names: dict[str, str] = {}
    members_of: dict[str, list[Post]] = {}
    for post in posts:
        for name in names_of(post):
            slug = slugs.get(name)
            if slug is None:
                slug = slugs[name] = category_slug(name)
            members = members_of.get(slug)
            if members is None:
                members = members_of[slug] = []
                names[slug] = name
            elif name < names[slug]:
                names[slug] = name
            # Two names of one slug on one post must not list it twice.
            if len(members) < limit and (not members or members[-1] is not post):
                members.append(post)
    return {slug: (names[slug], members) for slug, members in members_of.items()}


def taxonomy_pages(posts: Sequence[Post]) -> dict[str, tuple[str, str, str, list[Post]]]:
    """Every category and tag page: path under public/ -> (kind, name, slug, posts in the given order)."""
    pages: dict[str, tuple[str, str, str, list[Post]]] = {}
    for kind in TAXONOMIES:
        for slug, (name, members) in sorted(group_names(posts, len(posts), _NAMES_OF[kind]).items()):
            pages[f"{kind}/{slug}/index.html"] = (kind, name, slug, members)
    return pages


def check_addresses(posts: Sequence[Post], settings: object, problems: Problems) -> None:
    """Record an error for each post page or old address that would take another output's file."""
    site = settings.site  # type: ignore[attr-defined]
    base = site.base_url
    base_path = urlsplit(base).path or "/"
    live = [post for post in posts if not post.draft]
    # What each file is claimed by: a description, or the post whose page it is
    # (described only for a message: ten thousand f-strings cost more than the check).
    claimed: dict[str, str | Post] = dict(FIXED_PAGES)
    for kind in TAXONOMIES:
        what = "tag" if kind == "tags" else "category"
        for slug, (name, _members) in group_names(live, 0, _NAMES_OF[kind]).items():
            claimed[f"{kind}/{slug}/index.html"] = f"the page of the {what} {name!r}"
    if not site.post_url:
        pages: dict[str, Post] = {}
        for post in live:
            path = page_path(post.url, base)
            if path in claimed:
                where = post.line_of("slug") if "slug" in post.lines else post.line_of("title")
                problems.error(post.path, where, f"this post's page public/{path} would replace {_who(claimed[path])}")
            pages.setdefault(path, post)  # two posts at one URL: reported already
        claimed.update(pages)
    for post in live:
        if not post.aliases:
            continue
        own = None if site.post_url else page_path(post.url, base)
        for alias in post.aliases:
            path = alias_page(alias, base_path)
            if path is None or path == own:
                continue  # reported by the loader; or the post is still at its old address
            other = claimed.get(path)
            if other is None and path.startswith(("media/", "digests/")):
                other = "a file the build writes"
            if other is not None:
                problems.error(
                    post.path, post.line_of("aliases"), f"alias {alias!r} would replace {_who(other)} (public/{path})"
                )
                continue
            claimed[path] = f"an alias of {post.display_path}"


def _who(claimant: str | Post) -> str:
    """What claims a file, in words."""
    return claimant if isinstance(claimant, str) else f"the page of {claimant.display_path}"
