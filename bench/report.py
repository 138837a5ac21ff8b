"""Turn measured rows into results.json and a Markdown report (ratios, floor, stages and the issues' targets)."""

from __future__ import annotations

import json
import operator
import statistics
from collections.abc import Callable
from pathlib import Path

from measure import Row

# Case names shared by run.py and the targets below.
BUILD_COLD = "build cold"
BUILD_WARM = "build warm, nothing changed"
BUILD_ONE = "build warm, one post changed"
BUILD_OLD = "build warm, the oldest post changed"
CHECK_WARM = "check after build (cache warm)"
PELICAN_COLD = "cold (no cache)"
HUGO_COLD = "cold"
HELP = "--help"
BASELINE = "python -c pass (baseline)"
CHECK_SAMPLE = "check (sample project)"
DIGEST_RENDER = "render_digest + CSS inlining, 10-post week (in-process)"
ISSUE_SIZE, BIG_SIZE = 10_000, 100_000

REFERENCE = (
    "Issue 7's reference figures (2-core machine): Pelican 4.12 no cache 4.2 s @1k, 45 s @10k; "
    "warm cache 3.5 s / 31 s; Hugo 0.111 0.78 s / 5.8 s. Issue 16's (lead, this morning, 10k): cold 7.7-9.1 s "
    "(Hugo 0.168: 5.6-5.9 s), nothing changed 1.35-1.6 s, one post changed 1.5-1.8 s, check 1.1-1.5 s."
)


def _find(rows: list[Row], tool: str, case: str) -> Row | None:
    return next((r for r in rows if r.tool == tool and r.case == case), None)


def _peers(rows: list[Row]) -> list[tuple[str, Row | None]]:
    """(ratio name, row) for Pelican and every Hugo measured or skipped."""
    found: list[tuple[str, Row | None]] = [("newsletter/pelican", _find(rows, "pelican", PELICAN_COLD))]
    hugos = [r for r in rows if r.tool.startswith("hugo") and r.case == HUGO_COLD]
    return found + [(f"newsletter/{r.tool}", r) for r in hugos]


def ratios(rows: list[Row]) -> dict[str, float | None]:
    """newsletter build cold over each peer's cold build (below 1.0: newsletter is faster).

    Medians over medians; for runs timed in turns also the ratio of each
    round: their median, min and max ("... in turns", "... in turns min").
    """
    ours = _find(rows, "newsletter", BUILD_COLD)
    result: dict[str, float | None] = {}
    for name, theirs in _peers(rows):
        both = ours and theirs and ours.median is not None and theirs.median
        result[name] = round(ours.median / theirs.median, 3) if both else None  # type: ignore[union-attr,operator]
        paired = both and ours.in_turns and theirs.in_turns and len(ours.samples) == len(theirs.samples)  # type: ignore[union-attr]
        if paired:
            each = sorted(a.seconds / b.seconds for a, b in zip(ours.samples, theirs.samples, strict=True))  # type: ignore[union-attr]
            result[f"{name} in turns"] = round(statistics.median(each), 3)
            result[f"{name} in turns min"] = round(each[0], 3)
            result[f"{name} in turns max"] = round(each[-1], 3)
    return result


def linearity(sizes: dict[int, list[Row]]) -> list[dict[str, float | int | None]]:
    """Cold build time (and CPU) per post at each size, and over that of the smallest size (1.0: linear)."""
    cold = {n: _find(rows, "newsletter", BUILD_COLD) for n, rows in sizes.items()}
    ran = {n: row for n, row in cold.items() if row is not None and row.median is not None and n}
    if not ran:
        return []
    wall = {n: row.median / n for n, row in ran.items()}  # type: ignore[operator]
    cpu = {n: row.stat("cpu_seconds")["median"] / n for n, row in ran.items()}  # type: ignore[index]
    base = min(ran)
    return [
        {
            "posts": n,
            "seconds": wall[n] * n,
            "us_per_post": wall[n] * 1e6,
            "vs_smallest": wall[n] / wall[base],
            "cpu_us_per_post": cpu[n] * 1e6,
            "cpu_vs_smallest": cpu[n] / cpu[base] if cpu[base] else None,
        }
        for n in sorted(ran)
    ]


