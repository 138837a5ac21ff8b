"""A build of a few changed posts (newsletter.delta) makes what the full build would, and records it alike.

Each test edits the sample project after a build, builds again, and
compares with an uncached build of a copy of the same sources. Edits that
keep every post's shape take the short way (the project is not loaded);
the others, and anything the short way cannot vouch for, the full build.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import tree

from newsletter import build as build_module
from newsletter import delta, load, outbox
from newsletter.build import Plan, build
from newsletter.cache import CACHE_DIR
from newsletter.engine import Output
from newsletter.stamp import STAMP_FILE


def _outputs(project: Path) -> dict[str, bytes]:
    return {f"{name}/{k}": v for name in ("public", "outbox") for k, v in tree(project / name).items()}


def _twin(project: Path, tmp_path: Path) -> Path:
    """An uncached build of a copy of the project's sources."""
    twin = tmp_path / "twin"
    shutil.rmtree(twin, ignore_errors=True)
    shutil.copytree(project, twin, ignore=shutil.ignore_patterns("public", "outbox", CACHE_DIR))
    build(twin)
    return twin


def _post(project: Path, day: str) -> Path:
    return next((project / "posts").glob(f"{day}-*.md"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the whole project was loaded (the full build) since the fixture began."""
    count: list[int] = []
    real = load.load_project

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        count.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(load, "load_project", counting)
    return count


# Edits that keep the post's shape (its page, the feeds and the digest that take it whole change; no list does)
BODY_EDITS: dict[str, Callable[[Path], None]] = {
    "body of a post in the week": lambda p: _edit(_post(p, "2026-11-18"), "six patients", "six adult patients"),
    "body of an older post": lambda p: _edit(_post(p, "2026-11-10"), "\n\n", "\n\nA new first paragraph.\n\n"),
    "a reference": lambda p: _edit(_post(p, "2026-11-18"), "Clinical safety", "Clinical safety and dosing"),
    "two posts": lambda p: (
        _edit(_post(p, "2026-11-18"), "six patients", "six adult patients"),
        _edit(_post(p, "2026-11-20"), "\n\n", "\n\nOne more paragraph.\n\n"),
    ),
    "touched only": lambda p: _post(p, "2026-11-20").touch(),
}

# Edits that change what lists of posts show, or what is published: the full build
SHAPE_EDITS: dict[str, Callable[[Path], None]] = {
    "title": lambda p: _edit(_post(p, "2026-11-18"), "title: ", "title: Update on "),
    "categories": lambda p: _edit(_post(p, "2026-11-20"), "categories: [", "categories: [Research, "),
    "made a draft": lambda p: _edit(_post(p, "2026-11-20"), "title:", "draft: true\ntitle:"),
    "a warning": lambda p: _edit(_post(p, "2026-11-20"), "title:", "colour: blue\ntitle:"),
    "an error": lambda p: _edit(_post(p, "2026-11-20"), "date: 2026-11-20 09:30", "date: 2026-11-31 09:30"),
    "removed": lambda p: _post(p, "2026-11-20").unlink(),
}


@pytest.mark.parametrize("edit", BODY_EDITS)
def test_a_body_edit_makes_what_the_full_build_makes_without_loading_the_project(
    sample: Path, tmp_path: Path, loads: list[int], edit: str
) -> None:
    build(sample)
    loads.clear()
    BODY_EDITS[edit](sample)
    result = build(sample)
    assert loads == []  # the short way
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))
    if edit != "touched only":
        assert any(path.startswith("public/posts/") for path in result.written)
    loads.clear()
    assert build(sample).written == [] and loads == []  # and it left a stamp: nothing to do now


@pytest.mark.parametrize("edit", SHAPE_EDITS)
def test_an_edit_of_a_posts_shape_means_the_full_build(
    sample: Path, tmp_path: Path, loads: list[int], edit: str
) -> None:
    (sample / "posts" / "2026-11-19-spare.md").write_text(
        "---\ntitle: Spare\ndate: 2026-11-19T09:00:00-06:00\ncategories: [Research]\n---\n\nSpare.\n", "utf-8"
    )
    build(sample)
    loads.clear()
    SHAPE_EDITS[edit](sample)
    if edit == "an error":
        with pytest.raises(Exception, match="date"):
            build(sample)
        assert loads
        return
    build(sample)
    assert loads  # the full build
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))


def test_an_output_changed_by_hand_beside_a_body_edit_means_the_full_build(
    sample: Path, tmp_path: Path, loads: list[int]
) -> None:
    build(sample)
    loads.clear()
    BODY_EDITS["body of a post in the week"](sample)
    listing = sample / "public" / "index.html"
    listing.write_text(listing.read_text(encoding="utf-8") + "<!-- edited by hand -->", encoding="utf-8")
    build(sample)
    assert loads  # the full build, which makes the listing again
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))


def _records(project: Path) -> tuple[dict[str, tuple[object, ...]], dict[str, object]]:
    """The build cache's record of outputs (without file times) and the stamp's fields that are not times."""
    with open(project / CACHE_DIR / "outputs.pickle", "rb") as handle:
        outputs = pickle.load(handle)[2]  # noqa: S301 - our own file
    with open(project / CACHE_DIR / STAMP_FILE, "rb") as handle:
        stamp = pickle.load(handle)[2]  # noqa: S301
    # The web version of a digest is fingerprinted by its message.html's time: it differs run to run.
    kept = {path: (r[0], r[1], r[3], r[4]) for path, r in outputs.items() if not path.startswith("public/digests/")}
    numbers = pickle.loads(pickle.dumps(stamp.output_stats))  # noqa: S301
    fields = {name: getattr(stamp, name) for name in ("arguments", "window", "base", "posts", "post_stats")}
    fields["outputs"] = sorted(stamp.outputs)
    fields["report"] = {k: v for k, v in stamp.report.items() if k != "heads"}
    fields["warnings"] = [str(w) for w in stamp.warnings]
    fields["stats"] = len(numbers)
    return kept, fields


def test_it_records_what_the_full_build_records(sample: Path, tmp_path: Path, loads: list[int]) -> None:
    build(sample)
    loads.clear()
    BODY_EDITS["body of a post in the week"](sample)
    before = tmp_path / "before"
    shutil.copytree(sample, before)  # the same state (times kept) for the full build, in the same folder
    build(sample)
    assert loads == []
    short = _records(sample), _outputs(sample)
    shutil.rmtree(sample)
    shutil.copytree(before, sample)
    (sample / CACHE_DIR / STAMP_FILE).unlink()  # no stamp: the full build
    build(sample)
    assert loads
    assert (_records(sample), _outputs(sample)) == short


def test_a_sent_week_stays_sent(sample: Path, loads: list[int]) -> None:
    first = build(sample)
    assert first.week is not None
    outbox.set_status(sample / "outbox", first.week.label, "sending")
    outbox.set_status(sample / "outbox", first.week.label, "sent")
    build(sample)  # the full build (the outbox changed): it says "sent"
    sent = tree(sample / "outbox")
    loads.clear()
    BODY_EDITS["body of a post in the week"](sample)
    result = build(sample)
    assert loads == []
    assert result.digest_status == "sent" and tree(sample / "outbox") == sent
    assert "public/digests/index.html" not in result.written


class Sitemap:
    """A new kind of output: every post's address, declared with or without saying which posts it takes."""

    def __init__(self, say: bool) -> None:
        self.say = say

    def declare(self, plan: Plan) -> None:
        published = plan.project.published
        posts = plan.keys.names(published) if self.say else None

        def make() -> str:
            return "".join(f"{post.url} {len(post.body_html)}\n" for post in published)

        plan.engine.declare(Output("public/sitemap.txt", plan.keys.posts(published), make, "site", posts=posts))


@pytest.mark.parametrize("say", [True, False], ids=["says its posts", "does not say"])
def test_a_new_kind_of_output_is_right_whether_or_not_it_says_which_posts_it_takes(
    sample: Path, tmp_path: Path, loads: list[int], monkeypatch: pytest.MonkeyPatch, say: bool
) -> None:
    monkeypatch.setattr(build_module, "MAKERS", [*build_module.MAKERS, ("site", 1, Sitemap(say).declare)])
    build(sample)
    loads.clear()
    BODY_EDITS["body of an older post"](sample)
    result = build(sample)
    assert "public/sitemap.txt" in result.written
    assert bool(loads) is not say  # one that does not say: the full build
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))


