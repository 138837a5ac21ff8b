"""The templates' sandbox, and their errors as ``templates/file.html:line: message``.

Project templates are rendered in Jinja's :class:`ImmutableSandboxedEnvironment`:
no underscore attributes, no unsafe callables, no changing the lists and
dicts they are given, no file methods of the paths in models, so
``{{ cycler.__init__.__globals__.os }}`` stops with an error instead of
running code. Whatever a template does wrong
(bad syntax, a template it names that does not exist, an undefined name, a
forbidden attribute, a filter that fails) becomes an :class:`InputError`
pointing at the template file and line, as bad posts do.
"""

from __future__ import annotations

import dataclasses
import traceback
from functools import lru_cache
from pathlib import Path, PurePath
from typing import Any

from jinja2 import TemplateError, TemplateNotFound, TemplatesNotFound, TemplateSyntaxError, nodes
from jinja2.environment import Template
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from newsletter.errors import InputError, NewsletterError, Problems, SourceError

TEMPLATE_SUFFIXES = {".html", ".htm", ".xml", ".txt", ".j2", ".jinja", ".jinja2"}
_PATH_ATTRIBUTES = {"name", "stem", "suffix", "suffixes", "parts", "as_posix"}


class ProjectTemplate(Template):
    """A template whose rendering errors name the project template file and line."""

    environment: ProjectEnvironment

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Render as Jinja does; a template's failure becomes ``path:line: message``."""
        try:
            return super().render(*args, **kwargs)
        except NewsletterError:
            raise
        except Exception as exc:
            problem = source_error(exc, self.environment.project_templates)
            if problem is None:
                raise
            raise InputError([problem]) from None


class ProjectEnvironment(ImmutableSandboxedEnvironment):
    """The sandboxed environment of one project's templates (see newsletter.templates)."""

    template_class = ProjectTemplate

    def __init__(self, project_templates: Path | None, **options: Any) -> None:
        super().__init__(**options)
        self.project_templates = project_templates

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """The sandbox's rule, and of a path (a post's image, an outbox folder) only its name.

        The sandbox lets a template call any method that is not marked
        unsafe: ``post.images[0].source.unlink()`` would delete the file.
        """
        if isinstance(obj, PurePath) and attr not in _PATH_ATTRIBUTES:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute``: the sandbox's checks, less their cost for the plain data we pass in.

        The attributes of the project's own dataclasses (posts, settings,
        views) that do not start with ``_`` are what templates are for; the
        sandbox's full check costs a fifth of a page's render.
        """
        if attribute[:1] != "_" and _plain_data(type(obj)):
            try:
                return getattr(obj, attribute)
            except AttributeError:
                pass
        return super().getattr(obj, attribute)

    def get_template(self, *args: Any, **kwargs: Any) -> Any:
        """Load a template; a syntax error in it is reported with its file and line."""
        try:
            return super().get_template(*args, **kwargs)
        except TemplateSyntaxError as exc:
            problem = source_error(exc, self.project_templates)
            if problem is None:
                raise
            raise InputError([problem]) from None


@lru_cache(maxsize=64)
def _plain_data(cls: type) -> bool:
    """True for a dataclass of this package (a model, settings, a view)."""
    return dataclasses.is_dataclass(cls) and cls.__module__.startswith("newsletter.")


def _display(path: str, project_templates: Path | None) -> str:
    """A template file as messages show it: relative to the project."""
    return Problems(root=project_templates.parent if project_templates else None).display(path)


def _in_project(filename: str | None, project_templates: Path | None) -> bool:
    if not filename or project_templates is None:
        return False
    try:
        return Path(filename).resolve().is_relative_to(project_templates.resolve())
    except (OSError, RuntimeError):
        return False


def _message(exc: BaseException) -> str:
    if isinstance(exc, TemplatesNotFound):
        return f"none of the templates {', '.join(map(repr, exc.templates))} exists"
    if isinstance(exc, TemplateNotFound):
        return f"template {exc.name!r} not found (in templates/ or among the built-in ones)"
    if isinstance(exc, TemplateSyntaxError):
        return f"template syntax error: {exc.message}"
    if isinstance(exc, SecurityError):
        return f"not allowed in a template: {exc}"
    if isinstance(exc, TemplateError):
        return str(exc.message or type(exc).__name__)
    return f"{type(exc).__name__}: {exc}"


def source_error(exc: BaseException, project_templates: Path | None) -> SourceError | None:
    """The project template file and line that ``exc`` comes from, or None when none of them is to blame.

    A syntax error carries its own place; for anything raised while
    rendering, Jinja rewrites the traceback so that its frames name the
    template files and lines: the innermost one in the project's folder is
    the place. Errors of the built-in templates alone are bugs of ours, and
    stay what they are.
    """
    if isinstance(exc, TemplateSyntaxError) and _in_project(exc.filename, project_templates):
        return SourceError(_display(exc.filename or "", project_templates), exc.lineno or 1, _message(exc))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _in_project(f.filename, project_templates)]
    if not frames:
        return None
    return SourceError(_display(frames[-1].filename, project_templates), frames[-1].lineno or 1, _message(exc))


def check_templates(env: ProjectEnvironment, files: tuple[Path, ...], problems: Problems) -> None:
    """Record what can be found wrong in the project's templates without rendering them.

    Syntax errors, files that are not UTF-8, and templates named by
    ``extends``, ``include`` or ``import`` that do not exist.
    """
    for problem in _template_problems(env, files):
        problems.items.append(problem)


@lru_cache(maxsize=8)
def _template_problems(env: ProjectEnvironment, files: tuple[Path, ...]) -> tuple[SourceError, ...]:
    """The problems of the template ``files`` (cached: ``env`` changes whenever a template file does)."""
    folder = env.project_templates
    if folder is None:
        return ()
    found: list[SourceError] = []
    for path in files:
        if path.suffix.lower() not in TEMPLATE_SUFFIXES:
            continue  # an image or a note beside the templates: rendered only if a template names it
        shown = _display(str(path), folder)
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            found.append(SourceError(shown, 1, f"not UTF-8 text ({exc.reason})"))
            continue
        except OSError as exc:
            found.append(SourceError(shown, 1, f"cannot read the template: {exc.strerror or exc}"))
            continue
        try:
            tree = env.parse(source, path.relative_to(folder).as_posix(), str(path))
        except TemplateSyntaxError as exc:
            found.append(SourceError(shown, exc.lineno or 1, _message(exc)))
            continue
        for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
            name = node.template.value if isinstance(node.template, nodes.Const) else None
            if not isinstance(name, str) or getattr(node, "ignore_missing", False):
                continue  # a name computed while rendering is checked then
            try:  # the source only: compiling here would write the bytecode cache before the input is known good
                env.loader.get_source(env, name)  # type: ignore[union-attr]
            except TemplateNotFound as exc:
                found.append(SourceError(shown, node.lineno, _message(exc)))
            except InputError:
                pass  # a syntax error in the named template: reported with its own file
    return tuple(found)
