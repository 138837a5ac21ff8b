"""The guide: its commands run as written, its reference pages match the code, it builds.

- Every shell block of README.md and docs/getting-started.md runs, in order,
  in a copy of the repo's files with a fresh venv made by the README's own
  set-up command, as a new user would run them (no SOURCE_DATE_EPOCH, the
  venv not on PATH until a block activates it). Blocks in a ``console``
  fence or after an ``<!-- illustrative -->`` comment are skipped.
- docs/reference/*.md are regenerated from the code and compared.
- ``mkdocs build --strict`` (skipped without mkdocs, except under CI=true).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

SHELLS = {"sh", "bash", "shell"}
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_ILLUSTRATIVE = re.compile(r"^<!--\s*illustrative\b")
# Illustrative blocks are for what cannot run here (a server that runs until stopped):
# keep them rare, or the pages stop being tested.
MAX_ILLUSTRATIVE = 2


@dataclass
class Block:
    """One fenced code block of a Markdown file."""

    line: int  # of the opening fence, 1-based
    language: str
    code: str
    illustrative: bool

    @property
    def runs(self) -> bool:
        """True for a shell block that the test runs."""
        return self.language in SHELLS and not self.illustrative


def code_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order."""
    blocks: list[Block] = []
    lines = text.split("\n")
    index = 0
    previous = ""
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        fence, language = match.group(1), match.group(2).lower()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            body.append(lines[index])
            index += 1
        illustrative = language == "console" or bool(_ILLUSTRATIVE.match(previous))
        blocks.append(Block(start + 1, language, "\n".join(body) + "\n", illustrative))
        previous = ""
        index += 1
    return blocks


def test_code_blocks_are_found_and_marked() -> None:
    text = (
        "Intro\n\n```sh\necho one\n```\n\n<!-- illustrative: a server -->\n```sh\nserve\n```\n\n"
        "```console\n$ newsletter --help\n```\n\n```toml\n[site]\n```\n\n~~~bash\necho ```\n~~~\n"
    )
    blocks = code_blocks(text)
    assert [(b.line, b.language, b.runs) for b in blocks] == [
        (3, "sh", True),
        (8, "sh", False),
        (12, "console", False),
        (16, "toml", False),
        (20, "bash", True),
    ]
    assert blocks[0].code == "echo one\n" and blocks[4].code == "echo ```\n"


def _user_env(home: Path | None = None) -> dict[str, str]:
    """The environment of a user's new shell: no venv on PATH, the wall clock, nothing of the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "HYPOTHESIS", "COV_"))}
    for name in ("SOURCE_DATE_EPOCH", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "NEWSLETTER_LONG_TESTS"):
        env.pop(name, None)
    venv_bins = {str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", os.defpath).split(os.pathsep) if p not in venv_bins)
    env["NO_COLOR"] = "1"
    return env


def run_blocks(blocks: list[Block], cwd: Path, source: str, timeout: float = 600) -> None:
    """Run ``blocks`` in one bash process (cd and activate carry over); fail on the first non-zero exit."""
    script = ["set -e"]
    for block in blocks:
        script += [
            f"echo '### {source}:{block.line}'",
            block.code.rstrip("\n"),
            f"__status=$?; if [ $__status -ne 0 ]; then echo '{source}:{block.line}: exit status '$__status; "
            "exit $__status; fi",
        ]
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        cwd=cwd,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        where = re.findall(r"^### (.+)$", done.stdout, flags=re.M)
        pytest.fail(
            f"the block at {where[-1] if where else source} failed with exit status {done.returncode}\n"
            f"--- stdout (end) ---\n{done.stdout[-3000:]}\n--- stderr (end) ---\n{done.stderr[-3000:]}",
            pytrace=False,
        )


def _tracked_files() -> list[str]:
    """The repo's files as a clone has them (plus new files not yet committed, not ignored ones)."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: cannot tell the repo's files from build output")
    done = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    return [name for name in done.stdout.decode().split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone-like copy of the repo in ``<tmp>/newsletter``, set up with the README's first command."""
    top = tmp_path_factory.mktemp("fresh")
    copy = top / "newsletter"
    for name in _tracked_files():
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    setup = [b for b in code_blocks((copy / "README.md").read_text(encoding="utf-8")) if b.runs][0]
    assert ".venv/bin/pip install ." in setup.code, "README's first block should be the set-up command"
    run_blocks([setup], copy, "README.md")
    assert (copy / "public" / "feed.xml").is_file() and any((copy / "outbox").iterdir())
    return copy


def test_readme_runs_as_written(fresh_copy: Path) -> None:
    """The set-up command (in the fixture), then the tour: a project with an imported post in this week's digest."""
    blocks = [b for b in code_blocks((fresh_copy / "README.md").read_text(encoding="utf-8")) if b.runs]
    assert len(blocks) >= 3, "README: two set-up commands and a tour"
    tour = blocks[2:]
    run_blocks(tour, fresh_copy, "README.md")
    project = fresh_copy / "my-news"
    weeks = list((project / "outbox").iterdir())
    assert len(weeks) == 1
    meta = (weeks[0] / "meta.json").read_text(encoding="utf-8")
    assert "knee-pain-what-the-trials-say-so-far" in meta, "the imported post is in this week's digest"


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs the README's second set-up command on a clean clone (quietly: with pip's -q)."""
    command = [b for b in code_blocks((REPO / "README.md").read_text(encoding="utf-8")) if b.runs][1].code.strip()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert command.replace("pip install ", "pip install -q ") in ci.splitlines()


@pytest.mark.skipif(
    not os.environ.get("NEWSLETTER_LONG_TESTS"),
    reason="a minute of pip; .ci/run runs this command itself (NEWSLETTER_LONG_TESTS=1 runs it here)",
)
def test_readme_test_setup_installs_the_suite(fresh_copy: Path) -> None:
    """The README's second command; the suite is collected, not run (it would run this test again)."""
    command = [b for b in code_blocks((fresh_copy / "README.md").read_text(encoding="utf-8")) if b.runs][1]
    assert command.code.rstrip().endswith(".venv/bin/python -m pytest"), command.code
    collect_only = Block(command.line, "sh", command.code.rstrip() + " --collect-only -q\n", False)
    run_blocks([collect_only], fresh_copy, "README.md")


