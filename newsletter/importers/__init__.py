"""``newsletter import``: existing posts from other tools -> post files.

One module per source reads its files into the shared
:class:`~.model.ImportedPost` shape: :mod:`.plaintext` (the seed's shape),
:mod:`.wordpress` (WXR exports), :mod:`.jekyll`, :mod:`.hugo`,
:mod:`.pelican` and :mod:`.markdown` (front matter, no known site).
:mod:`.writer` alone writes post files. A SOURCE is a file or a folder;
its kind is recognised from the file or the site around it.

Plain-text files are imported all or nothing (as before); in the other
sources, a post that cannot be imported is reported with its
``path:line: reason`` and the others are imported.
"""

from __future__ import annotations

from pathlib import Path

from newsletter.importers.model import ImportedPost, ImportProblem, ImportReport, NotAPost
from newsletter.importers.sources import MARKDOWN_SUFFIXES, Context

__all__ = ["ImportReport", "run_import"]


def find_site(path: Path) -> tuple[str, Path | None]:
    """The kind of site (``jekyll``, ``hugo``, ``pelican``) that holds ``path``, and its root."""
    from newsletter.importers import hugo, jekyll, pelican

    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        for kind, module in (("hugo", hugo), ("pelican", pelican), ("jekyll", jekyll)):
            if module.is_site(folder):  # type: ignore[attr-defined]
                return kind, folder
        if (folder / ".git").exists():
            break
    if path.parent.name == "_posts" or path.name == "_posts":
        return "jekyll", (path.parent.parent if path.is_file() else path.parent)
    return "", None


def _read_file(path: Path, ctx: Context, strict: list[ImportedPost]) -> list[ImportedPost]:
    from newsletter.importers import markdown, pelican, plaintext, wordpress
    from newsletter.importers.sources import read_text

    suffix = path.suffix.lower()
    if suffix == ".xml":
        return wordpress.read(path, ctx)
    if suffix in MARKDOWN_SUFFIXES:
        try:
            if pelican.looks_like_header(read_text(path)):
                post = pelican.read_file(path, ctx)
                site, old = markdown.templates.Site(), markdown.OldSite(roots=[path.parent])
                post = markdown.finish(post, ctx, site, old, hugo=False, outputs=False)
            else:
                post = markdown.read_file(path, ctx)
        except NotAPost:
            raise
        except ImportProblem:
            ctx.report.found += 1
            raise
        ctx.report.found += 1
        return [post]
    ctx.report.found += 1
    if not ctx.date:
        from newsletter.errors import UsageError

        raise UsageError(f"{path.as_posix()}: a plain-text post needs its date: give --date")
    post = plaintext.read(path, ctx.settings, ctx.date)
    strict.append(post)
    return [post]


def collect(source: Path, ctx: Context, strict: list[ImportedPost]) -> list[ImportedPost]:
    """Every post of one SOURCE (a file or a folder)."""
    from newsletter.importers import hugo, jekyll, pelican

    kind, root = find_site(source)
    readers = {"jekyll": jekyll.read_site, "hugo": hugo.read_site, "pelican": pelican.read_site}
    if kind and root is not None and (source.is_dir() or source.suffix.lower() in MARKDOWN_SUFFIXES):
        return readers[kind](root, source, ctx)
    if source.is_file():
        try:
            return _read_file(source, ctx, strict)
        except ImportProblem as exc:
            ctx.report.fail(source, exc.line, exc.message)
            return []
    posts: list[ImportedPost] = []
    files = (p for p in source.rglob("*") if not any(x.startswith(".") for x in p.relative_to(source).parts))
    for path in sorted(p for p in files if p.is_file()):
        suffix = path.suffix.lower()
        if suffix in MARKDOWN_SUFFIXES or suffix == ".xml" or (suffix == ".txt" and ctx.date):
            try:
                posts.extend(_read_file(path, ctx, strict))
            except NotAPost as exc:  # a README, a sitemap: not a post, and not a problem in a folder
                ctx.report.leave_out(exc.kind)
            except ImportProblem as exc:
                ctx.report.fail(path, exc.line, exc.message)
    return posts


def run_import(root: Path, sources: list[Path], date: str | None = None) -> ImportReport:
    """Import ``sources`` into ``root/posts`` and say what was done.

    Nothing is written on a usage error (a bad --date, a missing source)
    or when a plain-text file cannot be imported; an existing file is never
    overwritten.
    """
    from newsletter.config import load_settings
    from newsletter.errors import InputError, Problems, SourceError, UsageError
    from newsletter.importers import writer
    from newsletter.load import parse_date

    problems = Problems(root=root)
    settings = load_settings(root, problems)
    problems.raise_if_errors()
    date_text = ""
    if date is not None:
        try:
            when = parse_date(date, settings.site.tz)
        except (ValueError, TypeError):
            raise UsageError(f"--date: cannot read {date!r}; use YYYY-MM-DD or 'YYYY-MM-DD HH:MM'") from None
        date_text = date.strip() if len(date.strip()) > 10 else when.strftime("%Y-%m-%d 09:00")
    missing = [SourceError(s.as_posix(), 1, "no such file or folder") for s in sources if not s.exists()]
    if missing:
        raise InputError(missing)
    report = ImportReport()
    ctx = Context(settings=settings, report=report, date=date_text)
    strict: list[ImportedPost] = []
    posts: list[ImportedPost] = []
    for source in sources:
        posts.extend(collect(source, ctx, strict))
    planned = writer.plan(posts, settings, report)
    plain = any(s.is_file() and s.suffix.lower() not in {*MARKDOWN_SUFFIXES, ".xml"} for s in sources)
    if report.not_imported and (plain or strict):  # plain text: all or nothing, as it always was
        raise InputError(report.not_imported, [w for _, w in report.warnings])
    report.written = writer.write(planned, settings)
    return report
