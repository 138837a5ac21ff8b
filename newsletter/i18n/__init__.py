"""The reader's language: message catalogs, dates, periods and numbers, text direction.

Every fixed word of what the newsletter writes (the digest's HTML and text
parts, the web pages, the subject and preheader patterns, the preview's
labels) comes from the gettext catalogs in ``newsletter/locale/<lang>/
LC_MESSAGES/newsletter.po``. Templates use Jinja2's i18n extension
(``{% trans %}``, ``_()``); Python code asks the same catalogs through
:class:`Language`.

The ``.po`` files are the source. Each is compiled with Babel into the
``.mo`` file beside it (``python -m newsletter.i18n.catalogs`` does it, a
test keeps them in step), so that a run reads the compiled catalog and
never imports Babel's ``.po`` parser (about 60 ms). A project's
``[strings]`` overrides are applied to the ``.po`` catalog before it is
compiled, in memory, as is a catalog whose ``.mo`` is missing.

Dates, week periods and numbers are formatted by Babel from the CLDR data
for ``site.language``; ``dir`` comes from the locale's character order.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gettext import GNUTranslations

    from babel.core import Locale

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DIRECTIONS = LOCALE_DIR.parent / "data" / "directions.json"
DOMAIN = "newsletter"
SOURCE_LANGUAGE = "en"
# The catalogs shipped in newsletter/locale/ (a test keeps this list and the folders in step).
SHIPPED = ("ar", "de", "en", "es", "fr", "it", "nl", "pt")
Strings = tuple[tuple[str, str | tuple[str, ...]], ...]


def N_(message: str) -> str:  # noqa: N802 - the name Babel's extractor looks for
    """Mark ``message`` for the catalogs without translating it yet (it is translated where used)."""
    return message


def catalog_path(name: str) -> Path:
    """The ``.po`` file of one shipped catalog."""
    return LOCALE_DIR / name / "LC_MESSAGES" / f"{DOMAIN}.po"


def compiled_path(name: str) -> Path:
    """The ``.mo`` file compiled from :func:`catalog_path` (package data, made by Babel)."""
    return catalog_path(name).with_suffix(".mo")


def catalog_files() -> list[Path]:
    """Every shipped ``.po`` file (their contents affect every output)."""
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def catalog_for(tag: str) -> str | None:
    """The shipped catalog for a language tag: ``fr-CA`` -> ``fr``, ``pt_BR`` -> ``pt``; None if none fits."""
    parts = re.split(r"[-_]", tag.strip())
    for size in range(len(parts), 0, -1):
        name = "_".join([parts[0].lower(), *parts[1:size]])
        if catalog_path(name).is_file():
            return name
    return None


def babel_locale(tag: str) -> Locale:
    """Babel's locale for a language tag (``en-GB``); raises ValueError when Babel has no data for it."""
    from babel.core import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"unknown language {tag!r}") from exc


def known_language(tag: str) -> bool:
    """True when Babel has locale data for ``tag`` (dates and numbers can be written in it).

    Asks Babel's folder of locale files, as ``babel.localedata.normalize_locale``
    does, without importing Babel: every command validates the settings,
    and most never format a date.
    """
    name = tag.replace("-", "_").strip().lower()
    if name == "root":  # Babel's base data, which normalize_locale does not list
        return False
    names = _locale_names()
    if names is None:
        from babel.localedata import normalize_locale

        return normalize_locale(tag.replace("-", "_")) is not None
    return name in names


