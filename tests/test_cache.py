"""The build cache: cached and uncached builds agree; edits invalidate what they should."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import tree

from newsletter.build import build
from newsletter.cache import CACHE_DIR

SEED_PAGE = "public/posts/neural-progenitors-derived-from-bone-mesenchymal-stem-cells-help-multiple/index.html"


def _outputs(project: Path) -> dict[str, bytes]:
    return {f"{name}/{k}": v for name in ("public", "outbox") for k, v in tree(project / name).items()}


def _uncached_twin(project: Path, tmp_path: Path) -> Path:
    twin = tmp_path / "twin"
    if twin.exists():
        shutil.rmtree(twin)
    shutil.copytree(project, twin, ignore=shutil.ignore_patterns("public", "outbox", CACHE_DIR))
    build(twin)
    return twin


def _seed(project: Path) -> Path:
    return next((project / "posts").glob("2026-11-18-*.md"))


def test_warm_build_writes_nothing_and_agrees(sample: Path, tmp_path: Path) -> None:
    build(sample)
    assert list((sample / CACHE_DIR).glob("posts-*.pickle"))
    again = build(sample)
    assert again.written == []
    assert again.digest_status == "unchanged"
    assert _outputs(sample) == _outputs(_uncached_twin(sample, tmp_path))


def test_a_changed_post_rewrites_its_page_feeds_and_digest_only(sample: Path, tmp_path: Path) -> None:
    build(sample)
    seed = _seed(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("six patients", "six adult patients"), "utf-8")
    result = build(sample)
    written = set(result.written)
    assert SEED_PAGE in written
    assert {"public/feed.xml", "public/atom.xml", "public/feed.json"} <= written
    assert "public/categories/multiple-sclerosis.xml" in written
    assert "outbox/2026-W47/message.html" in written
    assert not [p for p in written if p.startswith("public/posts/") and p not in (SEED_PAGE, "public/posts/index.html")]
    assert "public/categories/cardiology.xml" not in written
    assert _outputs(sample) == _outputs(_uncached_twin(sample, tmp_path))


def test_a_template_change_rerenders_the_pages(sample: Path, tmp_path: Path) -> None:
    build(sample)
    (sample / "templates" / "site").mkdir(parents=True, exist_ok=True)
    (sample / "templates" / "site" / "post.html").write_text(
        '{% extends "default/site/post.html" %}{% block title %}Read: {{ super() }}{% endblock %}', "utf-8"
    )
    result = build(sample)
    pages = [p for p in result.written if p.startswith("public/posts/") and p != "public/posts/index.html"]
    assert len(pages) == len(result.project.published)
    assert "<title>Read: " in (sample / SEED_PAGE).read_text(encoding="utf-8")
    assert _outputs(sample) == _outputs(_uncached_twin(sample, tmp_path))


def test_a_setting_change_invalidates_everything(sample: Path, tmp_path: Path) -> None:
    build(sample)
    config = sample / "newsletter.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("Northbridge Regenerative Care", "Northbridge"), "utf-8"
    )
    result = build(sample)
    assert SEED_PAGE in result.written and "public/categories/cardiology.xml" in result.written
    assert "outbox/2026-W47/message.eml" in result.written
    assert _outputs(sample) == _outputs(_uncached_twin(sample, tmp_path))


def test_a_deleted_image_is_noticed(sample: Path) -> None:
    build(sample)
    (sample / "posts" / "images" / "clinic-lab.svg").unlink()
    from newsletter.errors import InputError

    try:
        build(sample)
    except InputError as exc:
        assert "image not found" in str(exc)
    else:
        raise AssertionError("the cached post still thought its image existed")


def test_a_broken_cache_is_a_cold_start(sample: Path, tmp_path: Path) -> None:
    build(sample)
    for shard in (sample / CACHE_DIR).glob("posts-*.pickle"):
        shard.write_bytes(b"not a pickle")
    (sample / CACHE_DIR / "outputs.pickle").write_bytes(b"")
    shutil.rmtree(sample / "public")
    build(sample)
    assert _outputs(sample) == _outputs(_uncached_twin(sample, tmp_path))


def test_withdrawn_posts_leave_the_site_and_feeds(sample: Path, tmp_path: Path) -> None:
    build(sample)
    seed = _seed(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("date:", "draft: true\ndate:", 1), "utf-8")
    result = build(sample)
    assert SEED_PAGE in result.removed
    assert not (sample / SEED_PAGE).parent.exists()
    assert "public/categories/multiple-sclerosis.xml" in result.removed  # its only post is gone
    assert "Neural Progenitors" not in (sample / "public/categories/bone-marrow.xml").read_text(encoding="utf-8")
    twin = _uncached_twin(sample, tmp_path)
    assert tree(sample / "public") == tree(twin / "public")
    # Files the build never made are never removed.
    (sample / "public" / "posts" / "mine.html").write_text("mine", encoding="utf-8")
    seed.unlink()
    build(sample)
    assert (sample / "public" / "posts" / "mine.html").is_file()


def test_check_reads_the_cache_and_writes_nothing(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    build(sample)
    before = tree(sample)
    seed = _seed(sample)
    text = seed.read_text(encoding="utf-8")
    result = cli("check", "-C", sample)
    assert result.exit_code == 0, result.output
    assert tree(sample) == before
    seed.write_text(text.replace("date: 2026-11-18 09:30", "date: someday"), encoding="utf-8")
    broken = cli("check", "-C", sample)
    assert broken.exit_code == 1
    assert "cannot read date 'someday'" in broken.stderr


def test_a_body_edit_leaves_the_listings_alone_unless_a_template_of_ours_shows_more(
    sample: Path, tmp_path: Path
) -> None:
    build(sample)
    seed = _seed(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("six patients", "six adult patients"), "utf-8")
    written = set(build(sample).written)
    assert SEED_PAGE in written
    assert not {"public/index.html", "public/posts/index.html"} & written
    # A project's own listing may show bodies: then a body edit renders it again.
    (sample / "templates" / "site").mkdir(parents=True, exist_ok=True)
    (sample / "templates" / "site" / "index.html").write_text(
        "{% for post in posts %}{{ post.body_html | safe }}{% endfor %}\n", "utf-8"
    )
    build(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("six adult patients", "six grown-up patients"), "utf-8")
    written = set(build(sample).written)
    assert {"public/index.html", "public/posts/index.html"} <= written
    assert "six grown-up patients" in (sample / "public" / "index.html").read_text(encoding="utf-8")
    assert _outputs(sample) == _outputs(_uncached_twin(sample, tmp_path))


def test_sweep_dead_removes_the_temporary_files_of_processes_that_are_gone(tmp_path: Path) -> None:
    import subprocess

    from newsletter.cache import sweep_dead
    from newsletter.write import TEMP_PREFIX

    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process now
    dead = tmp_path / f"{TEMP_PREFIX}{gone.pid}-1-posts-03.pickle"
    dead_new_folder = tmp_path / f"{TEMP_PREFIX}{gone.pid}-1n-posts-04.pickle"  # staged in a new folder
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-1-posts-05.pickle"
    backup = tmp_path / f"{TEMP_PREFIX}old-{gone.pid}-1-posts-07.pickle"
    other = tmp_path / "posts-06.pickle"
    for path in (dead, dead_new_folder, live, other, backup):
        path.write_bytes(b"x")
    sweep_dead(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
