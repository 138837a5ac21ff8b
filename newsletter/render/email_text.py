"""The digest's plain-text part: real text, wrapped at 78 columns.

Two numberings that a reader cannot confuse: links become ``[1]``, ``[2]``
with the numbered URL list at the end; citation markers become ``[R1]``,
``[R2]`` (the letter comes from the catalog), the labels of the reference
list. A URL too long for a line stands on a line of its own. Every fixed
word comes from the catalogs of :mod:`newsletter.i18n`.
"""

from __future__ import annotations

import re
import textwrap
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from newsletter.i18n import Language

if TYPE_CHECKING:
    from newsletter.render.email import ButtonView, DigestView

WIDTH = 78
# Quote markers and list indents never take more than this many columns, so
# that at least WIDTH - MAX_INDENT are left for the text itself: deeper
# levels are written compactly (">>>> ") and then capped. The loader refuses
# bodies nested deeper than markdown.MAX_NESTING anyway.
MAX_INDENT = 38
RULE = "_" * WIDTH  # between sections; "=" would cost three bytes each in quoted-printable
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "li", "table", "tr", "hr"}
_BLOCKS |= {"figure", "figcaption", "dl", "dt", "dd"}
_SKIP = {"script", "style", "head", "title"}
_URLISH = re.compile(r"^\S*(?:https?://|mailto:|www\.)\S*$")


