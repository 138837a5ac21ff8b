"""Markdown to safe HTML: CommonMark + tables, citation markers, absolute URLs.

The body of a post is parsed once with cmark-gfm (cmarkgfm: GitHub's C
CommonMark parser, about 18 times faster than markdown-it-py here and safe
with deep nesting). Citation markers such as ``[1]`` in text (not in links
or code) become
``<sup class="cite"><a href="POST_URL#ref-1">[1]</a></sup>``; renderers that
renumber references (the digest) rewrite that exact shape with
:func:`rewrite_citations`. The HTML is then sanitized with nh3, which also
makes every ``href`` and ``src`` absolute through one callback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from newsletter.commonmark import binding as _binding
from newsletter.commonmark import to_html as _cmark
from newsletter.mathspans import SENTINEL, protect
from newsletter.summaries import first_paragraph
from newsletter.summaries import summarize as summarize  # where it was first

CITE_RE = re.compile(r'<sup class="cite"><a href="[^"#]*#ref-(\d+)">\[\d+\]</a></sup>')
_MARKER = re.compile(r"\[([1-9][0-9]{0,3})\]")
SAFE_SCHEMES = {"http", "https", "mailto"}
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "section",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "class", "aria-label"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "scope", "align"},
    "ol": {"start"},
    "li": {"id"},
    "section": {"class"},
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
# How deep a body's elements may nest once sanitized (quotes, lists, tags).
# Past about 250 levels with the digest template around it, libxml2 (under
# premailer) silently flattens or drops elements, and every level indents
# the text part and the web page further; no real post comes near 100.
MAX_NESTING = 100
_OPEN_OR_CLOSE = re.compile(r"<(/?)([a-z][a-z0-9]*)")
_OUTPUT_VOID = {"br", "hr", "img", "input", "wbr"}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# XML 1.0 cannot hold these; a character reference such as &#1; in raw HTML makes them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def import_parsers() -> None:
    """Import what rendering a body may need (before forking workers, which then share it)."""
    import cmarkgfm.cmark  # noqa: F401
    import nh3  # noqa: F401

    from newsletter.slugs import make_slug

    make_slug("warm")


class BodyTooComplex(ValueError):
    """A body nested too deeply (:data:`MAX_HTML_DEPTH`, :data:`MAX_NESTING`)."""


def _to_html(text: str) -> str:
    """CommonMark + tables + strikethrough + footnotes; raw HTML kept (nh3 cleans it)."""
    return _cmark(text, _binding()[3])


# cmark-gfm's footnote markup, less its data-* attributes (the same HTML on both paths below).
_FOOTNOTE_DATA = re.compile(r' data-footnote(?:s|-ref|-backref|-backref-idx="\d+")(?=[ >])')
# Footnote ids are the only ids a body may hold: cmark's "fn-..." and "fnref-...".
_FOOTNOTE_ID = re.compile(r"^fn(?:ref)?-[^\s]{1,200}$")


def _footnotes(html: str) -> str:
    """Footnote markup as the sanitizer leaves it (only when the body has footnotes)."""
    return _FOOTNOTE_DATA.sub("", html) if "data-footnote" in html else html


# Markers inside links, code and scripts stay text.
_SKIPPED = re.compile(r"<(a|code|pre|script|style)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)


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


def nesting(html: str) -> int:
    """How deep the elements of well-formed (sanitized) HTML nest."""
    depth = deepest = 0
    for m in _OPEN_OR_CLOSE.finditer(html):
        if m.group(1):
            depth -= 1
        elif m.group(2) not in _OUTPUT_VOID:
            depth += 1
            if depth > deepest:
                deepest = depth
    return deepest


def check_nesting(html: str) -> None:
    """Raise :class:`BodyTooComplex` when ``html`` nests deeper than MAX_NESTING."""
    # Every open element has an end tag: with few of them there is nothing to measure.
    # Counting one character is faster than counting two: there are at least as many "<" as "</".
    if html.count("<") > MAX_NESTING and html.count("</") > MAX_NESTING and (depth := nesting(html)) > MAX_NESTING:
        raise BodyTooComplex(
            f"the body nests {depth} levels deep (quotes, lists or HTML elements); at most {MAX_NESTING} are allowed"
        )


def _marker_hits(html: str) -> list[re.Match[str]]:
    """What ``_MARKER.finditer(html)`` finds, each "[" found by str.find (many times faster than the regex scan)."""
    hits = []
    at = html.find("[")
    while at >= 0:
        hit = _MARKER.match(html, at)
        if hit is not None:
            hits.append(hit)
        at = html.find("[", at + 1 if hit is None else hit.end())
    return hits


def _markers(html: str, citations: bool = True, skipped_re: re.Pattern[str] = _SKIPPED) -> tuple[str, list[int]]:
    """Turn ``[n]`` in text (not in a tag, a link or code) into citation markers (when ``citations``)."""
    found: list[int] = []
    hits = _marker_hits(html) if citations else []
    if not hits:
        return html, found
    last_hit = hits[-1].start()
    skipped = []
    for m in skipped_re.finditer(html):  # the regions that start after the last marker do not matter
        if m.start() > last_hit:
            break
        skipped.append((m.start(), m.end()))
    out: list[str] = []
    last = index = 0
    for hit in hits:
        at = hit.start()
        while index < len(skipped) and skipped[index][1] <= at:
            index += 1
        if index < len(skipped) and skipped[index][0] <= at:
            continue  # inside a link or code
        if html.rfind("<", 0, at) > html.rfind(">", 0, at):
            continue  # inside a tag's attributes
        n = int(hit.group(1))
        found.append(n)
        out += [html[last:at], f'<sup class="cite"><a href="#ref-{n}">[{n}]</a></sup>']
        last = hit.end()
    out.append(html[last:])
    return "".join(out), found


def _cited(html: str, markers: list[int]) -> list[int]:
    """The citation numbers of every marker in sanitized HTML: ours, and raw HTML of the same shape."""
    if html.count('class="cite"') == len(markers):
        return markers
    return [int(n) if len(n) < 6 else 0 for n in CITE_RE.findall(html)]


def marker_line(body: str, n: int) -> int:
    """Line offset in ``body`` of the first ``[n]`` (for error messages)."""
    needle = f"[{n}]"
    for offset, line in enumerate(body.split("\n")):
        if needle in line:
            return offset
    return 0


@dataclass
class RenderedBody:
    """What rendering one body found and produced."""

    html: str
    citations: list[int] = field(default_factory=list)  # the marker numbers, in order (0: out of range)

    @property
    def first_paragraph(self) -> str:
        """The text of the body's first paragraph (for a summary)."""
        return first_paragraph(self.html)


