"""Slugs for post URLs and category feeds (python-slugify)."""

from __future__ import annotations

import re
from functools import lru_cache

MAX_LENGTH = 80
_DIGIT_COMMA = re.compile(r"(?<=[0-9]),(?=[0-9])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def make_slug(text: str) -> str:
    """A URL-safe slug for a title: lower case ASCII words joined by '-'."""
    if text.isascii() and "&" not in text and "'" not in text:
        # What python-slugify does to such text (no transliteration, no HTML
        # entity, no quote), without its dozen passes over it.
        slug = text.lower()
        if "," in slug:
            slug = _DIGIT_COMMA.sub("", slug)
        slug = _NOT_ALNUM.sub("-", slug).strip("-")
        if len(slug) < MAX_LENGTH:  # else cut at a word boundary, as slugify does
            return slug
    from slugify import slugify

    return slugify(text, max_length=MAX_LENGTH, word_boundary=True)


def category_slug(name: str) -> str:
    """The file name (without .xml) of a category's feed."""
    return make_slug(name)
