"""The per-output renderers: one file per call, the same bytes as the whole-site functions."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from newsletter.addresses import taxonomy_pages
from newsletter.load import load_project
from newsletter.render.feeds import MAIN_FEEDS, feed_renderer, group_by_category, render_feeds
from newsletter.render.site import post_page_path, redirect_pages, render_site, site_renderer


def with_aliases(sample: Path) -> Path:
    """The sample with an old address on its first post, so that a redirect page exists."""
    post = sorted((sample / "posts").glob("*.md"))[0]
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("\n", "\naliases: [/old/address/]\n", 1), encoding="utf-8")
    return sample


def test_each_page_of_the_site_renderer_is_the_page_render_site_makes(sample: Path) -> None:
    project = load_project(with_aliases(sample))
    pages = render_site(project, [])
    renderer = site_renderer(project)
    published = project.published
    expected = {post_page_path(post, renderer.base): renderer.post_page(post) for post in published}
    expected.update(
        (path, renderer.taxonomy_page(kind, name, slug, members))
        for path, (kind, name, slug, members) in taxonomy_pages(published).items()
    )
    redirects = dict(redirect_pages(project.settings, published))
    assert redirects, "the sample should have a redirect page"
    expected.update((path, renderer.redirect(post)) for path, post in redirects.items())
    expected["index.html"] = renderer.listing(archive=False)
    expected["posts/index.html"] = renderer.listing(archive=True)
    expected["digests/index.html"] = renderer.digests_index([])
    assert pages == expected
    assert 'action="' in renderer.subscribe_page()


def test_each_feed_of_the_feed_renderer_is_the_feed_render_feeds_makes(sample: Path) -> None:
    project = load_project(sample)
    feeds = render_feeds(project)
    renderer = feed_renderer(project)
    expected: dict[str, str | bytes] = {path: renderer.main(path) for path in MAIN_FEEDS}
    for slug, (name, posts) in group_by_category(project.published, project.settings.feed.limit).items():
        expected[f"categories/{slug}.xml"] = renderer.category(f"categories/{slug}.xml", name, posts)
    assert feeds == expected
    with pytest.raises(ValueError):
        renderer.main("index.html")


def test_renderers_are_made_once_per_project_object(sample: Path) -> None:
    project = load_project(sample)
    assert site_renderer(project) is site_renderer(project)
    assert feed_renderer(project) is feed_renderer(project)
    again = load_project(sample)
    assert site_renderer(again) is not site_renderer(project)
    assert feed_renderer(again) is not feed_renderer(project)


def _render_in_child(queue: multiprocessing.Queue[tuple[str, bytes | str]], project: object) -> None:
    post = project.published[0]  # type: ignore[attr-defined]
    queue.put((site_renderer(project).post_page(post), feed_renderer(project).main("feed.xml")))  # type: ignore[arg-type]


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this system")
def test_renderers_work_in_a_process_forked_after_they_were_made(sample: Path) -> None:
    project = load_project(sample)
    site, feeds = site_renderer(project), feed_renderer(project)  # made, nothing rendered yet
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[tuple[str, bytes | str]] = context.Queue()
    child = context.Process(target=_render_in_child, args=(queue, project))
    child.start()
    page, feed = queue.get(timeout=60)
    child.join(60)
    assert child.exitcode == 0
    assert page == site.post_page(project.published[0])
    assert feed == feeds.main("feed.xml")
