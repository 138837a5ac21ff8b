"""Load a project: settings and posts, validated, every problem collected."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from newsletter import clock, frontmatter, media, postkeys
from newsletter.addresses import check_addresses
from newsletter.cache import BuildCache, PostEntry, digest, settings_key
from newsletter.config import Settings, load_settings
from newsletter.dates import date_in_file_name
from newsletter.dates import parse_date as parse_date
from newsletter.errors import Problems
from newsletter.markdown import BodyTooComplex, absolute, is_external, marker_line, render_markdown
from newsletter.models import CallToAction, Image, Post, Reference
from newsletter.permalinks import post_address
from newsletter.slugs import category_slug, make_slug
from newsletter.summaries import single_spaced, summary_of
from newsletter.templates import check_project_templates

Progress = Callable[[str, int, int], None]
MAX_POST_BYTES = 5 * 1024 * 1024
MAX_REFERENCES = 500
# Each category has a feed listing its posts with all their categories: one
# post naming 5,000 made 5,000 feeds of 5,000 categories each (1.2 GB).
MAX_CATEGORIES = 50
MAX_TAGS = 50
POST_SUFFIXES = (".md", ".markdown")
KNOWN_KEYS = set(postkeys.KNOWN_KEYS)
_SLUG_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# What each key of KNOWN_KEYS means: the front-matter reference of the guide
# (docs/writing-posts/front-matter.md) is generated from this mapping, and a
# test fails when a key above has no entry here.
KEY_DOCS = {
    "title": "Required. The post's title: one line.",
    "date": "Required. `YYYY-MM-DD HH:MM` (or just the day) in `site.timezone`, or with an offset "
    "(`2026-11-18T09:30+01:00`); YAML's and Jekyll's forms too (`2017-07-11 9:00:00 +0100`). Without it, the "
    "date of a `YYYY-MM-DD-name.md` file name. A post dated after now is not published until then.",
    "updated": "When the post was last changed, in the same form as `date` (shown on the page and in Atom).",
    "author": "Who wrote it; default `site.author`.",
    "categories": "A list of names (`[Bone Marrow, Multiple Sclerosis]`) or one comma-separated string; "
    "each category gets its own RSS feed.",
    "tags": "A list of names, like `categories`.",
    "summary": "One or two sentences for feeds, listings and short digests; default: the start of the first paragraph.",
    "slug": "The last part of the post's URL (`posts/<slug>/`, see `site.post_path`): letters (their case is "
    "kept), digits, `-`, `_`, `.`; default: made from the title. May repeat across years when the URL holds the year.",
    "draft": "`true` keeps the post out of every feed, page and digest.",
    "references": "The works the body cites: a list of strings, or of mappings with `text` (required), "
    "`doi` and `url`. A marker `[n]` in the body links to the n-th one.",
    "cta": "The call-to-action under the post: a mapping with `text`, `label` and `url`; "
    "missing parts come from `[cta]` in newsletter.toml.",
    "published": "Jekyll's form of `draft`: `false` keeps the post out of everything (a warning says so).",
    "status": "Pelican's and WordPress's: `draft`, `hidden`, `private`, `pending`, `future` or `trash` make a draft.",
    "aliases": "Old addresses of the post, site-root-relative (`/2017/07/11/my-post/`): each gets a small page "
    "that redirects to the post.",
    "url": "Hugo's address of the page (`/2017/07/my-post/`): one more old address that redirects to the post.",
    "description": "Hugo's summary: used when there is no `summary`.",
    "excerpt": "Jekyll's summary: used when there is no `summary` or `description`.",
    "lang": "The post's own language tag (`fr`, `pt-BR`) when it is not `site.language`: "
    "its page and its part of the digest are marked with it.",
}
_REFERENCE_KEYS = frozenset({"text", "doi", "url"})
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_IMAGE_SIZE = re.compile(r"^\s*([0-9]{1,5}%?)\s*$", re.ASCII)


@dataclass
class Project:
    """A loaded project: settings, every post, and the published ones."""

    settings: Settings
    posts: list[Post]
    warnings: list[Any]
    now: datetime

    @cached_property
    def published(self) -> list[Post]:
        """Posts that are not drafts and not dated in the future, newest first."""
        return [p for p in self.posts if not p.draft and p.date <= self.now]


def _scheme(url: str) -> str | None:
    """The scheme of ``url`` ("" for a relative one); None when it is no URL at all."""
    try:
        return urlsplit(url).scheme
    except ValueError:  # e.g. "http://[oops": an unclosed IPv6 host
        return None


def _text(value: Any) -> str | None:
    """A scalar as text; None for lists, mappings and null."""
    if type(value) is str:  # nearly always
        return value.strip()
    if value is None or isinstance(value, (list, dict)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _string_list(value: Any) -> tuple[str, ...] | None:
    """A list of strings, or a single comma-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(s.strip() for s in value.split(",") if s.strip())
    if isinstance(value, list):
        if set(map(type, value)) <= {str}:  # nearly always: the same as below, in one pass (in C)
            names = tuple(map(str.strip, value))
            return names if all(names) else None
        if all(_text(v) for v in value):
            return tuple(_text(v) or "" for v in value)
    return None


