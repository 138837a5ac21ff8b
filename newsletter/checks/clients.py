"""Client support of the features a message uses, per caniemail.com.

``newsletter/data/caniemail.json`` is a compact extract of the caniemail
data (MIT License, (c) 2019 Rémi Parmentier) for the features our templates
and typical posts use, with one verdict per client: y (supported),
a (partly), n (not supported), u (unknown).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsletter.checks.html import ScannedHtml, strip_comments
from newsletter.checks.results import CheckResult, info

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "caniemail.json"


@lru_cache(maxsize=1)
def client_table() -> dict[str, Any]:
    """The compact caniemail table shipped in ``newsletter/data/caniemail.json``."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


_TAG_ALIASES = {
    **{f"h{n}": "html-h1-h6" for n in range(1, 7)},
    **dict.fromkeys(("ul", "ol", "dl"), "html-lists"),
    **dict.fromkeys(("b", "strong"), "html-strong"),
    **dict.fromkeys(("s", "strike"), "html-strike"),
    **dict.fromkeys(("article", "section", "header", "footer", "nav", "main", "aside", "figure"), "html-semantics"),
}
_ATTRIBUTES = {  # attribute -> caniemail slug
    **{name: f"html-{name}" for name in ("role", "dir", "lang", "width", "height", "align", "valign", "hidden")},
    **{name: f"html-{name}" for name in ("background", "cellpadding", "cellspacing", "target", "srcset")},
    **{name: f"html-{name}" for name in ("aria-label", "aria-hidden", "aria-describedby", "aria-labelledby")},
    "loading": "html-loading-attribute",
}
_IMAGE_TYPES = {"jpeg": "jpg", "jpg": "jpg", "png": "png", "gif": "gif", "svg": "svg", "webp": "webp", "avif": "avif"}
_CSS_PREFIX_ALIASES = (("padding-", "css-padding"), ("margin-", "css-margin"), ("border-", "css-border"))


_CSS_FUNCTIONS = {
    "rgb(": "css-rgb",
    "rgba(": "css-rgba",
    "linear-gradient(": "css-linear-gradient",
    "var(": "css-variables",
    "calc(": "css-unit-calc",
    "light-dark(": "css-function-light-dark",
}
_CSS_UNITS = {"px": "px", "em": "em", "rem": "rem", "%": "percent", "vw": "vw", "vh": "vh", "pt": "pt"}
_SELECTORS = {
    "css-selector-class": r"\.[a-zA-Z_]",
    "css-selector-id": r"#[a-zA-Z_]",
    "css-selector-attribute": r"\[",
    "css-selector-child": r">",
    "css-selector-adjacent-sibling": r"\+",
    "css-selector-general-sibling": r"~",
    "css-selector-grouping": r",",
    "css-selector-universal": r"\*",
    "css-selector-descendant": r"[\w\])]\s+[\w.#\[*:]",
    "css-pseudo-class-hover": r":hover",
    "css-pseudo-class-target": r":target",
}


def declaration_features(css: str) -> set[str]:
    """caniemail slug candidates of declarations (``prop: value; ...``)."""
    found: set[str] = set()
    for prop, value in re.findall(r"([a-zA-Z-]+)\s*:\s*([^;{}]+)", css):
        prop, value = prop.lower(), value.strip().lower()
        if prop.startswith(("mso-", "-")):  # vendor properties: for their own client only
            continue
        if prop == "display":
            kinds = {"none": "css-display-none", "flex": "css-display-flex", "grid": "css-display-grid"}
            found.add(kinds.get(value.replace("!important", "").strip(), "css-display"))
        elif prop.startswith("border") and prop.endswith("radius"):
            found.add("css-border-radius")
        else:
            found.add(f"css-{prop}")
            found.update(slug for prefix, slug in _CSS_PREFIX_ALIASES if prop.startswith(prefix))
        if "!important" in value:
            found.add("css-important")
        found.update(slug for fn, slug in _CSS_FUNCTIONS.items() if fn in value)
        for unit in re.findall(r"\d(px|r?em|%|v[wh]|pt)(?![a-z])", value):
            found.add(f"css-unit-{_CSS_UNITS[unit]}")
    return found


def css_features(css: str) -> set[str]:
    """caniemail slug candidates of a style sheet: at-rules, selectors, declarations."""
    css = strip_comments(css)
    found: set[str] = set()
    for name, prelude in re.findall(r"@([a-z-]+)([^{;]*)", css):
        found.add(f"css-at-{name}")
        for feature in ("prefers-color-scheme", "prefers-reduced-motion", "hover", "orientation"):
            if feature in prelude.lower():
                found.add(f"css-at-media-{feature}")
    for selector in re.findall(r"(?:^|[{};])\s*([^@{};][^{};]*?)\s*\{", css):
        found.update(slug for slug, pattern in _SELECTORS.items() if re.search(pattern, selector))
    for block in re.findall(r"\{([^{}]*)\}", css):
        found |= declaration_features(block)
    return found


def html_features(page: ScannedHtml, known: dict[str, Any]) -> set[str]:
    """caniemail slugs of the HTML elements, attributes, images and CSS in ``page``."""
    found: set[str] = set()
    for element in page.elements:
        found.add(_TAG_ALIASES.get(element.tag, f"html-{element.tag}"))
        for name, value in element.attrs.items():
            if name in _ATTRIBUTES:
                found.add(_ATTRIBUTES[name])
            if name == "style":
                found |= declaration_features(value)
        if element.tag == "meta" and element.attrs.get("name", "").lower() == "color-scheme":
            found.add("html-meta-color-scheme")
        href = element.attrs.get("href", "")
        if element.tag == "a" and href.startswith("#"):
            found.add("html-anchor-links")
        if element.tag == "a" and href.startswith("mailto:"):
            found.add("html-mailto-links")
        if element.tag == "img":
            src = element.attrs.get("src", "")
            if src.startswith("data:"):
                found.add("image-base64")
            ext = urlsplit(src).path.rsplit(".", 1)[-1].lower()
            if ext in _IMAGE_TYPES:
                found.add(f"image-{_IMAGE_TYPES[ext]}")
    if page.doctype:
        found.add("html-doctype")
    if page.comments:
        found.add("html-comments")
    for block in page.styles:
        found |= css_features(block)
    return {slug for slug in found if slug in known}


def check_clients(page: ScannedHtml, table: dict[str, Any] | None = None) -> list[CheckResult]:
    """One note per feature in use that Gmail, Outlook (Windows), Apple Mail or Yahoo lack."""
    table = table or client_table()
    features, clients = table["features"], table["clients"]
    results = []
    for slug in sorted(html_features(page, features)):
        feature = features[slug]
        gaps = {"n": [], "a": []}  # type: dict[str, list[str]]
        for client, name in clients.items():
            verdict = feature.get(client, "u")
            if verdict in gaps:
                gaps[verdict].append(name)
        parts = [f"not supported in {', '.join(gaps['n'])}"] if gaps["n"] else []
        parts += [f"partly supported in {', '.join(gaps['a'])}"] if gaps["a"] else []
        if parts:
            results.append(info("client-support", f"{feature['title']} ({slug}): {'; '.join(parts)}"))
    return results
