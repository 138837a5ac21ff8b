"""Generate a deterministic benchmark corpus: the same posts for newsletter, Pelican and Hugo.

Seeded random text, no network. ``generate(root, n)`` writes three sites:

    root/newsletter/  newsletter.toml (the repo's) + posts/*.md (YAML front matter)
    root/pelican/     content/*.md (Title:/Date:/Category:/Tags: metadata) + pelicanconf*.py
    root/hugo/        hugo.toml + content/posts/*.md (YAML front matter) + minimal layouts

Every post body is the same Markdown in all three (Pelican and Hugo get the
references appended as a Markdown list, since they have no reference model).
Dates spread over about three years in America/Chicago local time; the last
complete ISO week before ``NOW`` holds ten posts, so ``newsletter build``'s
"last week" digest has something to render.

Run standalone to keep a corpus for profiling:

    python bench/corpus.py /dev/shm/nl-10k --posts 10000
"""

from __future__ import annotations

import argparse
import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("America/Chicago")
# "Now" for every run (SOURCE_DATE_EPOCH): Wednesday after ISO week 2026-W47.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=TZ)
NOW_EPOCH = int(NOW.timestamp())
LAST_WEEK_START = datetime(2026, 11, 16, tzinfo=TZ)  # Monday of 2026-W47
LAST_WEEK_POSTS = 10
YEARS = 3
SEED = 20261125

CATEGORIES = [
    "Bone Marrow", "Mesenchymal Stem Cells", "Multiple Sclerosis", "Osteoarthritis", "Clinical Trials",
    "Cardiology", "Neurology", "Patient Guides", "Spinal Cord Injury", "ALS", "Orthopaedics", "Diabetes",
    "Stroke", "Parkinson's Disease", "Autoimmune Disease", "Cord Blood", "Adipose Tissue", "Wound Healing",
    "Sports Medicine", "Research Updates", "Regulation", "Lupus", "Crohn's Disease", "Heart Failure",
    "Kidney Disease", "Liver Disease", "Ophthalmology", "Hair Loss", "Ageing", "Pain Management",
]  # fmt: skip
TAGS = ["clinical trial", "safety", "review", "first visit", "meta-analysis", "pilot study", "news", "faq"]
AUTHORS = ["Care Team", "Dr. Priya Raman", "Dr. Samuel Okafor", "Dr. Lena Brandt"]
_WORD_TEXT = (
    "stem cell therapy patients trial results injection cartilage knee pain function safety dose follow-up "
    "months years researchers study group placebo control randomized outcome improvement inflammation "
    "tissue repair marrow adipose derived mesenchymal progenitor neural spinal cord recovery evidence review "
    "treatment option clinic care coordinator imaging scan measure signal effect benefit risk cost procedure "
    "recovery week center protocol cohort analysis quality life symptom severity moderate early phase open "
    "label endpoint primary secondary response durable modest encouraging cautious promising careful small "
    "larger independent published journal data report finding question answer team physician nurse family"
)
_TITLE_TEXT = (
    "Stem Cells Knee Pain Heart Failure Spinal Injury Early Safety Data Cartilage Repair Trial Results "
    "Patient Guide Evidence Review Neural Progenitors Bone Marrow Adipose Cells Recovery Outcomes Update"
)
WORDS = _WORD_TEXT.split()
TITLE_WORDS = _TITLE_TEXT.split()


@dataclass
class Post:
    """One generated post, before formatting for a particular tool."""

    index: int
    title: str
    date: datetime
    author: str | None
    categories: list[str]
    tags: list[str]
    summary: str | None
    references: list[str | dict[str, str]]
    body: str

    @property
    def stem(self) -> str:
        """File name without extension, the same for every tool."""
        return f"{self.date:%Y-%m-%d}-post-{self.index:05d}"


def _sentence(rng: random.Random, low: int = 8, high: int = 18) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, sentences: int, markers: list[int]) -> str:
    parts = [_sentence(rng) for _ in range(sentences)]
    if rng.random() < 0.5:
        i = rng.randrange(len(parts))
        word = rng.choice(WORDS)
        parts[i] = parts[i][:-1] + f" *{word}* or **{rng.choice(WORDS)}**."
    for n in markers:
        i = rng.randrange(len(parts))
        parts[i] = parts[i][:-1] + f" [{n}]."
    return " ".join(parts)


def _body(rng: random.Random, n_refs: int) -> str:
    refs = list(range(1, n_refs + 1))
    link = f"[{rng.choice(WORDS)} {rng.choice(WORDS)}](https://example.org/{rng.choice(WORDS)}/{rng.randint(1, 999)})"
    items = "\n".join(f"- {_sentence(rng, 4, 9)}" for _ in range(rng.randint(3, 5)))
    blocks = [
        _paragraph(rng, 5, refs[:1]),
        f"## {_sentence(rng, 2, 5)[:-1]}",
        _paragraph(rng, 5, []) + f" See {link} for details.",
        items,
        _paragraph(rng, 4, refs[1:2]),
        f"## {_sentence(rng, 2, 5)[:-1]}",
        _paragraph(rng, 5, refs[2:]),
        _paragraph(rng, 4, []),
        _paragraph(rng, 3, []),
    ]
    return "\n\n".join(blocks) + "\n"


