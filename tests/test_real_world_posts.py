"""Posts as other generators write them (issue 14): dates, TOML, .markdown, published, keys, slugs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import write_post

from newsletter.errors import InputError, SourceError, group_warnings
from newsletter.load import load_project

CHICAGO_WINTER = timezone(timedelta(hours=-6))  # the sample's site.timezone in November
CHICAGO_SUMMER = timezone(timedelta(hours=-5))


def _only(project: Path):  # type: ignore[no-untyped-def]
    (post,) = load_project(project).posts
    return post


DATES = [
    ("2017-07-11 9:00:00", datetime(2017, 7, 11, 9, 0, tzinfo=CHICAGO_SUMMER)),
    ("2017-07-11 09:00", datetime(2017, 7, 11, 9, 0, tzinfo=CHICAGO_SUMMER)),
    ("2017-07-11 9:05", datetime(2017, 7, 11, 9, 5, tzinfo=CHICAGO_SUMMER)),
    ("2017-07-11T09:00:00", datetime(2017, 7, 11, 9, 0, tzinfo=CHICAGO_SUMMER)),
    ("2017-07-11 09:00:00 +0100", datetime(2017, 7, 11, 9, 0, tzinfo=timezone(timedelta(hours=1)))),
    ("2017-07-11 09:00:00 -05:00", datetime(2017, 7, 11, 9, 0, tzinfo=CHICAGO_SUMMER)),
    ("2017-07-11T09:00:00Z", datetime(2017, 7, 11, 9, 0, tzinfo=UTC)),
    ("2017-07-11   9:00:00   +01:00", datetime(2017, 7, 11, 9, 0, tzinfo=timezone(timedelta(hours=1)))),
    ("2017-07-11 9:30 +0530", datetime(2017, 7, 11, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    ("2017-07-11 09:00:00.25", datetime(2017, 7, 11, 9, 0, 0, 250000, tzinfo=CHICAGO_SUMMER)),
    ("2017-07-11", datetime(2017, 7, 11, tzinfo=CHICAGO_SUMMER)),
    ("'2016-12-01 23:59:59'", datetime(2016, 12, 1, 23, 59, 59, tzinfo=CHICAGO_WINTER)),
]


@pytest.mark.parametrize(("written", "expected"), DATES, ids=[d[0] for d in DATES])
def test_dates_as_yaml_and_jekyll_write_them(empty_project: Path, written: str, expected: datetime) -> None:
    write_post(empty_project, "d.md", f"---\ntitle: Dated\ndate: {written}\n---\nx\n")
    post = _only(empty_project)
    assert post.date == expected and post.date.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("written", ["18/11/2026", "2017-07-11 25:00", "2017-13-01", "next tuesday"])
def test_unreadable_dates_are_still_errors(empty_project: Path, written: str) -> None:
    write_post(empty_project, "d.md", f"---\ntitle: Dated\ndate: {written}\n---\nx\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors][0].startswith("posts/d.md:3: cannot read date")


NAMED = [
    ("2017-07-11-my-post.md", datetime(2017, 7, 11, tzinfo=CHICAGO_SUMMER)),
    ("2017-07-11-my-post.markdown", datetime(2017, 7, 11, tzinfo=CHICAGO_SUMMER)),
    ("2016-02-29-leap.md", datetime(2016, 2, 29, tzinfo=CHICAGO_WINTER)),
]


@pytest.mark.parametrize(("name", "expected"), NAMED, ids=[n[0] for n in NAMED])
def test_the_date_in_a_jekyll_file_name(empty_project: Path, name: str, expected: datetime) -> None:
    write_post(empty_project, name, "---\ntitle: From the name\n---\nx\n")
    assert _only(empty_project).date == expected


@pytest.mark.parametrize("name", ["my-post.md", "2017-02-30-bad-day.md", "2017-07-11.md"])
def test_without_a_date_anywhere_the_date_is_missing(empty_project: Path, name: str) -> None:
    write_post(empty_project, name, "---\ntitle: Undated\n---\nx\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors] == [f"posts/{name}:2: missing date"]


def test_the_front_matter_date_wins_over_the_file_name(empty_project: Path) -> None:
    write_post(empty_project, "2017-07-11-x.md", "---\ntitle: X\ndate: 2018-01-02 10:00\n---\nx\n")
    assert _only(empty_project).date.date().isoformat() == "2018-01-02"


def test_markdown_suffix_is_a_post(empty_project: Path) -> None:
    write_post(empty_project, "old.markdown", "---\ntitle: Old suffix\ndate: 2026-11-02\n---\nx\n")
    write_post(empty_project, "notes.txt", "not a post\n")
    assert _only(empty_project).title == "Old suffix"


TOML = """\
+++
title = "Hugo post"
date = 2017-07-11T09:00:00+01:00
tags = ["cells", "Hugo"]
categories = ["Research"]
draft = false
slug = "Hugo-Post"
aliases = ["/2017/07/11/hugo-post/"]

