"""``newsletter --help`` from Typer's kept output: the same bytes as Typer prints, only when they are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter import cli_help

SCRIPT = Path(sys.executable).with_name("newsletter")


def _typer(*args: str, columns: int = 100) -> subprocess.CompletedProcess[bytes]:
    """The command line through Typer, as the installed script runs it, without the kept help."""
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-P", "-c", cli_help.TYPER_HELP, *args], capture_output=True, env=env)


def _script(*args: str, columns: int = 100) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, env=env)


def test_the_kept_help_is_what_typer_prints() -> None:
    assert Path(cli_help.HELP_FILE).read_bytes() == cli_help.kept_text(), (
        "newsletter/data/help.txt is stale: run python -m newsletter.cli_help"
    )


@pytest.mark.skipif(not SCRIPT.is_file(), reason="the newsletter script is not installed beside this Python")
@pytest.mark.parametrize("columns", [80, 200, 79, 60])
@pytest.mark.parametrize("option", ["--help", "-h"])
def test_the_script_prints_typers_help(option: str, columns: int) -> None:
    """Kept text on wide terminals, Typer's own on narrow ones: always Typer's bytes, exit 0."""
    ours, typers = _script(option, columns=columns), _typer(option, columns=columns)
    assert (ours.returncode, ours.stdout, ours.stderr) == (0, typers.stdout, b"")
    assert typers.returncode == 0 and typers.stdout.startswith(b"Usage: newsletter [OPTIONS] COMMAND")
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPROFILEIMPORTTIME": "1"}
    imported = subprocess.run([str(SCRIPT), option], capture_output=True, env=env).stderr.decode()
    assert (" typer\n" in imported) == (columns < 80), "Typer is imported only when its text is not kept"


@pytest.mark.skipif(not SCRIPT.is_file(), reason="the newsletter script is not installed beside this Python")
def test_a_command_s_help_and_other_options_still_go_through_typer() -> None:
    for args in (["build", "--help"], ["--help", "build"], ["--version"], ["subscribers", "-h"]):
        ours, typers = _script(*args), _typer(*args)
        assert (ours.returncode, ours.stdout) == (typers.returncode, typers.stdout), args
    assert b"The main job" in _script("build", "--help").stdout


def test_the_kept_help_is_used_only_when_it_holds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(sys.modules["__main__"], "__package__", None, raising=False)
    kept = Path(cli_help.HELP_FILE).read_bytes().split(b"\n", 1)[1]
    assert cli_help.known_help(["/usr/bin/newsletter", "--help"]) == kept
    assert cli_help.known_help(["newsletter", "-h"]) == kept
    assert cli_help.known_help(["newsletter", "--help", "build"]) is None
    assert cli_help.known_help(["newsletter", "build", "--help"]) is None
    assert cli_help.known_help(["newsletter"]) is None
    assert cli_help.known_help(["other-name", "--help"]) is None  # Usage shows the program's name
    monkeypatch.setenv("COLUMNS", "79")
    assert cli_help.known_help(["newsletter", "--help"]) is None  # click wraps narrower there
    monkeypatch.setenv("COLUMNS", "80")
    assert cli_help.known_help(["newsletter", "--help"]) == kept
    monkeypatch.setenv("_NEWSLETTER_COMPLETE", "bash_complete")
    assert cli_help.known_help(["newsletter", "--help"]) is None
    monkeypatch.delenv("_NEWSLETTER_COMPLETE")
    stale = tmp_path / "help.txt"
    stale.write_bytes(b"fingerprint 00000000\nUsage: old\n")
    monkeypatch.setattr(cli_help, "HELP_FILE", str(stale))
    assert cli_help.known_help(["newsletter", "--help"]) is None  # cli.py or Typer changed since
    monkeypatch.setattr(cli_help, "HELP_FILE", str(tmp_path / "missing.txt"))
    assert cli_help.known_help(["newsletter", "--help"]) is None


def test_the_fingerprint_follows_the_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = cli_help.fingerprint()
    assert before is not None
    for name in cli_help.SOURCES:
        (tmp_path / name).write_bytes((Path(cli_help.HERE) / name).read_bytes())
    monkeypatch.setattr(cli_help, "HERE", str(tmp_path))
    assert cli_help.fingerprint() == before
    (tmp_path / "cli.py").write_bytes((tmp_path / "cli.py").read_bytes().replace(b"The main job", b"The job"))
    assert cli_help.fingerprint() != before
    monkeypatch.setattr(sys, "path", [str(tmp_path)])  # no Typer to be found
    assert cli_help.fingerprint() is None
