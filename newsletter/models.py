"""Plain data: posts, references, calls to action. No I/O here.

A build may hold a hundred thousand posts, in its main process and in
every worker forked from it, so they are kept small: no ``__dict__`` on
posts and their parts (slots), the names a post shares with others
(categories, tags, author, front-matter keys) interned, identical tables of
front-matter lines shared (see :meth:`Post.__post_init__`), and the body of
a post read from the build cache decoded each time it is used rather than
kept.
"""

from __future__ import annotations

import operator
import re
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


def _pickled_as_tuple(cls: C) -> C:
    """Pickle a frozen slotted dataclass as the tuple of its fields (dataclasses' own way asks fields() each time).

    The state is set through the slots themselves: a frozen class refuses
    ``setattr``. All in C (``operator.call`` over the slots' setters):
    the build cache unpickles a hundred thousand of these.
    """
    names = [f.name for f in fields(cls)]
    get = operator.attrgetter(*names)
    setters = [getattr(cls, name).__set__ for name in names]
    size = len(names)

    def __getstate__(self: Any) -> tuple[Any, ...]:
        return get(self)  # type: ignore[no-any-return]

    def __setstate__(self: Any, state: tuple[Any, ...]) -> None:
        if len(state) != size:
            raise ValueError(f"{cls.__name__}: {len(state)} values pickled, {size} fields")
        deque(map(operator.call, setters, repeat(self), state), 0)

    cls.__getstate__ = __getstate__  # type: ignore[attr-defined]
    cls.__setstate__ = __setstate__  # type: ignore[attr-defined]
    return cls


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Reference:
    """One cited work: free text, optionally a DOI and a URL."""

    text: str
    doi: str = ""
    url: str = ""
    line: int = 0

    @property
    def link(self) -> str:
        """The best link for the work: its DOI resolver URL, else its URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url

    @property
    def key(self) -> str:
        """Identity used to merge the same work cited by two posts."""
        if self.doi:
            return "doi:" + self.doi.lower()
        if self.url:
            return "url:" + self.url.rstrip("/").lower()
        return "text:" + re.sub(r"[^a-z0-9]+", " ", self.text.lower()).strip()


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class CallToAction:
    """A sentence and a button leading to a URL."""

    text: str
    label: str
    url: str


@_pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Image:
    """An image file a post refers to, and where it is published."""

    source: Path
    target: str  # path under public/, e.g. "media/images/x.png"
    line: int = 1  # where the post refers to it


@dataclass(frozen=True, slots=True)
class Post:
    """One post, loaded and validated, with the lines it came from.

    ``lines`` (front-matter key -> line) may be one dict shared by every post
    laid out alike: never change it.
    """

    path: str  # the file (a string: cheaper than a Path in a cache of thousands)
    display_path: str
    title: str
    date: datetime
    updated: datetime | None
    author: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    summary: str
    slug: str
    draft: bool
    references: tuple[Reference, ...]
    cta: CallToAction | None
    body_html: str
    url: str
    id: str
    images: tuple[Image, ...] = ()
    lang: str = ""  # the post's own language (front matter ``lang:``); "" means the site's
    aliases: tuple[str, ...] = ()  # old site-root-relative addresses that redirect here
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    body_line: int = 1
    digest: str = field(default="", compare=False)  # hash of the file's bytes, for the build cache
    card: str = field(default="", compare=False)  # hash of what lists of posts show of it, for the build cache
    # Where the body is, for a post read from the build cache (see newsletter.cache):
    # (the bytes, start, size); body_html is then left unset.
    _body: tuple[Any, int, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Share what this post has in common with others (a cache of thousands holds it once per file)."""
        intern = sys.intern
        _SET["lines"](self, _shared_lines(self.lines))
        _SET["author"](self, intern(self.author))
        if self.categories:
            _SET["categories"](self, tuple(map(intern, self.categories)))
        if self.tags:
            _SET["tags"](self, tuple(map(intern, self.tags)))

    def __getstate__(self) -> tuple[Any, ...]:
        """The fields in order (see ``_STATE``), the body last: pickled to a helper process, a post carries it."""
        return _get_state(self) + (self.body_html,)  # type: ignore[no-any-return]

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        """From :meth:`__getstate__`'s tuple, whose last item is the body, or where it is (see :func:`find_bodies`)."""
        if len(state) != _STATE_SIZE:
            raise ValueError(f"Post: {len(state)} values pickled, {_STATE_SIZE} expected")
        deque(map(operator.call, _SETTERS, repeat(self), state), 0)  # all but the last (see _pickled_as_tuple)
        body = state[-1]
        if type(body) is str:
            _set_body_html(self, body)
            _set_body(self, None)
        else:
            _set_body(self, body)

    @property
    def modified(self) -> datetime:
        """When the post last changed: ``updated`` or else ``date``."""
        return self.updated or self.date

    def line_of(self, key: str) -> int:
        """Line of a front-matter key (1 when unknown)."""
        return self.lines.get(key, 1)


