"""One numbering of a digest's references, and the text part's two numbering schemes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.models import Post, Reference
from newsletter.references import normalise_text, number_references, one_letter_apart, same_work

SADAIQ = (
    "Harris, VK, Vyshkina, T, & Sadaiq, SA. (2016). Clinical safety of intrathecal administration of mesenchymal "
    "cell-derived neural progenitors in multiple sclerosis. Cytotherapy, 18(12), 1476-1482."
)
SADIQ = (
    "Harris, V. K., Vyshkina, T., & Sadiq, S. A. (2016). Clinical Safety of Intrathecal Administration of "
    "Mesenchymal Cell-Derived Neural Progenitors in Multiple Sclerosis. Cytotherapy, 18(12), 1476–1482."
)
OTHER_PAPER = (
    "Harris, VK, Vyshkina, T, & Sadiq, SA. (2016). Stem cell therapy in multiple sclerosis: a future perspective. "
    "Neurodegenerative Disease Management, 6(3), 167-170."
)


def _post(slug: str, *refs: Reference) -> Post:
    when = datetime(2026, 11, 18, tzinfo=UTC)
    return Post(
        path=f"posts/{slug}.md", display_path=f"posts/{slug}.md", title=slug.title(), date=when, updated=None,
        author="", categories=(), tags=(), summary="", slug=slug, draft=False, references=refs, cta=None,
        body_html="", url=f"https://example.org/posts/{slug}/", id=slug,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (Reference("A. (2020). One.", doi="10.1/ABC"), Reference("Other text (2021).", doi="10.1/abc"), True),
        (Reference("x", doi="https://doi.org/10.1/abc"), Reference("y", doi="doi:10.1/ABC"), True),
        (Reference("Same text.", doi="10.1/a"), Reference("Same text.", doi="10.1/b"), False),
        (Reference("x", url="https://www.example.org/a/"), Reference("y", url="http://example.org/a"), True),
        (Reference("x", url="https://example.org/a"), Reference("y", url="https://example.org/b"), False),
        (Reference("Bergström, L. (2025). Cells."), Reference("bergstrom l 2025 cells"), True),
        (Reference(SADAIQ), Reference(SADIQ, doi="10.1016/j.jcyt.2016.08.011"), True),
        (Reference(SADIQ), Reference(OTHER_PAPER), False),
        (Reference(SADAIQ.replace("(2016)", "(2017)")), Reference(SADIQ), False),
        (Reference(SADAIQ.replace("Sadaiq", "Sadaqi")), Reference(SADIQ), False),  # two letters apart
        (Reference(SADAIQ.replace("Cytotherapy", "Cytotherapy Reports")), Reference(SADIQ), False),
    ],
)
def test_same_work(a: Reference, b: Reference, same: bool) -> None:
    assert same_work(a, b) is same
    assert same_work(b, a) is same


def test_normalised_text_ignores_case_punctuation_and_accents() -> None:
    assert normalise_text("Bergström, L.; ÉTUDE — «x»") == "bergstrom l etude x"
    assert one_letter_apart("sadaiq", "sadiq") and not one_letter_apart("sadaiq", "sadqi")


def test_one_numbering_across_the_digest() -> None:
    first = _post("first", Reference(SADAIQ), Reference("Only here. (2020). A.", url="https://example.org/a"))
    second = _post(
        "second",
        Reference(SADIQ, doi="10.1016/j.jcyt.2016.08.011"),
        Reference(OTHER_PAPER),
        Reference("Elsewhere (2020). A.", url="https://www.example.org/a/"),
    )
    numbering = number_references([first, second])
    assert [e.number for e in numbering.entries] == [1, 2, 3]
    assert numbering.numbers == {"first": [1, 2], "second": [1, 3, 2]}
    merged = numbering.entries[0].reference
    assert merged.text == SADAIQ and merged.doi == "10.1016/j.jcyt.2016.08.011"  # the DOI the other citation had
    assert [e.number for e in numbering.for_post("first")] == [1, 2]
    assert [e.number for e in numbering.for_post("second")] == [3]


def test_many_references_are_not_compared_pair_by_pair() -> None:
    import time

    refs = [Reference(f"Author{i}, A. ({2000 + i % 20}). Title number {i}. Journal, {i}.") for i in range(3000)]
    start = time.process_time()
    numbering = number_references([_post("big", *refs)])
    assert len(numbering.entries) == 3000
    assert time.process_time() - start < 20  # a bound on runaway cost, not a benchmark


# -- the text part --------------------------------------------------------------------------------------


def test_text_part_links_and_references_never_share_a_notation(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("digest", "-C", sample, "--week", "2026-W47")
    assert result.exit_code == 0, result.output
    text = (sample / "outbox" / "2026-W47" / "message.txt").read_text(encoding="utf-8")
    body, _, tail = text.partition("\nReferences\n----------\n")
    refs, _, links = tail.partition("\nLinks\n-----\n")
    link_numbers = {int(n) for n in re.findall(r"^\[(\d+)\]", links, flags=re.M)}
    ref_numbers = {int(n) for n in re.findall(r"^\[R(\d+)\]", refs, flags=re.M)}
    assert link_numbers == set(range(1, len(link_numbers) + 1)) and ref_numbers == set(range(1, len(ref_numbers) + 1))
    # Every marker in the body names an entry of its own list; nothing else looks like a marker.
    assert {int(n) for n in re.findall(r"\[(\d+)\]", body)} <= link_numbers
    assert {int(n) for n in re.findall(r"\[R(\d+)\]", body)} <= ref_numbers
    assert not re.search(r"\[ref\.", text)
    # Each reference sits under the title of the post that lists it.
    assert "\n\nStem Cells for ALS: Early Safety Data, Cautious Optimism\n[R2] Bergström" in refs
    assert refs.count("Sadaiq") + refs.count("Sadiq") == 1  # the seed's typo and the ALS post's citation merged


def test_html_lists_every_reference_under_its_post(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    from lxml import html as lxml_html

    cli("digest", "-C", sample, "--week", "2026-W47")
    document = lxml_html.document_fromstring((sample / "outbox" / "2026-W47" / "message.html").read_text("utf-8"))
    groups = document.xpath("//h3[@class='refpost']")
    assert [g.text_content() for g in groups][:2] == [
        "Neural Progenitors Derived from Bone Mesenchymal Stem Cells Help Multiple Sclerosis Patients",
        "Stem Cells for ALS: Early Safety Data, Cautious Optimism",
    ]
    numbers = [int(li.get("id")[4:]) for li in document.xpath("//ol[@class='refs']/li")]
    assert numbers == list(range(1, len(numbers) + 1))
    starts = [int(ol.get("start")) for ol in document.xpath("//ol[@class='refs']")]
    assert starts == sorted(starts) and starts[0] == 1
