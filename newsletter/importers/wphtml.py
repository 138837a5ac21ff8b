"""WordPress post HTML -> Markdown.

In order: block comments (``<!-- wp:... -->``) are removed, embeds become
links and dynamic blocks (latest posts, search, archives...), which showed
the old site's live content, are dropped with a warning; shortcodes
(``[caption]``, ``[gallery]``, ``[embed]``, ``[video]``, ``[audio]``,
``[youtube]``, ``[code]``) become the HTML of what they showed; classic
content gets its paragraphs (WordPress adds them only when showing a post);
then markdownify converts the HTML. Tables with merged cells stay HTML
(sanitized with the loader's own allow-list). Unknown shortcodes are kept
visibly as code and reported.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdownify import MarkdownConverter

from newsletter.importers.model import ImportReport
from newsletter.importers.templates import outside_code

_BLOCK = re.compile(r"<!--\s*(/?)wp:([a-z0-9/-]+)(\s+\{.*?\})?\s*(/?)-->", re.S)
_EMBED = re.compile(
    r"<!--\s*wp:(?:core-)?embed[a-z/-]*\s+(\{.*?\})\s*-->(.*?)<!--\s*/wp:(?:core-)?embed[a-z/-]*\s*-->", re.S
)
_KEEP_SELF_CLOSING = {"more", "nextpage", "spacer", "separator", "footnotes"}  # footnotes: the notes come along
_SHORTCODE_ATTR = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s'"\]]+))""")
_ANY_SHORTCODE = re.compile(r"\[([a-z][\w-]*)((?:\s[^\]]*)?)\](?:(.*?)\[/\1\])?", re.S | re.I)
_BLOCK_TAG = re.compile(
    r"^\s*<(?:p|div|ul|ol|li|table|thead|tbody|tr|td|th|blockquote|pre|h[1-6]|figure|hr|dl|dt|dd|address|"
    r"section|article|aside|header|footer|form|fieldset|iframe|video|audio|object|style|script|!--)\b",
    re.I,
)
_CITATION_LIKE = re.compile(r"(?<![\\!\]])\[(\d{1,4})\](?![(\[:])")
_WORD_BACKLINK = re.compile(r"^#_(ftn|edn)ref(\d+)$")
_YOUTUBE = re.compile(r"(?:youtube\.com/(?:watch\?v=|embed/)|youtu\.be/)([\w-]{6,})")


@dataclass
class Attachment:
    """A media item of the export: what [gallery] shows."""

    url: str
    title: str = ""
    caption: str = ""
    parent: str = ""


def _attrs(text: str) -> dict[str, str]:
    return {
        m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _SHORTCODE_ATTR.finditer(text)
    }


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _media_link(url: str, what: str) -> str:
    """A video or other embed as what a newsletter can show: a linked thumbnail (YouTube) or a link."""
    found = _YOUTUBE.search(url)
    if found:
        thumb = f"https://img.youtube.com/vi/{found.group(1)}/hqdefault.jpg"
        return f'<p><a href="{_esc(url)}"><img src="{thumb}" alt="{_esc(what)}"></a></p>'
    name = url.rstrip("/").rsplit("/", 1)[-1] or url
    return f'<p><a href="{_esc(url)}">{_esc(what)}: {_esc(name)}</a></p>'


class _Converter(MarkdownConverter):  # type: ignore[misc]
    """markdownify with figures, media and merged-cell tables done as a newsletter shows them."""

    def convert_figure(self, el, text, parent_tags):  # type: ignore[no-untyped-def]
        if el.find("table") is not None:
            return text
        return f"\n\n{text.strip()}\n\n"

    def convert_figcaption(self, el, text, parent_tags):  # type: ignore[no-untyped-def]
        caption = " ".join(text.split())
        return f"\n\n*{caption}*\n\n" if caption else ""

    def convert_table(self, el, text, parent_tags):  # type: ignore[no-untyped-def]
        if el.find(attrs={"rowspan": True}) or el.find(attrs={"colspan": True}):
            return "\n\n" + _clean_html(str(el)) + "\n\n"
        return super().convert_table(el, text, parent_tags)

    def convert_iframe(self, el, text, parent_tags):  # type: ignore[no-untyped-def]
        src = el.get("src", "")
        return (
            "\n\n" + MarkdownConverter(heading_style="ATX").convert(_media_link(src, "Video")) + "\n\n" if src else ""
        )


def _clean_html(fragment: str) -> str:
    """HTML kept as HTML: cleaned with the loader's allow-list, on lines without blank ones between."""
    import nh3

    from newsletter.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

    cleaned = nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES)
    return "\n".join(line for line in cleaned.split("\n") if line.strip())


