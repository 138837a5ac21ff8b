"""The build cache in ``.newsletter-cache/``: loaded posts and output fingerprints.

A post is reused when its file's size and modification time (or, failing
that, its bytes) are unchanged, the files it refers to still exist as they
did, and the settings, the package version and the project folder are the
same. An output is not rendered again when the fingerprint of what went
into it is unchanged and the file is still there. A corrupt or foreign
cache is ignored: it only ever saves time.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import hashlib
import io
import os
import pickle
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsletter import __version__
from newsletter.errors import SourceError
from newsletter.models import Post, find_bodies

CACHE_DIR = ".newsletter-cache"
POSTS_FILE = "posts-{:02d}.pickle"  # not a plain pickle: see posts_bytes()
SHARDS = 128
OUTPUTS_FILE = "outputs.pickle"
HEADS_FILE = "heads.pickle"
# 13: 128 posts files (a changed post rewrites fewer others); 12: outputs record the posts they take; 11: posts
# and cache entries pickled as slots (a post as a tuple, see newsletter.models), front-matter line tables shared;
# 10: posts files keep the bodies apart, read when used; 9: outputs recorded as (part, fingerprint, st_mtime_ns,
# st_size); 8: aliases on posts, URLs from [site] post_path; 7: images carry the line that refers to them; 6: posts
# carry their own lang; 5: the loader refuses deep nesting, 50+ categories, bad image sizes, stray citation markup
FORMAT = 13


@dataclass(slots=True)  # kept by the hundred thousand: no dict each
class PostEntry:
    """One post file as it was loaded last time."""

    stat: tuple[int, int]  # (st_mtime_ns, st_size)
    digest: str  # sha1 of the file's bytes
    post: Post | None
    problems: list[SourceError]
    deps: tuple[tuple[str, bool], ...]  # files the post refers to, and whether each existed

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.stat, self.digest, self.post, self.problems, self.deps)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.stat, self.digest, self.post, self.problems, self.deps = state

    def deps_unchanged(self) -> bool:
        """Whether every file the post refers to exists (or not) as before, at the same real path.

        The paths were resolved when the post was loaded: one that resolves
        elsewhere now holds a link swapped in since (it might lead outside
        the project), and the post is loaded again.
        """
        return all(
            os.path.isfile(path) == existed and (not existed or os.path.realpath(path) == path)
            for path, existed in self.deps
        )


def shard_of(name: str) -> int:
    """Which of the posts files holds a post (so one edit rewrites 1/SHARDS of it)."""
    return zlib.crc32(name.encode("utf-8", "surrogateescape")) % SHARDS


@dataclass
class BuildCache:
    """Everything cached for one project: posts valid for one settings key, outputs."""

    key: str
    posts: dict[str, PostEntry] = field(default_factory=dict)  # by path relative to the project
    outputs: dict[str, tuple[Any, ...]] = field(
        default_factory=dict
    )  # path -> (part, fingerprint, file time, size, posts, label)
    shard_keys: dict[int, str] = field(default_factory=dict)  # the settings key each posts file was made for
    dirty_shards: set[int] = field(default_factory=set)
    outputs_dirty: bool = False
    payloads: dict[int, bytes] = field(default_factory=dict)  # shard -> its file, pickled already
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)  # post -> (st_mtime_ns, st_size) just listed

    def offer_payloads(self, payloads: dict[int, tuple[bytes | None, int]]) -> None:
        """Keep the shard files pickled by parallel loaders (with how many posts each holds) that are whole.

        One is whole when its shard holds no other post (a cold build:
        all of them); then saving it needs no pickling. None: the loader
        wrote the file itself, which needs no saving.
        """
        counts: dict[int, int] = {}
        for name in self.posts:
            index = shard_of(name)
            counts[index] = counts.get(index, 0) + 1
        for index, (payload, count) in payloads.items():
            if payload is None:
                self.dirty_shards.discard(index)
                self.shard_keys[index] = self.key
            elif counts.get(index, 0) == count:
                self.payloads[index] = payload

    def use_key(self, key: str) -> None:
        """Keep only posts cached under these settings; the rest is loaded anew."""
        stale = {i for i in range(SHARDS) if self.shard_keys.get(i) != key}
        if stale:
            self.posts = {name: e for name, e in self.posts.items() if shard_of(name) not in stale}
            self.dirty_shards |= stale
        self.key = key

    def touch(self, name: str) -> None:
        """Mark the posts file holding ``name`` for saving."""
        self.dirty_shards.add(shard_of(name))


def digest(data: bytes | str) -> str:
    """A short content hash."""
    return hashlib.sha1(data.encode() if isinstance(data, str) else data, usedforsecurity=False).hexdigest()


def settings_key(root: Path, settings_text: str) -> str:
    """What every cached post depends on besides its own file."""
    return digest(f"{FORMAT}\0{__version__}\0{root.resolve()}\0{settings_text}")


def _read(path: Path) -> Any:
    try:
        with path.open("rb") as handle, _no_gc():
            data = pickle.load(handle)
        if isinstance(data, tuple) and len(data) == 3 and data[0] == FORMAT:
            return data
    except Exception:  # noqa: BLE001 - any broken cache is just a cold start
        pass
    return None


def file_bytes(key: str, data: dict[str, Any]) -> bytes:
    """A cache file's bytes: the outputs' fingerprints (see :func:`posts_bytes` for posts)."""
    with _no_gc():
        return pickle.dumps((FORMAT, key, data), protocol=pickle.HIGHEST_PROTOCOL)


# A posts file: the length of its first part (8 bytes), the entries pickled
# without the posts' bodies, then the bodies as UTF-8 one after the other.
# Reading it unpickles the first part only; a post's body is read from the
# file and decoded when used (newsletter.models.Post), so a build that
# renders few posts does not pay for the bodies of all the others, and a
# process that renders many does not keep them.
_HEAD = 8


class _PostsPickler(pickle.Pickler):
    """Pickles posts without their bodies, collecting those in ``self.bodies``."""

    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.bodies = bytearray()

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not Post:
            return NotImplemented
        state = obj.__getstate__()
        body = state[-1].encode("utf-8", "surrogatepass")
        state = (*state[:-1], (len(self.bodies), len(body)))  # where the body is: see find_bodies()
        self.bodies += body
        return copyreg.__newobj__, (Post,), state


def posts_bytes(key: str, entries: dict[str, PostEntry]) -> bytes:
    """A posts file's bytes: one shard's entries, for a settings key."""
    buffer = io.BytesIO()
    buffer.write(bytes(_HEAD))
    pickler = _PostsPickler(buffer)
    with _no_gc():
        pickler.dump((FORMAT, key, entries))
    size = buffer.tell() - _HEAD
    buffer.write(pickler.bodies)
    data = buffer.getbuffer()
    data[:_HEAD] = size.to_bytes(_HEAD, "little")
    return bytes(data)


class FileBytes:
    """A file's bytes from ``base`` on, read a slice at a time (``os.pread``) when asked for.

    The bodies of the posts read from a posts file stay there: mapped into
    memory instead, every body a process used would count in its size until
    it ends (a worker rendering fifty thousand pages). The build cache's
    files are only ever replaced (renamed over), never changed in place, so
    what this reads is what the file held when it was opened. Forked
    workers share the descriptor: ``pread`` moves no file position.
    """

    __slots__ = ("_fd", "_base")

    def __init__(self, fd: int, base: int) -> None:
        self._fd = fd  # owned: closed when the last post using it goes
        self._base = base

    def __getitem__(self, part: slice) -> bytes:
        return os.pread(self._fd, part.stop - part.start, self._base + part.start)

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _unpickle(first: bytes | memoryview, bodies: Any) -> tuple[int, str, dict[str, PostEntry]]:
    """(format, settings key, entries) of a posts file's first part; its posts find their bodies in ``bodies``."""
    with _no_gc():
        data = pickle.loads(first)
    if isinstance(data, tuple) and len(data) == 3 and isinstance(data[2], dict):
        find_bodies((entry.post for entry in data[2].values() if entry.post is not None), bodies)
    return data  # type: ignore[no-any-return]


