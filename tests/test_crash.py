"""Crash safety: `newsletter build` killed (SIGKILL) at any moment leaves whole files.

A project is built once ("old"), its posts and settings are edited, and a
copy is built in full ("new", the reference). Then, from fresh copies of the
old state with the new input, `newsletter build` runs in a subprocess and is
killed: at deterministic write steps (NEWSLETTER_TEST_KILL_AT, see
newsletter/write.py: a step leaves a complete temporary file or has just
renamed one into place) and at moments spread over the write
phase of a real run. After every kill each file under public/ and outbox/
is byte for byte the old version or the new one, the only extra files are
prefixed temporary files, the week marked ``sent`` is untouched, files that
did not change were not rewritten, and the lock is free; the next run
removes the temporary files and ends equal to the reference.

NEWSLETTER_LONG_TESTS=1 (CI runs it too) tries many more kill points on a
bigger corpus.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, SAMPLE_EPOCH

from newsletter.lock import LOCK_NAME
from newsletter.write import TEMP_PREFIX

LONG = os.environ.get("NEWSLETTER_LONG_TESTS") == "1"
POSTS = 300 if LONG else 150  # generated posts on top of the sample's
STEP_KILLS = 160 if LONG else 24  # deterministic kill points (write steps)
TIMED_KILLS = 40 if LONG else 8  # kills from outside at moments spread over the write phase
CHAINS = 8 if LONG else 2  # the step kills run in this many chains, each resumed at its end
WORKERS = 2
SENT = "2026-W46"
DRAFT = "2026-W47"
OUTPUT = ("public", "outbox")
POST_PAGE = re.compile(r"^public/posts/[^/]+/index\.html$")

_WORDS = [
    "stem", "cell", "therapy", "patients", "trial", "results", "injection", "cartilage", "knee", "pain", "function",
    "safety", "dose", "follow-up", "months", "years", "researchers", "study", "group", "placebo", "control",
    "randomized", "outcome", "improvement", "inflammation", "tissue",
]  # fmt: skip
_CATEGORIES = ["Bone Marrow", "Cardiology", "Neurology", "Patient Guides", "Clinical Trials", "Orthopaedics", "ALS"]


def add_generated_posts(project: Path, count: int, seed: int = 8, first: int = 0) -> None:
    """Write ``count`` deterministic posts, dated over the two years before the sample's weeks."""
    rng = random.Random(seed)
    start = datetime(2024, 11, 4, 9, 0)
    for i in range(first, first + count):
        when = start + timedelta(hours=(i * 53) % (700 * 24))
        paragraphs = [" ".join(rng.choices(_WORDS, k=rng.randint(40, 90))).capitalize() + "." for _ in range(5)]
        categories = sorted({_CATEGORIES[i % 7], _CATEGORIES[(i * 3 + 1) % 7]})
        text = (
            f"---\ntitle: Generated post {i}\ndate: {when:%Y-%m-%d %H:%M}\n"
            f"categories: [{', '.join(categories)}]\nreferences:\n"
            f'  - "Author, A. ({2000 + i % 25}). Work number {i}. Journal of Tests, 1(2), 3-4."\n---\n'
            + "\n\n".join(paragraphs)
            + " [1]\n"
        )
        (project / "posts" / f"gen-{i:04d}.md").write_text(text, encoding="utf-8")


def sample_with_posts(target: Path, count: int) -> Path:
    """A copy of the sample project with ``count`` generated posts added."""
    target.mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", target / "newsletter.toml")
    shutil.copytree(REPO / "posts", target / "posts")
    if (REPO / "templates").is_dir():
        shutil.copytree(REPO / "templates", target / "templates")
    add_generated_posts(target, count)
    return target


