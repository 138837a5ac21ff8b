"""The outbox: atomic writes, draft/sent rules, listing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import tree

from newsletter import write
from newsletter.load import load_project
from newsletter.outbox import OutboxError, SentError, list_messages, status_of, write_digest
from newsletter.render.email import RenderedDigest, render_digest
from newsletter.weeks import parse_week, posts_in_week

WEEK = "2026-W47"


def _render(project: Path, week: str = WEEK) -> RenderedDigest:
    loaded = load_project(project)
    chosen = parse_week(week, loaded.settings.site.tz)
    return render_digest(loaded, chosen, posts_in_week(loaded.published, chosen))


def _mark_sent(folder: Path) -> None:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["status"] = "sent"
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def test_write_digest_writes_four_files_meta_last(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = _render(sample)
    order: list[tuple[str, bool]] = []
    real_stage, real_commit = write.stage, write.commit

    def stage(path: Path, data: str | bytes, durable: bool = False) -> str | None:
        order.append((Path(path).name, durable))
        return real_stage(path, data, durable)

    def commit(temp: str, target: str) -> None:
        order.append((Path(target).name, True))
        real_commit(temp, target)

    # All four are staged (flushed to disk) before any is put in place; meta.json last.
    monkeypatch.setattr(write, "stage", stage)
    monkeypatch.setattr(write, "commit", commit)
    status, paths = write_digest(sample / "outbox", digest)
    assert status == "written"
    assert order == [(n, True) for n in ("message.eml", "message.html", "message.txt", "meta.json")] * 2
    order = order[4:]
    folder = sample / "outbox" / WEEK
    assert [p.name for p in paths] == [n for n, _ in order]
    assert (folder / "message.eml").read_bytes() == digest.eml
    assert (folder / "message.html").read_text(encoding="utf-8") == digest.html
    assert (folder / "message.txt").read_text(encoding="utf-8") == digest.text
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta == digest.meta
    assert meta["status"] == "draft"
    assert meta["sizes"]["eml"] == len(digest.eml) == (folder / "message.eml").stat().st_size
    assert meta["sizes"]["html"] == (folder / "message.html").stat().st_size
    assert meta["sizes"]["text"] == (folder / "message.txt").stat().st_size
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no temporary files left"


def test_unchanged_rebuild_touches_nothing_and_keeps_created(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_digest(sample / "outbox", _render(sample))
    folder = sample / "outbox" / WEEK
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    saved = tree(folder)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(1795521600 + 3600)))  # an hour later, same content
    again = _render(sample)
    assert again.meta["created"] != json.loads(saved["meta.json"])["created"]
    assert write_digest(sample / "outbox", again) == ("unchanged", [])
    assert tree(folder) == saved
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_changed_content_is_rewritten_with_a_new_created(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_digest(sample / "outbox", _render(sample))
    post = next((sample / "posts").glob("2026-11-20-*.md"))
    post.write_text(post.read_text(encoding="utf-8").replace("is urgent", "is pressing"), encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(1795521600 + 3600)))
    status, paths = write_digest(sample / "outbox", _render(sample))
    assert status == "written"
    assert {p.name for p in paths} == {"message.eml", "message.html", "message.txt", "meta.json"}
    meta = json.loads((sample / "outbox" / WEEK / "meta.json").read_text(encoding="utf-8"))
    assert meta["created"] == "2026-11-24T13:00:00+00:00"


def test_a_sent_message_is_never_overwritten(sample: Path) -> None:
    write_digest(sample / "outbox", _render(sample))
    folder = sample / "outbox" / WEEK
    _mark_sent(folder)
    saved = tree(folder)
    (folder / "message.html").write_text("edited after sending", encoding="utf-8")
    saved["message.html"] = b"edited after sending"
    with pytest.raises(SentError, match="marked sent"):
        write_digest(sample / "outbox", _render(sample))
    assert tree(folder) == saved
    assert status_of(sample / "outbox", WEEK) == "sent"


def test_an_unreadable_meta_json_is_not_overwritten(sample: Path) -> None:
    folder = sample / "outbox" / WEEK
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(OutboxError, match="meta.json"):
        write_digest(sample / "outbox", _render(sample))
    assert (folder / "meta.json").read_text(encoding="utf-8") == "{not json"
    assert status_of(sample / "outbox", WEEK) is None


def test_a_folder_without_meta_json_is_an_unfinished_draft(sample: Path) -> None:
    folder = sample / "outbox" / WEEK
    folder.mkdir(parents=True)
    (folder / "message.eml").write_bytes(b"half")
    assert status_of(sample / "outbox", WEEK) is None
    assert list_messages(sample / "outbox") == []
    assert write_digest(sample / "outbox", _render(sample))[0] == "written"
    assert (folder / "message.eml").read_bytes() != b"half"


def test_list_messages_newest_first_and_skips_junk(sample: Path) -> None:
    box = sample / "outbox"
    assert list_messages(box) == []
    write_digest(box, _render(sample, "2026-W46"))
    write_digest(box, _render(sample, WEEK))
    for junk, content in (("2026-W40", "[]"), ("2026-W41", "{bad"), ("2026-W42", '{"status": 3}')):
        (box / junk).mkdir()
        (box / junk / "meta.json").write_text(content, encoding="utf-8")
    (box / "2026-W43").mkdir()  # no meta.json
    (box / "notes").mkdir()
    (box / "notes" / "meta.json").write_text('{"status": "draft"}', encoding="utf-8")
    (box / "README.txt").write_text("not a folder", encoding="utf-8")
    messages = list_messages(box)
    assert [m.week for m in messages] == [WEEK, "2026-W46"]
    first = messages[0]
    assert first.status == "draft" and first.folder == box / WEEK
    assert first.subject == "Northbridge Regenerative Care · November 16 – 22, 2026"
    assert first.period == "November 16\u2009–\u200922, 2026"  # Babel's (CLDR's) interval, thin spaces kept
    assert first.posts[0].startswith("neural-progenitors")
    assert first.sizes["eml"] == (box / WEEK / "message.eml").stat().st_size
    assert first.created == "2026-11-24T12:00:00+00:00"
    assert status_of(box, "2026-W46") == "draft"
    assert status_of(box, "2026-W30") is None


def test_cli_digest_refuses_a_sent_week_and_build_leaves_it(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("digest", "-C", sample).exit_code == 0
    folder = sample / "outbox" / WEEK
    _mark_sent(folder)
    saved = tree(folder)
    refused = cli("digest", "-C", sample)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"error: {WEEK} is marked sent in the outbox; it is never overwritten"
    assert tree(folder) == saved
    built = cli("build", "-C", sample)
    assert built.exit_code == 0, built.output
    assert f"{WEEK} was sent already" in built.stdout
    assert tree(folder) == saved


def test_cli_outbox_lists_the_week(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    empty = cli("outbox", "-C", sample)
    assert empty.exit_code == 0 and "empty" in empty.stdout
    assert cli("digest", "-C", sample).exit_code == 0
    listed = cli("outbox", "-C", sample)
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if line.startswith(WEEK))
    assert "draft" in row and "Northbridge Regenerative Care · November 16 – 22, 2026" in row
    size = (sample / "outbox" / WEEK / "message.eml").stat().st_size
    assert f"{size:,}" in row
