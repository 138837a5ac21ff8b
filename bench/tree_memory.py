"""Peak memory of cold builds: the largest process, and the whole process tree by RSS and by PSS.

    python bench/tree_memory.py SITE [--runs N]

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


def _rollup(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process in KiB, (0, 0) when it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


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


def run(site: Path, command: list[str]) -> dict[str, float]:
    """One cold build of ``site``: seconds, CPU seconds and the peaks in MB."""
    for name in ("public", "outbox", ".newsletter-cache"):
        shutil.rmtree(site / name, ignore_errors=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(NOW_EPOCH)}
    peaks = {"largest_sampled": 0, "tree_rss": 0, "tree_pss": 0}
    done = threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen([*command, "build", "-q", "-C", str(site)], env=env, stdout=subprocess.DEVNULL)

    def sample() -> None:
        while not done.wait(0.02):
            sizes = [_rollup(pid) for pid in _tree(process.pid)]
            peaks["largest_sampled"] = max(peaks["largest_sampled"], *(rss for rss, _ in sizes))
            peaks["tree_rss"] = max(peaks["tree_rss"], sum(rss for rss, _ in sizes))
            peaks["tree_pss"] = max(peaks["tree_pss"], sum(pss for _, pss in sizes))

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


def main() -> None:
    """Run the cold builds and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args()
    command = newsletter_command()
    for _ in range(options.runs):
        result = run(options.site, command)
        print(
            f"{result['seconds']:.1f} s, CPU {result['cpu_seconds']:.1f} s;"
            f" largest process {result['largest_mb']:.0f} MB;"
            f" tree RSS {result['tree_rss_mb']:.0f} MB, tree PSS {result['tree_pss_mb']:.0f} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
