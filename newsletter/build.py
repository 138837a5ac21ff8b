"""The pipeline: load -> render -> write. Short on purpose.

``build`` is the one function behind ``newsletter feed``, ``digest``,
``build`` and the preview server's rebuilds. Everything is loaded and
rendered first; files are put in place only when all of it worked.

With many posts, the work is shared out (newsletter.parallel): worker
processes load the posts; then others render the posts' pages into
temporary files (staged) while this process renders the digest, the feeds
and the listings, and the pages are renamed into place once those have
rendered. On a rebuild, a helper process forked at the start renders the
digest (it has imported premailer while this process loaded the posts).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.errors import NewsletterError
from newsletter.load import Project, load_project
from newsletter.models import Post
from newsletter.weeks import Week, posts_in_week, resolve_week

if TYPE_CHECKING:
    from newsletter.cache import BuildCache
    from newsletter.parallel import Helper
    from newsletter.render.email import RenderedDigest
    from newsletter.write import Staging


class OutputClash(NewsletterError):
    """Two outputs claim the same path."""


@dataclass
class Outputs:
    """Files to write under public/, by path relative to it."""

    files: dict[str, str | bytes] = field(default_factory=dict)
    copies: dict[str, Path] = field(default_factory=dict)  # target -> source file
    origins: dict[str, str] = field(default_factory=dict)  # target -> "path:line" that asked for the copy

    def add(self, path: str, data: str | bytes) -> None:
        """Plan one file; refuse a second claim on the same path."""
        if path in self.files or path in self.copies:
            raise OutputClash(f"two outputs would write public/{path}")
        self.files[path] = data

    def update(self, files: dict[str, str | bytes]) -> None:
        """Plan several files."""
        for path, data in files.items():
            self.add(path, data)

    def copy(self, path: str, source: Path, origin: str = "") -> None:
        """Plan a copy of a file (media); the same source twice is fine. ``origin``: who asked, for errors."""
        if path in self.files or (path in self.copies and self.copies[path] != source):
            raise OutputClash(f"{origin or 'public/' + path}: two outputs would write public/{path}")
        self.copies[path] = source
        if origin:
            self.origins.setdefault(path, origin)


@dataclass
class BuildResult:
    """What a build did, for the summary line and for tests."""

    project: Project
    written: list[str] = field(default_factory=list)  # paths relative to the project
    unchanged: int = 0
    week: Week | None = None
    digest: RenderedDigest | None = None
    digest_status: str = ""  # "written", "unchanged", "no posts", "sent", ""
    notes: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # stale outputs of earlier builds


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
    """Load the project, render what is asked for, then write it all.

    A week already marked ``sent`` in the outbox is left alone: an error
    when ``sent_is_error`` (``newsletter digest``), a note otherwise.
    """
    from newsletter.cache import load_cache

    cache = load_cache(root)
    helper = None
    if digest and cache.posts:  # a rebuild: the other core is free while this one loads
        from newsletter.parallel import Helper

        helper = Helper(_prepare_digest)
    try:
        return _build(root, cache, helper, week, feeds, digest, site, sent_is_error, progress)
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
    week: str,
    feeds: bool,
    digest: bool,
    site: bool,
    sent_is_error: bool,
    progress: Progress,
) -> BuildResult:
    """:func:`build`, with the build cache loaded and maybe a helper process for the digest."""
    from newsletter.cache import digest as fingerprint
    from newsletter.cache import save_cache, save_posts, templates_fingerprint
    from newsletter.templates import template_files

    project = load_project(root, cache=cache, progress=progress)
    result = BuildResult(project=project)
    settings = project.settings
    published = project.published
    outputs = Outputs()
    # What every output depends on besides its posts: settings, version, templates.
    render_key = fingerprint(cache.key + templates_fingerprint(template_files(settings.templates_dir)))
    made: dict[str, str] = {}  # output -> fingerprint of its inputs, for the next build

    def up_to_date(path: str, inputs: str, files: int = 1) -> bool:
        """Whether ``path`` exists and was made from the same inputs (then skip its ``files`` files)."""
        made[path] = inputs
        if cache.outputs.get(path) == inputs and os.path.isfile(f"{root}/{path}"):
            result.unchanged += files
            return True
        return False

    def posts_key(posts: Sequence[Post]) -> str:
        return fingerprint(render_key + "".join(p.digest + p.display_path for p in posts))

    # What the default index pages show of each post (its card): editing a
    # body leaves them alone. A project's own listing templates may show more.
    own = settings.templates_dir
    own_listing = any((own / "site" / name).is_file() for name in ("index.html", "base.html"))

    def listing_key(posts: Sequence[Post]) -> str:
        if own_listing:
            return posts_key(posts)
        return fingerprint(render_key + "".join(p.card for p in posts))

    render_digest_now = False
    if digest:
        from newsletter import outbox

        result.week = resolve_week(week, project.now, settings.site.tz)
        chosen = posts_in_week(published, result.week, settings.digest.order)
        if not chosen:
            result.digest_status = "no posts"
        elif kept := outbox.not_draft(result.week.label, outbox.status_of(settings.outbox_dir, result.week.label)):
            if sent_is_error:
                raise kept
            result.digest_status = "sent"
            result.notes.append(outbox.kept_note(result.week.label, kept))
        elif up_to_date(f"outbox/{result.week.label}/meta.json", posts_key(chosen) + result.week.label, files=4):
            result.digest_status = "unchanged"
        else:
            render_digest_now = True
            if helper is not None:  # it renders the digest while this process does the rest
                week_only = Project(settings=settings, posts=chosen, warnings=[], now=project.now)
                helper.submit(_render_digest, week_only, result.week, chosen)
    if helper is not None and not render_digest_now:
        helper.close()
    if feeds or site:
        for post in published:
            for image in post.images:
                try:
                    st = image.source.stat()
                except OSError:
                    st = None
                if st is None or not up_to_date(f"public/{image.target}", f"{st.st_mtime_ns}:{st.st_size}"):
                    outputs.copy(image.target, image.source, f"{post.display_path}:{image.line}")
    pages: list[Post] = []
    if site and not settings.site.post_url:
        from newsletter.render.site import post_page_path

        base = settings.site.base_url
        pages = [p for p in published if not up_to_date(f"public/{post_page_path(p, base)}", posts_key([p]))]

    rendered_digest = None

    def render_the_rest() -> None:
        """The digest, the feeds and the listings, and the cache of posts: while the pages are made."""
        nonlocal rendered_digest
        if feeds:
            from newsletter.render.feeds import render_feeds

            outputs.update(render_feeds(project, lambda path, posts: up_to_date(f"public/{path}", posts_key(posts))))
        if site:
            from newsletter.render.site import render_site

            def fresh(path: str, posts: Sequence[Post]) -> bool:
                key = listing_key(posts) if path in ("index.html", "posts/index.html") else posts_key(posts)
                return up_to_date(f"public/{path}", key)

            outputs.update(render_site(project, None, fresh, post_pages=False))
        save_posts(root, cache)
        if render_digest_now:
            rendered_digest = helper.result() if helper is not None else None
            if rendered_digest is None:
                rendered_digest = _render_digest(project, result.week, chosen)  # type: ignore[arg-type]
            result.digest = rendered_digest
            result.notes += rendered_digest.notes

    # Write holding the project lock, taken once the input is known to be
    # good (bad input leaves nothing behind, not even the lock file). First,
    # temporary files that an interrupted run left anywhere go. The posts'
    # pages are made in worker processes while this one renders the rest;
    # every file of public/ is staged (complete, under a temporary name),
    # then all are put in place together (newsletter.write.Staging): a
    # failure before or while doing so leaves public/ as it was. The outbox
    # is written before public/ is committed: public/ publishes each outbox
    # message as the digest's web version.
    from newsletter.cache import CACHE_DIR
    from newsletter.lock import LockLost, project_lock, still_held
    from newsletter.write import Staging, WriteFailed, describe_refused, sweep

    real_root = root.resolve()
    with project_lock(root) as lock_file:
        staging = Staging()
        try:
            for folder in (settings.public_dir, settings.outbox_dir, root / CACHE_DIR):
                sweep(folder, real_root)
            try:
                _stage_post_pages(project, pages, staging, result, progress, render_the_rest)
                _stage_public(settings.public_dir, outputs, staging, result, progress, real_root)
                if rendered_digest is not None:
                    _write_outbox(root, rendered_digest, result, made, sent_is_error)
                if site:
                    from newsletter import outbox
                    from newsletter.render.site import render_digests_index

                    messages = outbox.list_messages(settings.outbox_dir)
                    outputs.add("digests/index.html", render_digests_index(project, messages))
                    if settings.service.url:  # the subscribe form posts to `newsletter serve`
                        from newsletter.render.site import render_subscribe_page

                        outputs.add("subscribe/index.html", render_subscribe_page(project))
                    for message in messages:  # each digest's web version is its message.html
                        if (message.folder / "message.html").is_file():
                            outputs.copy(f"digests/{message.week}.html", message.folder / "message.html")
                    _stage_public(settings.public_dir, outputs, staging, result, progress, real_root)
                if not still_held(lock_file):
                    raise LockLost(
                        f"{lock_file.name} was removed while this run held it, so another run may be "
                        "writing too; nothing was put in place in public/: run again"
                    )
                placed = staging.commit()
            except BaseException:
                staging.discard(settings.public_dir)  # the workers are stopped by now
                sweep(settings.public_dir)  # what a stopped worker was writing, if anything
                raise
        except OSError as exc:
            raise WriteFailed(describe_refused(exc, root)) from None
        prefix = len(os.fspath(settings.public_dir)) + 1
        result.written += [f"public/{target[prefix:]}" for target in placed]
        stale = [path for path in cache.outputs if path not in made and _made_by(path, feeds, site)]
        result.removed = _remove_stale(root, stale)
        for path in stale:
            del cache.outputs[path]
            cache.outputs_dirty = True
        if any(cache.outputs.get(path) != inputs for path, inputs in made.items()):
            cache.outputs.update(made)
            cache.outputs_dirty = True
        try:
            save_cache(root, cache)
        except OSError as exc:  # the output is complete; the next build is just slower
            result.notes.append(f"note: the build cache was not saved ({describe_refused(exc, root)})")
    return result


def _made_by(path: str, feeds: bool, site: bool) -> bool:
    """Whether a build of these parts makes the output ``path`` when it is still wanted (else it is stale)."""
    if path.startswith("public/media/"):
        return feeds or site
    if path.startswith("public/categories/") and path.endswith(".xml"):
        return feeds
    # Pages: posts' (anywhere, see [site] post_path), categories', tags', old addresses' redirects.
    return site and path.startswith("public/") and path.endswith(".html")


def _write_outbox(
    root: Path, rendered: RenderedDigest, result: BuildResult, made: dict[str, str], sent_is_error: bool
) -> None:
    """Put the week's message in the outbox (unless it was marked sent meanwhile)."""
    from newsletter import outbox

    settings = result.project.settings
    try:
        status, paths = outbox.write_digest(settings.outbox_dir, rendered)
    except outbox.SentError as exc:  # marked sent while we rendered or waited for the lock
        if sent_is_error:
            raise
        status, paths = "sent", []
        made.pop(f"outbox/{rendered.week.label}/meta.json", None)  # not written
        result.notes.append(outbox.kept_note(rendered.week.label, exc))
    result.digest_status = status
    result.written += [p.relative_to(root).as_posix() for p in paths]