def render_markdown(text: str, resolve: Callable[[str, str, str], str | None], citations: bool = True) -> RenderedBody:
    """Render a Markdown body to sanitized HTML.

    ``resolve(tag, attribute, value)`` returns the absolute URL for a link
    or image address (or None to drop it); it is called for every ``href``
    and ``src`` that survives sanitizing, raw HTML included, and for the
    ``width`` and ``height`` of raw images (returning the value to keep). Raises
    :class:`BodyTooComplex` for raw HTML nested deeper than MAX_HTML_DEPTH.
    With ``citations`` false (a post without references), ``[1]`` stays text.
    TeX spans and escaped brackets are kept as written (see newsletter.mathspans).
    """
    # A rare character first: it is found many times faster than a string of two.
    if "$" in text or ("\\" in text and "\\[" in text):
        text = protect(text)
    if "<" not in text:
        return _render_plain_markdown(text, resolve, citations)
    import nh3

    raw, found = _markers(_footnotes(_to_html(text)), citations)
    if raw.count("<") > MAX_HTML_DEPTH and _html_depth(raw) > MAX_HTML_DEPTH:
        raise BodyTooComplex(f"HTML nested deeper than {MAX_HTML_DEPTH:,} levels")
    failures: list[BaseException] = []

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return value if _FOOTNOTE_ID.match(value) else None
        if attribute not in ("href", "src", "width", "height"):
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
    html = _NOT_XML.sub("", html)  # also removes the sentinels of newsletter.mathspans
    check_nesting(html)
    # From the sanitized HTML: text inside a removed <script> is no summary,
    # and raw HTML in the shape of a marker is one (the digest renumbers it).
    return RenderedBody(html=html, citations=_cited(html, found))


_ESCAPED = re.compile("[&<>\"']")  # what html.escape changes
# What the plain path changes in cmark's own HTML (safe mode, no raw HTML, every
# attribute value escaped, so no ">" inside a tag): link targets, images (and
# their " />"), the other void tags. All start with "<": a pattern that may
# start with either of two characters is tried at every one, eight times slower.
_PLAIN_TAGS = re.compile(r'<(?:a href="([^"]*)"|img src="([^"]*)"([^>]*) />|(?:hr|br) />)')
# The same and the ends of links and the starts and ends of code, in which a
# citation marker stays text (<pre> always holds <code>): for bodies with markers.
_PLAIN_TAGS_AND_SPANS = re.compile(r'<(?:a href="([^"]*)"|img src="([^"]*)"([^>]*) />|(?:hr|br) />|/a>|code|/code>)')


