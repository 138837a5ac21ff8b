"""Plain ``newsletter build`` and ``newsletter check`` commands run without the command line (newsletter.cli_fast).

It must say exactly what the command line says, and leave every other
case to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tree

from newsletter.cli_fast import _options


def _run(cwd: Path, *args: str, importtime: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795629600"}
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "newsletter", *args], cwd=cwd, env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, check=False, timeout=120,
    )  # fmt: skip


def _typer_imported(done: subprocess.CompletedProcess[str]) -> bool:
    return any(line.startswith("import time:") and "typer" in line for line in done.stderr.splitlines())


def _said(done: subprocess.CompletedProcess[str]) -> tuple[int, str, str]:
    stderr = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("import time:"))
    return done.returncode, done.stdout, stderr


@pytest.mark.parametrize(
    "args",
    [
        ("build",),
        ("build", "-q"),
        ("build", "--quiet", "-C", "{p}"),
        ("-C", "{p}", "build"),
        ("--project", "{p}", "build"),
    ],
)
def test_nothing_to_do_is_said_as_the_command_line_says_it(sample: Path, args: tuple[str, ...]) -> None:
    (sample / "posts" / "2026-11-19-warned.md").write_text(
        "---\ntitle: Warned\ndate: 2026-11-19\nsummery: x\n---\nA post with an unknown key.\n"
    )
    args = tuple(arg.format(p=sample) for arg in args)
    first = _run(sample, *args, importtime=True)
    assert first.returncode == 0, first.stderr
    assert not _typer_imported(first)  # not built yet: built here
    quick = _run(sample, *args, importtime=True)
    assert not _typer_imported(quick)
    # The same command line with an option the quick path leaves alone goes through Typer.
    slow = _run(sample, *args, "--week", "last", importtime=True)
    assert _typer_imported(slow)
    assert _said(quick) == _said(slow)
    if "-q" not in args and "--quiet" not in args:
        assert "built 7 posts: 0 files written" in quick.stdout and "unknown front-matter key 'summery'" in quick.stderr


@pytest.mark.parametrize("args", [("build",), ("build", "-q")])
def test_a_build_with_work_says_what_the_command_line_says(sample: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    other = tmp_path / "other"
    shutil.copytree(sample, other)
    for project in (sample, other):
        (project / "posts" / "2026-11-19-warned.md").write_text(
            "---\ntitle: Warned\ndate: 2026-11-19\nsummery: x\n---\nA post with an unknown key.\n"
        )
    quick, slow = _run(sample, *args, importtime=True), _run(other, *args, "--week", "last", importtime=True)
    assert not _typer_imported(quick) and _typer_imported(slow)
    assert quick.returncode == 0 and _said(quick) == _said(slow)
    assert tree(sample / "public") == tree(other / "public") and tree(sample / "outbox") == tree(other / "outbox")
    for project in (sample, other):  # bad input: the same errors, nothing written, exit 1
        (project / "posts" / "2026-11-20-broken.md").write_text("---\ntitle: Broken\ndate: soon\n---\nText.\n")
    before = tree(sample / "public")
    quick, slow = _run(sample, *args, importtime=True), _run(other, *args, "--week", "last", importtime=True)
    assert not _typer_imported(quick) and quick.returncode == 1 and _said(quick) == _said(slow)
    assert "posts/2026-11-20-broken.md:3:" in quick.stderr and tree(sample / "public") == before


def test_a_bug_in_a_quick_build_is_said_once_and_not_run_again(sample: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1795629600"}
    code = (
        "import sys, newsletter.build as b\n"
        "def boom(*a, **k):\n    print('building', file=sys.stderr); raise RuntimeError('boom')\n"
        "b.build = boom\nsys.argv = ['newsletter', 'build']\nfrom newsletter.__main__ import main\nmain()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=sample, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False, timeout=120)  # fmt: skip
    assert done.returncode == 1 and done.stderr.count("building") == 1, done.stderr
    assert "newsletter: internal error: RuntimeError: boom" in done.stderr and "Traceback" not in done.stderr


def test_a_change_is_built(sample: Path) -> None:
    assert _run(sample, "build").returncode == 0
    post = next((sample / "posts").glob("2026-11-18-*.md"))
    post.write_text(post.read_text() + "\nOne more line.\n")
    done = _run(sample, "build")
    assert done.returncode == 0 and "built 6 posts: 0 files written" not in done.stdout, done.stdout + done.stderr
    pages = [page.read_text() for page in (sample / "public" / "posts").glob("*/index.html")]
    assert sum("One more line." in page for page in pages) == 1


@pytest.mark.parametrize("args", [("check",), ("check", "-q"), ("check", "-v"), ("-C", "{p}", "check", "-v", "-q")])
def test_check_after_a_build_says_what_the_command_line_says(sample: Path, args: tuple[str, ...]) -> None:
    (sample / "posts" / "2026-11-19-warned.md").write_text(
        "---\ntitle: Warned\ndate: 2026-11-19\nsummery: x\n---\nA post with an unknown key.\n"
    )
    args = tuple(arg.format(p=sample) for arg in args)
    assert _run(sample, "build").returncode == 0
    quick = _run(sample, *args, importtime=True)
    assert not _typer_imported(quick)
    slow = _run(sample, *[arg for arg in args if arg not in ("-C", str(sample))], f"--project={sample}",
                importtime=True)  # fmt: skip
    assert _typer_imported(slow)
    assert _said(quick) == _said(slow)
    assert quick.returncode == 0 and "check: 0 errors, 1 warning" in quick.stdout + quick.stderr or "-q" in args
    # An outbox draft with an error: exit status 1 both ways.
    eml = next((sample / "outbox").glob("*/message.eml"))
    eml.write_bytes(eml.read_bytes().replace(b"Subject:", b"X-Subject:", 1))
    quick, slow = _run(sample, *args, importtime=True), _run(sample, *args, "--project", str(sample))
    assert not _typer_imported(quick) and quick.returncode == 1, _said(quick)
    assert _said(quick) == _said(slow)


def test_other_command_lines_are_left_to_typer(tmp_path: Path) -> None:
    assert _options(["newsletter", "build"]) == ("build", None, set())
    assert _options(["newsletter", "-C", "d", "build", "-q"]) == ("build", "d", {"quiet"})
    assert _options(["newsletter", "check", "-v", "--quiet"]) == ("check", None, {"verbose", "quiet"})
    for argv in (["build", "--week", "last"], ["-q", "build"], ["build", "build"], ["build", "-C"], ["build", "-v"],
                 ["build", "-C", "a", "-C", "b"], ["feed"], [], ["build", "--help"], ["--version"],
                 ["check", "--project=d"], ["check", "build"]):  # fmt: skip
        assert _options(["newsletter", *argv]) is None, argv
    bad = _run(tmp_path, "build")  # no project here: the command line says so
    assert bad.returncode != 0 and "newsletter.toml" in bad.stderr and "Traceback" not in bad.stderr


def test_a_bad_source_date_epoch_is_said_by_the_command_line(sample: Path) -> None:
    assert _run(sample, "build").returncode == 0
    env = {**os.environ, "SOURCE_DATE_EPOCH": "soon"}
    done = subprocess.run([sys.executable, "-m", "newsletter", "build"], cwd=sample, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, check=False, timeout=120)  # fmt: skip
    assert done.returncode != 0 and "SOURCE_DATE_EPOCH='soon' is not a time" in done.stderr


@pytest.mark.parametrize("args", [("check",), ("check", "-q")])
def test_check_of_bad_input_without_a_build_says_what_the_command_line_says(
    sample: Path, args: tuple[str, ...]
) -> None:
    (sample / "posts" / "2026-11-19-warned.md").write_text(
        "---\ntitle: Warned\ndate: 2026-11-19\nsummery: x\n---\nA post with an unknown key.\n"
    )
    (sample / "posts" / "2026-11-20-broken.md").write_text("---\ntitle: Broken\ndate: not a date\n---\nText.\n")
    quick = _run(sample, *args, importtime=True)
    slow = _run(sample, *args, f"--project={sample}", importtime=True)
    assert not _typer_imported(quick) and _typer_imported(slow)
    assert quick.returncode == 1 and _said(quick) == _said(slow)
    assert "posts/2026-11-20-broken.md:3:" in quick.stderr and "check: 1 error" in quick.stderr
    (sample / "newsletter.toml").unlink()  # no project any more: the command line says so
    gone, gone_slow = _run(sample, *args, "-C", str(sample)), _run(sample, *args, f"--project={sample}")
    assert gone.returncode != 0 and _said(gone) == _said(gone_slow) and "Traceback" not in gone.stderr