[[references]]
text = "A. Author (2017). A work."
doi = "10.1000/xyz"
+++
Body with a citation [1].
"""


def test_toml_front_matter(empty_project: Path) -> None:
    write_post(empty_project, "hugo.md", TOML)
    post = _only(empty_project)
    assert (post.title, post.tags, post.categories, post.slug) == (
        "Hugo post",
        ("cells", "Hugo"),
        ("Research",),
        "Hugo-Post",
    )
    assert post.date == datetime(2017, 7, 11, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    assert post.references[0].doi == "10.1000/xyz" and post.references[0].line == 10
    assert post.aliases == ("/2017/07/11/hugo-post/",)
    assert 'href="https://news.northbridge-care.example.org/posts/Hugo-Post/#ref-1"' in post.body_html
    assert post.body_line == 14


TOML_BROKEN = [
    ("+++\ntitle = \n+++\nx\n", "posts/t.md:2: invalid TOML"),
    ('+++\ntitle = "x"\ndate = 2017-07-11\n', "posts/t.md:1: front matter is not closed: add a '+++' line"),
    ('+++\ntitle = "a\\u0001"\ndate = 2017-07-11\n+++\nx\n', "posts/t.md:2: control character U+0001"),
    ('+++\ndate = 2017-07-11\ncolor = "red"\n+++\nx\n', "posts/t.md:2: missing title"),
    ('+++\ntitle = "T"\ndate = "yesterday"\n+++\nx\n', "posts/t.md:3: cannot read date"),
]


@pytest.mark.parametrize(("text", "expected"), TOML_BROKEN, ids=[e for _, e in TOML_BROKEN])
def test_toml_problems_have_their_lines(empty_project: Path, text: str, expected: str) -> None:
    write_post(empty_project, "t.md", text)
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors][0].startswith(expected)


PUBLISHED = [
    ("published: false", True, ["posts/p.md:4: warning: 'published: false' is read as 'draft: true'"]),
    ("published: true", False, []),
    ("published: true\ndraft: true", True, []),
    ("draft: false\npublished: false", True, ["posts/p.md:5: warning: 'published: false' is read as 'draft: true'"]),
    ("status: draft", True, ["posts/p.md:4: warning: 'status: draft' is read as 'draft: true'"]),
    ("status: Hidden", True, ["posts/p.md:4: warning: 'status: Hidden' is read as 'draft: true'"]),
]


@pytest.mark.parametrize(("keys", "draft", "warnings"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_jekyll_published_false_is_a_draft(empty_project: Path, keys: str, draft: bool, warnings: list[str]) -> None:
    write_post(empty_project, "p.md", f"---\ntitle: P\ndate: 2026-11-02\n{keys}\n---\nx\n")
    project = load_project(empty_project)
    assert project.posts[0].draft is draft
    assert (project.published == []) is draft
    assert [str(w).split(": the post")[0] for w in project.warnings] == warnings


def test_published_must_be_true_or_false(empty_project: Path) -> None:
    write_post(empty_project, "p.md", "---\ntitle: P\ndate: 2026-11-02\npublished: nope\n---\nx\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors] == ["posts/p.md:4: published must be true or false"]


KEYS = [
    ("layout: post", []),
    ("permalink: /x/\ncomments: true\ntoc: true\nweight: 3\nfeatured_image: a.png", []),
    ("colour: red", ["posts/k.md:4: warning: unknown front-matter key 'colour' is ignored"]),
    ("tag: [a]", ["posts/k.md:4: warning: unknown front-matter key 'tag' is ignored (did you mean tags?)"]),
    (
        "catgories: [a]",
        ["posts/k.md:4: warning: unknown front-matter key 'catgories' is ignored (did you mean categories?)"],
    ),
    ("sumary: x", ["posts/k.md:4: warning: unknown front-matter key 'sumary' is ignored (did you mean summary?)"]),
    ("mood: calm", ["posts/k.md:4: warning: unknown front-matter key 'mood' is ignored"]),
    ("status: published", []),
    ("lang: es\naliases: [/old/]", []),
]


@pytest.mark.parametrize(("keys", "warnings"), KEYS, ids=[k[0] for k in KEYS])
def test_other_tools_keys_and_misspelt_keys(empty_project: Path, keys: str, warnings: list[str]) -> None:
    write_post(empty_project, "k.md", f"---\ntitle: K\ndate: 2026-11-02\n{keys}\n---\nx\n")
    assert [str(w) for w in load_project(empty_project).warnings] == warnings


def test_ignore_keys_setting(empty_project: Path) -> None:
    config = empty_project / "newsletter.toml"
    config.write_text(config.read_text() + '\n[load]\nignore_keys = ["colour", "Mood"]\n')
    write_post(empty_project, "k.md", "---\ntitle: K\ndate: 2026-11-02\ncolour: red\nmood: ok\nshade: 1\n---\nx\n")
    assert [str(w) for w in load_project(empty_project).warnings] == [
        "posts/k.md:6: warning: unknown front-matter key 'shade' is ignored"
    ]


def test_ignore_keys_must_be_a_list_of_strings(empty_project: Path) -> None:
    config = empty_project / "newsletter.toml"
    config.write_text(config.read_text() + "\n[load]\nignore_keys = 3\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [e.message for e in info.value.errors] == ["load.ignore_keys must be a list of strings"]


def test_lang_is_kept_and_checked(empty_project: Path) -> None:
    write_post(empty_project, "es.md", "---\ntitle: Hola\ndate: 2026-11-02\nlang: es-MX\n---\nx\n")
    assert _only(empty_project).lang == "es-MX"
    write_post(empty_project, "bad.md", "---\ntitle: Bad\ndate: 2026-11-02\nlang: '<es>'\n---\nx\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors][0].startswith("posts/bad.md:4: lang must be a language tag")


SLUGS = [("My-Post", "My-Post"), ("BigData_2017", "BigData_2017"), ("v1.2-notes", "v1.2-notes")]


@pytest.mark.parametrize(("written", "kept"), SLUGS)
def test_slugs_keep_upper_case(empty_project: Path, written: str, kept: str) -> None:
    write_post(empty_project, "s.md", f"---\ntitle: S\ndate: 2026-11-02\nslug: {written}\n---\nx\n")
    post = _only(empty_project)
    assert post.slug == kept and post.url.endswith(f"/posts/{kept}/")


def _set_site(project: Path, line: str) -> None:
    config = project / "newsletter.toml"
    config.write_text(config.read_text().replace("[site]\n", f"[site]\n{line}\n"))


def test_a_slug_may_return_in_another_year_when_the_url_holds_the_year(empty_project: Path) -> None:
    _set_site(empty_project, 'post_path = "{year}/{month}/{day}/{slug}/"')
    write_post(empty_project, "a.md", "---\ntitle: A\ndate: 2017-07-11 9:00:00\nslug: recap\n---\nx\n")
    write_post(empty_project, "b.md", "---\ntitle: B\ndate: 2018-07-11 9:00:00\nslug: recap\n---\nx\n")
    urls = sorted(p.url for p in load_project(empty_project).posts)
    base = "https://news.northbridge-care.example.org/"
    assert urls == [base + "2017/07/11/recap/", base + "2018/07/11/recap/"]


def test_one_address_for_two_posts_is_an_error(empty_project: Path) -> None:
    _set_site(empty_project, 'post_path = "{year}/{slug}/"')
    write_post(empty_project, "a.md", "---\ntitle: A\ndate: 2017-01-11\nslug: recap\n---\nx\n")
    write_post(empty_project, "b.md", "---\ntitle: B\ndate: 2017-07-11\nslug: recap\n---\nx\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors] == [
        "posts/b.md:4: duplicate slug 'recap' (also used by posts/a.md): "
        "both would be at https://news.northbridge-care.example.org/2017/recap/"
    ]


def test_post_url_takes_the_date_placeholders(empty_project: Path) -> None:
    _set_site(empty_project, 'post_url = "https://blog.example.org/{year}/{month}/{day}/{slug}.html"')
    write_post(empty_project, "a.md", "---\ntitle: A\ndate: 2017-07-01 23:30 +0000\nslug: Late\n---\nx\n")
    # The date in the site's time zone (America/Chicago) gives the path, as Jekyll does.
    assert _only(empty_project).url == "https://blog.example.org/2017/07/01/Late.html"


PATTERNS = [
    ('post_path = "/{slug}/"', "site.post_path must be a path under site.url"),
    ('post_path = "../{slug}/"', "site.post_path must be a path under site.url"),
    ('post_path = "{year}/{slug}"', "site.post_path must end in '/' or '.html'"),
    ('post_path = "{year}/"', "site.post_path must contain {slug}"),
    ('post_path = "{slug}/{hour}/"', "site.post_path: use only the placeholders {year}, {month}, {day}, {slug}"),
    ('post_url = "https://x.org/{year}/"', "site.post_url must contain {slug}"),
]


@pytest.mark.parametrize(("line", "expected"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_bad_url_patterns(empty_project: Path, line: str, expected: str) -> None:
    _set_site(empty_project, line)
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [e.message for e in info.value.errors][0].startswith(expected)


ALIASES = [
    ("aliases: ['/../../etc/']", "posts/a.md:4: alias '/../../etc/' is not an address on this site"),
    ("aliases: ['https://old.example.org/x/']", "posts/a.md:4: alias 'https://old.example.org/x/' is not an address"),
    ("aliases: ['/a%2F..%2F..%2Fx/']", "posts/a.md:4: alias '/a%2F..%2F..%2Fx/' is not an address"),
    ("aliases: 3", "posts/a.md:4: aliases must be a list of old addresses"),
    ("aliases: ['/']", "posts/a.md:4: alias '/' would replace the site index (public/index.html)"),
    ("aliases: ['/posts/']", "posts/a.md:4: alias '/posts/' would replace the list of posts (public/posts/index.html)"),
    (
        "aliases: ['/posts/other/']",
        "posts/a.md:4: alias '/posts/other/' would replace the page of posts/b.md (public/posts/other/index.html)",
    ),
    (
        "aliases: ['/categories/news/']\ncategories: [News]",
        "posts/a.md:4: alias '/categories/news/' would replace the page of the category 'News'",
    ),
]


@pytest.mark.parametrize(("keys", "expected"), ALIASES, ids=[a[0] for a in ALIASES])
def test_bad_aliases_are_path_line_errors(empty_project: Path, keys: str, expected: str) -> None:
    write_post(empty_project, "a.md", f"---\ntitle: A\ndate: 2026-11-02\n{keys}\n---\nx\n")
    write_post(empty_project, "b.md", "---\ntitle: B\ndate: 2026-11-02\nslug: other\n---\nx\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors][0].startswith(expected)


GROUPS = [
    ([("posts/a.md", 3, "m")], ["posts/a.md:3: warning: m"]),
    (
        [("posts/a.md", 3, "m"), ("posts/b.md", 4, "m"), ("posts/c.md", 2, "n")],
        ["warning: m (in 2 files, e.g. posts/a.md:3, posts/b.md:4)", "posts/c.md:2: warning: n"],
    ),
    (
        [(f"posts/p{i}.md", 3, "unknown key 'layout'") for i in range(175)],
        ["warning: unknown key 'layout' (in 175 files, e.g. posts/p0.md:3, posts/p1.md:3, posts/p2.md:3 and 172 more)"],
    ),
    (
        [("posts/a.md", 3, "m"), ("posts/a.md", 9, "m")],
        ["warning: m (2 times in 1 files, e.g. posts/a.md:3, posts/a.md:9)"],
    ),
]


@pytest.mark.parametrize(("items", "lines"), GROUPS)
def test_warnings_are_grouped_by_kind(items: list[tuple[str, int, str]], lines: list[str]) -> None:
    assert group_warnings([SourceError(p, n, m, warning=True) for p, n, m in items]) == lines


def test_keys_in_any_case_as_hugo_and_pelican_read_them(empty_project: Path) -> None:
    write_post(
        empty_project,
        "h.md",
        "---\nTitle: Capitalised\nDate: 2013-11-07\nTags: [go]\nSlug: My-Slug\nDescription: From Hugo.\n---\nx\n",
    )
    project = load_project(empty_project)
    post = project.posts[0]
    assert (post.title, post.tags, post.slug, post.summary) == ("Capitalised", ("go",), "My-Slug", "From Hugo.")
    assert post.line_of("tags") == 4 and project.warnings == []


def test_both_spellings_keep_the_lower_case_one(empty_project: Path) -> None:
    write_post(empty_project, "h.md", "---\ntitle: lower\nTitle: Upper\ndate: 2026-11-02\n---\nx\n")
    project = load_project(empty_project)
    assert project.posts[0].title == "lower"
    assert [str(w) for w in project.warnings] == [
        "posts/h.md:3: warning: unknown front-matter key 'Title' is ignored (did you mean title?)"
    ]


@pytest.mark.parametrize(
    ("keys", "summary"),
    [("summary: S\ndescription: D", "S"), ("description: D\nexcerpt: E", "D"), ("excerpt: E", "E"), ("", "Body.")],
)
def test_description_and_excerpt_give_the_summary(empty_project: Path, keys: str, summary: str) -> None:
    write_post(empty_project, "s.md", f"---\ntitle: S\ndate: 2026-11-02\n{keys}\n---\nBody.\n")
    assert _only(empty_project).summary == summary


TEMPLATE_CODE = [
    ('Intro.\n\n{{< figure src="a.png" >}}\n', 8),
    ("Intro.\n\n{{% img src=x %}}\n", 8),
    ("Intro.\n\n{% include note.html %}\n", 8),
    ("Intro.\n\n`{{< figure >}}` in code\n\n```\n{% raw %}\n```\n", None),
    ("No template code {here}.\n", None),
]


@pytest.mark.parametrize(("body", "line"), TEMPLATE_CODE)
def test_template_code_shown_as_text_is_a_warning(empty_project: Path, body: str, line: int | None) -> None:
    write_post(empty_project, "t.md", f"---\ntitle: T\ndate: 2026-11-02\ntags: [x]\n---\n{body}")
    lines = [w.line for w in load_project(empty_project).warnings if "shortcode or Liquid tag" in w.message]
    assert lines == ([] if line is None else [line])


def test_hugo_url_is_an_old_address_and_an_alias_at_the_new_address_is_no_clash(empty_project: Path) -> None:
    _set_site(empty_project, 'post_path = "{year}/{month}/{slug}/"')
    write_post(
        empty_project,
        "h.md",
        "---\ntitle: H\ndate: 2010-07-02\nslug: why\nUrl: post/why-projects-fail\naliases: [/2010/07/why/]\n---\nx\n",
    )
    write_post(empty_project, "b.md", "---\ntitle: B\ndate: 2010-07-02\nurl: https://old.example.org/b/\n---\nx\n")
    project = load_project(empty_project)
    by_title = {p.title: p for p in project.posts}
    assert by_title["H"].aliases == ("/2010/07/why/", "/post/why-projects-fail")
    assert [str(w) for w in project.warnings] == [
        "posts/b.md:4: warning: url 'https://old.example.org/b/' is ignored: an old address such as "
        "/2017/07/my-post/ gets a redirect page"
    ]
    from newsletter.render.site import render_site

    pages = render_site(project, [])
    assert "post/why-projects-fail/index.html" in pages and "2010/07/why/index.html" in pages
    assert "<meta http-equiv" not in pages["2010/07/why/index.html"]  # the post itself, not a redirect
