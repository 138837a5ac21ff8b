"""Hugo shortcodes and Jekyll (Liquid) tags in a Markdown body, turned into what they show.

``figure`` becomes an image with its caption, ``youtube``/``vimeo``/``tweet``/
``gist`` a link (YouTube's a linked thumbnail), ``highlight`` a fenced code
block, ``ref``/``relref``/``link``/``post_url`` the old URL of the post they
name (the new post keeps it as an alias). Anything not understood is kept
visibly, as inline code, and reported as a warning with its line: raw
template code is never published silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.importers.model import ImportReport

# Order matters: escaped Hugo shortcodes first, then Hugo, then Liquid tags, then Liquid output.
_TOKEN = re.compile(
    r"\{\{<\s*/\*(?P<esc1>.*?)\*/\s*>\}\}|\{\{%\s*/\*(?P<esc2>.*?)\*/\s*%\}\}"
    r"|\{\{(?P<open>[<%])-?\s*(?P<hugo>.*?)\s*-?[>%]\}\}"
    r"|\{%-?\s*(?P<liquid>.*?)\s*-?%\}"
    r"|\{\{-?\s*(?P<output>[^{}]*?)\s*-?\}\}",
    re.S,
)
_ARG = re.compile(r"""(?:([A-Za-z_][\w-]*)\s*=\s*)?("(?:[^"\\]|\\.)*"|'[^']*'|`[^`]*`|[^\s"'`]+)""")
_FENCE = re.compile(r"^ {0,3}(`{3,}(?![^`]*`)|~{3,})")  # a backtick fence's info string has no backtick
_LEFTOVER = re.compile(r"\{\{[<%]|\{%|\{\{")
CODE_SPAN = re.compile(
    r"(?<![`\\])(`+)(?!`).*?(?<!`)\1(?!`)", re.S
)  # a code span: equal backtick runs; "\`" opens none
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")
_IMAGE_EXT = re.compile(r"\.(?:png|jpe?g|gif|webp|svg|avif)(?:[?#].*)?$", re.I)


@dataclass
class Site:
    """What tags that name other posts or files need from the old site."""

    link: Callable[[str], str | None] = lambda target: None  # a post named by ref/link/post_url -> its old URL path
    include: Callable[[str], str | None] = lambda name: None  # Jekyll _includes file -> its text
    warnings: list[tuple[int, str, str]] = field(default_factory=list)


def parse_args(text: str) -> tuple[list[str], dict[str, str]]:
    """Positional and named arguments of a shortcode or tag (quotes removed)."""
    positional: list[str] = []
    named: dict[str, str] = {}
    for name, value in _ARG.findall(text):
        if value[:1] in "\"'`" and value[-1:] == value[:1] and len(value) > 1:
            value = value[1:-1].replace('\\"', '"')
        if name:
            named[name] = value
        else:
            positional.append(value)
    return positional, named


def inline_code(text: str, before: str = "") -> str:
    """``text`` shown as code, literally, wherever it stands in a Markdown body.

    An HTML ``<code>`` element with every ASCII punctuation character
    backslash-escaped: unlike a backtick code span, no stray backtick nearby
    can pair with it, and nothing inside can start a tag, a link or emphasis.
    """
    text = " ".join(text.split())
    space = " " if before.endswith("\\") else ""  # a backslash just before would escape the tag's "<"
    return space + "<code>" + _PUNCT.sub(r"\\\1", text) + "</code>"