def _reference(rng: random.Random, index: int, k: int) -> str | dict[str, str]:
    authors = ", ".join(f"{rng.choice(TITLE_WORDS)}, {chr(65 + rng.randrange(26))}" for _ in range(rng.randint(1, 3)))
    text = f"{authors}. ({rng.randint(2005, 2026)}). {_sentence(rng, 6, 12)[:-1]}. Journal of {rng.choice(TITLE_WORDS)}, {rng.randint(1, 40)}({rng.randint(1, 12)}), {rng.randint(1, 300)}-{rng.randint(301, 600)}."  # noqa: E501
    if k % 2 == 0:
        return text
    ref = {"text": text, "doi": f"10.5555/bench.{index:05d}.{k}"}
    if rng.random() < 0.3:
        ref["url"] = f"https://example.org/ref/{index}/{k}"
    return ref


def _dates(rng: random.Random, n: int) -> list[datetime]:
    """Local times: ``LAST_WEEK_POSTS`` in the last week, the rest over ``YEARS`` years before it."""
    recent = min(n, LAST_WEEK_POSTS)
    dates = []
    for _ in range(recent):
        day = LAST_WEEK_START + timedelta(days=rng.randrange(7))
        dates.append(day.replace(hour=rng.randint(7, 18), minute=rng.choice([0, 30])))
    first_day = LAST_WEEK_START - timedelta(days=365 * YEARS)
    for _ in range(n - recent):
        day = first_day + timedelta(days=rng.randrange(365 * YEARS))
        dates.append(day.replace(hour=rng.randint(7, 18), minute=rng.choice([0, 15, 30, 45])))
    return sorted(dates)


def make_posts(n: int, seed: int = SEED) -> list[Post]:
    """``n`` posts, oldest first, the same for the same ``n`` and seed."""
    rng = random.Random(seed)
    posts = []
    for index, when in enumerate(_dates(rng, n), start=1):
        n_refs = rng.randint(1, 3)
        title = " ".join(rng.sample(TITLE_WORDS, rng.randint(3, 6))) + f" ({index})"
        posts.append(
            Post(
                index=index,
                title=title,
                date=when,
                author=rng.choice(AUTHORS) if rng.random() < 0.6 else None,
                categories=rng.sample(CATEGORIES, rng.randint(2, 3)),
                tags=rng.sample(TAGS, rng.randint(0, 2)),
                summary=_sentence(rng, 15, 30) if rng.random() < 0.4 else None,
                references=[_reference(rng, index, k) for k in range(n_refs)],
                body=_body(rng, n_refs),
            )
        )
    return posts


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(_yaml_str(i) for i in items) + "]"


def newsletter_post(post: Post) -> str:
    """The post in newsletter's format: YAML front matter, local date, references."""
    lines = ["---", f"title: {_yaml_str(post.title)}", f"date: {post.date:%Y-%m-%d %H:%M}"]
    if post.author:
        lines.append(f"author: {post.author}")
    lines.append(f"categories: {_yaml_list(post.categories)}")
    if post.tags:
        lines.append(f"tags: {_yaml_list(post.tags)}")
    if post.summary:
        lines.append(f"summary: {_yaml_str(post.summary)}")
    lines.append("references:")
    for ref in post.references:
        if isinstance(ref, str):
            lines.append(f"  - {_yaml_str(ref)}")
        else:
            lines.append(f"  - text: {_yaml_str(ref['text'])}")
            lines += [f"    {key}: {value}" for key, value in ref.items() if key != "text"]
    lines.append("---")
    return "\n".join(lines) + "\n" + post.body


def _references_markdown(post: Post) -> str:
    items = []
    for n, ref in enumerate(post.references, start=1):
        if isinstance(ref, str):
            items.append(f"{n}. {ref}")
        else:
            items.append(f"{n}. {ref['text']} <https://doi.org/{ref['doi']}>")
    return "\n## References\n\n" + "\n".join(items) + "\n"


def pelican_post(post: Post) -> str:
    """The post in Pelican's Markdown metadata format (one category; the others become tags)."""
    lines = [
        f"Title: {post.title}",
        f"Date: {post.date:%Y-%m-%d %H:%M}",
        f"Category: {post.categories[0]}",
        f"Tags: {', '.join(post.categories[1:] + post.tags)}",
    ]
    if post.author:
        lines.append(f"Author: {post.author}")
    if post.summary:
        lines.append(f"Summary: {post.summary}")
    return "\n".join(lines) + "\n\n" + post.body + _references_markdown(post)


