"""Peak memory of cold builds: the largest process, and the whole process tree by RSS and by PSS.

    python bench/tree_memory.py SITE [--runs N] [--timeline]

SITE is a project folder (``bench/corpus.py ROOT --posts N`` makes one in
ROOT/newsletter). Each run removes public/, outbox/ and the build cache,
runs ``newsletter build -q`` under SOURCE_DATE_EPOCH and, every 20 ms,
reads /proc/PID/smaps_rollup of the build and of every process under it.

RSS counts a page once in every process that maps it, so forked workers
that still share their parent's pages are counted again in full (what
bench/measure.py's tree figure is: an upper bound). PSS shares each page
out among the processes mapping it: the tree's PSS is what the build
really holds. The largest process is also given by ``wait4``'s
``ru_maxrss`` (not sampled: exact).

``--timeline`` also prints, about 40 times a run, each process's PSS and
private dirty memory (what it no longer shares: written since the fork, or
its own), each named by when it was born: the stages show as processes
come and go (the loading workers, then the page workers). Then the same,
with the shared part, at the moment of the tree's peak PSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from corpus import NOW_EPOCH
from tools import newsletter_command

FIELDS = (b"Rss:", b"Pss:", b"Shared_Clean:", b"Shared_Dirty:", b"Private_Dirty:")


def _rollup(pid: int) -> dict[str, int]:
    """Rss, Pss, Shared_Clean, Shared_Dirty and Private_Dirty of one process in KiB (empty when it is gone)."""
    found = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                name = line.split(maxsplit=1)[0]
                if name in FIELDS:
                    found[name[:-1].decode()] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return {}
    return found


def _tree(root: int) -> list[int]:
    """``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    parent = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


Sample = tuple[float, list[tuple[int, dict[str, int]]]]  # seconds since the start, (pid, rollup) of each process


def run(site: Path, command: list[str], timeline: list[Sample] | None = None) -> dict[str, float]:
    """One cold build of ``site``: seconds, CPU seconds and the peaks in MB (each sample added to ``timeline``)."""
    for name in ("public", "outbox", ".newsletter-cache"):
        shutil.rmtree(site / name, ignore_errors=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(NOW_EPOCH)}
    peaks = {"largest_sampled": 0, "tree_rss": 0, "tree_pss": 0}
    done = threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen([*command, "build", "-q", "-C", str(site)], env=env, stdout=subprocess.DEVNULL)

    def sample() -> None:
        while not done.wait(0.02):
            at = time.perf_counter() - start
            sizes = [(pid, size) for pid in _tree(process.pid) if (size := _rollup(pid))]
            if timeline is not None:
                timeline.append((at, sizes))
            peaks["largest_sampled"] = max([peaks["largest_sampled"], *(size["Rss"] for _, size in sizes)])
            peaks["tree_rss"] = max(peaks["tree_rss"], sum(size["Rss"] for _, size in sizes))
            peaks["tree_pss"] = max(peaks["tree_pss"], sum(size["Pss"] for _, size in sizes))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"the build failed (exit status {process.returncode})")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "largest_mb": usage.ru_maxrss / 1024,
        **{f"{name}_mb": kib / 1024 for name, kib in peaks.items()},
    }


def print_timeline(timeline: list[Sample], lines: int = 40) -> None:
    """Each process's PSS / private dirty MB over time (named by when it was born), then all of it at the peak."""
    if not timeline:
        return
    born: dict[int, float] = {}
    for at, sizes in timeline:
        for pid, _ in sizes:
            born.setdefault(pid, at)
    main = timeline[0][1][0][0] if timeline[0][1] else 0

    def name(pid: int) -> str:
        return "main" if pid == main else f"born {born[pid]:.1f}s"

    def tree(sizes: list[tuple[int, dict[str, int]]], field: str) -> int:
        return sum(size[field] for _, size in sizes) >> 10

    print("seconds  tree PSS  tree RSS | each process: PSS/private dirty MB")
    for at, sizes in timeline[:: max(1, len(timeline) // lines)]:
        each = "  ".join(f"{name(pid)} {size['Pss'] >> 10}/{size['Private_Dirty'] >> 10}" for pid, size in sizes)
        print(f"{at:7.2f}  {tree(sizes, 'Pss'):8d}  {tree(sizes, 'Rss'):8d} | {each}")
    at, sizes = max(timeline, key=lambda sample: tree(sample[1], "Pss"))
    print(f"peak at {at:.2f} s: tree PSS {tree(sizes, 'Pss')} MB, RSS {tree(sizes, 'Rss')} MB")
    for pid, size in sizes:
        print(f"  {name(pid):>12}: " + ", ".join(f"{key} {value >> 10}" for key, value in size.items()) + " MB")


def main() -> None:
    """Run the cold builds and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeline", action="store_true", help="each process's memory over time, and at the peak")
    options = parser.parse_args()
    command = newsletter_command()
    for _ in range(options.runs):
        timeline: list[Sample] | None = [] if options.timeline else None
        result = run(options.site, command, timeline)
        print(
            f"{result['seconds']:.1f} s, CPU {result['cpu_seconds']:.1f} s;"
            f" largest process {result['largest_mb']:.0f} MB;"
            f" tree RSS {result['tree_rss_mb']:.0f} MB, tree PSS {result['tree_pss_mb']:.0f} MB",
            flush=True,
        )
        if timeline is not None:
            print_timeline(timeline)


if __name__ == "__main__":
    main()
