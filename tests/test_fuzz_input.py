"""Property tests: no input makes the loader, the importer or the settings parser crash.

Every outcome is a result or ``path:line: message`` errors (exit 1), with a
line inside the file, and nothing is written. How many inputs each test
tries comes from the hypothesis profile in conftest.py: "default" in every
run, "long" with HYPOTHESIS_PROFILE=long.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import html5lib
import yaml
from conftest import REPO, tree
from hypothesis import event, given
from hypothesis import strategies as st
from test_hostile import unsafe_parts
from typer.testing import CliRunner

from newsletter import frontmatter
from newsletter.cli import app
from newsletter.config import load_settings
from newsletter.errors import InputError, NewsletterError, Problems, SourceError
from newsletter.frontmatter import LINE_BREAKS
from newsletter.importers import run_import
from newsletter.importers.plaintext import ImportProblem, parse_plain
from newsletter.load import Project, load_project

ERROR_LINE = re.compile(r"^[^:\n]+:(\d+): [^\n]+$")
# One line for a kind of warning found in several places (newsletter.errors.group_warnings).
GROUPED_LINE = re.compile(r"^warning: [^\n]+ \((?:in \d+ files|\d+ times in \d+ files), e\.g\. [^\n]+\)$")
CHECK_COUNT = re.compile(r"^check: \d+ errors?, \d+ warnings?$")
SETTINGS = (REPO / "newsletter.toml").read_bytes()


@contextmanager
def project(posts: dict[str, bytes], settings: bytes = SETTINGS) -> Iterator[Path]:
    """A fresh project folder per example (tmp_path is shared by all examples of a test)."""
    folder = tempfile.mkdtemp(prefix="fuzz-")
    try:
        root = Path(folder) / "proj"
        (root / "posts").mkdir(parents=True)
        (root / "newsletter.toml").write_bytes(settings)
        for name, data in posts.items():
            (root / "posts" / name).write_bytes(data)
        yield root
    finally:
        shutil.rmtree(folder)


def line_count(data: bytes) -> int:
    """Lines as an editor shows them (LF, CRLF or CR)."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def assert_reported(problems: list[SourceError], files: dict[str, bytes]) -> None:
    """Each problem is one ``path:line: message`` line pointing into its file."""
    for problem in problems:
        text = str(problem)
        assert ERROR_LINE.match(text), text
        assert problem.path in files, (problem.path, list(files))
        assert 1 <= problem.line <= line_count(files[problem.path]) + 1, text


def load_or_report(root: Path, files: dict[str, bytes]) -> Project | None:
    """Load; on bad input check the messages. Either way nothing is written."""
    before = tree(root)
    try:
        loaded = load_project(root)
    except InputError as exc:
        assert exc.errors
        assert_reported(exc.errors + exc.warnings, files)
        event("error: " + re.sub(r"['\"(\d].*", "", exc.errors[0].message))  # --hypothesis-show-statistics
        loaded = None
    else:
        event(f"loaded {len(loaded.posts)} posts")
        assert_reported(loaded.warnings, files)
        for post in loaded.posts:
            assert not LINE_BREAKS.search(post.title)
            assert not any(LINE_BREAKS.search(name) for name in post.categories)
            assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", post.slug)  # its case kept (docs: slug)
            assert unsafe_parts(post.body_html) == [], post.body_html
            post.body_html.encode("utf-8")  # no lone surrogates
    assert tree(root) == before
    return loaded


def posts_files(posts: dict[str, bytes]) -> dict[str, bytes]:
    return {f"posts/{name}": data for name, data in posts.items()} | {"newsletter.toml": SETTINGS}


# Strategies ------------------------------------------------------------------

_MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
_FORMATS = [
    "%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S+05:30",
    "%Y-%m-%dT%H:%M:%S-0800", "%d/%m/%Y", "%B %d, %Y", "%Y%m%d", "%a, %d %b %Y %H:%M:%S +0000", "%Y-%m-%d %H",
    "%Y-%j", "%Y-W%V-%u", "%H:%M",
]  # fmt: skip
DATES = st.one_of(
    st.builds(lambda moment, fmt: moment.strftime(fmt), _MOMENTS, st.sampled_from(_FORMATS)),
    st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01", "2026-11-01 25:00", "now", "", " ", "2026-11-01z"]),
    st.sampled_from(["0001-01-01T00:00+05:00", "9999-12-31 23:59", "9999-12-31T23:59:59-12:00"]),
    st.integers(),
    st.text(max_size=30),
)
PRINTABLE = st.characters(blacklist_categories=("Cs", "Cc"))  # control characters come from the samples
TEXT = st.text(PRINTABLE, max_size=60) | st.sampled_from(
    ["a\nb", "a\rb", "a\u2028b", "x\x85y", "\t", "a\x00b", "\x1b[31m", "../../etc", "<b>x</b>", "x" * 300]
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT, DATES)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)
URLS = st.sampled_from(["https://example.org/x", "http://[oops", "javascript:alert(1)", "ftp://x", "", "//x.org"])
REFERENCE = st.one_of(
    TEXT,
    st.fixed_dictionaries({}, optional={"text": TEXT, "doi": TEXT | st.just("10.1000/xyz"), "url": URLS | TEXT}),
    VALUES,
)
SLUGS = st.sampled_from(["../../etc", "/abs", "a\x00b", "x" * 300, "ok-slug", "..", ".", "A B", ""]) | TEXT
GOOD_DATES = st.builds(
    lambda moment, fmt: moment.strftime(fmt),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2026, 11, 20)),
    st.sampled_from(["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S+01:00", "%Y-%m-%dT%H:%M:%SZ"]),
)
FRONT = st.fixed_dictionaries(
    {"title": st.text(PRINTABLE, min_size=1, max_size=60) | TEXT | VALUES, "date": GOOD_DATES | DATES | VALUES},
    optional={
        "updated": DATES,
        "author": TEXT | VALUES,
        "categories": st.lists(TEXT, max_size=4) | TEXT | VALUES,
        "tags": st.lists(TEXT, max_size=3) | VALUES,
        "summary": TEXT | VALUES,
        "slug": SLUGS | VALUES,
        "draft": st.booleans() | VALUES,
        "references": st.lists(REFERENCE, max_size=6) | REFERENCE,
        "cta": st.fixed_dictionaries({}, optional={"text": TEXT, "label": TEXT, "url": URLS}) | VALUES,
    },
) | st.dictionaries(TEXT, VALUES, max_size=5)
MARKDOWN_BITS = [
    "[1]", "[2]", "[3]", "[9999]", "[0]", "[x]", "*", "**", "_", "`", "```\n", "~~~\n", "> ", "- ", "1. ", "# ",
    "\n", "\n\n", "    ", "|a|b|\n|-|-|\n", "[a](https://example.org/)", "[j](javascript:alert(1))", "![i](none.png)",
    "![i](/abs.png)", "[up](../../../etc/passwd)", "<div>", "</div>", "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "&#1;", "&#0;", "&amp;", "<a href='http://[x'>l</a>", "<!--", "-->", "\\",
    "<https://example.org>", "word ", "é", "\u2028", "\t", "<br/>", "<p>", "[r]: https://x.org\n", "[r]",
    "<span\ntitle='x'>", "</span>", "<a href='%00'>n</a>", "<a href='" + "a" * 300 + "'>long</a>",
]  # fmt: skip
BODY = st.lists(st.sampled_from(MARKDOWN_BITS) | st.text(PRINTABLE, max_size=12), max_size=40).map("".join)
YAMLISH = st.text(
    alphabet=st.sampled_from(list("-:[]{}&*!|>'\"#%@,?` \n\tabc019.\\") + ["\u2028", "\x85"]), max_size=200
)


def _dump(data: dict) -> str:  # type: ignore[type-arg]
    return yaml.safe_dump(data, allow_unicode=True, default_flow_style=None, sort_keys=False)


