"""CSS inlining for the digest: premailer's algorithm, with its CSS parsing remembered.

premailer parses the style sheet and every style attribute it merges with
cssutils; importing cssutils and premailer and parsing the template's CSS
cost about 0.2 s, most of a digest's rendering. What cssutils makes of a
text depends on that text alone, so the results for the default templates
(both text directions) are kept in ``newsletter/data/inline_css.json``,
written from them by ``python -m newsletter.render.email_css`` (a test
keeps it current). A text the table lacks (a project's own CSS) is parsed
by premailer itself, once per process.

:func:`inline` follows ``Premailer.transform`` (premailer 3.10) step by
step for the one configuration of :func:`newsletter.render.email_html.premailer_inliner`;
tests compare its output with premailer's. What that configuration turns
off (link rewriting, basic HTML attributes, class removal, floating images,
external style sheets) is left out.
"""

from __future__ import annotations

import json
import operator
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLE = Path(__file__).resolve().parent.parent / "data" / "inline_css.json"
# premailer's FILTER_PSEUDOSELECTORS: selectors that choose elements rather than states.
FILTER_PSEUDOSELECTORS = (":last-child", ":first-child", ":nth-child")
Rule = tuple[int, int, int, int, int, str, str]  # important, ids, classes, elements, index in sheet, selector, bulk
Pairs = tuple[tuple[str, str], ...]
SAMPLE_WEEK = "2026-W47"  # the week of the repository's sample posts


@dataclass
class Memo:
    """What cssutils (through premailer) and cssselect made of each text seen."""

    sheets: dict[str, tuple[tuple[Rule, ...], str | None]] = field(default_factory=dict)
    pairs: dict[tuple[str, bool], Pairs] = field(default_factory=dict)
    xpaths: dict[str, str] = field(default_factory=dict)
    compiled: dict[str, Any] = field(default_factory=dict, repr=False)

    def sheet(self, css: str) -> tuple[tuple[Rule, ...], str | None]:
        """A style element's rules and the text that stays in it (None: the element goes)."""
        found = self.sheets.get(css)
        if found is None:
            found = self.sheets[css] = _parse_sheet(css)
        return found

    def declarations(self, text: str, validate: bool) -> Pairs:
        """premailer's ``csstext_to_pairs``: the (property, value) pairs of a declaration list."""
        found = self.pairs.get((text, validate))
        if found is None:
            from premailer.merge_style import csstext_to_pairs

            _quiet_premailer()
            found = tuple((name, value) for name, value in csstext_to_pairs(text, validate=validate))
            self.pairs[(text, validate)] = found
        return found

    def select(self, selector: str, page: Any) -> list[Any]:
        """The elements a CSS selector matches (lxml's CSSSelector, by its XPath)."""
        xpath = self.compiled.get(selector)
        if xpath is None:
            from lxml import etree

            path = self.xpaths.get(selector)
            if path is None:
                from lxml.cssselect import CSSSelector

                path = self.xpaths[selector] = CSSSelector(selector).path
            elif "__lxml_internal_css" in path:
                import lxml.cssselect  # noqa: F401 - registers the functions that path calls

            xpath = self.compiled[selector] = etree.XPath(path)
        return xpath(page)  # type: ignore[no-any-return]


_memo: Memo | None = None


def memo() -> Memo:
    """The process's memo, started from the shipped table."""
    global _memo
    if _memo is None:
        _memo = load_table(TABLE)
    return _memo


