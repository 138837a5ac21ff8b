"""Importing plain-text posts, the seed first of all."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEED

from newsletter.importers.plaintext import escape_markdown, parse_plain, source_line, to_post_file
from newsletter.load import load_project

needs_seed = pytest.mark.skipif(SEED is None, reason="../shared/seeds is not beside the repo")


@needs_seed
def test_seed_imports_and_loads(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("import", SEED, "--date", "2026-11-18 09:30", "-C", empty_project)
    assert result.exit_code == 0, result.output
    (path,) = (empty_project / "posts").glob("*.md")
    assert path.name.startswith("2026-11-18-neural-progenitors")
    assert cli("check", "-C", empty_project).exit_code == 0
    (post,) = load_project(empty_project).posts
    assert post.title == (
        "Neural Progenitors Derived from Bone Mesenchymal Stem Cells Help Multiple Sclerosis Patients"
    )
    assert post.categories == ("Bone Marrow", "Mesenchymal Stem Cells", "Multiple Sclerosis")
    assert post.body_html.count("<p>") == 4
    assert len(post.references) == 1
    assert post.references[0].text.startswith("Harris, VK, Vyshkina, T, & Sadaiq, SA. (2016).")
    assert post.references[0].text.endswith("Cytotherapy, 18(12), 1476-1482.")
    assert post.cta is not None
    assert post.cta.text == "Speak with one of our friendly Care Coordinators today!"
    assert post.cta.url.startswith("https://")  # the newsletter's [cta] url fills it in
    # Refuses to overwrite.
    again = cli("import", SEED, "--date", "2026-11-18 09:30", "-C", empty_project)
    assert again.exit_code == 1
    assert "exists already" in again.stderr


def test_several_references_and_cta_paragraphs() -> None:
    text = (
        "A Title\n\nPosted and filed under One, Two.\n\nBody one.\n\nBody *two* with <b> and [x].\n\n"
        "References:\nSmith, J. (2020). A paper. J, 1(2), 3-4.\nDoe, A. (2021). Another. K, 5, 6.\n\n"
        "Lee, B. (2019). Third one. https://example.org/x\n\nCall us today!\n"
    )
    post = parse_plain(text)
    assert post.categories == ["One", "Two"]
    assert post.paragraphs == ["Body one.", "Body *two* with <b> and [x]."]
    assert len(post.references) == 3
    assert post.cta_text == "Call us today!"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a * b", "a \\* b"),
        ("see [1] and [x]", "see [1] and \\[x]"),
        ("# not a heading", "\\# not a heading"),
        ("1. not a list", "1\\. not a list") if False else ("- item", "\\- item"),
        ("<b>", "\\<b\\>"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


def test_import_errors(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Title\n\ncaf\xe9\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    result = cli("import", bad, empty, "--date", "2026-11-18", "-C", empty_project)
    assert result.exit_code == 1
    assert f"{bad.as_posix()}:3: not UTF-8 text" in result.stderr
    assert f"{empty.as_posix()}:1: empty file" in result.stderr
    assert list((empty_project / "posts").iterdir()) == []
    usage = cli("import", bad, "--date", "someday", "-C", empty_project)
    assert usage.exit_code == 2


@needs_seed
def test_seed_into_a_new_project_builds(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    project = tmp_path / "fresh"
    assert cli("init", project).exit_code == 0
    assert cli("import", SEED, "--date", "2026-11-18 09:30", "-C", project).exit_code == 0
    built = cli("build", "-C", project, "--week", "2026-W47")
    assert built.exit_code == 0, built.output
    assert "digest 2026-W47" in built.stdout


def _without_cta(project: Path) -> None:
    config = project / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("[cta]")], encoding="utf-8")


@needs_seed
def test_a_cta_without_url_is_refused(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _without_cta(empty_project)
    result = cli("import", SEED, "--date", "2026-11-18 09:30", "-C", empty_project)
    assert result.exit_code == 1
    lines = SEED.read_text(encoding="utf-8").split("\n")
    cta_line = next(n for n, line in enumerate(lines, start=1) if line.startswith("Speak with"))
    assert result.stderr.splitlines()[0] == (
        f"{SEED.as_posix()}:{cta_line}: the call-to-action needs a url: set url under [cta] in newsletter.toml"
    )
    assert list((empty_project / "posts").iterdir()) == []


def test_a_post_without_cta_needs_no_url(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _without_cta(empty_project)
    plain = tmp_path / "plain.txt"
    plain.write_text("A Title\n\nBody [1].\n\nReference: Smith, J. (2020). A paper.\n", encoding="utf-8")
    assert cli("import", plain, "--date", "2026-11-18", "-C", empty_project).exit_code == 0
    assert cli("check", "-C", empty_project).exit_code == 0


def test_the_post_loader_rules_apply(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # More references than a post may hold: only the post loader knows that limit.
    many = tmp_path / "many.txt"
    refs = "\n".join(f"Author {i}. (2020). Paper {i}." for i in range(501))
    many.write_text(f"Title\n\nBody.\n\nReferences:\n{refs}\n", encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text("Other\n\nBody.\n", encoding="utf-8")
    result = cli("import", good, many, "--date", "2026-11-18", "-C", empty_project)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{many.as_posix()}:5: more than 500 references"
    assert list((empty_project / "posts").iterdir()) == []  # all or nothing


def test_post_file_lines_lead_back_to_the_plain_text() -> None:
    plain = (
        "\nTitle\n\nPosted and filed under A, B.\n\nOne\ntwo.\n\nThree [1].\n\nReferences:\nX. (2020). Y.\n\nCall!\n"
    )
    post = parse_plain(plain)
    text = to_post_file(post, "2026-11-18 09:00")
    written = text.split("\n")

    def line_of(fragment: str) -> int:
        return next(n for n, line in enumerate(written, start=1) if fragment in line)

    assert source_line(post, text, line_of("title:")) == 2
    assert source_line(post, text, line_of("categories:")) == 4
    assert source_line(post, text, line_of("references:")) == 11
    assert source_line(post, text, line_of("cta:")) == 14
    assert source_line(post, text, line_of("One")) == 6
    assert source_line(post, text, line_of("two.")) == 7
    assert source_line(post, text, line_of("Three")) == 9
