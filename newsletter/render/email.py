"""The weekly digest: one message (HTML part, text part, .eml) and its meta.json.

References are renumbered across the week's posts: the same work cited by
two posts is listed once (see :mod:`newsletter.references`), under the
first post that lists it, and every citation marker links to its
``#ref-N`` entry in the message. Every fixed word comes from the catalogs
of :mod:`newsletter.i18n`, in ``site.language``.
When whole posts would make the HTML part too big for Gmail (it clips at
102 KB), the digest falls back to summaries, then to plain links.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from urllib.parse import urlsplit

from markupsafe import Markup

from newsletter.config import SiteSettings
from newsletter.i18n import N_, Language, for_settings, text_direction
from newsletter.load import Project
from newsletter.markdown import rewrite_citations
from newsletter.models import CallToAction, Post, Reference
from newsletter.outbox import RenderedDigest
from newsletter.references import number_references
from newsletter.render.content import reference_html
from newsletter.render.email_html import email_body_html, image_width, render_html, vml_width
from newsletter.render.email_mime import Envelope, build_message, message_id
from newsletter.render.email_text import render_text
from newsletter.render.headers import INVISIBLE
from newsletter.weeks import Week

EML_LIMIT = 102_000  # Gmail clips a message past about 102 KB
PREHEADER_LIMIT = 120  # about what inbox previews show
# The subject when neither [digest] subject nor [email] subject is set; translated by the catalogs.
# TRANSLATORS: the digest's subject; {title} is the newsletter's name, {period} the week's days. Keep the braces.
DEFAULT_SUBJECT = N_("{title} · {period}")


@dataclass(frozen=True)
class ButtonView:
    """A call-to-action as the templates show it."""

    text: str
    label: str
    url: str

    @property
    def vml_width(self) -> int:
        """Width of the Outlook (VML) button."""
        return vml_width(self.label)


@dataclass(frozen=True)
class RefView:
    """One entry of the digest's reference section."""

    number: int
    reference: Reference

    @property
    def html(self) -> Markup:
        """The entry's text with its DOI and URL links."""
        return reference_html(self.reference)


@dataclass(frozen=True)
class PostView:
    """One post as the digest shows it: whole, as a summary, or as a link."""

    slug: str
    title: str
    url: str
    date: str
    categories: tuple[str, ...]
    full: bool
    html: Markup
    summary: str
    cta: ButtonView | None
    lang: str = ""  # the post's own language when it differs from the digest's
    dir: str = ""


@dataclass(frozen=True)
class RefGroup:
    """The references listed under one post in the digest's reference section."""

    title: str
    entries: tuple[RefView, ...]
    lang: str = ""
    dir: str = ""


@dataclass
class DigestView:
    """Everything the HTML template and the text renderer show."""

    site: SiteSettings
    lang: str
    dir: str
    subject: str
    preheader: str
    period: str
    week: str
    browser_url: str
    site_url: str
    site_host: str
    unsubscribe_url: str
    postal_address: str
    posts: list[PostView] = field(default_factory=list)
    links: list[PostView] = field(default_factory=list)
    references: list[RefView] = field(default_factory=list)
    reference_groups: list[RefGroup] = field(default_factory=list)
    closing_cta: ButtonView | None = None
    language: Language = field(default_factory=Language)


def _button(cta: CallToAction) -> ButtonView:
    return ButtonView(text=cta.text, label=cta.label, url=cta.url)


def preheader(posts: list[Post], language: Language, limit: int = PREHEADER_LIMIT) -> str:
    """The visible "In this issue" line that inbox previews show first.

    Whole titles while they fit in about ``limit`` characters, then how many
    more; a visible line rather than hidden text, which spam filters score
    (FONT_INVIS, HTML_FONT_LOW_CONTRAST).
    """
    # TRANSLATORS: between post titles in the preheader ("In this issue: A; B; C").
    separator = language.gettext("; ")
    titles = [posts[0].title]
    for post in posts[1:]:
        if len(separator.join([*titles, post.title])) > limit:
            break
        titles.append(post.title)
    joined = separator.join(titles)
    if len(posts) > len(titles):
        more = len(posts) - len(titles)
        joined = language.ngettext("%(titles)s; and %(num)s more", "%(titles)s; and %(num)s more", more, titles=joined)
    text = language.gettext("In this issue: %(titles)s", titles=joined)
    return textwrap.shorten(text, limit + 40, placeholder="…")


