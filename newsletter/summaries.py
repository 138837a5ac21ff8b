"""Summaries: the text of a body's first paragraph, shortened, without citation markers.

Every post without a ``summary:`` gets one, so this runs for most posts of a
cold build; each step checks first whether it has anything to do (most
paragraphs are already single-spaced, hold no entity and no space before a
full stop), which takes a fraction of doing it.
"""

from __future__ import annotations

import re

_ANY_TAG = re.compile(r"<[^>]*>")
_MARKER_TEXT = re.compile(r"\[[1-9][0-9]*\]")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[.,;:!?])")


def single_spaced(text: str) -> str:
    """``" ".join(text.split())``: words separated by one space, without making the words when they already are."""
    if text[:1] == " " or text[-1:] == " " or "  " in text:
        return " ".join(text.split())
    if text.isascii():  # the usual case: each ASCII character split() splits at looked for (memchr each,
        # three times as fast as deleting them all from the bytes with one translate)
        if (
            "\n" in text or "\t" in text or "\r" in text or "\x0b" in text or "\x0c" in text
            or "\x1c" in text or "\x1d" in text or "\x1e" in text or "\x1f" in text
        ):  # fmt: skip
            return " ".join(text.split())
        return text
    # Every other character split() splits at is unprintable (a control character or a Unicode separator).
    return text if text.isprintable() else " ".join(text.split())


def first_paragraph(html: str) -> str:
    """The text of the first paragraph of rendered HTML."""
    text = _first_paragraph_spaced(html)
    if "&" not in text:
        return text
    import html as html_module

    return html_module.unescape(text)


def _first_paragraph_spaced(html: str) -> str:
    """The first paragraph's text, single-spaced, its character references not yet decoded."""
    # The first "<p>...</p>" (two finds: a lazy regex match costs more).
    start = html.find("<p>")
    end = html.find("</p>", start + 3) if start >= 0 else -1
    if end < 0:
        return ""
    paragraph = html[start + 3 : end]
    return single_spaced(_ANY_TAG.sub("", paragraph) if "<" in paragraph else paragraph)


def summary_of(html: str, limit: int = 280) -> str:
    """``summarize(first_paragraph(html), limit)``, making the text single-spaced once, not twice."""
    text = _first_paragraph_spaced(html)
    return _shortened(text, limit) if "&" not in text else summarize(first_paragraph(html), limit)


def _without_markers(text: str) -> str:
    """``text`` less every citation marker and the space before it (`` [1]``).

    A pattern starting with an optional space (`` ?\\[``) is tried at every
    character; one starting with ``[`` is not. The space before a marker is
    never part of the marker before it, which ends with ``]``.
    """
    out: list[str] = []
    last = 0
    for m in _MARKER_TEXT.finditer(text):
        start = m.start()
        if start and text[start - 1] == " ":
            start -= 1
        out.append(text[last:start])
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def summarize(text: str, limit: int = 280) -> str:
    """Shorten plain text to ``limit`` characters at a word boundary, without citation markers."""
    return _shortened(single_spaced(text), limit)  # single spaces: patterns without \s are three times as fast


def _shortened(text: str, limit: int) -> str:
    """:func:`summarize` of single-spaced text."""
    if "[" in text:
        text = _without_markers(text).strip()
    # Every space before a punctuation mark goes (a lookahead: the replacement is no template).
    # One pass, which gives the text back when there is none: faster than looking for each first.
    text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-–—")
    return cut + "…"