@lru_cache(maxsize=1)
def _locale_names() -> frozenset[str] | None:
    """The lower-cased locale ids of Babel's ``locale-data`` folder (None when it cannot be listed)."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("babel")
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        files = os.listdir(os.path.join(list(spec.submodule_search_locations)[0], "locale-data"))
    except OSError:
        return None
    stems = (os.path.splitext(name) for name in files)
    return frozenset(stem.lower() for stem, extension in stems if extension == ".dat" and stem != "root")


@lru_cache(maxsize=32)
def compiled_catalog(name: str, strings: Strings = ()) -> bytes:
    """One shipped catalog compiled to ``.mo`` bytes, with ``strings`` overriding its messages.

    Without overrides this is the shipped ``.mo`` file; with them (or
    when that file is missing) the ``.po`` file compiled by
    :func:`compile_catalog`.
    """
    if not strings:
        try:
            return compiled_path(name).read_bytes()
        except FileNotFoundError:
            pass
    return compile_catalog(name, strings)


def compile_catalog(name: str, strings: Strings = ()) -> bytes:
    """Compile one shipped ``.po`` file to ``.mo`` bytes with Babel, ``strings`` overriding its messages.

    ``strings`` maps message ids to text (a tuple of plural forms for a
    message with plurals). Ids the catalog lacks are added.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(name).open("rb") as handle:
        catalog = read_po(handle, locale=name, domain=DOMAIN)
    for msgid, text in strings:
        message = catalog.get(msgid)
        if message is None:
            catalog.add(msgid, text)
        elif isinstance(message.id, tuple) and isinstance(text, str):
            message.string = tuple(text for _ in range(catalog.num_plurals))
        elif not isinstance(message.id, tuple) and not isinstance(text, str):
            message.string = text[0]
        else:
            message.string = text
        if message is not None:
            message.flags.discard("fuzzy")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def message_ids() -> set[str]:
    """The message ids of the English catalog (for checking ``[strings]`` keys)."""
    from babel.messages.pofile import read_po

    with catalog_path(SOURCE_LANGUAGE).open("rb") as handle:
        catalog = read_po(handle, locale=SOURCE_LANGUAGE, domain=DOMAIN)
    return {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}


_WIDE_MONTH = re.compile(r"(?<!M)MMM(?!M)")


def _widen_months(pattern: str) -> str:
    """``d MMM y`` -> ``d MMMM y``, leaving quoted literals alone (CLDR's skeleton adjustment)."""
    parts = pattern.split("'")
    return "'".join(_WIDE_MONTH.sub("MMMM", p) if i % 2 == 0 else p for i, p in enumerate(parts))


@dataclass(frozen=True)
class Language:
    """One language as the output uses it: its catalog, its locale data, its direction.

    ``tag`` is the configured tag (``de``, ``pt-BR``); ``strings`` are the
    project's overrides of catalog messages (``[strings]``).
    """

    tag: str = SOURCE_LANGUAGE
    strings: Strings = ()
    _dates: dict[Any, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @cached_property
    def catalog(self) -> str:
        """The shipped catalog used (English when none fits the tag)."""
        return catalog_for(self.tag) or SOURCE_LANGUAGE

    @cached_property
    def locale(self) -> Locale:
        """Babel's locale for dates and numbers (English when Babel does not know the tag)."""
        try:
            return babel_locale(self.tag)
        except ValueError:
            return babel_locale(SOURCE_LANGUAGE)

    @cached_property
    def translations(self) -> GNUTranslations:
        """The compiled catalog with the project's overrides (read by the standard library's gettext)."""
        from gettext import GNUTranslations

        return GNUTranslations(io.BytesIO(compiled_catalog(self.catalog, self.strings)))

    def install(self, env: Any) -> None:
        """Give a Jinja environment ``_``, ``gettext`` and ``ngettext`` in this language.

        The catalog is compiled on the first message a template asks for,
        not when the environment is made: a build that renders nothing
        never pays for it.
        """
        env.install_gettext_callables(
            gettext=lambda message: self.translations.gettext(message),
            ngettext=lambda singular, plural, n: self.translations.ngettext(singular, plural, n),
            newstyle=True,
        )

    @property
    def dir(self) -> str:
        """``rtl`` for Arabic, Hebrew and other right-to-left scripts, else ``ltr``."""
        return text_direction(self.tag)

    def gettext(self, message: str, **values: Any) -> str:
        """The translation of ``message``, with ``%(name)s`` placeholders filled from ``values``."""
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, num: int, **values: Any) -> str:
        """The plural form of the message for ``num`` (``%(num)s`` is the formatted number)."""
        text = self.translations.ngettext(singular, plural, num)
        return text % {"num": self.number(num), **values}

    def number(self, value: int) -> str:
        """A whole number in the locale's way (grouping separators)."""
        from babel.numbers import format_decimal

        return format_decimal(value, locale=self.locale)

    def date(self, value: date | datetime) -> str:
        """A day, long form: ``18 November 2026``, ``18. November 2026``, ``November 18, 2026``."""
        day = value.date() if isinstance(value, datetime) else value
        text = self._dates.get(day)
        if text is None:  # once per distinct day: listings show thousands of posts
            text = self._dates[day] = self._long_date.apply(day, self.locale)
        return text

    @cached_property
    def _long_date(self) -> Any:
        """The locale's long date pattern, parsed once (what ``format_date(day, "long")`` applies each time)."""
        from babel.dates import get_date_format

        return get_date_format("long", locale=self.locale)

    def period(self, start: date | datetime, last: date | datetime) -> str:
        """A span of days with whole month names: ``16–22 novembre 2026``, ``16.–22. November 2026``.

        CLDR's interval patterns for the skeleton ``yMMMMd`` (Babel falls
        back to ``yMMMd`` and abbreviated months; CLDR says to widen them).
        """
        from babel.dates import format_date, match_skeleton

        first = start.date() if isinstance(start, datetime) else start
        end = last.date() if isinstance(last, datetime) else last
        if first == end:
            return self.date(first)
        formats = self.locale.interval_formats
        skeleton = "yMMMMd" if "yMMMMd" in formats else match_skeleton("yMMMMd", formats)
        field_ = "y" if first.year != end.year else "M" if first.month != end.month else "d"
        parts = formats[skeleton].get(field_) if skeleton else None
        if not parts:
            return f"{self.date(first)} – {self.date(end)}"
        head, tail = (_widen_months(p) for p in parts)
        return format_date(first, head, locale=self.locale) + format_date(end, tail, locale=self.locale)