def hugo_post(post: Post) -> str:
    """The post for Hugo: YAML front matter with an explicit offset, categories and tags as taxonomies."""
    lines = [
        "---",
        f"title: {_yaml_str(post.title)}",
        f"date: {post.date.isoformat()}",
        f"categories: {_yaml_list(post.categories)}",
        f"tags: {_yaml_list(post.tags)}",
    ]
    if post.author:
        lines.append(f"author: {post.author}")
    if post.summary:
        lines.append(f"summary: {_yaml_str(post.summary)}")
    return "\n".join(lines) + "\n---\n" + post.body + _references_markdown(post)


PELICANCONF = """\
# Generated by bench/corpus.py: RSS + Atom, per-category feeds, default theme.
AUTHOR = "Care Team"
SITENAME = "Northbridge Regenerative Care"
SITEURL = "https://news.northbridge-care.example.org"
FEED_DOMAIN = SITEURL
TIMEZONE = "America/Chicago"
DEFAULT_LANG = "en"
RELATIVE_URLS = False
DEFAULT_PAGINATION = False
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = "feeds/{{slug}}.atom.xml"
CATEGORY_FEED_RSS = "feeds/{{slug}}.rss.xml"
FEED_MAX_ITEMS = 20
RSS_FEED_SUMMARY_ONLY = False
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
CACHE_CONTENT = {cache}
LOAD_CONTENT_CACHE = {cache}
CACHE_PATH = "cache"
"""

HUGO_TOML = """\
# Generated by bench/corpus.py: RSS for home, sections and every taxonomy term (Hugo has no built-in Atom).
baseURL = "https://news.northbridge-care.example.org/"
languageCode = "en"
title = "Northbridge Regenerative Care"
timeZone = "America/Chicago"
buildFuture = true
disableKinds = ["sitemap", "robotsTXT", "404"]

[taxonomies]
category = "categories"
tag = "tags"

[outputs]
home = ["HTML", "RSS"]
section = ["HTML", "RSS"]
taxonomy = ["HTML"]
term = ["HTML", "RSS"]

[services.rss]
limit = 20
"""

HUGO_SINGLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1><p>{{ .Date.Format "2 January 2006" }}
{{ range .Params.categories }}<a href="{{ "categories/" | relURL }}{{ . | urlize }}/">{{ . }}</a> {{ end }}</p>
{{ .Content }}</body></html>
"""

HUGO_LIST = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1><ul>{{ range first 20 .Pages }}
<li><a href="{{ .Permalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul></body></html>
"""


def _write(path: Path, text: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(data)
    return len(data)


def generate(root: Path, n: int, seed: int = SEED, peers: bool = True) -> dict[str, object]:
    """Write the three sites under ``root`` (replacing it); return a summary of the corpus.

    With ``peers`` false, only the newsletter site (for sizes no peer is timed at).
    """
    if root.exists():
        shutil.rmtree(root)
    posts = make_posts(n, seed)
    nl, pel, hugo = root / "newsletter", root / "pelican", root / "hugo"
    nl.mkdir(parents=True)
    shutil.copyfile(REPO / "newsletter.toml", nl / "newsletter.toml")
    total = 0
    for post in posts:
        total += _write(nl / "posts" / f"{post.stem}.md", newsletter_post(post))
        if peers:
            _write(pel / "content" / f"{post.stem}.md", pelican_post(post))
            _write(hugo / "content" / "posts" / f"{post.stem}.md", hugo_post(post))
    _write(pel / "pelicanconf.py", PELICANCONF.format(cache="False"))
    _write(pel / "pelicanconf_cached.py", PELICANCONF.format(cache="True"))
    _write(hugo / "hugo.toml", HUGO_TOML)
    _write(hugo / "layouts" / "_default" / "single.html", HUGO_SINGLE)
    _write(hugo / "layouts" / "_default" / "list.html", HUGO_LIST)
    last_week = sum(1 for p in posts if p.date >= LAST_WEEK_START)
    return {
        "posts": n,
        "seed": seed,
        "bytes_total": total,
        "bytes_per_post": round(total / max(n, 1)),
        "first_date": posts[0].date.isoformat() if posts else None,
        "last_date": posts[-1].date.isoformat() if posts else None,
        "posts_in_digest_week": last_week,
        "categories_used": len({c for p in posts for c in p.categories}),
        "newest_post": f"posts/{posts[-1].stem}.md" if posts else None,
    }


def main() -> None:
    """Command line: write a corpus to a folder and print its summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    summary = generate(args.folder, args.posts, args.seed)
    for key, value in summary.items():
        print(f"{key}: {value}")
    print(f"SOURCE_DATE_EPOCH={NOW_EPOCH}")


if __name__ == "__main__":
    main()
