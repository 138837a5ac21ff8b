"""Fewer copies of the parent's memory in forked workers: this process takes slices too; workers read apart."""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

import pytest

from newsletter import parallel
from newsletter.engine import Output, _shared_out


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork despite the test runner's threads."""
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def _who(shared: list[int], start: int, stop: int) -> tuple[int, list[int]]:
    return os.getpid(), shared[start:stop]


def _slow_who(shared: list[int], start: int, stop: int) -> tuple[int, list[int]]:
    import time

    time.sleep(0.05)
    return os.getpid(), shared[start:stop]


@pytest.mark.parametrize("function", [_who, _slow_who])
def test_with_here_this_process_takes_slices_and_every_slice_is_done_once_in_order(forked: None, function) -> None:  # type: ignore[no-untyped-def]
    items = list(range(1000))
    ran: list[str] = []
    done = list(
        parallel.map_slices(function, items, len(items), 2, lambda: ran.append("meanwhile"), min_size=10, here=True)
    )
    assert ran == ["meanwhile"]
    assert [n for result in done for n in result[1][1]] == items  # each slice once, in order
    assert sum(count for count, _ in done) == len(items)
    pids = {pid for _, (pid, _) in done}
    assert os.getpid() in pids  # this process took some
    assert len(pids) == 2  # and one worker forked for two jobs


def _fail_here(shared: int, start: int, stop: int) -> int:
    if os.getpid() == shared:
        raise ValueError("failed here")
    import time

    time.sleep(0.2)
    return start


def test_a_failure_in_a_slice_taken_here_stops_the_workers(forked: None) -> None:
    work = parallel.map_slices(_fail_here, os.getpid(), 40, 2, min_size=1, here=True)
    with pytest.raises(ValueError, match="failed here"):
        list(work)
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    if children.exists():
        assert children.read_text(encoding="ascii").split() == []


def _page(post: object) -> bytes:
    return repr(post).encode()


def test_heavy_outputs_go_first_in_one_slice_then_the_rest_in_the_order_of_what_they_are_made_from() -> None:
    posts = [object() for _ in range(50)]
    pages = [
        Output(f"public/{i}.html", "", functools.partial(_page, post), "site", True) for i, post in enumerate(posts)
    ]
    lists = [Output(f"public/list{i}.html", "", lambda: b"", "site", True, weight=w) for i, w in enumerate((30, 7))]
    order, bounds = _shared_out([pages[3], lists[0], *pages[:3], lists[1], *pages[4:]], 8)
    assert order[:2] == lists and bounds[0] == (0, 2)
    assert [id(o.make.args[0]) for o in order[2:]] == sorted(map(id, posts))  # type: ignore[attr-defined]
    assert [start for start, _ in bounds[1:]] == [stop for _, stop in bounds[:-1]] and bounds[-1][1] == 52
    assert 1 < len(bounds) <= 9
    alone, bounds = _shared_out(pages, 4)  # no heavy slice when there is none
    assert [id(o.make.args[0]) for o in alone] == sorted(map(id, posts))  # type: ignore[attr-defined]
    assert bounds[0] == (0, 12) and bounds[-1][1] == 50


def test_entries_shown_once_and_a_posts_own_dates_are_not_kept(sample: Path) -> None:
    from newsletter.load import load_project
    from newsletter.render.site import site_renderer

    project = load_project(sample)
    renderer = site_renderer(project)
    cards, posts = renderer.cards, project.published
    page = renderer.post_page(posts[0])
    assert cards._dates == {}  # its own page asks once: nothing kept
    archive = cards.join("listing_card", posts, keep=False)
    assert cards.entries[("listing_card", False)] == {}
    taxonomy = cards.join("taxonomy_card", posts)
    assert len(cards.entries[("taxonomy_card", False)]) == len(posts) == len(cards._dates)  # in many lists: kept
    assert (
        cards.join("taxonomy_card", posts) == taxonomy
        and cards.join("taxonomy_card", posts[1:2], keep=False) in taxonomy
    )
    assert cards.join("listing_card", posts) == archive
    assert renderer.post_page(posts[0]) == page  # its dates now as the lists keep them: the same