def load_table(path: Path) -> Memo:
    """A memo from a table written by :func:`table_json` (an empty one when the file is missing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Memo()
    return Memo(
        sheets={css: (tuple(tuple(rule) for rule in rules), kept) for css, rules, kept in data["sheets"]},  # type: ignore[misc]
        pairs={(text, validate): tuple(tuple(p) for p in pairs) for text, validate, pairs in data["pairs"]},  # type: ignore[misc]
        xpaths=dict(data["xpaths"]),
    )


def _quiet_premailer() -> None:
    from newsletter.render.email_html import premailer_inliner

    premailer_inliner()  # cssutils' log silenced, premailer imported without requests


def _parse_sheet(css: str) -> tuple[tuple[Rule, ...], str | None]:
    """premailer's ``_parse_style_rules`` and ``_css_rules_to_string`` for one style element's text."""
    from newsletter.render.email_html import premailer_inliner

    premailer = premailer_inliner()
    rules, leftover = premailer._parse_style_rules(css, 0)
    kept = premailer._css_rules_to_string(leftover) if leftover else None
    return tuple((s[0], s[1], s[2], s[3], s[5], selector, bulk) for s, selector, bulk in rules), kept


def inline(html: str, known: Memo | None = None) -> str:
    """``Premailer(...).transform(html, pretty_print=False)`` with the inliner's options."""
    from lxml import etree

    known = known or memo()
    stripped = html.strip()
    tree = etree.fromstring(stripped, etree.HTMLParser()).getroottree()
    page = tree.getroot()
    root = tree if stripped.startswith(tree.docinfo.doctype) else page
    _head(tree, known)
    rules: list[tuple[tuple[int, ...], str, str]] = []
    for index, element in enumerate(_style_elements(page, known)):
        css = element.text
        sheet, kept = known.sheet(css) if css else ((), None)
        for important, ids, classes, elements, number, selector, bulk in sheet:
            rules.append(((important, ids, classes, elements, index, number), selector, bulk))
        if kept is not None:
            element.text = kept
        else:
            element.getparent().remove(element)
    rules.sort(key=operator.itemgetter(0))
    found: dict[int, dict[str, Any]] = {}
    for _, selector, style in rules:
        selector, pseudo = _target(selector)
        items = known.select(selector, page)
        if items:
            processed = known.declarations(style, False)
            for item in items:
                entry = found.setdefault(id(item), {"item": item, "classes": [], "style": []})
                entry["style"].append(processed)
                entry["classes"].append(pseudo)
    for entry in found.values():
        item = entry["item"]
        final = merge_styles(item.attrib.get("style", ""), entry["style"], entry["classes"], known)
        if final:
            item.attrib["style"] = final
    return etree.tostring(root, method="html", pretty_print=False, encoding="utf-8").decode("utf-8")  # type: ignore[no-any-return]


def _target(selector: str) -> tuple[str, str]:
    """The selector premailer matches elements with, and the pseudo-class its style is kept under."""
    new_selector, pseudo = selector, ""
    if ":" in selector:
        new_selector, pseudo = selector.split(":", 1)
        pseudo = f":{pseudo}"
    if pseudo in FILTER_PSEUDOSELECTORS or pseudo.startswith(":nth-child"):
        return selector, ""
    return new_selector, pseudo


def _head(tree: Any, known: Memo) -> None:
    """premailer's ``get_or_create_head``: a document without <head> gets one."""
    from lxml import etree

    if not known.select("head", tree):
        body = known.select("body", tree)[0]
        body.getparent().insert(0, etree.Element("head"))


def _style_elements(page: Any, known: Memo) -> Iterable[Any]:
    """The <style> elements premailer inlines: media all or screen, not marked ``data-premailer="ignore"``."""
    for element in known.select("style", page):
        media = element.attrib.get("media")
        if media and media not in ("all", "screen"):
            continue
        marked = element.attrib.get("data-premailer")
        if marked:
            if marked == "ignore":
                del element.attrib["data-premailer"]
                continue
            warnings.warn(f"Unrecognized data-premailer attribute ({marked!r})", stacklevel=2)
        yield element


