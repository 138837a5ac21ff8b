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
    from collections.abc import Callable

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
    from jinja2 import ChoiceLoader, FileSystemLoader

    from newsletter.sandbox import ProjectEnvironment

    loaders = []
    if project_templates is not None:  # even when missing: it may be created while previewing
        loaders.append(FileSystemLoader(str(project_templates)))
    env = ProjectEnvironment(
        project_templates,
        loader=ChoiceLoader([*loaders, *_package_loaders()]),
        bytecode_cache=_bytecode_cache(project_templates),
        **_options(),
    )
    # Here, not where pages are rendered: check_project_templates compiles
    # templates (and their filters) before any page is.
    _speak(env, language)
    return env


def _options() -> dict[str, Any]:
    """The options of every environment, sandboxed or not: the same templates give the same bytes."""
    from jinja2 import StrictUndefined, select_autoescape

    return {
        "autoescape": select_autoescape(["html", "xml"], default_for_string=True, default=False),
        "undefined": StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
        "auto_reload": False,
        "extensions": ["jinja2.ext.i18n"],
    }


def _package_loaders() -> list[Any]:
    """The built-in templates, by their own names and as ``default/...``."""
    from jinja2 import FileSystemLoader, PrefixLoader

    default = FileSystemLoader(str(PACKAGE_TEMPLATES))
    return [PrefixLoader({"default": default}), default]


def _speak(env: Any, language: Language) -> None:
    """Give ``env`` the messages, filters and globals of our templates, in ``language``."""
    from newsletter.i18n import text_direction

    language.install(env)
    env.filters.update(date=language.date, longdate=language.date, period=language.period, number=language.number)
    env.globals.update(lang=language.tag, dir=language.dir, direction=text_direction)


@lru_cache(maxsize=8)
def package_environment(language: Language, project_templates: Path | None = None) -> Environment:
    """The built-in templates alone, outside the sandbox, speaking ``language``.

    ``project_templates`` only says where the project's build cache keeps
    the compiled templates (beside that folder, as for :func:`environment`);
    no template is loaded from it.

    Only for rendering with templates that are all ours: the package's
    files, which no project can replace here (there is no project loader).
    The sandbox guards against a project's templates; it costs a third of
    a page's time on code that was reviewed like the rest of the package.
    The values rendered (posts, settings) are data in both cases: Jinja
    escapes them and never runs them as template code. Whoever renders a
    page that a project's own template can take part in (an override, or
    one extending ``default/...``) uses :func:`environment` instead; see
    :func:`own_templates`.
    """
    from jinja2 import ChoiceLoader, Environment

    env = Environment(
        loader=ChoiceLoader(_package_loaders()),
        bytecode_cache=_bytecode_cache(project_templates, "templates-ours"),
        **_options(),
    )
    env.template_class = _our_template_class()
    # ``{{ post.title }}`` reads the attribute with Python's own getattr (C):
    # Jinja's method would try ``post["title"]`` next, then an Undefined.
    # Our templates read attributes of objects only, never a dict's key with
    # a dot: the same values; a name misspelt is an AttributeError instead of
    # StrictUndefined's error (tests render every page of ours both ways).
    env.getattr = getattr  # type: ignore[method-assign]
    _speak(env, language)
    _memoize_gettext(env, language)
    return env


def output_escaper() -> Callable[[Any], str]:
    """What ``{{ value }}`` writes in an autoescaped template of ours: the text of markupsafe's ``escape(value)``.

    The same text, as a plain string where ``value`` is one (most values
    written): Jinja's compiled templates only ever join what ``escape``
    returns into the page, or make a Markup of the joined text themselves
    (a ``{% set %}`` block, a macro), so each value need not be made a
    Markup first. Escaped by markupsafe's own C function where it has one.
    """
    import markupsafe

    escape, markup = markupsafe.escape, markupsafe.Markup
    escape_text = getattr(markupsafe, "_escape_inner", None)
    if escape_text is None:  # another version of markupsafe: its replacements, in its order

        def escape_text(text: str) -> str:
            return (
                text.replace("&", "&amp;")
                .replace(">", "&gt;")
                .replace("<", "&lt;")
                .replace("'", "&#39;")
                .replace('"', "&#34;")
            )

    def escape_output(value: Any) -> str:
        if type(value) is str:
            return escape_text(value)  # type: ignore[no-any-return]
        if type(value) is markup:  # escaped already: markupsafe would copy it (a listing: megabytes)
            return value  # type: ignore[no-any-return]
        if type(value) is int:  # a number: nothing to escape
            return str(value)
        return escape(value)

    return escape_output


@lru_cache(maxsize=1)
def _our_template_class() -> type:
    """The class of our templates in :func:`package_environment`: they write values with :func:`output_escaper`.

    Only there: a sandboxed environment keeps Jinja's own classes. Should
    Jinja make templates another way one day, they write with markupsafe's
    ``escape`` again: the same bytes, only slower.
    """
    from jinja2 import Template

    escape_output = output_escaper()

    class OurTemplate(Template):
        @classmethod
        def _from_namespace(cls, environment: Any, namespace: dict[str, Any], globals: Any) -> Any:  # noqa: A002
            if "escape" in namespace:  # what the compiled code imported from jinja2.runtime
                namespace["escape"] = escape_output
            return super()._from_namespace(environment, namespace, globals)

    return OurTemplate


def _memoize_gettext(env: Any, language: Language) -> None:
    """``_()`` and ``gettext()`` of our templates look each message up once, not on every page.

    The same result as the i18n extension's own (newstyle) callables: the
    message translated, made Markup when autoescaping, then ``% values``.
    Only for our own templates: the extension's ``_`` looks ``gettext`` up
    in the template's context, which a template could redefine.
    """
    from jinja2 import pass_eval_context
    from markupsafe import Markup

    found: dict[tuple[str, bool], str] = {}
    done: dict[tuple[str, bool], str] = {}  # without values: the finished text

    @pass_eval_context
    def gettext(eval_ctx: Any, message: str, **values: Any) -> str:
        key = (message, eval_ctx.autoescape)
        if not values and key in done:
            return done[key]
        text = found.get(key)
        if text is None:
            text = language.translations.gettext(message)
            text = found[key] = Markup(text) if eval_ctx.autoescape else text
        if values:
            return text % values
        result = done[key] = text % values
        return result

    env.globals.update(gettext=gettext, _=gettext)


def _bytecode_cache(project_templates: Path | None, folder: str = "templates-sandboxed") -> Any:
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

    # One folder per kind of environment: the bytecode of our unsandboxed
    # templates calls without the sandbox's checks (Jinja's key is the
    # template's name and source, not the environment).
    return BestEffort(str(project_templates.parent / CACHE_DIR / folder))


def own_templates(project_templates: Path | None, folder: str) -> bool:
    """Whether the project has a template in ``folder`` (``"site"``) that rendering its pages could load.

    The built-in templates of a folder load only templates of that folder
    (``site/post.html`` extends ``site/base.html``): without a project
    template there, they render alone (see :func:`package_environment`).
    Asked of Jinja's own loader, so it sees what rendering would see
    (symbolic links included); names compared without case, as a
    case-insensitive file system would find them.
    """
    if project_templates is None or not project_templates.is_dir():
        return False
    from jinja2 import FileSystemLoader

    prefix = folder.lower().rstrip("/") + "/"
    return any(name.lower().startswith(prefix) for name in FileSystemLoader(str(project_templates)).list_templates())


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
