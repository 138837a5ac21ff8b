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
    the smallest of them so it does not depend on post order. A post is
    listed once under a slug, whichever of its names have it.
    """
    by_name: dict[str, list[Post]]
    if limit <= 0:  # the names alone (a check of addresses)
        by_name = dict.fromkeys((name for post in posts for name in names_of(post)), [])
    else:
        by_name = {}
        for post in posts:
            for name in names_of(post):
                found = by_name.get(name)
                if found is None:
                    by_name[name] = [post]
                elif found[-1] is not post:  # one name twice on one post
                    found.append(post)
    names_of_slug: dict[str, list[str]] = {}
    for name in by_name:  # in the order first seen, like the slugs
        names_of_slug.setdefault(category_slug(name), []).append(name)
    grouped: dict[str, tuple[str, list[Post]]] = {}
    for slug, names in names_of_slug.items():
        if limit <= 0:
            members = []
        elif len(names) == 1:
            members = by_name[names[0]]
        else:  # the posts of any of the names, in the given order, once each
            wanted = {id(post) for name in names for post in by_name[name]}
            members = [post for post in posts if id(post) in wanted]
        grouped[slug] = (min(names), members[:limit] if len(members) > limit else members)
    return grouped


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
