"""What a build makes: load the project, declare every output, let the engine make them.

``build`` is the one function behind ``newsletter feed``, ``digest``,
``build`` and the preview server's rebuilds. It loads and validates
everything first (bad input writes nothing); then each part declares its
files (:class:`newsletter.engine.Output`: a path, the fingerprint of its
inputs, a function that makes it) and :class:`newsletter.engine.Engine`
skips what is up to date, makes the rest (the posts' pages in worker
processes when there are many), and puts it all in place together under
the project lock. Read top to bottom, :func:`_build` is the list of what a
build makes.

How a build starts (the last build's record, nothing to do, the helper
process that renders the digest while this one loads) is
:mod:`newsletter.rebuild`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from newsletter import stamp
from newsletter.engine import Engine, NotDelta, Output, OutputClash
from newsletter.rebuild import BuildResult, close_helper, nothing_to_do, probe, probed, start_helper

if TYPE_CHECKING:  # imported where used: a build with nothing to do loads none of it
    from newsletter.cache import BuildCache
    from newsletter.delta import Delta
    from newsletter.load import Project
    from newsletter.models import Post
    from newsletter.outbox import RenderedDigest
    from newsletter.parallel import Helper
    from newsletter.weeks import Week

__all__ = ["BuildResult", "OutputClash", "build", "nothing_to_do"]

Progress = Callable[[str, int, int], None]


def _noop(stage: str, done: int, total: int) -> None:
    return None


def build(
    root: Path,
    *,
    week: str = "last",
    feeds: bool = True,
    digest: bool = True,
    site: bool = True,
    sent_is_error: bool = False,
    progress: Progress = _noop,
) -> BuildResult:
    """Load the project, declare what is asked for, and make it.

    A week already marked ``sent`` in the outbox is left alone: an error
    when ``sent_is_error`` (``newsletter digest``), a note otherwise.
    """
    from newsletter.cache import load_cache

    arguments = (week, feeds, digest, site, sent_is_error)
    asked = probed.pop(os.fspath(root), None)
    if asked is not None and asked[0] != arguments:
        close_helper(asked[2])
        asked = None
    if asked is None:
        done = probe(root, arguments)
        if done is not None:
            return done
        asked = probed.pop(os.fspath(root))
    _arguments, last, helper = asked
    from newsletter.delta import find_delta

    try:
        delta = find_delta(root, arguments, last) if last is not None else None
    except BaseException:
        if helper is not None:
            helper.close(kill=True)
        raise
    if delta is not None:  # a few posts changed alone
        with contextlib.suppress(NotDelta):  # an output the full build might make otherwise: it runs instead
            return _run(root, delta.cache, arguments, progress, last, delta, helper)
        helper = start_helper(root) if digest else None
    cache = load_cache(root)
    cache.seen = stamp.seen(last)  # the loader need not stat the posts again
    if helper is None and digest and cache.posts:
        helper = start_helper(root)
    return _run(root, cache, arguments, progress, last, None, helper)


def _run(
    root: Path,
    cache: BuildCache,
    arguments: tuple[str, bool, bool, bool, bool],
    progress: Progress,
    last: stamp.Stamp | None,
    delta: Delta | None,
    helper: Helper | None,
) -> BuildResult:
    """:func:`_build`; the ``helper`` is closed when it returns (killed when it fails)."""
    try:
        return _build(root, cache, helper, arguments, progress, last, delta)
    except BaseException:
        if helper is not None:
            helper.close(kill=True)  # whatever it is rendering is no longer wanted
        raise
    finally:
        if helper is not None:
            helper.close()


def _build(
    root: Path,
    cache: BuildCache,
    helper: Helper | None,
    arguments: tuple[str, bool, bool, bool, bool],
    progress: Progress,
    last: stamp.Stamp | None,
    delta: Delta | None = None,
) -> BuildResult:
    """:func:`build`, with the build cache loaded and maybe a helper process for the digest.

    ``last``: the stamp of the last build (see :mod:`newsletter.stamp`), if any.
    ``delta``: a build of a few changed posts (see :mod:`newsletter.delta`).
    """
    from newsletter.cache import CACHE_DIR, save_cache, save_heads, save_posts
    from newsletter.load import load_project

    week, feeds, digest, site, sent_is_error = arguments
    if delta is None:
        project = load_project(root, cache=cache, progress=progress)
        inputs = stamp.inputs_of(root, project.settings.raw_text, cache)
    else:
        project, inputs = delta.project, delta.inputs
    settings = project.settings
    result = BuildResult(root, project)
    wanted = {"feeds": feeds, "site": site, "media": feeds or site, "digest": digest}
    parts = {name for name, yes in wanted.items() if yes and name != "digest"}  # whose stale files go
    changed = delta.changed if delta is not None else None
    # In a build of changed posts, the helper process also makes their pages (it has imported what they need)
    engine = Engine(root, cache, _render_key(project, cache), parts, progress, changed, helper if delta else None)
    plan = Plan(engine, project, result, _Keys(project), helper, week, sent_is_error)
    if not digest and helper is not None:
        helper.close()
    swept = lambda: stamp.folders_unchanged(root, last)  # noqa: E731 (public/ as the last build left it)
    with engine.writing(settings.public_dir, (settings.outbox_dir, root / CACHE_DIR), swept):
        for phase in (1, 2):  # 2: made from what phase 1 wrote (the outbox)
            for part, when, declare in MAKERS:
                if wanted[part] and when == phase:
                    declare(plan)
            if delta is not None and phase == 1:  # while the helper process renders the digest
                delta.check_outputs(root)
            engine.make()
        save_posts(root, cache)
        made = engine.commit()
        heads = save_heads(root, cache, delta.heads if delta else {}, last.report.get("heads", "") if last else "")
        report = {"week": result.week, "digest_status": result.digest_status, "deps": inputs.deps,
                  "notes": result.notes if result.digest_status == "sent" else [],
                  "unchanged": engine.files(), "published": result.published,
                  "posts": len(project.posts), "week_posts": plan.week_posts, "heads": heads}  # fmt: skip
        if delta is None:
            outputs, window, folders = stamp.outputs_of(engine.files_now), stamp.window(project, week), None
        else:  # the project holds some posts only: what it does not show is the last build's
            outputs, window, folders = delta.left(engine.files_now, report)
            result.published = report["published"]
        stamp.record(root, arguments, inputs, outputs, window, report, project.warnings, folders)
    result.written += made.written
    result.unchanged += made.unchanged
    if delta is not None:  # and the outputs its project of a few posts did not declare
        result.unchanged += report["unchanged"] - engine.files()
    result.removed = made.removed
    try:
        save_cache(root, cache)
    except OSError as exc:  # the output is complete; the next build is just slower
        from newsletter.write import describe_refused

        result.notes.append(f"note: the build cache was not saved ({describe_refused(exc, root)})")
    return result


@dataclass
class Plan:
    """What the parts of a build declare their outputs with."""

    engine: Engine
    project: Project
    result: BuildResult
    keys: _Keys
    helper: Helper | None
    week: str
    sent_is_error: bool
    week_posts: tuple[str, ...] = ()  # the posts of the week's digest, by name (for newsletter.delta)


class _Keys:
    """Fingerprints of what outputs are made from: the posts they show."""

    def __init__(self, project: Project) -> None:
        from newsletter.cache import digest

        self._digest = digest
        # What the default listings show of each post (its card): editing a
        # body leaves them alone. A project's own listing templates may show more.
        own = project.settings.templates_dir / "site"
        shown = ("index.html", "taxonomy.html", "cards.html", "base.html")
        self.own_listing = any((own / name).is_file() for name in shown)

    @staticmethod
    def names(posts: Sequence[Post]) -> tuple[str, ...]:
        """The posts' names in the build cache, for :attr:`newsletter.engine.Output.posts`."""
        return tuple([p.display_path for p in posts])

    def posts(self, posts: Sequence[Post]) -> str:
        """The posts as a whole: their files' hashes."""
        if len(posts) == 1:  # most outputs (the engine hashes it with the rest)
            return posts[0].digest + posts[0].display_path
        return self._digest("".join([p.digest + p.display_path for p in posts]))

    def listing(self, posts: Sequence[Post]) -> str:
        """The posts as a listing shows them."""
        if self.own_listing:
            return self.posts(posts)
        return self._digest("".join([p.card for p in posts]))

    def listed(self, posts: Sequence[Post]) -> tuple[str, ...]:
        """The posts a listing takes whole (:attr:`newsletter.engine.Output.posts`): none, unless it may show more
        than their cards."""
        return self.names(posts) if self.own_listing else ()


