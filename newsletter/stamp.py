"""The last build in one record: when nothing a build reads has changed, there is nothing to do.

A build reads the settings, the templates (the project's and the
package's), every post file and the files posts refer to, the outbox, and
the clock (which week is "last", which posts are published yet). After
each build, :func:`record` keeps in ``.newsletter-cache/stamp.pickle``:

- those inputs as the build saw them: each post file by the size and
  time it had when it was read, the files posts refer to, the templates
  and the outbox by their size and time, the settings by their text (these
  last in one fingerprint);
- the size and time of every file the build left in public/ and outbox/,
  and the time of every folder in public/ that holds a folder of them;
- the span of time in which the clock gives the same week and the same
  published posts;
- what the build reported (warnings, the week's digest status, counts).

The next build (:func:`unchanged`) takes the same record, from file
listings and ``stat`` alone, and compares: when everything matches, every
output is up to date already and the build reports what the last one did
without loading a post. When only some post files differ
(:func:`changed_posts`) and the outputs are as it left them
(:func:`outputs_as_left`), a build of those posts alone may do
(:mod:`newsletter.delta`). Anything else different, missing or unreadable
means a normal build, which only costs the comparison. ``newsletter
check`` uses the part on the inputs (:func:`source_unchanged`).

A writing build drops the stamp first and records a new one when done, so
a stamp is there only when the last writing run finished, leaving no
temporary files. When, besides, the folders of public/ that hold folders
have the time they had then (:func:`folders_unchanged`: a folder's time
changes whenever an entry is added to it, removed or renamed), no folder
was swapped for a symbolic link either: the build need not walk public/.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter import __version__

if TYPE_CHECKING:
    from newsletter.cache import BuildCache
    from newsletter.errors import SourceError
    from newsletter.load import Project

STAMP_FILE = "stamp.pickle"
FORMAT = 5  # 2: the report counts posts; 3: folders; 4: outputs' times and sizes as one array; 5: posts one by one
SETTINGS_FILE = "newsletter.toml"
POST_SUFFIXES = (".md", ".markdown")


@dataclass
class Inputs:
    """What a build loads, as listed and ``stat``-ed (see :func:`inputs_of`)."""

    base: str  # fingerprint of the settings, the templates, the version and the project folder
    posts: list[tuple[str, int, int]]  # each post file (its name in the build cache), st_mtime_ns, st_size
    deps: list[Any]  # the files posts refer to (see _deps_now)

    def names(self) -> list[str]:
        """The post files' names, in order."""
        return [name for name, _mtime, _size in self.posts]

    def stats(self) -> bytes:
        """The post files' st_mtime_ns and st_size, in turn, as one array's bytes."""
        return array("q", [number for _name, *stat in self.posts for number in stat]).tobytes()


@dataclass
class Stamp:
    """What one build read, left and reported."""

    arguments: tuple[Any, ...]  # week, feeds, digest, site, sent_is_error
    outbox: tuple[Any, ...]  # the outbox's folders and files, by size and time
    outputs: list[str]  # every file made, relative to the project
    output_stats: bytes  # their st_mtime_ns and st_size, in turn (see _output_stats)
    window: tuple[float, float]  # the clock (seconds) may be anywhere in [start, end) for the same result
    report: dict[str, Any] = field(default_factory=dict)  # what the build said (see newsletter.build)
    warnings: list[SourceError] = field(default_factory=list)
    folders: dict[str, int] = field(default_factory=dict)  # public/ and its folders holding outputs -> st_mtime_ns
    base: str = ""  # what the build loaded besides the posts (Inputs.base)
    posts: list[str] = field(default_factory=list)  # every post file, by name
    post_stats: bytes = b""  # their st_mtime_ns and st_size, in turn (Inputs.stats)
    found: Inputs | None = None  # not kept: the inputs as the next run found them (see source_unchanged)


