"""The loader: every error kind as path:line: message, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tree, write_post

from newsletter.errors import InputError
from newsletter.load import load_project

GOOD = "---\ntitle: Good post\ndate: 2026-11-02 10:00\n---\nBody.\n"

BROKEN = [
    ("nofm.md", "Just text\n", "posts/nofm.md:1: no front matter: the file must start with a '---' line"),
    ("unclosed.md", "---\ntitle: x\n", "posts/unclosed.md:1: front matter is not closed: add a '---' line after it"),
    ("yaml.md", "---\ntitle: ok\ndate: 2026-11-01\ncategories: [a\n---\nx\n", "posts/yaml.md:4: invalid YAML"),
    ("notitle.md", "---\ndate: 2026-11-01\n---\nx\n", "posts/notitle.md:2: missing title"),
    ("nodate.md", "---\ntitle: No date\n---\nx\n", "posts/nodate.md:2: missing date"),
    ("baddate.md", "---\ntitle: Bad date\ndate: 18/11/2026\n---\nx\n", "posts/baddate.md:3: cannot read date"),
    (
        "reftext.md",
        "---\ntitle: Ref\ndate: 2026-11-01\nreferences:\n  - ok\n  - doi: 10.1000/x\n---\nx [1]\n",
        "posts/reftext.md:6: reference 2 has no text",
    ),
    (
        "marker.md",
        "---\ntitle: Marker\ndate: 2026-11-01\nreferences: [one]\n---\nFirst.\n\nSee [1] and [3].\n",
        "posts/marker.md:8: citation [3] has no reference (the post has 1)",
    ),
    (
        "image.md",
        "---\ntitle: Img\ndate: 2026-11-01\n---\n\n![a](images/none.png)\n",
        "posts/image.md:6: image not found",
    ),
    (
        "dup.md",
        "---\ntitle: Good post\ndate: 2026-11-03\n---\nx\n",
        "posts/good.md:2: duplicate slug 'good-post' (also used by posts/dup.md)",
    ),
    ("alias.md", "---\ntitle: &a A\ndate: 2026-11-01\nsummary: *a\n---\nx\n", "posts/alias.md:4: YAML aliases"),
]


def test_every_problem_at_once_and_nothing_written(empty_project: Path) -> None:
    write_post(empty_project, "good.md", GOOD)
    for name, text, _ in BROKEN:
        write_post(empty_project, name, text)
    (empty_project / "posts" / "latin1.md").write_bytes(b"---\ntitle: caf\xe9\ndate: 2026-11-01\n---\nx\n")
    before = tree(empty_project)
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    messages = [str(e) for e in info.value.errors]
    for _, _, expected in BROKEN:
        assert any(m.startswith(expected) for m in messages), (expected, messages)
    assert "posts/latin1.md:2: not UTF-8 text (save the file as UTF-8)" in messages
    assert len(messages) == len(BROKEN) + 1
    assert tree(empty_project) == before


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_error_alone(empty_project: Path, name: str, text: str, expected: str) -> None:
    if name == "dup.md":
        write_post(empty_project, "good.md", GOOD)
    write_post(empty_project, name, text)
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors][0].startswith(expected)


def test_unknown_key_is_a_warning(empty_project: Path) -> None:
    write_post(empty_project, "w.md", "---\ntitle: W\ndate: 2026-11-01\ncolour: red\n---\nx\n")
    project = load_project(empty_project)
    assert [str(w) for w in project.warnings] == ["posts/w.md:4: warning: unknown front-matter key 'colour' is ignored"]


def test_bom_and_crlf_are_tolerated(empty_project: Path) -> None:
    (empty_project / "posts" / "win.md").write_bytes(
        "\ufeff---\r\ntitle: Windows\r\ndate: 2026-11-01\r\n---\r\nLine one\r\n".encode()
    )
    (post,) = load_project(empty_project).posts
    assert post.title == "Windows"
    assert post.body_html == "<p>Line one</p>\n"


def test_dates_drafts_and_future_posts(empty_project: Path) -> None:
    write_post(empty_project, "a.md", "---\ntitle: Local\ndate: 2026-11-18 09:30\n---\nx\n")
    write_post(empty_project, "b.md", "---\ntitle: Offset\ndate: 2026-11-18T09:30:00+01:00\n---\nx\n")
    write_post(empty_project, "c.md", "---\ntitle: Draft\ndate: 2026-11-01\ndraft: true\n---\nx\n")
    write_post(empty_project, "d.md", "---\ntitle: Future\ndate: 2027-01-01\n---\nx\n")
    project = load_project(empty_project)
    by_title = {p.title: p for p in project.posts}
    assert by_title["Local"].date.isoformat() == "2026-11-18T09:30:00-06:00"  # America/Chicago
    assert by_title["Offset"].date.isoformat() == "2026-11-18T09:30:00+01:00"
    assert sorted(p.title for p in project.published) == ["Local", "Offset"]


def test_ids_survive_title_edits(empty_project: Path) -> None:
    path = write_post(empty_project, "2026-11-01-x.md", "---\ntitle: First title\ndate: 2026-11-01\n---\nx\n")
    first = load_project(empty_project).posts[0]
    path.write_text("---\ntitle: Edited title\ndate: 2026-11-01\n---\nchanged\n", encoding="utf-8")
    second = load_project(empty_project).posts[0]
    assert first.id == second.id == "tag:news.northbridge-care.example.org,2026-11-01:2026-11-01-x"
    assert first.slug != second.slug


def test_citations_images_and_links_are_absolute(empty_project: Path) -> None:
    (empty_project / "posts" / "images").mkdir()
    (empty_project / "posts" / "images" / "pic.png").write_bytes(b"\x89PNG")
    write_post(
        empty_project,
        "p.md",
        "---\ntitle: Links\ndate: 2026-11-01\nreferences: [A work]\n---\n"
        "See [1]. ![Pic](images/pic.png) [rel](other/) [frag](#x) [site](/about)\n",
    )
    (post,) = load_project(empty_project).posts
    base = "https://news.northbridge-care.example.org/"
    assert f'<sup class="cite"><a href="{base}posts/links/#ref-1">[1]</a></sup>' in post.body_html
    assert f'<img src="{base}media/images/pic.png" alt="Pic">' in post.body_html
    assert f'href="{base}posts/links/other/"' in post.body_html
    assert f'href="{base}posts/links/#x"' in post.body_html
    assert f'href="{base}about"' in post.body_html
    assert [i.target for i in post.images] == ["media/images/pic.png"]


def test_raw_html_is_sanitized(empty_project: Path) -> None:
    write_post(
        empty_project,
        "x.md",
        '---\ntitle: XSS\ndate: 2026-11-01\n---\n<script>alert(1)</script>\n\n<a href="javascript:alert(1)" '
        'onclick="x()">link</a> <iframe src="https://evil.example"></iframe><form><input></form>\n',
    )
    (post,) = load_project(empty_project).posts
    html = post.body_html.lower()
    for bad in ("<script", "javascript:", "onclick", "<iframe", "<form", "<input", "alert(1)"):
        assert bad not in html


def test_summary_from_body(empty_project: Path) -> None:
    write_post(
        empty_project, "s.md", "---\ntitle: S\ndate: 2026-11-01\nreferences: [r]\n---\nFirst *para* [1].\n\nTwo\n"
    )
    (post,) = load_project(empty_project).posts
    assert post.summary == "First para."


def test_sample_project_loads(sample: Path) -> None:
    project = load_project(sample)
    assert len(project.posts) >= 5
    assert not project.warnings
    weeks = {p.date.isocalendar()[:2] for p in project.posts}
    assert len(weeks) >= 2


def test_summary_ignores_removed_markup(empty_project: Path) -> None:
    write_post(empty_project, "s.md", "---\ntitle: S\ndate: 2026-11-01\n---\nSafe <script>alert(1)</script>*text*.\n")
    (post,) = load_project(empty_project).posts
    assert post.summary == "Safe text."


def test_field_and_body_problems_of_one_file_together(empty_project: Path) -> None:
    write_post(empty_project, "x.md", "---\ntitle: X\ndate: 2026-13-45 25:00\nreferences: [one]\n---\nSee [5].\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e).split(":")[1] for e in info.value.errors] == ["3", "6"]
    assert "citation [5] has no reference" in str(info.value.errors[1])


def test_a_post_id_ends_with_the_file_name_as_splitext_leaves_it() -> None:
    import itertools
    import os

    from newsletter.load import _stem

    names = ["posts/2023-11-17-x.md", "x.markdown", ".md", "..md", "a/.x.md", "a.b.md", "a/b.d/c", ""]
    names += ["".join(chars) for n in range(1, 6) for chars in itertools.product("a./", repeat=n)]
    for name in names:
        assert _stem(name) == os.path.splitext(os.path.basename(name))[0], name
