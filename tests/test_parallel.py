"""Loading and page writing in forked processes give what the serial path gives."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from conftest import tree, write_post

from newsletter import parallel
from newsletter.build import build
from newsletter.errors import InputError
from newsletter.load import load_project


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use processes even for the small sample (and despite the test runner's threads)."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(threading, "active_count", lambda: 1)


def _many(project: Path, count: int = 60) -> None:
    for i in range(count):
        write_post(
            project,
            f"2026-10-{i % 28 + 1:02d}-gen-{i}.md",
            f"---\ntitle: Generated {i}\ndate: 2026-10-{i % 28 + 1:02d} 10:{i % 60:02d}\n"
            f"categories: [Gen {i % 5}]\nreferences: [Ref {i}]\n---\nBody {i} cites [1].\n",
        )


def test_parallel_build_equals_serial(sample: Path, tmp_path: Path, forked: None) -> None:
    _many(sample)
    serial = tmp_path / "serial"
    shutil.copytree(sample, serial)
    assert parallel.workers(100) > 1 or (parallel.os.cpu_count() or 1) == 1
    build(sample)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parallel, "MIN_ITEMS", 10**9)
        build(serial)
    for folder in ("public", "outbox"):
        assert tree(sample / folder) == tree(serial / folder)


def test_what_workers_made_is_recorded_as_it_lies(sample: Path, forked: None) -> None:
    """The workers say each file's time and size as staged: the record matches the files once in place."""
    from newsletter.cache import load_cache
    from newsletter.stamp import last

    _many(sample)
    assert parallel.workers(100) > 1 or (parallel.os.cpu_count() or 1) == 1
    build(sample)
    recorded = {path: record[2:4] for path, record in load_cache(sample).outputs.items()}
    pages = [path for path in recorded if path.startswith("public/posts/")]
    assert len(pages) > 60
    for path in pages:
        st = (sample / path).stat()
        assert recorded[path] == (st.st_mtime_ns, st.st_size), path
    stamp = last(sample)
    assert stamp is not None and set(pages) <= set(stamp.outputs)
    assert build(sample).written == []  # nothing to do: the stamp matches the files too


def test_parallel_load_reports_every_problem(empty_project: Path, forked: None) -> None:
    _many(empty_project, 30)
    # A bracketed number is a citation only in a post with references.
    write_post(empty_project, "zz-bad.md", "---\ntitle: Bad\ndate: someday\nreferences: [one]\n---\nx [2]\n")
    write_post(empty_project, "aa-bad.md", "no front matter\n")
    with pytest.raises(InputError) as info:
        load_project(empty_project)
    assert [str(e) for e in info.value.errors] == [
        "posts/aa-bad.md:1: no front matter: the file must start with a '---' line",
        "posts/zz-bad.md:3: cannot read date 'someday': use YYYY-MM-DD HH:MM, optionally with an offset",
        "posts/zz-bad.md:6: citation [2] has no reference (the post has 1)",
    ]


def test_progress_is_reported_while_loading_and_writing(sample: Path, forked: None) -> None:
    _many(sample)
    seen: list[tuple[str, int, int]] = []
    build(sample, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = {stage for stage, _, _ in seen}
    assert {"load", "pages", "write"} <= stages
    loads = [(done, total) for stage, done, total in seen if stage == "load"]
    assert loads[-1][0] == loads[-1][1] and all(a <= b for (a, _), (b, _) in zip(loads, loads[1:], strict=False))


def _square(x: int) -> int:
    return x * x


def _fail(x: int) -> int:
    raise ValueError(x)


def _echo(data: bytes) -> bytes:
    return data


def test_a_helper_does_its_job_or_says_it_could_not(forked: None) -> None:
    helper = parallel.Helper(lambda: None)
    assert helper.pid
    assert helper.result(helper.submit(_square, 12)) == 144
    helper.close()
    failing = parallel.Helper(lambda: None)
    assert failing.result(failing.submit(_fail, 1)) is None  # the caller then does the job itself
    failing.close()
    unpicklable = parallel.Helper(lambda: None)
    assert unpicklable.submit(lambda x: x, 1) is None  # a lambda cannot travel
    unpicklable.close()


def test_a_helper_does_jobs_in_turn_and_answers_each_by_its_ticket(forked: None) -> None:
    helper = parallel.Helper(lambda: None)
    big = bytes(range(256)) * 4096  # 1 MB each way: more than a pipe holds, both ways at once
    tickets = [helper.submit(_echo, big), helper.submit(_square, 3), helper.submit(_echo, big[::-1])]
    assert helper.result(tickets[2]) == big[::-1]  # the answers before it are kept for their turn
    assert helper.result(tickets[0]) == big
    assert helper.result(tickets[1]) == 9
    helper.close()
    assert helper.pid == 0


def test_after_a_job_fails_the_helper_answers_none_and_the_caller_does_the_rest(forked: None) -> None:
    helper = parallel.Helper(lambda: None)
    first, failing, after = helper.submit(_square, 2), helper.submit(_fail, 1), helper.submit(_square, 4)
    assert helper.result(first) == 4
    assert helper.result(failing) is None
    assert helper.result(after) is None
    assert helper.submit(_square, 5) is None  # it is gone
    helper.close()


def test_an_idle_helper_is_stopped_at_once(forked: None) -> None:
    import time

    helper = parallel.Helper(lambda: time.sleep(30))
    started = time.perf_counter()
    helper.close()
    assert time.perf_counter() - started < 5
    assert helper.pid == 0


def test_what_the_helper_renders_equals_what_is_rendered_here(
    sample: Path, tmp_path: Path, forked: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild with the seed (in the digest week) edited: its digest, its page and the digests' archive come
    from the helper process."""
    used = []
    real = parallel.Helper.result

    def spy(self: parallel.Helper, ticket: int | None) -> object:
        answer = real(self, ticket)
        used.append(type(answer).__name__)
        return answer

    monkeypatch.setattr(parallel.Helper, "result", spy)
    build(sample)
    seed = next((sample / "posts").glob("2026-11-18-*.md"))
    seed.write_text(seed.read_text(encoding="utf-8").replace("six patients", "six adult patients"), "utf-8")
    again = build(sample)
    assert used == ["RenderedDigest", "bytes", "str"] and "outbox/2026-W47/message.eml" in again.written
    twin = tmp_path / "twin"
    shutil.copytree(sample, twin, ignore=shutil.ignore_patterns("public", "outbox", ".newsletter-cache"))
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # no helper, no workers
    build(twin)
    assert tree(sample / "outbox") == tree(twin / "outbox")
    assert tree(sample / "public") == tree(twin / "public")