def text_direction(tag: str) -> str:
    """``rtl`` or ``ltr`` for a language tag, from the locale's character order.

    For a tag naming one of Babel's locales (``ar``, ``pt-BR``) the answer
    is read from ``newsletter/data/directions.json``, written from the same
    Babel version (see :func:`kept_directions`): checking a draft need not
    load Babel's locale data for it.
    """
    kept = kept_directions()
    name = tag.replace("-", "_")
    if kept is not None and name in kept:
        return kept[name]
    return babel_direction(tag)


def babel_direction(tag: str) -> str:
    """:func:`text_direction` as Babel's locale data gives it."""
    try:
        order = babel_locale(tag).character_order
    except ValueError:
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


@lru_cache(maxsize=1)
def kept_directions() -> dict[str, str] | None:
    """Every Babel locale id's direction, from ``data/directions.json`` when the installed Babel wrote it.

    The file names the Babel version it was made with
    (``python -m newsletter.i18n.catalogs --compile`` writes it); with any
    other version, or without the file, None: Babel is asked.
    """
    import json

    try:
        data = json.loads(DIRECTIONS.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if data.get("babel") != _babel_version():
        return None
    return {**dict.fromkeys(data["ltr"], "ltr"), **dict.fromkeys(data["rtl"], "rtl")}


def _babel_version() -> str | None:
    """The installed Babel's ``__version__``, read from its ``__init__.py`` when Babel is not imported yet."""
    import importlib.util
    import sys

    if "babel" in sys.modules:
        return str(sys.modules["babel"].__version__)
    spec = importlib.util.find_spec("babel")
    if spec is None or spec.origin is None:
        return None
    try:
        source = Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"""^__version__ = ['"]([^'"]+)['"]""", source, re.M)
    return m.group(1) if m else None


def strings_key(strings: Mapping[str, str | list[str] | tuple[str, ...]]) -> Strings:
    """``[strings]`` as a hashable, ordered tuple (for caches)."""
    return tuple(sorted((k, v if isinstance(v, str) else tuple(v)) for k, v in strings.items()))


@lru_cache(maxsize=16)
def language(tag: str, strings: Strings = ()) -> Language:
    """The :class:`Language` for a tag and overrides, shared by every render of a process."""
    return Language(tag or SOURCE_LANGUAGE, strings)


def for_settings(settings: Any) -> Language:
    """The language of a project's settings (``site.language`` and ``[strings]``)."""
    return language(settings.site.language, getattr(settings, "strings", ()))
