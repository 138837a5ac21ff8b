"""Message checks: table-driven on crafted messages, then on a real build."""

from __future__ import annotations

import json
import re
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from conftest import REPO, SHARED

from newsletter.checks import check_message, check_text, summarize
from newsletter.checks.clients import DATA_FILE, check_clients, client_table, html_features
from newsletter.checks.html import check_images, check_links, scan_html, site_folders
from newsletter.config import EmailSettings, Settings, SiteSettings

BASE = "https://news.example.org/"
CANIEMAIL = SHARED / "data" / "caniemail-data.json"

# ---------------------------------------------------------------- the compact caniemail table
#
# newsletter/data/caniemail.json is reduced from the shared caniemail data by
# reduce_caniemail(); test_client_table_matches_caniemail says how to redo it.
CLIENTS = {  # our name -> (display name, caniemail family, platforms)
    "gmail": ("Gmail", "gmail", ("desktop-webmail", "ios", "android")),
    "outlook-windows": ("Outlook (Windows)", "outlook", ("windows",)),
    "apple-mail": ("Apple Mail", "apple-mail", ("macos", "ios")),
    "yahoo": ("Yahoo", "yahoo", ("desktop-webmail", "ios", "android")),
}
# What the digest template uses (scanned), what Markdown posts produce, and
# the raw-HTML features that most often break in email.
FEATURES = """
css-at-media css-at-media-prefers-color-scheme css-background-color css-border css-border-collapse
css-border-radius css-border-spacing css-color-scheme css-display css-font-size css-font-weight css-height
css-important css-letter-spacing css-line-height css-margin css-max-width css-padding css-selector-attribute
css-selector-class css-selector-descendant css-selector-grouping css-text-align css-text-decoration
css-text-transform css-unit-em css-unit-percent css-unit-px css-vertical-align css-white-space css-width
css-word-break html-aria-label html-body html-comments html-dir html-div html-doctype html-h1-h6 html-lang
html-lists html-meta-color-scheme html-p html-role html-style html-table html-anchor-links html-mailto-links
html-abbr html-blockquote html-code html-pre html-del html-hr html-img html-semantics html-small html-span
html-strike html-strong html-width html-height html-align
image-png image-jpg image-gif image-svg image-webp image-avif image-base64 html-svg
css-display-none css-display-flex css-display-grid css-position css-background-image css-box-shadow
css-variables css-rgba css-linear-gradient css-max-height css-overflow css-opacity css-min-width
css-box-sizing css-pseudo-class-hover css-at-font-face css-at-import css-function-light-dark css-unit-rem
css-unit-vw css-float css-object-fit css-text-overflow css-selector-child css-font
""".split()  # noqa: SIM905 - easier to read and edit as words


def _latest(versions: dict[str, str]) -> str:
    newest = max(versions, key=lambda v: tuple(int(n) for n in re.findall(r"\d+", v)))
    return versions[newest].split()[0]  # "a #1" -> "a"


def reduce_caniemail(data: dict, slugs: list[str]) -> dict:  # type: ignore[type-arg]
    """One verdict per client: the latest test on each platform, y/n when all agree, else a."""
    features = {}
    for item in sorted(data["data"], key=lambda f: f["slug"]):
        if item["slug"] not in slugs:
            continue
        entry = {"title": item["title"]}
        for key, (_name, family, platforms) in CLIENTS.items():
            stats = item["stats"].get(family, {})
            verdicts = {_latest(stats[p]) for p in platforms if stats.get(p)} - {"u"}
            entry[key] = "u" if not verdicts else verdicts.pop() if len(verdicts) == 1 else "a"
        features[item["slug"]] = entry
    return {
        "source": "caniemail.com (https://www.caniemail.com/), "
        f"api_version {data['api_version']}, last_update_date {data['last_update_date']}",
        "license": "MIT License, Copyright (c) 2019 Rémi Parmentier",
        "reduced": "latest test per platform; y supported, a partly or mixed, n not supported, u unknown",
        "clients": {key: name for key, (name, _f, _p) in CLIENTS.items()},
        "features": features,
    }


def test_client_table_matches_caniemail() -> None:
    if not CANIEMAIL.is_file():
        pytest.skip("shared caniemail data not present")
    expected = reduce_caniemail(json.loads(CANIEMAIL.read_text(encoding="utf-8")), FEATURES)
    assert set(expected["features"]) == set(FEATURES), "a slug in FEATURES is not in caniemail"
    assert json.loads(DATA_FILE.read_text(encoding="utf-8")) == expected, (
        'regenerate: python -c \'import json,sys; sys.path[:0]=["tests"]; import test_checks as t; '
        "print(json.dumps(t.reduce_caniemail(json.load(open(t.CANIEMAIL)), t.FEATURES), indent=1, "
        "ensure_ascii=False))' > newsletter/data/caniemail.json"
    )