def _newlines(text: str, endings: list[str]) -> str:
    """``text`` with its line ends taken in turn from ``endings`` (never a CR, then an empty line's LF)."""
    out = []
    for i, line in enumerate(text.split("\n")[:-1]):
        ending = endings[i % len(endings)]
        out.append(line + ("\r" if not line and ending == "\n" and out and out[-1].endswith("\r") else ending))
    return "".join(out) + text.split("\n")[-1]


# The loader ------------------------------------------------------------------


@given(FRONT, BODY)
def test_structured_front_matter(front: dict, body: str) -> None:  # type: ignore[type-arg]
    posts = {"p.md": ("---\n" + _dump(front) + "---\n" + body).encode("utf-8", "surrogatepass")}
    with project(posts) as root:
        load_or_report(root, posts_files(posts))


@given(YAMLISH, BODY)
def test_yaml_like_text(front: str, body: str) -> None:
    posts = {"p.md": f"---\ntitle: T\ndate: 2026-11-02\n{front}\n---\n{body}".encode()}
    with project(posts) as root:
        load_or_report(root, posts_files(posts))


class _Reference(yaml.SafeLoader):
    """PyYAML's own safe loader, as ours is configured: no implicit timestamps."""


_Reference.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _same_as_pyyaml(front: str) -> None:
    """Our quicker tag resolution and construction give PyYAML's data, or an error where it fails."""
    try:
        expected = yaml.load(front, Loader=_Reference)  # noqa: S506 - a safe loader
    except Exception:  # noqa: BLE001 - whatever PyYAML refuses, we must refuse too
        expected = ValueError
    try:
        got = frontmatter.parse(front, 2)[0]
    except frontmatter.FrontMatterError:
        got = ValueError
    if expected is ValueError or not isinstance(expected, dict):
        event("pyyaml refuses it or it is no mapping")
        assert got is ValueError or expected is None or not isinstance(expected, dict) or got == expected
        return
    if got is ValueError and _refused_on_purpose(expected, front):
        event("we refuse it on purpose")
        return
    event("pyyaml reads a mapping")
    assert got == expected or repr(got) == repr(expected)  # repr: nan != nan


def _refused_on_purpose(data: object, front: str, depth: int = 0) -> bool:
    """Control characters in a value, aliases, nesting deeper than frontmatter.MAX_DEPTH."""
    if depth == 0 and ("&" in front or "*" in front):
        return True
    if depth > frontmatter.MAX_DEPTH:
        return True
    if isinstance(data, str):
        return bool(frontmatter.CONTROL_CHARS.search(data))
    if isinstance(data, dict):
        return any(
            _refused_on_purpose(v, front, depth + 1) or _refused_on_purpose(k, front, depth + 1)
            for k, v in data.items()
        )
    if isinstance(data, list):
        return any(_refused_on_purpose(v, front, depth + 1) for v in data)
    return False


@given(FRONT)
def test_front_matter_reads_as_pyyaml_reads_it(front: dict) -> None:  # type: ignore[type-arg]
    _same_as_pyyaml(_dump(front))


@given(YAMLISH)
def test_yaml_like_text_reads_as_pyyaml_reads_it(front: str) -> None:
    _same_as_pyyaml("title: T\n" + front)


@given(
    st.integers(0, 4),
    BODY.map(lambda body: body.replace("\r", "")),
    st.sampled_from(["", "\ufeff"]),
    st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=3),
)
def test_markdown_bodies_and_line_endings(references: int, body: str, bom: str, endings: list[str]) -> None:
    refs = "".join(f"  - Reference {n}.\n" for n in range(1, references + 1))
    text = f"---\ntitle: Body\ndate: 2026-11-02 10:00\nreferences:\n{refs}---\n{body}"
    posts = {"a.md": (bom + _newlines(text, endings)).encode()}
    with project(posts) as root:
        mixed = load_or_report(root, posts_files(posts))
    plain = {"a.md": text.replace("\r\n", "\n").replace("\r", "\n").encode()}
    with project(plain) as root:
        unix = load_or_report(root, posts_files(plain))
    # CRLF, CR, a BOM: the same post as with LF.
    assert (mixed is None) == (unix is None)
    if mixed and unix:
        assert mixed.posts[0].body_html == unix.posts[0].body_html


