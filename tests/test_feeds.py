"""Feeds (RSS 2.0, Atom 1.0, JSON Feed 1.1), judged by outside parsers.

feedparser reads the XML as a feed reader would, html5lib reads the content
as a browser would, jsonschema checks JSON Feed. The W3C validator is run
by hand (it is not available in CI); see newsletter/render/feeds.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import html5lib
import pytest
from conftest import REPO, SEED, SHARED, tree, write_post

from newsletter.load import load_project
from newsletter.render.feeds import render_feeds

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
BASE = "https://news.northbridge-care.example.org/"
SCHEMA_DIR = SHARED / "data" / "jsonfeed-schema"


# -- helpers ---------------------------------------------------------------


def post_text(title: str, date: str, body: str = "Body text.", **front: Any) -> str:
    """A post file; JSON values are valid YAML, so quoting is never a worry."""
    lines = [f"title: {json.dumps(title)}", f"date: {date}"]
    lines += [f"{key}: {json.dumps(value)}" for key, value in front.items()]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


def edit_settings(project: Path, old: str, new: str) -> None:
    """Replace one snippet of newsletter.toml (it must be there)."""
    path = project / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def feeds(project: Path) -> dict[str, str | bytes]:
    """Render the project's feeds in memory."""
    return render_feeds(load_project(project))


def xml_feeds(files: dict[str, str | bytes]) -> dict[str, bytes]:
    """The XML documents among the rendered files."""
    return {name: data for name, data in files.items() if name.endswith(".xml") and isinstance(data, bytes)}


def rss_items(data: bytes) -> list[ET.Element]:
    return ET.fromstring(data).findall("./channel/item")


def atom_entries(data: bytes) -> list[ET.Element]:
    return ET.fromstring(data).findall("atom:entry", NS)


def json_feed(files: dict[str, str | bytes]) -> dict[str, Any]:
    data = files["feed.json"]
    assert isinstance(data, str)
    return json.loads(data)


def html_fragments(files: dict[str, str | bytes]) -> list[str]:
    """Every HTML payload a reader renders: RSS description and content:encoded,
    Atom content and summary, JSON Feed content_html."""
    result: list[str] = []
    for name, data in xml_feeds(files).items():
        if name == "atom.xml":
            for entry in atom_entries(data):
                result.append(entry.findtext("atom:content", "", NS))
                summary = entry.find("atom:summary", NS)
                if summary is not None and summary.get("type") == "html":
                    result.append(summary.text or "")
        else:
            for item in rss_items(data):
                result += [item.findtext("description", ""), item.findtext("content:encoded", "", NS)]
    result += [item["content_html"] for item in json_feed(files)["items"]]
    return result


def parse_html(fragment: str) -> Any:
    """Parse as a browser would (html5lib, the HTML5 algorithm)."""
    return html5lib.parseFragment(fragment, treebuilder="etree", namespaceHTMLElements=False)


def urls_in(fragment: str) -> list[str]:
    return [value for el in parse_html(fragment).iter() for key, value in el.attrib.items() if key in ("href", "src")]


def many_posts(project: Path, count: int) -> None:
    for day in range(1, count + 1):
        write_post(
            project, f"p{day:02d}.md", post_text(f"Post {day}", f"2026-10-{day:02d} 08:00", categories=["Common"])
        )


# -- the command and the files -----------------------------------------------


def test_cli_feed_writes_every_feed(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("feed", "-C", sample)
    assert result.exit_code == 0, result.output
    public = sample / "public"
    for name in ("feed.xml", "atom.xml", "feed.json"):
        assert (public / name).is_file(), name
    categories = {c for p in load_project(sample).published for c in p.categories}
    written = sorted(p.name for p in (public / "categories").glob("*.xml"))
    assert len(written) == len(categories) == 8
    assert "mesenchymal-stem-cells.xml" in written
    assert (public / "feed.xml").read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_feedgen_is_not_imported_by_the_cli() -> None:
    code = "import sys, newsletter.cli; print('feedgen' in sys.modules or 'lxml.etree' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


def test_every_xml_feed_parses_without_bozo(sample: Path) -> None:
    files = feeds(sample)
    assert len(xml_feeds(files)) == 10
    for name, data in xml_feeds(files).items():
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))
        assert parsed.entries, name
        assert parsed.version == ("atom10" if name == "atom.xml" else "rss20"), name


