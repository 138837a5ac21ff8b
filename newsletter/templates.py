"""Jinja2 environment: the project's templates/ first, package defaults second.

A project template may extend a default one with the ``default/`` prefix:
``{% extends "default/digest.html" %}``. Templates are translated with
Jinja2's i18n extension (``{% trans %}``, ``_()``) from the catalogs of
:mod:`newsletter.i18n`; the filters ``date`` (``longdate``), ``period`` and
``number`` write in the same language.

Templates run in Jinja's sandbox: a project's templates/ folder may come
from anyone who can send a pull request, and ``{{ cycler.__init__.__globals__ }}``
must not reach Python. Their errors (syntax, a template not found, an
undefined name, anything a template raises) are reported as
``templates/file.html:line: message``; ``check`` finds the first two kinds
without rendering (:func:`check_templates`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

    from newsletter.errors import Problems
    from newsletter.i18n import Language

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment(project_templates: Path | None, language: Language | None = None) -> Environment:
    """The template environment for a project, speaking ``language`` (default: English).

    Cached per folder and state of its template files (names, sizes and
    modification times, the package's own included): a new environment
    when any is added, removed or edited. Jinja itself does not look at the
    files again (it would, for every page, to resolve ``extends``).
    """
    present = []
    for path in template_files(project_templates):
        try:
            st = path.stat()
            present.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            pass
    if language is None:
        from newsletter.i18n import language as make_language

        language = make_language("en")
    return _environment(project_templates, tuple(present), language)


@lru_cache(maxsize=8)
def _environment(
    project_templates: Path | None, present: tuple[tuple[str, int, int], ...], language: Language
) -> Environment:
    from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape

    from newsletter.i18n import text_direction
    from newsletter.sandbox import ProjectEnvironment

    default = FileSystemLoader(str(PACKAGE_TEMPLATES))
    loaders = []
    if project_templates is not None:  # even when missing: it may be created while previewing
        loaders.append(FileSystemLoader(str(project_templates)))
    loaders += [PrefixLoader({"default": default}), default]
    env = ProjectEnvironment(
        project_templates,
        loader=ChoiceLoader(loaders),
        bytecode_cache=_bytecode_cache(project_templates),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    # Here, not where pages are rendered: check_project_templates compiles
    # templates (and their filters) before any page is.
    language.install(env)
    env.filters.update(date=language.date, longdate=language.date, period=language.period, number=language.number)
    env.globals.update(lang=language.tag, dir=language.dir, direction=text_direction)
    return env


def _bytecode_cache(project_templates: Path | None) -> Any:
    """Compiled templates kept in the project's build cache (beside its templates/ folder).

    Compiling the templates costs about 60 ms of every build; Jinja checks
    each cached one against its source. Best effort, like the whole cache:
    a project that cannot be written to still builds.
    """
    if project_templates is None:
        return None
    from jinja2 import FileSystemBytecodeCache

    from newsletter.cache import CACHE_DIR

    class BestEffort(FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: Any) -> None:
            try:
                os.makedirs(self.directory, exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:
                pass

    # Not the folder of unsandboxed builds: their bytecode calls without the sandbox's checks.
    return BestEffort(str(project_templates.parent / CACHE_DIR / "templates-sandboxed"))


def template_files(project_templates: Path | None) -> list[Path]:
    """Every template file and message catalog that can affect output (for cache keys and watching)."""
    from newsletter.i18n import catalog_files

    files = sorted(p for p in PACKAGE_TEMPLATES.rglob("*") if p.is_file()) + catalog_files()
    if project_templates is not None and project_templates.is_dir():
        files += sorted(p for p in project_templates.rglob("*") if p.is_file())
    return files


def check_project_templates(project_templates: Path, problems: Problems) -> None:
    """Record the problems of the project's own templates (syntax, missing templates) in ``problems``.

    Nothing to do, and no Jinja import, for a project without templates.
    """
    if not project_templates.is_dir():
        return
    files = tuple(sorted(p for p in project_templates.rglob("*") if p.is_file() and not p.name.startswith(".")))
    if not files:
        return
    from newsletter.sandbox import ProjectEnvironment, check_templates

    env = environment(project_templates)
    assert isinstance(env, ProjectEnvironment)
    check_templates(env, files, problems)
