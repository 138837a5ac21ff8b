"""Commands through the CLI: exit codes and messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

from newsletter.load import load_project


def test_init_then_check(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "fresh"
    result = cli("init", target, "--title", "Lab Notes")
    assert result.exit_code == 0, result.output
    assert (target / "newsletter.toml").is_file()
    assert cli("check", "-C", target).exit_code == 0
    assert load_project(target).settings.site.title == "Lab Notes"
    again = cli("init", target)
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_new_creates_a_draft(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("new", "Stem cells & knee pain", "-C", sample)
    assert result.exit_code == 0, result.output
    path = sample / "posts" / "2026-11-24-stem-cells-knee-pain.md"
    assert path.is_file()
    post = next(p for p in load_project(sample).posts if p.path.name == path.name)
    assert post.title == "Stem cells & knee pain"
    assert post.draft
    assert cli("new", "Stem cells & knee pain", "-C", sample).exit_code == 1


def test_check_reports_and_exits_1(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (empty_project / "posts" / "x.md").write_text("no front matter\n", encoding="utf-8")
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "posts/x.md:1: no front matter: the file must start with a '---' line"


def test_check_sample(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", "-C", sample)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


def test_usage_errors_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("check", "--bogus").exit_code == 2
    assert cli("nosuchcommand").exit_code == 2


def test_every_command_has_help_with_example(cli) -> None:  # type: ignore[no-untyped-def]
    from typer.main import get_command

    from newsletter.cli import app

    for name in get_command(app).commands:  # type: ignore[attr-defined]
        result = cli(name, "--help")
        assert result.exit_code == 0
        assert "Example: newsletter" in result.stdout, name


def test_installed_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "check", "-C", str(REPO)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
