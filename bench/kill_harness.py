"""Kill harness: SIGKILL the main process of `newsletter build` at random moments.

Only the main pid is killed (as `kill -9` or the OOM killer would), never
its worker processes. After each kill it counts, a moment later:

- orphans: processes the killed build had forked that still run;
- stale locks: the project lock still held by somebody;

then runs the next build to its end and checks that it succeeds at once
(nothing on stderr: it did not wait for a lock) and that public/ and
outbox/ equal those of a clean build of the same input.

The runs alternate between two site titles (every page changes) and,
every third run, start cold (no public/, outbox/ or cache), so that kills
fall in loading, rendering, staging and committing.

    python bench/kill_harness.py /tmp/kills --posts 2000 --kills 50

Bounded in time: ``--budget`` seconds (default 1500) at most; it stops
early and says so. Exit status 1 when any kill left an orphan, a stale
lock, a failing or different next build.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import NOW_EPOCH, generate  # noqa: E402

OUTPUT = ("public", "outbox")
TITLES = ('title = "Northbridge Regenerative Care"', 'title = "Northbridge Care News"')
SETTLE = 0.25  # seconds after the kill before counting


@dataclass
class Tally:
    """What the kills left behind."""

    kills: int = 0
    orphans: int = 0  # processes still running SETTLE s after their build was killed
    kills_with_orphans: int = 0
    stale_locks: int = 0
    bad_next_builds: int = 0
    waited_next_builds: int = 0
    worst_next_build_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _tree(project: Path) -> dict[str, bytes]:
    files = {}
    for name in OUTPUT:
        for path in sorted((project / name).rglob("*")):
            if path.is_file():
                files[path.relative_to(project).as_posix()] = path.read_bytes()
    return files


def _command(python: str, project: Path) -> list[str]:
    return [python, "-m", "newsletter", "build", "-C", str(project), "-q"]


def _env(pythonpath: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_TEST_")}
    env["SOURCE_DATE_EPOCH"] = str(NOW_EPOCH)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (from /proc/<pid>/task/*/children)."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", encoding="ascii") as handle:
                    children = {int(c) for c in handle.read().split()}
            except OSError:
                continue
            pending += list(children - found)
            found |= children
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def _lock_busy(project: Path) -> bool:
    path = project / ".newsletter.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _set_title(project: Path, title: str) -> None:
    config = project / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    for other in TITLES:
        text = text.replace(other, title, 1)
    config.write_text(text, encoding="utf-8")


def _clear(project: Path) -> None:
    for name in (*OUTPUT, ".newsletter-cache"):
        shutil.rmtree(project / name, ignore_errors=True)


def run(root: Path, posts: int, kills: int, budget: float, python: str, pythonpath: str | None, seed: int) -> Tally:
    """Generate the corpus, build the references, then kill ``kills`` builds."""
    rng = random.Random(seed)
    deadline = time.monotonic() + budget
    shutil.rmtree(root, ignore_errors=True)
    generate(root / "corpus", posts)
    base = root / "corpus" / "newsletter"
    env = _env(pythonpath)
    references: dict[str, dict[str, bytes]] = {}
    durations: dict[str, float] = {}
    for title in TITLES:
        ref = root / f"reference-{len(references)}"
        shutil.copytree(base, ref)
        _set_title(ref, title)
        started = time.monotonic()
        done = subprocess.run(_command(python, ref), env=env, capture_output=True, text=True)
        durations[title] = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"the reference build failed: {done.stderr}")
        references[title] = _tree(ref)
        shutil.rmtree(ref)
    cold = max(durations.values())
    project = root / "project"
    shutil.copytree(base, project)
    tally = Tally()
    for i in range(kills):
        if time.monotonic() > deadline:
            tally.notes.append(f"stopped after {tally.kills} kills: the time budget of {budget:g} s is spent")
            break
        title = TITLES[i % 2]
        _set_title(project, title)
        if i % 3 == 0:
            _clear(project)
        # Output to a file, not a pipe: orphans would keep a pipe open for ever.
        with (root / "killed.err").open("wb") as log:
            process = subprocess.Popen(_command(python, project), env=env, stdout=subprocess.DEVNULL, stderr=log)
        moment = rng.uniform(0.05, cold * 1.1)
        forked: set[int] = set()
        end = time.monotonic() + moment
        while time.monotonic() < end and process.poll() is None:
            forked |= _descendants(process.pid)
            time.sleep(0.01)
        if process.poll() is not None:  # it finished before the moment came: no kill
            continue
        forked |= _descendants(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        tally.kills += 1
        time.sleep(SETTLE)
        alive = sorted(pid for pid in forked if _running(pid))
        if alive:
            tally.orphans += len(alive)
            tally.kills_with_orphans += 1
            for pid in alive:  # ours: the harness started them, and must not leave them running
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        if _lock_busy(project):
            tally.stale_locks += 1
        started = time.monotonic()
        done = subprocess.run(_command(python, project), env=env, capture_output=True, text=True, timeout=300)
        took = time.monotonic() - started
        tally.worst_next_build_s = max(tally.worst_next_build_s, round(took, 2))
        if done.returncode != 0 or _tree(project) != references[title]:
            tally.bad_next_builds += 1
            tally.notes.append(f"kill {i} at {moment:.2f} s: next build exit {done.returncode}: {done.stderr[-300:]}")
        elif done.stderr:
            tally.waited_next_builds += 1
            tally.notes.append(f"kill {i} at {moment:.2f} s: next build said {done.stderr.strip()[:200]!r}")
    return tally


def main() -> None:
    """Command line: run the harness and print the tally as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="scratch folder (emptied first)")
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--budget", type=float, default=1500.0, help="seconds at most")
    parser.add_argument("--python", default=sys.executable, help="interpreter that has newsletter installed")
    parser.add_argument("--pythonpath", default=None, help="run another checkout's package (PYTHONPATH)")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    tally = run(args.folder, args.posts, args.kills, args.budget, args.python, args.pythonpath, args.seed)
    print(json.dumps(asdict(tally), indent=2))
    bad = tally.orphans or tally.stale_locks or tally.bad_next_builds or tally.waited_next_builds
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
