"""The web side of imported blogs (issue 14): footnotes, TeX, tags, category and tag pages, old URLs."""

from __future__ import annotations

import email.policy
from email.parser import BytesParser
from pathlib import Path

import feedparser
import html5lib
import pytest
from conftest import tree, write_post

from newsletter.load import load_project

BASE = "https://news.northbridge-care.example.org/"
WEEK = "2026-W47"

FOOTNOTES = """\
---
title: Notes from the lab
date: 2026-11-19 10:00
categories: [Research]
tags: [Deep Learning, cells]
---
A claim that needs a source.[^src] Another one.[^2]

The model is $$ h_t = \\bar{a}_t * x_t + b_t * c $$ and the rate $r_1 * r_2$ is *kept*.

Merel et al. [2017] and an escaped \\[1\\] stay text.

[^src]: The *source*, with a [link](https://example.org/paper).
[^2]: A second note.
"""


def _build(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("build", "-C", project, "--week", WEEK)
    assert result.exit_code == 0, result.output


def _page(project: Path, path: str):  # type: ignore[no-untyped-def]
    parser = html5lib.HTMLParser(strict=False, namespaceHTMLElements=False)
    document = parser.parse((project / "public" / path).read_text(encoding="utf-8"))
    assert not parser.errors, (path, parser.errors[:3])
    return document


def test_footnotes_tex_and_literal_brackets_in_page_feeds_and_email(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write_post(empty_project, "lab.md", FOOTNOTES)
    _build(cli, empty_project)
    public = empty_project / "public"
    page = (public / "posts/notes-from-the-lab/index.html").read_text(encoding="utf-8")
    url = BASE + "posts/notes-from-the-lab/"
    # Footnote markers link down, and each note links back up.
    assert f'<a href="{url}#fn-src" id="fnref-src">1</a>' in page
    assert '<li id="fn-src">' in page and f'<a href="{url}#fnref-src" class="footnote-backref"' in page
    ids = {el.get("id") for el in _page(empty_project, "posts/notes-from-the-lab/index.html").iter()}
    assert {"fn-src", "fnref-src", "fn-2", "fnref-2"} <= ids
    # TeX is left as written: no emphasis, backslashes and stars kept.
    assert "$$ h_t = \\bar{a}_t * x_t + b_t * c $$" in page and "$r_1 * r_2$" in page
    assert "<em>kept</em>" in page and page.count("<em>") == 2  # "kept" and the note's "source"
    # Without references, brackets are text; the escaped marker too.
    assert "Merel et al. [2017] and an escaped [1] stay text." in page
    assert 'class="cite"' not in page
    for name in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse((public / name).read_bytes())
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        (entry,) = parsed.entries
        content = entry.content[0].value
        assert f"{url}#fn-src" in content and f"{url}#fnref-src" in content and "\\bar{a}_t" in content
        assert [t.term for t in entry.tags] == ["Research", "Deep Learning", "cells"]
    message = BytesParser(policy=email.policy.strict).parsebytes(
        (empty_project / "outbox" / WEEK / "message.eml").read_bytes()
    )
    plain, html = list(message.iter_parts())  # type: ignore[attr-defined]
    assert f"{url}#fn-src" in html.get_content() and "footnote-backref" in html.get_content()
    assert 'id="fn' not in html.get_content()  # the links lead to the page; two posts' ids would clash
    text = plain.get_content()
    assert "A claim that needs a source.[^1] Another one.[^2]" in text
    assert "↩" not in text and "$$ h_t = \\bar{a}_t * x_t + b_t * c $$" in " ".join(text.split())


def test_category_and_tag_pages_are_linked_from_post_pages(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _build(cli, sample)
    public = sample / "public"
    project = load_project(sample)
    for post in project.published:
        document = _page(sample, f"posts/{post.slug}/index.html")
        links = {a.get("href") for a in document.iter("a")}
        for kind, names in (("categories", post.categories), ("tags", post.tags)):
            for name in names:
                from newsletter.slugs import category_slug

                href = f"{BASE}{kind}/{category_slug(name)}/"
                assert href in links, (post.slug, href)
                listing = _page(sample, f"{kind}/{category_slug(name)}/index.html")
                assert post.url in {a.get("href") for a in listing.iter("a")}
                assert any(name in (h.text or "") for h in listing.iter("h1"))
    # A category page also leads to the category's feed.
    bone = _page(sample, "categories/bone-marrow/index.html")
    assert BASE + "categories/bone-marrow.xml" in {a.get("href") for a in bone.iter("a")}
    assert (public / "tags/clinical-trial/index.html").is_file()


def test_old_addresses_get_redirect_pages(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = empty_project / "newsletter.toml"
    config.write_text(config.read_text().replace("[site]\n", '[site]\npost_path = "{year}/{month}/{day}/{slug}/"\n'))
    write_post(
        empty_project,
        "2026-11-19-Old-Post.md",
        "---\ntitle: Old <post>\nslug: Old-Post\naliases: [/blog/old-post/, /p/123.html, '/caf%C3%A9/']\n---\nx\n",
    )
    write_post(empty_project, "draft.md", "---\ntitle: D\ndate: 2026-11-19\ndraft: true\naliases: [/secret/]\n---\nx\n")
    _build(cli, empty_project)
    public = empty_project / "public"
    target = BASE + "2026/11/19/Old-Post/"
    assert (public / "2026/11/19/Old-Post/index.html").is_file()
    for path in ("blog/old-post/index.html", "p/123.html", "café/index.html"):
        document = _page(empty_project, path)
        assert document.find(".//link[@rel='canonical']").get("href") == target
        refresh = document.find(".//meta[@http-equiv='refresh']").get("content")
        assert refresh == f"0; url={target}"
        (link,) = document.iter("a")
        assert link.get("href") == target and link.text == "Old <post>"
    assert not (public / "secret").exists()  # a draft's old address says nothing


def test_pages_move_with_post_path_and_stale_ones_go(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    write_post(empty_project, "a.md", "---\ntitle: A\ndate: 2026-11-19\ntags: [x]\naliases: [/old/a/]\n---\nx\n")
    _build(cli, empty_project)
    public = empty_project / "public"
    assert (public / "posts/a/index.html").is_file() and (public / "old/a/index.html").is_file()
    config = empty_project / "newsletter.toml"
    config.write_text(config.read_text().replace("[site]\n", '[site]\npost_path = "{year}/{slug}.html"\n'))
    write_post(empty_project, "a.md", "---\ntitle: A\ndate: 2026-11-19\n---\nx\n")
    _build(cli, empty_project)
    assert (public / "2026/a.html").is_file()
    assert not (public / "posts/a").exists() and not (public / "old").exists() and not (public / "tags").exists()
    assert load_project(empty_project).posts[0].url == BASE + "2026/a.html"


def test_builds_stay_byte_identical(empty_project: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_post(empty_project, "lab.md", FOOTNOTES.replace("[Research]", "[Research]\naliases: [/x/]"))
    _build(cli, empty_project)
    first = tree(empty_project / "public")
    import shutil

    shutil.rmtree(empty_project / "public")
    shutil.rmtree(empty_project / ".newsletter-cache")
    _build(cli, empty_project)
    assert tree(empty_project / "public") == first


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("$a_b$ and $c_d$", "$a_b$ and $c_d$"),
        ("Costs $5 and *$10* today", "Costs $5 and <em>$10</em> today"),
        ("`$a_b$` and $$x*y*z$$", "<code>$a_b$</code> and $$x*y*z$$"),
        ("\\$a *b* c\\$", "$a <em>b</em> c$"),
        ("$\\{x\\}$ and $<b>$", "$\\{x\\}$ and $&lt;b&gt;$"),
    ],
)
def test_tex_spans_table(body: str, expected: str) -> None:
    from newsletter.markdown import render_markdown

    html = render_markdown(body + "\n", lambda tag, attribute, value: value).html
    assert html == f"<p>{expected}</p>\n"
