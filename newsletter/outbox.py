"""The outbox: the only writer of ``outbox/``.

Each week has a folder ``outbox/<week>/`` with ``message.eml``,
``message.html``, ``message.txt`` and ``meta.json``. A message is rewritten
only while its ``status`` is exactly ``draft``; one marked ``sent`` (or
anything else) is never touched.
Files are written whole or not at all, ``meta.json`` last, so a folder
without ``meta.json`` is an interrupted draft and may be rewritten.

``newsletter send`` moves a week ``draft`` -> ``sending`` -> ``sent`` with
:func:`set_status`; a week being sent is as immutable as a sent one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.errors import NewsletterError
from newsletter.write import Staging, write_atomic

if TYPE_CHECKING:
    from newsletter.weeks import Week

META = "meta.json"
MESSAGE_FILES = ("message.eml", "message.html", "message.txt")
_WEEK_FOLDER = re.compile(r"^\d{4}-W\d{2}$")
_MOVES = {("draft", "sending"), ("sending", "sent")}


@dataclass(frozen=True)
class RenderedDigest:
    """One week's message, ready for the outbox (made by :func:`newsletter.render.email.render_digest`).

    Defined here, not where it is made: a build receives it from the
    process that rendered it without importing all that rendering takes.
    """

    week: Week
    subject: str
    html: str  # the CSS-inlined HTML part (message.html)
    text: str  # the plain-text part (message.txt)
    eml: bytes  # the whole message (message.eml)
    meta: dict[str, Any]  # meta.json
    notes: tuple[str, ...] = ()  # warnings for the user (size, fallback)


class SentError(NewsletterError):
    """The week's message was sent already; it is never overwritten."""


class OutboxError(NewsletterError):
    """The outbox holds something that cannot safely be replaced."""


@dataclass
class OutboxEntry:
    """One message in the outbox, as its ``meta.json`` describes it."""

    week: str
    status: str
    subject: str
    period: str
    posts: list[str]
    sizes: dict[str, int]
    created: str
    folder: Path
    mode: str = "full"
    meta: dict[str, Any] = field(default_factory=dict, repr=False)


def _read_meta(folder: Path) -> dict[str, Any] | None:
    """The folder's meta.json as a dict; None when missing; OutboxError when unreadable."""
    path = folder / META
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutboxError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise OutboxError(f"{path} is not a readable outbox meta.json; fix it or remove the folder")
    if not isinstance(data.get("status"), str):
        what = "has no status" if "status" not in data else f"has a status that is no text ({data['status']!r})"
        raise OutboxError(f"{path} {what}; the week is never overwritten: fix it or remove the folder")
    return data


def _entry(folder: Path, meta: dict[str, Any]) -> OutboxEntry:
    posts = meta.get("posts")
    sizes = meta.get("sizes")
    return OutboxEntry(
        week=folder.name,
        status=str(meta["status"]),
        subject=str(meta.get("subject", "")),
        period=str(meta.get("period", "")),
        posts=[str(p) for p in posts] if isinstance(posts, list) else [],
        sizes={str(k): v for k, v in sizes.items() if isinstance(v, int)} if isinstance(sizes, dict) else {},
        created=str(meta.get("created", "")),
        folder=folder,
        mode=str(meta.get("mode", "full")),
        meta=meta,
    )


def list_messages(outbox_dir: Path) -> list[OutboxEntry]:
    """Every message in the outbox, newest week first.

    Folders that are not ISO weeks, or lack a readable ``meta.json``, are
    skipped: an interrupted or hand-edited folder never breaks a listing.
    """
    if not outbox_dir.is_dir():
        return []
    entries = []
    for folder in sorted(outbox_dir.iterdir(), key=lambda p: p.name, reverse=True):
        if not _WEEK_FOLDER.match(folder.name) or not folder.is_dir():
            continue
        try:
            meta = _read_meta(folder)
        except OutboxError:
            continue
        if meta is not None:
            entries.append(_entry(folder, meta))
    return entries