class _CachedBody:
    """``Post.body_html``: the slot's value, else the body of a post read from the build cache, decoded each time.

    Not kept: a worker process rendering thousands of pages would hold every
    body it decoded until it ends. A descriptor on this one field rather than
    ``__getattr__`` on the class, which makes Python read every other
    attribute of every post the slow way (about three times as long).
    """

    __slots__ = ("slot",)

    def __init__(self, slot: Any):
        self.slot = slot

    def __get__(self, post: Post | None, owner: type | None = None) -> Any:
        if post is None:
            return self
        try:
            return self.slot.__get__(post, owner)
        except AttributeError:
            ref = _get_body(post)
            if ref is None:
                raise AttributeError(f"{type(post).__name__!r} object has no attribute 'body_html'") from None
            bodies, start, size = ref
            return str(bodies[start : start + size], "utf-8", "surrogatepass")

    def __set__(self, post: Post, value: str) -> None:
        self.slot.__set__(post, value)

    def __delete__(self, post: Post) -> None:
        self.slot.__delete__(post)


Post.body_html = _CachedBody(Post.body_html)  # type: ignore[assignment,method-assign]
# A post's pickled state: these fields' values in this order, then its body
# (newsletter.cache writes where the body is in its file instead).
_STATE = tuple(f.name for f in fields(Post) if f.name not in ("body_html", "_body"))
_STATE_SIZE = len(_STATE) + 1
_get_state = operator.attrgetter(*_STATE)
_SET = {name: getattr(Post, name).__set__ for name in _STATE}  # the slots' own: a frozen class refuses setattr
_SETTERS = list(_SET.values())
_set_body_html = Post.body_html.__set__  # type: ignore[attr-defined]
_get_body = Post._body.__get__  # type: ignore[attr-defined]
_set_body = Post._body.__set__  # type: ignore[attr-defined]

_LINES: dict[tuple[str | int, ...], dict[str, int]] = {}
_LINES_KEPT = 10_000  # layouts remembered at most (a long-running preview server loads posts again and again)


def _shared_lines(lines: dict[str, int]) -> dict[str, int]:
    """One dict for every post whose front matter is laid out alike (most are), its keys interned."""
    # The keys, then their lines, in one flat tuple: a pair per key would be a tuple more to make, hash and compare.
    layout = (*lines, *lines.values())
    shared = _LINES.get(layout)
    if shared is None:
        if len(_LINES) >= _LINES_KEPT:
            _LINES.clear()
        shared = _LINES[layout] = {sys.intern(key): line for key, line in lines.items()}
    return shared


def find_bodies(posts: Iterable[Post], bodies: Any) -> None:
    """Tell posts unpickled with where their body is ((start, size) in place of ``body_html``) what that is in.

    ``bodies[start : start + size]`` is then the body as UTF-8 (see
    newsletter.cache: the bodies part of a posts file).
    """
    for post in posts:
        where = _get_body(post)
        if where is not None:
            _set_body(post, (bodies, *where))