def fenced(code: str, lang: str = "") -> str:
    """A fenced code block that no line of ``code`` can close."""
    longest = max((len(run) for run in re.findall(r"^\s*(`{3,})", code, re.M)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"\n{fence}{lang}\n{code.strip(chr(10))}\n{fence}\n"


def fence_ranges(body: str) -> list[tuple[int, int]]:
    """Character ranges of fenced code blocks."""
    ranges, at, opened = [], 0, None
    for line in body.split("\n"):
        found = _FENCE.match(line)
        if opened is None and found:
            opened = (at, found.group(1))
        elif (
            opened is not None and found and found.group(1)[0] == opened[1][0] and len(found.group(1)) >= len(opened[1])
        ):
            ranges.append((opened[0], at + len(line)))
            opened = None
        at += len(line) + 1
    if opened is not None:
        ranges.append((opened[0], len(body)))
    return ranges


def outside_code(body: str, change: Callable[[str], str]) -> str:
    """Apply ``change`` to the parts of ``body`` outside fenced code blocks and code spans."""
    out, at = [], 0
    spans = [(m.start(), m.end()) for m in CODE_SPAN.finditer(body)]
    for start, end in sorted(fence_ranges(body) + spans):
        if start < at:
            continue
        out.append(change(body[at:start]))
        out.append(body[start:end])
        at = end
    out.append(change(body[at:]))
    return "".join(out)


def _image(src: str, alt: str = "", caption: str = "", title: str = "", link: str = "") -> str:
    alt = (alt or caption or title).replace("]", "\\]").replace("\n", " ")
    image = f"![{alt}]({src})"
    if link:
        image = f"[{image}]({link})"
    return f"\n{image}\n" + (f"*{' '.join(caption.split())}*\n" if caption else "")


def _video(service: str, ident: str) -> str | None:
    if not re.fullmatch(r"[\w-]+", ident):
        return None
    if service == "youtube":
        thumb = f"https://img.youtube.com/vi/{ident}/hqdefault.jpg"
        return f"[![YouTube video]({thumb})](https://www.youtube.com/watch?v={ident})"
    return f"[Vimeo video](https://vimeo.com/{ident})"


def _common(name: str, args: list[str], named: dict[str, str], site: Site, content: str | None) -> str | None:
    """Shortcodes and tags that Hugo and Jekyll plugins share (video, gist, tweet, highlight)."""
    first = args[0] if args else ""
    if name in ("youtube", "vimeo"):
        ident = named.get("id") or first
        if name == "youtube" and "v=" in ident:
            ident = ident.split("v=")[1].split("&")[0]
        return _video(name, ident.rstrip("/").split("/")[-1])
    if name == "gist" and len(args) >= 2:
        return f"[Gist {args[0]}/{args[1]}](https://gist.github.com/{args[0]}/{args[1]})"
    if name in ("tweet", "x"):
        ident = named.get("id") or first
        user = named.get("user", "i")
        return f"[A post on X (Twitter)](https://twitter.com/{user}/status/{ident})" if ident.isdigit() else None
    if name == "highlight" and content is not None:
        return fenced(content, first if re.fullmatch(r"[\w+#.-]*", first) else "")
    return None


def _hugo(name: str, args: list[str], named: dict[str, str], site: Site, content: str | None) -> str | None:
    if name in ("figure", "img", "image"):
        src = named.get("src") or named.get("name") or (args[0] if args and image_like(args[0]) else "")
        if not src:
            return None
        return _image(
            src, named.get("alt", ""), named.get("caption", ""), named.get("title", ""), named.get("link", "")
        )
    if name in ("ref", "relref"):
        target = named.get("path") or (args[0] if args else "")
        return site.link(target) if target else None
    if name == "instagram" and args:
        return f"[A post on Instagram](https://www.instagram.com/p/{args[0]}/)"
    return _common(name, args, named, site, content)


def _liquid(name: str, args: list[str], named: dict[str, str], site: Site, content: str | None) -> str | None:
    if name in ("link", "post_url") and args:
        return site.link(args[0])
    if name == "raw" and content is not None:
        return content
    if name == "comment" and content is not None:
        return ""
    if name in ("img", "image") and args:  # Octopress/Pelican: {% img [class] src [w h] [title [alt]] %}
        src = next((a for a in args if "/" in a or _IMAGE_EXT.search(a)), "")
        return _image(src, title=" ".join(args[args.index(src) + 1 :]).strip("\"'")) if src else None
    if name == "include" and args:
        image = next((v for k, v in named.items() if _IMAGE_EXT.search(v) and k not in ("link", "href")), "")
        if image:
            caption = named.get("caption") or named.get("description") or named.get("title") or ""
            return _image(image, named.get("alt", ""), caption)
        text = site.include(args[0])
        return text if text is not None and not _LEFTOVER.search(text) else None
    return _common(name, args, named, site, content)


def _output(expression: str) -> str | None:
    """A Liquid output tag: site URL variables and quoted paths with URL filters."""
    parts = [part.strip() for part in expression.split("|")]
    head = parts[0]
    if head in ("site.baseurl", "site.url", "site.github.url", "site.url | append: site.baseurl"):
        return ""
    if (
        head[:1] in "\"'"
        and head[-1:] == head[:1]
        and all(re.match(r"^(?:relative_url|absolute_url|prepend:\s*site\.(?:base)?url)$", f) for f in parts[1:])
    ):
        return head[1:-1]
    return None


_PAIRED = {"highlight": "highlight", "raw": "raw", "comment": "comment"}


def convert(
    body: str,
    path: Path,
    body_line: int,
    report: ImportReport,
    site: Site,
    *,
    hugo: bool = True,
    liquid: bool = True,
    outputs: bool = True,
) -> str:
    """Turn the shortcodes and tags of ``body`` into Markdown; keep and report what is not understood.

    ``hugo``: Hugo shortcodes; ``liquid``: Liquid tags ``{% %}``; ``outputs``:
    Liquid output ``{{ }}`` (Jekyll's; Pelican's Liquid plugin has tags only).
    """
    fences = fence_ranges(body)
    out: list[str] = []
    at = 0

    def line_at(position: int) -> int:
        return body_line + body.count("\n", 0, position)

    def in_fence(position: int) -> bool:
        return any(start <= position < end for start, end in fences)

    def keep(start: int, text: str, what: str) -> str:
        report.warn(
            f"{what} not understood", path, line_at(start), f"{what} kept as text: {' '.join(text.split())[:80]}"
        )
        return text if in_fence(start) else inline_code(text, body[:start])

    while (m := _TOKEN.search(body, at)) is not None:
        is_hugo = m.group("hugo") is not None or m.group("esc1") is not None or m.group("esc2") is not None
        if (is_hugo and not hugo) or (not is_hugo and not liquid):
            out.append(body[at : m.start() + 1])
            at = m.start() + 1
            continue
        out.append(body[at : m.start()])
        at = m.end()
        original = m.group(0)
        escaped = m.group("esc1") or m.group("esc2")
        if escaped is not None:
            literal = "{{<" + escaped + ">}}" if m.group("esc1") is not None else "{{%" + escaped + "%}}"
            out.append(literal if in_fence(m.start()) else inline_code(literal, body[: m.start()]))
            continue
        if m.group("output") is not None and not outputs:
            out.append(original)
            continue
        if m.group("output") is not None:
            value = _output(m.group("output"))
            out.append(keep(m.start(), original, "Liquid output") if value is None else value)
            continue
        hugo = m.group("hugo") is not None
        inner = m.group("hugo") if hugo else m.group("liquid")
        name, _, rest = inner.strip().partition(" ")
        name = name.strip()
        if name.startswith(("/", "end")):  # a closing tag without its opening
            bare = name.lstrip("/").removeprefix("end") or rest.strip().split(" ")[0]
            out.append(keep(m.start(), original, f"Hugo shortcode '{bare}'" if hugo else f"Liquid tag '{bare}'"))
            continue
        args, named = parse_args(rest)
        content = None
        if name in _PAIRED:
            close = (
                re.compile(r"\{\{[<%]\s*/\s*" + name + r"\s*[>%]\}\}")
                if hugo
                else re.compile(r"\{%-?\s*end" + _PAIRED[name] + r"\s*-?%\}")
            )
            found = close.search(body, at)
            if found:
                content, at = body[at : found.start()], found.end()
                original = body[m.start() : at]
        value = (_hugo if hugo else _liquid)(name, args, named, site, content)
        if value is None:
            kind = f"Hugo shortcode '{name}'" if hugo else f"Liquid tag '{name}'"
            value = keep(m.start(), original, kind)
        out.append(value)
    out.append(body[at:])
    return "".join(out)


def image_like(url: str) -> bool:
    """True when ``url`` names an image file."""
    return bool(_IMAGE_EXT.search(url))
