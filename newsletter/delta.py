"""A build of a few changed posts: the outputs that take them are made again, nothing else is looked at.

When the last build's stamp (:mod:`newsletter.stamp`) shows that only some
post files changed, and nothing else the build reads or left, most of a
build is known already: every output that does not take a changed post
whole is as the last build left it. :func:`prepare` checks, without
taking the lock, that each changed post still loads with the warnings it
had (no error) and still has its shape: everything about it that lists of posts, addresses,
the order of posts and the cross-checks look at (all but its body, its
references, its call to action and its lines). Then the build runs as
always (:func:`newsletter.build.build`) on a project that holds only the
posts it needs: the changed ones and the others that the outputs taking
them take (the newest posts of a feed, the week's posts of the digest),
read from the heads file or the posts files of the build cache
(:mod:`newsletter.cache`). Under the project lock, before anything is
made, every output must be as the last build left it
(:meth:`Delta.check_outputs`). The engine, told which posts changed, makes the
outputs recorded as taking one of them and checks that each takes the same
posts as before (:class:`newsletter.engine.NotDelta` otherwise, and the
full build runs instead). What it records (the cache, the stamp) is what
the full build would have recorded.

Anything else (a post added, removed or failing to load, a new shape,
more than :data:`MAX_CHANGED` posts, a cache that does not answer) means
the full build: this only ever saves time.
"""

from __future__ import annotations

import operator
import os
import pickle
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter import stamp as stamps
from newsletter.models import Post

if TYPE_CHECKING:
    from newsletter.cache import BuildCache, PostEntry
    from newsletter.load import Project

MAX_CHANGED = 16  # more changed posts than this: the full build (its loading workers pay off)
MAX_SHARDS = 4  # posts files read for posts the heads file does not have, at most

# What may differ in a changed post for the rest of the project to stay as it was: what only the outputs
# that take the post whole show (its page, the feeds and the digest that list it).
_CONTENT = frozenset({"body_html", "references", "cta", "lines", "body_line", "digest", "_body"})
_shape = operator.attrgetter(*(f.name for f in fields(Post) if f.name not in _CONTENT))


@dataclass
class Delta:
    """A build of changed posts, ready to run (see :func:`prepare`)."""

    project: Project  # the posts it needs only
    cache: BuildCache  # the outputs; the posts files of the changed posts, whole; the other posts it needs
    changed: frozenset[str]
    inputs: stamps.Inputs  # as the full build would record them
    last: stamps.Stamp
    heads: dict[str, tuple[str, bytes]]  # the heads file as read

    def check_outputs(self, root: Path) -> None:
        """Raise :class:`newsletter.engine.NotDelta` unless every output is as the last build left it.

        Asked under the project lock, before anything is made, once the
        helper process has its work (the digest): the ``stat`` of every
        output is then not in its way.
        """
        from newsletter.engine import NotDelta

        if not stamps.outputs_as_left(root, self.last):
            raise NotDelta("an output is not as the last build left it")

    def left(
        self, looked_at: dict[str, tuple[int, int]], report: dict[str, Any]
    ) -> tuple[tuple[list[str], bytes], tuple[float, float], Iterable[str]]:
        """What the stamp records of this build: every file in public/ and their sizes and times
        (``looked_at``: of those it made or looked at; the last build's for the others), the clock's
        window and the folders of public/ that hold folders, as the last build left them; ``report``
        gets its counts."""
        paths = self.last.outputs
        numbers = array("q")
        numbers.frombytes(self.last.output_stats)
        for path, (mtime, size) in looked_at.items():
            if path.startswith("public/"):
                try:
                    at = paths.index(path)  # a few paths: no table of all of them
                except ValueError:
                    at = len(paths)
                    paths.append(path)
                    numbers.extend((0, 0))
                numbers[2 * at], numbers[2 * at + 1] = mtime, size
        report.update((name, self.last.report[name]) for name in ("unchanged", "published", "posts"))
        return (paths, numbers.tobytes()), self.last.window, self.last.folders.keys()  # the same outputs, folders


