"""Slugs for post URLs and category feeds (python-slugify)."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def make_slug(text: str) -> str:
    """A URL-safe slug for a title: lower case ASCII words joined by '-'."""
    from slugify import slugify

    return slugify(text, max_length=80, word_boundary=True)


def category_slug(name: str) -> str:
    """The file name (without .xml) of a category's feed."""
    return make_slug(name)
