"""Accessibility checks on the HTML part, after the email-accessibility guides.

From hteumeuleu/email-guidelines and the Email Markup Consortium's checks:
``lang`` and ``dir`` on ``<html>`` and on the wrapper that webmail keeps,
``role="presentation"`` on layout tables, headings in order, link text that
says where the link goes, text of at least 14 px, and a contrast of at
least 4.5:1 between every text and its background, in the light palette
(the inlined styles) and in the dark one (the ``prefers-color-scheme:
dark`` rules, applied over them as a client that honours them would).

The HTML is parsed with lxml and the dark rules matched with cssselect
(both come with premailer); colours and contrast ratios are coloraide's
(WCAG 2.1 relative luminance), those of the default templates' colours
computed ahead (:mod:`newsletter.checks.contrast`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newsletter.checks.results import CheckResult, error, warning

if TYPE_CHECKING:
    from lxml.html import HtmlElement

MIN_CONTRAST = 4.5
MIN_TEXT_PX = 14.0
DEFAULT_PX = 16.0
# Link texts that do not say where a link goes, in the languages of the shipped catalogs.
VAGUE_LINK_TEXT = frozenset(
    {
        "click here",
        "here",
        "read more",
        "more",
        "link",
        "this",
        "click",
        "learn more",
        "ici",
        "cliquez ici",
        "lire la suite",
        "plus",
        "lien",
        "hier",
        "mehr",
        "weiterlesen",
        "aquí",
        "haga clic aquí",
        "leer más",
        "más",
        "qui",
        "clicca qui",
        "leggi di più",
        "altro",
        "aqui",
        "clique aqui",
        "leia mais",
        "mais",
        "klik hier",
        "lees meer",
        "meer",
        "هنا",
        "المزيد",
        "اقرأ المزيد",
    }
)
_DARK_BLOCK = re.compile(r"@media[^{]*prefers-color-scheme\s*:\s*dark[^{]*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", re.I)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SKIP_TEXT = {"style", "script", "head", "title"}


def declarations(css: str) -> dict[str, str]:
    """``color:#fff; font-size:14px`` -> ``{"color": "#fff", "font-size": "14px"}`` (``!important`` dropped)."""
    found = {}
    for item in css.split(";"):
        name, sep, value = item.partition(":")
        if sep:
            found[name.strip().lower()] = value.replace("!important", "").strip()
    return found


@dataclass
class _Computed:
    color: str
    background: str
    size: float


def _px(value: str, parent: float) -> float | None:
    m = re.fullmatch(r"\s*([0-9.]+)\s*(px|pt|em|rem|%)?\s*", value)
    if not m:
        return None
    number, unit = float(m.group(1)), m.group(2) or "px"
    return {"px": number, "pt": number * 4 / 3, "em": number * parent, "rem": number * DEFAULT_PX}.get(
        unit, number * parent / 100
    )


def _dark_styles(root: HtmlElement) -> dict[Any, dict[str, str]]:
    """Per element, the declarations the dark-mode rules give it (higher specificity wins)."""
    from cssselect import GenericTranslator, SelectorError, parse

    css = "".join(style.text or "" for style in root.iter("style"))
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    chosen: dict[Any, dict[str, tuple[tuple[int, int, int], int, str]]] = {}
    order = 0
    for block in _DARK_BLOCK.findall(css):
        for selectors, body in _RULE.findall(block):
            values = declarations(body)
            for selector in selectors.split(","):
                order += 1
                try:
                    parsed = parse(selector.strip())
                    xpath = GenericTranslator().css_to_xpath(selector.strip())
                except SelectorError:
                    continue
                specificity = parsed[0].specificity() if parsed else (0, 0, 0)
                for element in root.xpath(xpath):
                    mine = chosen.setdefault(element, {})
                    for name, value in values.items():
                        if name not in mine or (specificity, order) >= mine[name][:2]:
                            mine[name] = (specificity, order, value)
    return {element: {n: v[2] for n, v in values.items()} for element, values in chosen.items()}


def _own_text(element: HtmlElement) -> str:
    text = element.text or ""
    text += "".join(child.tail or "" for child in element)
    return " ".join(text.split())


def _contrast(foreground: str, background: str) -> float | None:
    from newsletter.checks.contrast import contrast

    return contrast(foreground, background)


def _walk(root: HtmlElement, dark: dict[Any, dict[str, str]] | None) -> list[tuple[HtmlElement, _Computed]]:
    """Every element holding text with its computed colour, background and font size."""
    out: list[tuple[HtmlElement, _Computed]] = []
    body = root.find("body")
    start = body if body is not None else root

    def visit(element: HtmlElement, parent: _Computed) -> None:
        if not isinstance(element.tag, str) or element.tag in _SKIP_TEXT:
            return
        style = declarations(element.get("style", ""))
        if dark is not None:
            style.update(dark.get(element, {}))
        background = style.get("background-color") or element.get("bgcolor") or ""
        size = _px(style.get("font-size", ""), parent.size) if "font-size" in style else parent.size
        computed = _Computed(
            color=style.get("color") or parent.color,
            background=background if background and background != "transparent" else parent.background,
            size=size or parent.size,
        )
        if _own_text(element):
            out.append((element, computed))
        for child in element:
            visit(child, computed)

    visit(start, _Computed("#000000", "#ffffff", DEFAULT_PX))
    return out