def week_period(week: Week, language: Language) -> str:
    """The week's days in the reader's language: ``16–22 novembre 2026``."""
    return language.period(week.start, week.end - timedelta(days=1))


def message_date(week: Week, posts: list[Post], now: datetime) -> datetime:
    """The Date header: when the week ended, or (for the current week) its newest post.

    Derived from the content, not the wall clock, so that rebuilding an
    unchanged week gives the same bytes; ``send`` stamps the real time.
    """
    if week.end <= now:
        return week.end
    return max(p.date for p in posts).astimezone(week.start.tzinfo)


def _view(project: Project, week: Week, posts: list[Post], shown: int, full: bool, subject: str) -> DigestView:
    """The digest with the first ``shown`` posts whole (``full``) or summarized, the rest as links."""
    settings = project.settings
    site, tz = settings.site, settings.site.tz
    language = for_settings(settings)
    view = DigestView(
        site=site,
        lang=language.tag,
        dir=language.dir,
        subject=subject,
        preheader=preheader(posts, language),
        period=week_period(week, language),
        week=week.label,
        browser_url=f"{site.base_url}digests/{week.label}.html",
        site_url=site.base_url,
        site_host=urlsplit(site.base_url).hostname or site.base_url,
        unsubscribe_url=settings.email.unsubscribe_url,
        postal_address=settings.email.postal_address,
        language=language,
    )
    numbering = number_references(posts[:shown])
    view.references = [RefView(e.number, e.reference) for e in numbering.entries]
    for post in posts[:shown]:
        html = Markup("")
        if full:
            mapping = numbering.numbers[post.slug]
            body = rewrite_citations(post.body_html, lambda n, m=mapping: (f"#ref-{m[n - 1]}", m[n - 1]))
            widths = {settings.site.base_url + image.target: image_width(image.source) for image in post.images}
            html = Markup(email_body_html(body, widths))
        view.posts.append(_post_view(post, tz, full, html, _button(post.cta) if post.cta else None, language))
        entries = numbering.for_post(post.slug)
        if entries:
            own = _own_language(post, language)
            view.reference_groups.append(
                RefGroup(post.title, tuple(RefView(e.number, e.reference) for e in entries), own, _dir(own))
            )
    view.links = [_post_view(post, tz, False, Markup(""), None, language) for post in posts[shown:]]
    default = _default_cta(project)
    if default and not any(p.cta and p.cta.url == default.url for p in view.posts):
        view.closing_cta = default
    return view


def _default_cta(project: Project) -> ButtonView | None:
    cta = project.settings.cta
    return ButtonView(cta.text, cta.label, cta.url) if cta.url and cta.label else None


def _own_language(post: Post, language: Language) -> str:
    """The post's ``lang:`` when it differs from the digest's language, else ``""``."""
    own = getattr(post, "lang", "")
    return own if own and own.lower() != language.tag.lower() else ""


def _dir(lang: str) -> str:
    return text_direction(lang) if lang else ""


def _post_view(
    post: Post, tz: tzinfo, full: bool, html: Markup, cta: ButtonView | None, language: Language
) -> PostView:
    own = _own_language(post, language)
    return PostView(
        slug=post.slug,
        title=post.title,
        url=post.url,
        date=language.date(post.date.astimezone(tz)),
        categories=post.categories,
        full=full,
        html=html,
        summary=post.summary,
        cta=cta,
        lang=own,
        dir=_dir(own),
    )


@dataclass(frozen=True)
class _Rendered:
    html: str
    text: str
    eml: bytes
    html_part: int  # transfer-encoded bytes of the HTML part

    def fits(self, budget: int) -> bool:
        return self.html_part <= budget and len(self.eml) <= EML_LIMIT


