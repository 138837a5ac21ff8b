"""Import plain-text posts (the seed's shape) as post files.

The shape: first line the title; a line ``Posted and filed under A, B, C.``
gives the categories; paragraphs; a paragraph starting ``Reference:`` or
``References:`` (one citation per line, or per following paragraph) gives the
references; short paragraphs after the references are the call-to-action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from newsletter.importers.model import ImportedPost, ImportProblem

if TYPE_CHECKING:
    from newsletter.config import Settings

_FILED = re.compile(r"^(?:Posted and )?filed under\s+(.+?)\.?\s*$", re.IGNORECASE)
_REFS = re.compile(r"^References?\s*:\s*", re.IGNORECASE)
_CITATION_LIKE = re.compile(r"\(\d{4}[a-z]?\)|\b10\.\d{4,9}/|https?://|\d+\(\d+\)")
# Markup characters; "[" unless it opens a citation marker [n] (not a link "[n](").
# "&" only where it starts an entity (&copy; would become a symbol).
_MD_SPECIAL = re.compile(r"([\\`*_{}<>~]|\[(?![1-9][0-9]{0,3}\](?!\())|&(?=#?[A-Za-z0-9]+;))")
# At a line start: headings, quotes, list items, setext and table lines ("---", "==", "|-|").
_LINE_START = re.compile(r"^(\s*(?:[0-9]+(?=[.)]))?)([#>+=|:-]|(?<=[0-9])[.)])")  # "1." -> "1\."
_DEFINITION = re.compile(r"^\[(?=[1-9][0-9]{0,3}\]:)")  # "[1]: x" opening a paragraph defines a link
_MARKER = re.compile(r"\[([1-9][0-9]{0,3})\]")


@dataclass
class PlainPost:
    """What was read from a plain-text post."""

    title: str
    categories: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    cta_text: str = ""
    # Where each part starts in the plain-text file, to report problems there:
    # "title", "categories", "references.N", "cta", and one line per paragraph.
    lines: dict[str, int] = field(default_factory=dict)
    paragraph_lines: list[int] = field(default_factory=list)


def escape_markdown(text: str) -> str:
    """Escape characters that would turn plain text into Markdown markup.

    Citation markers such as ``[1]`` are kept: they link to references.
    """
    text = _DEFINITION.sub(r"\\[", _MD_SPECIAL.sub(r"\\\1", text))
    return "\n".join(_LINE_START.sub(r"\1\\\2", line) for line in text.split("\n"))


def _paragraphs(lines: list[str], start: int) -> list[tuple[int, list[str]]]:
    """Group lines into paragraphs, each with the line number it starts on."""
    result: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.strip():
            if not current:
                first = number
            current.append(line.strip())
        elif current:
            result.append((first, current))
            current = []
    if current:
        result.append((first, current))
    return result


def parse_plain(text: str) -> PlainPost:
    """Read the plain-text shape into its parts."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None:
        raise ImportProblem(1, "empty file: the first line must be the title")
    from newsletter.slugs import category_slug

    post = PlainPost(title=" ".join(lines[index].split()), lines={"title": index + 1})

    def add_references(items: list[str], first_line: int) -> None:
        for offset, item in enumerate(items):
            if item.strip():
                post.lines[f"references.{len(post.references)}"] = first_line + offset
                post.references.append(" ".join(item.split()))

    in_references = False
    for line_no, para in _paragraphs(lines, index + 1):
        joined = " ".join(para)
        filed = _FILED.match(joined)
        if filed and not post.paragraphs and not post.categories:
            post.categories = [c.strip() for c in re.split(r",|\band\b", filed.group(1)) if c.strip()]
            post.lines["categories"] = line_no
            for name in post.categories:
                if not category_slug(name):
                    raise ImportProblem(line_no, f"category {name!r} has no letters or digits to name its feed")
            continue
        if _REFS.match(para[0]):
            in_references = True
            first = _REFS.sub("", para[0])
            post.lines.setdefault("references", line_no)
            add_references([first, *para[1:]], line_no)
            continue
        if in_references:
            if _CITATION_LIKE.search(joined) and not post.cta_text:
                add_references(para, line_no)
            else:
                post.lines.setdefault("cta", line_no)
                post.cta_text = (post.cta_text + " " + joined).strip()
            continue
        post.paragraphs.append("\n".join(para))
        post.paragraph_lines.append(line_no)
    if not post.paragraphs:
        raise ImportProblem(index + 1, "no body paragraphs after the title")
    for line_no, paragraph in zip(post.paragraph_lines, post.paragraphs, strict=True):
        for offset, line in enumerate(paragraph.split("\n")):
            for m in _MARKER.finditer(line):
                if int(m.group(1)) > len(post.references):
                    count = len(post.references)
                    message = f"citation [{m.group(1)}] has no reference (the text has {count})"
                    raise ImportProblem(line_no + offset, message)
    return post


