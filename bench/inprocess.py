"""Figures measured inside one Python process: the floor, the build's stages, a cProfile of a cold build.

Each runs as ``python -c <snippet>`` in the newsletter environment (so the
imports are those of the code under test) and prints one JSON object as its
last line.

- The floor (issue 16): on the same corpus, the time to read every post
  file and write as many files of the same sizes as the build writes (to a
  scratch folder), to parse every body with cmark-gfm alone and every
  front matter with yaml.CSafeLoader alone. No build can take less CPU.
- The stages: ``newsletter.build.build(root, progress=callback)`` with a
  callback that records, for each stage name it hears, the time of its
  first and last call. Whatever the engine calls its stages, they show up.
- The profile: one cold build under cProfile in one process
  (``newsletter.parallel.MIN_ITEMS`` raised so no work goes to workers the
  profiler cannot see), top 25 by cumulative time, then top 25 by own time.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from pathlib import Path

FLOOR_SNIPPET = """\
import json, os, sys, time
from pathlib import Path
import yaml
posts_dir, listing, scratch = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()), Path(sys.argv[3])
try:  # the call newsletter makes (same options and extensions, memory given back)
    from cmarkgfm.cmark import Options
    from newsletter.markdown import _cmark
    call = "newsletter.markdown._cmark(body, CMARK_OPT_FOOTNOTES)"
    markdown = lambda text: _cmark(text, Options.CMARK_OPT_FOOTNOTES)
except ImportError:
    import cmarkgfm
    call = "cmarkgfm.github_flavored_markdown_to_html(body)"
    markdown = cmarkgfm.github_flavored_markdown_to_html
blob = bytes(max([size for _, size in listing], default=0))
t0 = time.perf_counter()
raws = []
for entry in os.scandir(posts_dir):
    if entry.name.endswith(".md"):
        with open(entry.path, "rb") as f:
            raws.append(f.read())
t1 = time.perf_counter()
made = set()
for rel, size in listing:
    path = scratch / rel
    if path.parent not in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        made.add(path.parent)
    with open(path, "wb") as f:
        f.write(blob[:size])
t2 = time.perf_counter()
fronts, bodies = [], []
for raw in raws:
    _, front, body = raw.decode("utf-8").split("---\\n", 2)
    fronts.append(front)
    bodies.append(body)
t3 = time.perf_counter()
for body in bodies:
    markdown(body)
t4 = time.perf_counter()
for front in fronts:
    yaml.load(front, Loader=yaml.CSafeLoader)
t5 = time.perf_counter()
print(json.dumps({
    "read": t1 - t0, "write": t2 - t1, "markdown": t4 - t3, "yaml": t5 - t4, "files_read": len(raws),
    "files_written": len(listing), "bytes_written": sum(size for _, size in listing), "markdown_call": call,
}))
"""

STAGES_SNIPPET = """\
import gc, json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from newsletter.build import build
imported = time.perf_counter()
stages = {}
def progress(stage, done, total):
    now = time.perf_counter()
    seen = stages.setdefault(stage, {"stage": stage, "first": now, "calls": 0})
    seen["last"], seen["total"] = now, total
    seen["calls"] += 1
gc.disable()  # as the CLI does for a build
start = time.perf_counter()
build(Path(sys.argv[1]), progress=progress)
end = time.perf_counter()
for seen in stages.values():
    seen["first"] -= start
    seen["last"] -= start
print(json.dumps({"import": imported - t0, "build": end - start, "stages": list(stages.values())}))
"""

PROFILE_SNIPPET = """\
import cProfile, gc, pstats, sys
from pathlib import Path
import newsletter.parallel
newsletter.parallel.MIN_ITEMS = 10**9  # one process: the profiler sees no worker
from newsletter.build import build
gc.disable()
profiler = cProfile.Profile()
profiler.runcall(build, Path(sys.argv[1]))
with open(sys.argv[2], "w") as f:
    pstats.Stats(profiler, stream=f).sort_stats("cumulative").print_stats(25)
    pstats.Stats(profiler, stream=f).sort_stats("tottime").print_stats(25)
print(0)
"""


def output_listing(site: Path, folders: tuple[str, ...] = ("public", "outbox", ".newsletter-cache")) -> list[list]:
    """[relative path, size] of every file a build left in ``site``'s output folders."""
    listing = []
    for name in folders:
        for dirpath, _, files in os.walk(site / name):
            for file in files:
                path = Path(dirpath) / file
                listing.append([str(path.relative_to(site)), path.stat().st_size])
    return sorted(listing)


def run_json(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> dict:
    """Run a snippet; its last line of output as JSON. RuntimeError (first line of the error) on failure."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise RuntimeError(lines[-1] if lines else f"exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def floor_summary(samples: list[dict], build_seconds: float | None, cores: int) -> dict[str, object]:
    """Medians of the floor's parts over the runs, their sum, the wall floor on ``cores``, its share of the build."""
    parts = ("read", "write", "markdown", "yaml")
    summary: dict[str, object] = {part: statistics.median(s[part] for s in samples) for part in parts}
    serial = sum(summary[part] for part in parts)  # type: ignore[misc]
    wall = serial / max(cores, 1)
    summary.update(
        runs=len(samples),
        serial=serial,
        cores=cores,
        wall=wall,
        build=build_seconds,
        share=wall / build_seconds if build_seconds else None,
        files_read=samples[0]["files_read"],
        files_written=samples[0]["files_written"],
        bytes_written=samples[0]["bytes_written"],
        markdown_call=samples[0]["markdown_call"],
    )
    return summary


def stage_summary(samples: list[dict]) -> dict[str, object]:
    """Medians over the runs of each stage's first and last call (seconds from build()'s start), in order heard.

    ``span`` is from the previous stage's last call (or the start) to this
    stage's last call: about the time the stage took when stages follow each
    other. ``after`` is from the last stage's last call to build()'s return.
    """
    names: list[str] = []
    for sample in samples:
        names += [s["stage"] for s in sample["stages"] if s["stage"] not in names]
    rows = []
    previous = 0.0
    for name in names:
        heard = [s for sample in samples for s in sample["stages"] if s["stage"] == name]
        first = statistics.median(s["first"] for s in heard)
        last = statistics.median(s["last"] for s in heard)
        calls = statistics.median(s["calls"] for s in heard)
        total = heard[-1].get("total")  # the progress total the stage last reported (items)
        row = {"stage": name, "first": first, "last": last, "span": last - previous, "calls": calls, "total": total}
        rows.append(row)
        previous = max(previous, last)
    build = statistics.median(s["build"] for s in samples)
    return {
        "runs": len(samples),
        "import": statistics.median(s["import"] for s in samples),
        "build": build,
        "after": build - previous,
        "stages": rows,
    }