def test_client_table_is_small_and_credits_its_source() -> None:
    table = client_table()
    assert DATA_FILE.stat().st_size < 20_000
    assert "caniemail" in table["source"] and "MIT" in table["license"]
    assert set(table["clients"]) == {"gmail", "outlook-windows", "apple-mail", "yahoo"}
    assert table["features"]["css-border-radius"]["outlook-windows"] == "n"


# ---------------------------------------------------------------- crafted messages

GOOD_HTML = f"""<!DOCTYPE html>
<html lang="en" dir="ltr"><head><meta charset="utf-8"><title>T</title>
<style>@media (prefers-color-scheme:dark){{.card{{background-color:#111!important}}}}</style></head>
<body><div role="article" lang="en" dir="ltr">
<h1>The digest</h1>
<h2><a href="{BASE}posts/one/">One</a></h2>
<p>See <a href="#ref-1">[1]</a> and <a href="mailto:care@example.org">write</a>.</p>
<img src="{BASE}media/pic.png" alt="A picture" width="300">
<ol><li id="ref-1">A reference.</li></ol>
<p><a href="{BASE}unsubscribe">Unsubscribe</a> <a href="{BASE}digests/2026-W47.html">View</a></p>
</div></body></html>
"""
GOOD_TEXT = "One\n\nSee [1].\n\n[1] " + BASE + "posts/one/" + "x" * 80 + "\n"
HEADERS = {
    "From": "News <news@example.org>",
    "To": "Subscribers <subs@example.org>",
    "Subject": "News: 16-22 November 2026",
    "Date": "Tue, 24 Nov 2026 12:00:00 +0000",
    "Message-ID": "<2026-W47.weekly@news.example.org>",
    "List-Id": "News <weekly.news.example.org>",
    "List-Unsubscribe": f"<{BASE}unsubscribe>, <mailto:unsubscribe@example.org>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def _message(html: str = GOOD_HTML, text: str = GOOD_TEXT, headers: dict | None = None, extra=()) -> bytes:  # type: ignore[no-untyped-def,type-arg]
    msg = EmailMessage(policy=SMTP)
    for name, value in (headers if headers is not None else HEADERS).items():
        msg[name] = value
    for name, value in extra:
        msg[name] = value
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    msg.set_boundary("b1")
    return msg.as_bytes()


def _folder(tmp_path: Path, eml: bytes, html: str | None = GOOD_HTML) -> Path:
    folder = tmp_path / "outbox" / "2026-W47"
    folder.mkdir(parents=True)
    (folder / "message.eml").write_bytes(eml)
    if html is not None:
        (folder / "message.html").write_text(html, encoding="utf-8")
    public = tmp_path / "public"
    for name in ("posts/one/index.html", "media/pic.png", "digests/2026-W47.html", "index.html"):
        (public / name).parent.mkdir(parents=True, exist_ok=True)
        (public / name).write_text("x")
    return folder


SETTINGS = Settings(root=Path("."), site=SiteSettings(url=BASE))
SETTINGS_UNSUB = Settings(
    root=Path("."), site=SiteSettings(url=BASE), email=EmailSettings(unsubscribe_url=BASE + "unsubscribe")
)


def _codes(tmp_path: Path, eml: bytes, html: str | None = GOOD_HTML, settings: Settings = SETTINGS_UNSUB):  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path, eml, html)
    results = check_message(folder, settings, tmp_path / "public")
    return {(r.level, r.code) for r in results}, results


def test_a_good_message_has_no_errors_or_warnings(tmp_path: Path) -> None:
    codes, results = _codes(tmp_path, _message())
    assert {level for level, _ in codes} <= {"info"}, [str(r) for r in results]
    assert ("info", "size") in codes
    assert ("info", "client-support") in codes  # prefers-color-scheme, !important ...


def _without(name: str) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in HEADERS.items() if k != name}


def _with(name: str, value: str) -> dict:  # type: ignore[type-arg]
    return {**HEADERS, name: value}


