"""The digest's plain-text part: real text, wrapped at 78 columns.

Links become ``[n]`` with the numbered URL list at the end; citation
markers become ``[ref. N]`` so they never read as link numbers. A URL too
long for a line stands on a line of its own.
"""

from __future__ import annotations

import re
import textwrap
from html.parser import HTMLParser
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsletter.render.email import ButtonView, DigestView

WIDTH = 78
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


def wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    """Wrap one paragraph; ``first`` replaces ``indent`` on the first line."""
    first = indent if first is None else first
    width = WIDTH - max(len(indent), len(first))
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


class _TextWriter(HTMLParser):
    """Turns sanitized post HTML into wrapped paragraphs."""

    def __init__(self, links: Links) -> None:
        super().__init__(convert_charrefs=True)
        self.links = links
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.lists: list[list[int]] = []  # one counter per open list ([0] for ul)
        self.quote = 0
        self.pre = 0
        self.skip = 0
        self.href: list[str | None] = []
        self.row: list[str] | None = None
        self.bullet: str | None = None
        self.last_was_item = False

    # -- blocks -----------------------------------------------------------------

    def _indent(self) -> str:
        return "> " * self.quote + "   " * max(len(self.lists) - 1, 0)

    def flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer = []
        if self.pre:
            self._gap(item=False)
            for raw in text.strip("\n").split("\n"):
                self.lines += [raw[i : i + WIDTH] for i in range(0, len(raw), WIDTH)] or [""]
            return
        if not text.strip():
            return
        indent = self._indent()
        if self.bullet is not None:
            self._gap(item=True)
            bullet, self.bullet = self.bullet, None
            self.lines += wrap(text, indent + " " * len(bullet), indent + bullet)
        else:
            self._gap(item=False)
            self.lines += wrap(text, indent)

    def _gap(self, item: bool) -> None:
        """A blank line between blocks; none between the items of a list."""
        if self.lines and not (item and self.last_was_item):
            self.lines.append(("> " * self.quote).rstrip())
        self.last_was_item = item

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _SKIP:
            self.skip += 1
            return
        if tag in _BLOCKS:
            self.flush()
        if tag == "br":
            self.flush()
        elif tag in ("ul", "ol"):
            self.last_was_item = bool(self.lists)  # a nested list hugs its item
            self.lists.append([0 if tag == "ol" else -1])
        elif tag == "li" and self.lists:
            counter = self.lists[-1]
            if counter[0] >= 0:
                counter[0] += 1
                self.bullet = f"{counter[0]}. "
            else:
                self.bullet = "- "
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
                self.buffer.append(f"[Image: {alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(self.skip - 1, 0)
            return
        if tag in ("td", "th") and self.row is not None:
            self.row.append(" ".join("".join(self.buffer).split()))
            self.buffer = []
            return
        if tag == "tr" and self.row is not None:
            self.buffer = [" | ".join(self.row)]
            self.row = None
            self.flush()
            return
        if tag == "a" and self.href:
            href = self.href.pop()
            if href and href.startswith("#ref-"):
                return  # the citation marker's text was written already
            if href and not href.startswith("#"):
                self.buffer.append(f" [{self.links.number(href)}]")
            return
        if tag in _BLOCKS:
            self.flush()
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "blockquote":
            self.quote = max(self.quote - 1, 0)
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.href and self.href[-1] and self.href[-1].startswith("#ref-"):
            m = re.fullmatch(r"\[(\d+)\]", data.strip())
            if m:
                data = f"[ref. {m.group(1)}]"
        self.buffer.append(data)

    def close(self) -> None:
        super().close()
        self.flush()


def html_to_text(html: str, links: Links) -> list[str]:
    """Sanitized HTML (a post body) as wrapped lines; its links join ``links``."""
    writer = _TextWriter(links)
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
    out: list[str] = [*heading(view.site.title, "="), *wrap(f"Weekly digest, {view.period}"), ""]
    out += [*wrap(view.preheader), ""]
    out += [*labelled("View this email in your browser", view.browser_url), ""]
    for post in view.posts:
        out += ["", "=" * WIDTH, ""]
        out += heading(f"{post.title} [{links.number(post.url)}]")
        meta = post.date + (" · " + ", ".join(post.categories) if post.categories else "")
        out += [*wrap(meta), ""]
        if post.full:
            out += html_to_text(str(post.html), links)
        else:
            out += [*wrap(post.summary), "", f"Read more [{links.number(post.url)}]"]
        if post.cta:
            out += ["", *_button_lines(post.cta)]
    if view.links:
        out += ["", "=" * WIDTH, "", *heading("More this week")]
        for post in view.links:
            out += wrap(f"{post.title}, {post.date} [{links.number(post.url)}]", "  ", "- ")
    if view.closing_cta:
        out += ["", "=" * WIDTH, "", *_button_lines(view.closing_cta)]
    if view.references:
        out += ["", "=" * WIDTH, "", *heading("References")]
        for entry in view.references:
            ref = entry.reference
            label = f"{entry.number}. "
            out += wrap(ref.text, " " * len(label), label)
            for url in (ref.link, ref.url if ref.doi else ""):
                if url:
                    out.append(("   " + url) if len(url) + 3 <= WIDTH else url)
    if links.urls:
        out += ["", *heading("Links"), *links.render()]
    out += [
        "",
        "-- ",
        *wrap(
            f"You receive this email because you subscribed to the weekly digest of "
            f"{view.site.title} at {view.site_host}."
        ),
    ]
    out += labelled("Unsubscribe", view.unsubscribe_url)
    if view.postal_address:
        out += wrap(view.postal_address)
    return "\n".join(line.rstrip() if line != "-- " else line for line in out) + "\n"