def _render_key(project: Project, cache: BuildCache) -> str:
    """What every output depends on besides its own inputs: settings, version, templates."""
    from newsletter.cache import digest, templates_fingerprint
    from newsletter.templates import template_files

    return digest(cache.key + templates_fingerprint(template_files(project.settings.templates_dir)))


def _declare_feeds(plan: Plan) -> None:
    """RSS, Atom and JSON Feed of the newest posts, and an RSS feed per category."""
    engine, keys, project = plan.engine, plan.keys, plan.project
    from newsletter.render.feeds import feed_renderer, group_by_category

    settings = project.settings
    published = project.published
    renderer = feed_renderer(project)
    newest = published[: settings.feed.limit]
    head, names = keys.posts(newest), keys.names(newest)
    for path in ("feed.xml", "atom.xml", "feed.json"):
        engine.declare(Output(f"public/{path}", head, lambda path=path: renderer.main(path), "feeds", posts=names))
    if settings.feed.categories:
        for slug, (name, posts) in sorted(group_by_category(published, settings.feed.limit).items()):
            path = f"categories/{slug}.xml"
            engine.declare(
                Output(
                    f"public/{path}",
                    keys.posts(posts),
                    lambda path=path, name=name, posts=posts: renderer.category(path, name, posts),
                    "feeds",
                    posts=keys.names(posts),
                    label=name,  # the smallest spelling of it among all posts: not the posts' own business
                )
            )