@pytest.mark.parametrize(
    ("name", "self_url"),
    [
        ("feed.xml", BASE + "feed.xml"),
        ("atom.xml", BASE + "atom.xml"),
        ("categories/bone-marrow.xml", BASE + "categories/bone-marrow.xml"),
    ],
)
def test_self_link_is_the_feeds_own_url_and_site_link_is_home(sample: Path, name: str, self_url: str) -> None:
    parsed = feedparser.parse(feeds(sample)[name])
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == self_url
    assert parsed.feed.link == BASE  # the RSS channel <link>, the Atom alternate link


def test_generator_names_newsletter_and_leaks_no_url(sample: Path) -> None:
    from newsletter import __version__

    files = feeds(sample)
    rss = ET.fromstring(files["feed.xml"]).find("channel/generator")
    assert rss is not None and rss.text == f"newsletter {__version__}"
    atom = ET.fromstring(files["atom.xml"]).find("atom:generator", NS)
    assert atom is not None and atom.text == "newsletter" and atom.attrib == {"version": __version__}
    assert b"feedgen" not in files["feed.xml"] + files["atom.xml"]  # type: ignore[operator]


# -- which posts, in which order ---------------------------------------------


def test_newest_first_in_every_feed(sample: Path) -> None:
    files = feeds(sample)
    published = load_project(sample).published
    expected = [p.id for p in published]
    assert [p.date for p in published] == sorted((p.date for p in published), reverse=True)
    assert [e.id for e in feedparser.parse(files["feed.xml"]).entries] == expected
    assert [e.id for e in feedparser.parse(files["atom.xml"]).entries] == expected
    assert [i["id"] for i in json_feed(files)["items"]] == expected
    bone = [p.id for p in published if "Bone Marrow" in p.categories]
    assert [e.id for e in feedparser.parse(files["categories/bone-marrow.xml"]).entries] == bone


@pytest.mark.parametrize(
    ("posts", "limit", "expected"),
    [
        (25, None, 20),  # the default limit
        (25, 5, 5),
        (3, 5, 3),
        (1, 1, 1),
    ],
)
def test_limit(empty_project: Path, posts: int, limit: int | None, expected: int) -> None:
    many_posts(empty_project, posts)
    if limit is not None:
        edit_settings(empty_project, "limit = 20", f"limit = {limit}")
    else:
        edit_settings(empty_project, "limit = 20\n", "")
    files = feeds(empty_project)
    newest = f"Post {posts}"
    for name in ("feed.xml", "atom.xml", "categories/common.xml"):
        entries = feedparser.parse(files[name]).entries
        assert len(entries) == expected, name
        assert entries[0].title == newest
    assert len(json_feed(files)["items"]) == expected


def test_drafts_and_future_posts_stay_out(sample: Path) -> None:
    write_post(sample, "draft.md", post_text("A draft", "2026-11-22 10:00", draft=True, categories=["Secret"]))
    write_post(sample, "future.md", post_text("Next year", "2027-01-05 10:00", categories=["Later"]))
    files = feeds(sample)
    assert "categories/secret.xml" not in files
    assert "categories/later.xml" not in files
    for name, data in xml_feeds(files).items():
        titles = [e.title for e in feedparser.parse(data).entries]
        assert "A draft" not in titles and "Next year" not in titles, name
    assert {i["title"] for i in json_feed(files)["items"]}.isdisjoint({"A draft", "Next year"})
    assert len(json_feed(files)["items"]) == 6


@pytest.mark.parametrize("enabled", [True, False])
def test_category_feeds_follow_the_setting(sample: Path, enabled: bool) -> None:
    if not enabled:
        edit_settings(sample, "limit = 20", "limit = 20\ncategories = false")
    names = [name for name in feeds(sample) if name.startswith("categories/")]
    assert bool(names) is enabled


def test_category_names_sharing_a_slug_share_one_feed(empty_project: Path) -> None:
    write_post(empty_project, "a.md", post_text("Both", "2026-11-18 09:30", categories=["R&D", "r&d"]))
    write_post(empty_project, "b.md", post_text("One", "2026-11-17 09:30", categories=["r&d"]))
    files = feeds(empty_project)
    assert [n for n in files if n.startswith("categories/")] == ["categories/r-d.xml"]
    parsed = feedparser.parse(files["categories/r-d.xml"])
    assert [e.title for e in parsed.entries] == ["Both", "One"]  # listed once, not twice
    assert parsed.feed.title.endswith(": R&D")


