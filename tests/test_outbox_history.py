"""Outbox history through the commands: statuses, sent weeks never change, no needless rewrites.

tests/test_outbox.py covers write_digest itself; this module covers what
`newsletter build`, `digest` and `outbox` do with a history of weeks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLE_EPOCH, tree
from test_crash import mark_sent

from newsletter import lock
from newsletter.build import build
from newsletter.outbox import SentError

SENT, DRAFT = "2026-W46", "2026-W47"


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and modification time of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def _edit_every_post(project: Path) -> None:
    for post in (project / "posts").glob("*.md"):
        post.write_text(post.read_text(encoding="utf-8") + "\nEdited after sending.\n", encoding="utf-8")
    config = project / "newsletter.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("Northbridge Regenerative Care", "Northbridge News"))


def _ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return result


def test_outbox_shows_each_weeks_status(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _ok(cli("build", "-C", sample, "--week", SENT))
    _ok(cli("build", "-C", sample, "--week", DRAFT))
    mark_sent(sample, SENT)
    listed = _ok(cli("outbox", "-C", sample))
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [(row[0], row[1]) for row in rows] == [(DRAFT, "draft"), (SENT, "sent")]


def test_a_sent_week_never_changes(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _ok(cli("build", "-C", sample, "--week", SENT))
    mark_sent(sample, SENT)
    sent = sample / "outbox" / SENT
    before = _snapshot(sent)
    _edit_every_post(sample)

    refused = cli("digest", "-C", sample, "--week", SENT)
    assert refused.exit_code == 1
    assert refused.stderr == f"error: {SENT} is marked sent in the outbox; it is never overwritten\n"
    built = _ok(cli("build", "-C", sample, "--week", SENT))
    assert f"{SENT} was sent already" in built.stdout
    _ok(cli("build", "-C", sample))  # the next week, and every page again
    assert _snapshot(sent) == before
    # The web version of a sent digest is what was sent.
    assert (sample / "public" / "digests" / f"{SENT}.html").read_bytes() == (sent / "message.html").read_bytes()
    assert b"Northbridge News" in (sample / "public" / "index.html").read_bytes()


def test_rebuilding_an_unchanged_week_rewrites_nothing(
    sample: Path,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _ok(cli("build", "-C", sample, "--week", SENT))
    _ok(cli("build", "-C", sample))
    outbox, public = _snapshot(sample / "outbox"), _snapshot(sample / "public")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(SAMPLE_EPOCH) + 3600))  # an hour later, same week
    again = _ok(cli("build", "-C", sample))
    assert "unchanged" in again.stdout
    assert re.search(r": 0 files written, \d+ unchanged", again.stdout), again.stdout
    assert _snapshot(sample / "outbox") == outbox
    assert _snapshot(sample / "public") == public
    _ok(cli("build", "-C", sample, "--week", SENT))
    assert _snapshot(sample / "outbox") == outbox


def test_a_week_marked_sent_while_a_build_waited_is_left_alone(
    sample: Path,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sent check is repeated under the lock: a sender may mark the week while a build renders."""
    _ok(cli("build", "-C", sample))
    draft = sample / "outbox" / DRAFT
    draft_text = (draft / "meta.json").read_text(encoding="utf-8")
    sent_text = draft_text.replace('"status": "draft"', '"status": "sent"')
    assert sent_text != draft_text
    expected = tree(draft) | {"meta.json": sent_text.encode("utf-8")}
    _edit_every_post(sample)
    real_lock = lock.project_lock

    @contextlib.contextmanager
    def lock_then_send(root: Path, **options: object) -> Iterator[Path]:
        with real_lock(root, **options) as path:  # type: ignore[arg-type]
            (draft / "meta.json").write_text(sent_text, encoding="utf-8")
            yield path

    monkeypatch.setattr(lock, "project_lock", lock_then_send)
    result = build(sample)
    assert result.digest_status == "sent"
    assert f"{DRAFT} was sent already; its message is left as it is" in result.notes
    assert tree(draft) == expected
    (draft / "meta.json").write_text(draft_text, encoding="utf-8")  # `newsletter digest` meets the same race
    with pytest.raises(SentError, match="marked sent"):
        build(sample, feeds=False, site=False, sent_is_error=True)
    assert tree(draft) == expected
