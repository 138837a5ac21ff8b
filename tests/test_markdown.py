"""Markdown rendering: CommonMark, tables, citation markers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.markdown import marker_line, render_markdown, rewrite_citations, summarize
from newsletter.summaries import first_paragraph, single_spaced


def keep(tag: str, attribute: str, value: str) -> str:
    return value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hello *you*", "<p>Hello <em>you</em></p>\n"),
        ("See [1].", '<p>See <sup class="cite"><a href="#ref-1">[1]</a></sup>.</p>\n'),
        ("Code `[1]` stays", "<p>Code <code>[1]</code> stays</p>\n"),
        ("A [link](https://x.example/) [2](https://y.example/)", None),
        ("[0] and [x] stay text", "<p>[0] and [x] stay text</p>\n"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", None),
    ],
)
def test_render(source: str, expected: str | None) -> None:
    html = render_markdown(source, keep).html
    if expected is not None:
        assert html == expected
    if "link" in source:
        assert '<a href="https://y.example/">2</a>' in html
    if "|" in source:
        assert "<table>" in html and "<td>1</td>" in html


def test_citation_lines() -> None:
    source = "One.\n\nTwo [1]\nthree [2] `[3]` [4](https://x.example/).\n"
    body = render_markdown(source, keep)
    assert body.citations == [1, 2]
    assert [marker_line(source, n) for n in (1, 2)] == [2, 3]


def test_rewrite_citations() -> None:
    html = render_markdown("a [1] b [2]", keep).html
    out = rewrite_citations(html, lambda n: (f"#r{n + 10}", n + 10))
    assert '<a href="#r11">[11]</a>' in out and '<a href="#r12">[12]</a>' in out


def test_summarize() -> None:
    assert summarize("word " * 100, 30) == "word word word word word word…"
    assert summarize("Short [1].") == "Short."


def _summarize_plainly(text: str, limit: int = 280) -> str:
    """summarize() as first written: whitespace patterns over the raw text."""
    import re

    text = re.sub(r"\s*\[[1-9][0-9]*\]", "", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-–—") + "…"


@given(
    st.lists(
        st.sampled_from(["a", "word", " ", "  ", "\n", "\t", "[1]", "[23]", "[0]", "[", "]", ".", ",", "!", "\u00a0"]),
        max_size=30,
    ).map("".join)
)
def test_summarize_as_first_written(text: str) -> None:
    assert summarize(text) == _summarize_plainly(text)
    assert summarize(text, 8) == _summarize_plainly(text, 8)


@given(st.lists(st.sampled_from(["[", "]", "[1]", "1", "0", "12345", "x", "[[", "]]"]), max_size=20).map("".join))
def test_marker_hits_are_what_the_pattern_finds(text: str) -> None:
    from newsletter.markdown import _MARKER, _marker_hits

    assert [m.span() for m in _marker_hits(text)] == [m.span() for m in _MARKER.finditer(text)]


# Every character str.split() splits at (and some it does not), with words and plain spaces.
_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()] + ["\u200b", "\ufeff", "\x00", "a", "bc", " ", " "]


@given(st.lists(st.sampled_from(_SPACES), max_size=12).map("".join))
def test_single_spaced_is_split_and_joined(text: str) -> None:
    assert single_spaced(text) == " ".join(text.split())


@given(
    st.lists(
        st.sampled_from(["a", "word", " ", "  ", "\n", "<em>", "</em>", "&amp;", "&nbsp;", "&#10;", "[1]", "."]),
        max_size=20,
    ).map("".join)
)
def test_first_paragraph_as_first_written(inner: str) -> None:
    import html
    import re

    html_text = f"<h2>x</h2>\n<p>{inner}</p>\n<p>next</p>"
    expected = html.unescape(" ".join(re.sub(r"<[^>]*>", "", inner).split()))
    assert first_paragraph(html_text) == expected


@given(
    st.lists(
        st.sampled_from(["a", "word", " ", "  ", "\n", "<em>", "</em>", "&amp;", "&nbsp;", "&#32;", "[1]", ".", " ,"]),
        max_size=60,
    ).map("".join),
    st.sampled_from([8, 30, 280]),
)
def test_summary_of_is_the_summary_of_the_first_paragraph(inner: str, limit: int) -> None:
    from newsletter.summaries import summary_of

    html_text = f"<h2>x</h2>\n<p>{inner}</p>\n<p>next</p>"
    assert summary_of(html_text, limit) == summarize(first_paragraph(html_text), limit)


def _plain_as_first_written(text: str, resolve, citations: bool) -> tuple[str, list[int]]:  # type: ignore[no-untyped-def]
    """The plain path as first written: markers, then every href and src, then " />", each a pass of its own."""
    import html as html_module
    import re

    from newsletter.markdown import _binding, _cmark, _footnotes, _markers

    raw, found = _markers(_footnotes(_cmark(text, _binding()[4])), citations)

    def fix(m: re.Match[str]) -> str:
        written = m.group(4)
        if not written:
            return m.group(1)
        value = resolve(m.group(2), m.group(3), html_module.unescape(written))
        if value is None:
            return m.group(1)
        return f'{m.group(1)}{m.group(3)}="{html_module.escape(value)}"'

    html = re.sub(r'(<(a|img) [^>]*?)(href|src)="([^"]*)"', fix, raw).replace(" />", ">")
    return html, found


_PLAIN_PIECES = [
    "a", " ", "\n", "\n\n", "[1]", "[2]", "[12]", "[0]", "[", "]", "(", ")", "![", "](", "`", "```\n", "    ", "*", "_",
    "~~", "> ", "- ", "1. ", "[^1]", "[^1]: note", "https://e.example/a", "(https://e.example/x \"t [1]\")", "&amp;",
    "&quot;", "\"", "'", "---", "  \n", "\\\n", "| a |\n|---|", "javascript:x", "#h", "/root", "p.png", "a&b",
    "[a](#ref-1)", "[1](u)", "![i [1]](p.png \"t\")", "~",
]  # fmt: skip


@given(st.lists(st.sampled_from(_PLAIN_PIECES), max_size=25).map("".join), st.booleans())
def test_plain_path_as_first_written(text: str, citations: bool) -> None:
    """One pass over cmark's HTML gives what the three passes it replaced gave (addresses kept, changed, dropped)."""
    from newsletter.markdown import _render_plain_markdown

    def resolve(tag: str, attribute: str, value: str) -> str | None:
        if value.endswith(".png") or value == "#h":
            return None if value.startswith("!") else f'https://site.example/{value}?a=1&b="2"'
        return None if "javascript" in value or value == "u" else value

    body = _render_plain_markdown(text, resolve, citations)
    assert (body.html, body.citations) == _plain_as_first_written(text, resolve, citations)


def test_rendering_gives_its_memory_back() -> None:
    """cmarkgfm's bindings leave each body's syntax tree and HTML allocated (about 20 KB each): we free them."""
    import subprocess
    import sys

    code = (
        "import resource\n"
        "from newsletter.markdown import render_markdown\n"
        "body = ('Some *text* with a [link](https://example.org) [1].\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n\\n' * 20)\n"
        "keep = lambda tag, attribute, value: value\n"
        "render_markdown(body, keep)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "for _ in range(3000):\n"
        "    render_markdown(body, keep)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) < 10_000, f"{int(done.stdout) // 1024} MB more after 3,000 bodies"
