"""The digest's HTML part: post bodies adapted for email, the template, CSS inlining.

premailer (and cssutils under it) is imported only when a digest's CSS is
not the default templates' (see :mod:`newsletter.render.email_css`): it
costs about 160 ms of import time.
"""

from __future__ import annotations

import re
import struct
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from premailer import Premailer

    from newsletter.i18n import Language
    from newsletter.render.email_css import Memo

# Attributes premailer would copy from inlined CSS that the HTML checker
# rejects (height="auto" on images, bgcolor and width on links, ...). The
# template writes the width attributes email clients need itself.
DISABLED_BASIC_ATTRIBUTES = ["align", "valign", "bgcolor", "width", "height"]
CONTENT_WIDTH = 536  # 600 px column minus 2 x 32 px padding
MAX_IMAGE_WIDTH = 100_000  # a width past this is a damaged file, not an image
_PIXELS = re.compile(r"[0-9]{1,6}")
_IMG = re.compile(r"<img\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([a-zA-Z-]+)="([^"]*)"')
_HEADING = re.compile(r"<(/?)h([1-6])>")
_SVG_SIZE = re.compile(rb"<svg\b[^>]*?\swidth=[\"']\s*([0-9.]+)(?:px)?\s*[\"']", re.S)
_SVG_VIEWBOX = re.compile(rb"<svg\b[^>]*?\sviewBox=[\"']\s*[-0-9.]+[ ,]+[-0-9.]+[ ,]+([0-9.]+)", re.S)


def inliner() -> Memo:
    """The CSS inliner, ready: lxml imported, premailer's parsing of the default CSS loaded.

    What a process about to render a digest can load ahead (the build's
    helper does); premailer itself is imported only for other CSS.
    """
    from lxml import etree  # noqa: F401 - the inliner parses and writes with it

    from newsletter.render.email_css import memo

    return memo()


@lru_cache(maxsize=1)
def premailer_inliner() -> Premailer:
    """The one premailer configuration, built once and reused (for CSS the inliner's table lacks).

    cssutils reports every ``mso-*`` and ``-webkit-*`` property as unknown;
    its log goes to a logger of ours that prints nothing, so stderr stays
    clean.
    """
    import logging

    import cssutils

    Premailer = _import_premailer()
    quiet = logging.getLogger("newsletter.cssutils")
    quiet.propagate = False
    quiet.setLevel(logging.CRITICAL)
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    cssutils.log.setLog(quiet)
    return Premailer(
        session=_NoNetwork(),
        allow_network=False,
        allow_loading_external_files=False,
        keep_style_tags=False,  # the data-premailer="ignore" block keeps @media as written
        strip_important=False,
        remove_classes=False,  # the @media rules select by class
        disable_basic_attributes=DISABLED_BASIC_ATTRIBUTES,
        disable_link_rewrites=True,
        exclude_pseudoclasses=True,
        align_floating_images=False,
        cache_css_parsing=True,
        disable_validation=True,  # our own CSS: validating it compiles ~200 regexes (150 ms)
    )


class _NoNetwork:
    """premailer's HTTP session: it has no reason to use one (allow_network is off)."""

    def get(self, url: str, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"premailer tried to fetch {url}")


def _import_premailer() -> Any:
    """premailer's Premailer class, imported without ``requests``.

    premailer imports requests (70 ms, half its import time) only to fetch
    remote style sheets, which this configuration never does. A stand-in
    module takes its place during the import and is removed right after,
    so that anything else importing requests gets the real one.
    """
    import sys
    import types

    if "requests" in sys.modules or "premailer" in sys.modules:
        from premailer import Premailer

        return Premailer
    stand_in = types.ModuleType("requests", "stand-in: premailer never fetches anything here")
    sys.modules["requests"] = stand_in
    try:
        from premailer import Premailer
    finally:
        if sys.modules.get("requests") is stand_in:
            del sys.modules["requests"]
    return Premailer


def inline_css(html: str) -> str:
    """Move the template's CSS into style attributes; keep the ignored block.

    What premailer's ``transform`` makes of ``html`` with :func:`premailer_inliner`'s
    options, without importing premailer for the default templates' CSS
    (see :mod:`newsletter.render.email_css`).
    """
    from newsletter.render.email_css import inline

    out = inline(html)
    return out if out.endswith("\n") else out + "\n"


def image_width(path: Path) -> int | None:
    """The intrinsic width in pixels of a PNG, GIF, JPEG or SVG file, if it can be read."""
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return None
    try:  # a truncated or damaged header just means "width unknown"
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return int(struct.unpack(">I", head[16:20])[0])
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return int(struct.unpack("<H", head[6:8])[0])
        if head.startswith(b"\xff\xd8"):
            return _jpeg_width(head)
    except struct.error:
        return None
    m = _SVG_SIZE.search(head) or _SVG_VIEWBOX.search(head)
    if m:
        try:
            width = round(float(m.group(1)))
        except (ValueError, OverflowError):  # "1.2.3", or 310 digits: float infinity
            return None
        return width if 0 < width <= MAX_IMAGE_WIDTH else None
    return None


def _jpeg_width(data: bytes) -> int | None:
    """Walk the JPEG segments to the first start-of-frame marker."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int(struct.unpack(">H", data[i + 7 : i + 9])[0])
        i += 2 + length
    return None


_FOOTNOTE_ID = re.compile(r' id="fn(?:ref)?-[^"]*"')


def email_body_html(html: str, widths: dict[str, int | None]) -> str:
    """Adapt a post body for the digest.

    Headings move below the post title (h2) so the outline stays sound, and
    every image gets ``alt`` and a ``width`` attribute (its own width,
    at most the column's), which Outlook needs to size it.
    """
    html = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(max(int(m.group(2)) + 1, 3), 6)}>", html)
    if ' id="fn' in html:  # footnote anchors: the links lead to the web page; two posts' would clash here
        html = _FOOTNOTE_ID.sub("", html)

    def image(m: re.Match[str]) -> str:
        attributes = dict(_ATTRIBUTE.findall(m.group(1)))
        attributes.setdefault("alt", "")
        width = attributes.get("width", "")
        # ASCII digits only: "²".isdigit() is true, and int() refuses it.
        known = int(width) if _PIXELS.fullmatch(width) else widths.get(attributes.get("src", ""))
        attributes["width"] = str(min(known or CONTENT_WIDTH, CONTENT_WIDTH))
        attributes.pop("height", None)  # scaled by CSS: height:auto
        return "<img " + " ".join(f'{k}="{v}"' for k, v in attributes.items()) + ">"

    return _IMG.sub(image, html)


def vml_width(label: str) -> int:
    """Width of the Outlook (VML) button: fixed there, so estimated from the label."""
    return max(200, min(CONTENT_WIDTH, 9 * len(label) + 56))


def render_html(templates_dir: Path, context: dict[str, Any], language: Language | None = None) -> str:
    """Render ``email/digest.html`` (the project's, else the default) in ``language`` and inline its CSS."""
    from newsletter.templates import environment

    template = environment(templates_dir, language).get_template("email/digest.html")
    return inline_css(template.render(context))