def _read_posts(payload: bytes | memoryview) -> tuple[int, str, dict[str, PostEntry]]:
    """(format, settings key, entries) of a posts file's bytes; the bodies stay in ``payload``."""
    size = int.from_bytes(payload[:_HEAD], "little")
    view = memoryview(payload)
    return _unpickle(view[_HEAD : _HEAD + size], view[_HEAD + size :])


def read_payload(payload: bytes | memoryview | Path) -> dict[str, PostEntry]:
    """The entries of a posts file's :func:`posts_bytes`, or of the posts file at that path."""
    if isinstance(payload, Path):
        return _open_posts(payload)[2]
    return _read_posts(payload)[2]


def _open_posts(path: Path) -> tuple[int, str, dict[str, PostEntry]]:
    """:func:`_read_posts` of a posts file: its first part read, the bodies left in the file (:class:`FileBytes`)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = int.from_bytes(os.pread(fd, _HEAD, 0), "little")
        first = os.pread(fd, size, _HEAD)
        if len(first) != size:
            raise ValueError(f"{path}: truncated")
    except BaseException:
        os.close(fd)
        raise
    return _unpickle(first, FileBytes(fd, _HEAD + size))


def _read_posts_file(path: Path) -> tuple[int, str, dict[str, PostEntry]] | None:
    try:
        data = _open_posts(path)
        if isinstance(data, tuple) and len(data) == 3 and data[0] == FORMAT and isinstance(data[2], dict):
            return data
    except Exception:  # noqa: BLE001 - any broken cache is just a cold start
        pass
    return None


def load_cache(root: Path, shards: Iterable[int] = range(SHARDS)) -> BuildCache:
    """The project's cache, or an empty one when missing or unreadable (only some posts files: ``shards``).

    Whether its posts fit the current settings is for the loader to decide
    (:meth:`BuildCache.use_key`): it drops those made for other settings.
    """
    folder = root / CACHE_DIR
    cache = BuildCache(key="")
    for index in shards:
        load_shard(cache, folder, index)
    outputs = _read(folder / OUTPUTS_FILE)
    if outputs is not None and isinstance(outputs[2], dict):
        cache.outputs = outputs[2]
    return cache


def load_shard(cache: BuildCache, folder: Path, index: int) -> str | None:
    """Add the posts of one posts file in ``folder`` to ``cache``; the settings key it was made for, if readable."""
    posts = _read_posts_file(folder / POSTS_FILE.format(index))
    if posts is None:
        return None
    cache.shard_keys[index] = posts[1]
    cache.posts.update(posts[2])
    return posts[1]


# Heads: the entries of the posts that outputs of many posts take whole (the
# feeds, the digest), pickled one by one with their bodies: name -> (the
# file's hash, the entry pickled). A build of a few changed posts
# (newsletter.delta) makes such an output again from these without reading
# every posts file; it checks each entry as the loader checks a posts file's
# (the file's size and time) before use.


def read_heads(root: Path, key: str) -> dict[str, tuple[str, bytes]]:
    """The heads file's entries, when made under these settings; else none."""
    data = _read(root / CACHE_DIR / HEADS_FILE)
    if data is None or data[1] != key or not isinstance(data[2], dict):
        return {}
    return data[2]


