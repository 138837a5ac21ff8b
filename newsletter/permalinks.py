"""Where a post lives: its URL and its page's path, from ``[site] post_path`` or ``post_url``.

Both patterns take ``{year}``, ``{month}``, ``{day}`` (zero-padded, from the
post's date in the site's time zone) and ``{slug}``, so that a blog brought
across keeps its old addresses (``{year}/{month}/{day}/{slug}/``). Old
addresses a post had elsewhere (its ``aliases``) get small redirect pages.
"""

from __future__ import annotations

import posixpath
import re
from datetime import datetime
from typing import Any
from urllib.parse import unquote

PLACEHOLDERS = ("year", "month", "day", "slug")
DEFAULT_POST_PATH = "posts/{slug}/"
_ALIAS_OK = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$")


def fill(pattern: str, slug: str, year: int, month: int, day: int) -> str:
    """``pattern`` with its placeholders filled in."""
    return pattern.format(slug=slug, year=f"{year:04d}", month=f"{month:02d}", day=f"{day:02d}")


def post_address(site: Any, slug: str, when: datetime) -> str:
    """The absolute URL of a post: on an existing site (``post_url``) or this one (``post_path``)."""
    local = when.astimezone(site.tz)
    if site.post_url:
        return fill(site.post_url, slug, local.year, local.month, local.day)
    path = fill(site.post_path or DEFAULT_POST_PATH, slug, local.year, local.month, local.day)
    return site.base_url + path


def page_path(url: str, base_url: str) -> str:
    """The file under public/ that serves ``url`` (a URL under ``base_url``)."""
    path = url[len(base_url) :]
    return path + "index.html" if path.endswith("/") or not path else path


def alias_page(alias: str, base_path: str) -> str | None:
    """The file under public/ for an old address (``/2017/07/11/my-post/``); None when it cannot be one.

    The address is site-root-relative; under a site.url with a path
    (``https://example.org/blog/``) only addresses below that path can be
    served. Nothing ever lands outside public/.
    """
    if not _ALIAS_OK.match(alias) or "//" in alias:
        return None
    if not alias.startswith(base_path):
        return None
    rest = alias[len(base_path) :]
    if "%" in rest:
        if re.search(r"%(?![0-9A-Fa-f]{2})|%2[Ff]|%5[Cc]|%[01][0-9A-Fa-f]|%7[Ff]", rest):
            return None
        rest = unquote(rest)  # a web server looks for the decoded name
    parts = rest.split("/")
    if {".", ".."} & set(parts) or posixpath.normpath("/" + rest) != "/" + rest.rstrip("/") and rest:
        return None
    if not rest or rest.endswith("/"):
        return rest + "index.html"
    if rest.endswith((".html", ".htm")):
        return rest
    return rest + "/index.html"