def _render_plain_markdown(
    text: str, resolve: Callable[[str, str, str], str | None], citations: bool = True
) -> RenderedBody:
    """The fast path for a body without a single ``<``: no raw HTML, no autolink.

    ``text`` holds no control characters (the loader refuses such files).

    Then cmark's own output (in its safe mode, which also blanks
    ``javascript:`` and other dangerous link targets) holds only the tags
    and attributes that Markdown makes, all of them allowed; what is left to
    do is the same URL resolution as nh3's attribute filter does. This skips
    the sanitizer for most posts (about half of the loading time). Citation
    markers, addresses and void tags are rewritten in one pass over the HTML,
    which gives what :func:`_markers`, then the attribute filter, then
    writing ``<br />`` as ``<br>`` give on the other path.
    """
    import html as html_module

    raw = _footnotes(_cmark(text, _binding()[4]))

    def attribute(tag: str, name: str, written: str) -> str:
        """``name="..."`` with the address resolved, or "" to drop it."""
        # cmark blanks dangerous targets (javascript:, vbscript:, file:, data:): drop them.
        if not written:
            return ""
        plain = "&" not in written  # then unescaping changes nothing
        value = resolve(tag, name, written if plain else html_module.unescape(written))
        if value is None:
            return ""
        if value == written and plain and not _ESCAPED.search(value):  # the usual absolute link, kept
            return f'{name}="{written}"'
        return f'{name}="{html_module.escape(value)}"'

    def tag(m: re.Match[str]) -> str:
        second = m.string[m.start() + 1]
        if second == "a":  # <a href="..."
            return "<a " + attribute("a", "href", m.group(1))
        if second == "i":  # <img src="..." ... />
            return f"<img {attribute('img', 'src', m.group(2))}{m.group(3)}>"
        if second in "hb":  # <hr />, <br />
            return m.group()[:-3] + ">"
        return m.group()  # </a>, <code, </code>

    hits = _marker_hits(raw) if citations else []
    found: list[int] = []
    if not hits:
        html = _PLAIN_TAGS.sub(tag, raw)
    else:

        def marker(n: int) -> str:
            found.append(n)
            return f'<sup class="cite"><a {attribute("a", "href", f"#ref-{n}")}>[{n}]</a></sup>'

        html = _tags_and_markers(raw, hits, tag, marker)
    # A character reference is the only way to a control character here.
    if ("&" in text and "&#" in text) or SENTINEL in text:
        html = _NOT_XML.sub("", html)
    check_nesting(html)
    return RenderedBody(html=html, citations=found)


def _tags_and_markers(
    raw: str, hits: list[re.Match[str]], tag: Callable[[re.Match[str]], str], marker: Callable[[int], str]
) -> str:
    """cmark's HTML, each tag of :data:`_PLAIN_TAGS_AND_SPANS` as ``tag`` gives it, each marker as ``marker`` does.

    ``hits`` are the marker-shaped texts (:func:`_marker_hits`); those in a
    link, in code or inside a tag stay as they are.
    """
    out: list[str] = []
    last = 0  # raw[:last] is done
    in_link = in_code = False
    hit_index = 0
    spans = _PLAIN_TAGS_AND_SPANS.finditer(raw)
    while True:
        m = next(spans, None)
        start = len(raw) if m is None else m.start()
        while hit_index < len(hits) and hits[hit_index].start() < start:  # the markers before this tag
            hit = hits[hit_index]
            hit_index += 1
            at = hit.start()
            if at < last or in_link or in_code or raw.rfind("<", 0, at) > raw.rfind(">", 0, at):
                continue
            out += [raw[last:at], marker(int(hit.group(1)))]
            last = hit.end()
        if m is None:
            break
        text = m.group()
        if text == "</a>":
            in_link = False
        elif text == "<code":
            in_code = True
        elif text == "</code>":
            in_code = False
        elif text[1] == "a":
            in_link = True
        out += [raw[last:start], tag(m)]
        last = m.end()
    out.append(raw[last:])
    return "".join(out)


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