def heads_of(cache: BuildCache) -> list[str]:
    """The posts that outputs of more than one post take whole, as recorded in ``cache``, sorted."""
    names: set[str] = set()
    for recorded in cache.outputs.values():
        taken = recorded[4]
        if taken and len(taken) > 1:
            names.update(taken)
    return sorted(names)


def save_heads(root: Path, cache: BuildCache, kept: dict[str, tuple[str, bytes]], last: str) -> str:
    """Write the heads file unless it holds these posts already (``last``: its fingerprint); return the new one.

    An entry is taken from ``cache.posts``, else from ``kept`` (read from
    the heads file). "" when some post is in neither: the file is then left
    as it is, and a build of changed posts reads posts files instead.
    """
    found: dict[str, PostEntry | tuple[str, bytes]] = {}
    for name in heads_of(cache):
        entry = cache.posts.get(name)
        item = kept.get(name)
        if item is not None and (entry is None or entry.digest == item[0]):
            found[name] = item
        elif entry is not None:
            found[name] = entry
        else:
            return ""
    fingerprint = digest(cache.key + "".join(f"\0{name}\0{_digest_of(item)}" for name, item in found.items()))
    if fingerprint != last:
        with _no_gc():
            dump = pickle.dumps
            data = {
                name: item if isinstance(item, tuple) else (item.digest, dump(item, pickle.HIGHEST_PROTOCOL))
                for name, item in found.items()
            }
        _write(root, HEADS_FILE, file_bytes(cache.key, data))
    return fingerprint