def _blocks(content: str, path: Path, line: int, report: ImportReport) -> str:
    def embed(m: re.Match[str]) -> str:
        url = re.search(r'"url"\s*:\s*"([^"]+)"', m.group(1))
        target = url.group(1).replace("\\/", "/") if url else re.sub(r"<[^>]+>", "", m.group(2)).strip()
        video = '"type":"video"' in m.group(1).replace(" ", "") or _YOUTUBE.search(target)
        return _media_link(target, "Video" if video else "Link") if target else ""

    content = _EMBED.sub(embed, content)

    def block(m: re.Match[str]) -> str:
        name = m.group(2)
        if m.group(4) and name.split("/")[-1] not in _KEEP_SELF_CLOSING:
            message = f"block 'wp:{name}' showed the old site's live content; dropped"
            report.warn("dynamic block dropped", path, line, message)
        return ""

    return _BLOCK.sub(block, content)


def _shortcodes(
    content: str, path: Path, line: int, report: ImportReport, media: dict[str, Attachment], own: list[Attachment]
) -> str:
    def code(m: re.Match[str]) -> str:
        lang = _attrs(m.group(2)).get("lang") or _attrs(m.group(2)).get("language") or ""
        body = html.escape(html.unescape(m.group(3)).strip("\n"))
        return (
            f'<pre><code class="language-{_esc(lang)}">{body}</code></pre>'
            if lang
            else f"<pre><code>{body}</code></pre>"
        )

    kept: list[str] = []

    def keep_code(m: re.Match[str]) -> str:  # its text is code: no shortcode in it is one
        kept.append(code(m))
        return f"\x00{len(kept) - 1}\x00"

    content = re.sub(r"\[(code|sourcecode|source)\b([^\]]*)\](.*?)\[/\1\]", keep_code, content, flags=re.S)

    def caption(m: re.Match[str]) -> str:
        attrs, inner = _attrs(m.group(1)), m.group(2)
        image = re.search(r"(<a\b[^>]*>\s*)?<img\b[^>]*>(\s*</a>)?", inner, re.S)
        text = (inner[: image.start()] + inner[image.end() :]) if image else inner
        words = _esc(attrs["caption"]) if attrs.get("caption") else " ".join(text.split())
        figure = image.group(0) if image else ""
        return f"<figure>{figure}<figcaption>{words}</figcaption></figure>"

    content = re.sub(r"\[(?:wp_)?caption\b([^\]]*)\](.*?)\[/(?:wp_)?caption\]", caption, content, flags=re.S)

    def gallery(m: re.Match[str]) -> str:
        attrs = _attrs(m.group(1))
        ids = [i.strip() for i in (attrs.get("ids") or attrs.get("include") or "").split(",") if i.strip()]
        items = [media[i] for i in ids if i in media] if ids else own
        if not items:
            report.warn("gallery without images", path, line, "[gallery] names no image found in the export; dropped")
            return ""
        pictures = "".join(
            f'<p><img src="{_esc(a.url)}" alt="{_esc(a.title)}"></p>'
            + (f"<p><em>{_esc(a.caption)}</em></p>" if a.caption else "")
            for a in items
        )
        return f"<div>{pictures}</div>"

    content = re.sub(r"\[gallery\b([^\]]*)\]", gallery, content)
    content = re.sub(
        r"\[embed\b[^\]]*\](.*?)\[/embed\]", lambda m: _media_link(m.group(1).strip(), "Video"), content, flags=re.S
    )

    def video(m: re.Match[str]) -> str:
        attrs = _attrs(m.group(2))
        src = next(
            (
                attrs[k]
                for k in ("src", "mp4", "m4v", "webm", "ogv", "wmv", "flv", "mp3", "ogg", "wav", "m4a")
                if k in attrs
            ),
            "",
        )
        src = src or (m.group(3) or "").strip()
        return _media_link(src, m.group(1).capitalize()) if src else ""

    content = re.sub(r"\[(video|audio)\b([^\]]*)\](?:(.*?)\[/\1\])?", video, content, flags=re.S)
    content = re.sub(r"\[youtube[= ]([^\]\s]+)[^\]]*\]", lambda m: _media_link(m.group(1), "Video"), content)

    def unknown(m: re.Match[str]) -> str:
        if m.group(3) is None and "=" not in m.group(2):
            return m.group(0)  # "[sic]", "[1]": text, not a shortcode
        tag = f"[{m.group(1)}{m.group(2)}]"
        report.warn(
            f"shortcode [{m.group(1)}] not understood", path, line, f"kept as text: {' '.join(tag.split())[:80]}"
        )
        inner = m.group(3) or ""
        closing = f"<code>[/{_esc(m.group(1))}]</code>" if m.group(3) is not None else ""
        return f"<code>{_esc(tag)}</code>{inner}{closing}"

    content = _ANY_SHORTCODE.sub(unknown, content)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], content)