def _stats(paths: list[str]) -> list[tuple[str, int, int]]:
    """(path, st_mtime_ns, st_size) of each file; (path, -1, -1) for one that is gone."""
    out = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append((path, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((path, -1, -1))
    return out


def _files(folder: str, suffixes: tuple[str, ...] | None = None) -> list[tuple[str, int, int]]:
    """(path, st_mtime_ns, st_size) of every file under ``folder`` (links not followed into folders), sorted by path;
    only ``suffixes`` when given; (path, -1, -1) for a link to nothing."""
    found: list[tuple[str, int, int]] = []
    pending = [folder]
    while pending:
        try:
            listing = os.scandir(pending.pop())
        except OSError:
            continue
        with listing:
            for entry in listing:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif suffixes is None or entry.name.endswith(suffixes):
                    try:
                        st = entry.stat()
                        found.append((entry.path, st.st_mtime_ns, st.st_size))
                    except OSError:
                        found.append((entry.path, -1, -1))
    found.sort()
    return found


def _output_stats(root: Path, paths: list[str]) -> bytes:
    """The st_mtime_ns and st_size of each file, in turn, as one array's bytes; b"" when one is gone."""
    stats = array("q")
    append, stat, top = stats.append, os.stat, f"{root}/"
    for path in paths:
        try:
            st = stat(top + path)
        except OSError:
            return b""
        append(st.st_mtime_ns)
        append(st.st_size)
    return stats.tobytes()


def _templates(root: Path) -> list[tuple[str, int, int]]:
    """The template files and catalogs that shape the output, by size and time."""
    from newsletter.templates import template_files

    top = os.path.join(os.fspath(root), "")
    found = _stats([os.fspath(p) for p in template_files(root / "templates")])
    return [(path.removeprefix(top), mtime, size) for path, mtime, size in found]  # "-C DIR" or not, the same


def _settings_text(root: Path) -> str | None:
    try:
        return (root / SETTINGS_FILE).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def _base(root: Path, settings_text: str) -> str:
    """One fingerprint of what a build loads besides the posts and the files they refer to."""
    from newsletter.cache import FORMAT as CACHE_FORMAT
    from newsletter.cache import digest

    parts = [FORMAT, CACHE_FORMAT, __version__, os.fspath(root.resolve()), settings_text, _templates(root)]
    return digest(pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL))


def _deps_now(deps: list[tuple[str, bool]]) -> list[Any]:
    """The files posts refer to: whether each is there as a plain path, and its size and time."""
    out: list[Any] = []
    for path, existed in deps:
        if existed and os.path.isfile(path) and os.path.realpath(path) == path:
            st = os.stat(path)
            out.append((path, st.st_mtime_ns, st.st_size))
        else:
            out.append((path, os.path.isfile(path)))
    return out


def _outbox(root: Path) -> tuple[Any, ...]:
    """The outbox as the build sees it: every file, by size and time."""
    return tuple(_files(os.fspath(root / "outbox")))


def _read(root: Path) -> Stamp | None:
    from newsletter.cache import CACHE_DIR

    try:
        with open(root / CACHE_DIR / STAMP_FILE, "rb") as handle:
            data = pickle.load(handle)
    except Exception:  # noqa: BLE001 - a missing or broken stamp just means a normal build
        return None
    if isinstance(data, tuple) and len(data) == 3 and data[0] == FORMAT and isinstance(data[2], Stamp):
        return data[2]
    return None


def _posts_now(root: Path, recorded_deps: list[Any]) -> tuple[list[tuple[str, int, int]], list[Any]]:
    """The post files and the files they refer to, as they are now (named as the cache names them)."""
    top = os.path.join(os.fspath(root), "")  # "./" or "/the/project/"
    found = _files(top + "posts", POST_SUFFIXES)
    posts = [(path[len(top) :], m, s) for path, m, s in found]
    deps = _deps_now([(item[0], len(item) == 3 or item[1]) for item in recorded_deps])
    return posts, deps


def last(root: Path) -> Stamp | None:
    """The stamp of the last writing run, when it finished (else None)."""
    return _read(root)


def source_unchanged(root: Path, now: float, stamp: Stamp | None = None) -> Stamp | None:
    """The last build's stamp when nothing it loaded has changed and the clock publishes the same posts."""
    stamp = stamp or _read(root)
    if stamp is None or not stamp.window[0] <= now < stamp.window[1]:
        return None
    text = _settings_text(root)
    if text is None:
        return None
    posts, deps = _posts_now(root, stamp.report.get("deps", []))
    found = stamp.found = Inputs(_base(root, text), posts, deps)  # for the build that follows, if any (see seen())
    if found.base != stamp.base or found.deps != stamp.report.get("deps") or found.names() != stamp.posts:
        return None
    return stamp if found.stats() == stamp.post_stats else None


def seen(stamp: Stamp | None) -> dict[str, tuple[int, int]]:
    """The post files :func:`source_unchanged` listed with ``stamp``: name -> (st_mtime_ns, st_size), if it did."""
    listed = stamp.found.posts if stamp is not None and stamp.found is not None else []
    return {name: (mtime, size) for name, mtime, size in listed if mtime != -1}


def loaded_as_before(root: Path) -> Stamp | None:
    """For ``newsletter check``: the last build's stamp when it would load the same (else None)."""
    from newsletter import clock
    from newsletter.errors import UsageError

    try:
        now = clock.now().timestamp()
    except UsageError:
        return None  # loading says so, in its turn
    return source_unchanged(root, now)


def unchanged(root: Path, arguments: tuple[Any, ...], now: float, stamp: Stamp | None) -> Stamp | None:
    """``stamp`` (the last build's, see :func:`last`) when a build with these arguments has nothing to do."""
    stamp = source_unchanged(root, now, stamp) if stamp is not None else None
    if stamp is None or stamp.arguments != arguments or _outbox(root) != stamp.outbox:
        return None
    if _output_stats(root, stamp.outputs) != stamp.output_stats:
        return None
    return stamp


def changed_posts(root: Path, arguments: tuple[Any, ...], now: float, stamp: Stamp | None) -> list[str] | None:
    """The post files changed since the last build when nothing else it read has (else None).

    The same post files must be there (none added or removed), the files
    they refer to, the settings, templates and outbox as the last build
    (``stamp``) saw and left them, the clock in its window. Whether its
    outputs are as it left them is for :func:`outputs_as_left` to say
    (later: the build of those posts asks once the helper process has work).
    """
    if stamp is None or stamp.arguments != arguments or not stamp.posts or not stamp.window[0] <= now < stamp.window[1]:
        return None
    found = stamp.found
    if found is None:
        text = _settings_text(root)
        if text is None:
            return None
        posts, deps = _posts_now(root, stamp.report.get("deps", []))
        found = stamp.found = Inputs(_base(root, text), posts, deps)
    if found.base != stamp.base or found.deps != stamp.report.get("deps") or found.names() != stamp.posts:
        return None
    before = memoryview(stamp.post_stats).cast("q")
    if len(before) != 2 * len(found.posts):
        return None
    changed = [
        name
        for at, (name, mtime, size) in enumerate(found.posts)
        if before[2 * at] != mtime or before[2 * at + 1] != size or mtime == -1
    ]
    return changed if _outbox(root) == stamp.outbox else None


def outputs_as_left(root: Path, stamp: Stamp) -> bool:
    """Whether every output of the last build (``stamp``) is as it left it, by size and time."""
    return _output_stats(root, stamp.outputs) == stamp.output_stats


def inputs_of(root: Path, settings_text: str, cache: BuildCache) -> Inputs:
    """What a build just loaded (the posts as they were read, from the build cache) and the files they refer to."""
    posts = sorted((name, *entry.stat) for name, entry in cache.posts.items())
    deps = _deps_now(sorted({dep for entry in cache.posts.values() for dep in entry.deps}))
    return Inputs(_base(root, settings_text), posts, deps)


def outputs_of(files: dict[str, tuple[int, int]]) -> tuple[list[str], bytes]:
    """The files of public/ among ``files`` (path -> its st_mtime_ns and st_size), and their stats as
    :attr:`Stamp.output_stats` keeps them."""
    paths = [path for path in files if path.startswith("public/")]
    return paths, array("q", [number for path in paths for number in files[path]]).tobytes()


def record(
    root: Path,
    arguments: tuple[Any, ...],
    inputs: Inputs,
    outputs: tuple[list[str], bytes],
    window: tuple[float, float],
    report: dict[str, Any],
    warnings: list[SourceError],
    folders: Iterable[str] | None = None,
) -> None:
    """Keep the stamp of a build that just finished (call it while still holding the project lock).

    ``outputs``: every file the build left in public/, and their sizes and times (see
    :func:`outputs_of`); ``folders``: the folders of public/ that hold their folders (see
    :func:`_folders`), when known already.
    """
    from newsletter.cache import CACHE_DIR
    from newsletter.write import write_atomic

    paths, stats = outputs
    stamp = Stamp(
        arguments, _outbox(root), paths, stats, window, report, warnings, _folders(root, paths, folders),
        inputs.base, inputs.names(), inputs.stats(),
    )  # fmt: skip
    with contextlib.suppress(OSError):
        (root / CACHE_DIR).mkdir(exist_ok=True)
        write_atomic(root / CACHE_DIR / STAMP_FILE, _dump(stamp), output=False)


def _folders(root: Path, outputs: list[str], names: Iterable[str] | None = None) -> dict[str, int]:
    """The time of public/ and of every folder in it that holds a folder of ``outputs`` (paths like public/a/b).

    A folder swapped for a link changes the time of the folder holding it;
    the folders that hold files alone need not be looked at (see
    :func:`folders_unchanged`).
    """
    if names is None:
        names = {"public"}
        holding = {path.rpartition("/")[0] for path in outputs}
        for folder in holding:
            folder = folder.rpartition("/")[0]
            while folder.startswith("public") and folder not in names:
                names.add(folder)
                folder = folder.rpartition("/")[0]
    prefix = len(os.fspath(root)) + 1
    now = _stats([f"{root}/{name}" for name in sorted(names)])
    return {path[prefix:]: mtime for path, mtime, _size in now if mtime != -1}


def folders_unchanged(root: Path, stamp: Stamp | None) -> bool:
    """Whether ``stamp`` (see :func:`last`) was left by a finished run and public/'s folders are as it left them.

    Then public/ holds no temporary file of an interrupted run (a writing
    run drops the stamp before it writes one, and only builds write in
    public/) and no folder that was swapped for a symbolic link since: that
    changes the time of the folder holding it, which the stamp recorded
    (see the module). Call it holding the project lock.
    """
    if stamp is None or not stamp.folders or os.path.islink(root / "public"):
        return False
    prefix = len(os.fspath(root)) + 1
    now = _stats([f"{root}/{name}" for name in stamp.folders])
    return all(stamp.folders[path[prefix:]] == mtime for path, mtime, _size in now)


def window(project: Project, week: str) -> tuple[float, float]:
    """When the clock gives this build's week and published posts: [start, end) in seconds."""
    from newsletter.weeks import week_of

    now = project.now
    start, end = float("-inf"), float("inf")
    if week.strip().lower() in ("last", "this"):
        this = week_of(now, project.settings.site.tz)
        start, end = this.start.timestamp(), this.end.timestamp()
    # The posts are sorted newest first: the future ones, then the newest published one.
    for post in project.posts:
        if not post.draft:
            when = post.date.timestamp()
            if post.date <= now:
                return max(start, when), end
            end = min(end, when)
    return start, end


def _dump(stamp: Stamp) -> bytes:
    return pickle.dumps((FORMAT, "", stamp), protocol=pickle.HIGHEST_PROTOCOL)


def forget(root: Path) -> None:
    """Drop the stamp (before a build changes anything): until a build finishes, nothing is known to be done."""
    from newsletter.cache import CACHE_DIR

    with contextlib.suppress(OSError):
        os.unlink(root / CACHE_DIR / STAMP_FILE)
