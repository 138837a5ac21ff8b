"""Contrast ratios (WCAG 2.1) of text and background colours, as coloraide computes them.

Importing coloraide costs about 0.1 s (it computes colour-temperature
tables when imported), most of ``newsletter check``. A ratio depends only
on the two colours, so the ratios of the default templates' colours (both
palettes, both text directions) are kept in ``newsletter/data/contrast.json``,
computed by coloraide (``python -m newsletter.checks.contrast``; a test
keeps the file current). Any other pair is computed by coloraide, once per
process.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "data" / "contrast.json"
Pair = tuple[str, str]


@lru_cache(maxsize=1)
def _known() -> dict[Pair, float | None]:
    """The shipped ratios (none when the file is missing)."""
    try:
        rows = json.loads(TABLE.read_text(encoding="utf-8"))["ratios"]
    except FileNotFoundError:
        return {}
    return {(foreground, background): ratio for foreground, background, ratio in rows}


def contrast(foreground: str, background: str) -> float | None:
    """The WCAG 2.1 contrast ratio of two CSS colours; None when one is not a colour coloraide reads."""
    known = _known()
    pair = (foreground, background)
    if pair not in known:
        known[pair] = computed(foreground, background)
    return known[pair]


def computed(foreground: str, background: str) -> float | None:
    """The ratio computed by coloraide."""
    from coloraide import Color

    try:
        return float(Color(foreground).contrast(Color(background), method="wcag21"))
    except (ValueError, TypeError):
        return None


def generate(repo: Path) -> str:
    """The table: every pair of the colours the default templates and the sample digests hold, by coloraide.

    The colours are those the contrast check meets in the sample digests
    (en and ar), and every ``#hex`` colour of the default email templates,
    written both as there and in the short form cssutils gives inlined
    styles (``#ffffff`` -> ``#fff``): a digest whose posts hold code
    blocks, quotes or tables finds its pairs here too.
    """
    import re

    from lxml import html as lxml_html

    from newsletter.checks import a11y
    from newsletter.render.email_css import sample_digests

    colours: set[str] = set()

    def record(foreground: str, background: str) -> float | None:
        colours.update((foreground, background))
        return computed(foreground, background)

    real, a11y._contrast = a11y._contrast, record
    try:
        for html in sample_digests(repo):
            a11y.check_contrast(lxml_html.document_fromstring(html))
    finally:
        a11y._contrast = real
    for template in sorted((TABLE.parent.parent / "templates" / "email").glob("*.html")):
        for colour in re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", template.read_text(encoding="utf-8")):
            colours.add(colour)
            if len(colour) == 7 and colour[1::2].lower() == colour[2::2].lower():
                colours.add("#" + colour[1::2])
    rows = ",\n".join(json.dumps([fg, bg, computed(fg, bg)]) for fg in sorted(colours) for bg in sorted(colours))
    about = (
        "WCAG 2.1 contrast ratios by coloraide of the default templates' colours: python -m newsletter.checks.contrast"
    )
    return f'{{\n"about": {json.dumps(about)},\n"ratios": [\n{rows}\n]\n}}\n'


if __name__ == "__main__":
    TABLE.write_text(generate(Path(__file__).resolve().parents[2]), encoding="utf-8")
    print(TABLE)