def _declare_pages(plan: Plan) -> None:
    """The web side: the listings, category and tag pages, a page per post, a redirect page at each
    old address, the subscribe page."""
    engine, keys, project = plan.engine, plan.keys, plan.project
    from newsletter.addresses import taxonomy_pages
    from newsletter.permalinks import alias_page, page_path
    from newsletter.render.site import INDEX_POSTS, site_renderer

    settings = project.settings
    published = project.published
    pages = site_renderer(project)
    engine.before_fork(pages.prepare)
    base = settings.site.base_url
    own_pages = not settings.site.post_url
    # All of them may be made in worker processes, the longest first (the
    # listings of many posts): the workers then finish together.
    for path, archive in (("posts/index.html", True), ("index.html", False)):
        listing = lambda archive=archive: pages.listing(archive)  # noqa: E731
        shown = published if archive else published[:INDEX_POSTS]
        inputs, taken = keys.listing(published), keys.listed(published)
        engine.declare(Output(f"public/{path}", inputs, listing, "site", True, weight=_weight(shown), posts=taken))
    by_size = sorted(taxonomy_pages(published).items(), key=lambda item: -len(item[1][3]))
    for path, page in by_size:
        taxonomy = lambda page=page: pages.taxonomy_page(*page)  # noqa: E731
        inputs = f"{page[1]}\0{keys.listing(page[3])}"  # its name, and its posts as listed
        taken = keys.listed(page[3])
        engine.declare(Output(f"public/{path}", inputs, taxonomy, "site", True, weight=_weight(page[3]), posts=taken))
    if own_pages:
        from newsletter.render.site import post_page_bytes

        to_helper = engine.helper is not None  # a build of changed posts: the helper process makes their pages
        for post in published:
            path = f"public/{page_path(post.url, base)}"
            # bytes: the frame is encoded once; a partial: half the memory of a lambda (100,000 of them)
            page = partial(pages.post_page_bytes, post)
            job = (post_page_bytes, (settings, post)) if to_helper else None
            engine.declare(Output(path, keys.posts([post]), page, "site", True, posts=(post.display_path,), job=job))
    base_path = urlsplit(base).path or "/"
    for post in published:
        if not post.aliases:
            continue
        own = page_path(post.url, base) if own_pages else None
        for alias in post.aliases:
            path = alias_page(alias, base_path)
            if path is not None and path != own:
                redirect = partial(pages.redirect, post)
                name = (post.display_path,)
                engine.declare(Output(f"public/{path}", keys.posts([post]), redirect, "site", True, posts=name))
    if settings.service.url:  # the subscribe form posts to `newsletter serve`
        engine.declare(Output("public/subscribe/index.html", "", pages.subscribe_page, "site", exact=True))


def _weight(listed: Sequence[Post]) -> int:
    """How long a page listing these posts takes to make, against a post's own page (an entry: a fifth)."""
    return 1 + len(listed) // 5


def _declare_media(plan: Plan) -> None:
    """A copy of each file the published posts refer to (read, checked and SVGs sanitized when copied)."""
    engine, project = plan.engine, plan.project
    from newsletter.media import published_bytes

    for post in project.published:
        for image in post.images:
            try:
                st = image.source.stat()
                inputs = f"{st.st_mtime_ns}:{st.st_size}"
            except OSError:
                inputs = "missing"  # published_bytes() says so, with the post's line
            origin = f"{post.display_path}:{image.line}"
            engine.declare(
                Output(
                    f"public/{image.target}",
                    inputs,
                    lambda source=image.source, origin=origin: published_bytes(source, engine.real_root, origin),
                    "media",
                    origin=origin,
                    same=image.source,
                    exact=True,
                )
            )