def find_delta(root: Path, arguments: tuple[Any, ...], last: stamps.Stamp) -> Delta | None:
    """A build of the few posts that alone changed since the ``last`` build, when one can do."""
    from newsletter import clock
    from newsletter.errors import UsageError

    try:
        now = clock.now().timestamp()
    except UsageError:
        return None
    changed = stamps.changed_posts(root, arguments, now, last)
    return prepare(root, last, changed) if changed else None


def prepare(root: Path, last: stamps.Stamp, changed: list[str]) -> Delta | None:
    """A build of the ``changed`` posts alone, when one can do (else None)."""
    from newsletter import clock
    from newsletter.cache import CACHE_DIR, load_cache, load_shard, read_heads, settings_key, shard_of
    from newsletter.config import load_settings
    from newsletter.errors import NewsletterError, Problems
    from newsletter.load import Project, load_entries

    found = last.found
    if not changed or len(changed) > MAX_CHANGED or found is None or "week_posts" not in last.report:
        return None
    try:
        problems = Problems(root=root)
        settings = load_settings(root, problems)
        now = clock.now()
    except NewsletterError:
        return None
    if problems.items:
        return None
    key = settings_key(root, settings.raw_text)
    folder = root / CACHE_DIR
    shards = {shard_of(name) for name in changed}
    cache = load_cache(root, sorted(shards))
    if any(cache.shard_keys.get(index) != key for index in shards) or not cache.outputs:
        return None
    cache.key = key
    fresh = load_entries(settings, [os.fspath(root / name) for name in changed])
    for name, entry in zip(changed, fresh, strict=True):
        old = cache.posts.get(name)
        if not _same_shape(old, entry):
            return None
        cache.posts[name] = entry
        cache.touch(name)
    stats = {name: (mtime, size) for name, mtime, size in found.posts}
    edited = frozenset(changed)
    wanted = set(edited) | set(last.report["week_posts"])  # the digest's status needs the week's posts
    for recorded in cache.outputs.values():
        taken = recorded[4]
        if taken and not edited.isdisjoint(taken):
            wanted.update(taken)
    heads = read_heads(root, key)
    missing = []
    for name in wanted - cache.posts.keys():
        item = heads.get(name)
        entry = pickle.loads(item[1]) if item is not None else None  # noqa: S301 - our own cache file
        if entry is None or entry.stat != stats.get(name) or entry.digest != item[0]:  # type: ignore[index]
            missing.append(name)
        else:
            cache.posts[name] = entry
    more = {shard_of(name) for name in missing} - shards
    if len(more) > MAX_SHARDS:
        return None
    for index in sorted(more):
        if load_shard(cache, folder, index) != key:
            return None
    posts = []
    for name in wanted:
        entry = cache.posts.get(name)
        if entry is None or entry.post is None or entry.stat != stats.get(name, entry.stat):  # warnings: kept
            return None
        posts.append(entry.post)
    posts.sort(key=lambda p: (p.date, p.slug), reverse=True)
    project = Project(settings=settings, posts=posts, warnings=list(last.warnings), now=now)
    as_read = {name: cache.posts[name].stat for name in changed}
    listed = [(name, *as_read.get(name, (mtime, size))) for name, mtime, size in found.posts]
    inputs = stamps.Inputs(found.base, listed, found.deps)
    return Delta(project, cache, edited, inputs, last, heads)


def _same_shape(old: PostEntry | None, new: PostEntry) -> bool:
    """Whether a changed post loads with the warnings it had (no error) and looks the same to every other
    output as before (the stamp's warnings then stay true)."""
    if old is None or old.post is None or new.post is None or old.problems != new.problems:
        return False
    return old.deps == new.deps and _shape(old.post) == _shape(new.post)
