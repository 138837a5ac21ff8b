"""First run as README tells it (issue 14): -C before the command, a project found from a subfolder,
port numbers checked, warnings grouped, ``check -q`` and its closing count line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_post


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in a folder (in-process runners cannot change the working folder)."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795521600"}
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )


@pytest.mark.parametrize(
    "args",
    [("-C", "{p}", "check"), ("--project", "{p}", "check"), ("--project={p}", "check"), ("check", "-C", "{p}")],
)
def test_dash_c_before_or_after_the_command(sample: Path, cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = cli(*(a.format(p=sample) for a in args))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "check: 0 errors, 0 warnings"


def test_dash_c_before_the_command_reaches_every_command(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("-C", sample, "build", "--week", "2026-W47", "-q").exit_code == 0
    assert (sample / "public/index.html").is_file()
    listed = cli("-C", sample, "outbox")
    assert listed.exit_code == 0 and "2026-W47" in listed.stdout
    made = cli("-C", sample, "new", "Fresh ideas")
    assert made.exit_code == 0 and list((sample / "posts").glob("*-fresh-ideas.md"))


def test_dash_c_before_init(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("-C", tmp_path / "new", "init").exit_code == 0
    assert (tmp_path / "new/newsletter.toml").is_file()


def test_the_command_given_folder_wins(sample: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("-C", tmp_path / "nowhere", "check", "-C", sample)
    assert result.exit_code == 0, result.output


def test_commands_find_the_project_from_a_subfolder(sample: Path) -> None:
    inner = sample / "posts" / "images"
    result = _run(inner, "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "check: 0 errors, 0 warnings"
    built = _run(inner, "build", "--week", "2026-W47", "-q")
    assert built.returncode == 0, built.stderr
    assert (sample / "public/index.html").is_file() and not (inner / "public").exists()


def test_init_in_a_subfolder_makes_a_new_project_there(sample: Path) -> None:
    inner = sample / "sub"
    inner.mkdir()
    assert _run(inner, "init").returncode == 0
    assert (inner / "newsletter.toml").is_file()


@pytest.mark.parametrize("port", ["80000", "-1", "65536", "70000"])
def test_preview_port_out_of_range_is_a_usage_error(sample: Path, cli, port: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("preview", "-C", sample, "--port", port)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "--port" in result.output


def _noisy(project: Path) -> None:
    for index in range(5):
        write_post(
            project,
            f"p{index}.md",
            f"---\ntitle: P{index}\ndate: 2026-11-0{index + 1}\nlayout: post\ncolour: red\n---\nx\n",
        )
    write_post(project, "q.md", "---\ntitle: Q\ndate: 2026-11-09\ncategores: [a]\n---\nx\n")


def test_check_groups_warnings_and_counts_them(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _noisy(empty_project)
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "warning: unknown front-matter key 'colour' is ignored "
        "(in 5 files, e.g. posts/p0.md:5, posts/p1.md:5, posts/p2.md:5 and 2 more)",
        "posts/q.md:4: warning: unknown front-matter key 'categores' is ignored (did you mean categories?)",
    ]
    assert result.stdout.splitlines() == ["ok: 6 posts (6 published), no errors.", "check: 0 errors, 6 warnings"]


def test_check_quiet_prints_only_errors(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _noisy(empty_project)
    quiet = cli("check", "-C", empty_project, "-q")
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""
    write_post(empty_project, "bad.md", "---\ntitle: Bad\n---\nx\n")
    failed = cli("check", "-C", empty_project, "-q")
    assert failed.exit_code == 1
    assert failed.stderr.splitlines() == ["posts/bad.md:2: missing date", "check: 1 error, 6 warnings"]
    loud = cli("check", "-C", empty_project)
    assert loud.stderr.splitlines()[-2:] == ["posts/bad.md:2: missing date", "check: 1 error, 6 warnings"]


def test_build_quiet_prints_no_warnings(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _noisy(empty_project)
    result = cli("build", "-C", empty_project, "-q", "--week", "2026-W45")
    assert result.exit_code == 0 and result.stderr == ""
    loud = cli("build", "-C", empty_project, "--week", "2026-W45")
    assert "warning: unknown front-matter key 'colour' is ignored (in 5 files" in loud.stderr


def test_check_points_at_init_examples(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    cli("init", tmp_path / "n")
    config = tmp_path / "n/newsletter.toml"
    config.write_text(config.read_text().replace('url = "https://example.org/"', 'url = "https://lab.example.net/"'))
    result = cli("check", "-C", tmp_path / "n")
    assert "site.url" not in result.stderr and "cta.url still holds the example" in result.stderr
