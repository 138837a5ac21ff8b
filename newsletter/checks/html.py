"""Checks on the HTML part: links, anchors, images, the <style> block."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from newsletter.checks.results import CheckResult, error, info, warning

STYLE_BUDGET = 16_384  # bytes of CSS in <style>; Gmail drops larger blocks


@dataclass
class Element:
    """One start tag: name, attributes (lower-case names) and line in the HTML."""

    tag: str
    attrs: dict[str, str]
    line: int


@dataclass
class ScannedHtml:
    """What the checks need from an HTML document, gathered in one pass."""

    elements: list[Element] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    styles: list[str] = field(default_factory=list)  # contents of <style> blocks
    doctype: bool = False
    comments: int = 0

    def find(self, *tags: str) -> Iterable[Element]:
        """Elements with one of these tag names."""
        return (e for e in self.elements if e.tag in tags)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ScannedHtml()
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        self.page.elements.append(Element(tag, values, self.getpos()[0]))
        if "id" in values:
            self.page.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.page.ids.add(values["name"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.page.styles.append(data)

    def handle_decl(self, decl: str) -> None:
        self.page.doctype = self.page.doctype or decl.lower().startswith("doctype")

    def handle_comment(self, data: str) -> None:
        self.page.comments += 1


def scan_html(html: str) -> ScannedHtml:
    """Parse ``html`` once (standard library parser) into a :class:`ScannedHtml`."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.page


def site_path(url: str, base_url: str) -> str | None:
    """The path under public/ that ``url`` (under ``base_url``) is served from, else None."""
    parts, base = urlsplit(url), urlsplit(base_url)
    if (parts.scheme, parts.netloc.lower()) != (base.scheme, base.netloc.lower()):
        return None
    if not parts.path.startswith(base.path):
        return None
    rel = unquote(parts.path[len(base.path) :])
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    return rel


def local_file(url: str, base_url: str, public_dir: Path) -> Path | None:
    """The file in ``public_dir`` that ``url`` (under ``base_url``) is served from, else None."""
    rel = site_path(url, base_url)
    return None if rel is None else public_dir / rel


# What the build writes under public/: the index, the feeds, and these folders.
SITE_FILES = frozenset({"index.html", "feed.xml", "atom.xml", "feed.json"})
SITE_FOLDERS = ("posts/", "digests/", "categories/", "tags/", "media/")


def site_folders(post_pages: bool = True) -> tuple[str, ...]:
    """The folders the build writes; without post pages (``[site] post_url`` set), not posts/."""
    return SITE_FOLDERS if post_pages else tuple(f for f in SITE_FOLDERS if f != "posts/")


def generated(rel: str, folders: tuple[str, ...] = SITE_FOLDERS) -> bool:
    """Whether the build writes (or would write) ``rel``, a path under public/."""
    return rel in SITE_FILES or rel.startswith(folders)


def _published(url: str, base_url: str, public_dir: Path, folders: tuple[str, ...]) -> bool | None:
    """True/False for a URL of a page the build makes (file found or not); None for any other URL.

    Other pages on the site's domain (a contact page served by another
    system, say) are none of the build's business and are not checked.
    """
    rel = site_path(url, base_url)
    if rel is None or not generated(rel, folders):
        return None
    try:
        real = (public_dir / rel).resolve()
        return real.is_relative_to(public_dir.resolve()) and real.is_file()
    except (OSError, ValueError):
        return False


def check_links(
    page: ScannedHtml,
    base_url: str,
    public_dir: Path | None,
    exempt: set[str] = frozenset(),  # type: ignore[assignment]
    folders: tuple[str, ...] = SITE_FOLDERS,
) -> list[CheckResult]:
    """Every href absolute http(s) or mailto; #anchors resolve; links to pages we build exist in public/."""
    results: list[CheckResult] = []
    built = public_dir is not None and public_dir.is_dir()
    seen: set[str] = set()
    for element in page.find("a", "area"):
        if "href" not in element.attrs:
            continue
        href = element.attrs["href"].strip()
        where = f"message.html:{element.line}"
        if href.startswith("#"):
            if unquote(href[1:]) not in page.ids:
                results.append(error("anchor-missing", f"{where}: {href} points to no id in the message"))
            continue
        if href in seen:
            continue
        seen.add(href)
        scheme = urlsplit(href).scheme.lower()
        if not href or not scheme:
            results.append(error("link-relative", f"{where}: relative link {href!r} (links must be absolute)"))
        elif scheme not in ("http", "https", "mailto"):
            results.append(error("link-scheme", f"{where}: {scheme}: link {href[:80]!r}"))
        elif built and href not in exempt and _published(href, base_url, public_dir, folders) is False:  # type: ignore[arg-type]
            results.append(warning("link-missing-page", f"{where}: {href} is not in public/"))
    if not built and any(e.attrs.get("href", "").startswith(base_url) for e in page.find("a")):
        results.append(info("link-not-checked", "public/ is not built: links to the site were not checked"))
    return results


def check_images(
    page: ScannedHtml,
    base_url: str,
    public_dir: Path | None,
    folders: tuple[str, ...] = SITE_FOLDERS,
) -> list[CheckResult]:
    """Images: alt always (empty when decorative), a width, an absolute https src, no data: URLs.

    Images the build publishes (under media/) must be in public/.
    """
    results = []
    built = public_dir is not None and public_dir.is_dir()
    for element in page.find("img"):
        src = element.attrs.get("src", "").strip()
        where = f"message.html:{element.line}: <img src={src[:80]!r}>"
        if "alt" not in element.attrs:
            results.append(error("image-alt", f'{where} has no alt text (use alt="" when decorative)'))
        if not element.attrs.get("width", "").strip():
            results.append(warning("image-width", f"{where} has no width attribute (Outlook shows it full size)"))
        scheme = urlsplit(src).scheme.lower()
        if scheme == "data":
            results.append(error("image-data", f"{where}: data: images are blocked by most clients"))
        elif scheme != "https":
            level = warning if scheme == "http" else error
            results.append(level("image-src", f"{where}: the source should be an absolute https URL"))
        elif built and _published(src, base_url, public_dir, folders) is False:  # type: ignore[arg-type]
            results.append(warning("image-missing", f"{where} is not in public/"))
    return results


def check_style(page: ScannedHtml) -> list[CheckResult]:
    """CSS left in <style>: at most 16 KB and no nested at-rules (Gmail drops the block)."""
    results = []
    css = "".join(page.styles)
    size = len(css.encode("utf-8"))
    if size > STYLE_BUDGET:
        results.append(warning("style-size", f"<style> holds {size:,} bytes of CSS; Gmail drops over {STYLE_BUDGET:,}"))
    for block in page.styles:
        nested = False
        stack: list[bool] = []  # one entry per open brace: is it an at-rule?
        for token in re.finditer(r"@[\w-]+[^{;]*\{|\{|\}", strip_comments(block)):
            text = token.group(0)
            if text == "}":
                if stack:
                    stack.pop()
                continue
            is_at = text.startswith("@")
            nested = nested or (is_at and any(stack))
            stack.append(is_at)
        if nested:
            results.append(warning("style-nested", "an at-rule nested in another at-rule: Gmail drops the <style>"))
    return results


def strip_comments(css: str) -> str:
    """CSS without its /* comments */."""
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)