def subject_line(project: Project, week: Week, posts: list[Post]) -> str:
    """The Subject, on one line: ``[digest] subject``, else ``[email] subject``, else the catalog's pattern.

    Placeholders: ``{title}`` (the site), ``{period}``, ``{count}`` (posts),
    ``{first_title}``; ``{week}`` and ``{first}`` are kept for older settings.
    Nothing invisible (bidi controls, zero-width characters) is kept.
    """
    settings = project.settings
    language = for_settings(settings)
    pattern = settings.digest.subject or settings.email.subject or language.gettext(DEFAULT_SUBJECT)
    subject = pattern.format(
        title=settings.site.title,
        period=week_period(week, language),
        count=language.number(len(posts)),
        first_title=posts[0].title,
        week=week.label,
        first=posts[0].title,
    )
    # One line, and no bidi controls or zero-width characters (a title may
    # hold them; in a Subject they disguise what it says).
    return " ".join(INVISIBLE.sub("", subject).split())


def render_digest(project: Project, week: Week, posts: list[Post]) -> RenderedDigest:
    """Render one week's digest: HTML (CSS inlined), text, .eml and meta.

    Whole posts when they fit the size budget (and ``digest.full_posts``),
    else summaries with "Read more" links, else as many summaries as fit and
    the rest as links.
    """
    settings = project.settings
    budget = settings.digest.size_budget
    subject = subject_line(project, week, posts)
    list_id = settings.list_id
    envelope = Envelope(
        sender=settings.email.sender,
        to=settings.email.to,
        reply_to=settings.email.reply_to,
        subject=subject,
        date=message_date(week, posts, project.now),
        message_id=message_id(week.label, list_id),
        list_title=settings.site.title,
        list_id=list_id,
        unsubscribe_url=settings.email.unsubscribe_url,
        unsubscribe_mailto=settings.email.unsubscribe_mailto,
    )

    def render(shown: int, full: bool) -> tuple[DigestView, _Rendered]:
        view = _view(project, week, posts, shown, full, subject)
        html = render_html(settings.templates_dir, {"view": view, **vars(view)}, view.language)
        text = render_text(view)
        eml, html_part = build_message(envelope, text, html, week.label)
        return view, _Rendered(html, text, eml, html_part)

    notes: list[str] = []
    mode = "full" if settings.digest.full_posts else "summaries"
    view, result = render(len(posts), mode == "full")
    if not result.fits(budget) and mode == "full":
        notes.append(
            f"{week.label}: whole posts make the HTML part {result.html_part:,} bytes (budget {budget:,}) "
            f"and the message {len(result.eml):,} (Gmail clips at {EML_LIMIT:,}): "
            "showing summaries with Read more links"
        )
        mode = "summaries"
        view, result = render(len(posts), False)
    if not result.fits(budget):
        mode = "links"
        low, high = 0, len(posts) - 1  # the most summaries that fit, the rest as links
        best = render(0, False)
        while low < high:
            middle = (low + high + 1) // 2
            attempt = render(middle, False)
            if attempt[1].fits(budget):
                low, best = middle, attempt
            else:
                high = middle - 1
        view, result = best
        notes.append(f"{week.label}: {len(posts) - len(view.posts)} posts are listed as links only, to fit the budget")
    if not result.fits(budget) or result.html_part > budget * 8 // 9:
        notes.append(
            f"{week.label}: the HTML part is {result.html_part:,} bytes, "
            f"{'over' if result.html_part > budget else 'close to'} the {budget:,} budget "
            f"(the message is {len(result.eml):,} bytes; Gmail clips at {EML_LIMIT:,})"
        )
    meta = {
        "id": envelope.message_id,
        "week": week.label,
        "subject": subject,
        "preheader": view.preheader,
        "period": view.period,
        "status": "draft",
        "mode": mode,
        "created": project.now.isoformat(),
        "posts": [p.slug for p in posts],
        "references": [
            {"number": r.number, "text": r.reference.text, "doi": r.reference.doi, "url": r.reference.url}
            for r in view.references
        ],
        "sizes": {
            "html": len(result.html.encode("utf-8")),
            "text": len(result.text.encode("utf-8")),
            "eml": len(result.eml),
            "html_part": result.html_part,
        },
    }
    return RenderedDigest(
        week=week,
        subject=subject,
        html=result.html,
        text=result.text,
        eml=result.eml,
        meta=meta,
        notes=tuple(notes),
    )