@given(
    st.binary(max_size=600),
    st.sampled_from([b"", b"---\n", b"\xef\xbb\xbf---\n", b"---\r\ntitle: T\r\ndate: 2026-11-02\r\n"]),
    st.sampled_from([b"", b"\x00", b"\r", b"\n---\n", b"\xff", b"\xc3"]),
)
def test_random_bytes(data: bytes, prefix: bytes, suffix: bytes) -> None:
    posts = {"r.md": prefix + data + suffix}
    with project(posts) as root:
        load_or_report(root, posts_files(posts))


@given(st.sampled_from(MARKDOWN_BITS + ["[", "<div>", "*a", "a\n"]), st.integers(100, 3000))
def test_repeated_fragments(bit: str, times: int) -> None:
    body = (bit * times)[:100_000]
    posts = {"big.md": f"---\ntitle: Big\ndate: 2026-11-02\nreferences: [a, b, c]\n---\n{body}".encode()}
    with project(posts) as root:
        load_or_report(root, posts_files(posts))


# The settings ------------------------------------------------------------------

KNOWN = {
    "site": ["title", "url", "description", "author", "author_email", "language", "timezone", "post_url", "logo"],
    "email": ["from", "to", "reply_to", "list_id", "postal_address", "unsubscribe_url", "unsubscribe_mailto", "subject"],
    "digest": ["order", "full_posts", "size_budget"],
    "feed": ["limit", "categories"],
    "cta": ["text", "label", "url"],
}  # fmt: skip
SETTING_SAMPLES = [
    "https://example.org/", "http://[oops", "https://x.org/{slug}/", "{slug}", "{title} {nope}", "{", "a@b.org",
    "A <a@b.org>", "a\r\nBcc: x@y.org", "Europe/Berlin", "../../etc/passwd", "x" * 5000, "mailto:a@b.org", "oldest",
    "en-GB", "{title:>99}", "{slug.__class__}",
]  # fmt: skip
SETTING_TEXT = st.text(max_size=40) | st.sampled_from(SETTING_SAMPLES)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _toml_containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)


TOML_VALUES = st.recursive(
    SETTING_TEXT | st.integers(-(2**70), 2**70) | st.booleans() | st.floats(), _toml_containers, max_leaves=6
)
SECTION_NAMES = st.sampled_from([*KNOWN, "extra"])


@st.composite
def toml_documents(draw: st.DrawFn) -> bytes:
    lines = []
    for section in draw(st.lists(SECTION_NAMES, max_size=5)):
        lines.append(f"[{section}]")
        keys = draw(st.lists(st.sampled_from(KNOWN.get(section, ["x"])) | st.text(max_size=6), max_size=5, unique=True))
        lines += [f"{json.dumps(key, ensure_ascii=False)} = {_toml_value(draw(TOML_VALUES))}" for key in keys]
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):  # damage it somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=5)) + text[at + draw(st.integers(0, 3)) :]
    return text.encode("utf-8", "surrogatepass")


def _settings_outcome(data: bytes) -> None:
    with project({}, settings=data) as root:
        before = tree(root)
        problems = Problems(root=root)
        settings = load_settings(root, problems)
        assert_reported(problems.items, {"newsletter.toml": data})
        assert tree(root) == before
        event(f"settings: {len(problems.errors)} errors" if problems.errors else "settings loaded")
        if problems.errors:
            return
        # Settings that load are usable: nothing below may raise.
        assert settings.site.tz is not None and settings.site.domain and settings.list_id
        settings.email.subject.format(title="T", period="P", week="W", first="F")
        if settings.site.post_url:
            assert settings.site.post_url.format(slug="a-post").startswith(("http://", "https://"))
        for value in (settings.site.title, settings.email.sender, settings.email.to, settings.email.reply_to,
                      settings.email.subject, settings.list_id, settings.email.unsubscribe_url):  # fmt: skip
            assert not LINE_BREAKS.search(value)