def _declare_digest(plan: Plan) -> None:
    """The week's digest in the outbox (its four files, recorded by meta.json), unless it was sent."""
    engine, keys, project, result, helper = plan.engine, plan.keys, plan.project, plan.result, plan.helper
    week, sent_is_error = plan.week, plan.sent_is_error
    from newsletter import outbox
    from newsletter.load import Project
    from newsletter.weeks import posts_in_week, resolve_week

    settings = project.settings
    result.week = the_week = resolve_week(week, project.now, settings.site.tz)
    chosen = posts_in_week(project.published, the_week, settings.digest.order)
    plan.week_posts = keys.names(chosen)
    if not chosen:
        result.digest_status = "no posts"
    elif kept := outbox.not_draft(the_week.label, outbox.status_of(settings.outbox_dir, the_week.label)):
        if sent_is_error:
            raise kept
        result.digest_status = "sent"
        result.notes.append(outbox.kept_note(the_week.label, kept))
    else:
        ticket: list[int | None] = [None]  # the helper process's, once it has the job

        def make() -> RenderedDigest:
            rendered = helper.result(ticket[0]) if helper is not None else None
            return rendered if rendered is not None else _render_digest(project, the_week, chosen)

        def put(rendered: RenderedDigest) -> list[Path] | None:
            result.digest = rendered
            result.notes += rendered.notes
            try:
                result.digest_status, paths = outbox.write_digest(settings.outbox_dir, rendered)
            except outbox.SentError as exc:  # marked sent while we rendered or waited for the lock
                if sent_is_error:
                    raise
                result.digest_status = "sent"
                result.notes.append(outbox.kept_note(the_week.label, exc))
                return None  # nothing written, nothing recorded
            return paths

        inputs = keys.posts(chosen) + the_week.label
        meta = f"outbox/{the_week.label}/meta.json"
        digest = Output(meta, inputs, make, "outbox", put=put, files=4, posts=keys.names(chosen))
        engine.declare(digest)
        if not engine.up_to_date(digest):
            if helper is not None:  # it renders the digest while this process does the rest
                week_only = Project(settings=settings, posts=chosen, warnings=[], now=project.now)
                ticket[0] = helper.submit(_render_digest, week_only, the_week, chosen)
            return
        result.digest_status = "unchanged"
    if helper is not None:  # no digest to render: it would start on pages only once it has imported what that takes
        helper.close()
        engine.helper = None


def _declare_digest_pages(plan: Plan) -> None:
    """The digest archive and each digest's web version (its outbox message.html), from the outbox as it is."""
    engine, project = plan.engine, plan.project
    from newsletter import outbox
    from newsletter.media import published_bytes
    from newsletter.render.site import digests_index, site_renderer

    messages = outbox.list_messages(project.settings.outbox_dir)
    pages = site_renderer(project)
    index = lambda: pages.digests_index(messages)  # noqa: E731
    job = (digests_index, (project.settings, messages)) if engine.helper is not None else None
    engine.declare(Output("public/digests/index.html", repr(messages), index, "site", exact=True, job=job))
    for message in messages:
        html = message.folder / "message.html"
        try:
            st = html.stat()
        except OSError:
            continue
        engine.declare(
            Output(
                f"public/digests/{message.week}.html",
                f"{st.st_mtime_ns}:{st.st_size}",
                lambda html=html: published_bytes(html, engine.real_root),
                "site",
                exact=True,
            )
        )


def _render_digest(project: Project, week: Week, posts: list[Post]) -> RenderedDigest:
    from newsletter.render.email import render_digest

    return render_digest(project, week, posts)


# What a build makes: (part, phase, declare). A part is made when the
# command asks for it ("media": with the feeds or the site); phase 2 is
# declared once phase 1 is made (the digest archive reads the outbox).
MAKERS: list[tuple[str, int, Callable[[Plan], None]]] = [
    ("digest", 1, _declare_digest),  # first: a helper process renders it while the rest is made
    ("feeds", 1, _declare_feeds),
    ("site", 1, _declare_pages),
    ("media", 1, _declare_media),
    ("site", 2, _declare_digest_pages),
]