# -- content -------------------------------------------------------------------


def test_links_and_images_are_absolute_under_the_site(empty_project: Path) -> None:
    images = empty_project / "posts" / "images"
    images.mkdir()
    (images / "cells.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    body = (
        "See [the guide](guide/) and [home](/about/) and [below](#part).\n\n"
        "![Cells under a microscope](images/cells.png)\n\n"
        '<a href="other.html">raw link</a> [elsewhere](https://doi.org/10.1000/x)'
    )
    write_post(empty_project, "links.md", post_text("Links", "2026-11-18 09:30", body, slug="links"))
    files = feeds(empty_project)
    urls = [url for fragment in html_fragments(files) for url in urls_in(fragment)]
    assert len(urls) >= 3 * 5
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https", "mailto") and parts.netloc, url
        assert url.startswith(BASE) or parts.netloc != urlsplit(BASE).netloc, url
    post_url = BASE + "posts/links/"
    assert {post_url + "guide/", BASE + "about/", post_url + "#part", BASE + "media/images/cells.png"} <= set(urls)
    assert post_url + "other.html" in urls


def test_hostile_html_never_reaches_a_reader(empty_project: Path) -> None:
    body = (
        "Hi <script>alert(1)</script> there.\n\n"
        '<img src="https://cdn.example.org/x.png" alt="x" onerror="alert(2)">\n\n'
        '<a href="javascript:alert(3)">click</a> [md](javascript:alert(4)) '
        '<a href="JaVaScRiPt:alert(5)" onclick="alert(6)">two</a>\n\n'
        '<p style="background:url(javascript:alert(7))">styled</p><iframe src="https://e.org"></iframe>'
    )
    summary = 'Watch out: <script>alert("s")</script> & <img src=x onerror=alert(8)>'
    write_post(empty_project, "xss.md", post_text("XSS <b>test</b>", "2026-11-18 09:30", body, summary=summary))
    files = feeds(empty_project)
    fragments = html_fragments(files)
    assert len(fragments) == 5  # RSS description and content, Atom content and summary, content_html
    for fragment in fragments:
        for el in parse_html(fragment).iter():
            assert el.tag not in ("script", "iframe", "object", "embed", "form"), fragment
            for key, value in el.attrib.items():
                assert not key.lower().startswith("on"), (key, fragment)
                assert "javascript:" not in value.lower().replace(" ", ""), (key, value)
    # The summary is text: a reader shows its "<script>" as characters.
    (item,) = rss_items(files["feed.xml"])  # type: ignore[arg-type]
    description = parse_html(item.findtext("description", ""))
    assert "<script>" in "".join(description.itertext())
    assert feedparser.parse(files["atom.xml"]).entries[0].summary.startswith("Watch out: ")


