"""Images of the old site that come along with a post.

An image referenced by a relative path (a page bundle's own file), by a
site-root path found under the old site's static folders (Hugo's
``static/``, Jekyll's root and ``assets/``, Pelican's content), or by an
absolute URL on the old site's own host, is copied into
``posts/images/<post>/`` and its link rewritten. An image that cannot be
found is reported; its link then points at the old site when its address
is known, else the image is replaced by visible text naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from newsletter.importers.model import ImageCopy, ImportedPost, ImportReport
from newsletter.importers.templates import outside_code

_MD_IMAGE = re.compile(r"(!\[(?:[^\]\\]|\\.)*\]\(\s*)<?([^)\s>]+)>?((?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\))")
_HTML_SRC = re.compile(r"(<img\b[^>]*?\bsrc\s*=\s*)([\"'])(.*?)\2", re.I | re.S)
_PELICAN = re.compile(r"^\{(?:static|filename|attach)\}")


@dataclass
class OldSite:
    """Where an old site keeps its files, and its address."""

    roots: list[Path] = field(default_factory=list)  # folders that "/x.png" is looked up in
    base_url: str = ""  # the old site's address, e.g. https://example.org/
    content_root: Path | None = None  # Pelican's {static}/{filename} paths start here


def _find(url: str, post_dir: Path, site: OldSite) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") or url.startswith("//"):
        base = urlsplit(site.base_url)
        if not base.netloc or parts.netloc.lower() != base.netloc.lower():
            return None
        path = parts.path[len(base.path.rstrip("/")) :] if parts.path.startswith(base.path.rstrip("/")) else parts.path
    elif parts.scheme:
        return None
    else:
        path = parts.path
    path = unquote(path)
    if _PELICAN.match(path):
        path = _PELICAN.sub("", path)
        candidates = [(site.content_root or post_dir) / path.lstrip("/")] if path.startswith("/") else [post_dir / path]
    elif path.startswith("/"):
        candidates = [root / path.lstrip("/") for root in site.roots]
    else:
        candidates = [post_dir / path, *(root / path for root in site.roots)]
    if ".." in Path(path).parts:
        return None
    for candidate in candidates:
        try:
            if candidate.is_file():
                return candidate.resolve()
            # The old site may have served it whatever the case (Windows, macOS, WordPress uploads).
            if candidate.parent.is_dir():
                wanted = candidate.name.lower()
                for entry in candidate.parent.iterdir():
                    if entry.name.lower() == wanted and entry.is_file():
                        return entry.resolve()
        except (OSError, ValueError):
            continue
    return None


def bring_images(post: ImportedPost, folder: str, site: OldSite, report: ImportReport) -> None:
    """Find the images ``post.body`` refers to, plan their copies and rewrite their links."""
    post_dir = post.source.parent
    chosen: dict[Path, str] = {}

    def replace(url: str, start: int) -> str | None:
        """The new address of the image at ``url`` (None: drop the image)."""
        if url.startswith(("data:", "#")) or (urlsplit(url).scheme in ("http", "https") and not site.base_url):
            return url
        found = _find(url, post_dir, site)
        line = (post.body_line or post.line) + post.body.count("\n", 0, start)
        if found is None:
            if urlsplit(url).scheme in ("http", "https"):
                if urlsplit(url).netloc.lower() == urlsplit(site.base_url).netloc.lower():
                    message = f"image {url} not found beside the export; it stays on the old site"
                    report.warn("image left at the old site", post.source, line, message)
                return url  # another site's image: it stays there
            if site.base_url and not _PELICAN.match(url):
                old = site.base_url.rstrip("/") + "/" + (url.lstrip("/") if url.startswith("/") else url)
                if not url.startswith("/"):  # relative to the post's old page: unknown, say so
                    report.warn("image not found", post.source, line, f"image {url!r} not found; dropped")
                    return None
                report.warn(
                    "image left at the old site", post.source, line, f"image {url!r} not found; linked to {old}"
                )
                return old
            report.warn("image not found", post.source, line, f"image {url!r} not found; dropped")
            return None
        if found not in chosen:
            name = found.name
            taken = set(chosen.values())
            stem, suffix = Path(name).stem, Path(name).suffix
            number = 2
            while f"images/{folder}/{name}" in taken:
                name = f"{stem}-{number}{suffix}"
                number += 1
            chosen[found] = f"images/{folder}/{name}"
            post.images.append(ImageCopy(found, chosen[found]))
        return quote(chosen[found])

    def markdown_image(m: re.Match[str]) -> str:
        new = replace(m.group(2), m.start())
        if new is None:
            alt = m.group(1)[2:].rstrip("( \t").rstrip("]")
            return f"*[image: {alt or m.group(2)}]*"
        return f"{m.group(1)}{new}{m.group(3)}"

    def html_image(m: re.Match[str]) -> str:
        new = replace(m.group(3), m.start())
        return f"{m.group(1)}{m.group(2)}{new or ''}{m.group(2)}"

    post.body = outside_code(post.body, lambda text: _HTML_SRC.sub(html_image, _MD_IMAGE.sub(markdown_image, text)))
