"""The build engine: a new kind of output is one declaration; the engine builds, caches and removes it.

And the stamp (newsletter.stamp): a build that finds nothing changed does
nothing, and every kind of change it could miss makes a normal build.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import tree

from newsletter import build as build_module
from newsletter.build import Plan, build
from newsletter.cache import CACHE_DIR
from newsletter.engine import Output
from newsletter.errors import NewsletterError

SITEMAP = "public/sitemap.txt"


def _outputs(project: Path) -> dict[str, bytes]:
    return {f"{name}/{k}": v for name, folder in (("public", "public"), ("outbox", "outbox"))
            for k, v in tree(project / folder).items()}  # fmt: skip


def _seed(project: Path) -> Path:
    return next((project / "posts").glob("2026-11-18-*.md"))


class Sitemap:
    """A new kind of output, declared the way build.py declares its own: one declaration."""

    def __init__(self) -> None:
        self.made = 0

    def declare(self, plan: Plan) -> None:
        published = plan.project.published

        def make() -> str:
            self.made += 1
            return "".join(f"{post.url}\n" for post in published)

        plan.engine.declare(Output(SITEMAP, plan.keys.posts(published), make, "site"))


@pytest.fixture
def sitemap(monkeypatch: pytest.MonkeyPatch) -> Sitemap:
    kind = Sitemap()
    monkeypatch.setattr(build_module, "MAKERS", [*build_module.MAKERS, ("site", 1, kind.declare)])
    return kind


def test_a_new_kind_of_output_is_built_cached_rebuilt_and_removed(
    sample: Path, sitemap: Sitemap, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build(sample)
    assert SITEMAP in first.written
    urls = (sample / SITEMAP).read_text(encoding="utf-8").splitlines()
    assert len(urls) == len(first.project.published) and all(url.startswith("https://") for url in urls)
    assert sitemap.made == 1

    # Nothing changed: not made again (the stamp: nothing loaded at all).
    assert build(sample).written == []
    # A post touched but not changed: the engine finds the sitemap up to date.
    seed = _seed(sample)
    os.utime(seed, ns=(seed.stat().st_atime_ns, seed.stat().st_mtime_ns + 10**9))
    touched = build(sample)
    assert touched.written == [] and sitemap.made == 1

    # A post withdrawn: made again, without it.
    text = seed.read_text(encoding="utf-8")
    seed.write_text(text.replace("---\n", "---\ndraft: true\n", 1), encoding="utf-8")
    withdrawn = build(sample)
    assert SITEMAP in withdrawn.written and sitemap.made == 2
    assert len((sample / SITEMAP).read_text(encoding="utf-8").splitlines()) == len(urls) - 1

    # No longer declared: removed like any stale output.
    monkeypatch.setattr(build_module, "MAKERS", [m for m in build_module.MAKERS if m[2] != sitemap.declare])
    seed.write_text(text, encoding="utf-8")
    gone = build(sample)
    assert SITEMAP in gone.removed and not (sample / SITEMAP).exists()


def test_a_new_kind_of_output_that_fails_leaves_public_as_it_was(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(sample)
    before = tree(sample / "public")

    def declare(plan: Plan) -> None:
        def make() -> str:
            raise NewsletterError("the sitemap cannot be made")

        plan.engine.declare(Output(SITEMAP, "", make, "site"))

    monkeypatch.setattr(build_module, "MAKERS", [*build_module.MAKERS, ("site", 1, declare)])
    seed = _seed(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("six patients", "six adult patients"), "utf-8")
    with pytest.raises(NewsletterError, match="sitemap"):
        build(sample)
    assert tree(sample / "public") == before
    assert not [p for p in (sample / "public").rglob("*") if p.name.startswith(".newsletter-tmp-")]


def test_two_declarations_of_one_path_clash(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def declare(plan: Plan) -> None:
        plan.engine.declare(Output("public/index.html", "", lambda: "mine", "site", origin="sitemap.py:1"))

    monkeypatch.setattr(build_module, "MAKERS", [*build_module.MAKERS, ("site", 1, declare)])
    with pytest.raises(NewsletterError, match=r"sitemap.py:1: two outputs would write public/index.html"):
        build(sample)
    assert not (sample / "public").exists() or tree(sample / "public") == {}


def test_a_new_kind_of_output_is_the_same_cached_and_uncached(sample: Path, sitemap: Sitemap, tmp_path: Path) -> None:
    build(sample)
    seed = _seed(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("six patients", "six adult patients"), "utf-8")
    build(sample)
    twin = tmp_path / "twin"
    shutil.copytree(sample, twin, ignore=shutil.ignore_patterns("public", "outbox", CACHE_DIR))
    build(twin)
    assert _outputs(sample) == _outputs(twin)


# --- the stamp: nothing to do, and everything that means there is ---------------------------------------


def test_nothing_changed_loads_nothing_and_reports_as_before(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build(sample)
    from newsletter import load

    def no_loading(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a build with nothing to do loaded the project")

    monkeypatch.setattr(load, "load_project", no_loading)
    again = build(sample)
    assert again.written == [] and again.removed == []
    assert again.unchanged == len(first.written)
    assert again.digest_status == "unchanged" and again.week == first.week
    assert again.published == len(first.project.published)
    assert [str(w) for w in again.warnings] == [str(w) for w in first.project.warnings]


@pytest.mark.parametrize("change", ["output deleted", "output edited", "template", "settings", "outbox", "new post"])
def test_any_change_means_a_normal_build(sample: Path, tmp_path: Path, change: str) -> None:
    build(sample)
    if change == "output deleted":
        (sample / "public" / "index.html").unlink()
    elif change == "output edited":
        (sample / "public" / "feed.json").write_text("{}", encoding="utf-8")
    elif change == "template":
        (sample / "templates" / "site").mkdir(parents=True, exist_ok=True)
        (sample / "templates" / "site" / "post.html").write_text("<p>{{ post.title }}</p>\n", encoding="utf-8")
    elif change == "settings":
        settings = sample / "newsletter.toml"
        settings.write_text(settings.read_text(encoding="utf-8").replace("limit = 20", "limit = 3"), "utf-8")
    elif change == "outbox":
        shutil.rmtree(sample / "outbox")
    else:
        shutil.copy(_seed(sample), sample / "posts" / "2026-11-19-another.md")
        text = (sample / "posts" / "2026-11-19-another.md").read_text(encoding="utf-8")
        (sample / "posts" / "2026-11-19-another.md").write_text(
            text.replace("title:", "slug: another-one\ntitle:", 1), encoding="utf-8"
        )
    result = build(sample)
    assert result.written  # something was made again
    twin = tmp_path / "twin"
    shutil.copytree(sample, twin, ignore=shutil.ignore_patterns("public", "outbox", CACHE_DIR))
    build(twin)
    assert _outputs(sample) == _outputs(twin)


def test_a_post_dated_later_is_published_when_its_time_comes(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = int(os.environ["SOURCE_DATE_EPOCH"])
    future = sample / "posts" / "2026-12-30-later.md"
    future.write_text(
        "---\ntitle: Later\ndate: 2026-12-30T09:00:00-06:00\ncategories: [News]\n---\n\nLater.\n", encoding="utf-8"
    )
    first = build(sample)
    assert not any("later" in path for path in first.written)
    assert build(sample).written == []  # the same moment: nothing to do
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(now + 60 * 86400))
    later = build(sample)
    assert any(path.startswith("public/posts/later") for path in later.written)
    assert later.week is not None and later.week != first.week


def test_a_stamp_of_other_arguments_is_not_used(sample: Path) -> None:
    build(sample, digest=False, site=False)
    full = build(sample)
    assert "public/index.html" in full.written and full.digest_status == "written"


def test_check_after_a_build_says_what_loading_would(sample: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("title:", "colour: blue\ntitle:", 1), encoding="utf-8")
    build(sample)
    from newsletter import load

    real = load.load_project
    monkeypatch.setattr(load, "load_project", lambda *a, **k: pytest.fail("check loaded the project"))
    quick = cli("check", "-C", sample)
    monkeypatch.setattr(load, "load_project", real)
    (sample / CACHE_DIR / "stamp.pickle").unlink()
    loaded = cli("check", "-C", sample)
    assert quick.exit_code == loaded.exit_code == 0
    assert "colour" in quick.stderr
    assert (quick.stdout, quick.stderr) == (loaded.stdout, loaded.stderr)


def test_a_failing_output_keeps_the_digest_out_of_the_outbox_too(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def declare(plan: Plan) -> None:
        def make() -> str:
            raise NewsletterError("the sitemap cannot be made")

        plan.engine.declare(Output(SITEMAP, "", make, "site"))

    monkeypatch.setattr(build_module, "MAKERS", [*build_module.MAKERS, ("site", 1, declare)])
    with pytest.raises(NewsletterError, match="sitemap"):
        build(sample)
    assert not (sample / "outbox").exists() or tree(sample / "outbox") == {}


def test_a_body_edit_leaves_category_pages_alone_unless_our_template_shows_bodies(sample: Path, tmp_path: Path) -> None:
    build(sample)
    seed = _seed(sample)
    page = "public/categories/multiple-sclerosis/index.html"
    seed.write_text(seed.read_text(encoding="utf-8").replace("six patients", "six adult patients"), "utf-8")
    assert page not in build(sample).written
    (sample / "templates" / "site").mkdir(parents=True, exist_ok=True)
    (sample / "templates" / "site" / "taxonomy.html").write_text(
        "{{ heading }}{% for post in posts %}{{ post.body_html | safe }}{% endfor %}\n", "utf-8"
    )
    build(sample)
    seed.write_text(seed.read_text(encoding="utf-8").replace("six adult patients", "six grown-up patients"), "utf-8")
    assert page in build(sample).written
    assert "six grown-up patients" in (sample / page).read_text(encoding="utf-8")
    twin = tmp_path / "twin"
    shutil.copytree(sample, twin, ignore=shutil.ignore_patterns("public", "outbox", CACHE_DIR))
    build(twin)
    assert _outputs(sample) == _outputs(twin)


def _walks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record which folders the engine walks for leftovers."""
    from newsletter import write

    walked: list[Path] = []
    real = write.sweep

    def sweep(folder: Path, real_root: Path | None = None) -> int:
        walked.append(Path(folder))
        return real(folder, real_root)

    monkeypatch.setattr(write, "sweep", sweep)
    return walked