def test_getting_started_runs_as_written(fresh_copy: Path) -> None:
    """docs/getting-started.md from the folder that holds the source, as the page says."""
    page = (fresh_copy / "docs" / "getting-started.md").read_text(encoding="utf-8")
    blocks = code_blocks(page)
    illustrative = [b for b in blocks if b.language in SHELLS | {"console"} and not b.runs]
    assert len(illustrative) <= MAX_ILLUSTRATIVE, "few illustrative blocks, or the page is not tested"
    run_blocks([b for b in blocks if b.runs], fresh_copy.parent, "docs/getting-started.md")
    project = fresh_copy.parent / "clinic-news"
    assert (project / "public" / "posts" / "we-now-open-on-saturday-mornings" / "index.html").is_file()
    assert "we-now-open-on-saturday-mornings" in next((project / "outbox").glob("*/meta.json")).read_text()


def test_readme_has_few_illustrative_blocks() -> None:
    blocks = code_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    shown = [b for b in blocks if b.language in SHELLS and not b.runs]
    assert len(shown) <= MAX_ILLUSTRATIVE


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_reference", REPO / "docs" / "gen_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_pages_match_the_code() -> None:
    """A new setting, command, option or front-matter key needs its description and the pages rebuilt."""
    gen = _generator()
    try:
        pages = gen.pages()
    except gen.Undocumented as exc:
        pytest.fail(f"{exc}\n(then run: python docs/gen_reference.py)", pytrace=False)
    for relative, text in pages.items():
        path = REPO / "docs" / relative
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        assert current == text, f"docs/{relative.as_posix()} is stale: run python docs/gen_reference.py"


def test_reference_generator_refuses_an_undocumented_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from newsletter import config

    @dataclasses.dataclass(frozen=True)
    class Extra:
        """[extra]: a section with one setting that has no description."""

        knob: int = 3

    monkeypatch.setitem(config.SECTIONS, "extra", Extra)
    gen = _generator()
    with pytest.raises(gen.Undocumented, match=r"extra\.knob has no description"):
        gen.settings_page()


def test_reference_generator_refuses_an_undocumented_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter import load

    monkeypatch.setattr(load, "KNOWN_KEYS", {*load.KNOWN_KEYS, "layout"})
    gen = _generator()
    with pytest.raises(gen.Undocumented, match="layout"):
        gen.front_matter_page()


def test_commands_page_is_the_cli_help() -> None:
    """The page holds what ``newsletter build --help`` prints (at the page's width)."""
    env = {**_user_env(), "COLUMNS": "100"}
    program = Path(sys.executable).parent / "newsletter"
    if not program.is_file():
        pytest.skip("the newsletter program is not installed beside this Python")
    done = subprocess.run([program, "build", "--help"], capture_output=True, text=True, env=env, check=True)
    page = (REPO / "docs" / "reference" / "commands.md").read_text(encoding="utf-8")
    assert done.stdout.strip() in page


def test_sample_project_uses_its_template_override(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    override = sample / "templates" / "email" / "digest.html"
    assert '{% extends "default/email/digest.html" %}' in override.read_text(encoding="utf-8")
    assert cli("build", "-C", sample, "--week", "2026-W47").exit_code == 0
    html = (sample / "outbox" / "2026-W47" / "message.html").read_text(encoding="utf-8")
    note = html.index("is not medical advice")
    assert note < html.index("1200 Lakeview Drive"), "the note comes before the built-in footer"
    assert "Unsubscribe" in html[note:]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mkdocs is not installed: CI installs the docs extra (pip install -e '.[test,docs]')")
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "reference" / "settings" / "index.html").is_file()


def test_the_example_post_of_writing_posts_is_valid(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """The whole post shown in docs/writing-posts.md passes `check` without a warning (its image is the sample's)."""
    page = (REPO / "docs" / "writing-posts.md").read_text(encoding="utf-8")
    post = next(b for b in code_blocks(page) if b.language == "markdown")
    (sample / "posts" / "example.md").write_text(post.code, encoding="utf-8")
    result = cli("check", "-C", sample)
    assert result.exit_code == 0, result.stderr
    assert "example.md" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("block", "line", "message"),
    [
        ("{% block footer %}{{ oops( }}{% endblock %}", 2, "template syntax error: unexpected '}', expected ')'"),
        ("{% block footer %}\n<p>{{ clinic.phone }}</p>{% endblock %}", 3, "'clinic' is undefined"),
    ],
)
def test_a_broken_override_is_bad_input(sample: Path, cli, block: str, line: int, message: str) -> None:  # type: ignore[no-untyped-def]
    """The guide tells publishers to edit templates: a mistake there is `path:line: message`, not a bug."""
    (sample / "templates" / "email" / "digest.html").write_text(
        '{% extends "default/email/digest.html" %}\n' + block + "\n", encoding="utf-8"
    )
    result = cli("build", "-C", sample, "--week", "2026-W47")
    assert result.exit_code == 1
    assert f"templates/email/digest.html:{line}: {message}" in result.stderr.splitlines()
    assert not (sample / "outbox").exists() and not list((sample / "public").rglob("*.html"))
