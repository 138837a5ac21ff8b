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
from newsletter.render.email_text import MAX_INDENT, WIDTH, indent_for, wrap
from newsletter.render.feeds import render_feeds

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


# --- item 9: internal errors instead of path:line: message ----------------------

SVG_310_DIGITS = '<svg xmlns="http://www.w3.org/2000/svg" width="' + "1" * 310 + '" height="10"></svg>'


def _post_with(project: Path, body: str, extra: str = "") -> None:
    write_post(project, "a.md", f"---\ntitle: Post\ndate: 2026-11-17 09:00\n{extra}---\nIntro.\n\n{body}\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<img src="https://example.org/a.png" width="²" alt="a">', "image width '²' is not a number of pixels"),
        ('<img src="https://example.org/a.png" height="1e3" alt="a">', "image height '1e3' is not a number of pixels"),
        (f'<img src="https://example.org/a.png" width="{"9" * 5000}" alt="a">', "image width '999"),
        ('<sup class="cite"><a href="x#ref-9">[9]</a></sup>', "citation [9] has no reference (the post has 1)"),
        ('<sup class="cite"><a href="#ref-0">[0]</a></sup>', "citation [0] has no reference (the post has 1)"),
    ],
    ids=["superscript-two", "exponent", "5000-digits", "raw-marker", "marker-zero"],
)
def test_bad_raw_html_is_reported_by_check(empty_project: Path, cli, body: str, message: str) -> None:  # type: ignore[no-untyped-def]
    _post_with(empty_project, body, "references: [One reference.]\n")
    checked = cli("check", "-C", empty_project)
    built = cli("build", "-C", empty_project, "--week", WEEK)
    for result in (checked, built):
        assert result.exit_code == 1
        assert f"posts/a.md:8: {message}" in result.stderr
        assert "internal error" not in result.output
    assert not (empty_project / "public").exists()


def test_sizes_html_allows_are_kept(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _post_with(empty_project, '<img src="https://example.org/a.png" width=" 120 " height="50%" alt="a">')
    assert cli("build", "-C", empty_project, "--week", WEEK).exit_code == 0
    page = (empty_project / "public" / "posts" / "post" / "index.html").read_text(encoding="utf-8")
    assert 'width="120" height="50%"' in page


def test_an_svg_with_an_absurd_width_is_shown_at_column_width(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (empty_project / "posts" / "big.svg").write_text(SVG_310_DIGITS, encoding="utf-8")
    _post_with(empty_project, "![A big one](big.svg)")
    result = cli("build", "-C", empty_project, "--week", WEEK)
    assert result.exit_code == 0, result.output
    html = (empty_project / "outbox" / WEEK / "message.html").read_text(encoding="utf-8")
    assert 'alt="A big one" width="536"' in html


def _template(project: Path, name: str, text: str) -> None:
    path = project / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "text", "where", "message", "found_by_check"),
    [
        (
            "site/post.html",
            '{% extends "default/site/post.html" %}\n{% block main %}\n{{ oops( }}\n{% endblock %}\n',
            "templates/site/post.html:3",
            "template syntax error: unexpected '}'",
            True,
        ),
        (
            "site/post.html",
            "<p>\n{% include 'nothere.html' %}\n",
            "templates/site/post.html:2",
            "template 'nothere.html' not found",
            True,
        ),
        (
            "site/index.html",
            "<p>\n{% extends 'missing/base.html' %}\n",
            "templates/site/index.html:2",
            "template 'missing/base.html' not found",
            True,
        ),
        (
            "site/post.html",
            "<p>\n{{ no_such_name }}\n",
            "templates/site/post.html:2",
            "'no_such_name' is undefined",
            False,
        ),
        (
            "email/digest.html",
            "<p>\n\n{{ posts[0].no_such_field }}\n",
            "templates/email/digest.html:3",
            "has no attribute 'no_such_field'",
            False,
        ),
        ("email/digest.html", "{{ 1 // 0 }}", "templates/email/digest.html:1", "ZeroDivisionError", False),
        ("site/post.html", b"\xff\xfe<p>".decode("latin-1"), "", "", None),
    ],
    ids=["syntax", "include-not-found", "extends-not-found", "undefined", "no-attribute", "raises", "not-utf8"],
)
def test_template_errors_name_the_template_file_and_line(  # type: ignore[no-untyped-def]
    empty_project: Path, cli, name: str, text: str, where: str, message: str, found_by_check: bool | None
) -> None:
    _post_with(empty_project, "Body.")
    if found_by_check is None:  # a file that is not UTF-8
        (empty_project / "templates" / "site").mkdir(parents=True)
        (empty_project / "templates" / name).write_bytes(b"<p>\xff\xfe</p>")
        where, message, found_by_check = f"templates/{name}:1", "not UTF-8 text", True
    else:
        _template(empty_project, name, text)
    checked = cli("check", "-C", empty_project)
    assert "internal error" not in checked.output and "Traceback" not in checked.output
    if found_by_check:
        assert checked.exit_code == 1
        assert f"{where}: {message}" in checked.stderr
    else:
        assert checked.exit_code == 0, checked.output
    built = cli("build", "-C", empty_project, "--week", WEEK)
    assert built.exit_code == 1
    assert f"{where}: " in built.stderr and message in built.stderr, built.stderr
    assert "internal error" not in built.output


