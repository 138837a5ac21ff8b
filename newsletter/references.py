"""One numbering of the references of a digest: the same work cited by two posts is listed once.

Two references name the same work when they share a DOI, a URL, or a
normalised text (case, punctuation, accents and spacing ignored). Citations
copied by hand differ in small ways, so two texts also match when their
year and everything after it (title, journal, volume, pages) agree and the
authors differ by one letter at most ("Sadaiq" and "Sadiq"). Two references
whose DOIs differ are never the same work, whatever their text.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsletter.models import Post, Reference

_YEAR = re.compile(r"\((\d{4})[a-z]?\)|(?<![\d.])(\d{4})[a-z]?(?=[.,;:)\s])")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)


def normalise_text(text: str) -> str:
    """Lower case, accents and punctuation dropped, spaces collapsed: ``Bergström, L.`` -> ``bergstrom l``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


def normalise_doi(doi: str) -> str:
    """``https://doi.org/10.1/X`` and ``doi:10.1/x`` -> ``10.1/x`` (DOIs are case-insensitive)."""
    return _DOI_PREFIX.sub("", doi.strip()).lower()


def normalise_url(url: str) -> str:
    """Scheme, ``www.``, case of the host and a trailing slash ignored."""
    url = re.sub(r"^https?://(?:www\.)?", "", url.strip(), flags=re.I)
    host, _, rest = url.partition("/")
    return (host.lower() + "/" + rest).rstrip("/")


def split_citation(text: str) -> tuple[str, str, str] | None:
    """(authors, year, rest) of a citation in author-year style, normalised; None without a year."""
    m = _YEAR.search(text)
    if not m or m.start() == 0:
        return None
    authors = normalise_text(text[: m.start()]).replace(" ", "")  # "V. K." and "VK" alike
    rest = normalise_text(text[m.end() :])
    if not authors or not rest:
        return None
    return authors, m.group(1) or m.group(2), rest


def one_letter_apart(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one inserted, deleted or replaced letter."""
    if abs(len(a) - len(b)) > 1:
        return False
    changed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            changed += max(i2 - i1, j2 - j1)
    return changed <= 1


def same_work(a: Reference, b: Reference) -> bool:
    """Whether two references name the same work (see the module's docstring)."""
    if a.doi and b.doi:
        return normalise_doi(a.doi) == normalise_doi(b.doi)
    if a.url and b.url and normalise_url(a.url) == normalise_url(b.url):
        return True
    if normalise_text(a.text) == normalise_text(b.text):
        return True
    sa, sb = split_citation(a.text), split_citation(b.text)
    return sa is not None and sb is not None and sa[1:] == sb[1:] and one_letter_apart(sa[0], sb[0])


@dataclass
class Entry:
    """One work in the digest's reference list, with its number and the post that lists it."""

    number: int
    reference: Reference
    post: str  # slug of the first post that lists it

    def absorb(self, other: Reference) -> None:
        """Take the DOI or URL another citation of the same work has and this one lacks."""
        ref = self.reference
        if not ref.doi and other.doi or not ref.url and other.url:
            self.reference = Reference(ref.text, ref.doi or other.doi, ref.url or other.url, ref.line)


@dataclass
class Numbering:
    """The digest's references: entries in order, and per post the number of each of its references."""

    entries: list[Entry] = field(default_factory=list)
    numbers: dict[str, list[int]] = field(default_factory=dict)

    def for_post(self, slug: str) -> list[Entry]:
        """The entries listed under ``slug`` (its references no earlier post listed)."""
        return [e for e in self.entries if e.post == slug]


def number_references(posts: Sequence[Post]) -> Numbering:
    """Number every work cited by ``posts`` once, in order of first appearance.

    Candidates are found through dictionaries (DOI, URL, text, and year plus
    title for the one-letter author check), so a week with thousands of
    references is not compared pair by pair.
    """
    result = Numbering()
    by_doi: dict[str, Entry] = {}
    by_url: dict[str, Entry] = {}
    by_text: dict[str, Entry] = {}
    by_title: dict[tuple[str, str], list[Entry]] = {}
    for post in posts:
        mine: list[int] = []
        for ref in post.references:
            entry = _find(ref, by_doi, by_url, by_text, by_title)
            if entry is None:
                entry = Entry(len(result.entries) + 1, ref, post.slug)
                result.entries.append(entry)
            else:
                entry.absorb(ref)
            _index(entry, ref, by_doi, by_url, by_text, by_title)
            _index(entry, entry.reference, by_doi, by_url, by_text, by_title)
            mine.append(entry.number)
        result.numbers[post.slug] = mine
    return result


def _find(
    ref: Reference,
    by_doi: dict[str, Entry],
    by_url: dict[str, Entry],
    by_text: dict[str, Entry],
    by_title: dict[tuple[str, str], list[Entry]],
) -> Entry | None:
    """An entry already listed that names the same work as ``ref``."""
    if ref.doi and normalise_doi(ref.doi) in by_doi:
        return by_doi[normalise_doi(ref.doi)]
    candidates = []
    if ref.url and normalise_url(ref.url) in by_url:
        candidates.append(by_url[normalise_url(ref.url)])
    if normalise_text(ref.text) in by_text:
        candidates.append(by_text[normalise_text(ref.text)])
    parts = split_citation(ref.text)
    if parts is not None:
        candidates += by_title.get((parts[1], parts[2]), [])
    return next((e for e in candidates if same_work(e.reference, ref)), None)


def _index(
    entry: Entry,
    ref: Reference,
    by_doi: dict[str, Entry],
    by_url: dict[str, Entry],
    by_text: dict[str, Entry],
    by_title: dict[tuple[str, str], list[Entry]],
) -> None:
    if ref.doi:
        by_doi.setdefault(normalise_doi(ref.doi), entry)
    if ref.url:
        by_url.setdefault(normalise_url(ref.url), entry)
    by_text.setdefault(normalise_text(ref.text), entry)
    parts = split_citation(ref.text)
    if parts is not None:
        bucket = by_title.setdefault((parts[1], parts[2]), [])
        if entry not in bucket:
            bucket.append(entry)