def _prepare_digest() -> None:
    """What rendering a digest imports (in the helper, while the build loads the posts)."""
    from newsletter.render.email import render_digest  # noqa: F401
    from newsletter.render.email_html import inliner

    inliner()


def _render_digest(project: Project, week: Week, posts: list[Post]) -> RenderedDigest:
    from newsletter.render.email import render_digest

    return render_digest(project, week, posts)


def _stage_slice(shared: tuple[Project, list[Post]], start: int, stop: int) -> tuple[list[tuple[str, str]], int]:
    """Render some posts' pages and stage the changed ones (in a worker process)."""
    from newsletter.render.site import render_post_pages
    from newsletter.write import stage

    project, posts = shared
    public = os.fspath(project.settings.public_dir)
    staged, unchanged = [], 0
    for path, html in render_post_pages(project, posts[start:stop]):
        temp = stage(f"{public}/{path}", html)
        if temp is None:
            unchanged += 1
        else:
            staged.append((temp, path))
    return staged, unchanged


def _stage_post_pages(
    project: Project,
    posts: list[Post],
    staging: Staging,
    result: BuildResult,
    progress: Progress,
    meanwhile: Callable[[], None],
) -> None:
    """Stage the posts' own pages, in several processes when there are many, running ``meanwhile()`` here.

    Whatever fails (here, in ``meanwhile()`` or in a worker), the workers
    are stopped before this returns: none stages anything afterwards.
    """
    from newsletter import parallel

    public = os.fspath(project.settings.public_dir)
    jobs = parallel.workers(len(posts))
    with contextlib.ExitStack() as stack:
        slices: Iterable[tuple[int, tuple[list[tuple[str, str]], int]]]
        if jobs < 2:
            meanwhile()
            slices = [(len(posts), _stage_slice((project, posts), 0, len(posts)))]
        else:
            from newsletter.render.site import page_template

            page_template(project.settings)  # compiled once here, not in every worker
            work = parallel.map_slices(_stage_slice, (project, posts), len(posts), jobs, meanwhile)
            slices = stack.enter_context(contextlib.closing(work))
        done = 0
        for count, (temps, unchanged) in slices:
            result.unchanged += unchanged
            staging.add([(temp, f"{public}/{path}") for temp, path in temps])
            done += count
            progress("pages", done, len(posts))


