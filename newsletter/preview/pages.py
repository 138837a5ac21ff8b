"""The preview's pages: the outbox index and the views of one message.

Templates live in ``newsletter/templates/preview/`` (package data) and use
their own Jinja environment: a project's templates/ folder customises the
newsletter, not the preview tool.
"""

from __future__ import annotations

import html as html_lib
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from newsletter.checks import LEVELS, summarize
from newsletter.checks.clients import client_table, html_features
from newsletter.checks.html import scan_html
from newsletter.i18n import N_, Language, for_settings
from newsletter.preview.state import MESSAGE_FILES, describe_weeks
from newsletter.templates import PACKAGE_TEMPLATES

if TYPE_CHECKING:
    from jinja2 import Environment

    from newsletter.outbox import OutboxEntry
    from newsletter.preview.state import PreviewState

PREVIEW_TEMPLATES = PACKAGE_TEMPLATES / "preview"
STATIC_FILES = {"preview.css": "text/css; charset=utf-8", "preview.js": "text/javascript; charset=utf-8"}
# Labels are message ids: the templates translate them (``_(label)``).
VIEWS = {
    "": N_("Rendered"),
    "text": N_("Plain text"),
    "headers": N_("Headers"),
    "source": N_("Source"),
    "checks": N_("Checks"),
}
FEEDS = (
    ("feed.xml", "RSS 2.0"),
    ("atom.xml", "Atom 1.0"),
    ("feed.json", "JSON Feed 1.1"),
    ("index.html", N_("Web site")),
    ("digests/index.html", N_("Digest archive")),
)
TEXT_WIDTH = 78


@lru_cache(maxsize=4)
def environment(language: Language | None = None) -> Environment:
    """The preview's own template environment (autoescaped), its labels in ``language`` (the site's)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    language = language or Language()
    env = Environment(
        loader=FileSystemLoader(str(PREVIEW_TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    language.install(env)
    env.filters["number"] = language.number
    env.globals.update(lang=language.tag, dir=language.dir)
    return env


def static_file(name: str) -> tuple[bytes, str] | None:
    """A file of the preview's own (CSS, JavaScript) with its content type."""
    if name not in STATIC_FILES:
        return None
    return (PREVIEW_TEMPLATES / "static" / name).read_bytes(), STATIC_FILES[name]


def _label(state: PreviewState, message: str) -> str:
    """A label in the site's language."""
    return for_settings(state.settings).gettext(message)


def _common(state: PreviewState, title: str) -> dict[str, Any]:
    return {"title": title, "status": state.status, "site_title": state.settings.site.title}


def week_note(state: PreviewState, entry: OutboxEntry) -> str:
    """A quiet word on what rebuilds do with this message: rewritten, or left as it is."""
    week = state.week_build(entry.week)
    if entry.status == "sent":
        return "left as it is: rebuilds never touch a sent message"
    if week is None:
        return "not rebuilt by this preview"
    return f"{week.role}, rebuilt on every change" if week.role else "rebuilt on every change"


def render_index(state: PreviewState) -> str:
    """``/``: every outbox message with its sizes and check summary, and links to the feeds."""
    rows = []
    for entry in state.messages():
        rows.append({"entry": entry, "counts": summarize(state.checks(entry)), "note": week_note(state, entry)})
    public = state.public
    feeds = [(path, label) for path, label in FEEDS if public is not None and (public / path).is_file()]
    categories = sorted(p.name for p in (public / "categories").glob("*.xml")) if public is not None else []
    return (
        environment(for_settings(state.settings))
        .get_template("index.html")
        .render(
            _common(state, _label(state, "Outbox")),
            rows=rows,
            feeds=feeds,
            categories=categories,
            rebuilding=describe_weeks(state.status.weeks) if state.status.weeks else "",
        )
    )


def render_message(state: PreviewState, entry: OutboxEntry, view: str) -> str:
    """``/message/<week>/<view>``: the rendered frames, plain text, headers, source or checks."""
    from newsletter.checks import parse_message

    raw = state.read(entry, "message.eml") or b""
    results = state.checks(entry)
    context: dict[str, Any] = {
        **_common(state, f"{entry.week}: {_label(state, VIEWS[view])}"),
        "entry": entry,
        "view": view,
        "views": VIEWS,
        "counts": summarize(results),
        "note": week_note(state, entry),
    }
    if view == "text":
        text = (state.read(entry, "message.txt") or b"").decode("utf-8", "replace")
        context["lines"] = [(line, len(line) > TEXT_WIDTH) for line in text.splitlines()]
        context["width"] = TEXT_WIDTH
    elif view == "headers":
        msg = parse_message(raw)
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        context["headers"] = [(name, str(value)) for name, value in msg.items()]
        context["raw_headers"] = head.decode("utf-8", "replace")
    elif view == "source":
        context["source"] = raw.decode("utf-8", "replace")
        context["files"] = MESSAGE_FILES
    elif view == "checks":
        context["results"] = sorted(results, key=lambda r: LEVELS.index(r.level))
        context["clients"], context["matrix"] = client_matrix(state, entry)
    return environment(for_settings(state.settings)).get_template(f"{view or 'rendered'}.html").render(context)


def client_matrix(state: PreviewState, entry: OutboxEntry) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Features the message's HTML uses, each with the caniemail verdict per client."""
    html = (state.read(entry, "message.html") or b"").decode("utf-8", "replace")
    table = client_table()
    features = table["features"]
    rows = []
    for slug in sorted(html_features(scan_html(html), features)):
        feature = features[slug]
        rows.append({"slug": slug, "title": feature["title"], "verdicts": [feature[c] for c in table["clients"]]})
    rows.sort(key=lambda r: (sum(v == "y" for v in r["verdicts"]), r["slug"]))
    return table["clients"], rows


def render_not_found(path: str) -> str:
    """A short 404 page (no listing of anything)."""
    return (
        "<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Not found</title>"
        f"<p>Nothing at <code>{html_lib.escape(path)}</code>. <a href='/'>Back to the outbox</a></p></html>"
    )