def status_of(outbox_dir: Path, week_label: str) -> str | None:
    """The status of a week's message (``draft``, ``sent``), or None when absent or unreadable."""
    try:
        meta = _read_meta(outbox_dir / week_label)
    except OutboxError:
        return None
    return None if meta is None else str(meta["status"])


def not_draft(week_label: str, status: str | None) -> SentError | None:
    """The error for rewriting a week of this status: anything but exactly ``draft`` is kept.

    ``"Sent"``, ``"SENT"``, ``"sent "`` or a status of a later tool are not
    drafts either: guessing what they mean could send a week twice.
    """
    if status is None or status == "draft":  # None: no message yet (or unreadable: write_digest refuses it)
        return None
    if status == "sent":
        return SentError(f"{week_label} is marked sent in the outbox; it is never overwritten")
    if status == "sending":
        return SentError(f"{week_label} is being sent (newsletter send); it is never overwritten")
    return SentError(
        f"{week_label} has status {status!r} in the outbox, not 'draft'; it is never overwritten "
        f"(set it to 'draft' in {week_label}/{META} to let it be rewritten)"
    )


def kept_note(week_label: str, refused: SentError) -> str:
    """What a build says about a week it left alone (the preview hides the plain "was sent" one)."""
    if "marked sent" in str(refused):
        return f"{week_label} was sent already; its message is left as it is"
    return f"{refused}; its message is left as it is"


def _same_but_created(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return {k: v for k, v in old.items() if k != "created"} == {k: v for k, v in new.items() if k != "created"}


def meta_json(meta: dict[str, Any]) -> str:
    """The text of a meta.json file (stable key order, UTF-8, final newline)."""
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"


def write_digest(outbox_dir: Path, digest: RenderedDigest) -> tuple[str, list[Path]]:
    """Write a rendered digest into ``outbox/<week>/``.

    Returns ``("written" | "unchanged", paths rewritten)``. Unchanged files
    are not touched, and a rebuild of unchanged content keeps the earlier
    ``created`` time. Raises :class:`SentError` when the week's status is
    not exactly ``draft`` (sent, or anything else) and
    :class:`OutboxError` when its meta.json cannot be read (it might
    describe a sent message).
    """
    folder = outbox_dir / digest.week.label
    old = _read_meta(folder)
    refused = not_draft(digest.week.label, old["status"]) if old is not None else None
    if refused is not None:
        raise refused
    meta = dict(digest.meta)
    if old is not None and "created" in old and _same_but_created(old, meta):
        meta["created"] = old["created"]
    contents: list[tuple[str, str | bytes]] = [
        ("message.eml", digest.eml),
        ("message.html", digest.html),
        ("message.txt", digest.text),
        (META, meta_json(meta)),  # last: a folder without it is an unfinished draft
    ]
    # All four or none: a failure (a full disk) half-way puts the old ones back.
    staging = Staging()
    try:
        for name, data in contents:
            staging.stage(folder / name, data, durable=True)
        written = [Path(target) for target in staging.commit()]
    except BaseException:
        staging.discard(folder)
        raise
    return ("written" if written else "unchanged"), written


def set_status(outbox_dir: Path, week_label: str, status: str) -> None:
    """Move a week ``draft`` -> ``sending`` -> ``sent`` (meta.json rewritten atomically and durably).

    Setting the status it has already is a no-op; any other move raises
    :class:`OutboxError`.
    """
    folder = outbox_dir / week_label
    meta = _read_meta(folder)
    if meta is None:
        raise OutboxError(f"{week_label} is not in the outbox: run 'newsletter build --week {week_label}' first")
    old = str(meta["status"])
    if old == status:
        return
    if (old, status) not in _MOVES:
        raise OutboxError(f"{week_label} is {old} in the outbox; it cannot become {status}")
    meta["status"] = status
    write_atomic(folder / META, meta_json(meta), durable=True)


def read_meta(outbox_dir: Path, week_label: str) -> dict[str, Any] | None:
    """The meta.json of a week as a dict, or None when the week is not in the outbox."""
    return _read_meta(outbox_dir / week_label)
