"""The build cache in ``.newsletter-cache/``: loaded posts and output fingerprints.

A post is reused when its file's size and modification time (or, failing
that, its bytes) are unchanged, the files it refers to still exist as they
did, and the settings, the package version and the project folder are the
same. An output is not rendered again when the fingerprint of what went
into it is unchanged and the file is still there. A corrupt or foreign
cache is ignored: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from newsletter import __version__
from newsletter.errors import SourceError
from newsletter.models import Post

CACHE_DIR = ".newsletter-cache"
CACHE_FILE = "build.pickle"
FORMAT = 1


@dataclass
class PostEntry:
    """One post file as it was loaded last time."""

    stat: tuple[int, int]  # (st_mtime_ns, st_size)
    digest: str  # sha1 of the file's bytes
    post: Post | None
    problems: list[SourceError]
    deps: tuple[tuple[str, bool], ...]  # files the post refers to, and whether each existed

    def deps_unchanged(self) -> bool:
        """Whether every file the post refers to exists (or not) as before."""
        return all(os.path.isfile(path) == existed for path, existed in self.deps)


@dataclass
class BuildCache:
    """Everything cached for one project, valid for one settings key."""

    key: str
    posts: dict[str, PostEntry] = field(default_factory=dict)  # by path relative to the project
    outputs: dict[str, str] = field(default_factory=dict)  # public/ path -> fingerprint
    dirty: bool = False


def digest(data: bytes | str) -> str:
    """A short content hash."""
    return hashlib.sha1(data.encode() if isinstance(data, str) else data, usedforsecurity=False).hexdigest()


def settings_key(root: Path, settings_text: str) -> str:
    """What every cached post depends on besides its own file."""
    return digest(f"{FORMAT}\0{__version__}\0{root.resolve()}\0{settings_text}")


def load_cache(root: Path) -> BuildCache:
    """The project's cache, or an empty one when missing or unreadable.

    Whether it fits the current settings is for the loader to decide
    (:func:`settings_key`): it resets a cache whose key differs.
    """
    path = root / CACHE_DIR / CACHE_FILE
    try:
        with path.open("rb") as handle:
            cache = pickle.load(handle)
        if isinstance(cache, BuildCache):
            cache.dirty = False
            return cache
    except Exception:  # noqa: BLE001 - any broken cache is just a cold start
        pass
    return BuildCache(key="", dirty=True)


def templates_fingerprint(files: list[Path]) -> str:
    """One hash of every template file that can shape the output."""
    parts = []
    for path in files:
        try:
            parts.append(f"{path}\0{digest(path.read_bytes())}")
        except OSError:
            parts.append(f"{path}\0missing")
    return digest("\n".join(parts))


def save_cache(root: Path, cache: BuildCache) -> None:
    """Write the cache (atomically) when it changed."""
    from newsletter.write import write_atomic

    if not cache.dirty:
        return
    folder = root / CACHE_DIR
    folder.mkdir(exist_ok=True)
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        write_atomic(tag, "Signature: 8a477f597d28d172789f06886806bc55\n# newsletter's build cache\n")
    write_atomic(folder / CACHE_FILE, pickle.dumps(cache, protocol=pickle.HIGHEST_PROTOCOL))
    cache.dirty = False
