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
from typing import Any

from newsletter import __version__
from newsletter.errors import SourceError
from newsletter.models import Post

CACHE_DIR = ".newsletter-cache"
POSTS_FILE = "posts.pickle"
OUTPUTS_FILE = "outputs.pickle"
FORMAT = 2


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
    """Everything cached for one project: posts valid for one settings key, outputs."""

    key: str
    posts: dict[str, PostEntry] = field(default_factory=dict)  # by path relative to the project
    outputs: dict[str, str] = field(default_factory=dict)  # output path -> fingerprint of its inputs
    posts_dirty: bool = False
    outputs_dirty: bool = False


def digest(data: bytes | str) -> str:
    """A short content hash."""
    return hashlib.sha1(data.encode() if isinstance(data, str) else data, usedforsecurity=False).hexdigest()


def settings_key(root: Path, settings_text: str) -> str:
    """What every cached post depends on besides its own file."""
    return digest(f"{FORMAT}\0{__version__}\0{root.resolve()}\0{settings_text}")


def _read(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            data = pickle.load(handle)
        if isinstance(data, tuple) and len(data) == 3 and data[0] == FORMAT:
            return data
    except Exception:  # noqa: BLE001 - any broken cache is just a cold start
        pass
    return None


def load_cache(root: Path) -> BuildCache:
    """The project's cache, or an empty one when missing or unreadable.

    Whether its posts fit the current settings is for the loader to decide
    (:func:`settings_key`): it drops them when the key differs.
    """
    folder = root / CACHE_DIR
    cache = BuildCache(key="")
    posts = _read(folder / POSTS_FILE)
    if posts is not None and isinstance(posts[2], dict):
        cache.key, cache.posts = posts[1], posts[2]
    outputs = _read(folder / OUTPUTS_FILE)
    if outputs is not None and isinstance(outputs[2], dict):
        cache.outputs = outputs[2]
    return cache


def templates_fingerprint(files: list[Path]) -> str:
    """One hash of every template file that can shape the output."""
    parts = []
    for path in files:
        try:
            parts.append(f"{path}\0{digest(path.read_bytes())}")
        except OSError:
            parts.append(f"{path}\0missing")
    return digest("\n".join(parts))


def _write(root: Path, name: str, data: Any) -> None:
    from newsletter.write import write_atomic

    folder = root / CACHE_DIR
    folder.mkdir(exist_ok=True)
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        write_atomic(tag, "Signature: 8a477f597d28d172789f06886806bc55\n# newsletter's build cache\n")
    write_atomic(folder / name, pickle.dumps((FORMAT, *data), protocol=pickle.HIGHEST_PROTOCOL))


def save_posts(root: Path, cache: BuildCache) -> None:
    """Write the loaded posts when they changed (any time after a good load)."""
    if cache.posts_dirty:
        _write(root, POSTS_FILE, (cache.key, cache.posts))
        cache.posts_dirty = False


def save_cache(root: Path, cache: BuildCache) -> None:
    """Write what changed; the outputs only once they are all written."""
    save_posts(root, cache)
    if cache.outputs_dirty:
        _write(root, OUTPUTS_FILE, ("", cache.outputs))
        cache.outputs_dirty = False
