"""Keeping the catalogs in step with the code: extract the messages, update the ``.po`` files.

For maintainers and the test suite, not for users: ``python -m
newsletter.i18n.catalogs`` extracts every message of the package (Python
code and the default templates, with Babel and Jinja2's extractor) into
``newsletter/locale/newsletter.pot``, merges it into each shipped
``.po`` file, where new messages wait (untranslated) for a translator, and
compiles every ``.po`` file into the ``.mo`` file a run reads
(``--compile``: only that step, after editing a translation).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from newsletter.i18n import (
    DIRECTIONS,
    DOMAIN,
    LOCALE_DIR,
    SHIPPED,
    babel_direction,
    catalog_path,
    compile_catalog,
    compiled_path,
)

PACKAGE = LOCALE_DIR.parent
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
# Options of Jinja2's extractor: the same extension and whitespace rules as newsletter.templates.
_JINJA = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True", "silent": "False"}
METHODS = [("i18n/catalogs.py", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"templates/**.html": _JINJA}


def extract() -> Catalog:
    """Every translatable message of the package, with where it is used."""
    catalog = Catalog(
        project="newsletter", version="1", copyright_holder="the newsletter authors", domain=DOMAIN, fuzzy=False
    )
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), METHODS, OPTIONS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    """A ``.po`` or ``.pot`` file as a Babel catalog."""
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def po_bytes(catalog: Catalog) -> bytes:
    """A catalog as ``.po`` text, without dates or line numbers that would change on every run."""
    catalog.creation_date = catalog.revision_date = datetime(2026, 1, 1, tzinfo=UTC)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False, include_lineno=False)
    return buffer.getvalue()


def update() -> list[Path]:
    """Write the ``.pot`` and merge it into every shipped ``.po``; return the files written."""
    template = extract()
    TEMPLATE.write_bytes(po_bytes(template))
    written = [TEMPLATE]
    for name in SHIPPED:
        path = catalog_path(name)
        catalog = read_catalog(path, name) if path.is_file() else Catalog(locale=name, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(po_bytes(catalog))
        written.append(path)
    return written + compile_all()


def compile_all() -> list[Path]:
    """Compile every shipped ``.po`` file into its ``.mo`` file, and write the directions; return the files."""
    written = []
    for name in SHIPPED:
        path = compiled_path(name)
        path.write_bytes(compile_catalog(name))
        written.append(path)
    DIRECTIONS.write_text(directions_json(), encoding="utf-8")
    return [*written, DIRECTIONS]


def directions_json() -> str:
    """``data/directions.json``: the direction of every locale id of the installed Babel, and its version."""
    import json

    import babel
    from babel.localedata import locale_identifiers

    ids = sorted(locale_identifiers())
    found = {name: babel_direction(name) for name in ids}
    data = {
        "about": "text direction of every Babel locale id: python -m newsletter.i18n.catalogs --compile",
        "babel": babel.__version__,
        "rtl": [name for name in ids if found[name] == "rtl"],
        "ltr": [name for name in ids if found[name] == "ltr"],
    }
    return json.dumps(data, indent=0) + "\n"


if __name__ == "__main__":
    import sys

    for path in compile_all() if sys.argv[1:] == ["--compile"] else update():
        print(path.relative_to(PACKAGE.parent))