def edit_input(project: Path) -> None:
    """The "new" content: a new site title (every page changes), edited and added posts."""
    config = project / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    assert 'title = "Northbridge Regenerative Care"' in text
    config.write_text(text.replace('title = "Northbridge Regenerative Care"', 'title = "Northbridge Care News"', 1))
    als = project / "posts" / "2026-11-20-als-stem-cell-safety.md"  # in the draft week
    als.write_text(als.read_text(encoding="utf-8").replace("is urgent", "is pressing"), encoding="utf-8")
    for post in sorted((project / "posts").glob("2026-11-1[0-3]-*.md")):  # in the sent week
        post.write_text(post.read_text(encoding="utf-8") + "\nAn edit after sending.\n", encoding="utf-8")
    for post in sorted((project / "posts").glob("gen-*.md"))[::15]:
        post.write_text(post.read_text(encoding="utf-8") + "\nA correction.\n", encoding="utf-8")
    add_generated_posts(project, 3, seed=9, first=9000)


def env(**extra: str) -> dict[str, str]:
    """The environment of a build subprocess: the fixed clock, nothing else from the tests."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_TEST_")}
    out["SOURCE_DATE_EPOCH"] = SAMPLE_EPOCH
    out.update(extra)
    return out


def build_command(project: Path, *args: str) -> list[str]:
    """`newsletter build -C project` with this interpreter."""
    return [sys.executable, "-m", "newsletter", "build", "-C", str(project), "-q", *args]


def run_build(project: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run a build to its end (or to its kill point)."""
    return subprocess.run(build_command(project, *args), env=env(**extra_env), capture_output=True, text=True)


def output_files(project: Path) -> dict[str, Path]:
    """Every file under public/ and outbox/, by path relative to the project."""
    files = {}
    for name in OUTPUT:
        for path in (project / name).rglob("*"):
            if path.is_file():
                files[path.relative_to(project).as_posix()] = path
    return files


def output_tree(project: Path) -> dict[str, bytes]:
    """The bytes of every file under public/ and outbox/."""
    return {rel: path.read_bytes() for rel, path in sorted(output_files(project).items())}


