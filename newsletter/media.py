"""Files a post links to: which ones may be published, and the bytes published.

A post may link to files beside it (a PDF, a data sheet) and show images.
They are copied into ``public/media/``, where they are served with the
site's origin, so what a browser would run there is kept out: HTML and
other active documents are refused, SVG images are sanitized (scripts,
event handlers, foreign objects and references to other sites removed, by
svg-hush), and nothing is taken from the settings, the templates, hidden
files or the output folders. Files other than images are published only
from posts/.

The checks run twice: when a post is loaded (so ``check`` reports them as
``path:line: message``) and when the bytes are read for copying (so a file
swapped for a link to somewhere else after loading is never copied).
"""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path

from newsletter.errors import InputError, SourceError

# Served as documents that run scripts (or that browsers sniff as such).
ACTIVE = frozenset(
    (".html", ".htm", ".xhtml", ".xht", ".shtml", ".mht", ".mhtml", ".xml", ".xsl", ".xslt", ".js", ".mjs", ".swf")
)
SVG = (".svg",)
NEVER = ("newsletter.toml",)  # files of the project that are never published
NEVER_UNDER = ("templates", "public", "outbox")  # nor anything in these folders


def refusal(target: Path, root: Path, posts: Path, tag: str) -> str | None:
    """Why the file ``target`` (resolved, inside ``root``) may not be published, or None.

    ``tag`` is the HTML element that refers to it: an ``img`` of an image
    type may come from anywhere in the project (but the places above);
    anything else only from ``posts``.
    """
    parts = target.relative_to(root).parts
    if any(part.startswith(".") for part in parts):
        return "hidden files are never published"
    if parts[0] in NEVER_UNDER or (len(parts) == 1 and parts[0] in NEVER):
        return "the settings, templates and output folders are never published"
    suffix = target.suffix.lower()
    if suffix in ACTIVE:
        return f"{suffix} files are not published (a browser would run them as pages of this site)"
    image = tag == "img" and (mimetypes.guess_type(target.name)[0] or "").startswith("image/")
    if not image and not target.is_relative_to(posts):
        return "linked files are published only from posts/"
    return None


def svg_problem(path: Path) -> str | None:
    """Why the SVG file ``path`` cannot be published (it does not parse), or None."""
    try:
        sanitize_svg(path.read_bytes())
    except OSError as exc:
        return f"cannot read it: {exc.strerror}"
    except ValueError:
        return "not a valid SVG image (XML parsing error)"
    return None


def sanitize_svg(data: bytes) -> bytes:
    """``data`` without scripts, event handlers, foreign objects or references to other sites.

    Raises ValueError when it is not well-formed XML.
    """
    from py_svg_hush import filter_svg

    return filter_svg(data)


def published_bytes(source: Path, real_root: Path, origin: str = "") -> bytes:
    """The bytes to publish for ``source``, read now through one descriptor.

    The file actually opened (its links followed) must be a regular file
    inside ``real_root``; SVG images are sanitized. Raises InputError naming
    ``origin`` (the post's ``path:line`` that refers to it) otherwise, or
    when the file went away since loading.
    """
    shown = source.relative_to(real_root).as_posix() if source.is_relative_to(real_root) else str(source)

    def refuse(message: str) -> InputError:
        where, _, line = origin.rpartition(":") if origin else (shown, "", "1")
        return InputError([SourceError(where, int(line) if line.isdigit() else 1, f"{shown!r}: {message}")])

    try:
        fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO must not block us
    except FileNotFoundError:
        raise refuse("the file was removed during the build") from None
    except OSError as exc:
        raise refuse(f"cannot read it: {exc.strerror}") from None
    try:
        real = _opened_path(fd, source)
        if not Path(real).is_relative_to(real_root):
            raise refuse(f"now leads outside the project ({real}); it is not copied")
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refuse("not a regular file; it is not copied")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read()
    finally:
        os.close(fd)
    if source.suffix.lower() in SVG:
        try:
            data = sanitize_svg(data)
        except ValueError:
            raise refuse("not a valid SVG image (XML parsing error)") from None
    return data


def _opened_path(fd: int, source: Path) -> str:
    """The real path of the file open on ``fd`` (from /proc; else resolved from its name)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(source)
