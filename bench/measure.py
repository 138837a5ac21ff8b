"""Run a command several times: wall time, CPU time and peak memory of each run.

Each run goes through a tiny wrapper (``python -I -S``, only ``os`` and
``time``) that spawns the command, times it and reaps it with ``os.wait4``:
that resource usage covers the command and every descendant it waited for,
so ``ru_maxrss`` is the peak resident memory of that run alone. The wrapper
matters: Linux starts a child's ``ru_maxrss`` at the RSS of the process that
spawned it, so spawning straight from this (large) harness would report its
size, not the command's. Through the wrapper the floor is about 10 MB.

``ru_maxrss`` is the peak of the largest single process, not of the tree
(forked workers each have their own). So the wrapper also samples the
tree: every 10 ms a thread lists /proc, finds the command's descendants
by their parent pid and sums their resident memory (/proc/PID/statm);
the largest sum is the tree's peak. Pages a forked worker still shares
with its parent are counted in both, so it is an upper bound; a process
living less than 10 ms may be missed. Sampling costs about 1% of a core.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Sample:
    """One run."""

    seconds: float
    cpu_seconds: float
    peak_mb: float  # ru_maxrss: the largest single process of the run
    tree_peak_mb: float | None = None  # the whole process tree, sampled (see the module's docstring)


@dataclass
class Row:
    """One benchmark case: several runs of one command, or why it failed or was skipped."""

    tool: str
    case: str
    command: str
    samples: list[Sample] = field(default_factory=list)
    status: str = "ok"  # "ok", "failed: <first line>", "skipped: <why>"
    in_turns: bool = False  # timed in turns with other rows (see measure_in_turns)

    @property
    def ok(self) -> bool:
        """True when every run succeeded."""
        return self.status == "ok" and bool(self.samples)

    def stat(self, name: str = "seconds") -> dict[str, float] | None:
        """Median, min and max of one measure over the runs."""
        values = [getattr(s, name) for s in self.samples]
        if not self.ok:
            return None
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    @property
    def median(self) -> float | None:
        """Median wall time in seconds, or None when the case did not run."""
        stat = self.stat()
        return stat["median"] if stat else None

    @property
    def peak_mb(self) -> float | None:
        """Largest peak RSS of a single process over the runs, in MB."""
        return max(s.peak_mb for s in self.samples) if self.ok else None

    @property
    def tree_peak_mb(self) -> float | None:
        """Largest sampled peak of the whole process tree over the runs, in MB."""
        peaks = [s.tree_peak_mb for s in self.samples if s.tree_peak_mb is not None]
        return max(peaks) if self.ok and peaks else None

    def to_json(self) -> dict[str, object]:
        """The row as plain data for results.json."""
        return {
            "tool": self.tool,
            "case": self.case,
            "command": self.command,
            "status": self.status,
            "runs": len(self.samples),
            "in_turns": self.in_turns,
            "seconds": self.stat("seconds"),
            "cpu_seconds": self.stat("cpu_seconds"),
            "peak_mb": self.peak_mb,
            "tree_peak_mb": self.tree_peak_mb,
            "samples": [asdict(s) for s in self.samples],
        }


class RunFailed(Exception):
    """A run exited non-zero; the message is the first line of its output."""


def first_line(text: str) -> str:
    """The first non-blank line of a command's error output, shortened (a traceback's last line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "(no output)"
    return (lines[-1] if lines[0].startswith("Traceback") else lines[0])[:200]


WRAPPER = """\
import os, sys, threading, time
result, argv = sys.argv[1], sys.argv[2:]
page = os.sysconf("SC_PAGE_SIZE")
peak = [0]
done = threading.Event()


def tree_rss(root, parents):
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    for gone in set(parents) - set(pids):
        del parents[gone]
    children = {}
    for pid in pids:
        if pid not in parents:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    parents[pid] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                parents[pid] = -1
        children.setdefault(parents[pid], []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
    return total


def sample(root):
    parents = {}
    while True:
        try:
            peak[0] = max(peak[0], tree_rss(root, parents))
        except OSError:
            pass
        if done.wait(0.01):
            return


start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
sampler = threading.Thread(target=sample, args=(pid,), daemon=True)
sampler.start()
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
done.set()
sampler.join()
code = os.waitstatus_to_exitcode(status)
with open(result, "w") as f:
    f.write(f"{seconds} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} {code} {peak[0] // 1024}")
sys.exit(0 if code == 0 else 1)
"""


