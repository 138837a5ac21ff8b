"""Plain Markdown posts with front matter, and the body steps every Markdown source shares.

A file with YAML, TOML or JSON front matter that no known generator's site
holds is read with the keys Jekyll, Hugo and Pelican share
(:func:`.sources.common_post`); its shortcodes and Liquid tags are
converted as theirs are.
"""

from __future__ import annotations

import re
from pathlib import Path

from newsletter.importers import templates
from newsletter.importers.images import OldSite, bring_images
from newsletter.importers.model import ImportedPost, NotAPost
from newsletter.importers.sources import Context, common_post, read_text, split

_RAW = re.compile(r"\{\{[<%]|\{%|<!--\s*/?wp:|\[/?caption[\s\]]")
_CODE_ELEMENT = re.compile(r"<code>.*?</code>", re.S)
_OPENER = re.compile(r"\{\{[<%]|\{%|<!--\s*/?wp:|\[/?caption(?:\s[^\]]*)?\](?!\()")


def finish(
    post: ImportedPost,
    ctx: Context,
    site: templates.Site,
    old: OldSite,
    *,
    hugo: bool = True,
    liquid: bool = True,
    outputs: bool = True,
) -> ImportedPost:
    """Convert the body's template code, bring its images along, and name any raw template code left."""
    from newsletter.slugs import make_slug

    body_line = post.body_line or post.line
    if hugo or liquid:
        post.body = templates.convert(
            post.body, post.source, body_line, ctx.report, site, hugo=hugo, liquid=liquid, outputs=outputs
        )
    folder = f"{post.date[:10]}-{make_slug(post.slug or post.title) or 'post'}"
    bring_images(post, folder, old, ctx.report)
    post.body = name_leftovers(post.body, post.source, body_line, ctx)
    return post


def name_leftovers(body: str, path: Path, body_line: int, ctx: Context) -> str:
    """Keep visibly, and report, any template opener left outside code (an unclosed tag, say)."""
    spans = [*templates.CODE_SPAN.finditer(body), *_CODE_ELEMENT.finditer(body)]
    code = templates.fence_ranges(body) + [(m.start(), m.end()) for m in spans]
    out, at = [], 0
    for m in _OPENER.finditer(body):
        if any(m.start() < end and m.end() > start for start, end in code):
            continue
        out.append(body[at : m.start()])
        out.append(templates.inline_code(m.group(0), body[: m.start()]))
        at = m.end()
        line = body_line + body.count("\n", 0, m.start())
        ctx.report.warn(
            "template code left as text", path, line, f"{m.group(0)!r} kept as text (not closed or not known)"
        )
    out.append(body[at:])
    result = "".join(out)
    shown = visible_template_code(result)
    if shown:  # what a reader would still see (a case the steps above do not foresee): say so
        ctx.report.warn("template code left as text", path, body_line, f"{shown!r} is shown as text in this post")
    return result


def visible_template_code(body: str) -> str:
    """Template code a reader would see outside code in the rendered ``body`` ('' when none)."""
    from bs4 import BeautifulSoup

    from newsletter.markdown import BodyTooComplex, render_markdown

    if not _RAW.search(body):
        return ""
    try:
        html = render_markdown(body, lambda tag, attribute, value: value).html
    except BodyTooComplex:
        return ""
    soup = BeautifulSoup(html, "html.parser")
    for element in soup.find_all(["code", "pre"]):
        element.replace_with(" ")  # a reader sees the text on either side apart
    found = _RAW.search(soup.get_text())
    return found.group(0) if found else ""


def read_file(path: Path, ctx: Context) -> ImportedPost:
    """A Markdown file with front matter, outside any known generator's site."""
    doc = split(read_text(path))
    if doc.format == "none":
        message = "no front matter: the file must start with '---', '+++' or a JSON object"
        raise NotAPost(1, message, "files without front matter")
    post = common_post(path, doc, "markdown", ctx, path.name)
    return finish(post, ctx, templates.Site(), OldSite(roots=[path.parent]))