BIG = GOOD_HTML.replace("</div>", "<p>" + "Lorem ipsum dolor sit amet. " * 3300 + "</p></div>")  # 92 KB
BIGGER = BIG.replace("</p></div>", "Lorem ipsum dolor sit amet. " * 400 + "</p></div>")  # 104 KB
# (name, message.eml, message.html, expected (level, code)); None: the good one.
CASES = [
    ("missing Subject", _message(headers=_without("Subject")), None, ("error", "header-missing")),
    ("missing List-Id", _message(headers=_without("List-Id")), None, ("error", "header-missing")),
    ("missing Message-ID", _message(headers=_without("Message-ID")), None, ("error", "header-missing")),
    ("missing one-click", _message(headers=_without("List-Unsubscribe-Post")), None, ("error", "header-missing")),
    ("two List-Unsubscribe", _message(extra=[("List-Unsubscribe", f"<{BASE}x>")]), None, ("error", "header-duplicate")),
    (
        "http unsubscribe",
        _message(headers=_with("List-Unsubscribe", "<http://news.example.org/unsubscribe>")),
        None,
        ("error", "unsubscribe-https"),
    ),
    (
        "wrong one-click value",
        _message(headers=_with("List-Unsubscribe-Post", "List-Unsubscribe=Yes")),
        None,
        ("error", "unsubscribe-post"),
    ),
    (
        "bad Message-ID",
        _message(headers=_with("Message-ID", "no-angle-brackets")),
        None,
        ("error", "header-message-id"),
    ),
    ("broken anchor", GOOD_HTML.replace('href="#ref-1"', 'href="#ref-9"'), None, ("error", "anchor-missing")),
    ("relative link", GOOD_HTML.replace(f'href="{BASE}posts', 'href="/posts'), None, ("error", "link-relative")),
    ("javascript link", GOOD_HTML.replace('href="#ref-1"', 'href="javascript:x()"'), None, ("error", "link-scheme")),
    ("missing page", GOOD_HTML.replace("posts/one/", "posts/two/"), None, ("warning", "link-missing-page")),
    ("image without alt", GOOD_HTML.replace(' alt="A picture"', ""), None, ("error", "image-alt")),
    ("image without width", GOOD_HTML.replace(' width="300"', ""), None, ("warning", "image-width")),
    (
        "data: image",
        GOOD_HTML.replace(f"{BASE}media/pic.png", "data:image/png;base64,AA"),
        None,
        ("error", "image-data"),
    ),
    ("long text line", _message(text="word " * 30 + "\n"), None, ("warning", "text-line-length")),
    ("oversized HTML", BIG, None, ("error", "size-html")),
    ("message over Gmail's clip", BIGGER, None, ("error", "size-eml")),
    ("message.html differs", None, GOOD_HTML.replace("One", "Two", 1), ("warning", "html-file")),
    ("not multipart", b"From: a@b.org\r\nSubject: x\r\n\r\nbody\r\n", None, ("error", "mime-structure")),
    ("parser defect", _message().replace(b"--b1--", b""), None, ("error", "parse-defect")),
]