def test_our_listings_showing_bodies_take_every_post(sample: Path, tmp_path: Path) -> None:
    (sample / "templates" / "site").mkdir(parents=True, exist_ok=True)
    (sample / "templates" / "site" / "index.html").write_text(
        "{{ heading }}{% for post in posts %}{{ post.body_html | safe }}{% endfor %}\n", "utf-8"
    )
    build(sample)
    BODY_EDITS["body of an older post"](sample)
    assert "public/posts/index.html" in build(sample).written
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))


def test_without_the_heads_file_the_posts_files_serve(
    sample: Path, tmp_path: Path, loads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delta, "MAX_SHARDS", 32)
    build(sample)
    (sample / CACHE_DIR / "heads.pickle").unlink()
    loads.clear()
    BODY_EDITS["body of a post in the week"](sample)
    build(sample)
    assert loads == []  # the posts files of the posts it needs
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))


def test_too_many_changed_posts_mean_the_full_build(
    sample: Path, loads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delta, "MAX_CHANGED", 1)
    build(sample)
    loads.clear()
    BODY_EDITS["two posts"](sample)
    build(sample)
    assert loads


def _older_neurology_post(project: Path, spelling: str) -> Path:
    """A post older than the feeds' two newest, filed under ``spelling`` of Neurology (limit = 2)."""
    settings = project / "newsletter.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("limit = 20", "limit = 2"), "utf-8")
    post = project / "posts" / "2026-10-01-older.md"
    post.write_text(
        f"---\ntitle: Older\ndate: 2026-10-01T09:00:00-06:00\ncategories: [{spelling}]\n---\n\nOlder.\n", "utf-8"
    )
    return post