@given(toml_documents())
def test_settings_documents(data: bytes) -> None:
    _settings_outcome(data)


@given(
    st.binary(max_size=300)
    | st.text(alphabet=st.sampled_from(list("[]{}=\"'#.,\n\\ atrue019")), max_size=200).map(str.encode)
)
def test_settings_random_text(data: bytes) -> None:
    _settings_outcome(data)


@given(st.integers(0, len(SETTINGS)), st.binary(max_size=8), st.integers(0, 4))
def test_settings_sample_damaged(at: int, insert: bytes, cut: int) -> None:
    _settings_outcome(SETTINGS[:at] + insert + SETTINGS[at + cut :])


# The importer ------------------------------------------------------------------

PLAIN_SAMPLES = [
    "", "Posted and filed under A, B and C.", "filed under .", "References:", "Reference: Smith (2020).",
    "Doe, J. (2021). Title. J, 1(2), 3-4.", "https://example.org/x", "10.1000/xyz", "Call us today!", "# heading",
    "- item", "1. one", "---", "...", "[1]", "[7]", "<script>alert(1)</script>", "~~~", "&copy;", "\t", "\u2028",
]  # fmt: skip
PLAIN_LINES = st.text(max_size=50) | st.sampled_from(PLAIN_SAMPLES)
PLAIN = st.lists(PLAIN_LINES, max_size=25).map("\n".join)


@given(PLAIN)
def test_parse_plain(text: str) -> None:
    try:
        post = parse_plain(text)
    except ImportProblem as exc:
        assert 1 <= exc.line <= line_count(text.encode()) + 1 and "\n" not in exc.message
        return
    assert post.title and post.paragraphs