class Links:
    """The numbered URL list of one message: the same URL keeps one number."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def number(self, url: str) -> int:
        """The number of ``url``, adding it on first use."""
        if url not in self.urls:
            self.urls.append(url)
        return self.urls.index(url) + 1

    def render(self) -> list[str]:
        """``[n] URL`` lines (the URL alone on the next line when too long)."""
        lines: list[str] = []
        for n, url in enumerate(self.urls, start=1):
            lines += labelled(f"[{n}]", url, sep=" ")
        return lines


def labelled(label: str, url: str, sep: str = ": ") -> list[str]:
    """``label: URL`` on one line when it fits, else the URL on its own line."""
    if len(label) + len(sep) + len(url) <= WIDTH:
        return [label + sep + url]
    return [*wrap(label.rstrip()), url]


def _split_long_words(text: str, width: int) -> str:
    """Cut words longer than a line, except URLs (which stand alone instead)."""
    words = []
    for word in text.split(" "):
        while len(word) > width and not _URLISH.match(word):
            words.append(word[:width])
            word = word[width:]
        words.append(word)
    return " ".join(words)


def indent_for(quotes: int, lists: int) -> str:
    """The prefix of a line ``quotes`` block quotes and ``lists`` nested lists deep.

    ``> > `` and three spaces a list level while that fits in MAX_INDENT
    columns; then ``>>> `` (as mail clients write deep quotes) and a capped
    list indent, so the text always keeps WIDTH - MAX_INDENT columns.
    """
    quote = "> " * quotes
    if len(quote) > MAX_INDENT // 2:
        quote = ">" * min(quotes, MAX_INDENT // 2 - 1) + " "
    return quote + " " * min(3 * lists, MAX_INDENT - len(quote))


def wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    """Wrap one paragraph; ``first`` replaces ``indent`` on the first line.

    At least WIDTH - MAX_INDENT columns are left for the text, however long
    the indents (a width of 0 would never end cutting long words).
    """
    first = indent if first is None else first
    width = max(WIDTH - max(len(indent), len(first)), WIDTH - MAX_INDENT)
    text = " ".join(text.split())
    if not text:
        return []
    lines = textwrap.wrap(
        _split_long_words(text, width),
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    # A URL pushed past the margin gets a line of its own, without the indent.
    result = []
    for line in lines:
        stripped = line.strip()
        if len(line) > WIDTH and _URLISH.match(stripped.split(" ")[-1]) and " " in stripped:
            head, url = line.rsplit(" ", 1)
            result += [head, url]
        elif len(line) > WIDTH:
            result.append(stripped)
        else:
            result.append(line)
    return result


# The links of footnotes (cmark-gfm's): a marker to its note, a note back to its marker.
_FOOTNOTE_LINK = re.compile(r"#fn(?:ref)?-[^#]*$")


class _TextWriter(HTMLParser):
    """Turns sanitized post HTML into wrapped paragraphs.

    Blocks are separated by a blank line, except list items of one list,
    rows of one table and the lines after a ``<br>``, which follow each
    other directly.
    """

    def __init__(self, links: Links, language: Language) -> None:
        super().__init__(convert_charrefs=True)
        self.links = links
        self.language = language
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.lists: list[int] = []  # per open list: the item counter (-1 for ul)
        self.quote = 0
        self.pre = 0
        self.skip = 0
        self.href: list[str | None] = []
        self.row: list[str] | None = None
        self.bullet: str | None = None  # waiting for the item's first text
        self.hang = 0  # width of the current item's bullet
        self.kind = "block"  # of the next text: block, item, row or line
        self.last = ""  # kind of the last text written
        self.last_quote = 0

    def _indent(self) -> str:
        return indent_for(self.quote, max(len(self.lists) - 1, 0))

    def _gap(self, kind: str) -> None:
        """A blank line before a block, none inside a list, a table or after <br>."""
        tight = kind == "line" or (kind in ("item", "row") and self.last == kind)
        if self.lines and not tight:
            self.lines.append(indent_for(min(self.quote, self.last_quote), 0).rstrip())
        self.last, self.last_quote = kind, self.quote

    def flush(self, then: str = "block") -> None:
        """Write the buffered text as one block; ``then`` is the kind of the next one."""
        text, self.buffer = "".join(self.buffer), []
        kind, self.kind = self.kind, then
        if self.pre:
            if text.strip("\n"):
                self._gap("block")
                for raw in text.strip("\n").split("\n"):
                    self.lines += [raw[i : i + WIDTH] for i in range(0, len(raw), WIDTH)] or [""]
            return
        if not text.strip():
            self.kind = kind if then == "line" else then
            return
        indent = self._indent()
        if self.bullet is not None:
            bullet, self.bullet = self.bullet, None
            self._gap("item" if kind != "line" else "line")
            self.lines += wrap(text, indent + " " * len(bullet), indent + bullet)
        else:
            self._gap(kind)
            self.lines += wrap(text, indent + " " * self.hang)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _SKIP:
            self.skip += 1
            return
        if tag == "br":
            self.flush(then="line")
        elif tag in _BLOCKS:
            self.flush()
        if tag in ("ul", "ol"):
            self.lists.append(0 if tag == "ol" else -1)
            self.hang = 0
            self.last = "item" if len(self.lists) > 1 else "block"  # a nested list hugs its item
        elif tag == "li" and self.lists:
            if self.lists[-1] >= 0:
                self.lists[-1] += 1
                self.bullet = f"{self.lists[-1]}. "
            else:
                self.bullet = "- "
            self.hang, self.kind = len(self.bullet), "item"
        elif tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.buffer = []
        elif tag == "a":
            self.href.append(attributes.get("href"))
        elif tag == "img":
            alt = (attributes.get("alt") or "").strip()
            if alt:
                self.buffer.append(self.language.gettext("[Image: %(alt)s]", alt=alt))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(self.skip - 1, 0)
            return
        if tag in ("td", "th") and self.row is not None:
            self.row.append(" ".join("".join(self.buffer).split()))
            self.buffer = []
            return
        if tag == "tr" and self.row is not None:
            self.buffer, self.row, self.kind = [" | ".join(self.row)], None, "row"
            self.flush()
            return
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and not href.startswith("#") and not _FOOTNOTE_LINK.search(href):
                self.buffer.append(f" [{self.links.number(href)}]")
            return
        if tag in _BLOCKS:
            self.flush()
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.hang = 0
        elif tag == "li":
            self.hang = 0
        elif tag == "blockquote":
            self.quote = max(self.quote - 1, 0)
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.href and (self.href[-1] or "").startswith("#ref-"):
            data = re.sub(r"^\[(\d+)\]$", lambda m: reference_label(int(m.group(1)), self.language), data.strip())
        elif self.href and self.href[-1] and _FOOTNOTE_LINK.search(self.href[-1]):
            # A footnote's marker reads [^1]; its link back up means nothing in plain text.
            data = f"[^{data.strip()}]" if "#fn-" in self.href[-1] else ""
        self.buffer.append(data)

    def close(self) -> None:
        super().close()
        self.flush()


def reference_label(number: int, language: Language) -> str:
    """``[R3]``: how the text part names reference 3, apart from link ``[3]``."""
    # TRANSLATORS: the letter before reference numbers in the plain-text email ([R1], [R2]); links are [1], [2].
    return "[" + language.gettext("R") + language.number(number) + "]"


def html_to_text(html: str, links: Links, language: Language | None = None) -> list[str]:
    """Sanitized HTML (a post body) as wrapped lines; its links join ``links``."""
    writer = _TextWriter(links, language or Language())
    writer.feed(html)
    writer.close()
    lines = writer.lines
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def heading(text: str, rule: str = "-") -> list[str]:
    """A wrapped heading underlined to its longest line."""
    lines = wrap(text)
    return [*lines, rule * min(max((len(line) for line in lines), default=0), WIDTH)]


def _button_lines(cta: ButtonView) -> list[str]:
    lines = wrap(cta.text) if cta.text else []
    return [*lines, *labelled(cta.label, cta.url)]


def render_text(view: DigestView) -> str:
    """The whole plain-text part of a digest."""
    links = Links()
    lang = view.language
    _ = lang.gettext
    out: list[str] = [*heading(view.site.title, "="), *wrap(_("Weekly digest · %(period)s", period=view.period)), ""]
    out += [*wrap(view.preheader), ""]
    out += [*labelled(_("View this email in your browser"), view.browser_url), ""]
    for post in view.posts:
        out += ["", RULE, ""]
        out += heading(f"{post.title} [{links.number(post.url)}]")
        meta = post.date + (" · " + ", ".join(post.categories) if post.categories else "")
        out += [*wrap(meta), ""]
        if post.full:
            out += html_to_text(str(post.html), links, lang)
        else:
            number = f"[{links.number(post.url)}]"
            out += [*wrap(post.summary), "", _("Read more: %(title)s", title=number)]
        if post.cta:
            out += ["", *_button_lines(post.cta)]
    if view.links:
        out += ["", RULE, "", *heading(_("More this week"))]
        for post in view.links:
            out += wrap(f"{post.title} · {post.date} [{links.number(post.url)}]", "  ", "- ")
    if view.closing_cta:
        out += ["", RULE, "", *_button_lines(view.closing_cta)]
    if view.reference_groups:
        out += ["", RULE, "", *heading(_("References"))]
        for group in view.reference_groups:
            out += ["", *wrap(group.title)]
            for entry in group.entries:
                ref = entry.reference
                label = reference_label(entry.number, lang) + " "
                out += wrap(ref.text, " " * len(label), label)
                for url in (ref.link, ref.url if ref.doi else ""):
                    if url:
                        out.append(((" " * len(label)) + url) if len(url) + len(label) <= WIDTH else url)
    if links.urls:
        out += ["", *heading(_("Links")), *links.render()]
    out += [
        "",
        "-- ",
        *wrap(
            _(
                "You receive this email because you subscribed to the weekly digest of %(title)s at %(site)s.",
                title=view.site.title,
                site=view.site_host,
            )
        ),
    ]
    out += labelled(_("Unsubscribe"), view.unsubscribe_url)
    if view.postal_address:
        out += wrap(view.postal_address)
    return "\n".join(line.rstrip() if line != "-- " else line for line in out) + "\n"
