"""Posts kept small: what the build cache gives back is the post that was loaded, its body read when used."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
from conftest import write_post

from newsletter.build import build
from newsletter.cache import load_cache, posts_bytes, read_payload
from newsletter.load import load_project
from newsletter.models import Image, Post, Reference

POST = """---
title: "Post {n}"
date: 2026-11-1{n} 09:00
author: Dr. Lena Brandt
categories: [Bone Marrow, Clinical Trials]
tags: [safety]
references:
  - text: "Someone (2020). A paper."
    doi: 10.1234/abc{n}
---
A body for post {n}, citing [1], with an é and a 😀.
"""


def _by_slug(posts: list[Post]) -> dict[str, Post]:
    return {post.slug: post for post in posts}


def test_posts_from_the_cache_are_the_posts_loaded(sample: Path) -> None:
    fresh = _by_slug(load_project(sample).posts)
    build(sample)
    cached = _by_slug(load_project(sample, cache=load_cache(sample)).posts)
    assert cached.keys() == fresh.keys()
    for slug, post in fresh.items():
        again = cached[slug]
        for name in (f.name for f in dataclasses.fields(Post) if f.init):
            assert getattr(again, name) == getattr(post, name), (slug, name)


def _one_cached_post(project: Path) -> Post:
    """The post of a one-post project, as the build cache gives it back after a build."""
    write_post(project, "one.md", POST.format(n=1))
    build(project)
    [entry] = load_cache(project).posts.values()
    assert entry.post is not None
    return entry.post


def test_a_cached_body_is_read_each_time_it_is_used_and_not_kept(empty_project: Path) -> None:
    post = _one_cached_post(empty_project)
    slot = Post.body_html.slot  # type: ignore[attr-defined]  # the field's own slot, under the descriptor that decodes
    with pytest.raises(AttributeError):
        slot.__get__(post)  # not decoded yet
    body = post.body_html
    assert "é and a 😀" in body and body == post.body_html
    with pytest.raises(AttributeError):
        slot.__get__(post)  # and not kept


def test_a_cached_body_survives_its_posts_file_being_replaced(empty_project: Path) -> None:
    path = write_post(empty_project, "one.md", POST.format(n=1))
    build(empty_project)
    [entry] = load_cache(empty_project).posts.values()
    assert entry.post is not None
    path.write_text(POST.format(n=1).replace("A body", "Another body"), "utf-8")
    build(empty_project)  # renames a new posts file over the one entry.post reads from
    assert "A body for post 1" in entry.post.body_html
    [now] = load_cache(empty_project).posts.values()
    assert now.post is not None and "Another body" in now.post.body_html


def test_a_cached_post_pickled_elsewhere_carries_its_body(empty_project: Path) -> None:
    post = _one_cached_post(empty_project)
    copy = pickle.loads(pickle.dumps(post, protocol=pickle.HIGHEST_PROTOCOL))
    assert Post.body_html.__get__(copy) == post.body_html  # type: ignore[attr-defined]  # held, not looked up
    assert copy == post and copy.lines == post.lines


def test_posts_laid_out_alike_share_their_line_tables_and_names(empty_project: Path) -> None:
    for n in (1, 2, 3):
        write_post(empty_project, f"p{n}.md", POST.format(n=n))
    posts = load_project(empty_project).posts
    assert posts[0].lines is posts[1].lines is posts[2].lines
    assert posts[0].lines["references.0"] == 8
    assert posts[0].categories[0] is posts[2].categories[0]
    assert posts[0].author is posts[1].author


def test_a_posts_file_round_trip_keeps_every_field_and_body(empty_project: Path) -> None:
    for n in (1, 2):
        write_post(empty_project, f"p{n}.md", POST.format(n=n))
    build(empty_project)
    entries = load_cache(empty_project).posts
    again = read_payload(posts_bytes("key", entries))
    assert again.keys() == entries.keys()
    for name, entry in entries.items():
        assert again[name].post == entry.post
        assert again[name].post.body_html == entry.post.body_html  # type: ignore[union-attr]
        assert (again[name].stat, again[name].digest, again[name].deps) == (entry.stat, entry.digest, entry.deps)


@pytest.mark.parametrize(
    "value",
    [Reference("A. (2020). One.", doi="10.1/a", url="https://example.org/", line=7),
     Image(source=Path("posts/pic.svg"), target="media/images/pic.svg", line=3)],
)  # fmt: skip
def test_the_parts_of_a_post_pickle_as_they_were(value: object) -> None:
    assert pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)) == value


def test_a_post_pickled_with_other_fields_is_refused(empty_project: Path) -> None:
    """A posts file from a version with other fields fails to load (a cold start), never fills the wrong ones."""
    write_post(empty_project, "one.md", POST.format(n=1))
    [post] = load_project(empty_project).posts
    state = post.__getstate__()
    blank = Post.__new__(Post)
    with pytest.raises(ValueError, match="values pickled"):
        blank.__setstate__(state[1:])
    with pytest.raises(ValueError, match="values pickled"):
        Reference.__new__(Reference).__setstate__(("text", "", ""))
    blank.__setstate__(state)
    assert blank == post
