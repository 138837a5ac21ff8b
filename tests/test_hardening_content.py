"""Issue 17, content and rendering: each finding reproduced, then held fixed.

Deep nesting that hung the text part, statuses that are not exactly
"draft", thousands of categories, internal errors instead of
``path:line: message``, and project templates that could run code.
Header injection has its own file (test_headers.py).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import tree, write_post

from newsletter.load import MAX_CATEGORIES, MAX_TAGS, load_project
from newsletter.markdown import MAX_NESTING
from newsletter.render.feeds import render_feeds
from newsletter.render.email_text import MAX_INDENT, WIDTH, indent_for, wrap

WEEK = "2026-W47"
FRONT = "---\ntitle: Deep\ndate: 2026-11-17 09:00\ncategories: [Research]\n---\n"
BODY_LINE = 6  # the first body line after FRONT


class TookTooLong(Exception):
    """A step ran past its time bound."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (on main, the text wrapper looped for ever)."""

    def expire(signum: int, frame: Any) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def quotes(depth: int) -> str:
    """``> > > ... deep`` on one line."""
    return "> " * depth + "deep\n"


def lists(depth: int) -> str:
    """A bullet list nested ``depth`` deep."""
    return "".join("  " * level + f"- item {level}\n" for level in range(depth))


def raw_quotes(depth: int) -> str:
    """Raw ``<blockquote>`` elements nested ``depth`` deep."""
    return "<blockquote>" * depth + "deep" + "</blockquote>" * depth + "\n"


# --- item 2: one short post hung the weekly job ---------------------------------


@pytest.mark.parametrize(
    "body",
    [quotes(40), lists(30), raw_quotes(60), raw_quotes(80), "1. " * 30 + "x\n", "> - " * 24 + "x\n"],
    ids=["quotes-40", "lists-30", "raw-blockquote-60", "raw-blockquote-80", "ordered-30", "quote-list-24"],
)
def test_deep_nesting_renders_the_digest_quickly(empty_project: Path, cli, body: str) -> None:  # type: ignore[no-untyped-def]
    write_post(empty_project, "deep.md", FRONT + body)
    assert cli("check", "-C", empty_project).exit_code == 0
    with time_bound(10):  # on main: for ever, growing by gigabytes
        result = cli("build", "-C", empty_project, "--week", WEEK)
    assert result.exit_code == 0, result.output
    text = (empty_project / "outbox" / WEEK / "message.txt").read_text(encoding="utf-8")
    words = "deep" if "deep" in body else "x" if "item" not in body else "item 29"
    assert words in text
    assert max(len(line) for line in text.splitlines() if not line.startswith("http")) <= WIDTH


@pytest.mark.parametrize("indent", [0, 10, 77, 78, 79, 200, 10_000])
def test_the_wrapper_always_keeps_room_for_text(indent: int) -> None:
    with time_bound(5):
        lines = wrap("a-long-word-" * 20 + " and more words here", " " * indent, ">" * indent)
    assert lines and "and more words here" in " ".join(lines)


@pytest.mark.parametrize("quote_depth", [0, 1, 9, 10, 40, 1000])
@pytest.mark.parametrize("list_depth", [0, 1, 12, 30, 1000])
def test_indents_never_take_more_than_max_indent(quote_depth: int, list_depth: int) -> None:
    prefix = indent_for(quote_depth, list_depth)
    assert len(prefix) <= MAX_INDENT
    assert prefix.count(">") == min(quote_depth, MAX_INDENT // 2 - 1)


@pytest.mark.parametrize(
    "body", [quotes(MAX_NESTING + 1), lists(MAX_NESTING // 2 + 1), raw_quotes(MAX_NESTING + 1), raw_quotes(5000)]
)
def test_nesting_past_the_limit_is_reported_by_check(empty_project: Path, cli, body: str) -> None:  # type: ignore[no-untyped-def]
    write_post(empty_project, "deep.md", FRONT + "Intro.\n\n" + body)
    with time_bound(20):
        result = cli("check", "-C", empty_project)
        assert cli("build", "-C", empty_project).exit_code == 1
    assert result.exit_code == 1
    assert f"posts/deep.md:{BODY_LINE}: the body nests" in result.stderr
    assert f"at most {MAX_NESTING} are allowed" in result.stderr
    assert not (empty_project / "public").exists() and not (empty_project / "outbox").exists()


def test_at_the_limit_the_digest_keeps_every_level(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """libxml2 (under premailer) flattens past about 250 levels: the limit keeps well clear of it."""
    write_post(empty_project, "deep.md", FRONT + raw_quotes(MAX_NESTING))
    assert cli("digest", "-C", empty_project, "--week", WEEK).exit_code == 0
    html = (empty_project / "outbox" / WEEK / "message.html").read_text(encoding="utf-8")
    assert html.count("<blockquote") == MAX_NESTING


# --- item 7: "Sent" is not sent -----------------------------------------------


@pytest.mark.parametrize(
    "status", ["Sent", "SENT", "sent ", " draft", "Draft", "sending", "", None, 1, ["draft"], "missing"]
)
def test_only_an_exact_draft_is_rewritten(sample: Path, cli, status: Any) -> None:  # type: ignore[no-untyped-def]
    assert cli("digest", "-C", sample).exit_code == 0
    folder = sample / "outbox" / WEEK
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if status == "missing":
        del meta["status"]
    else:
        meta["status"] = status
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (sample / "posts" / "2026-11-18-neural-progenitors-derived-from-bone-mesenchymal-stem-cells-help-multiple.md").open(
        "a", encoding="utf-8"
    ).write("\nA new closing line.\n")
    saved = tree(folder)
    refused = cli("digest", "-C", sample)
    assert refused.exit_code == 1
    assert "never overwritten" in refused.stderr and "Traceback" not in refused.output
    built = cli("build", "-C", sample)
    assert tree(folder) == saved
    if isinstance(status, str) and status != "missing":
        assert built.exit_code == 0, built.output
        assert f"{WEEK} has status {status!r} in the outbox, not 'draft'" in built.stdout
    else:
        assert built.exit_code == 1 and "never overwritten" in built.stderr


# --- item 8: one post naming thousands of categories --------------------------


@pytest.mark.parametrize("key", ["categories", "tags"])
def test_thousands_of_categories_or_tags_are_refused(empty_project: Path, cli, key: str) -> None:  # type: ignore[no-untyped-def]
    names = ", ".join(f"Name {n}" for n in range(5000))
    write_post(empty_project, "many.md", f"---\ntitle: Many\ndate: 2026-11-17 09:00\n{key}: [{names}]\n---\nBody.\n")
    with time_bound(20):
        result = cli("check", "-C", empty_project)
        assert cli("build", "-C", empty_project).exit_code == 1
    assert result.exit_code == 1
    limit = MAX_CATEGORIES if key == "categories" else MAX_TAGS
    assert f"posts/many.md:4: 5,000 {key}: a post may have at most {limit}" in result.stderr
    assert not (empty_project / "public").exists()


def test_the_most_categories_a_post_may_have_make_one_feed_each(empty_project: Path) -> None:
    names = [f"Topic {n}" for n in range(MAX_CATEGORIES)]
    write_post(empty_project, "many.md", f"---\ntitle: Many\ndate: 2026-11-17 09:00\ncategories: {names}\n---\nBody.\n")
    project = load_project(empty_project)
    feeds = render_feeds(project)
    assert len([path for path in feeds if path.startswith("categories/")]) == MAX_CATEGORIES
    # Each category feed holds the post once, with its categories: linear in categories x entries.
    assert all(len(feeds[path]) < 40_000 for path in feeds if path.startswith("categories/"))
