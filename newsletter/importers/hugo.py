"""Hugo sites: ``content/`` with YAML, TOML or JSON front matter, page bundles, translations, shortcodes.

A page bundle (``name/index.md``) is one post with its images; the other
Markdown files of a bundle are its resources, not posts. ``name.es.md`` and
``index.es.md`` are translations (``lang: es``; their slug gets ``-es`` so
both languages have a page). ``_index.md`` files are section pages and are
left out, as are pages outside the blog's sections. ``draft: true``, a
``_build``/``build`` that never renders and ``headless`` make drafts.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from newsletter.importers import templates
from newsletter.importers.images import OldSite
from newsletter.importers.markdown import finish
from newsletter.importers.model import ImportedPost, ImportProblem
from newsletter.importers.sources import MARKDOWN_SUFFIXES, Context, common_post, dated_name, read_text, split

CONFIG_NAMES = (
    "hugo.toml",
    "hugo.yaml",
    "hugo.yml",
    "hugo.json",
    "config.toml",
    "config.yaml",
    "config.yml",
    "config.json",
)
BLOG_SECTIONS = ("post", "posts", "blog", "articles", "article", "news", "notes", "writing")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")


def is_site(folder: Path) -> bool:
    """True for a Hugo site's root folder."""
    return (folder / "content").is_dir() and (
        any((folder / name).is_file() for name in CONFIG_NAMES)
        or (folder / "config" / "_default").is_dir()
        or (folder / "archetypes").is_dir()
    )


def config(root: Path) -> dict[str, Any]:
    """The site's configuration file, or its ``config/_default/`` folder's (empty when absent or unreadable)."""
    for path in [root / name for name in CONFIG_NAMES] + [root / "config" / "_default" / name for name in CONFIG_NAMES]:
        name = path.name
        try:
            text = path.read_text(encoding="utf-8")
            data = (
                tomllib.loads(text)
                if name.endswith(".toml")
                else (json.loads(text) if name.endswith(".json") else yaml.safe_load(text))
            )
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
            continue
        return data if isinstance(data, dict) else {}
    return {}


def _lang_of(path: Path) -> tuple[str, str]:
    """(name without language, language) of ``about.fr.md``; ("about", "") of ``about.md``."""
    stem = path.stem
    name, dot, lang = stem.rpartition(".")
    return (name, lang) if dot and _LANG.match(lang) else (stem, "")


def read_site(root: Path, start: Path, ctx: Context) -> list[ImportedPost]:
    """Every post under ``start`` (the site root, ``content/`` or a folder or file in it)."""
    settings = config(root)
    content = root / str(settings.get("contentDir") or "content")
    default_lang = str(settings.get("defaultContentLanguage") or "en").lower()
    base_url = str(settings.get("baseURL") or settings.get("baseurl") or "")
    whole_site = start in (root, content)
    sections = [s for s in BLOG_SECTIONS if (content / s).is_dir()] if whole_site else []
    files = [start] if start.is_file() else sorted(p for p in start.rglob("*") if p.is_file())
    bundles = {p.parent for p in files if _lang_of(p)[0] == "index" and p.suffix.lower() in MARKDOWN_SUFFIXES}
    posts: list[ImportedPost] = []
    links: dict[str, str] = {}
    for path in files:
        if path.suffix.lower() not in MARKDOWN_SUFFIXES or any(p.startswith(".") for p in path.parts[-4:]):
            continue
        name, lang = _lang_of(path)
        if name == "_index":
            ctx.report.leave_out("section pages")
            continue
        if name != "index" and any(folder in bundles for folder in path.parents):
            continue  # a resource of a page bundle
        inside = path.relative_to(content).parts if path.is_relative_to(content) else path.parts[-2:]
        if whole_site and (len(inside) < 2 or (sections and inside[0] not in sections)):
            ctx.report.leave_out("pages")
            continue
        ctx.report.found += 1
        try:
            post = _read(path, content, ctx, lang if lang != default_lang else "")
        except ImportProblem as exc:
            ctx.report.fail(path, exc.line, exc.message)
            continue
        key = (path.parent if name == "index" else path.with_name(name)).as_posix()
        links.setdefault(key, post.aliases[0])
        posts.append(post)

    def link(target: str) -> str | None:
        target = target.strip().removesuffix(".md").removesuffix("/index").removesuffix("/_index").strip("/")
        for key, alias in links.items():
            if key.endswith("/" + target) or key == target:
                return alias
        if base_url and target:  # a page that is not imported: its address on the old site
            path, _, anchor = target.partition("#")
            path = path.removesuffix("/index").removesuffix("/_index").strip("/")
            return base_url.rstrip("/") + "/" + (path + "/" if path else "") + (f"#{anchor}" if anchor else "")
        return None

    old = OldSite(roots=[root / str(settings.get("staticDir") or "static"), root / "assets"], base_url=base_url)
    site = templates.Site(link=link)
    return [finish(post, ctx, site, old, liquid=False) for post in posts]


def _read(path: Path, content: Path, ctx: Context, lang: str) -> ImportedPost:
    doc = split(read_text(path))
    if doc.format == "none":
        raise ImportProblem(1, "no front matter: a Hugo page starts with '---', '+++' or a JSON object")
    name, _ = _lang_of(path)
    own = path.parent.name if name == "index" else name
    post = common_post(path, doc, "hugo", ctx, own)
    data = doc.data
    build = data.get("_build") or data.get("build") or {}
    if isinstance(build, dict) and (build.get("render") in (False, "never", "false") or build.get("list") == "never"):
        post.draft_reason = post.draft_reason or "hidden"
    if data.get("headless") is True:
        post.draft_reason = post.draft_reason or "hidden"
    expiry = data.get("expiryDate")
    if expiry:
        from newsletter.clock import now
        from newsletter.importers.sources import parse_when

        when = parse_when(expiry)
        if when is not None and (when if when.tzinfo else when.replace(tzinfo=now().tzinfo)) < now():
            post.draft_reason = post.draft_reason or "hidden"
    post.slug = str(data.get("slug") or dated_name(Path(own))[1])
    post.lang = lang
    if lang:
        post.slug = f"{post.slug}-{lang}"
    section = (
        path.relative_to(content).parts[0]
        if path.is_relative_to(content) and len(path.relative_to(content).parts) > 1
        else ""
    )
    url = data.get("url")
    if isinstance(url, str) and url.strip():
        old = "/" + url.strip().lstrip("/")
    else:
        old = "/" + "/".join(p for p in (lang, section, str(data.get("slug") or own)) if p) + "/"
    post.aliases = [old, *(a for a in post.aliases if a != old)]
    return post
