"""Create projects (`init`) and post files (`new`, `import`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import yaml

from newsletter import clock
from newsletter.config import CONFIG_NAME, SECTIONS
from newsletter.errors import NewsletterError
from newsletter.slugs import make_slug
from newsletter.write import write_atomic

SAMPLE_POST = """\
---
title: Welcome to {title}
date: {date}
categories: [News]
summary: What this newsletter is about, in one or two sentences.
references:
  - text: "CommonMark Spec, version 0.31.2."
    url: https://spec.commonmark.org/0.31.2/
---
This is the first post. Write posts in Markdown under `posts/`, one file each,
with the settings above the `---` line. A citation marker such as [1] links to
the post's first reference.

Run `newsletter build` to write the feeds into `public/` and this week's email
into `outbox/`, then `newsletter preview` to look at them in a browser.
"""


def config_text(title: str = "My Newsletter", url: str = "https://example.org/") -> str:
    """A commented newsletter.toml with every setting and its default."""
    lines = ["# newsletter settings. Every setting is optional unless noted.", ""]
    overrides = {("site", "title"): title, ("site", "url"): url,
                 ("email", "unsubscribe_url"): url.rstrip("/") + "/unsubscribe",
                 ("email", "postal_address"): "Street 1, 12345 Town, Country"}  # fmt: skip
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]")
        for f in dataclasses.fields(cls):
            key = "from" if (section, f.name) == ("email", "sender") else f.name
            value = overrides.get((section, f.name), f.default)
            lines.append(f"# {f.metadata['doc']}")
            rendered = _toml_value(value)
            prefix = "" if value not in ("", None) else "# "
            lines.append(f"{prefix}{key} = {rendered}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def init_project(folder: Path, title: str = "My Newsletter") -> list[Path]:
    """Create a new project in ``folder``; refuse to overwrite anything."""
    config = folder / CONFIG_NAME
    posts = folder / "posts"
    if config.exists():
        raise NewsletterError(f"{config}: already exists; nothing was changed")
    when = clock.now().strftime("%Y-%m-%d %H:%M")
    post = posts / f"{clock.now():%Y-%m-%d}-welcome.md"
    if post.exists():
        raise NewsletterError(f"{post}: already exists; nothing was changed")
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    posts.mkdir(parents=True, exist_ok=True)
    write_atomic(config, config_text(title))
    write_atomic(post, SAMPLE_POST.format(title=title, date=when))
    write_atomic(folder / ".gitignore", "public/\noutbox/\n.newsletter-cache/\n.newsletter.lock\n")
    return [config, post]


def new_post(root: Path, title: str, when: datetime) -> Path:
    """Create ``posts/<date>-<slug>.md`` for ``title``; refuse to overwrite."""
    slug = make_slug(title)
    if not slug:
        raise NewsletterError(f"cannot derive a file name from the title {title!r}")
    if "\n" in title or "\r" in title:
        raise NewsletterError("the title must be one line")
    path = root / "posts" / f"{when:%Y-%m-%d}-{slug}.md"
    if path.exists():
        raise NewsletterError(f"{path}: already exists; nothing was changed")
    front = yaml.safe_dump(
        {"title": title, "date": when.strftime("%Y-%m-%d %H:%M"), "categories": [], "summary": "", "draft": True},
        sort_keys=False,
        allow_unicode=True,
        width=100000,
        default_flow_style=None,
    )
    body = "Write the post here. Set `draft: false` above to publish it.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, f"---\n{front}---\n{body}")
    return path
