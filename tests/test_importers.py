"""newsletter import from WordPress, Jekyll, Hugo and Pelican: real-shaped fixtures in tests/fixtures/import/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter import frontmatter
from newsletter.load import load_project

FIXTURES = Path(__file__).parent / "fixtures" / "import"
RAW = re.compile(r"\{\{<|\{\{%|\{%|\[caption[ \]]|<!-- ?wp:")


def _posts(project: Path) -> dict[str, frontmatter.Document]:
    """Every written post file by title."""
    docs = [frontmatter.read(p.read_text(encoding="utf-8")) for p in (project / "posts").glob("*.md")]
    return {doc.data["title"]: doc for doc in docs}


def _import(cli, project: Path, *sources: Path):  # type: ignore[no-untyped-def]
    result = cli("import", *sources, "-C", project)
    assert "Traceback" not in result.output
    return result


def _published_text(project: Path) -> str:
    """What readers get: every page, feed and email of a build."""
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for folder in ("public", "outbox")
        for p in (project / folder).rglob("*")
        if p.is_file() and p.suffix in (".html", ".xml", ".json", ".eml", ".txt")
    )


def test_wordpress_export(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = _import(cli, empty_project, FIXTURES / "wordpress" / "export.xml")
    assert result.exit_code == 0, result.output
    assert (
        "found 8 post(s); imported 7 (5 as drafts, not published: 1 draft, 1 future, 1 password-protected, 1 pending, 1 private)"
        in result.stdout
    )
    assert "left out: 1 trashed, 1 pages, 2 attachments, 1 menu items" in result.stdout
    assert "warning: dynamic block dropped: 1, e.g." in result.stderr and "'wp:latest-posts'" in result.stderr
    assert "warning: shortcode [contact-form-7] not understood: 1" in result.stderr
    assert "warning: image left at the old site: 2, e.g." in result.stderr  # cells.jpg: not beside the export
    posts = _posts(empty_project)
    assert "Old Mistake" not in posts and "About Us" not in posts
    for title in ("A Draft About Knees", "Waiting For Review", "Staff Only", "Coming Next Year", "Members Corner"):
        assert posts[title].data["draft"] is True, title
    first = posts["Stem Cells & Multiple Sclerosis"]
    assert first.data["author"] == "Dr. Jane Doe"
    assert first.data["categories"] == ["Multiple Sclerosis"]  # "Uncategorized" is WordPress's default, not a topic
    assert first.data["tags"] == ["stem cells"]
    assert first.data["summary"] == "What the new study says."
    assert first.data["slug"] == "stem-cells-ms"
    assert first.data["aliases"] == ["/2017/07/11/stem-cells-ms/"]
    assert first.data["date"] == "2017-07-11 09:00+02:00"
    body = first.body
    assert "![Cells under a microscope](https://blog.example.org/wp-content/uploads/2017/07/cells.jpg)" in body
    assert "*Cells under a [microscope](https://example.org/microscope)*" in body
    assert "*Cells, stained*" in body  # the gallery shows the attachments with their captions
    assert "(https://www.youtube.com/watch?v=dQw4w9WgXcQ)" in body and "hqdefault.jpg" in body
    assert "[Video: tour.mp4](https://blog.example.org/wp-content/uploads/2017/07/tour.mp4)" in body
    assert '`[contact-form-7 id="12" title="Contact"]`' in body
    assert (
        '```python\nif a < b:\n    print("[gallery]")\n```' in body
    )  # [code]: a code block, shortcodes inside left alone
    assert '<th colspan="2">Results</th>' in body  # merged cells stay a table
    assert "says the clinic.[^1]" in body and body.endswith("[^1]: Harris, VK, et al. (2016). *Cytotherapy*, 18(12).\n")
    lab = posts["Our New Lab"]
    assert "## What patients say" in lab.body and "- It helped" in lab.body
    assert "**block editor**.[^1]" in lab.body and lab.body.endswith("[^1]: Opened by the *mayor*.\n")
    assert "![The lab](images/2018-03-05-our-new-lab/lab.jpg)" in lab.body  # found beside the export
    assert (empty_project / "posts" / "images" / "2018-03-05-our-new-lab" / "lab.jpg").is_file()
    assert "[Video: 76979871](https://vimeo.com/76979871)" in lab.body
    assert cli("check", "-C", empty_project).exit_code == 0
    assert cli("build", "-C", empty_project, "--week", "2018-W10").exit_code == 0
    published = _published_text(empty_project)
    for secret in ("Not ready", "Pending text", "Private text", "Scheduled text", "Secret text", "Trashed text"):
        assert secret not in published
    assert "What patients say" in published
    assert not RAW.search(published)


def test_jekyll_site(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = _import(cli, empty_project, FIXTURES / "jekyll")
    assert result.exit_code == 0, result.output
    assert "found 4 post(s); imported 4 (2 as drafts, not published: 1 draft, 1 published: false)" in result.stdout
    assert "left out: 1 pages" in result.stdout
    assert "Liquid tag 'gallery' not understood: 1, e.g." in result.stderr
    assert "2017-07-11-Hello-World.markdown:20:" in result.stderr
    posts = _posts(empty_project)
    hello = posts["Hello World"]
    assert hello.data["slug"].lower() == "hello-world"
    assert hello.data["date"] == "2017-07-11 09:00+02:00"
    assert hello.data["categories"] == ["news", "updates"]
    assert hello.data["aliases"] == ["/news/updates/2017/07/11/Hello-World/"]
    assert hello.data["summary"] == "The first post of the blog."
    assert "[the older post](/2016/01/02/older/)" in hello.body
    assert "![A tiny picture](images/2017-07-11-hello-world/pic.png)" in hello.body
    assert "![pixel](images/2017-07-11-hello-world/pic.png)" in hello.body
    assert "<p><em>This is an included note.</em></p>" in hello.body
    assert "```python\ndef hello():" in hello.body
    assert r"<code>\{\% gallery spring \%\}</code>" in hello.body  # kept, shown as code
    assert posts["Unfinished"].data["draft"] is True
    assert posts["An Idea"].data["draft"] is True
    assert posts["An Older Post"].data["date"] == "2016-01-02 00:00"
    assert cli("check", "-C", empty_project).exit_code == 0
    assert cli("build", "-C", empty_project, "--week", "2017-W28").exit_code == 0
    published = _published_text(empty_project)
    assert "Not for readers yet" not in published and "A draft." not in published
    assert "tiny picture" in published


def test_hugo_site(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = _import(cli, empty_project, FIXTURES / "hugo")
    assert result.exit_code == 0, result.output
    assert "found 4 post(s); imported 4 (1 as drafts, not published: 1 draft)" in result.stdout
    assert "left out: 1 pages, 2 section pages" in result.stdout
    assert "Hugo shortcode 'notice' not understood: 2" in result.stderr
    posts = _posts(empty_project)
    trip = posts["A Trip To The Coast"]  # TOML front matter
    assert trip.data["slug"] == "trip"
    assert trip.data["aliases"] == ["/2018/06/trip/"]  # "/posts/trip/" is its address here too: no redirect
    assert trip.data["summary"] == "Sea, sand and shortcodes."
    assert "![The coast](images/2018-06-29-trip/photo.png)\n*The coast at dawn*" in trip.body
    assert "![Logo](images/2018-06-29-trip/logo.png)" in trip.body  # from static/
    assert "```go\nfmt.Println" in trip.body
    assert "[the first post](/posts/first/)" in trip.body
    assert "https://gist.github.com/alice/1234abcd" in trip.body
    assert "https://twitter.com/example/status/1453110110599868418" in trip.body
    assert "[Vimeo video](https://vimeo.com/76979871)" in trip.body
    assert r"<code>\{\{\< figure src\=\"x\.png\" \>\}\}</code>" in trip.body  # shown literally, as Hugo did
    spanish = posts["Un viaje a la costa"]
    assert spanish.data["lang"] == "es" and spanish.data["slug"] == "trip-es"
    assert spanish.data["aliases"] == ["/es/posts/trip/"]
    assert posts["First Post"].data["tags"] == ["hello"]  # JSON front matter
    assert posts["Secret"].data["draft"] is True
    assert "A bundle resource, not a post" not in posts
    assert (empty_project / "posts" / "images" / "2018-06-29-trip" / "photo.png").is_file()
    assert cli("check", "-C", empty_project).exit_code == 0
    assert len(load_project(empty_project).published) == 3  # not the draft


def test_pelican_site(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = _import(cli, empty_project, FIXTURES / "pelican")
    assert result.exit_code == 0, result.output
    assert "found 4 post(s); imported 3 (2 as drafts, not published: 1 draft, 1 hidden)" in result.stdout
    assert "left out: 1 pages, 1 unsupported" in result.stdout
    posts = _posts(empty_project)
    first = posts["First Steps With Python"]
    assert first.data["slug"].lower() == "first-steps"
    assert first.data["tags"] == ["python", "beginners"]
    assert first.data["categories"] == ["python"]  # the folder, as Pelican does
    assert first.data["author"] == "Ann Example"
    assert first.data["summary"] == "How I started."
    assert first.data["aliases"] == ["/posts/2019/First-Steps.html"]
    assert "![snake](images/2019-03-04-first-steps/snake.png)" in first.body
    assert posts["Unfinished Thoughts"].data["draft"] is True
    assert posts["Hidden Note"].data["draft"] is True
    assert cli("check", "-C", empty_project).exit_code == 0


def test_never_overwrites_and_usage_errors(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert _import(cli, empty_project, FIXTURES / "pelican").exit_code == 0
    before = sorted(p.read_bytes() for p in (empty_project / "posts").rglob("*") if p.is_file())
    again = _import(cli, empty_project, FIXTURES / "pelican")
    assert again.exit_code == 1
    assert "exists already; nothing was overwritten" in again.stderr
    assert sorted(p.read_bytes() for p in (empty_project / "posts").rglob("*") if p.is_file()) == before
    missing = _import(cli, empty_project, FIXTURES / "jekyll", tmp_path / "nope.xml")
    assert missing.exit_code == 1 and "nope.xml:1: no such file or folder" in missing.stderr
    plain = tmp_path / "post.txt"
    plain.write_text("Title\n\nBody.\n", encoding="utf-8")
    no_date = _import(cli, empty_project, FIXTURES / "hugo", plain)
    assert no_date.exit_code == 2 and "needs its date" in no_date.stderr
    assert sorted(p.read_bytes() for p in (empty_project / "posts").rglob("*") if p.is_file()) == before


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss><channel>&b;</channel></rss>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss>&x;</rss>',
        "<rss><channel><title>Not WordPress</title></channel></rss>",
        "<rss><channel>",
    ],
)
def test_hostile_or_foreign_xml_is_refused(empty_project: Path, tmp_path: Path, cli, xml: str) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "export.xml"
    source.write_text(xml, encoding="utf-8")
    result = _import(cli, empty_project, source)
    assert result.exit_code == 1
    assert re.match(
        rf"{re.escape(source.as_posix())}:\d+: (refused|not a WordPress export|not well-formed)", result.stderr
    )
    assert list((empty_project / "posts").iterdir()) == []


# No template code reaches a post unnamed ---------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from newsletter.importers import templates  # noqa: E402
from newsletter.importers.markdown import name_leftovers  # noqa: E402
from newsletter.importers.model import ImportReport  # noqa: E402
from newsletter.importers.sources import Context  # noqa: E402

PIECES = [
    "{{<", ">}}", "{{%", "%}}", "{%", "%}", "{{", "}}", "/*", "*/", "figure", "youtube", "highlight", "/highlight",
    "notice", "raw", "endraw", "include", "post_url", " src=", '"x.png"', "`", "```", "\n", " ", "a", "[caption]",
    "<!-- wp:", "-->",
]  # fmt: skip


def _shown_outside_code(markdown: str) -> str:
    """The text a reader sees outside code, as the post loader renders ``markdown``."""
    import html5lib

    from newsletter.markdown import render_markdown

    html = render_markdown(markdown, lambda tag, attribute, value: value).html
    tree = html5lib.parseFragment(html, namespaceHTMLElements=False)
    for parent in list(tree.iter()):
        for child in list(parent):
            if child.tag in ("code", "pre"):
                tail = child.tail
                child.clear()  # its text goes (a space stands for it); the text after it stays
                child.text, child.tail = " ", tail
    return "".join(tree.itertext())


# Control characters are refused before any of this (read_plain_file), so none are drawn.
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=5)


@given(st.lists(st.sampled_from(PIECES) | TEXT, max_size=30).map("".join))
def test_template_code_is_converted_or_named(body: str) -> None:
    report = ImportReport()
    ctx = Context(settings=None, report=report)  # type: ignore[arg-type]
    out = templates.convert(body, Path("post.md"), 1, report, templates.Site())
    out = name_leftovers(out, Path("post.md"), 1, ctx)
    assert not RAW.search(_shown_outside_code(out)), out


def test_a_folder_of_markdown_and_a_post_the_loader_refuses(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.md").write_text("# Notes\n\nNo front matter: not a post.\n", encoding="utf-8")
    (folder / "sitemap.xml").write_text('<?xml version="1.0"?><urlset/>', encoding="utf-8")
    (folder / "toml.md").write_text('+++\ntitle = "From TOML"\ndate = 2020-01-02\n+++\nBody.\n', encoding="utf-8")
    (folder / "2020-02-03-dated.markdown").write_text("---\ntitle: Dated By Name\n---\nBody.\n", encoding="utf-8")
    bad = folder / "bad.md"
    bad.write_text("---\ntitle: Bad\ndate: 2020-01-05\ncategories: ['!!!']\n---\nBody.\n", encoding="utf-8")
    result = _import(cli, empty_project, folder)
    assert result.exit_code == 1  # one post is not imported: said, and the others are written
    assert f"{bad.as_posix()}:4: not imported: category '!!!' has no letters or digits" in result.stderr
    assert "found 3 post(s); imported 2" in result.stdout
    assert "left out: 1 files without front matter, 1 other XML files" in result.stdout
    assert "not imported: 1 (listed above)" in result.stderr
    posts = _posts(empty_project)
    assert posts["Dated By Name"].data["date"] == "2020-02-03 00:00"
    assert posts["From TOML"].data["date"] == "2020-01-02 00:00"
    assert cli("check", "-C", empty_project).exit_code == 0


def test_wordpress_titles_are_html_and_become_their_text(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """WordPress shows a title's tags and entities as HTML; imported, the title is the text a reader saw."""
    export = (FIXTURES / "wordpress" / "export.xml").read_text(encoding="utf-8")
    marked = "<title>Our New &lt;em&gt;Lab&lt;/em&gt; &amp;amp; &lt;script&gt;x()&lt;/script&gt;More</title>"
    (tmp_path / "export.xml").write_text(export.replace("<title>Our New Lab</title>", marked), encoding="utf-8")
    result = _import(cli, empty_project, tmp_path / "export.xml")
    assert result.exit_code == 0, result.output
    assert "Our New Lab & More" in _posts(empty_project)
    built = cli("build", "-C", empty_project, "--week", "2018-W10")
    assert built.exit_code == 0, built.stderr
    pages = "".join(p.read_text(encoding="utf-8") for p in (empty_project / "public" / "posts").rglob("index.html"))
    assert "&lt;em&gt;" not in pages and "Our New Lab &amp; More" in pages
