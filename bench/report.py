"""Turn measured rows into results.json and a Markdown table (ratios and the issue's targets included)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from measure import Row

# Case names shared by run.py and the targets below.
BUILD_COLD = "build cold"
BUILD_WARM = "build warm, nothing changed"
BUILD_ONE = "build warm, one post changed"
PELICAN_COLD = "cold (no cache)"
HUGO_COLD = "cold"
HELP = "--help"
CHECK_SAMPLE = "check (sample project)"
DIGEST_RENDER = "render_digest + CSS inlining, 10-post week (in-process)"

REFERENCE = (
    "Issue 7's reference figures (2-core machine): Pelican 4.12 no cache 4.2 s @1k, 45 s @10k; "
    "warm cache 3.5 s / 31 s; Hugo 0.111 0.78 s / 5.8 s."
)


def _find(rows: list[Row], tool: str, case: str) -> Row | None:
    return next((r for r in rows if r.tool == tool and r.case == case), None)


def ratios(rows: list[Row]) -> dict[str, float | None]:
    """newsletter build cold over Pelican cold and over Hugo cold (below 1.0: newsletter is faster)."""
    ours = _find(rows, "newsletter", BUILD_COLD)
    result: dict[str, float | None] = {}
    for name, tool, case in (("newsletter/pelican", "pelican", PELICAN_COLD), ("newsletter/hugo", "hugo", HUGO_COLD)):
        theirs = _find(rows, tool, case)
        both = ours and theirs and ours.median is not None and theirs.median
        result[name] = round(ours.median / theirs.median, 3) if both else None  # type: ignore[union-attr,operator]
        paired = both and ours.in_turns and theirs.in_turns and len(ours.samples) == len(theirs.samples)  # type: ignore[union-attr]
        if paired:  # run by run, side by side: the median of those ratios, and their range
            each = sorted(a.seconds / b.seconds for a, b in zip(ours.samples, theirs.samples, strict=True))  # type: ignore[union-attr]
            result[f"{name} in turns"] = round(statistics.median(each), 3)
            result[f"{name} in turns min"] = round(each[0], 3)
            result[f"{name} in turns max"] = round(each[-1], 3)
    return result


def targets(sizes: dict[int, list[Row]], startup: list[Row]) -> list[dict[str, object]]:
    """Issue 7's targets against what was measured: figures to read, never asserts."""
    big = sizes.get(10000, [])
    out: list[dict[str, object]] = []

    def add(name: str, value: float | None, goal: float, unit: str, why: str = "") -> None:
        met = None if value is None else value < goal
        out.append({"target": name, "measured": value, "goal": f"< {goal:g} {unit}", "met": met, "note": why})

    def median(rows: list[Row], tool: str, case: str) -> tuple[float | None, str]:
        row = _find(rows, tool, case)
        if row is None:
            return None, "not run"
        return row.median, "" if row.ok else row.status

    ratio = ratios(big).get("newsletter/hugo") if big else None
    add("10k cold build, newsletter/Hugo (medians)", ratio, 1.0, "(ratio)", "" if big else "10k not run")
    paired = ratios(big).get("newsletter/hugo in turns") if big else None
    add("10k cold build, newsletter/Hugo (run by run)", paired, 1.0, "(ratio)", "" if big else "10k not run")
    for label, case in (("10k warm, nothing changed", BUILD_WARM), ("10k warm, one post changed", BUILD_ONE)):
        value, why = median(big, "newsletter", case)
        add(label, value, 1.0, "s", why if big else "10k not run")
    peaks = [r.peak_mb for r in big if r.tool == "newsletter" and r.peak_mb is not None]
    add("10k peak memory (newsletter, any case)", max(peaks) / 1024 if peaks else None, 1.0, "GB")
    for label, case, goal in (
        ("cold start: newsletter --help", HELP, 0.1),
        ("cold start: newsletter check, sample project", CHECK_SAMPLE, 0.3),
        ("digest render + CSS inlining, 10 posts", DIGEST_RENDER, 0.3),
    ):
        value, why = median(startup, "newsletter", case)
        add(label, value, goal, "s", why)
    return out


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _table(rows: list[Row]) -> list[str]:
    lines = [
        "| tool | case | runs | median s | min–max s | CPU s (median) | peak MB | status |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        wall, cpu = r.stat("seconds"), r.stat("cpu_seconds")
        span = f"{_seconds(wall['min'])}–{_seconds(wall['max'])}" if wall else "–"
        peak = f"{r.peak_mb:.0f}" if r.peak_mb is not None else "–"
        status = r.status.replace("|", "\\|")
        lines.append(
            f"| {r.tool} | {r.case} | {len(r.samples)} | {_seconds(wall and wall['median'])} | {span} | "
            f"{_seconds(cpu and cpu['median'])} | {peak} | {status} |"
        )
    return lines


def tool_versions(found: dict[str, object]) -> str:
    """One line: which versions were measured."""
    parts = []
    ours = found.get("newsletter")
    if isinstance(ours, dict):
        parts.append(f"{ours.get('version')} ({ours.get('commit')})")
    pelican = found.get("pelican")
    if isinstance(pelican, dict):
        parts.append(f"Pelican {pelican.get('pelican')} with Markdown {pelican.get('markdown')}")
    if found.get("hugo"):
        parts.append(str(found["hugo"]))
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
    lines.append(f"Load average (1 min; other work on the machine skews the figures): {loads}.")
    lines.append("")
    for n, rows in sizes.items():
        corpus = meta["corpora"][n]  # type: ignore[index]
        lines += [f"## {n:,} posts (~{corpus['bytes_per_post']:,} bytes each)", "", *_table(rows), ""]
    lines += ["## Cold build ratios (below 1.0: newsletter is faster)", ""]
    lines += [
        "| posts | newsletter/Pelican | newsletter/Hugo | newsletter/Hugo, run by run in turns: median (min–max) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for n, rows in sizes.items():
        r = ratios(rows)
        show = {k: (f"{v:.2f}" if v is not None else "–") for k, v in r.items()}
        turns = "–"
        if r.get("newsletter/hugo in turns") is not None:
            turns = (
                f"{show['newsletter/hugo in turns']} "
                f"({show['newsletter/hugo in turns min']}–{show['newsletter/hugo in turns max']})"
            )
        lines.append(f"| {n:,} | {show['newsletter/pelican']} | {show['newsletter/hugo']} | {turns} |")
    lines += ["", "## Start-up and digest (sample project; 10-post week)", "", *_table(startup), ""]
    lines += ["## Issue 7 targets (figures, not asserts)", ""]
    lines += ["| target | measured | goal | met |", "| --- | ---: | --- | --- |"]
    for t in targets(sizes, startup):
        value = t["measured"]
        shown = f"{value:.3f}" if isinstance(value, float) else "–"
        met = {True: "yes", False: "no", None: f"n/a {t['note']}".strip()}[t["met"]]  # type: ignore[index]
        lines.append(f"| {t['target']} | {shown} | {t['goal']} | {met} |")
    lines += ["", REFERENCE, ""]
    lines += [f"- {note}" for note in meta["notes"]]  # type: ignore[attr-defined]
    return "\n".join(lines) + "\n"


def write(out: Path, meta: dict[str, object], sizes: dict[int, list[Row]], startup: list[Row]) -> str:
    """Write results.json and results.md into ``out``; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": meta,
        "sizes": {str(n): {"rows": [r.to_json() for r in rows], "ratios": ratios(rows)} for n, rows in sizes.items()},
        "startup": [r.to_json() for r in startup],
        "targets": targets(sizes, startup),
    }
    (out / "results.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    text = markdown(meta, sizes, startup)
    (out / "results.md").write_text(text, encoding="utf-8")
    return text