def test_seed_article_with_categories_reference_and_cta(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    if SEED is None:
        pytest.skip("../shared/seeds is not beside the repo")
    assert cli("import", SEED, "--date", "2026-11-18 09:30", "-C", empty_project).exit_code == 0
    assert cli("feed", "-C", empty_project).exit_code == 0
    public = empty_project / "public"
    (item,) = rss_items((public / "feed.xml").read_bytes())
    assert item.findtext("title", "").startswith("Neural Progenitors Derived from Bone Mesenchymal Stem Cells")
    assert [c.text for c in item.findall("category")] == ["Bone Marrow", "Mesenchymal Stem Cells", "Multiple Sclerosis"]
    text = "".join(parse_html(item.findtext("content:encoded", "", NS)).itertext())
    assert "Harris, VK, Vyshkina, T, & Sadaiq, SA. (2016)" in text
    assert "Cytotherapy, 18(12), 1476-1482." in text
    assert "Speak with one of our friendly Care Coordinators today!" in text
    assert item.findtext("pubDate") == "Wed, 18 Nov 2026 09:30:00 -0600"
    for slug in ("bone-marrow", "mesenchymal-stem-cells", "multiple-sclerosis"):
        assert len(feedparser.parse((public / "categories" / f"{slug}.xml").read_bytes()).entries) == 1


@pytest.mark.parametrize(
    ("email_line", "rss_author", "creator"),
    [
        ('author_email = "care@northbridge-care.example.org"\n', "care@northbridge-care.example.org (Ann Lee)", None),
        ("", None, "Ann Lee"),  # feedgen would drop an RSS author without e-mail
    ],
)
def test_author_survives_in_rss(
    empty_project: Path, email_line: str, rss_author: str | None, creator: str | None
) -> None:
    edit_settings(empty_project, 'author_email = "care@northbridge-care.example.org"\n', email_line)
    write_post(empty_project, "a.md", post_text("By Ann", "2026-11-18 09:30", author="Ann Lee"))
    files = feeds(empty_project)
    (item,) = rss_items(files["feed.xml"])  # type: ignore[arg-type]
    assert item.findtext("author") == rss_author
    assert item.findtext("dc:creator", None, NS) == creator
    assert feedparser.parse(files["atom.xml"]).entries[0].author_detail.name == "Ann Lee"
    assert json_feed(files)["items"][0]["authors"] == [{"name": "Ann Lee"}]


def test_title_with_ampersand_and_less_than(empty_project: Path) -> None:
    title = "Q&A: cells & drugs, 1 < 2"
    write_post(empty_project, "qa.md", post_text(title, "2026-11-18 09:30", categories=["R&D"]))
    files = feeds(empty_project)
    for name in ("feed.xml", "atom.xml", "categories/r-d.xml"):
        parsed = feedparser.parse(files[name])
        assert parsed.bozo == 0
        assert parsed.entries[0].title == title, name
    rss = files["feed.xml"]
    assert isinstance(rss, bytes)
    # Hexadecimal references, as the W3C validator prefers for RSS titles.
    assert b"<title>Q&#x26;A: cells &#x26; drugs, 1 &#x3C; 2</title>" in rss
    assert b"<category>R&#x26;D</category>" in rss
    assert json_feed(files)["items"][0]["title"] == title


# -- ids and dates -------------------------------------------------------------


def test_ids_survive_a_title_edit(sample: Path) -> None:
    before = feeds(sample)
    path = next((sample / "posts").glob("2026-11-20-*.md"))
    path.write_text(path.read_text(encoding="utf-8").replace("Early Safety Data", "New Safety Data"), encoding="utf-8")
    after = feeds(sample)
    for name in ("feed.xml", "atom.xml"):
        old, new = feedparser.parse(before[name]).entries, feedparser.parse(after[name]).entries
        assert [e.id for e in old] == [e.id for e in new]
        assert [e.title for e in old] != [e.title for e in new]
    assert [i["id"] for i in json_feed(before)["items"]] == [i["id"] for i in json_feed(after)["items"]]
    assert all(
        e.id.startswith("tag:news.northbridge-care.example.org,") for e in feedparser.parse(after["feed.xml"]).entries
    )
    guid = rss_items(after["feed.xml"])[0].find("guid")  # type: ignore[arg-type]
    assert guid is not None and guid.get("isPermaLink") == "false"


def test_dates_carry_the_posts_offset_and_updated_comes_from_the_post(empty_project: Path) -> None:
    write_post(empty_project, "a.md", post_text("Winter", "2026-11-18 09:30", updated="2026-11-19 16:45"))
    write_post(empty_project, "b.md", post_text("Summer", "2026-07-01 08:00"))
    write_post(empty_project, "c.md", post_text("Offset", "2026-11-10 08:00+05:30"))
    files = feeds(empty_project)
    items = rss_items(files["feed.xml"])  # type: ignore[arg-type]
    assert [i.findtext("pubDate") for i in items] == [
        "Wed, 18 Nov 2026 09:30:00 -0600",
        "Tue, 10 Nov 2026 08:00:00 +0530",
        "Wed, 01 Jul 2026 08:00:00 -0500",
    ]
    channel = ET.fromstring(files["feed.xml"]).find("channel")
    assert channel is not None and channel.findtext("lastBuildDate") == "Thu, 19 Nov 2026 16:45:00 -0600"
    atom = ET.fromstring(files["atom.xml"])
    assert atom.findtext("atom:updated", "", NS) == "2026-11-19T16:45:00-06:00"
    first = atom_entries(files["atom.xml"])[0]  # type: ignore[arg-type]
    assert first.findtext("atom:published", "", NS) == "2026-11-18T09:30:00-06:00"
    assert first.findtext("atom:updated", "", NS) == "2026-11-19T16:45:00-06:00"
    item = json_feed(files)["items"][0]
    assert (item["date_published"], item["date_modified"]) == ("2026-11-18T09:30:00-06:00", "2026-11-19T16:45:00-06:00")


def test_updated_never_comes_from_the_clock(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = feeds(sample)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")  # 2027-01-15: every post still published
    second = feeds(sample)
    assert first == second


def test_empty_project_has_valid_empty_feeds(empty_project: Path) -> None:
    files = feeds(empty_project)
    assert sorted(files) == ["atom.xml", "feed.json", "feed.xml"]
    for name, data in xml_feeds(files).items():
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0 and parsed.entries == [], name
    assert b"<updated>2000-01-01T00:00:00+00:00</updated>" in files["atom.xml"]  # type: ignore[operator]  # not "now"
    assert json_feed(files)["items"] == []


def test_two_builds_give_identical_bytes(sample: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    other = tmp_path / "again"
    shutil.copytree(sample, other)
    assert cli("feed", "-C", sample).exit_code == 0
    assert cli("feed", "-C", other).exit_code == 0
    assert tree(sample / "public") == tree(other / "public")


# -- JSON Feed -------------------------------------------------------------------


def test_json_feed_shape(sample: Path) -> None:
    data = feeds(sample)["feed.json"]
    assert isinstance(data, str) and data.endswith("}\n")
    feed = json.loads(data)
    assert list(feed)[:4] == ["version", "title", "home_page_url", "feed_url"]
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == BASE + "feed.json"
    assert feed["authors"] == [{"name": "Care Team", "url": BASE}]
    item = feed["items"][0]
    assert list(item)[:4] == ["id", "url", "title", "content_html"]
    assert isinstance(item["id"], str) and item["url"].startswith(BASE)
    # The categories, then the tags.
    assert item["tags"] == ["Neurology", "Mesenchymal Stem Cells", "Bone Marrow", "spinal cord injury", "review"]
    assert "ü" in data or "é" in data  # ensure_ascii=False keeps the text readable


def test_json_feed_matches_the_schema(sample: Path) -> None:
    # feed-1.json is the JSON Feed 1.0 schema (no "authors", no "language");
    # feed.json is the 1.1 schema, which refers into feed-1.json.
    if not (SCHEMA_DIR / "feed.json").is_file():
        pytest.skip("../shared/data/jsonfeed-schema is not beside the repo")
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    schemas = [json.loads((SCHEMA_DIR / n).read_text(encoding="utf-8")) for n in ("feed.json", "feed-1.json")]
    registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)) for schema in schemas
    )
    validator = jsonschema.Draft4Validator(schemas[0], registry=registry, format_checker=jsonschema.FormatChecker())
    validator.validate(json_feed(feeds(sample)))
    # The validator is a real judge: a number as id fails.
    broken = json_feed(feeds(sample))
    broken["items"][0]["id"] = 7
    assert not validator.is_valid(broken)


