"""Concurrency: runs on one project take turns through the project lock.

Two `newsletter build` runs at once both succeed (the second waits) and end
equal to a single clean build; a run that waits too long fails with a clear
message and writes nothing; the lock dies with its holder (SIGKILL), so the
next run starts at once; builds in one process (the preview server) take
turns the same way.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from test_crash import build_command, env, lock_is_free, output_tree, run_build, sample_with_posts

from newsletter import lock
from newsletter.lock import LOCK_NAME, ProjectLocked, project_lock

POSTS = 150


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A project with generated posts and nothing built, and the output of one clean build of it."""
    root = tmp_path_factory.mktemp("concurrency")
    project = sample_with_posts(root / "base", POSTS)
    reference = root / "reference"
    shutil.copytree(project, reference)
    done = run_build(reference)
    assert done.returncode == 0, done.stderr
    return project, output_tree(reference)


@pytest.fixture
def project(base: tuple[Path, dict[str, bytes]], tmp_path: Path) -> Path:
    """A fresh copy of the unbuilt project."""
    target = tmp_path / "proj"
    shutil.copytree(base[0], target)
    return target


def _start(project: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(build_command(project), env=env(), stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def _wait_for(condition, seconds: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_two_builds_wait_for_the_holder_then_both_succeed(base, project: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    waiting = f"waiting for another newsletter run (pid {os.getpid()}) to finish…"
    logs = [tmp_path / "first.err", tmp_path / "second.err"]
    with project_lock(project):
        runs = [_start(project, log) for log in logs]
        assert _wait_for(lambda: all(waiting in log.read_text(encoding="utf-8") for log in logs)), [
            log.read_text(encoding="utf-8") for log in logs
        ]
        assert not (project / "public").exists() and not (project / "outbox").exists()
    for run, log in zip(runs, logs, strict=True):
        assert run.wait(60) == 0, log.read_text(encoding="utf-8")
        assert log.read_text(encoding="utf-8").strip() == waiting
    assert output_tree(project) == base[1]
    assert not (project / LOCK_NAME).exists()


@pytest.mark.parametrize("stagger", [0.0, 0.3, 0.6])
def test_two_builds_started_together(base, project: Path, tmp_path: Path, stagger: float) -> None:  # type: ignore[no-untyped-def]
    logs = [tmp_path / "first.err", tmp_path / "second.err"]
    first = _start(project, logs[0])
    time.sleep(stagger)
    second = _start(project, logs[1])
    for run, log in zip((first, second), logs, strict=True):
        assert run.wait(60) == 0, log.read_text(encoding="utf-8")
        text = log.read_text(encoding="utf-8")
        assert text == "" or text.startswith("waiting for another newsletter run (pid "), text
    assert output_tree(project) == base[1]
    assert not (project / LOCK_NAME).exists()


def test_a_run_that_waits_too_long_fails_clearly_and_writes_nothing(
    project: Path,
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lock, "DEFAULT_WAIT", 0.3)
    pid = os.getpid()
    with project_lock(project) as path:
        result = cli("build", "-C", project)
    assert result.exit_code == 1
    assert result.stderr == (
        f"waiting for another newsletter run (pid {pid}) to finish…\n"
        f"error: another newsletter run (pid {pid}) is still writing into this project after 0.3 s; "
        f"try again once it has finished (lock file: {path})\n"
    )
    assert not (project / "public").exists() and not (project / "outbox").exists()
    assert not path.exists()


def test_the_lock_dies_with_its_holder(base, project: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Kill a build while it holds the lock: the next build starts at once."""
    for _attempt in range(5):
        run = _start(project, tmp_path / "killed.err")
        caught = _wait_for(lambda run=run: run.poll() is not None or not lock_is_free(project), 60)
        if caught and run.poll() is None:
            run.send_signal(signal.SIGKILL)
            break
        run.wait()
        shutil.rmtree(project / "public", ignore_errors=True)
        shutil.rmtree(project / "outbox", ignore_errors=True)
    else:
        pytest.fail("never caught a build holding the lock")
    assert run.wait(10) == -signal.SIGKILL
    assert (project / LOCK_NAME).exists() and lock_is_free(project)  # left behind, but nobody holds it
    start = time.monotonic()
    done = run_build(project)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # did not wait
    assert time.monotonic() - start < lock.DEFAULT_WAIT / 2
    assert output_tree(project) == base[1]
    assert not (project / LOCK_NAME).exists()


def test_killed_at_its_first_write_the_holder_frees_the_lock(base, project: Path) -> None:  # type: ignore[no-untyped-def]
    killed = run_build(project, NEWSLETTER_TEST_KILL_AT="3")
    assert killed.returncode == -signal.SIGKILL
    assert lock_is_free(project)
    pid, start = (project / LOCK_NAME).read_text(encoding="ascii").split()  # the dead holder: pid, start time
    assert pid.isdigit() and int(start) > 0
    done = run_build(project)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert output_tree(project) == base[1]


def test_two_holders_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    """Each acquisition has its own file description, so threads (the preview) take turns too."""
    calls: list[int | None] = []
    with project_lock(tmp_path) as path:
        assert path.read_text(encoding="ascii") == f"{os.getpid()} {lock._start_time(os.getpid())}\n"
        busy = r"another newsletter run \(pid \d+\) is still writing"
        with pytest.raises(ProjectLocked, match=busy), project_lock(tmp_path, wait=0.2, on_wait=calls.append):
            pass
    assert calls == [os.getpid()]
    with project_lock(tmp_path, wait=0):
        pass
    assert not path.exists()


def test_a_holder_without_a_pid_is_still_named_clearly(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text("not a pid", encoding="ascii")
    with path.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        calls: list[int | None] = []
        busy = r"^another newsletter run is still writing into this project"
        with pytest.raises(ProjectLocked, match=busy), project_lock(tmp_path, wait=0.1, on_wait=calls.append):
            pass
    assert calls == [None]


class _SlowFlock:
    """fcntl with a pause before each flock: widens the gap between opening the lock file and locking it."""

    LOCK_EX, LOCK_NB = fcntl.LOCK_EX, fcntl.LOCK_NB

    @staticmethod
    def flock(fd: int, operation: int) -> None:
        time.sleep(0.001)
        fcntl.flock(fd, operation)


def test_many_holders_never_overlap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Holders remove the lock file on release; a waiter that locked the removed file starts over."""
    monkeypatch.setattr(lock, "fcntl", _SlowFlock)
    inside: list[int] = []
    overlaps: list[int] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for _ in range(30):
                with project_lock(tmp_path, wait=30, on_wait=None):
                    inside.append(n)
                    if len(inside) > 1:
                        overlaps.append(n)
                    time.sleep(0.0005)
                    inside.remove(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and overlaps == []
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_preview_rebuild_waits_for_the_lock_too(sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.preview.state import PreviewState

    monkeypatch.setattr(lock, "DEFAULT_WAIT", 0.2)
    state = PreviewState(sample, log=lambda line: None)
    with project_lock(sample):
        blocked = state.rebuild()
    assert not blocked.ok
    assert blocked.errors[0].startswith(f"error: another newsletter run (pid {os.getpid()}) is still writing")
    assert state.rebuild().ok
    assert (sample / "public" / "feed.xml").is_file()