def test_public_is_walked_for_leftovers_unless_the_last_run_finished_and_left_it_as_it_is(
    sample: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from newsletter.write import TEMP_PREFIX

    walked = _walks(monkeypatch)
    build(sample)
    assert sample / "public" in walked  # the first build: no stamp
    seed = _seed(sample)

    def edit_and_build() -> None:
        walked.clear()
        seed.write_text(seed.read_text() + "\nOne more line.\n")
        build(sample)

    edit_and_build()
    assert walked and sample / "public" not in walked  # finished, untouched since: nothing to find there
    # A run stopped midway leaves no stamp (and maybe a temporary file): walked, removed.
    page_folder = next(p.parent for p in (sample / "public" / "posts").glob("*/index.html"))
    leftover = page_folder / f"{TEMP_PREFIX}1-2-index.html"
    leftover.write_text("half")
    (sample / CACHE_DIR / "stamp.pickle").unlink()
    edit_and_build()
    assert sample / "public" in walked and not leftover.exists()
    # A post's folder swapped for a link to a place outside: walked, refused, nothing written there.
    edit_and_build()
    assert sample / "public" not in walked
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(page_folder)
    page_folder.symlink_to(elsewhere)
    with pytest.raises(NewsletterError, match="is a symbolic link"):
        edit_and_build()
    assert sample / "public" in walked and list(elsewhere.iterdir()) == []