def mark_sent(project: Path, week: str) -> None:
    """Set a week's status to ``sent``, as a sending tool would."""
    meta_path = project / "outbox" / week / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["status"] = "sent"
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def lock_is_free(project: Path) -> bool:
    """True when nobody holds the project lock (a leftover lock file may exist)."""
    path = project / LOCK_NAME
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@dataclass
class Scene:
    """The old state, the reference new state, and what a full run from old to new does."""

    root: Path
    old_project: Path
    old: dict[str, bytes]
    old_mtimes: dict[str, int]
    new: dict[str, bytes]
    steps: int  # write steps of a full run from the old state (two per file written)
    write_phase: float  # seconds from taking the lock to the end of a full run
    pages: int  # post pages among the files a full run writes
    counter: Iterator[int] = field(default_factory=itertools.count)

    def fresh(self) -> Path:
        """A copy of the old state (mtimes kept) with the new input."""
        project = self.root / f"run-{next(self.counter):04d}"  # next() is atomic: called from threads
        shutil.copytree(self.old_project, project)
        edit_input(project)
        return project

    def check_killed(self, project: Path, context: str) -> int:
        """Every promise a killed run keeps; returns how many files hold new content."""
        temps, fresh = [], 0
        for rel, path in output_files(project).items():
            if path.name.startswith(TEMP_PREFIX):
                temps.append(rel)
                continue
            data = path.read_bytes()
            assert rel in self.old or rel in self.new, f"{context}: unexpected file {rel}"
            if data != self.old.get(rel):
                assert data == self.new.get(rel), f"{context}: {rel} is neither the old nor the new version"
                fresh += 1
            elif rel in self.new and self.new[rel] == data:
                # Unchanged content is never rewritten (its mtime stays).
                assert path.stat().st_mtime_ns == self.old_mtimes[rel], f"{context}: {rel} rewritten needlessly"
        for rel in self.old:
            assert (project / rel).is_file(), f"{context}: {rel} vanished"
        # Every file of public/ is staged before any is put in place (the
        # temporary files of one run); the outbox's four files likewise.
        runs = {Path(rel).name[len(TEMP_PREFIX) :].removeprefix("old-").split("-")[0] for rel in temps}
        assert len(runs) <= 1, f"{context}: {temps}"
        assert len([rel for rel in temps if rel.startswith("outbox/")]) <= 4, f"{context}: {temps}"
        sent = f"outbox/{SENT}/"
        for rel in (r for r in self.old if r.startswith(sent)):
            assert (project / rel).read_bytes() == self.old[rel], f"{context}: the sent {rel} changed"
            assert (project / rel).stat().st_mtime_ns == self.old_mtimes[rel], f"{context}: the sent {rel} rewritten"
        assert lock_is_free(project), f"{context}: the lock outlived its holder"
        return fresh

    def differing(self, project: Path) -> int:
        """How many output files do not yet hold their new bytes."""
        now = {rel: p for rel, p in output_files(project).items() if not p.name.startswith(TEMP_PREFIX)}
        return sum(1 for rel, data in self.new.items() if rel not in now or now[rel].read_bytes() != data)

    def check_resumed(self, project: Path, context: str) -> None:
        """The next run removes the leftovers and ends where a clean run ends."""
        done = run_build(project)
        assert done.returncode == 0, f"{context}: resume failed: {done.stderr}"
        assert done.stderr == "", f"{context}: {done.stderr}"
        got = output_tree(project)
        assert sorted(got) == sorted(self.new), f"{context}: files differ after resuming"
        assert got == self.new, f"{context}: content differs after resuming"
        assert not (project / LOCK_NAME).exists(), f"{context}: lock file left after a clean run"
        shutil.rmtree(project)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    """Old state (W46 sent, W47 draft), the reference new state, and timings."""
    root = tmp_path_factory.mktemp("crash")
    old_project = sample_with_posts(root / "old", POSTS)
    for args in (("--week", SENT), ()):
        first = run_build(old_project, *args)
        assert first.returncode == 0, first.stderr
    mark_sent(old_project, SENT)
    old = output_tree(old_project)
    old_mtimes = {rel: p.stat().st_mtime_ns for rel, p in output_files(old_project).items()}

    reference = root / "reference"
    shutil.copytree(old_project, reference)
    edit_input(reference)
    done = run_build(reference)
    assert done.returncode == 0, done.stderr
    new = output_tree(reference)
    written = sum(1 for rel in new if new[rel] != old.get(rel))
    assert written > POSTS, "the edit should change most files"
    assert new[f"outbox/{DRAFT}/message.eml"] != old[f"outbox/{DRAFT}/message.eml"]
    assert all(new[rel] == old[rel] for rel in old if rel.startswith(f"outbox/{SENT}/"))

    pages = sum(1 for rel in new if POST_PAGE.match(rel) and new[rel] != old.get(rel))
    scene = Scene(root, old_project, old, old_mtimes, new, 2 * written, 0.0, pages)
    probe = scene.fresh()  # how long the write phase of a full run lasts
    process, locked = _start_and_wait_for_the_lock(probe)
    assert process.wait() == 0
    scene.write_phase = time.perf_counter() - locked
    assert output_tree(probe) == new
    shutil.rmtree(probe)
    return scene


def kill_positions(total: int, count: int, pages: int) -> list[int]:
    """``count`` write steps in 1..total: the first and last of each phase, evenly between.

    A small project's run (no worker processes) stages the ``pages``
    changed post pages and puts them in place (steps 1..2 * pages), writes
    the draft week's four outbox files (8 steps), then the rest of public/.
    """
    outbox = 2 * pages + 1
    fixed = {
        1,
        2,
        pages,
        pages + 1,
        outbox - 1,
        outbox,
        outbox + 1,
        outbox + 7,
        outbox + 8,
        outbox + 9,
        total - 1,
        total,
    }
    between = count - len(fixed)
    spread = {round(10 + i * (total - 11) / (between + 1)) for i in range(1, between + 1)} if between > 0 else set()
    return sorted(s for s in fixed | spread if 1 <= s <= total)