@pytest.mark.parametrize(
    ("settings", "keys"),
    [
        ('logo = "https://cdn.example.org/logo.png"\nicon = "https://cdn.example.org/icon.png"\n', {"icon", "favicon"}),
        ("", set()),
    ],
)
def test_logo_and_icon_when_configured(empty_project: Path, settings: str, keys: set[str]) -> None:
    edit_settings(empty_project, 'language = "en"\n', 'language = "en"\n' + settings)
    files = feeds(empty_project)
    assert {"icon", "favicon"} & set(json_feed(files)) == keys
    atom = feedparser.parse(files["atom.xml"]).feed
    assert ("icon" in atom) is bool(keys)
    assert (ET.fromstring(files["feed.xml"]).find("channel/image") is not None) is bool(keys)


def test_two_posts_never_share_an_id(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write_post(empty_project, "a/x.md", post_text("First", "2026-11-18 09:30"))
    write_post(empty_project, "b/x.md", post_text("Second", "2026-11-18 10:30"))
    result = cli("feed", "-C", empty_project)
    assert result.exit_code == 1
    assert (
        "posts/b/x.md:3: post id 'tag:news.northbridge-care.example.org,2026-11-18:x' "
        "is also used by posts/a/x.md: set a distinct 'slug:'"
    ) in result.stderr
    assert not (empty_project / "public").exists()
    write_post(empty_project, "b/x.md", post_text("Second", "2026-11-18 10:30", slug="second"))
    assert cli("feed", "-C", empty_project).exit_code == 0