@pytest.mark.parametrize(
    "expression",
    [
        "cycler.__init__.__globals__.os.system('touch PWNED')",
        "joiner.__init__.__globals__['os'].system('touch PWNED')",
        "self.__init__.__globals__.__builtins__['open']('PWNED', 'w')",
        "''.__class__.__mro__[1].__subclasses__()",
        "site.__class__.__init__.__globals__",
        "'{0.__class__}'.format(site)",
    ],
)
def test_project_templates_cannot_run_code(empty_project: Path, cli, expression: str) -> None:  # type: ignore[no-untyped-def]
    _post_with(empty_project, "Body.")
    target = str(empty_project / "PWNED")
    _template(empty_project, "site/post.html", "<p>\n{{ " + expression.replace("PWNED", target) + " }}\n")
    built = cli("build", "-C", empty_project, "--week", WEEK)
    assert built.exit_code == 1
    assert "templates/site/post.html:2: " in built.stderr
    assert not (empty_project / "PWNED").exists()


def test_the_sandbox_keeps_the_template_bytecode_cache(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("build", "-C", sample).exit_code == 0
    cached = list((sample / ".newsletter-cache" / "templates-sandboxed").iterdir())
    assert cached, "compiled templates are cached"
    assert cli("build", "-C", sample).exit_code == 0


def test_a_category_name_stays_text_in_the_category_feed(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    _post_with(empty_project, "Body.", 'categories: ["<img src=x onerror=alert(1)> & <b>Bold</b>"]\n')
    assert cli("feed", "-C", empty_project).exit_code == 0
    [feed] = (empty_project / "public" / "categories").glob("*.xml")
    description = etree.fromstring(feed.read_bytes()).findtext("channel/description")
    # Read as HTML (as readers do), it is the name as text: no element in it.
    assert description.startswith("Posts filed under &lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;Bold")
    assert "<" not in description


@pytest.mark.parametrize(
    "expression",
    ["post.images[0].source.unlink()", "post.images[0].source.write_text('x')", "post.categories.__len__()",
     "post.lines.clear()", "post.lines.update(title=1)"],
)  # fmt: skip
def test_templates_cannot_touch_files_or_change_what_they_are_given(empty_project: Path, cli, expression: str) -> None:  # type: ignore[no-untyped-def]
    image = empty_project / "posts" / "pic.svg"
    image.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', encoding="utf-8")
    _post_with(empty_project, "![A picture](pic.svg)")
    _template(empty_project, "site/post.html", "<p>\n{{ " + expression + " }}\n")
    built = cli("build", "-C", empty_project, "--week", WEEK)
    assert built.exit_code == 1
    assert "templates/site/post.html:2: " in built.stderr, built.output
    assert image.read_text(encoding="utf-8").startswith("<svg")


def test_files_beside_the_templates_are_not_checked_as_templates(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (empty_project / "templates").mkdir()
    (empty_project / "templates" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    _post_with(empty_project, "Body.")
    assert cli("check", "-C", empty_project).exit_code == 0