@given(
    PLAIN.map(str.encode) | st.binary(max_size=400),
    st.sampled_from([b"", b"\xef\xbb\xbf"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.sampled_from(["2026-11-02", "2026-11-02 09:30", "someday", "2026-02-30", "0001-01-01T00:00+05:00"]),
)
def test_run_import(data: bytes, bom: bytes, ending: str, when: str) -> None:
    data = bom + data.replace(b"\n", ending.encode())
    with project({}) as root:
        source = root.parent / "in.txt"
        source.write_bytes(data)
        before = tree(root)
        try:
            written = run_import(root, [source], when).written
        except InputError as exc:
            event("import error: " + re.sub(r"['\"(\d].*", "", exc.errors[0].message))
            assert_reported(exc.errors, {source.as_posix(): data})
            assert tree(root) == before
            return
        except NewsletterError as exc:  # bad usage: the --date
            assert exc.exit_code == 2 and tree(root) == before
            return
        assert [p.parent for p in written] == [root / "posts"]
        # Whatever the importer writes, the loader reads without crashing.
        load_or_report(root, {f"posts/{written[0].name}": written[0].read_bytes(), "newsletter.toml": SETTINGS})


# The command line ----------------------------------------------------------------


@given(
    st.dictionaries(
        st.sampled_from(["a.md", "b.md", "sub/c.md"]),
        st.binary(max_size=200) | FRONT.map(lambda f: ("---\n" + _dump(f) + "---\nx [1]\n").encode()),
        max_size=3,
    ),
    toml_documents() | st.just(SETTINGS),
)
def test_cli_never_shows_a_traceback(posts: dict[str, bytes], settings: bytes) -> None:
    runner = CliRunner()
    with project({}, settings=settings) as root:
        for name, data in posts.items():
            (root / "posts" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "posts" / name).write_bytes(data)
        source = root.parent / "in.txt"
        source.write_bytes(next(iter(posts.values()), b""))
        before = tree(root)
        for args in (["check", "-C", str(root)], ["import", str(source), "--date", "2026-11-02", "-C", str(root)]):
            result = runner.invoke(app, args)
            assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
            assert result.exit_code in (0, 1, 2), result.output
            assert "Traceback" not in result.output and "internal error" not in result.output
            if result.exit_code == 1:
                lines = result.stderr.strip().splitlines()
                last = CHECK_COUNT if args[0] == "check" else re.compile(r".*nothing was written\.$")
                assert last.match(lines[-1]), lines
                assert all(ERROR_LINE.match(line) or GROUPED_LINE.match(line) for line in lines[:-1]), lines
            if args[0] == "check":
                assert tree(root) == before


def _text_of(html: str) -> str:
    return " ".join("".join(html5lib.parseFragment(html, namespaceHTMLElements=False).itertext()).split())


@given(st.lists(PLAIN_LINES.filter(lambda line: "\t" not in line), min_size=3, max_size=25).map("\n".join))
def test_imported_text_survives(text: str) -> None:
    """What the importer accepts loads, and the body says what the plain text said."""
    with project({}) as root:
        source = root.parent / "in.txt"
        source.write_text(text, encoding="utf-8")
        try:
            (written,) = run_import(root, [source], "2026-11-02").written
        except InputError:
            return
        loaded = load_or_report(root, {f"posts/{written.name}": written.read_bytes(), "newsletter.toml": SETTINGS})
        assert loaded is not None, written.read_text(encoding="utf-8")
        expected = " ".join(" ".join(parse_plain(text).paragraphs).split())
        assert _text_of(loaded.posts[0].body_html) == expected


def test_the_installed_command_reports_instead_of_crashing(tmp_path: Path) -> None:
    """The real entry point, run in the project folder, on a mix of broken files."""
    root = tmp_path / "proj"
    (root / "posts").mkdir(parents=True)
    (root / "newsletter.toml").write_bytes(SETTINGS)
    broken = {
        "nul.md": b"---\ntitle: N\x00\n---\n",
        "yaml.md": b"---\ntitle: [\n---\n",
        "tag.md": b"---\ntitle: T\ndate: !!timestamp x\n---\n",
        "deep.md": b"---\ntitle: D\ndate: 2026-11-02\n---\n" + b"<div>" * 20_000,
        "ipv6.md": b"---\ntitle: I\ndate: 2026-11-02\nreferences: [{text: r, url: 'http://[x'}]\n---\n[1]\n",
    }
    for name, data in broken.items():
        (root / "posts" / name).write_bytes(data)
    (root / "posts" / "loop.md").symlink_to(root / "posts" / "loop.md")
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "check", "-C", "."], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    *errors, summary = result.stderr.splitlines()
    assert summary == "check: 6 errors, 0 warnings", result.stderr  # check ends with its count
    assert all(ERROR_LINE.match(line) for line in errors), result.stderr
    assert "posts/loop.md:1: symbolic link loop" in errors


def _split_by_lines(text: str) -> tuple[str, int, str, int]:
    """The plain way to split a post file: line by line."""
    lines = text.split("\n")
    if not re.match(r"^---[ \t]*$", lines[0]):
        raise frontmatter.FrontMatterError(1, "no front matter")
    for index in range(1, len(lines)):
        if re.match(r"^(?:---|\.\.\.)[ \t]*$", lines[index]):
            return "\n".join(lines[1:index]), 2, "\n".join(lines[index + 1 :]), index + 2
    raise frontmatter.FrontMatterError(1, "not closed")


@given(st.text(alphabet=st.sampled_from(list("-.\n \tab:")), max_size=60))
def test_split_finds_what_a_line_by_line_reading_finds(text: str) -> None:
    try:
        expected: object = _split_by_lines(text)
    except frontmatter.FrontMatterError:
        expected = ValueError
    try:
        got: object = frontmatter.split(text)
    except frontmatter.FrontMatterError:
        got = ValueError
    assert got == expected
