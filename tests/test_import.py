"""Importing plain-text posts, the seed first of all."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEED

from newsletter.importer import escape_markdown, parse_plain
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
