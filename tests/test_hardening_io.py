"""Hardening of the file-system and process side (issue 17).

Workers die with their parent and never outlive an aborted run; the lock
names only a live holder; stale temporary files go on every run; nothing
is copied from outside the project or written through a link that leads
out of it; linked files are published only when safe (SVG sanitized, no
HTML, only from posts/); public/ is committed all-or-nothing; refused
writes, vanished files, bad SOURCE_DATE_EPOCH values and Ctrl-C end with
one clear line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, tree, write_post
from test_crash import add_generated_posts, env

from newsletter import parallel, write
from newsletter.build import build
from newsletter.errors import InputError, NewsletterError
from newsletter.lock import LOCK_NAME, ProjectLocked, project_lock
from newsletter.write import TEMP_PREFIX

SVG_IMAGE = "posts/images/clinic-lab.svg"


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use worker processes even for the small sample (and despite the test runner's threads)."""
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(threading, "active_count", lambda: 1)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the project, with a secret in it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><title>SECRET</title></svg>')
    return folder


def _temps(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob(f"{TEMP_PREFIX}*"))


def _newsletter(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *map(str, args)], env=env(), capture_output=True, text=True, **kwargs
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def _wait_until(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# --- item 3: workers die with their parent; the lock names only a live holder --------------------------

_ORPHAN_SCRIPT = """
import os, signal, sys, threading, time
from newsletter import parallel

def nap(shared, start, stop):
    time.sleep(60)
    return []

if __name__ == "__main__":
    helper = parallel.Helper(lambda: time.sleep(60))
    work = parallel.map_slices(nap, None, 4, 2, meanwhile=lambda: None, min_size=1)
    pids = []
    def report():
        time.sleep(1.0)
        kids = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
        print(" ".join(kids), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # as kill -9 or the OOM killer would
    threading.Thread(target=report, daemon=True).start()
    next(work)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_workers_and_the_helper_die_with_their_parent(tmp_path: Path) -> None:
    script = tmp_path / "orphans.py"
    script.write_text(_ORPHAN_SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == -signal.SIGKILL, done.stderr
    children = [int(pid) for pid in done.stdout.split()]
    assert len(children) >= 3, done.stdout  # two workers and the helper
    left = [pid for pid in children if not _wait_until(lambda pid=pid: not _alive(pid), 2.0)]
    for pid in left:  # ours: do not leave them running even when the test fails
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"orphaned workers still running: {left}"


_HOLDER_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from newsletter.lock import project_lock

with project_lock(Path(sys.argv[1])):
    child = os.fork()
    if child == 0:  # a child forked while the lock is held (a worker), outliving its parent
        time.sleep(20)
        os._exit(0)
    print(child, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_holders_children_do_not_keep_the_lock(tmp_path: Path) -> None:
    script = tmp_path / "holder.py"
    script.write_text(_HOLDER_SCRIPT, encoding="utf-8")
    project = tmp_path / "proj"
    project.mkdir()
    with (tmp_path / "holder.out").open("w+") as out:
        run = subprocess.Popen([sys.executable, str(script), str(project)], stdout=out, cwd=REPO)
        assert run.wait(30) == -signal.SIGKILL
    calls: list[int | None] = []
    started = time.monotonic()
    try:
        with project_lock(project, wait=3, on_wait=calls.append):
            pass
    finally:
        for line in (tmp_path / "holder.out").read_text().split():  # the child: ours to stop
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(line), signal.SIGKILL)
    assert calls == [] and time.monotonic() - started < 1.0


_STRAY_SCRIPT = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, f"{sys.argv[2]} 12345\\n".encode(), 0)  # the record of a holder that is gone
print("locked", flush=True)
time.sleep(30)
"""


def test_a_lock_kept_by_strays_of_a_dead_holder_is_reported_at_once(tmp_path: Path) -> None:
    """Busy, but the recorded holder is dead: say so within a second or two, naming the process that holds it."""
    script = tmp_path / "stray.py"
    script.write_text(_STRAY_SCRIPT, encoding="utf-8")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stray = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / LOCK_NAME), str(dead_pid)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert stray.stdout is not None and stray.stdout.readline().strip() == "locked"
        calls: list[int | None] = []
        started = time.monotonic()
        with pytest.raises(ProjectLocked) as caught, project_lock(tmp_path, wait=20, on_wait=calls.append):
            pass
        assert time.monotonic() - started < 3.0  # not the 20 s it was willing to wait
    finally:
        stray.kill()
        stray.wait()
    message = str(caught.value)
    assert f"(pid {dead_pid}) has ended" in message and f"({stray.pid})" in message, message
    assert calls == []  # never "waiting for ... (pid <dead>)"


