"""Benchmark newsletter against Pelican and Hugo on the same generated corpus.

    python bench/run.py [--sizes 1000 10000] [--runs N] [--skip-pelican] [--skip-hugo] [--out bench/results]

For each size: generate a deterministic corpus (bench/corpus.py) on /dev/shm
when available, then time, several runs each, `newsletter check`, `feed`
and `build` cold (no public/, outbox/ or cache), `build` warm with nothing
changed and with one post changed; Pelican cold (no cache) and warm (content
cache); Hugo cold. newsletter's cold build and Hugo's run in turns (one of
each per round), so that their ratio is also taken run by run. Then cold start (`newsletter --help`, `newsletter check`
on the repo's sample project) and the digest of a 10-post week. Writes
results.json and results.md into --out and prints the Markdown.

Pelican runs from its own venv (default bench/.venv-pelican, created with
pip on first use; --pelican-venv reuses another). Hugo is the `hugo` on
PATH (Debian: apt-get install hugo); without it the Hugo rows are skipped.
A failing case is reported as "failed: <first line of its error>" and the
run carries on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import corpus
import report
import tools
from measure import Case, Row, measure, measure_in_turns, run_once, skipped

DIGEST_SNIPPET = """\
import sys, time
from pathlib import Path
from newsletter.load import load_project
from newsletter.weeks import posts_in_week, resolve_week
project = load_project(Path(sys.argv[1]))
week = resolve_week("last", project.now, project.settings.site.tz)
posts = posts_in_week(project.published, week, project.settings.digest.order)
start = time.perf_counter()
from newsletter.render.email import render_digest
render_digest(project, week, posts)
print(time.perf_counter() - start)
"""


def _rm(*paths: Path) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def bench_newsletter(cmd: list[str], site: Path, newest: Path, runs: int, env: dict[str, str]) -> list[Row]:
    """check (no cache yet), feed cold, build warm (nothing changed / the newest post changed)."""
    outputs = [site / "public", site / "outbox", site / ".newsletter-cache"]
    rows = [
        measure("newsletter", "check", [*cmd, "check", "-C", str(site)], runs=runs, env=env),
        measure(
            "newsletter",
            "feed cold",
            [*cmd, "feed", "-q", "-C", str(site)],
            runs=runs,
            env=env,
            before_each=lambda: _rm(*outputs),
        ),
    ]
    build = [*cmd, "build", "-q", "-C", str(site)]

    def prime() -> None:
        _rm(*outputs)
        run_once(build, env=env)

    rows.append(measure("newsletter", report.BUILD_WARM, build, runs=runs, env=env, before_all=prime))
    edits = iter(range(1, 1_000_000))

    def edit_newest() -> None:
        with newest.open("a", encoding="utf-8") as f:
            f.write(f"\nEdit {next(edits)}: one more sentence, appended by the benchmark.\n")

    rows.append(measure("newsletter", report.BUILD_ONE, build, runs=runs, env=env, before_each=edit_newest))
    return rows


def bench_pelican(python: Path | None, why: str, site: Path, runs: int, env: dict[str, str]) -> list[Row]:
    """Pelican cold (no cache, no output) and warm (content cache loaded, nothing changed)."""
    if python is None:
        return [skipped("pelican", report.PELICAN_COLD, why), skipped("pelican", "warm (content cache)", why)]
    outputs = [site / "output", site / "cache"]

    def argv(conf: str) -> list[str]:
        return [str(python), "-m", "pelican", "content", "-s", conf, "-o", "output", "-q"]

    def prime() -> None:
        _rm(*outputs)
        run_once(argv("pelicanconf_cached.py"), env=env, cwd=site)

    return [
        measure(
            "pelican",
            report.PELICAN_COLD,
            argv("pelicanconf.py"),
            runs=runs,
            env=env,
            cwd=site,
            before_each=lambda: _rm(*outputs),
        ),
        measure(
            "pelican",
            "warm (content cache)",
            argv("pelicanconf_cached.py"),
            runs=runs,
            env=env,
            cwd=site,
            before_all=prime,
        ),
    ]


def bench_cold(
    cmd: list[str], site: Path, hugo: str | None, hugo_why: str, hugo_site: Path, runs: int, env: dict[str, str]
) -> tuple[Row, Row]:
    """newsletter build cold (no public/, outbox/, cache) and Hugo cold (no public/, resources/, cache), in turns."""
    outputs = [site / "public", site / "outbox", site / ".newsletter-cache"]
    cases = [
        Case(
            "newsletter",
            report.BUILD_COLD,
            [*cmd, "build", "-q", "-C", str(site)],
            env,
            lambda: _rm(*outputs),
        )
    ]
    if hugo is not None:
        theirs = [hugo_site / "public", hugo_site / "resources", hugo_site / ".hugo-cache"]
        hugo_env = {**env, "HUGO_CACHEDIR": str(hugo_site / ".hugo-cache")}
        argv = [hugo, "--quiet", "-s", str(hugo_site)]
        cases.append(Case("hugo", report.HUGO_COLD, argv, hugo_env, lambda: _rm(*theirs)))
    rows = measure_in_turns(cases, runs=runs)
    return rows[0], rows[1] if hugo is not None else skipped("hugo", report.HUGO_COLD, hugo_why)


def bench_startup(cmd: list[str], scratch: Path, runs: int, env: dict[str, str]) -> tuple[list[Row], dict]:
    """Cold start of the CLI and the digest of a 10-post week."""
    python = Path(cmd[0]).with_name("python")
    python_cmd = str(python) if python.exists() else sys.executable
    tiny = scratch / "digest-10"
    summary = corpus.generate(tiny, 10)
    site = tiny / "newsletter"
    digest_runs = max(5, runs // 2)
    rows = [
        measure("python", "python -c pass (baseline)", [python_cmd, "-c", "pass"], runs=runs, env=env),
        measure("newsletter", report.HELP, [*cmd, "--help"], runs=runs, env=env),
        measure("newsletter", report.CHECK_SAMPLE, [*cmd, "check", "-C", str(tools.REPO)], runs=runs, env=env),
        measure(
            "newsletter",
            "digest, 10-post week (whole command)",
            [*cmd, "digest", "-q", "-C", str(site)],
            runs=digest_runs,
            env=env,
            before_each=lambda: _rm(site / "outbox"),
        ),
        measure(
            "newsletter",
            report.DIGEST_RENDER,
            [python_cmd, "-c", DIGEST_SNIPPET, str(site)],
            runs=digest_runs,
            env=env,
            inner_timing=True,
            label="python -c <load_project; render_digest> (time of render_digest incl. its import)",
        ),
    ]
    return rows, summary


def _print_row(row: Row) -> None:
    median = row.median
    shown = f"{median:.3f} s median of {len(row.samples)}, peak {row.peak_mb:.0f} MB" if median is not None else ""
    print(f"  {row.tool:<10} {row.case:<42} {shown or row.status}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Benchmark newsletter against Pelican and Hugo.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="corpus sizes (posts)")
    parser.add_argument("--runs", type=int, help="runs per case (default 5 below 5,000 posts, else 3)")
    parser.add_argument("--pelican-runs", type=int, help="runs per Pelican case (default --runs; 1 from 5,000 posts)")
    parser.add_argument("--startup-runs", type=int, default=20, help="runs of the cold-start cases (default 20)")
    parser.add_argument("--skip-pelican", action="store_true")
    parser.add_argument("--skip-hugo", action="store_true")
    parser.add_argument("--skip-startup", action="store_true", help="skip the cold-start and digest cases")
    parser.add_argument("--out", type=Path, default=tools.REPO / "bench" / "results")
    parser.add_argument("--pelican-venv", type=Path, default=tools.DEFAULT_PELICAN_VENV)
    parser.add_argument("--no-install", action="store_true", help="never create the Pelican venv")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora (path printed)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 0 even when cases failed (the table says which)."""
    args = parse_args(argv)
    cmd = tools.newsletter_command()
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(corpus.NOW_EPOCH)}
    scratch = Path(tempfile.mkdtemp(prefix="newsletter-bench-", dir=tools.scratch_root()))
    meta: dict[str, object] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "now_epoch": corpus.NOW_EPOCH,
        "scratch": str(scratch),
        "machine": tools.machine(),
        "corpora": {},
        "load_average": {},  # 1, 5, 15 minutes: other work on the machine skews the figures
        "tools": {"newsletter": tools.newsletter_version(cmd)},
        "notes": [
            "Peak MB: ru_maxrss of each run's process tree (os.wait4); the row shows the largest over its runs.",
            "newsletter 'one post changed': a paragraph is appended to the newest post (in the digest week) "
            "before each run.",
            "Pelican: default theme, DEFAULT_PAGINATION False, RSS + Atom for all posts and per category; "
            "one category per post (the first), the others become tags.",
            "Hugo has no built-in Atom: RSS only (home, section, every category and tag), minimal HTML layouts.",
            "Pelican and Hugo bodies are the same Markdown with the references appended as a numbered list.",
            "The in-process digest row times render_digest (and importing it) inside the process; its CPU and "
            "peak MB are the whole process's.",
        ],
    }
    pelican_py, pelican_why = None, "--skip-pelican"
    if not args.skip_pelican:
        pelican_py, pelican_why = tools.pelican_python(args.pelican_venv, create=not args.no_install)
        if pelican_py:
            meta["tools"]["pelican"] = tools.pelican_versions(pelican_py)  # type: ignore[index]
    hugo = None if args.skip_hugo else tools.hugo_binary()
    hugo_why = "--skip-hugo" if args.skip_hugo else "hugo not found (Debian: apt-get install hugo)"
    if hugo:
        meta["tools"]["hugo"] = tools.hugo_version(hugo)  # type: ignore[index]
    print(f"newsletter: {' '.join(cmd)}; corpora in {scratch}", flush=True)

    sizes: dict[int, list[Row]] = {}
    try:
        for n in args.sizes:
            runs = args.runs or (5 if n < 5000 else 3)
            pelican_runs = args.pelican_runs or (1 if n >= 5000 else runs)
            root = scratch / f"corpus-{n}"
            summary = corpus.generate(root, n)
            meta["load_average"][f"before {n}"] = os.getloadavg()  # type: ignore[index]
            meta["corpora"][n] = summary  # type: ignore[index]
            print(f"{n:,} posts, {summary['bytes_per_post']:,} bytes each, in {root}", flush=True)
            newest = root / "newsletter" / str(summary["newest_post"])
            rows = bench_newsletter(cmd, root / "newsletter", newest, runs, env)  # check first: no cache yet
            ours, theirs = bench_cold(cmd, root / "newsletter", hugo, hugo_why, root / "hugo", runs, env)
            rows.insert(2, ours)  # after check and feed cold
            for row in rows:
                _print_row(row)
            more = bench_pelican(pelican_py, pelican_why, root / "pelican", pelican_runs, env)
            more.append(theirs)
            for row in more:
                _print_row(row)
            sizes[n] = rows + more
            if not args.keep:
                _rm(root)
        startup: list[Row] = []
        if not args.skip_startup:
            print("cold start and digest", flush=True)
            meta["load_average"]["before start-up"] = os.getloadavg()  # type: ignore[index]
            startup, _ = bench_startup(cmd, scratch, args.startup_runs, env)
            for row in startup:
                _print_row(row)
    finally:
        if not args.keep:
            _rm(scratch)
    meta["load_average"]["end"] = os.getloadavg()  # type: ignore[index]
    print()
    print(report.write(args.out, meta, sizes, startup))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