def _parallel(jobs: list[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(WORKERS) as pool:
        for _ in pool.map(lambda job: job(), jobs):
            pass


def test_killed_at_write_steps_again_and_again(scene: Scene) -> None:
    """Kill at a write step, then again from the state left, then resume.

    A run takes two write steps per output file whose bytes change (stage,
    then commit), so a run from a state with ``d`` such files left takes
    ``2 * d`` steps: each chain of runs reaches later steps of the same
    old-to-new update by killing the next run at the step that many steps
    on from where the update stands.
    """
    positions = kill_positions(scene.steps, STEP_KILLS, scene.pages)
    chains = [positions[i::CHAINS] for i in range(CHAINS)]

    def job(chain: list[int]) -> Callable[[], None]:
        def run() -> None:
            project = scene.fresh()
            for position in chain:
                left = 2 * scene.differing(project)  # the steps a run from here takes
                step = min(max(position - (scene.steps - left), 1), left)
                killed = run_build(project, NEWSLETTER_TEST_KILL_AT=str(step))
                context = f"killed at step {step} of {left} (global {position} of {scene.steps})"
                assert killed.returncode == -signal.SIGKILL, f"{context}: {killed.returncode} {killed.stderr}"
                scene.check_killed(project, context)
            scene.check_resumed(project, f"chain {chain}")

        return run

    _parallel([job(chain) for chain in chains])
    # The fixed points may fall on spread ones: a few fewer than asked.
    assert sum(map(len, chains)) == len(positions) >= min(STEP_KILLS, scene.steps) - 12


def _start_and_wait_for_the_lock(project: Path) -> tuple[subprocess.Popen[str], float]:
    """Start a build; return once it holds the lock (its write phase begins) or has ended."""
    process = subprocess.Popen(
        build_command(project), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lock = project / LOCK_NAME
    while process.poll() is None and not lock.exists():
        time.sleep(0.001)
    return process, time.perf_counter()


def test_killed_at_moments_during_the_write_phase(scene: Scene) -> None:
    """SIGKILL from outside at moments spread over the write phase (timed from taking the lock; the end of a run is mostly interpreter shutdown)."""
    moments = [scene.write_phase * 0.8 * i / max(TIMED_KILLS - 1, 1) for i in range(TIMED_KILLS)]

    def job(delay: float) -> Callable[[], None]:
        def run() -> None:
            project = scene.fresh()
            process, locked = _start_and_wait_for_the_lock(project)
            time.sleep(max(delay - (time.perf_counter() - locked), 0))
            process.send_signal(signal.SIGKILL)
            _, stderr = process.communicate()
            context = f"killed {delay:.3f} s into the write phase (exit {process.returncode})"
            assert process.returncode in (0, -signal.SIGKILL), f"{context}: {stderr}"
            scene.check_killed(project, context)
            scene.check_resumed(project, context)

        return run

    _parallel([job(delay) for delay in moments])


def test_the_next_run_removes_leftover_temp_files(scene: Scene) -> None:
    """Temporary files anywhere in public/ and outbox/ go, even in a sent week; other hidden files stay."""
    project = scene.fresh()
    leftovers = [
        project / "public" / f"{TEMP_PREFIX}abc",
        project / "public" / "posts" / f"{TEMP_PREFIX}def",
        project / "outbox" / DRAFT / f"{TEMP_PREFIX}ghi",
        project / "outbox" / SENT / f"{TEMP_PREFIX}jkl",
    ]
    for path in leftovers:
        path.write_bytes(b"half a file")
    keep = project / "public" / ".well-known"
    keep.write_text("mine", encoding="utf-8")
    (project / LOCK_NAME).write_text("999999\n", encoding="ascii")  # a killed run leaves its lock file
    assert run_build(project).returncode == 0
    assert not [p for p in leftovers if p.exists()]
    assert keep.read_text(encoding="utf-8") == "mine"
    keep.unlink()
    assert output_tree(project) == scene.new