def _target(
    issue: str,
    name: str,
    value: float | None,
    op: str,
    goal: float,
    unit: str,
    note: str = "",
    cpu: float | None = None,
) -> dict:
    compare: Callable[[float, float], bool] = {"<": operator.lt, "<=": operator.le}[op]
    met = None if value is None else compare(value, goal)
    goal_text = f"{op} {goal:g} {unit}"
    return {"issue": issue, "target": name, "measured": value, "cpu": cpu, "goal": goal_text, "met": met, "note": note}


def _cpu(rows: list[Row] | None, tool: str, case: str) -> float | None:
    """Median CPU seconds of a row (the whole process tree's): steadier than wall time on a busy machine."""
    row = _find(rows, tool, case) if rows is not None else None
    stat = row.stat("cpu_seconds") if row is not None else None
    return stat["median"] if stat else None


def targets(sizes: dict[int, list[Row]], startup: list[Row]) -> list[dict[str, object]]:
    """Issue 16's targets (and issue 7's still meaningful ones) against what was measured: figures, never asserts."""
    small, big = sizes.get(ISSUE_SIZE), sizes.get(BIG_SIZE)
    out: list[dict[str, object]] = []

    def median(rows: list[Row] | None, tool: str, case: str) -> tuple[float | None, str]:
        row = _find(rows, tool, case) if rows is not None else None
        if row is None:
            return None, "not run"
        return row.median, "" if row.ok else row.status

    for label, case, goal in (
        ("10k cold build", BUILD_COLD, 1.5),
        ("10k rebuild, nothing changed", BUILD_WARM, 0.25),
        ("10k rebuild, one post changed (digest too)", BUILD_ONE, 0.35),
        ("10k check after a build", CHECK_WARM, 0.3),
    ):
        value, why = median(small, "newsletter", case)
        out.append(_target("16", label, value, "<=", goal, "s", why, _cpu(small, "newsletter", case)))
    found = ratios(small) if small else {}
    for name in [k for k in found if k.startswith("newsletter/hugo") and k.endswith("in turns")]:
        note = "about a quarter of Hugo's time"
        out.append(_target("16", f"10k cold, {name} run by run (median)", found[name], "<=", 0.25, "(ratio)", note))
    value, why = median(big, "newsletter", BUILD_COLD)
    out.append(_target("16", "100k cold build", value, "<=", 15, "s", why, _cpu(big, "newsletter", BUILD_COLD)))
    row = _find(big, "newsletter", BUILD_COLD) if big else None
    tree = row.tree_peak_mb if row else None
    out.append(_target("16", "100k peak memory, process tree (RSS summed: upper bound)", tree, "<", 1024, "MB", why))
    single = row.peak_mb if row else None
    out.append(_target("16", "100k peak memory, largest process (lower bound)", single, "<", 1024, "MB", why))
    steps = {entry["posts"]: entry for entry in linearity(sizes)}
    both = ISSUE_SIZE in steps and BIG_SIZE in steps
    note = "" if both else "needs 10k and 100k in one run"
    wall = steps[BIG_SIZE]["us_per_post"] / steps[ISSUE_SIZE]["us_per_post"] if both else None  # type: ignore[operator]
    cpu = steps[BIG_SIZE]["cpu_us_per_post"] / steps[ISSUE_SIZE]["cpu_us_per_post"] if both else None  # type: ignore[operator]
    out.append(_target("16", "linear: time per post, 100k over 10k", wall, "<=", 1.2, "(ratio)", note, cpu))
    value, why = median(startup, "newsletter", HELP)
    out.append(_target("16", "newsletter --help", value, "<", 0.06, "s", why, _cpu(startup, "newsletter", HELP)))
    if small:
        value = found.get("newsletter/pelican")
        out.append(_target("7", "10k cold build, newsletter/Pelican (medians)", value, "<", 1.0, "(ratio)"))
    for label, case, goal in (
        ("newsletter check, sample project", CHECK_SAMPLE, 0.3),
        ("digest render + CSS inlining, 10 posts", DIGEST_RENDER, 0.3),
    ):
        value, why = median(startup, "newsletter", case)
        out.append(_target("7", label, value, "<", goal, "s", why))
    return out


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _mb(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "–"


def table(rows: list[Row]) -> list[str]:
    """Markdown rows: median, span, CPU, runs, peak MB of a single process and of the whole tree."""
    lines = [
        "| tool | case | runs | median s | min–max s | CPU s (median) | peak MB | tree MB | status |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        wall, cpu = r.stat("seconds"), r.stat("cpu_seconds")
        span = f"{_seconds(wall['min'])}–{_seconds(wall['max'])}" if wall else "–"
        status = r.status.replace("|", "\\|")
        lines.append(
            f"| {r.tool} | {r.case} | {len(r.samples)} | {_seconds(wall and wall['median'])} | {span} | "
            f"{_seconds(cpu and cpu['median'])} | {_mb(r.peak_mb)} | {_mb(r.tree_peak_mb)} | {status} |"
        )
    return lines


def floor_table(floor: dict) -> list[str]:
    """The floor (inprocess.floor_summary) as a Markdown table."""
    if "status" in floor:
        return [f"Floor: {floor['status']}"]
    mb = floor["bytes_written"] / 2**20
    share = f"{floor['share']:.0%}" if floor.get("share") is not None else "–"
    return [
        f"| floor (median of {floor['runs']}) | s |",
        "| --- | ---: |",
        f"| read {floor['files_read']:,} post files | {_seconds(floor['read'])} |",
        f"| write {floor['files_written']:,} files, {mb:,.0f} MB (as the build leaves) | {_seconds(floor['write'])} |",
        f"| Markdown: `{floor['markdown_call']}` per body | {_seconds(floor['markdown'])} |",
        f"| YAML: `yaml.load(front, Loader=yaml.CSafeLoader)` per post | {_seconds(floor['yaml'])} |",
        f"| **sum (serial CPU)** | {_seconds(floor['serial'])} |",
        f"| **wall floor on {floor['cores']} CPUs** (sum / {floor['cores']}) | {_seconds(floor['wall'])} |",
        f"| cold build (median) | {_seconds(floor['build'])} |",
        f"| **share of the floor the build reaches** (wall floor / build) | {share} |",
    ]


def stages_table(stages: dict) -> list[str]:
    """The build's stages (inprocess.stage_summary) as a Markdown table."""
    if "status" in stages:
        return [f"Stages: {stages['status']}"]
    lines = [
        f"| stage (median of {stages['runs']}) | first call s | last call s | first to last | span s | calls | total |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in stages["stages"]:
        total = f"{s['total']:,}" if isinstance(s.get("total"), int) else "–"
        window = _seconds(s["last"] - s["first"])
        lines.append(
            f"| {s['stage']} | {_seconds(s['first'])} | {_seconds(s['last'])} | {window} | {_seconds(s['span'])} | "
            f"{s['calls']:g} | {total} |"
        )
    lines.append(f"| after the last stage's last call | | | | {_seconds(stages['after'])} | | |")
    lines.append(f"| **build() in all** | | | | **{_seconds(stages['build'])}** | | |")
    lines.append(f"| (import newsletter.build, before) | | | | {_seconds(stages['import'])} | | |")
    return lines


def inprocess_lines(extra: dict) -> list[str]:
    """Floor and stage tables of one size, as far as they were run."""
    lines: list[str] = []
    if "floor" in extra:
        lines += ["### The floor", "", *floor_table(extra["floor"]), ""]
    if "stages" in extra:
        lines += ["### Cold build by stage (progress callback, in-process)", "", *stages_table(extra["stages"]), ""]
    if "profile" in extra:
        what = "cProfile of one cold build (one process; top 25 by cumulative, then by own time)"
        lines += [f"{what}: {extra['profile']}", ""]
    return lines


def ratio_lines(sizes: dict[int, list[Row]]) -> list[str]:
    """One row per size and peer: median ratio and run-by-run ratio (median, min–max)."""
    lines = [
        "| posts | ratio | medians | run by run in turns: median (min–max) |",
        "| ---: | --- | ---: | ---: |",
    ]
    for n, rows in sizes.items():
        found = ratios(rows)
        for name, row in _peers(rows):
            if row is None or name not in found:  # not run at this size at all
                continue
            show = {k: (f"{v:.2f}" if v is not None else "–") for k, v in found.items()}
            turns = "–"
            if found.get(f"{name} in turns") is not None:
                turns = f"{show[f'{name} in turns']} ({show[f'{name} in turns min']}–{show[f'{name} in turns max']})"
            lines.append(f"| {n:,} | {name} | {show[name]} | {turns} |")
    return lines


def tool_versions(found: dict[str, object]) -> str:
    """One line: which versions were measured."""
    parts = []
    for name, value in found.items():
        if name == "newsletter" and isinstance(value, dict):
            parts.append(f"{value.get('version')} ({value.get('commit')})")
        elif name == "pelican" and isinstance(value, dict):
            parts.append(f"Pelican {value.get('pelican')} with Markdown {value.get('markdown')}")
        elif value:
            parts.append(f"{name}: {value}")
    return "; ".join(parts)


def markdown(meta: dict[str, object], sizes: dict[int, list[Row]], startup: list[Row]) -> str:
    """The whole report as Markdown."""
    lines = ["# newsletter benchmark", "", f"Tools: {tool_versions(meta['tools'])}.  "]  # type: ignore[arg-type]
    m = meta["machine"]
    lines.append(
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gb']} GB, {m['platform']}, "  # type: ignore[index]
        f"Python {m['python']}; corpus on {meta['scratch']}; SOURCE_DATE_EPOCH={meta['now_epoch']}; "  # type: ignore[index]
        f"started {meta['started']}."
    )
    loads = ", ".join(f"{k} {v[0]:.2f}" for k, v in meta["load_average"].items())  # type: ignore[attr-defined]
    lines += [f"Load average (1 min; other work on the machine skews the figures): {loads}.", ""]
    lines += ["## Issue 16 targets (figures, not asserts)", ""]
    lines += [
        "| issue | target | measured (median) | CPU s (median) | goal | met |",
        "| --- | --- | ---: | ---: | --- | --- |",
    ]
    for t in targets(sizes, startup):
        value = t["measured"]
        shown = f"{value:.3f}" if isinstance(value, float) and value < 100 else _mb(value)  # type: ignore[arg-type]
        met = {True: "yes", False: "no", None: f"n/a {t['note']}".strip()}[t["met"]]  # type: ignore[index]
        lines.append(f"| {t['issue']} | {t['target']} | {shown} | {_seconds(t['cpu'])} | {t['goal']} | {met} |")
    for n, rows in sizes.items():
        corpus = meta["corpora"][n]  # type: ignore[index]
        made = f", generated in {corpus['seconds']} s" if "seconds" in corpus else ""
        lines += ["", f"## {n:,} posts (~{corpus['bytes_per_post']:,} bytes each{made})", "", *table(rows), ""]
        lines += inprocess_lines(meta.get("inprocess", {}).get(n, {}))  # type: ignore[attr-defined]
    lines += ["## Cold build ratios (below 1.0: newsletter is faster)", "", *ratio_lines(sizes), ""]
    steps = linearity(sizes)
    if len(steps) > 1:
        lines += ["## Linearity of the cold build", ""]
        lines += ["| posts | cold s | µs per post | vs smallest | CPU µs per post | vs smallest |"]
        lines.append("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for s in steps:
            cells = [f"{s['posts']:,}", _seconds(s["seconds"]), f"{s['us_per_post']:.0f}", f"{s['vs_smallest']:.2f}"]
            cells += [f"{s['cpu_us_per_post']:.0f}", f"{s['cpu_vs_smallest']:.2f}"]
            lines.append(f"| {' | '.join(cells)} |")
        lines.append("")
    lines += ["## Start-up and digest (sample project; 10-post week)", "", *table(startup), ""]
    base, helps = _find(startup, "python", BASELINE), _find(startup, "newsletter", HELP)
    if base and helps and base.median is not None and helps.median is not None:
        lines += [f"`newsletter --help` takes {helps.median - base.median:.3f} s more than `python -c pass`.", ""]
    lines += [REFERENCE, ""]
    lines += [f"- {note}" for note in meta["notes"]]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


def write(out: Path, meta: dict[str, object], sizes: dict[int, list[Row]], startup: list[Row]) -> str:
    """Write results.json and results.md into ``out``; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": meta,
        "sizes": {str(n): {"rows": [r.to_json() for r in rows], "ratios": ratios(rows)} for n, rows in sizes.items()},
        "linearity": linearity(sizes),
        "startup": [r.to_json() for r in startup],
        "targets": targets(sizes, startup),
    }
    (out / "results.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    text = markdown(meta, sizes, startup)
    (out / "results.md").write_text(text, encoding="utf-8")
    return text