# --- item 5: stale temporary files; workers stop when the run gives up ----------------------------------


def test_stale_temp_files_go_on_every_run_even_without_a_lock_file(sample: Path) -> None:
    build(sample)
    leftovers = [
        sample / "public" / "posts" / f"{TEMP_PREFIX}1-2-index.html",
        sample / "outbox" / "2026-W47" / f"{TEMP_PREFIX}1-2-meta.json",
        sample / ".newsletter-cache" / f"{TEMP_PREFIX}1-2-outputs.pickle",
    ]
    for path in leftovers:
        path.write_bytes(b"half a file")
    assert not (sample / LOCK_NAME).exists()
    build(sample)
    assert [p for p in leftovers if p.exists()] == []


def _edit_title(project: Path) -> None:
    config = project / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('title = "Northbridge Regenerative Care"', 'title = "Northbridge News"', 1))


def test_a_page_that_cannot_be_put_in_place_leaves_public_as_it_was(sample: Path, forked: None, cli) -> None:  # type: ignore[no-untyped-def]
    """A folder where a page goes: the run fails cleanly, no page is new, no worker leaves a file behind."""
    build(sample)
    before = tree(sample / "public")
    _edit_title(sample)
    blocker = next((sample / "public" / "posts").glob("*/index.html"))
    blocker.unlink()
    blocker.mkdir()
    (blocker / "keep").write_text("x")
    before = {k: v for k, v in tree(sample / "public").items()}
    result = cli("build", "-C", sample, "-q")
    assert result.exit_code == 1
    rel = blocker.relative_to(sample).as_posix()
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {rel}: a folder is in the way; public/ is left as it was"
    ]
    time.sleep(0.5)  # a worker that still staged would show up now
    assert _temps(sample) == []
    assert tree(sample / "public") == before


