"""Plain data: posts, references, calls to action. No I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class CallToAction:
    """A sentence and a button leading to a URL."""

    text: str
    label: str
    url: str


@dataclass(frozen=True)
class Image:
    """An image file a post refers to, and where it is published."""

    source: Path
    target: str  # path under public/, e.g. "media/images/x.png"
    line: int = 1  # where the post refers to it


@dataclass(frozen=True)
class Post:
    """One post, loaded and validated, with the lines it came from."""

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

    def __getattr__(self, name: str) -> Any:
        """A post read from the build cache has its body decoded when first used (see newsletter.cache)."""
        if name == "body_html":
            ref = self.__dict__.get("_body")
            if ref is not None:
                bodies, start, size = ref
                body = bytes(bodies[start : start + size]).decode("utf-8", "surrogatepass")
                object.__setattr__(self, "body_html", body)
                return body
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)  # what pickle does anyway, without asking __getattr__ first

    def __getstate__(self) -> dict[str, Any]:
        """Pickled anywhere else (to a helper process), a post carries its body itself."""
        state = {key: value for key, value in self.__dict__.items() if key != "_body"}
        state["body_html"] = self.body_html
        return state

    @property
    def modified(self) -> datetime:
        """When the post last changed: ``updated`` or else ``date``."""
        return self.updated or self.date

    def line_of(self, key: str) -> int:
        """Line of a front-matter key (1 when unknown)."""
        return self.lines.get(key, 1)
