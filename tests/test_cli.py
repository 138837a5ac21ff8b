"""Commands through the CLI: exit codes and messages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_crash import mark_sent

from newsletter.load import load_project


def test_init_then_check(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "fresh"
    result = cli("init", target, "--title", "Lab Notes")
    assert result.exit_code == 0, result.output
    assert (target / "newsletter.toml").is_file()
    assert result.stdout.splitlines()[-1] == (
        f"Next: edit {target / 'newsletter.toml'}, then run 'newsletter build -C {target} --week this'."
    )
    checked = cli("check", "-C", target)
    assert checked.exit_code == 0
    # A new project's settings are complete; only init's examples are pointed out, to be replaced.
    lines = (target / "newsletter.toml").read_text(encoding="utf-8").splitlines()
    found = [
        re.match(r"newsletter.toml:(\d+): warning: (\S+) still holds", line) for line in checked.stderr.splitlines()
    ]
    assert [m.group(2) for m in found if m] == ["site.url", "email.postal_address", "cta.text", "cta.url"]
    for line, setting in (m.groups() for m in found if m):  # each points at its own line
        assert lines[int(line) - 1].startswith(setting.split(".")[-1] + " = "), (line, setting)
    assert checked.stdout.splitlines()[-1] == "check: 0 errors, 4 warnings"
    settings = load_project(target).settings
    assert settings.site.title == "Lab Notes"
    assert settings.email.sender == "Lab Notes <newsletter@example.org>"
    assert "My Newsletter" not in (target / "newsletter.toml").read_text(encoding="utf-8")
    assert (settings.cta.label, settings.cta.url) == ("Get in touch", "https://example.org/contact")
    ignored = (target / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"public/", "outbox/", ".newsletter-cache/", ".newsletter.lock", ".newsletter-tmp-*"} <= set(ignored)
    again = cli("init", target)
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_init_takes_dash_c(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "by-option"
    assert cli("init", "-C", target).exit_code == 0
    assert (target / "newsletter.toml").is_file()
    assert cli("init", tmp_path / "a", "-C", tmp_path / "b").exit_code == 2


def test_init_keeps_an_existing_gitignore(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".gitignore").write_text("*.pyc\npublic/", encoding="utf-8")
    assert cli("init", tmp_path).exit_code == 0
    lines = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["*.pyc", "public/"] and lines.count("public/") == 1 and ".newsletter.lock" in lines


def test_a_new_project_builds_what_the_hint_says(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "fresh"
    assert cli("init", target).exit_code == 0
    built = cli("build", "-C", target, "--week", "this")
    assert built.exit_code == 0, built.output
    assert "digest 2026-W48" in built.stdout and "built 1 post:" in built.stdout
    # The sample post tells what the default command does.
    (post,) = (target / "posts").glob("*.md")
    text = post.read_text(encoding="utf-8")
    assert "`newsletter build --week this`" in text and "Without `--week`, both take last week" in text


@pytest.mark.parametrize("title", ['Lab, "Notes" <x>: für', "Notes # 1: a - b"])
def test_init_with_any_title_checks(tmp_path: Path, cli, title: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", tmp_path, "--title", title).exit_code == 0
    assert cli("check", "-C", tmp_path).exit_code == 0
    assert load_project(tmp_path).posts[0].title == f"Welcome to {title}"


@pytest.mark.parametrize("title", ["bell\x07", "two\nlines", "  "])
def test_init_refuses_bad_titles(tmp_path: Path, cli, title: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", tmp_path, "--title", title)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the title")
    assert list(tmp_path.iterdir()) == []


def test_new_creates_a_draft(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("new", "Stem cells & knee pain", "-C", sample)
    assert result.exit_code == 0, result.output
    path = sample / "posts" / "2026-11-24-stem-cells-knee-pain.md"
    assert path.is_file()
    post = next(p for p in load_project(sample).posts if Path(p.path).name == path.name)
    assert post.title == "Stem cells & knee pain"
    assert post.draft
    assert cli("new", "Stem cells & knee pain", "-C", sample).exit_code == 1


@pytest.mark.parametrize(("title", "code"), [("Bell\x07 rings", "U+0007"), ("Escape \x1b[31m", "U+001B")])
def test_new_refuses_control_characters(sample: Path, cli, title: str, code: str) -> None:  # type: ignore[no-untyped-def]
    before = sorted((sample / "posts").iterdir())
    result = cli("new", title, "-C", sample)
    assert result.exit_code == 1
    assert result.stderr == f"error: the title holds a control character ({code}): {title!r}\n"
    assert sorted((sample / "posts").iterdir()) == before


def test_check_reports_and_exits_1(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (empty_project / "posts" / "x.md").write_text("no front matter\n", encoding="utf-8")
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "posts/x.md:1: no front matter: the file must start with a '---' line"


def test_check_sample(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("check", "-C", sample)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


def test_check_counts_in_the_singular(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (empty_project / "posts" / "a.md").write_text("---\ntitle: A\ndate: 2026-11-18 10:00\n---\nBody.\n")
    result = cli("check", "-C", empty_project)
    assert result.stdout.splitlines()[0] == "ok: 1 post (1 published), no errors."
    built = cli("build", "-C", empty_project, "--week", "2026-W47")
    assert built.stdout.splitlines()[-1].startswith("built 1 post: ")


def test_count_words() -> None:
    from newsletter.cli_fast import count as _count

    assert [_count(n, "warning") for n in (0, 1, 2)] == ["0 warnings", "1 warning", "2 warnings"]


def test_missing_project_folder_is_a_usage_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    for command in ("check", "build", "feed", "digest", "outbox", "preview"):
        result = cli(command, "-C", tmp_path / "nope")
        assert result.exit_code == 2, command
        assert result.stderr == f"error: no such project folder: {tmp_path / 'nope'}\n", command
    assert cli("new", "T", "-C", tmp_path / "nope").exit_code == 2
    assert cli("import", REPO / "README.md", "--date", "2026-11-18", "-C", tmp_path / "nope").exit_code == 2


def test_folder_without_settings(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    for command in ("check", "build", "outbox"):
        result = cli(command, "-C", tmp_path)
        assert result.exit_code == 1, command
        assert result.stderr == (
            f"error: {tmp_path / 'newsletter.toml'} not found: run 'newsletter init DIR' or pass -C DIR\n"
        )


def _drop_setting(project: Path, key: str) -> None:
    config = project / "newsletter.toml"
    config.write_text(re.sub(rf"(?m)^{key} = .*\n", "", config.read_text(encoding="utf-8")), encoding="utf-8")


def test_check_and_build_agree_on_the_unsubscribe_url(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _drop_setting(sample, "unsubscribe_url")
    line = (sample / "newsletter.toml").read_text(encoding="utf-8").split("\n").index("[email]") + 1
    expected = (
        f"newsletter.toml:{line}: email.unsubscribe_url must be set to an https URL: "
        "List-Unsubscribe needs it (RFC 8058)"
    )
    for args in (["check"], ["build", "--week", "2026-W47"], ["digest", "--week", "2026-W47"]):
        result = cli(*args, "-C", sample)
        assert result.exit_code == 1, args
        assert expected in result.stderr.splitlines(), (args, result.stderr)
    assert not (sample / "outbox").exists()


def test_empty_postal_address_warns(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _drop_setting(sample, "postal_address")
    result = cli("check", "-C", sample)
    assert result.exit_code == 0
    assert "warning: email.postal_address is empty: bulk mail must show a postal address" in result.stderr


def test_warnings_are_shown_when_a_build_fails(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("build", "-C", sample, "--week", "2026-W47").exit_code == 0
    mark_sent(sample, "2026-W47")
    config = sample / "newsletter.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("timezone =", "timzone ="), encoding="utf-8")
    result = cli("digest", "-C", sample, "--week", "2026-W47")
    assert result.exit_code == 1
    warning, error = result.stderr.splitlines()
    assert warning.endswith("warning: unknown setting site.timzone is ignored (did you mean timezone?)")
    assert error.startswith("error: 2026-W47 is marked sent")


def test_a_sent_week_is_said_once(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("build", "-C", sample, "--week", "2026-W47").exit_code == 0
    mark_sent(sample, "2026-W47")
    result = cli("build", "-C", sample, "--week", "2026-W47")
    assert result.exit_code == 0
    assert result.stdout.count("sent already") == 1, result.stdout


def test_week_in_lower_case(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("digest", "-C", sample, "--week", "2026-w47")
    assert result.exit_code == 0, result.output
    assert "digest 2026-W47" in result.stdout
    assert (sample / "outbox" / "2026-W47" / "meta.json").is_file()


def test_help_is_not_cut_and_tells_the_truth(cli) -> None:  # type: ignore[no-untyped-def]
    main = cli("--help").stdout
    commands = main.split("Commands:")[1].strip().splitlines()
    assert len(commands) == 13  # 9 of the pipeline, send and subscribers, serve and bounces
    assert not [line for line in commands if line.rstrip().endswith("...")]
    preview = cli("preview", "--help").stdout
    assert "[default: 0]" not in preview and "8025" in preview
    imported = cli("import", "--help").stdout
    assert "list[Path]" not in imported and "SOURCE" in imported


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