def _where(element: HtmlElement) -> str:
    label = element.tag + ("." + element.get("class").split()[0] if element.get("class") else "")
    return f"message.html:{element.sourceline}: <{label}>"


def check_accessibility(html: str, lang: str, direction: str) -> list[CheckResult]:
    """Every accessibility check on a digest's HTML; ``lang`` and ``direction`` are what it should declare."""
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return [error("a11y-parse", "the HTML part could not be parsed")]
    results = check_lang(root, lang, direction) + check_tables(root) + check_headings(root) + check_link_text(root)
    results += check_text_size(root) + check_contrast(root)
    return results


def check_lang(root: HtmlElement, lang: str, direction: str) -> list[CheckResult]:
    """``lang`` and ``dir`` on <html> and on the article wrapper (webmail drops <html>)."""
    results = []
    wrapper = next(iter(root.xpath("//*[@role='article']")), None)
    for name, element in (("<html>", root), ('the role="article" wrapper', wrapper)):
        if element is None:
            missing = 'no element with role="article" wraps the message (webmail drops <html>)'
            results.append(error("a11y-lang", missing))
            continue
        if (element.get("lang") or "").lower() != lang.lower():
            results.append(error("a11y-lang", f"{name} has lang={element.get('lang')!r}, expected {lang!r}"))
        if (element.get("dir") or "") != direction:
            results.append(error("a11y-dir", f"{name} has dir={element.get('dir')!r}, expected {direction!r}"))
    return results


def check_tables(root: HtmlElement) -> list[CheckResult]:
    """Layout tables (no header cells, no caption) carry role="presentation"."""
    results = []
    for table in root.iter("table"):
        own = [cell for cell in table.iter("th", "caption") if next(cell.iterancestors("table")) is table]
        data = bool(own)  # header cells of this table, not of one nested in it
        if not data and table.get("role") != "presentation":
            results.append(error("a11y-table-role", f'{_where(table)}: a layout table without role="presentation"'))
    return results


def check_headings(root: HtmlElement) -> list[CheckResult]:
    """One outline: the first heading an h1, and no level skipped on the way down."""
    results = []
    previous = 0
    for element in root.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        level = int(element.tag[1])
        if previous == 0 and level != 1:
            results.append(warning("a11y-heading-order", f"{_where(element)}: the first heading is h{level}, not h1"))
        elif level > previous + 1 and previous:
            results.append(
                warning("a11y-heading-order", f"{_where(element)}: h{level} follows h{previous} (skips a level)")
            )
        previous = level
    return results


def check_link_text(root: HtmlElement) -> list[CheckResult]:
    """Every link has text (or an image with alt text) that says where it goes."""
    results = []
    for link in root.iter("a"):
        if link.get("href") is None:
            continue
        text = " ".join(link.text_content().split())
        alts = " ".join(img.get("alt", "") for img in link.iter("img")).strip()
        label = (text or alts or link.get("aria-label", "")).strip()
        href = link.get("href", "")[:80]
        if not label:
            results.append(error("a11y-link-text", f"{_where(link)}: the link to {href} has no text"))
        elif label.casefold().strip(" .:…→»") in VAGUE_LINK_TEXT:
            vague = f"{_where(link)}: link text {label!r} does not say where {href} goes"
            results.append(warning("a11y-link-text", vague))
    return results


def check_text_size(root: HtmlElement) -> list[CheckResult]:
    """Text at least 14 px (one finding per size and element kind)."""
    results = []
    seen = set()
    for element, computed in _walk(root, None):
        if computed.size < MIN_TEXT_PX and (computed.size, element.tag, element.get("class")) not in seen:
            seen.add((computed.size, element.tag, element.get("class")))
            results.append(
                warning(
                    "a11y-text-size", f"{_where(element)}: text of {computed.size:g}px (at least {MIN_TEXT_PX:g}px)"
                )
            )
    return results


def check_contrast(root: HtmlElement) -> list[CheckResult]:
    """Every text and its background at least 4.5:1, in the light palette and in the dark one."""
    results = []
    for palette, dark in (("light", None), ("dark", _dark_styles(root))):
        seen = set()
        for element, computed in _walk(root, dark):
            pair = (computed.color, computed.background)
            if pair in seen:
                continue
            seen.add(pair)
            ratio = _contrast(*pair)
            if ratio is not None and ratio < MIN_CONTRAST:
                results.append(
                    error(
                        "a11y-contrast",
                        f"{_where(element)}: {palette} palette: text {computed.color} on {computed.background} "
                        f"has a contrast of {ratio:.2f}:1 (at least {MIN_CONTRAST}:1)",
                    )
                )
    return results