def test_a_category_feed_shows_the_name_of_every_post_not_just_its_own(sample: Path, tmp_path: Path) -> None:
    older = _older_neurology_post(sample, "Neurology")
    build(sample)
    _edit(older, "[Neurology]", "[NEUROLOGY]")  # the smallest spelling names the category; not in its feed
    build(sample)
    assert "<title>Northbridge Regenerative Care: NEUROLOGY</title>" in (
        sample / "public" / "categories" / "neurology.xml"
    ).read_text(encoding="utf-8")
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))


def test_a_category_name_the_changed_posts_do_not_show_means_the_full_build(
    sample: Path, tmp_path: Path, loads: list[int]
) -> None:
    _older_neurology_post(sample, "NEUROLOGY")
    build(sample)
    loads.clear()
    _edit(_post(sample, "2026-11-21"), "\n\n", "\n\nA new first paragraph.\n\n")  # in the Neurology feed
    build(sample)
    assert loads  # the feed's name comes from a post the short way does not read
    assert _outputs(sample) == _outputs(_twin(sample, tmp_path))


@pytest.mark.parametrize("edited", ["2026-11-18", "2026-11-20"], ids=["another post", "the post warned about"])
def test_check_after_a_short_build_says_what_loading_would(sample: Path, loads: list[int], cli, edited: str) -> None:  # type: ignore[no-untyped-def]
    _edit(_post(sample, "2026-11-20"), "title:", "colour: blue\ntitle:")  # a warning, kept by the stamp
    build(sample)
    loads.clear()
    _edit(_post(sample, edited), "\n\n", "\n\nA new first paragraph.\n\n")
    build(sample)
    assert loads == []
    quick = cli("check", "-C", sample)
    assert loads == []  # answered from the stamp the short way left
    (sample / CACHE_DIR / STAMP_FILE).unlink()
    loaded = cli("check", "-C", sample)
    assert loads
    assert quick.exit_code == loaded.exit_code == 0
    assert "colour" in quick.stderr
    assert (quick.stdout, quick.stderr) == (loaded.stdout, loaded.stderr)