def to_post_file(post: PlainPost, date: str, slug: str = "") -> str:
    """The text of a post file (front matter + Markdown body); ``slug`` when the title gives none."""
    data: dict[str, object] = {"title": post.title, "date": date}
    if slug:
        data["slug"] = slug
    if post.categories:
        data["categories"] = post.categories
    if post.references:
        data["references"] = post.references
    if post.cta_text:
        data["cta"] = {"text": post.cta_text}
    front = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100000, default_flow_style=None)
    body = "\n\n".join(escape_markdown(p) for p in post.paragraphs)
    return f"---\n{front}---\n{body}\n"


def source_line(post: PlainPost, text: str, line: int) -> int:
    """The line of the plain-text file that gave line ``line`` of the post file ``text``."""
    from newsletter import frontmatter

    try:
        doc = frontmatter.read(text)
    except frontmatter.FrontMatterError:
        return 1
    if line >= doc.body_line:  # paragraphs are written in order, one blank line apart
        at = doc.body_line
        for first, paragraph in zip(post.paragraph_lines, post.paragraphs, strict=True):
            count = paragraph.count("\n") + 1
            if line < at + count:
                return first + line - at
            at += count + 1
        return post.paragraph_lines[-1] if post.paragraph_lines else 1
    # The front-matter key that starts last at or before the line; of keys on
    # one line (a list written [a, b]), the list itself.
    keys = sorted((-start, key.count("."), key) for key, start in doc.lines.items() if start <= line)
    for _, _, key in keys:
        found = post.lines.get(key) or post.lines.get(key.split(".")[0])
        if found:
            return found
    return post.lines.get("title", 1)


def read_plain_file(path: Path) -> str:
    """Read a plain-text file as UTF-8 (a BOM is tolerated), with the post loader's limits."""
    from newsletter.frontmatter import CONTROL_CHARS
    from newsletter.load import MAX_POST_BYTES

    try:
        if path.stat().st_size > MAX_POST_BYTES:
            raise ImportProblem(1, f"file is larger than {MAX_POST_BYTES // (1024 * 1024)} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportProblem(1, f"cannot read the file: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise ImportProblem(raw[: raw.index(b"\x00")].count(b"\n") + 1, "file contains a NUL byte")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportProblem(raw[: exc.start].count(b"\n") + 1, "not UTF-8 text (save the file as UTF-8)") from None
    bad = CONTROL_CHARS.search(text)
    if bad:
        line = text[: bad.start()].replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
        raise ImportProblem(line, f"file contains a control character (U+{ord(bad.group()):04X})")
    return text


def read(source: Path, settings: Settings, date: str) -> ImportedPost:
    """Read one plain-text file into the shared imported-post shape (``date`` as post files hold it)."""
    from newsletter.slugs import make_slug

    post = parse_plain(read_plain_file(source))
    if post.cta_text and not settings.cta.url:
        message = "the call-to-action needs a url: set url under [cta] in newsletter.toml"
        raise ImportProblem(post.lines.get("cta", 1), message)
    name = make_slug(post.title) or make_slug(source.stem) or "post"  # a stem may be 250 characters
    extra: dict[str, object] = {}
    if post.references:
        extra["references"] = post.references
    if post.cta_text:
        extra["cta"] = {"text": post.cta_text}
    return ImportedPost(
        source=source,
        line=post.lines.get("title", 1),
        kind="plaintext",
        title=post.title,
        date=date,
        body="\n\n".join(escape_markdown(p) for p in post.paragraphs),
        slug="" if make_slug(post.title) else name,
        name=f"{date[:10]}-{name}",
        categories=post.categories,
        extra=extra,
        locate=lambda text, line: source_line(post, text, line),
    )