def autop(content: str) -> str:
    """Paragraphs for classic-editor content, as WordPress adds them when it shows a post."""
    kept: list[str] = []

    def keep(m: re.Match[str]) -> str:
        kept.append(m.group(0))
        return f"\x00{len(kept) - 1}\x00"

    content = re.sub(r"<pre\b.*?</pre>|<table\b.*?</table>|<script\b.*?</script>", keep, content, flags=re.S | re.I)
    chunks = []
    for chunk in re.split(r"\n\s*\n", content.replace("\r\n", "\n")):
        if not chunk.strip():
            continue
        if _BLOCK_TAG.match(chunk) or re.fullmatch(r"\s*\x00\d+\x00\s*", chunk):
            chunks.append(chunk)
        elif re.fullmatch(r"\s*https?://\S+\s*", chunk):  # a URL alone on its line: WordPress embeds it
            chunks.append(_media_link(chunk.strip(), "Video" if _YOUTUBE.search(chunk) else "Link"))
        else:
            chunks.append("<p>" + chunk.strip().replace("\n", "<br>\n") + "</p>")
    text = "\n\n".join(chunks)
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _code_language(element: Any) -> str | None:
    """The language of a <pre> from its or its <code>'s ``language-x`` class (WordPress's code block)."""
    classes = [*(element.get("class") or []), *((element.code or element).get("class") or [])]
    return next((str(c).removeprefix("language-") for c in classes if str(c).startswith("language-")), None)


def _word_notes(soup: Any) -> dict[str, str]:
    """Footnotes as Word leaves them in pasted text: ``[1]`` linking to ``#_ftn1``, the note
    a paragraph opening with ``[1]`` that links back to ``#_ftnref1`` (``_edn``: endnotes).

    The notes' paragraphs are taken out of the text; they are returned by the
    id their markers link to.
    """
    notes: dict[str, str] = {}
    for back in soup.find_all("a", href=_WORD_BACKLINK):
        block = back.find_parent(["p", "div", "li"])
        if block is None or not block.get_text().strip().startswith(back.get_text().strip()):
            continue
        found = _WORD_BACKLINK.match(str(back["href"]))
        if found is None:
            continue
        back.decompose()
        notes[f"word#_{found.group(1)}{found.group(2)}"] = block.decode_contents().strip()
        block.decompose()
    return notes


def to_markdown(
    content: str,
    path: Path,
    line: int,
    report: ImportReport,
    media: dict[str, Attachment] | None = None,
    own: list[Attachment] | None = None,
    footnotes: dict[str, str] | None = None,
) -> str:
    """The Markdown of a WordPress post's ``content:encoded``.

    ``footnotes`` (id -> HTML) are the notes of the footnotes block
    (WordPress 6.3+ keeps them beside the content): they become Markdown
    footnotes ``[^1]``.
    """
    from bs4 import BeautifulSoup

    classic = "<!-- wp:" not in content
    content = _blocks(content, path, line, report)
    content = _shortcodes(content, path, line, report, media or {}, own or [])
    if classic:
        content = autop(content)
    soup = BeautifulSoup(content, "html.parser")
    for element in soup.find_all(["script", "style", "form", "noscript", "button", "input", "select", "textarea"]):
        element.decompose()
    footnotes = dict(footnotes or {})
    footnotes.update(_word_notes(soup))
    numbers: dict[str, int] = {}
    for marker in soup.find_all(["sup", "a"]):
        ident = str(marker.get("data-fn") if marker.name == "sup" else "word" + str(marker.get("href", "")))
        if ident in footnotes and marker.parent is not None:
            number = numbers.setdefault(ident, len(numbers) + 1)
            marker.replace_with(f"WPFOOTNOTE{number}REF")
    converter = _Converter(
        heading_style="ATX",
        bullets="-",
        code_language_callback=_code_language,
    )
    text = converter.convert_soup(soup)
    text = outside_code(text, lambda part: _CITATION_LIKE.sub(r"\\[\1\\]", part))
    text = re.sub(r"WPFOOTNOTE(\d+)REF", r"[^\1]", text)
    notes = [
        f"[^{number}]: " + " ".join(converter.convert(footnotes[ident]).split()) for ident, number in numbers.items()
    ]
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text + ("\n\n" + "\n".join(notes) if notes else "") + "\n"
