"""The web side: post pages, indexes, digest archive; links that resolve."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import html5lib
import pytest

from newsletter.load import load_project
from newsletter.render.site import render_site

BASE = "https://news.northbridge-care.example.org/"


def parse(html: str):  # type: ignore[no-untyped-def]
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    tree = parser.parse(html)
    return parser, tree


def test_every_published_post_has_a_page(sample: Path) -> None:
    project = load_project(sample)
    pages = render_site(project, [])
    for post in project.published:
        assert post.url.startswith(BASE + "posts/")
        assert f"posts/{post.slug}/index.html" in pages
    assert {"index.html", "posts/index.html", "digests/index.html"} <= set(pages)


def test_pages_are_clean_html5_with_working_anchors(sample: Path) -> None:
    project = load_project(sample)
    pages = render_site(project, [])
    for path, html in pages.items():
        parser, tree = parse(html)
        assert not parser.errors, (path, parser.errors[:3])
        assert tree.get("lang") == "en"
        ids = {el.get("id") for el in tree.iter() if el.get("id")}
        page_url = BASE + path.removesuffix("index.html")
        for a in tree.iter("a"):
            href = a.get("href")
            assert href and urlsplit(href).scheme in ("https", "mailto"), (path, href)
            if href.startswith(page_url + "#"):
                assert href.split("#", 1)[1] in ids, (path, href)


def test_post_page_shows_references_and_cta(sample: Path) -> None:
    project = load_project(sample)
    seed = next(p for p in project.published if p.title.startswith("Neural Progenitors"))
    html = render_site(project, [])[f"posts/{seed.slug}/index.html"]
    _, tree = parse(html)
    assert tree.find(".//h1").text == seed.title
    refs = tree.findall(".//ol[@class='references']/li")
    assert len(refs) == 1 and refs[0].get("id") == "ref-1"
    assert "Cytotherapy, 18(12), 1476-1482." in refs[0].text
    cta = tree.find(".//aside[@class='cta']")
    assert "Speak with one of our friendly Care Coordinators today!" in "".join(cta.itertext())
    tags = [a.text for a in tree.findall(".//p[@class='tags']/a")]
    assert tags == ["Bone Marrow", "Mesenchymal Stem Cells", "Multiple Sclerosis"]


def test_post_url_setting_skips_post_pages(sample: Path) -> None:
    config = sample / "newsletter.toml"
    config.write_text(
        config.read_text().replace("[site]\n", '[site]\npost_url = "https://blog.example.org/{slug}/"\n'),
        encoding="utf-8",
    )
    project = load_project(sample)
    pages = render_site(project, [])
    assert not [p for p in pages if p.startswith("posts/") and p != "posts/index.html"]
    assert 'href="https://blog.example.org/' in pages["index.html"]


@pytest.mark.parametrize("title", ["<script>alert(1)</script>", 'Tom & Jerry\'s "best"'])
def test_titles_are_escaped(empty_project: Path, title: str) -> None:
    (empty_project / "posts" / "x.md").write_text(
        f"---\ntitle: '{title.replace(chr(39), chr(39) * 2)}'\ndate: 2026-11-18\nslug: x\n---\nBody\n",
        encoding="utf-8",
    )
    pages = render_site(load_project(empty_project), [])
    for html in pages.values():
        _, tree = parse(html)
        assert tree.find(".//script") is None
    _, tree = parse(pages["posts/x/index.html"])
    assert tree.find(".//h1").text == title