def run_once(argv: Sequence[str], *, env: dict[str, str], cwd: Path | None = None) -> tuple[Sample, str]:
    """Run ``argv`` once; return its sample and its standard output. Raise RunFailed on a non-zero exit."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        result = Path(tmp) / "rusage"
        wrapped = [sys.executable, "-I", "-S", "-c", WRAPPER, str(result), *argv]
        done = subprocess.run(wrapped, capture_output=True, stdin=subprocess.DEVNULL, env=env, cwd=cwd, check=False)
        measured = result.read_text().split() if result.exists() else []
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0 or len(measured) != 5:
        raise RunFailed(first_line(stderr) if stderr.strip() else first_line(stdout))
    seconds, cpu, maxrss_kib, _, tree_kib = measured
    sample = Sample(
        seconds=float(seconds),
        cpu_seconds=float(cpu),
        peak_mb=round(int(maxrss_kib) / 1024, 1),
        tree_peak_mb=round(int(tree_kib) / 1024, 1) if int(tree_kib) else None,
    )
    return sample, stdout


def measure(
    tool: str,
    case: str,
    argv: Sequence[str],
    *,
    runs: int,
    env: dict[str, str],
    before_each: Callable[[], None] | None = None,
    before_all: Callable[[], None] | None = None,
    inner_timing: bool = False,
    label: str | None = None,
    cwd: Path | None = None,
) -> Row:
    """Time ``runs`` runs of ``argv``; a failure ends the row with "failed: <first line of error>".

    ``before_all`` runs once (untimed, e.g. a priming build); ``before_each``
    runs before every timed run (e.g. deleting outputs). With
    ``inner_timing`` the command prints its own measurement (seconds) as the
    last line of its output, and that replaces the wall time.
    """
    row = Row(tool=tool, case=case, command=label or " ".join(str(a) for a in argv))
    try:
        if before_all:
            before_all()
        for _ in range(runs):
            if before_each:
                before_each()
            sample, stdout = run_once(argv, env=env, cwd=cwd)
            if inner_timing:
                sample.seconds = float(stdout.strip().splitlines()[-1])
            row.samples.append(sample)
    except RunFailed as exc:
        row.status = f"failed: {exc}"
    except (OSError, ValueError, IndexError) as exc:
        row.status = f"failed: {type(exc).__name__}: {first_line(str(exc))}"
    return row


@dataclass
class Case:
    """One command to time, for :func:`measure_in_turns`."""

    tool: str
    case: str
    argv: Sequence[str]
    env: dict[str, str]
    before_each: Callable[[], None] | None = None


def measure_in_turns(cases: Sequence[Case], *, runs: int) -> list[Row]:
    """Time ``runs`` rounds of the cases, one run of each per round (A B A B ...).

    The speed of a shared machine drifts (other tenants come and go): runs
    side by side see the same machine, so their ratios drift less than
    those of two series timed one after the other. A failed case drops out
    of the rounds; the others go on.
    """
    rows = [Row(tool=c.tool, case=c.case, command=" ".join(str(a) for a in c.argv), in_turns=True) for c in cases]
    for _ in range(runs):
        for case, row in zip(cases, rows, strict=True):
            if row.status != "ok":
                continue
            try:
                if case.before_each:
                    case.before_each()
                row.samples.append(run_once(case.argv, env=case.env)[0])
            except RunFailed as exc:
                row.status = f"failed: {exc}"
            except (OSError, ValueError, IndexError) as exc:
                row.status = f"failed: {type(exc).__name__}: {first_line(str(exc))}"
    return rows


def skipped(tool: str, case: str, why: str) -> Row:
    """A row for a case that was not run."""
    return Row(tool=tool, case=case, command="", status=f"skipped: {why}")
