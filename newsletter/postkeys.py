"""Front-matter keys: which are known, which other tools' keys pass silently, and the newer ones.

Posts copied in from Jekyll, Hugo or WordPress carry keys of their own
(``layout``, ``permalink``, ``comments``...). The common ones are ignored
without a word; ``[load] ignore_keys`` adds more; any other unknown key is a
warning, with a "did you mean" for a near miss of a known key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from newsletter.config import suggestion
from newsletter.permalinks import alias_page

KNOWN_KEYS = (
    "title", "date", "updated", "author", "categories", "tags", "summary", "slug", "draft", "published",
    "references", "cta", "aliases", "lang", "status", "description", "excerpt", "url",
)  # fmt: skip
_KNOWN = frozenset(KNOWN_KEYS)
# Other names of the summary (Hugo's description, Jekyll's excerpt), used when there is no summary.
SUMMARY_KEYS = ("summary", "description", "excerpt")
# Pelican's and WordPress's words for a post that is not public (``status: draft``).
NOT_PUBLIC = frozenset({"draft", "hidden", "private", "pending", "future", "trash"})
# Keys of other generators and themes that only shape their pages (Jekyll, Hugo, Pelican, WordPress
# exports). Keys that decide what is public or when (status, hidden, publishdate, expirydate) are not
# here: they warn, since ignoring one silently could publish what was not public.
IGNORED_KEYS = frozenset({
    "layout", "permalink", "comments", "share", "excerpt_separator", "toc", "toc_label", "toc_sticky",
    "weight", "menu", "menus", "type", "featured_image", "image", "images", "header", "sidebar",
    "author_profile", "read_time", "related", "show_date", "mathjax", "math", "katex", "highlight",
    "disqus", "disqus_identifier", "comments_locked", "classes", "thumbnail", "cover", "hero", "banner",
    "keywords", "series", "showtoc", "tocopen", "hidemeta", "sitemap", "output", "outputs", "markup",
    "guid", "wordpress_id", "wp_id", "subtitle", "og_image", "twitter", "feature", "featured", "template",
    "disqus_title", "disqus_url", "section", "topics",
})  # fmt: skip
_LANG = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
Report = Callable[[str, str], None]  # (key, message)


def fold_keys(data: dict[str, Any], lines: dict[str, int]) -> None:
    """Read ``Title:``, ``Date:``, ``Tags:`` as ``title``... (Hugo and Pelican ignore the case of keys).

    A key is renamed only when its lower-case form is a known key the post
    does not also hold; ``lines`` follow the new names.
    """
    if _KNOWN.issuperset(data):  # the usual post: known keys only, all lower-case
        return
    for key in [key for key in data if isinstance(key, str) and not key.islower()]:
        lower = key.lower()
        if lower in KNOWN_KEYS and lower not in data:
            data[lower] = data.pop(key)
            for name in [name for name in lines if name == key or name.startswith(key + ".")]:
                lines[lower + name[len(key) :]] = lines.pop(name)


def unknown_key_warnings(data: dict[str, Any], ignore: tuple[str, ...]) -> list[tuple[str, str]]:
    """(key, message) for each key that is neither known nor ignored."""
    if _KNOWN.issuperset(data):  # the usual post
        return []
    extra = {name.lower() for name in ignore}
    found = []
    for key in map(str, data):
        if key in KNOWN_KEYS or key.lower() in IGNORED_KEYS or key.lower() in extra:
            continue
        found.append((key, f"unknown front-matter key {key!r} is ignored{suggestion(key, list(KNOWN_KEYS))}"))
    return found


def read_draft(data: dict[str, Any], err: Report, warn: Report) -> bool:
    """Whether the post is a draft: ``draft: true`` or Jekyll's ``published: false`` (said in a warning)."""
    draft = data.get("draft", False)
    if not isinstance(draft, bool):
        err("draft", "draft must be true or false")
        draft = True
    if "published" in data:
        published = data["published"]
        if not isinstance(published, bool):
            err("published", "published must be true or false")
            return True
        if not published:
            warn("published", "'published: false' is read as 'draft: true': the post is not published")
            return True
    status = data.get("status")
    if isinstance(status, str) and status.strip().lower() in NOT_PUBLIC:
        warn("status", f"'status: {status.strip()}' is read as 'draft: true': the post is not published")
        return True
    return draft


def read_lang(data: dict[str, Any], err: Report) -> str:
    """The post's own language tag (``lang: es``), or ""."""
    value = data.get("lang")
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not _LANG.match(value.strip()):
        err("lang", f"lang must be a language tag such as fr or pt-BR, not {value!r}")
        return ""
    return value.strip()


def read_aliases(data: dict[str, Any], base_path: str, err: Report, warn: Report) -> tuple[str, ...]:
    """The post's old addresses (``aliases: [/2017/07/11/my-post/]``), each one a page under public/.

    Hugo's ``url`` (the address the page had there) is one more.
    """
    if "aliases" not in data and "url" not in data:  # the usual post
        return ()
    value = data.get("aliases")
    items = [] if value in (None, "") else [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        err("aliases", "aliases must be a list of old addresses such as /2017/07/11/my-post/")
        return ()
    old = data.get("url")
    if old not in (None, ""):
        # Relative to the old site's root, with or without the leading "/" (as Hugo reads it).
        address = "/" + old.strip().lstrip("/") if isinstance(old, str) and ":" not in old else None
        if address is not None and alias_page(address, base_path) is not None:
            items = [*items, address]
        else:
            warn("url", f"url {old!r} is ignored: an old address such as /2017/07/my-post/ gets a redirect page")
    found: list[str] = []
    for item in items:
        alias = item.strip()
        if alias_page(alias, base_path) is None:
            where = f" (site.url is under {base_path})" if base_path != "/" and alias.startswith("/") else ""
            err("aliases", f"alias {alias!r} is not an address on this site such as /2017/07/my-post/{where}")
        elif alias not in found:
            found.append(alias)
    return tuple(found)


# Hugo shortcodes and Liquid tags, as they look in rendered HTML (outside code, where they are examples).
_TEMPLATE_CODE = re.compile(r"\{\{(?:&lt;|%)|\{%")
_CODE = re.compile(r"<(pre|code)\b[^>]*>.*?</\1>", re.DOTALL)
_WRITTEN = re.compile(r"\{\{[<%]|\{%")


def template_code(html: str, body: str) -> int | None:
    """The line offset in ``body`` of the first Hugo shortcode or Liquid tag shown as text, or None."""
    if "{" not in html or ("{{" not in html and "{%" not in html) or not _TEMPLATE_CODE.search(_CODE.sub("", html)):
        return None
    return next((offset for offset, line in enumerate(body.split("\n")) if _WRITTEN.search(line)), 0)
