"""The loader's fast paths give what the general ones give: front matter, slugs, dates.

Each fast path (newsletter.plainyaml for the usual front matter, the ASCII
slug, the usual date) is compared with the code it stands in for on inputs
made near the edges of what it takes; where it declines, the general code
runs, so only what it accepts has to match.
"""

from __future__ import annotations

import re
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from slugify import slugify

from newsletter import dates, frontmatter
from newsletter.slugs import make_slug

# Scalars as front matter holds them, and the near misses PyYAML reads otherwise.
ATOMS = [
    "Hello World", "Dr. Lena Brandt", "2023-11-17 07:15", "12", "-5", "0x1F", "1_000", "1:30", "3.5", ".inf",
    "true", "No", "on", "y", "null", "~", "=", "<<", "1 000", "null x", "0x1 F",
    "a: b", "a:b", "a:", "http://x.org/a?b=c#d", "C#", "a #b",
    "#c", "it's", "'it''s'", "'a\\b'", '"d"', '"a\\"b"', '"a: b # c"', '"x" y', "a, b", "[a]", "[a b, 'c', \"d\"]",
    "[]", "[ ]", "[a,]", "[1, yes, ~]", "[a, [b]]", "{a: b}", "&x a", "*x", "!!str 5", "|", ">", "%x", "@x",
    "`x`", "- a", "-a", "? x", "a  b", "a ", "\u00a0a", "café", "a\u2028b", "a\x85b", "a\tb", "\ufeffa", "1" * 5000,
]  # fmt: skip
USUAL = ["Hello World", "2023-11-17 07:15", "12", "true", "~", "'it''s'", '"a: b # c"', "[a b, 'c', \"d\"]", "café"]
KEYS = ["title", "Title", "tags", "cta", "text", "doi", "true", "null", "1", "a b", "-a", "<<", "x" * 101]
# Mostly what the fast path takes, often what it must leave.
scalar = st.one_of(st.sampled_from(USUAL), st.sampled_from(USUAL), st.sampled_from(ATOMS))
key = st.one_of(st.sampled_from(KEYS[:6]), st.sampled_from(KEYS[:6]), st.sampled_from(KEYS))
indent = st.sampled_from(["", " ", "  ", "    "])


@st.composite
def entry(draw: st.DrawFn) -> str:
    """One top-level key with a value: on its line, a block list, or a nested mapping."""
    name = draw(key)
    shape = draw(st.sampled_from(["scalar", "scalar", "empty", "list", "mapping"]))
    if shape == "scalar":
        return f"{name}: {draw(scalar)}"
    if shape == "empty":
        return f"{name}:{draw(st.sampled_from(['', ' ', ' # c']))}"
    lines = [f"{name}:"]
    at = draw(indent)
    for _ in range(draw(st.integers(0, 3))):
        if shape == "mapping":
            lines.append(f"{at or ' '}{draw(key)}: {draw(scalar)}")
        elif draw(st.booleans()):
            lines.append(f"{at}- {draw(scalar)}")
        else:
            lines.append(f"{at}- {draw(key)}: {draw(scalar)}")
            lines += [f"{at}{draw(st.sampled_from(['  ', '   ', ' ']))}{draw(key)}: {draw(scalar)}"] * draw(
                st.integers(0, 1)
            )
        lines += [draw(st.sampled_from(["", "# note", "  # note", "  more"]))] * draw(st.integers(0, 1))
    return "\n".join(lines)


def outcome(read: object, front: str) -> object:
    """(data, key lines) as comparable text, or the error."""
    try:
        data, lines = read(front, 2)  # type: ignore[operator]
    except frontmatter.FrontMatterError as exc:
        return (exc.line, exc.message)
    return repr(data), list(lines.items())


@given(st.lists(entry(), min_size=1, max_size=6))
def test_usual_front_matter_reads_as_pyyaml_reads_it(entries: list[str]) -> None:
    front = "\n".join(entries)
    fast = frontmatter._PLAIN.read(front, 2)
    if fast is None:
        event("left to PyYAML")
        return
    event("read directly")
    assert (repr(fast[0]), list(fast[1].items())) == outcome(frontmatter.parse_yaml, front)


@given(
    st.text(st.one_of(st.characters(max_codepoint=0x7F), st.sampled_from(["a", "\x85", "\u2028", "é"])), max_size=12)
)
def test_the_ascii_screen_is_the_pattern(front: str) -> None:
    from newsletter.plainyaml import _UNUSUAL, _usual_characters

    assert _usual_characters(front) == (_UNUSUAL.search(front) is None)


def test_the_unusual_characters_are_all_but_those_yaml_reads_on_one_line() -> None:
    from newsletter.plainyaml import _UNUSUAL

    # What PyYAML's reader accepts (yaml.reader.Reader.NON_PRINTABLE), less tab, CR, NEL, U+2028/U+2029, the BOM
    usual = re.compile("[\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
    every = "".join(map(chr, range(0x110000)))
    assert [m.start() for m in _UNUSUAL.finditer(every)] == [at for at, c in enumerate(every) if not usual.match(c)]


@pytest.mark.parametrize(
    ("front", "data"),
    [
        ("title: T\ndraft: true\nn: 0x1F\nx: ~", {"title": "T", "draft": True, "n": 31, "x": None}),
        ("title: 'it''s'\ntags: [a b, 'c''d', \"e: f\"]", {"title": "it's", "tags": ["a b", "c'd", "e: f"]}),
        ('title: "a: b # c"\nlang: fr  ', {"title": "a: b # c", "lang": "fr"}),
        ("references:\n- one\n- text: two\n  doi: 10.1/x\ncta:\n  url: https://x.org", None),
    ],
)
def test_usual_shapes_are_read_directly(front: str, data: dict | None) -> None:  # type: ignore[type-arg]
    fast = frontmatter._PLAIN.read(front, 2)
    assert fast is not None
    assert fast == frontmatter.parse_yaml(front, 2)
    if data is not None:
        assert fast[0] == data


@pytest.mark.parametrize(
    "front",
    ["title: Issue #5", "title: a\ttab", "a: &x 1\nb: *x", "title: A\ntitle: B", 'title: "a\\nb"', "title: a\n  b"],
)
def test_other_front_matter_is_left_to_pyyaml(front: str) -> None:
    assert frontmatter._PLAIN.read(front, 2) is None


@given(st.text(st.sampled_from("abcXYZ09 -_,.'&;#()[]:/!?\t\x01é–"), max_size=120))
def test_ascii_slugs_are_python_slugify_slugs(title: str) -> None:
    assert make_slug.__wrapped__(title) == slugify(title, max_length=80, word_boundary=True)


@given(
    st.integers(0, 10_000),
    st.integers(0, 13),
    st.integers(0, 32),
    st.one_of(st.none(), st.tuples(st.integers(0, 25), st.integers(0, 61), st.one_of(st.none(), st.integers(0, 61)))),
)
def test_usual_dates_are_read_as_timestamps_are(year: int, month: int, day: int, time: tuple | None) -> None:  # type: ignore[type-arg]
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if time is not None:
        text += f" {time[0]:02d}:{time[1]:02d}" + ("" if time[2] is None else f":{time[2]:02d}")
    tz = ZoneInfo("America/Chicago")
    try:
        read = dates.read_timestamp(text)
        expected = dates.parse_date(read, tz)
        expected.astimezone(UTC)
    except (ValueError, OverflowError):
        expected = None
    try:
        got = dates.parse_date(text, tz)
    except ValueError:
        got = None
    assert got == expected
    assert repr(got) == repr(expected)