def _digest_of(item: PostEntry | tuple[str, bytes]) -> str:
    return item[0] if isinstance(item, tuple) else item.digest


def templates_fingerprint(files: list[Path]) -> str:
    """One hash of every template file that can shape the output."""
    parts = []
    for path in files:
        try:
            parts.append(f"{path}\0{digest(path.read_bytes())}")
        except OSError:
            parts.append(f"{path}\0missing")
    return digest("\n".join(parts))


def _write(root: Path, name: str, data: bytes) -> None:
    write_cache_file(root / CACHE_DIR / name, data)


def write_cache_file(path: Path, data: bytes) -> None:
    """Write one file of the build cache (atomically; the folder and its tag made when missing)."""
    from newsletter.write import write_atomic

    folder = path.parent
    folder.mkdir(exist_ok=True)
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        write_atomic(tag, "Signature: 8a477f597d28d172789f06886806bc55\n# newsletter's build cache\n", output=False)
    write_atomic(path, data, output=False)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Without the cycle collector: it has nothing to find in a cache and takes 40% of its loading."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def sweep_dead(folder: Path) -> None:
    """Remove the temporary files in ``folder`` of processes that are gone (a stopped loading worker's).

    Loading writes into the build cache without the project lock; another
    run's files (of a live process) are left alone.
    """
    from newsletter.write import TEMP_PREFIX

    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not name.startswith(TEMP_PREFIX):
            continue
        pid = name[len(TEMP_PREFIX) :].removeprefix("old-").partition("-")[0]  # see write._temp_name
        if not pid.isdigit() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(folder / name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: alive
        return True
    return True


def save_posts(root: Path, cache: BuildCache) -> None:
    """Write the posts files that changed (any time after a good load)."""
    if not cache.dirty_shards:
        return
    shards: dict[int, dict[str, PostEntry]] = {index: {} for index in cache.dirty_shards}
    for name, entry in cache.posts.items():
        shard = shards.get(shard_of(name))
        if shard is not None:
            shard[name] = entry
    for index, posts in sorted(shards.items()):
        payload = cache.payloads.pop(index, None)
        _write(root, POSTS_FILE.format(index), payload or posts_bytes(cache.key, posts))
        cache.shard_keys[index] = cache.key
    cache.dirty_shards = set()
    cache.payloads = {}


def save_cache(root: Path, cache: BuildCache) -> None:
    """Write what changed; the outputs only once they are all written."""
    save_posts(root, cache)
    if cache.outputs_dirty:
        _write(root, OUTPUTS_FILE, file_bytes("", cache.outputs))
        cache.outputs_dirty = False