def _stem(path: str) -> str:
    """``os.path.splitext(os.path.basename(path))[0]``, the file's name without its suffix, in fewer steps."""
    name = path[path.rfind("/") + 1 :]
    dot = name.rfind(".")
    return name[:dot] if dot > 0 and name[:dot].strip(".") else name


class _PostLoader:
    """Turns one file into a Post, recording problems."""

    def __init__(self, settings: Settings, problems: Problems):
        self.settings = settings
        self.problems = problems
        self.deps: list[tuple[str, bool]] = []  # files the current post refers to (for the cache)
        self.digest = ""
        self.stat = (0, -1)  # the current post's file (st_mtime_ns, st_size) before it was read
        self.real_root = settings.root.resolve()
        self.base_path = urlsplit(settings.site.base_url).path or "/"

    def load(self, path: Path | str) -> Post | None:
        """The post in the file at ``path`` (a string spares making a Path), or None when it has errors."""
        problems = self.problems
        try:
            raw = self._read(path)
        except OSError as exc:
            problems.error(path, 1, f"cannot read the file: {exc.strerror or exc}")
            return None
        if raw is None or len(raw) > MAX_POST_BYTES:
            problems.error(path, 1, f"file is larger than {MAX_POST_BYTES // (1024 * 1024)} MB")
            return None
        if b"\x00" in raw:
            problems.error(path, raw[: raw.index(b"\x00")].count(b"\n") + 1, "file contains a NUL byte")
            return None
        try:
            # What decode("utf-8-sig") does, without its codec's Python function: a BOM
            # dropped, the rest decoded (an error's offset is in the rest, as there).
            text = (raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.error(path, raw[: exc.start].count(b"\n") + 1, "not UTF-8 text (save the file as UTF-8)")
            return None
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        bad = frontmatter.CONTROL_CHARS.search(text) if frontmatter.may_hold_control_chars(raw) else None
        if bad:
            line = text.count("\n", 0, bad.start()) + 1
            problems.error(path, line, f"file contains a control character (U+{ord(bad.group()):04X})")
            return None
        try:
            doc = frontmatter.read(text)
        except frontmatter.FrontMatterError as exc:
            problems.error(path, exc.line, exc.message)
            return None
        self.digest = digest(raw)
        return self._build(path, doc)

    def _read(self, path: Path | str) -> bytes | None:
        """The file's bytes (None when larger than MAX_POST_BYTES), noting its stat first.

        In four system calls: this runs for every post of a cold build.
        """
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            self.stat = (st.st_mtime_ns, st.st_size)
            if st.st_size > MAX_POST_BYTES:  # before reading it all into memory
                return None
            parts = [os.read(fd, st.st_size + 1)]
            size = len(parts[0])
            while size > st.st_size and parts[-1] and size <= MAX_POST_BYTES:  # it grew meanwhile
                parts.append(os.read(fd, 1 << 20))
                size += len(parts[-1])
            return b"".join(parts) if len(parts) > 1 else parts[0]
        finally:
            os.close(fd)

    def _build(self, path: Path | str, doc: frontmatter.Document) -> Post | None:
        problems, data, lines, site = self.problems, doc.data, doc.lines, self.settings.site
        start = len(problems.items)  # errors are only ever added: any from here on are this post's

        def new_errors() -> bool:
            return len(problems.items) > start and any(not item.warning for item in problems.items[start:])

        def err(key: str, message: str) -> None:
            problems.error(path, lines.get(key, 2), message)

        def warn(key: str, message: str) -> None:
            problems.warn(path, lines.get(key, 2), message)

        postkeys.fold_keys(data, lines)
        for key, message in postkeys.unknown_key_warnings(data, self.settings.load.ignore_keys):
            warn(key, message)
        title = _text(data.get("title"))
        if not title:
            err("title", "missing title")
        elif frontmatter.LINE_BREAKS.search(title):
            err("title", "title must be one line")
        when: datetime | None = None
        if data.get("date") in (None, ""):
            named = date_in_file_name(os.path.basename(path))
            if named is None:
                err("date", "missing date")
            else:  # a Jekyll post: the date is in its file name
                when = parse_date(named, site.tz)
        else:
            try:
                when = parse_date(data["date"], site.tz)
            except (ValueError, TypeError):
                err("date", f"cannot read date {data['date']!r}: use YYYY-MM-DD HH:MM, optionally with an offset")
        updated = None
        if data.get("updated") not in (None, ""):
            try:
                updated = parse_date(data["updated"], site.tz)
            except (ValueError, TypeError):
                err("updated", f"cannot read updated date {data['updated']!r}")
        author = _text(data.get("author")) or site.author
        categories = _string_list(data.get("categories"))
        if categories is None:
            err("categories", "categories must be a list of names")
            categories = ()
        if len(categories) > MAX_CATEGORIES:
            err("categories", f"{len(categories):,} categories: a post may have at most {MAX_CATEGORIES}")
            categories = ()
        for name in categories:
            if not category_slug(name):
                err("categories", f"category {name!r} has no letters or digits to name its feed")
            if frontmatter.LINE_BREAKS.search(name):
                err("categories", "a category must be one line")
        tags = _string_list(data.get("tags"))
        if tags is None:
            err("tags", "tags must be a list of names")
            tags = ()
        elif len(tags) > MAX_TAGS:
            err("tags", f"{len(tags):,} tags: a post may have at most {MAX_TAGS}")
            tags = ()
        for name in tags:
            if not category_slug(name) or frontmatter.LINE_BREAKS.search(name):
                err("tags", f"tag {name!r} must be one line with letters or digits to name its page")
        draft = postkeys.read_draft(data, err, warn)
        lang = postkeys.read_lang(data, err)
        aliases = postkeys.read_aliases(data, self.base_path, err, warn)
        slug = _text(data.get("slug"))
        if slug is None and "slug" in data:  # null, a list or a mapping
            err("slug", "slug must be a name such as my-first-post")
        elif slug is not None and not _SLUG_OK.match(slug):
            err("slug", f"slug {slug!r} may only hold letters, digits, '-', '_' and '.'")
            slug = None
        if slug is None and "slug" not in data:
            slug = make_slug(title or "")
            if title and not slug:
                err("title", "cannot derive a slug from this title: set 'slug:'")
        references = self._references(path, data.get("references"), lines)
        cta = self._cta(data.get("cta"), err)
        summary_given = None
        for key in postkeys.SUMMARY_KEYS:
            if text := _text(data.get(key)):
                summary_given = text
                break
        # The body is checked even when the fields are not, so that every
        # problem of the file is reported in one run.
        fields_ok = not new_errors() and when is not None and bool(slug) and bool(title)
        url = post_address(site, slug or "post", when or datetime(2000, 1, 1, tzinfo=UTC))
        images: list[Image] = []
        raw_refs = data.get("references")
        try:
            resolver = self._resolver(path, url, doc, images)
            rendered = render_markdown(doc.body, resolver, citations=raw_refs not in (None, [], ""))
        except BodyTooComplex as exc:
            problems.error(path, doc.body_line, str(exc))
            return None
        shown = postkeys.template_code(rendered.html, doc.body)
        if shown is not None:
            problems.warn(
                path,
                doc.body_line + shown,
                "a Hugo shortcode or Liquid tag ({{< >}}, {{% %}}, {% %}) is shown as text: "
                "'newsletter import' converts the common ones",
            )
        # Count the references as written, valid or not: a bad reference is
        # reported once, not again through every marker that cites it.
        declared = len(raw_refs) if isinstance(raw_refs, list) else int(raw_refs is not None)
        cited = max(declared, len(references))
        for number in sorted({n for n in rendered.citations if not 0 < n <= cited}) if rendered.citations else ():
            problems.error(
                path,
                doc.body_line + marker_line(doc.body, number),
                f"citation [{number}] has no reference (the post has {len(references)})",
            )
        if not fields_ok or new_errors() or when is None or not slug or not title:
            return None
        stable = _text(data.get("slug")) or _stem(os.fspath(path))
        written = when.isoformat()  # begins with the day, as when.date().isoformat() writes it
        post_id = f"tag:{site.domain},{written[:10]}:{stable}"
        summary = summary_given or summary_of(rendered.html)
        return Post(
            path=os.fspath(path),
            display_path=problems.display(path),
            title=title,
            date=when,
            updated=updated,
            author=author,
            categories=categories,
            tags=tags,
            summary=summary,
            slug=slug,
            draft=draft,
            references=references,
            cta=cta,
            body_html=rendered.html,
            url=url,
            id=post_id,
            images=tuple(images),
            lang=lang,
            aliases=aliases,
            lines=lines,
            body_line=doc.body_line,
            digest=self.digest,
            card=digest(f"{url}\0{title}\0{written}\0{author}\0{categories}\0{summary}\0{lang}"),
        )

    def _references(self, path: Path | str, value: Any, lines: dict[str, int]) -> tuple[Reference, ...]:
        if value is None:
            return ()
        if isinstance(value, (str, dict)):
            value = [value]
        if not isinstance(value, list):
            self.problems.error(path, lines.get("references", 2), "references must be a list")
            return ()
        if len(value) > MAX_REFERENCES:
            self.problems.error(path, lines.get("references", 2), f"more than {MAX_REFERENCES} references")
            return ()
        result = []
        first_line = lines.get("references", 2)
        for index, item in enumerate(value):
            line = lines.get(f"references.{index}", first_line)
            if type(item) is str:  # the usual: the work as text
                text, doi, url = item.strip(), "", ""
            elif isinstance(item, dict):
                text = _text(item.get("text"))
                doi = (_text(item.get("doi")) or "").removeprefix("https://doi.org/").removeprefix("doi:")
                url = _text(item.get("url")) or ""
                unknown = () if item.keys() <= _REFERENCE_KEYS else set(map(str, item)) - _REFERENCE_KEYS
                if unknown:
                    self.problems.warn(path, line, f"unknown reference key(s) {', '.join(map(repr, sorted(unknown)))}")
            else:
                text, doi, url = _text(item), "", ""
            if not text:
                self.problems.error(path, line, f"reference {index + 1} has no text")
                continue
            if doi and not _DOI.match(doi):
                self.problems.error(path, line, f"reference {index + 1}: {doi!r} is not a DOI (10.xxxx/...)")
                continue
            if url and _scheme(url) not in ("http", "https"):
                self.problems.error(path, line, f"reference {index + 1}: url must be an absolute http(s) URL")
                continue
            result.append(Reference(single_spaced(text), doi, url, line))
        return tuple(result)

    def _cta(self, value: Any, err: Any) -> CallToAction | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            err("cta", "cta must be a mapping with text, label and url")
            return None
        default = self.settings.cta
        text, label, url = (_text(value.get(k)) or "" for k in ("text", "label", "url"))
        url = url or default.url
        if not url:
            err("cta", "cta needs a url (or set url under [cta] in newsletter.toml)")
            return None
        if _scheme(url) not in ("http", "https", "mailto"):
            err("cta", "cta url must be absolute (https://... or mailto:)")
            return None
        return CallToAction(text=text, label=label or default.label or "Learn more", url=url)

    def _resolver(self, path: Path | str, post_url: str, doc: frontmatter.Document, images: list[Image]):  # type: ignore[no-untyped-def]
        """Make the href/src callback that absolutizes URLs and finds images."""
        settings, problems = self.settings, self.problems
        root = self.real_root

        def line_of(value: str) -> int:
            for offset, text in enumerate(doc.body.split("\n")):
                if value in text:
                    return doc.body_line + offset
            return doc.body_line

        def resolve(tag: str, attribute: str, value: str) -> str | None:
            if attribute in ("width", "height"):
                return size(attribute, value)
            value = value.strip()
            try:
                return resolve_address(tag, value)
            except (ValueError, OSError, RuntimeError):  # bad IPv6 host, NUL, name too long, link loop
                what = "image" if tag == "img" else "link"
                problems.error(path, line_of(value), f"{value!r} is not a usable {what} address")
                return None

        def size(attribute: str, value: str) -> str | None:
            """An image's width or height: pixels (or a percentage), as HTML allows."""
            m = _IMAGE_SIZE.match(value)
            if m is None:
                problems.error(path, line_of(value), f"image {attribute} {value[:40]!r} is not a number of pixels")
                return None
            return m.group(1)

        def resolve_address(tag: str, value: str) -> str | None:
            if value.startswith("#"):  # first: every citation marker is one
                return post_url + value
            if value.startswith(("https://", "http://")) and "\\" not in value:
                return value  # already absolute (the common case, without parsing)
            if is_external(value) or value.startswith("//"):
                scheme = urlsplit(value).scheme
                if scheme and scheme not in ("http", "https", "mailto"):
                    return None
                return absolute(value, post_url)
            if value.startswith("#"):
                return post_url + value
            if value.startswith("/"):
                return urljoin(settings.site.base_url, value.lstrip("/"))
            file_part = unquote(urlsplit(value).path)
            target = (Path(path).parent / file_part).resolve()
            try:
                inside = target.relative_to(root)
            except ValueError:
                problems.error(path, line_of(value), f"{value!r} points outside the project")
                return None
            exists = target.is_file()
            self.deps.append((str(target), exists))
            if exists:
                base = settings.posts_dir.resolve()
                refused = media.refusal(target, root, base, tag)
                if refused is None and target.suffix.lower() in media.SVG:
                    refused = media.svg_problem(target)
                if refused is not None:
                    problems.error(path, line_of(value), f"{value!r} is not published: {refused}")
                    return None
                relative = target.relative_to(base) if target.is_relative_to(base) else inside
                published = "media/" + relative.as_posix()
                images.append(Image(source=target, target=published, line=line_of(value)))
                return settings.site.base_url + quote(published)
            if tag == "img":
                problems.error(path, line_of(value), f"image not found: {value!r}")
                return None
            return urljoin(post_url, value)

        return resolve


def _outside(path: Path, real_root: Path, problems: Problems) -> bool:
    """True (and an error) when ``path`` resolves to a place outside the project."""
    try:
        if path.resolve().is_relative_to(real_root):
            return False
        kind = "folder" if path.is_dir() else "file"
        problems.error(path, 1, f"symbolic link to a {kind} outside the project")
    except (OSError, RuntimeError):  # RuntimeError: a link loop on Python < 3.13
        problems.error(path, 1, "symbolic link loop")
    return True


def _media_clashes(posts: list[Post], problems: Problems) -> None:
    """Two different files published at one path under public/media/ (posts/images/x.png, images/x.png)."""
    claimed: dict[str, tuple[Path, Post]] = {}
    for post in posts:
        for image in post.images:
            first = claimed.setdefault(image.target, (image.source, post))
            if first[0] != image.source:
                problems.error(
                    post.path,
                    image.line,
                    f"{problems.display(image.source)} would be published as public/{image.target}, "
                    f"like {problems.display(first[0])} (used by {first[1].display_path}): rename one of them",
                )


def load_post(settings: Settings, path: Path, problems: Problems) -> Post | None:
    """Load one post file as a project would, recording its problems (None when it has errors)."""
    return _PostLoader(settings, problems).load(path)


def _post_files(folder: Path, real_root: Path, problems: Problems) -> list[str]:
    """Every ``*.md`` and ``*.markdown`` file under ``folder``, refusing links that leave the project.

    Linked folders are never followed (a link to a parent would loop); one
    that leads outside the project is an error, like a linked file that does.
    """
    if not folder.is_dir() or _outside(folder, real_root, problems):
        return []
    found: list[str] = []
    pending = [str(folder)]
    while pending:  # os.scandir: file types come with the listing, no stat per file
        with os.scandir(pending.pop()) as listing:
            for entry in listing:
                if entry.is_symlink():
                    if entry.name.endswith(POST_SUFFIXES) or entry.is_dir():
                        link = Path(entry.path)
                        if not _outside(link, real_root, problems) and entry.is_file():
                            found.append(entry.path)
                elif entry.is_dir():
                    pending.append(entry.path)
                elif entry.name.endswith(POST_SUFFIXES) and entry.is_file():
                    found.append(entry.path)
    return sorted(found)


def load_entries(settings: Settings, paths: list[str]) -> list[PostEntry]:
    """Load post files from scratch: one cache entry each, with its problems."""
    problems = Problems(root=settings.root)
    loader = _PostLoader(settings, problems)
    entries = []
    for path in paths:
        before = len(problems.items)
        loader.deps, loader.digest, loader.stat = [], "", (0, -1)
        post = loader.load(path)  # a string: a Path costs 4 us a post
        entries.append(PostEntry(loader.stat, loader.digest, post, problems.items[before:], tuple(loader.deps)))
    return entries


def _load_shards(
    shared: tuple[Settings, str, list[list[str]], list[Path | None]], start: int, stop: int
) -> list[bytes | None]:
    """Load the files of some cache shards (in a worker process): each shard as a posts file.

    A shard with a place to go (its file in the build cache, when this run
    loads every post it holds) is written there at once and None returned:
    the main process reads the file instead of receiving its bytes.
    """
    from newsletter.cache import posts_bytes, write_cache_file

    settings, key, groups, files = shared
    problems = Problems(root=settings.root)
    payloads: list[bytes | None] = []
    for paths, file in zip(groups[start:stop], files[start:stop], strict=True):
        entries = load_entries(settings, paths)
        names = problems.display_all(paths)  # the project's prefix worked out once a shard, not once a post
        payload = posts_bytes(key, {names[p]: e for p, e in zip(paths, entries, strict=True)})
        if file is not None:
            write_cache_file(file, payload)
            payloads.append(None)
        else:
            payloads.append(payload)
    return payloads


def _load_many(
    settings: Settings,
    key: str,
    paths: list[str],
    jobs: int | None,
    progress: Progress | None = None,
    whole: dict[int, Path] | None = None,
) -> tuple[dict[str, PostEntry], dict[int, tuple[bytes | None, int]]]:
    """Load posts, in several processes when there are many (see newsletter.parallel).

    Returns the entries by path and, when loaded in parallel, each cache
    shard's file as the workers pickled it, with its number of posts, by
    shard number: the main process unpickles it to get the entries and can
    save it as it is, instead of pickling the entries again. The shards in
    ``whole`` (number -> its file in the build cache) are written there by
    the workers (None stands for their bytes), and read from there.
    """
    from newsletter import parallel
    from newsletter.cache import read_payload, shard_of

    jobs = parallel.workers(len(paths)) if jobs is None else jobs
    if jobs < 2 or len(paths) < 2:
        entries = dict(zip(paths, load_entries(settings, paths), strict=True))
        if progress is not None:
            progress("load", len(paths), len(paths))
        return entries, {}
    from newsletter.markdown import import_parsers

    import_parsers()  # once here, not in every worker
    problems = Problems(root=settings.root)
    names = problems.display_all(paths)
    shards: dict[int, list[str]] = {}
    for path in paths:
        shards.setdefault(shard_of(names[path]), []).append(path)
    order = sorted(shards)
    groups = [shards[index] for index in order]
    files = [(whole or {}).get(index) for index in order]
    loaded: dict[str, PostEntry] = {}
    payloads: dict[int, tuple[bytes | None, int]] = {}
    work = parallel.map_slices(_load_shards, (settings, key, groups, files), len(groups), jobs, min_size=1)
    with contextlib.closing(work):  # leaving early (Ctrl-C) stops the workers at once
        for _count, chunk in work:
            for payload in chunk:
                index = order[len(payloads)]
                payloads[index] = (payload, len(shards[index]))
                by_name = read_payload(payload if payload is not None else files[len(payloads) - 1])
                for path in shards[index]:
                    loaded[path] = by_name[names[path]]
            if progress is not None:
                progress("load", len(loaded), len(paths))
    return loaded, payloads


def load_project(
    root: Path,
    problems: Problems | None = None,
    cache: BuildCache | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Project:
    """Load settings and every post under ``root``; raise InputError on errors.

    With a ``cache`` (see :mod:`newsletter.cache`), unchanged posts are taken
    from it and the cache is updated; it is only read and written by callers.
    ``progress(stage, done, total)`` hears how loading goes.
    """
    problems = problems or Problems(root=root)
    settings = load_settings(root, problems)
    check_project_templates(settings.templates_dir, problems)
    if problems.errors:
        problems.raise_if_errors()
    if cache is not None:
        # Posts cached under other settings are not reused. The outputs stay
        # listed (their fingerprints no longer match) so stale ones can go.
        cache.use_key(settings_key(root, settings.raw_text))
    files = _post_files(settings.posts_dir, root.resolve(), problems)
    names = problems.display_all(files)
    entries: dict[str, PostEntry] = {}
    todo: list[str] = []
    seen = cache.seen if cache is not None else {}
    for path in files:  # paths as strings: ten thousand Path objects cost 60 ms
        entry = cache.posts.get(names[path]) if cache is not None else None
        if entry is not None and (not entry.deps or entry.deps_unchanged()):
            try:
                stat = seen.get(names[path])  # listed a moment ago (see newsletter.stamp), else now
                if stat is None:
                    st = os.stat(path)
                    stat = (st.st_mtime_ns, st.st_size)
                if stat == entry.stat or digest(Path(path).read_bytes()) == entry.digest:
                    entries[path] = entry
                    if stat != entry.stat:
                        entry.stat = stat
                        cache.touch(names[path])  # type: ignore[union-attr]
                    continue
            except OSError:
                pass
        todo.append(path)
    whole = None
    if cache is not None:  # shards of which every post is loaded now: the loaders write their files
        from newsletter.cache import CACHE_DIR, POSTS_FILE, SHARDS, shard_of

        kept = {shard_of(names[path]) for path in entries}
        whole = {i: root / CACHE_DIR / POSTS_FILE.format(i) for i in range(SHARDS) if i not in kept}
    try:
        loaded, payloads = _load_many(settings, cache.key if cache is not None else "", todo, jobs, progress, whole)
    except BaseException:  # interrupted: what its stopped workers were writing into the cache goes
        if cache is not None:
            from newsletter.cache import CACHE_DIR, sweep_dead

            sweep_dead(root / CACHE_DIR)
        raise
    entries.update(loaded)
    if cache is not None:
        fresh = {names[path]: entry for path, entry in entries.items()}
        for name in {names[path] for path in todo} | (cache.posts.keys() - fresh.keys()):
            cache.touch(name)
        cache.posts = fresh
        cache.offer_payloads(payloads)
    posts: list[Post] = []
    for path in files:
        entry = entries[path]
        problems.items.extend(entry.problems)
        if entry.post is not None:
            posts.append(entry.post)
    _media_clashes(posts, problems)
    # A slug may come back in another year when the URL pattern holds the
    # year: what must be unique is the address.
    seen: dict[str, Post] = {}
    for post in posts:
        other = seen.get(post.url)
        if other is not None:
            problems.error(
                post.path,
                post.line_of("slug") if "slug" in post.lines else post.line_of("title"),
                f"duplicate slug {post.slug!r} (also used by {other.display_path}): both would be at {post.url}",
            )
        seen[post.url] = post
    # Two files with one stem on one date (posts/a/x.md, posts/b/x.md) would
    # share a feed id, and readers would merge them into one entry.
    ids: dict[str, Post] = {}
    for post in posts:
        other = ids.get(post.id)
        if other is not None and other.slug != post.slug:
            problems.error(
                post.path,
                post.line_of("date"),
                f"post id {post.id!r} is also used by {other.display_path}: set a distinct 'slug:'",
            )
        ids[post.id] = post
    check_addresses(posts, settings, problems)
    problems.raise_if_errors()
    posts.sort(key=lambda p: (p.date, p.slug), reverse=True)
    return Project(settings=settings, posts=posts, warnings=problems.warnings, now=clock.now())