def test_a_lock_file_removed_during_the_build_stops_it_before_anything_is_put_in_place(
    sample: Path, forked: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(sample)
    before = tree(sample / "public")
    _edit_title(sample)
    from newsletter.render import site

    real = site.SiteRenderer.listing

    def listing(*args, **kwargs):  # type: ignore[no-untyped-def]
        (sample / LOCK_NAME).unlink(missing_ok=True)  # someone cleans the folder while the build runs
        return real(*args, **kwargs)

    monkeypatch.setattr(site.SiteRenderer, "listing", listing)
    with pytest.raises(NewsletterError, match="was removed while this run held it"):
        build(sample)
    time.sleep(0.5)
    assert _temps(sample) == []
    assert tree(sample / "public") == before


# --- commit all-or-nothing and refused writes ---------------------------------------------------------


@pytest.mark.parametrize("fail_at", [1, 3, 8])
def test_a_write_refused_while_committing_rolls_public_back(
    sample: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli,
    fail_at: int,  # type: ignore[no-untyped-def]
) -> None:
    build(sample)
    before = tree(sample / "public")
    _edit_title(sample)
    calls = {"n": 0}
    real = write.commit

    def commit(temp: str, target: str, *, output: bool = True) -> None:
        calls["n"] += "/public/" in target
        if "/public/" in target and calls["n"] == fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), target)
        real(temp, target, output=output)

    monkeypatch.setattr(write, "commit", commit)
    result = cli("build", "-C", sample, "-q")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write public/"), result.stderr
    assert lines[0].endswith(": No space left on device; public/ is left as it was")
    assert tree(sample / "public") == before
    assert _temps(sample) == []


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(f"/tmp/newsletter-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
        if ok.returncode != 0:
            return False
        subprocess.run(["umount", str(probe)], check=True)
        return True
    finally:
        probe.rmdir()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (real ENOSPC and EROFS); skipped where mounting is not allowed."""
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root and a system that allows it")
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _sample_on(disk: Path) -> Path:
    project = disk / "proj"
    project.mkdir()
    shutil.copy(REPO / "newsletter.toml", project / "newsletter.toml")
    shutil.copytree(REPO / "posts", project / "posts")
    return project


def test_a_full_disk_fails_cleanly_at_every_level_and_leaves_old_or_new(small_disk: Path) -> None:
    project = _sample_on(small_disk)
    assert _newsletter("build", "-C", project, "-q").returncode == 0
    old = tree(project / "public")
    _edit_title(project)
    spare = project.parent / "spare"
    outcomes = set()
    for keep_kb in (8, 40, 120, 250, 400):  # free space left for the new build
        free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
        spare.write_bytes(b"\0" * max(free - keep_kb * 1024, 0))
        done = _newsletter("build", "-C", project, "-q")
        spare.unlink()
        if done.returncode == 0:
            outcomes.add("new")
            break
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0], done.stderr
        assert "Traceback" not in done.stderr
        assert tree(project / "public") == old, f"{keep_kb} KB free: public/ is neither old nor new"
        assert _temps(project) == []
        outcomes.add("old")
    assert "old" in outcomes


def test_a_read_only_public_folder_fails_cleanly(sample: Path) -> None:
    """public/ on a file system remounted read-only: EROFS while staging, one line, public/ as it was."""
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root and a system that allows it")
    (sample / "public").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(sample / "public")], check=True)
    try:
        assert _newsletter("build", "-C", sample, "-q").returncode == 0
        old = tree(sample / "public")
        _edit_title(sample)
        subprocess.run(["mount", "-o", "remount,ro", str(sample / "public")], check=True)
        done = _newsletter("build", "-C", sample, "-q")
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("error: cannot write public/"), lines
        assert lines[0].endswith(": Read-only file system; public/ is left as it was"), lines
        assert tree(sample / "public") == old
    finally:
        subprocess.run(["umount", "-l", str(sample / "public")], check=False)


# --- item 4: nothing copied from outside; no writes through links that leave the project ---------------


def test_a_warm_build_does_not_copy_an_image_swapped_for_a_link_outside(sample: Path, outside: Path, cli) -> None:  # type: ignore[no-untyped-def]
    build(sample)
    published = (sample / "public" / "media" / "images" / "clinic-lab.svg").read_bytes()
    image = sample / SVG_IMAGE
    image.unlink()
    image.symlink_to(outside / "secret.svg")  # as a git pull could do
    result = cli("build", "-C", sample, "-q")
    assert result.exit_code == 1
    assert "points outside the project" in result.stderr
    assert result.stderr.startswith("posts/")
    assert (sample / "public" / "media" / "images" / "clinic-lab.svg").read_bytes() == published
    assert b"SECRET" not in b"".join(tree(sample / "public").values())


def test_the_copy_itself_refuses_a_file_that_leads_outside(tmp_path: Path, outside: Path) -> None:
    """Checked when the bytes are read, whatever was decided when loading."""
    from newsletter import media

    root = tmp_path / "proj"
    (root / "posts").mkdir(parents=True)
    link = root / "posts" / "pic.svg"
    link.symlink_to(outside / "secret.svg")
    with pytest.raises(InputError) as caught:
        media.published_bytes(link, root.resolve(), "posts/a.md:7")
    assert str(caught.value).startswith("posts/a.md:7: 'posts/pic.svg': now leads outside the project")
    with pytest.raises(InputError, match="was removed during the build"):
        media.published_bytes(root / "posts" / "gone.png", root.resolve(), "posts/a.md:9")


@pytest.mark.parametrize("folder", ["public", "outbox"])
def test_output_folders_linked_outside_are_refused(sample: Path, tmp_path: Path, folder: str, cli) -> None:  # type: ignore[no-untyped-def]
    elsewhere = tmp_path / f"elsewhere-{folder}"
    elsewhere.mkdir()
    (sample / folder).symlink_to(elsewhere)
    result = cli("build", "-C", sample, "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {folder} is a symbolic link to {elsewhere}, outside the project")
    assert list(elsewhere.iterdir()) == []


def test_a_folder_inside_public_linked_outside_is_refused(sample: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    build(sample)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(sample / "public" / "categories")
    (sample / "public" / "categories").symlink_to(elsewhere)
    result = cli("build", "-C", sample, "-q")
    assert result.exit_code == 1 and "public/categories is a symbolic link" in result.stderr
    assert list(elsewhere.iterdir()) == []


# --- item 6: what a post links to ---------------------------------------------------------------------

HOSTILE_SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"
     onload="alert(1)">
  <script>alert(2)</script>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>
  <a href="javascript:alert(3)"><rect width="5" height="5"/></a>
  <image href="https://evil.example/track.png" width="1" height="1"/>
  <use xlink:href="https://evil.example/s.svg#a"/>
  <circle r="3" fill="red" onclick="alert(4)"/>
</svg>
"""

POST = "---\ntitle: Links\ndate: 2026-11-18 09:30\n---\n{body}\n"


def test_svg_images_are_published_sanitized(empty_project: Path) -> None:
    (empty_project / "posts" / "evil.svg").write_text(HOSTILE_SVG, encoding="utf-8")
    write_post(empty_project, "a.md", POST.format(body="![A chart](evil.svg)"))
    build(empty_project)
    published = (empty_project / "public" / "media" / "evil.svg").read_text(encoding="utf-8")
    for bad in ("<script", "alert", "onload", "onclick", "foreignObject", "javascript:", "evil.example"):
        assert bad not in published, bad
    assert "<circle" in published and "<rect" in published  # the drawing itself stays


def test_an_svg_that_is_not_xml_is_reported_by_check(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (empty_project / "posts" / "broken.svg").write_text("<svg><g></svg>", encoding="utf-8")
    write_post(empty_project, "a.md", POST.format(body="Intro.\n\n![A chart](broken.svg)"))
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    assert "posts/a.md:7: 'broken.svg' is not published: not a valid SVG image (XML parsing error)" in result.stderr


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("../newsletter.toml", "the settings, templates and output folders are never published"),
        ("../templates/site/base.html", "the settings, templates and output folders are never published"),
        ("../notes.txt", "linked files are published only from posts/"),
        (".secret.txt", "hidden files are never published"),
        ("page.html", ".html files are not published (a browser would run them as pages of this site)"),
        ("data.xml", ".xml files are not published"),
    ],
)
def test_linked_files_that_are_never_published(empty_project: Path, cli, link: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    root = empty_project
    (root / "templates" / "site").mkdir(parents=True)
    (root / "templates" / "site" / "base.html").write_text("{{ x }}", encoding="utf-8")
    (root / "notes.txt").write_text("private notes", encoding="utf-8")
    for name in (".secret.txt", "page.html", "data.xml"):
        (root / "posts" / name).write_text("<script>alert(1)</script>", encoding="utf-8")
    write_post(root, "a.md", POST.format(body=f"See [this]({link})."))
    result = cli("check", "-C", root)
    assert result.exit_code == 1
    assert f"posts/a.md:5: {link!r} is not published: {reason}" in result.stderr
    assert cli("build", "-C", root, "-q").exit_code == 1
    assert not (root / "public").exists()


def test_linked_files_in_posts_are_published(empty_project: Path) -> None:
    (empty_project / "posts" / "files").mkdir()
    (empty_project / "posts" / "files" / "sheet.pdf").write_bytes(b"%PDF-1.4 fake")
    write_post(empty_project, "a.md", POST.format(body="The [data sheet](files/sheet.pdf)."))
    build(empty_project)
    assert (empty_project / "public" / "media" / "files" / "sheet.pdf").read_bytes() == b"%PDF-1.4 fake"


# --- item 9: path:line messages for files that clash or vanish ------------------------------------------


def test_two_images_publishing_to_one_media_path_are_reported_with_file_and_line(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = empty_project
    (root / "posts" / "images").mkdir()
    (root / "images").mkdir()
    (root / "posts" / "images" / "x.png").write_bytes(b"\x89PNG one")
    (root / "images" / "x.png").write_bytes(b"\x89PNG two")
    write_post(root, "a.md", POST.format(body="![One](images/x.png)"))
    write_post(root, "b.md", POST.replace("Links", "Others").format(body="Intro.\n\n![Two](../images/x.png)"))
    result = cli("check", "-C", root)
    assert result.exit_code == 1
    assert (
        "posts/b.md:7: images/x.png would be published as public/media/images/x.png, like posts/images/x.png "
        "(used by posts/a.md): rename one of them"
    ) in result.stderr


def test_an_image_deleted_during_the_build_is_reported_with_file_and_line(
    sample: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    from newsletter.render import feeds

    real = feeds.FeedRenderer.main

    def main(*args, **kwargs):  # type: ignore[no-untyped-def]
        (sample / SVG_IMAGE).unlink(missing_ok=True)  # removed while the build renders
        return real(*args, **kwargs)

    monkeypatch.setattr(feeds.FeedRenderer, "main", main)
    result = cli("build", "-C", sample, "-q")
    assert result.exit_code == 1
    line = next(line for line in result.stderr.splitlines() if "removed" in line)
    assert line.startswith("posts/2026-11-")
    assert line.endswith(f": {SVG_IMAGE!r}: the file was removed during the build")
    assert line.split(":")[1].isdigit()
    assert not (sample / "public").exists() or tree(sample / "public") == {}


# --- item 9: SOURCE_DATE_EPOCH and Ctrl-C ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["-62135596800", "253402300800", "253370764800", "1.5", "soon", "-1", "１２"])
def test_a_bad_source_date_epoch_is_a_usage_error(
    sample: Path, value: str, cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    result = cli("check", "-C", sample)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: SOURCE_DATE_EPOCH=")
    assert "whole seconds since 1970-01-01 UTC" in result.stderr


@pytest.mark.parametrize("value", ["0", "253370764799", " 1795521600 "])
def test_source_date_epoch_in_range_is_used(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter import clock

    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert clock.now().timestamp() == int(value)


@pytest.fixture(scope="module")
def big_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with enough posts for worker processes (newsletter.parallel.MIN_ITEMS)."""
    root = tmp_path_factory.mktemp("interrupt") / "proj"
    root.mkdir()
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "posts", root / "posts")
    add_generated_posts(root, parallel.MIN_ITEMS + 50)
    return root


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            return [int(c) for c in handle.read().split()]
    except OSError:
        return []


@pytest.mark.parametrize(
    ("after", "moment"),
    [("workers", 0.0), ("workers", 0.4), ("workers", 1.0), ("lock", 0.0), ("lock", 0.3)],
)
def test_ctrl_c_says_interrupted_once_and_leaves_nothing_behind(
    big_project: Path, tmp_path: Path, after: str, moment: float
) -> None:
    """Ctrl-C to the whole process group while workers load or render, or while writing."""
    project = tmp_path / "proj"
    shutil.copytree(big_project, project)
    log = tmp_path / "err"
    with log.open("wb") as err:
        run = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "build", "-C", str(project), "-q"],
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
        if after == "workers":  # the first worker forked: loading has begun
            _wait_until(lambda: bool(_children(run.pid)) or run.poll() is not None, 60)
        else:
            _wait_until(lambda: (project / LOCK_NAME).exists() or run.poll() is not None, 60)
        time.sleep(moment)
        workers = _children(run.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGINT)  # Ctrl-C reaches every process of the group
        code = run.wait(60)
    text = log.read_text(encoding="utf-8")
    if code == 0:  # it had finished already
        assert text == ""
        return
    assert (code, text) == (130, "interrupted\n")
    assert [pid for pid in workers if _wait_until(lambda pid=pid: not _alive(pid), 2.0) is False] == []
    assert _temps(project) == []
    assert not (project / LOCK_NAME).exists() or _newsletter("build", "-C", project, "-q").stderr == ""


def test_ctrl_c_while_a_build_waits_for_the_lock(sample: Path) -> None:
    with project_lock(sample):
        run = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "build", "-C", str(sample), "-q"],
            env=env(),
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert run.stderr is not None
        first = run.stderr.readline()
        assert first.startswith("waiting for another newsletter run")
        os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=30)
    assert run.returncode == 130
    assert err == "interrupted\n"


def test_build_module_names_refused_writes_by_their_target() -> None:
    exc = OSError(errno.EROFS, os.strerror(errno.EROFS), f"/p/public/posts/a/{TEMP_PREFIX}old-12-34-index.html")
    text = write.describe_refused(exc, Path("/p"))
    assert text == "cannot write public/posts/a/index.html: Read-only file system; public/ is left as it was"


@pytest.mark.skipif(os.environ.get("NEWSLETTER_LONG_TESTS") != "1", reason="long profile: NEWSLETTER_LONG_TESTS=1")
def test_kill_harness_leaves_no_orphan_and_no_stale_lock(tmp_path: Path) -> None:
    """bench/kill_harness.py, smaller: SIGKILL of the main pid only, at random moments."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import kill_harness
    finally:
        sys.path.remove(str(REPO / "bench"))
    tally = kill_harness.run(
        tmp_path / "kills",
        posts=parallel.MIN_ITEMS + 200,
        kills=12,
        budget=240,
        python=sys.executable,
        pythonpath=None,
        seed=17,
    )
    assert tally.kills >= 4, tally
    assert (tally.orphans, tally.stale_locks, tally.bad_next_builds, tally.waited_next_builds) == (0, 0, 0, 0), tally
