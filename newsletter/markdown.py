"""Markdown to safe HTML: CommonMark + tables, citation markers, absolute URLs.

The body of a post is parsed once with markdown-it-py. Citation markers such
as ``[1]`` (when they are not links) become
``<sup class="cite"><a href="POST_URL#ref-1">[1]</a></sup>``; renderers that
renumber references (the digest) rewrite that exact shape with
:func:`rewrite_citations`. The HTML is then sanitized with nh3, which also
makes every ``href`` and ``src`` absolute through one callback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline

CITE_RE = re.compile(r'<sup class="cite"><a href="[^"#]*#ref-(\d+)">\[\d+\]</a></sup>')
_MARKER = re.compile(r"\[([1-9][0-9]{0,3})\]")
SAFE_SCHEMES = {"http", "https", "mailto"}
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "sup": {"class"},
    "code": {"class"},
    "abbr": {"title"},
    "time": {"datetime"},
    "blockquote": {"cite"},
}
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "form", "textarea", "select", "template"}
# The HTML5 parser behind nh3 slows down with the square of the nesting of
# block elements (100,000 nested <div> take a minute): refuse such bodies.
MAX_HTML_DEPTH = 10_000
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# XML 1.0 cannot hold these; a character reference such as &#1; in raw HTML makes them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class BodyTooComplex(ValueError):
    """A body whose raw HTML nests deeper than :data:`MAX_HTML_DEPTH`."""


def _html_depth(html: str) -> int:
    """The deepest nesting of start tags (an overestimate: implied end tags count as open)."""
    depth = deepest = 0
    for m in _TAG.finditer(html):
        if m.group(1):
            depth = max(depth - 1, 0)
        elif not m.group(3) and m.group(2).lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _citation_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: ``[n]`` that is not a link becomes a citation token."""
    if state.src[state.pos] != "[":
        return False
    m = _MARKER.match(state.src, state.pos)
    if not m:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.meta = {"n": int(m.group(1))}
        token.content = m.group(0)
    state.pos = m.end()
    return True


def _render_citation(self, tokens, idx, options, env) -> str:  # type: ignore[no-untyped-def]
    n = tokens[idx].meta["n"]
    return f'<sup class="cite"><a href="#ref-{n}">[{n}]</a></sup>'


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """The shared CommonMark parser (with tables, strikethrough and citations)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.inline.ruler.after("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    return md


@dataclass
class RenderedBody:
    """What rendering one body found and produced."""

    html: str
    first_paragraph: str
    citations: list[tuple[int, int]] = field(default_factory=list)  # (n, line offset in body)
    local_urls: list[str] = field(default_factory=list)  # relative href/src seen, for the loader


def _walk_inline(tokens) -> tuple[str, list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
    """Collect citations (with line offsets) and the first paragraph's text."""
    citations: list[tuple[int, int]] = []
    first = ""
    in_paragraph = False
    for token in tokens:
        if token.type == "paragraph_open":
            in_paragraph = True
        elif token.type == "paragraph_close":
            in_paragraph = False
        if token.type != "inline" or not token.children:
            continue
        start = token.map[0] if token.map else 0
        offset = 0
        text_parts: list[str] = []
        for child in token.children:
            if child.type in ("softbreak", "hardbreak"):
                offset += 1
                text_parts.append(" ")
            elif child.type == "citation":
                citations.append((child.meta["n"], start + offset))
            elif child.type in ("text", "code_inline"):
                text_parts.append(child.content)
            elif child.type == "html_inline":
                offset += child.content.count("\n")  # a tag written over several lines
        if in_paragraph and not first:
            first = "".join(text_parts).strip()
    return first, citations


def render_markdown(text: str, resolve: Callable[[str, str, str], str | None]) -> RenderedBody:
    """Render a Markdown body to sanitized HTML.

    ``resolve(tag, attribute, value)`` returns the absolute URL for a link
    or image address (or None to drop it); it is called for every ``href``
    and ``src`` that survives sanitizing, raw HTML included. Raises
    :class:`BodyTooComplex` for raw HTML nested deeper than MAX_HTML_DEPTH.
    """
    import nh3

    md = parser()
    tokens = md.parse(text)
    first, citations = _walk_inline(tokens)
    raw = md.renderer.render(tokens, md.options, {})
    if _html_depth(raw) > MAX_HTML_DEPTH:
        raise BodyTooComplex(f"HTML nested deeper than {MAX_HTML_DEPTH:,} levels")
    failures: list[BaseException] = []

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in ("href", "src"):
            return value
        try:
            return resolve(tag, attribute, value)
        except BaseException as exc:  # nh3 would print it as "ignored" and drop the attribute
            failures.append(exc)
            return None

    html = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=SAFE_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )
    if failures:
        raise failures[0]
    return RenderedBody(html=_NOT_XML.sub("", html), first_paragraph=first, citations=citations)


def sanitize_fragment(html: str) -> str:
    """Sanitize a small HTML fragment with the same rules as post bodies."""
    import nh3

    return _NOT_XML.sub(
        "",
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            clean_content_tags=DROP_WITH_CONTENT,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=SAFE_SCHEMES,
            link_rel=None,
        ),
    )


def is_external(url: str) -> bool:
    """True for URLs with a scheme or a host (not files of the project)."""
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def absolute(url: str, base: str) -> str:
    """Resolve ``url`` against ``base`` (protocol-relative URLs become https)."""
    if url.startswith("//"):
        return "https:" + url
    return urljoin(base, url)


def rewrite_citations(html: str, href_and_label: Callable[[int], tuple[str, int]]) -> str:
    """Rewrite every citation marker of a rendered body.

    ``href_and_label(n)`` gives the new link target and number for the
    post's n-th reference (the digest renumbers across posts).
    """

    def replace(m: re.Match[str]) -> str:
        href, label = href_and_label(int(m.group(1)))
        return f'<sup class="cite"><a href="{href}">[{label}]</a></sup>'

    return CITE_RE.sub(replace, html)


def summarize(text: str, limit: int = 280) -> str:
    """Shorten plain text to ``limit`` characters at a word boundary."""
    text = re.sub(r"\s*\[[1-9][0-9]*\]", "", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-–—")
    return cut + "…"
