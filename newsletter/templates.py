"""Jinja2 environment: the project's templates/ first, package defaults second.

A project template may extend a default one with the ``default/`` prefix:
``{% extends "default/digest.html" %}``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

    from newsletter.errors import InputError

PACKAGE_TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment(project_templates: Path | None) -> Environment:
    """The template environment for a project.

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
    return _environment(project_templates, tuple(present))


@lru_cache(maxsize=8)
def _environment(project_templates: Path | None, present: tuple[tuple[str, int, int], ...]) -> Environment:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined, select_autoescape

    default = FileSystemLoader(str(PACKAGE_TEMPLATES))
    loaders = []
    if project_templates is not None:  # even when missing: it may be created while previewing
        loaders.append(FileSystemLoader(str(project_templates)))
    loaders += [PrefixLoader({"default": default}), default]
    env = Environment(
        loader=ChoiceLoader(loaders),
        bytecode_cache=_bytecode_cache(project_templates),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
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

    return BestEffort(str(project_templates.parent / CACHE_DIR / "templates"))


def template_files(project_templates: Path | None) -> list[Path]:
    """Every template file that can affect output (for cache keys and watching)."""
    files = sorted(p for p in PACKAGE_TEMPLATES.rglob("*") if p.is_file())
    if project_templates is not None and project_templates.is_dir():
        files += sorted(p for p in project_templates.rglob("*") if p.is_file())
    return files


def template_problem(exc: BaseException, root: Path) -> InputError | None:
    """A Jinja error in a template as ``path:line: message`` bad input; None for any other exception.

    A project's own template with a syntax error, or one that uses a name
    the page does not have, is bad input like a broken post, not a bug.
    """
    import sys
    import traceback

    jinja = sys.modules.get("jinja2")  # not imported: not a template error
    if jinja is None or not isinstance(exc, jinja.TemplateError):
        return None
    from newsletter.errors import InputError, Problems

    filename = getattr(exc, "filename", None)
    line = getattr(exc, "lineno", None) or 1
    if not filename:  # an error while rendering: Jinja puts the template's frames into the traceback
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith((".html", ".xml", ".txt"))]
        if frames:
            filename, line = frames[-1].filename, frames[-1].lineno or 1
    problems = Problems(root=root)
    problems.error(filename or "templates", line, f"template error: {exc.message or type(exc).__name__}")
    return InputError(problems.errors)