def _remove_stale(root: Path, paths: list[str]) -> list[str]:
    """Remove outputs of earlier builds that this build no longer makes.

    Only files an earlier build recorded as its own (a withdrawn post's page,
    an emptied category's feed, an image no post uses) are removed, then
    the folders they leave empty.
    """
    removed = []
    for path in sorted(paths):
        target = root / path
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
        folder = target.parent
        while folder != root / "public" and folder.is_relative_to(root / "public"):
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
            folder = folder.parent
    return removed


def _stage_public(
    public: Path, outputs: Outputs, staging: Staging, result: BuildResult, progress: Progress, real_root: Path
) -> None:
    """Stage every file planned so far under public/ (skipping unchanged ones), then forget the plan.

    Copies are read at this moment, each checked to be a file inside the
    project (a link swapped in since loading is refused) and SVG images
    sanitized (newsletter.media).
    """
    from newsletter.media import published_bytes

    total = len(outputs.files) + len(outputs.copies)
    jobs: list[tuple[str, Callable[[], str | bytes]]] = [
        (path, (lambda data=data: data)) for path, data in sorted(outputs.files.items())
    ] + [
        (path, (lambda source=source, path=path: published_bytes(source, real_root, outputs.origins.get(path, ""))))
        for path, source in sorted(outputs.copies.items())
    ]
    for done, (path, data) in enumerate(jobs, start=1):
        if not staging.stage(public / path, data()):
            result.unchanged += 1
        progress("write", done, total)
    outputs.files.clear()
    outputs.copies.clear()
