"""Property test (issue 17): generated Markdown structures never hang or break the digest and the feeds.

Deep nesting of quotes, lists, emphasis, tables and raw HTML, mixed: each
input is loaded, then rendered into the digest (HTML, text, .eml), the
feeds and its web page, within a time bound per input. Either it renders
(and the message reads back as a sound digest), or it is refused as
``path:line: message`` (deeper than markdown.MAX_NESTING, say); never a
hang, a traceback or a text line past the wrap width.

The default run tries a quarter of the profile's examples (conftest.py);
HYPOTHESIS_PROFILE=long (CI) tries twenty times more. The number of inputs
and the slowest one are printed at the end of the module (``-s`` or a
serial run shows them).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO
from eml_judge import judge_digest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_hardening_content import time_bound

from newsletter.errors import InputError
from newsletter.load import load_project
from newsletter.render.email import render_digest
from newsletter.render.email_text import WIDTH
from newsletter.render.feeds import render_feeds
from newsletter.render.site import render_post_pages
from newsletter.weeks import parse_week

BOUND = 10.0  # seconds per input; a single post renders in well under one
FRONT = "---\ntitle: Generated\ndate: 2026-11-17 09:00\ncategories: [Fuzz]\nreferences: [One., Two.]\n---\n"
TIMES: list[float] = []

WORDS = st.sampled_from(
    ["word", "Ünïcödé", "[1]", "[2]", "a&b", "x<y", "`code`", "https://example.org/a-long-path", "—", "٣ عربي", "😀"]
)
TAGS = ["em", "strong", "span", "sup", "code", "s", "mark", 'a href="https://example.org/"', 'sup class="cite"']
BLOCK_TAGS = ["blockquote", "div", "ul><li", "ol><li", "table><tr><td", "figure", "details", "dl><dd"]


def _wrap_tag(tag: str, inner: str) -> str:
    closing = "".join(f"</{t.split()[0]}>" for t in reversed(tag.split("><")))
    return f"<{tag}>{inner}{closing}"


inline = st.recursive(
    st.lists(WORDS, min_size=1, max_size=4).map(" ".join),
    lambda children: st.one_of(
        st.tuples(st.sampled_from(["*", "**", "_", "~~", "***"]), children).map(lambda t: f"{t[0]}{t[1]}{t[0]}"),
        st.tuples(children, children).map(" ".join),
        children.map(lambda text: f"[{text}](https://example.org/)"),
        st.tuples(st.sampled_from(TAGS), children).map(lambda t: _wrap_tag(t[0], t[1])),
    ),
    max_leaves=12,
)


def _quote(lines: list[str]) -> list[str]:
    return ["> " + line if line else ">" for line in lines]


def _item(marker: str, lines: list[str]) -> list[str]:
    pad = " " * len(marker)
    return [marker + lines[0], *(pad + line if line else "" for line in lines[1:])]


def _table(cells: list[str]) -> list[str]:
    row = "| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |"
    return [row, "|" + "---|" * len(cells), row]


def _raw(tag: str, lines: list[str]) -> list[str]:
    return ["", _wrap_tag(tag, "\n\n" + "\n".join(lines) + "\n\n"), ""]


def _deep(kind: str, depth: int, text: str) -> list[str]:
    if kind == "quote":
        return ["> " * depth + text]
    if kind == "list":
        return ["  " * level + f"- {text}" for level in range(depth)]
    if kind == "ordered":
        return ["   " * level + f"1. {text}" for level in range(depth)]
    if kind == "emphasis":
        return ["*" * depth + text + "*" * depth]
    return ["".join(f"<{kind}>" for _ in range(depth)) + text + f"</{kind}>" * depth]


blocks = st.recursive(
    st.one_of(
        inline.map(lambda text: [text]),
        st.lists(inline, min_size=1, max_size=4).map(_table),
        st.tuples(st.sampled_from(["#", "##", "######"]), inline).map(lambda t: [f"{t[0]} {t[1]}"]),
        st.just(["```", "code <b>not html</b>", "```"]),
        st.tuples(
            st.sampled_from(["quote", "list", "ordered", "emphasis", "blockquote", "div", "em", "span"]),
            st.integers(1, 130),
            inline,
        ).map(lambda t: _deep(*t)),
    ),
    lambda children: st.one_of(
        children.map(_quote),
        st.tuples(st.sampled_from(["- ", "1. ", "* ", "10. "]), children).map(lambda t: _item(*t)),
        st.lists(children, min_size=1, max_size=3).map(lambda parts: [line for part in parts for line in [*part, ""]]),
        st.tuples(st.sampled_from(BLOCK_TAGS), children).map(lambda t: _raw(*t)),
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many inputs ran and the slowest one (the figure issue 17 asks for)."""
    yield
    if TIMES:
        line = f"generated Markdown structures: {len(TIMES)} inputs, slowest {max(TIMES):.2f} s (bound {BOUND:.0f} s)"
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)
        print(line)


@settings(
    max_examples=max(10, settings().max_examples // 4),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(st.lists(blocks, min_size=1, max_size=4))
def test_generated_structures_render_within_the_bound(parts: list[list[str]]) -> None:
    body = "\n\n".join("\n".join(lines) for lines in parts) + "\n"
    folder = Path(tempfile.mkdtemp(prefix="structures-"))
    try:
        root = folder / "proj"
        (root / "posts").mkdir(parents=True)
        shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
        (root / "posts" / "generated.md").write_text(FRONT + body, encoding="utf-8")
        lines = (FRONT + body).count("\n") + 1
        started = time.perf_counter()
        with time_bound(BOUND):
            try:
                project = load_project(root, jobs=1)
            except InputError as exc:
                for error in exc.errors:
                    assert error.path == "posts/generated.md" and 1 <= error.line <= lines, str(error)
                event("refused: " + re.sub(r"\d+", "N", exc.errors[0].message.split(" (")[0]))
                project = None
            if project is not None:
                week = parse_week("2026-W47", project.settings.site.tz)
                digest = render_digest(project, week, project.published)
                feeds = render_feeds(project)
                pages = dict(render_post_pages(project, project.published))
                event("rendered")
        TIMES.append(time.perf_counter() - started)
        if project is not None:
            judge_digest(digest.eml, digest.subject)
            assert all(len(line) <= WIDTH or "://" in line for line in digest.text.splitlines()), digest.text
            assert "feed.xml" in feeds and len(pages) == 1
    finally:
        shutil.rmtree(folder)
