"""CPU time of rendering, by kind of output, in one process (the posts loaded once, before timing).

    python bench/render.py <project folder> [--runs 3]

Each run starts from a fresh copy of the loaded project, so nothing a
renderer keeps (compiled templates aside) carries over from one run to the
next; the figures are the median of the runs, in CPU seconds of this
process (``time.process_time``: less disturbed by other processes than the
wall clock on a shared machine). Compare versions in alternating runs.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from newsletter.addresses import taxonomy_pages
from newsletter.load import Project, load_project
from newsletter.render.feeds import MAIN_FEEDS, feed_renderer, group_by_category
from newsletter.render.site import redirect_pages, site_renderer


def stages(project: Project) -> dict[str, Callable[[], int]]:
    """What one run renders, by stage: each returns how many files it made."""
    published = project.published
    site = site_renderer(project)
    feeds = feed_renderer(project)
    limit = project.settings.feed.limit

    # As the build writes them: UTF-8 (older versions rendered text, encoded when written).
    page = getattr(site, "post_page_bytes", None) or (lambda post: site.post_page(post).encode("utf-8"))

    def posts() -> int:
        return sum(1 for post in published if page(post))

    def listings() -> int:
        return len([site.listing(archive) for archive in (False, True)])

    def taxonomy() -> int:
        return len([site.taxonomy_page(*page) for page in taxonomy_pages(published).values()])

    def redirects() -> int:
        return len([site.redirect(post) for _path, post in redirect_pages(project.settings, published)])

    def all_feeds() -> int:
        made = [feeds.main(path) for path in MAIN_FEEDS]
        for slug, (name, members) in group_by_category(published, limit).items():
            made.append(feeds.category(f"categories/{slug}.xml", name, members))
        return len(made)

    return {"posts": posts, "listings": listings, "taxonomy": taxonomy, "redirects": redirects, "feeds": all_feeds}


def main() -> None:
    """Print the median CPU time of each stage and of all but the posts' pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    loaded = pickle.dumps(load_project(args.project))
    times: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for _ in range(args.runs):
        project = pickle.loads(loaded)
        site_renderer(project).prepare()
        for name, stage in stages(project).items():
            start = time.process_time()
            counts[name] = stage()
            times.setdefault(name, []).append(time.process_time() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in medians.items():
        each = seconds / max(counts[name], 1) * 1e6
        print(f"{name:10} {seconds * 1000:8.1f} ms  {counts[name]:6} files  {each:8.1f} us each")
    rest = sum(seconds for name, seconds in medians.items() if name != "posts")
    print(f"{'not posts':10} {rest * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
