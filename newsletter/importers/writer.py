"""The one writer of post files for every importer.

A post file is YAML front matter (``yaml.safe_dump``) and a Markdown body.
Before anything is written, each file is loaded with the post loader's own
rules (``load.load_post``), so what is written is what ``check`` accepts;
a post the loader refuses is reported as not imported, at its source line.
Existing files are never overwritten.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from newsletter.errors import SourceError
from newsletter.importers.model import ImportedPost, ImportReport

if TYPE_CHECKING:
    from newsletter.config import Settings


def front_matter(post: ImportedPost, slug: str) -> dict[str, object]:
    """The post's front matter, in the order a person reads it; empty values left out."""
    data: dict[str, object] = {"title": post.title, "date": post.date}
    if slug:
        data["slug"] = slug
    optional: list[tuple[str, object]] = [
        ("updated", post.updated),
        ("author", post.author),
        ("categories", post.categories),
        ("tags", post.tags),
        ("summary", post.summary),
        ("draft", True if post.draft else None),
        ("lang", post.lang),
        ("aliases", [_address(alias) for alias in post.aliases]),
    ]
    data.update((key, value) for key, value in optional if value)
    data.update(post.extra)
    return data


def _address(path: str) -> str:
    """An old address as a URL holds it: non-ASCII characters percent-encoded (existing escapes kept)."""
    from urllib.parse import quote

    return quote(path, safe="/%:@!$&'()*+,;=-._~")


def post_file_text(post: ImportedPost, slug: str) -> str:
    """The text of the post file for ``post``."""
    front = yaml.safe_dump(
        front_matter(post, slug), sort_keys=False, allow_unicode=True, width=100000, default_flow_style=None
    )
    body = post.body.strip("\n")
    return f"---\n{front}---\n{body}\n"


def validate(post: ImportedPost, text: str, name: str, settings: Settings) -> list[SourceError]:
    """Load the post file ``text`` as ``check`` will; its problems, at the source's lines.

    The file is loaded in a scratch project that has the post's images as
    empty placeholders (the loader only asks whether they exist).
    """
    from newsletter import frontmatter
    from newsletter.errors import Problems
    from newsletter.load import load_post

    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="newsletter-import-") as folder:
        scratch = dataclasses.replace(settings, root=Path(folder))
        path = scratch.posts_dir / name
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
        for image in post.images:
            placeholder = scratch.posts_dir / image.target
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            placeholder.touch()
        loaded = load_post(scratch, path, problems)
        if loaded is not None:
            post.new_url = loaded.url
    try:
        doc = frontmatter.read(text)
    except frontmatter.FrontMatterError:
        doc = None

    def source_line(line: int) -> int:
        if post.locate is not None:
            return post.locate(text, line)
        if doc is not None and line >= doc.body_line:
            return post.body_line or post.line
        if doc is not None:
            for key, start in sorted(doc.lines.items(), key=lambda item: -item[1]):
                if start <= line and key.split(".")[0] in post.lines:
                    return post.lines[key.split(".")[0]]
        return post.line

    return [SourceError("", source_line(item.line), item.message, item.warning) for item in problems.items]


def plan(posts: list[ImportedPost], settings: Settings, report: ImportReport) -> dict[Path, tuple[ImportedPost, str]]:
    """The post files to write, checked; problems go to ``report``."""
    from newsletter.slugs import make_slug

    planned: dict[Path, tuple[ImportedPost, str]] = {}
    taken: dict[str, ImportedPost] = {}
    patterns = settings.site.post_url + str(getattr(settings.site, "post_path", ""))  # post_path: newer versions
    # How much of the date the address holds: a slug may repeat where that part differs.
    date_part = 10 if "{day}" in patterns else 7 if "{month}" in patterns else 4 if "{year}" in patterns else 0
    for post in posts:
        slug = post.slug
        text = post_file_text(post, slug)
        found = validate(post, text, "post.md", settings)
        if slug and any(item.message.startswith("slug ") for item in found if not item.warning):
            lower = make_slug(slug)  # this version of the loader takes lower-case slugs only
            message = f"slug {slug!r} written as {lower!r}"
            report.warn("slug changed", post.source, post.lines.get("slug", post.line), message)
            slug = lower
        wanted = slug or make_slug(post.title)
        key = f"{post.date[:date_part]}/{wanted}"
        if wanted and key in taken:
            other = taken[key]
            number = 2
            while f"{key}-{number}" in taken:
                number += 1
            slug, wanted, key = f"{wanted}-{number}", f"{wanted}-{number}", f"{key}-{number}"
            message = f"slug taken by {other.source.as_posix()}:{other.line}; this post gets {slug!r}"
            report.warn("slug taken", post.source, post.line, message)
        taken[key] = post
        name = post.name or f"{post.date[:10]}-{make_slug(wanted) or 'post'}"
        target = settings.posts_dir / f"{name}.md"
        if slug != post.slug:
            text = post_file_text(post, slug)
            found = validate(post, text, target.name, settings)
        own = _own_aliases(post, settings)
        if own:  # the new page keeps the old address: no redirect needed (nor allowed)
            post.aliases = [alias for alias in post.aliases if alias not in own]
            text = post_file_text(post, slug)
            found = validate(post, text, target.name, settings)
        errors = [item for item in found if not item.warning]
        for item in found:
            if item.warning:
                report.warn(_kind(item.message), post.source, item.line, item.message)
        if errors:
            if post.kind == "plaintext":  # as before: every problem of the file
                for item in errors:
                    report.fail(post.source, item.line, item.message)
            else:  # one line a post: a blog's many posts stay readable
                more = f" (and {len(errors) - 1} more problems in this post)" if len(errors) > 1 else ""
                report.fail(post.source, errors[0].line, f"not imported: {errors[0].message}{more}")
            continue
        if target in planned:
            report.fail(post.source, post.line, f"another post imports to {_display(target, settings)}")
        elif target.exists() or target.is_symlink():
            report.fail(post.source, post.line, f"{_display(target, settings)} exists already; nothing was overwritten")
        else:
            planned[target] = (post, text)
            if post.draft:
                report.drafts[post.draft_reason] += 1
    return planned


def _own_aliases(post: ImportedPost, settings: Settings) -> set[str]:
    """The aliases that are the address the post gets here (relative to the site's root)."""
    from urllib.parse import urlsplit

    if not post.new_url:
        return set()
    base = urlsplit(settings.site.base_url).path.rstrip("/")
    new = urlsplit(post.new_url).path
    new = new[len(base) :] if base and new.startswith(base) else new
    forms = {new, new.removesuffix("index.html"), new.rstrip("/"), new.rstrip("/") + "/"}
    return {alias for alias in post.aliases if _address(alias) in forms or _address(alias).rstrip("/") in forms}


def _kind(message: str) -> str:
    """A warning's kind for the summary: its message without the quoted parts."""
    if message.startswith("unknown front-matter key"):
        return "key not known to this version of check"
    return message.split("'")[0].split(":")[0].strip() or "warning"


def _display(path: Path, settings: Settings) -> str:
    try:
        return path.relative_to(settings.root).as_posix()
    except ValueError:
        return path.as_posix()


def write(planned: dict[Path, tuple[ImportedPost, str]], settings: Settings) -> list[Path]:
    """Write the planned post files and copy their images (never over an existing file)."""
    import shutil

    from newsletter.write import write_atomic

    written = []
    for target, (post, text) in planned.items():
        for image in post.images:
            destination = settings.posts_dir / image.target
            if not destination.exists():
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(image.source, destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, text)
        written.append(target)
    return written