def merge_styles(inline_style: str, new_styles: list[Pairs], classes: list[str], known: Memo) -> str:
    """premailer's ``merge_styles`` (``remove_unset_properties`` on): the rules' declarations, then the element's."""
    styles: OrderedDict[str, OrderedDict[str, str]] = OrderedDict([("", OrderedDict())])
    for pc in set(classes):
        styles[pc] = OrderedDict()
    for i, style in enumerate(new_styles):
        for k, v in style:
            styles[classes[i]][k] = v
    if inline_style:
        for k, v in known.declarations(inline_style, True):
            styles[""][k] = v
    normal_styles = []
    pseudo_styles = []
    for pseudoclass, declarations in styles.items():
        kv = OrderedDict((k, v) for (k, v) in declarations.items() if v.lower() != "unset")
        if not kv:
            continue
        text = "; ".join(f"{k}:{v}" for k, v in kv.items())
        if pseudoclass:
            pseudo_styles.append(f"{pseudoclass}{{{text}}}")
        else:
            normal_styles.append(text)
    if pseudo_styles:
        all_styles = ([f"{{{''.join(normal_styles)}}}", *pseudo_styles]) if normal_styles else pseudo_styles
    else:
        all_styles = normal_styles
    return " ".join(all_styles).strip()


def complete(known: Memo) -> Memo:
    """Add the declarations and selectors of every rule of every sheet seen (a document may match any)."""
    from lxml import etree

    empty = etree.fromstring("<html></html>", etree.HTMLParser())
    for rules, _ in list(known.sheets.values()):
        for *_, selector, bulk in rules:
            known.declarations(bulk, False)
            known.select(_target(selector)[0], empty)
    return known


def table_json(known: Memo) -> str:
    """The table as written to :data:`TABLE`: sorted, one entry a line, so that a diff reads."""
    sheets = [[css, [list(rule) for rule in rules], kept] for css, (rules, kept) in sorted(known.sheets.items())]
    pairs = [[text, validate, [list(p) for p in found]] for (text, validate), found in sorted(known.pairs.items())]
    about = "premailer's parsing of the default templates' CSS: python -m newsletter.render.email_css"
    parts = [("sheets", sheets), ("pairs", pairs), ("xpaths", sorted(known.xpaths.items()))]
    body = ",\n".join(f"{json.dumps(name)}: [\n{_one_a_line(items)}\n]" for name, items in parts)
    return f'{{\n"about": {json.dumps(about)},\n{body}\n}}\n'


def _one_a_line(items: list[Any]) -> str:
    return ",\n".join(json.dumps(item, ensure_ascii=False) for item in items)


def generate(repo: Path) -> str:
    """The table for the default templates: what inlining the sample digests (see :func:`sample_digests`) parsed."""
    global _memo
    saved, _memo = _memo, Memo()
    try:
        sample_digests(repo)
        return table_json(complete(_memo))
    finally:
        _memo = saved


def sample_digests(repo: Path) -> list[str]:
    """The HTML part of the repository's sample digest (week 2026-W47) in en (ltr) and ar (rtl)."""
    import re
    import shutil
    import tempfile

    from newsletter.load import load_project
    from newsletter.render.email import render_digest
    from newsletter.weeks import posts_in_week, resolve_week

    found = []
    with tempfile.TemporaryDirectory() as scratch:
        for language in ("en", "ar"):
            root = Path(scratch) / language
            shutil.copytree(repo / "posts", root / "posts")
            settings = (repo / "newsletter.toml").read_text(encoding="utf-8")
            settings = re.sub(r'(?m)^language = ".*"$', f'language = "{language}"', settings)
            (root / "newsletter.toml").write_text(settings, encoding="utf-8")
            project = load_project(root)
            week = resolve_week(SAMPLE_WEEK, project.now, project.settings.site.tz)
            posts = posts_in_week(project.published, week, project.settings.digest.order)
            found.append(render_digest(project, week, posts).html)
    return found


if __name__ == "__main__":
    from newsletter.render import email_css  # this module as the renderer imports it, not __main__

    email_css.TABLE.write_text(email_css.generate(Path(__file__).resolve().parents[2]), encoding="utf-8")
    print(email_css.TABLE)
