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


def group_names(
    posts: Sequence[Post], limit: int, names_of: Callable[[Post], tuple[str, ...]]
) -> dict[str, tuple[str, list[Post]]]:
    """Map each slug of the names ``names_of(post)`` to a display name and its first ``limit`` posts.

    Names that differ only in case or punctuation share a slug; its name is
    the smallest of them so it does not depend on post order.
    """
    slugs: dict[str, str] = {}
    groups: dict[str, tuple[str, list[Post]]] = {}
    for post in posts:
        for name in names_of(post):
            slug = slugs.get(name)
            if slug is None:
                slug = slugs[name] = category_slug(name)
            known, members = groups.get(slug, (name, []))
            groups[slug] = (min(known, name), members)
            # Two names of one slug on one post must not list it twice.
            if len(members) < limit and (not members or members[-1] is not post):
                members.append(post)
    return groups


def taxonomy_pages(posts: Sequence[Post]) -> dict[str, tuple[str, str, str, list[Post]]]:
    """Every category and tag page: path under public/ -> (kind, name, slug, posts in the given order)."""
    pages: dict[str, tuple[str, str, str, list[Post]]] = {}
    for kind in TAXONOMIES:
        names_of: Callable[[Post], tuple[str, ...]] = (
            (lambda post: post.categories) if kind == "categories" else (lambda post: post.tags)
        )
        for slug, (name, members) in sorted(group_names(posts, len(posts), names_of).items()):
            pages[f"{kind}/{slug}/index.html"] = (kind, name, slug, members)
    return pages


def check_addresses(posts: Sequence[Post], settings: object, problems: Problems) -> None:
    """Record an error for each post page or old address that would take another output's file."""
    site = settings.site  # type: ignore[attr-defined]
    base = site.base_url
    base_path = urlsplit(base).path or "/"
    live = [post for post in posts if not post.draft]
    claimed = dict(FIXED_PAGES)
    for path, (kind, name, _slug, _members) in taxonomy_pages(live).items():
        claimed[path] = f"the page of the {kind[:-1] if kind == 'tags' else 'category'} {name!r}"
    if not site.post_url:
        pages: dict[str, str] = {}
        for post in live:
            path = page_path(post.url, base)
            if path in claimed:
                where = post.line_of("slug") if "slug" in post.lines else post.line_of("title")
                problems.error(post.path, where, f"this post's page public/{path} would replace {claimed[path]}")
            pages.setdefault(path, f"the page of {post.display_path}")  # two posts at one URL: reported already
        claimed.update(pages)
    for post in live:
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
                    post.path, post.line_of("aliases"), f"alias {alias!r} would replace {other} (public/{path})"
                )
                continue
            claimed[path] = f"an alias of {post.display_path}"
