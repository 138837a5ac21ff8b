"""A post's full HTML for feeds and web pages: body, references, call-to-action.

The email digest does not use this: it renumbers references across posts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from markupsafe import Markup, escape

from newsletter.config import Settings
from newsletter.models import CallToAction, Post, Reference

T = TypeVar("T")
# Renderers kept per process: a build has one project; previews make a new one per change.
_PROJECTS_KEPT = 2


def post_cta(post: Post, settings: Settings) -> CallToAction | None:
    """The post's call-to-action, else the newsletter's default one."""
    if post.cta is not None:
        return post.cta
    return default_cta(settings)


def default_cta(settings: Settings) -> CallToAction | None:
    """The newsletter's call-to-action (``[cta]``), for posts without their own; None without one."""
    cta = settings.cta
    if cta.url and cta.label:
        return CallToAction(text=cta.text, label=cta.label, url=cta.url)
    return None


def reference_html(ref: Reference) -> Markup:
    """One reference as HTML: its text, then DOI and URL links."""
    parts = [str(escape(ref.text))]
    if ref.doi:
        url = f"https://doi.org/{ref.doi}"
        parts.append(f'<a href="{escape(url)}">doi:{escape(ref.doi)}</a>')
    if ref.url:
        parts.append(f'<a href="{escape(ref.url)}">{escape(ref.url)}</a>')
    return Markup(" ".join(parts))


def references_html(post: Post) -> Markup:
    """The post's numbered reference list (anchors ``ref-N``), or nothing."""
    if not post.references:
        return Markup("")
    items = "".join(f'<li id="ref-{n}">{reference_html(ref)}</li>' for n, ref in enumerate(post.references, start=1))
    return Markup(f'<h2>References</h2>\n<ol class="references">{items}</ol>\n')


def cta_html(cta: CallToAction | None) -> Markup:
    """The call-to-action as a paragraph and a link."""
    if cta is None:
        return Markup("")
    text = f"<p>{escape(cta.text)}</p>" if cta.text else ""
    return Markup(
        f'<div class="cta">{text}<p><a href="{escape(cta.url)}"><strong>{escape(cta.label)}</strong></a></p></div>\n'
    )


def post_content_html(post: Post, settings: Settings) -> str:
    """Body, then references, then call-to-action: the content of feeds."""
    return str(Markup(post.body_html) + references_html(post) + cta_html(post_cta(post, settings)))


def per_project(cache: dict[int, tuple[object, T]], project: object, make: Callable[[object], T]) -> T:
    """The object ``make(project)`` made once per Project object (a few kept, newest last).

    Plain module state, made lazily: it works the same in a worker process
    forked after it was made (each process keeps its own copy) and before.
    The project is kept with it so that its id cannot be reused meanwhile.
    """
    found = cache.get(id(project))
    if found is not None and found[0] is project:
        return found[1]
    made = make(project)
    cache[id(project)] = (project, made)
    while len(cache) > _PROJECTS_KEPT:
        del cache[next(iter(cache))]
    return made