@pytest.mark.parametrize(("eml", "html", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_crafted_problem_is_found(tmp_path: Path, eml: bytes | str | None, html: str | None, expected: tuple) -> None:  # type: ignore[type-arg]
    if isinstance(eml, str):  # an HTML part: message.html is the same
        eml, html = _message(html=eml), eml
    codes, results = _codes(tmp_path, eml or _message(), html or GOOD_HTML)
    assert expected in codes, [str(r) for r in results]


def test_a_cta_to_another_page_on_the_sites_domain_is_not_a_missing_page(tmp_path: Path) -> None:
    # A contact page on the site's own domain, served by another system: none of the build's business.
    html = GOOD_HTML.replace("</div></body>", f'<p><a href="{BASE}contact">Talk to us</a></p></div></body>')
    codes, results = _codes(tmp_path, _message(html=html), html, settings=SETTINGS)
    assert not [r for r in results if r.code == "link-missing-page"], [str(r) for r in results]
    assert {level for level, _ in codes} <= {"info"}


@pytest.mark.parametrize(
    ("tag", "warned"),
    [
        (f'<a href="{BASE}posts/one/">', False),
        (f'<a href="{BASE}posts/one/#ref-1">', False),
        (f'<a href="{BASE}posts/two/">', True),
        (f'<a href="{BASE}digests/2026-W46.html">', True),
        (f'<a href="{BASE}digests/2026-W47.html">', False),
        (f'<a href="{BASE}categories/neurology.xml">', True),
        (f'<a href="{BASE}feed.xml">', True),
        (f'<a href="{BASE}">', False),
        (f'<a href="{BASE}index.html">', False),
        (f'<a href="{BASE}contact">', False),
        (f'<a href="{BASE}about/team/">', False),
        (f'<a href="{BASE}unsubscribe">', False),
        (f'<a href="{BASE}posts">', False),  # not a path the build writes
        ('<a href="https://other.example.org/posts/two/">', False),
        (f'<img src="{BASE}media/pic.png" alt="" width="1">', False),
        (f'<img src="{BASE}media/gone.png" alt="" width="1">', True),
        (f'<img src="{BASE}logo.png" alt="" width="1">', False),
    ],
)
def test_only_pages_the_build_makes_are_looked_up_in_public(tmp_path: Path, tag: str, warned: bool) -> None:
    _folder(tmp_path, _message())
    page = scan_html(f"<p>{tag}x</a></p>")
    results = check_links(page, BASE, tmp_path / "public") + check_images(page, BASE, tmp_path / "public")
    missing = [r for r in results if r.code in ("link-missing-page", "image-missing")]
    assert bool(missing) is warned, [str(r) for r in results]
    if warned:
        assert missing[0].level == "warning" and "is not in public/" in missing[0].message


def test_with_post_url_set_post_links_are_not_looked_up(tmp_path: Path) -> None:
    _folder(tmp_path, _message())
    page = scan_html(f'<a href="{BASE}posts/two/">x</a> <a href="{BASE}digests/2026-W46.html">y</a>')
    results = check_links(page, BASE, tmp_path / "public", folders=site_folders(post_pages=False))
    assert [r.message for r in results] == [f"message.html:1: {BASE}digests/2026-W46.html is not in public/"]


@pytest.mark.parametrize(
    ("line", "long"),
    [
        ("x" * 78, False),
        ("x" * 79, True),
        ("https://example.org/" + "a" * 100, False),
        ("[12] https://example.org/" + "a" * 100, False),
        ("  <https://example.org/" + "a" * 100 + ">", False),
        ("see https://example.org/" + "a" * 100, True),
        ("é" * 78, False),  # characters, not bytes
    ],
)
def test_text_line_length(line: str, long: bool) -> None:
    assert bool(check_text(line + "\n")) is long


@pytest.mark.parametrize(
    ("html", "slug"),
    [
        ('<p style="border-radius:4px">x</p>', "css-border-radius"),
        ('<p style="border-top-left-radius:4px">x</p>', "css-border-radius"),
        ('<p style="display:none">x</p>', "css-display-none"),
        ('<p style="display:flex">x</p>', "css-display-flex"),
        ('<div style="padding-left:1em">x</div>', "css-padding"),
        ("<style>@media (prefers-color-scheme: dark){p{color:#fff}}</style>", "css-at-media-prefers-color-scheme"),
        ('<img src="https://x.org/a.svg" alt="" width="1">', "image-svg"),
        ('<svg width="10"></svg>', "html-svg"),
        ("<style>.a .b{color:red}</style>", "css-selector-descendant"),
        ('<div role="article" dir="ltr">x</div>', "html-role"),
        ('<meta name="color-scheme" content="light dark">', "html-meta-color-scheme"),
    ],
)
def test_features_in_use_are_recognised(html: str, slug: str) -> None:
    assert slug in html_features(scan_html(html), client_table()["features"])


def test_vendor_properties_are_not_features() -> None:
    found = html_features(scan_html('<table style="mso-table-lspace:0pt;-webkit-text-size-adjust:100%">'), {})
    assert found == set()


def test_client_notes_name_the_clients() -> None:
    notes = check_clients(scan_html('<a style="border-radius:6px" href="https://x.org/">b</a>'))
    assert [n.level for n in notes] == ["info"]
    assert "Outlook (Windows)" in notes[0].message and "border-radius" in notes[0].message


def test_summary_counts_levels(tmp_path: Path) -> None:
    _, results = _codes(tmp_path, _message(headers=_without("Date")))
    counts = summarize(results)
    assert counts["error"] == 1 and counts["warning"] == 0 and counts["info"] >= 1


# ---------------------------------------------------------------- a real build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os
    import shutil

    from newsletter.build import build

    root = tmp_path_factory.mktemp("built") / "sample"
    root.mkdir()
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "posts", root / "posts")
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "1795521600"
    try:
        build(root, week="2026-W47")
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH")
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    return root


def test_the_sample_digest_passes_its_checks(built: Path) -> None:
    from newsletter.config import load_settings
    from newsletter.errors import Problems

    settings = load_settings(built, Problems())
    start = time.perf_counter()
    results = check_message(built / "outbox" / "2026-W47", settings, built / "public")
    elapsed = time.perf_counter() - start
    assert summarize(results)["error"] == 0, [str(r) for r in results if r.level == "error"]
    assert elapsed < 1.0


def test_newsletter_check_reports_outbox_checks(built: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", "-C", built)
    assert result.exit_code == 0, result.output
    assert "outbox/2026-W47" in result.stdout


def test_newsletter_check_fails_on_a_check_error(built: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    eml = copy / "outbox/2026-W47/message.eml"
    eml.write_bytes(re.sub(rb"\r\nList-Unsubscribe-Post: [^\r]*", b"", eml.read_bytes()))
    result = cli("check", "-C", copy)
    assert result.exit_code == 1
    assert "outbox/2026-W47: error: header-missing: no List-Unsubscribe-Post header" in result.output
