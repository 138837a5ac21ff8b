"""`newsletter build` end to end: what lands on disk, and that it holds together."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import html5lib
from conftest import tree

from newsletter.media import sanitize_svg

BASE = "https://news.northbridge-care.example.org/"


def _build(cli, project: Path, *extra: str):  # type: ignore[no-untyped-def]
    result = cli("build", "-C", project, *extra)
    assert result.exit_code == 0, result.output
    return result


def test_build_writes_the_contract_files(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = _build(cli, sample)
    public, outbox = sample / "public", sample / "outbox"
    for name in ("feed.xml", "atom.xml", "feed.json", "index.html", "posts/index.html", "digests/index.html"):
        assert (public / name).is_file(), name
    assert list((public / "categories").glob("*.xml"))
    # SVG images are published sanitized (newsletter.media); the sample's has nothing to remove.
    published = (public / "media/images/clinic-lab.svg").read_bytes()
    assert published == sanitize_svg((sample / "posts/images/clinic-lab.svg").read_bytes())
    assert published.count(b"<rect") == (sample / "posts/images/clinic-lab.svg").read_bytes().count(b"<rect")
    for name in ("message.eml", "message.html", "message.txt", "meta.json"):
        assert (outbox / "2026-W47" / name).is_file(), name
    assert (public / "digests/2026-W47.html").read_bytes() == (outbox / "2026-W47/message.html").read_bytes()
    meta = json.loads((outbox / "2026-W47/meta.json").read_text())
    for slug in meta["posts"]:
        assert (public / "posts" / slug / "index.html").is_file()
    assert "digest 2026-W47" in result.stdout and "files written" in result.stdout


def _local(url: str, public: Path) -> Path | None:
    if not url.startswith(BASE):
        return None
    path = unquote(urlsplit(url).path)[len(urlsplit(BASE).path) :]
    target = public / path
    return target / "index.html" if path == "" or path.endswith("/") else target


def test_every_link_to_the_site_resolves(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _build(cli, sample)
    public = sample / "public"
    documents = [p for p in public.rglob("*.html")] + [sample / "outbox/2026-W47/message.html"]
    checked = 0
    for doc in documents:
        root = html5lib.parse(doc.read_text(encoding="utf-8"), namespaceHTMLElements=False)
        for el in root.iter():
            for attr in ("href", "src"):
                url = el.get(attr)
                target = _local(url, public) if url else None
                if target is not None:
                    assert target.is_file(), (doc, url)
                    checked += 1
    feeds = [feedparser.parse((public / name).read_bytes()) for name in ("feed.xml", "atom.xml")]
    items = json.loads((public / "feed.json").read_text())["items"]
    for text in [e.content[0].value + e.link for f in feeds for e in f.entries] + [i["content_html"] for i in items]:
        for url in set(re.findall(rf"{BASE}[^\"'<>\s&]*", text)):
            target = _local(url, public)
            assert target is not None and target.is_file(), url
            checked += 1
    assert checked > 50


def test_build_is_reproducible_and_idempotent(sample: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    twin = tmp_path / "twin"
    shutil.copytree(sample, twin)
    _build(cli, sample)
    _build(cli, twin)
    for folder in ("public", "outbox"):
        assert tree(sample / folder) == tree(twin / folder)
    mtimes = {p: p.stat().st_mtime_ns for p in (sample / "public").rglob("*") if p.is_file()}
    again = _build(cli, sample)
    assert "0 files written" in again.stdout
    assert mtimes == {p: p.stat().st_mtime_ns for p in (sample / "public").rglob("*") if p.is_file()}


def test_bad_input_writes_nothing(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (sample / "posts" / "broken.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    before = tree(sample)
    result = cli("build", "-C", sample)
    assert result.exit_code == 1
    assert "posts/broken.md:2: invalid YAML" in result.stderr
    assert tree(sample) == before
    assert not (sample / "public").exists() and not (sample / "outbox").exists()


def test_week_without_posts(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = _build(cli, sample, "--week", "2026-W40")
    assert "2026-W40" in result.stdout and "no digest written" in result.stdout
    assert not (sample / "outbox" / "2026-W40").exists()
    assert (sample / "public" / "feed.xml").is_file()


def test_bad_week_is_a_usage_error(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("build", "-C", sample, "--week", "next tuesday")
    assert result.exit_code == 2
    assert "ISO week" in result.stderr


def test_both_weeks_and_the_archive(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _build(cli, sample, "--week", "2026-W46")
    _build(cli, sample, "--week", "2026-W47")
    index = (sample / "public/digests/index.html").read_text()
    assert index.index("2026-W47") < index.index("2026-W46")
    assert (sample / "public/digests/2026-W46.html").is_file()
    listing = cli("outbox", "-C", sample)
    assert listing.exit_code == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()[1:]] == ["2026-W47", "2026-W46"]
