"""The reader's language: complete catalogs, every shipped locale end to end, overrides."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from lxml import html as lxml_html

from newsletter.build import build
from newsletter.checks import check_message
from newsletter.i18n import (
    SHIPPED,
    SOURCE_LANGUAGE,
    Language,
    catalog_path,
    compile_catalog,
    compiled_catalog,
    compiled_path,
)
from newsletter.i18n import language as speaking_language
from newsletter.i18n.catalogs import extract, read_catalog
from newsletter.load import load_project

REPO = Path(__file__).resolve().parent.parent
WEEK = "2026-W47"
FRENCH_WEEK = REPO / "tests" / "data" / "french-week"


def _ids(catalog) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}


def test_the_shipped_list_matches_the_locale_folders() -> None:
    folders = sorted(p.parent.parent.name for p in (REPO / "newsletter" / "locale").glob("*/LC_MESSAGES/*.po"))
    assert folders == sorted(SHIPPED)
    compiled = sorted(p.parent.parent.name for p in (REPO / "newsletter" / "locale").rglob("*.mo"))
    assert compiled == sorted(SHIPPED), "one .mo beside each .po (python -m newsletter.i18n.catalogs --compile)"


@pytest.mark.parametrize("name", SHIPPED)
def test_the_compiled_catalogs_are_up_to_date(name: str) -> None:
    """Each shipped .mo is what Babel compiles from its .po today (the .po is the source)."""
    assert compiled_path(name).read_bytes() == compile_catalog(name), (
        f"{compiled_path(name)} is stale: run python -m newsletter.i18n.catalogs --compile"
    )
    assert compiled_catalog(name) == compile_catalog(name)


def test_a_missing_compiled_catalog_falls_back_to_the_po(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import newsletter.i18n as i18n

    compiled_catalog.cache_clear()
    monkeypatch.setattr(i18n, "compiled_path", lambda name: tmp_path / f"{name}.mo")
    try:
        assert compiled_catalog("fr") == compile_catalog("fr")
        assert Language("fr").gettext("Unsubscribe") == "Se désabonner"
    finally:
        compiled_catalog.cache_clear()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_catalog_translates_every_message(name: str) -> None:
    """Extract the messages from the code and templates with Babel; each catalog has them all."""
    wanted = _ids(extract())
    catalog = read_catalog(catalog_path(name), name)
    assert not catalog.fuzzy
    have = _ids(catalog)
    assert wanted - have == set(), f"{name}: messages missing from the catalog"
    assert have - wanted == set(), f"{name}: messages no code uses any more"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{name}: {message.id!r} is not translated"
        assert "fuzzy" not in message.flags, f"{name}: {message.id!r} is fuzzy"
        if isinstance(message.id, tuple):
            assert len(strings) == catalog.num_plurals, f"{name}: {message.id!r} needs {catalog.num_plurals} forms"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check() if errors]
    assert problems == [], f"{name}: placeholders differ from the message ids"


def test_a_missing_message_is_noticed(tmp_path: Path) -> None:
    """The completeness test compares against Babel's extraction: a new message shows up there."""
    extracted = _ids(extract())
    assert "View this email in your browser" in extracted and "Read more: %(title)s" in extracted
    assert "%(count)s post" in extracted and "R" in extracted  # templates' plurals and Python's gettext


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("fr", "16–22 novembre 2026"),
        ("de", "16.–22. November 2026"),
        ("es", "16–22 de noviembre de 2026"),
        ("it", "16–22 novembre 2026"),
        ("nl", "16–22 november 2026"),
        ("pt", "16 – 22 de novembro de 2026"),
        ("ar", "16–22 نوفمبر 2026"),
        ("en", "November 16 – 22, 2026"),
        ("en-GB", "16 – 22 November 2026"),
    ],
)
def test_week_periods_in_each_language(tag: str, expected: str) -> None:
    from datetime import date

    period = Language(tag).period(date(2026, 11, 16), date(2026, 11, 22))
    assert " ".join(period.split()) == " ".join(expected.split())


def test_periods_across_months_and_years() -> None:
    from datetime import date

    assert " ".join(Language("fr").period(date(2026, 11, 30), date(2026, 12, 6)).split()) == (
        "30 novembre – 6 décembre 2026"
    )
    assert " ".join(Language("de").period(date(2026, 12, 28), date(2027, 1, 3)).split()) == (
        "28. Dezember 2026 – 3. Januar 2027"
    )


def test_plural_forms_follow_the_language() -> None:
    ar = Language("ar")
    forms = {n: ar.ngettext("%(count)s post", "%(count)s posts", n, count=n) for n in (0, 1, 2, 3, 11, 100)}
    assert len(set(forms.values())) == 6, forms
    assert Language("fr").ngettext("%(count)s post", "%(count)s posts", 1, count=1) == "1 article"
    assert Language("fr").ngettext("%(count)s post", "%(count)s posts", 2, count=2) == "2 articles"
    assert Language("de").number(12345) == "12.345" and Language("en").number(12345) == "12,345"


def test_direction_comes_from_the_locale() -> None:
    assert Language("ar").dir == Language("he").dir == Language("fa").dir == "rtl"
    assert Language("fr").dir == Language("en-GB").dir == "ltr"


def _english_fragments() -> set[str]:
    """Literal words of the English messages (placeholders and tags removed), at least five letters long."""
    fragments = set()
    for message in read_catalog(catalog_path(SOURCE_LANGUAGE), SOURCE_LANGUAGE):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in ids:
            for part in re.split(r"%\(\w+\)s|\{\w+\}|<[^>]*>", text or ""):
                part = part.strip(" .:;,·")
                if sum(c.isalpha() for c in part) >= 5:
                    fragments.add(part)
    return fragments


def _project(tmp_path: Path, language: str, source: Path = REPO) -> Path:
    root = tmp_path / language
    root.mkdir()
    text = (source / "newsletter.toml").read_text(encoding="utf-8")
    (root / "newsletter.toml").write_text(re.sub(r'(?m)^language = ".*"$', f'language = "{language}"', text))
    shutil.copytree(source / "posts", root / "posts")
    return root


def _chrome(document: lxml_html.HtmlElement) -> str:
    """The text of a page without the posts' own words (titles, bodies, summaries, references' texts)."""
    for element in document.xpath(
        "//div[@class='body'] | //h2/a | //h3[@class='refpost'] | //ol[@class='refs']/li | //p[@class='pre']"
        " | //article/*[not(self::h2[@id='references'])] | //ul[@class='posts']/li/h2 | //ul[@class='posts']/li/p"
        " | //div[@class='cta']/p | //a[@class='button'] | //header/a | //header/p | //head | //ul[@class='links']/li/a"
        " | //p[@class='meta']"
    ):
        element.drop_tree()
    return " ".join(document.text_content().split())


@pytest.mark.parametrize("language", [name for name in SHIPPED if name != SOURCE_LANGUAGE])
def test_the_sample_in_each_language_has_no_english_left(tmp_path: Path, language: str) -> None:
    root = _project(tmp_path, language)
    build(root, week=WEEK)
    project = load_project(root)
    lang = Language(language)
    outbox = root / "outbox" / WEEK
    html = (outbox / "message.html").read_text(encoding="utf-8")
    text = (outbox / "message.txt").read_text(encoding="utf-8")
    pages = {
        name: (root / "public" / name).read_text(encoding="utf-8")
        for name in ("index.html", "posts/index.html", "digests/index.html", f"digests/{WEEK}.html")
    }
    post = project.published[0]
    pages["post"] = (root / "public" / "posts" / post.slug / "index.html").read_text(encoding="utf-8")
    english = _english_fragments()
    posts_words = {p.title for p in project.published} | {p.summary for p in project.published}
    chrome = {"message.html": _chrome(lxml_html.document_fromstring(html))}
    chrome |= {name: _chrome(lxml_html.document_fromstring(page)) for name, page in pages.items()}
    text_chrome = "\n".join(line for line in text.splitlines() if not any(line in w for w in posts_words))
    for name, words in chrome.items():
        left = sorted(f for f in english if f in words)
        assert left == [], f"{language}: English left in {name}"
    for fragment in ("Weekly digest", "View this email", "In this issue", "References", "Unsubscribe", "You receive"):
        assert fragment not in text_chrome, f"{language}: {fragment!r} in the text part"
    # Dates and the period in the language, and the right lang and dir everywhere.
    period = " ".join(
        lang.period(project.published[0].date.replace(day=16), project.published[0].date.replace(day=22)).split()
    )
    assert period in " ".join(text.split())
    assert lang.date(post.date.astimezone(project.settings.site.tz)) in pages["post"]
    assert period in " ".join(_chrome(lxml_html.document_fromstring(html)).split())
    for page in (html, *pages.values()):
        document = lxml_html.document_fromstring(page)
        assert document.get("lang") == language and document.get("dir") == lang.dir
    wrapper = lxml_html.document_fromstring(html).xpath("//*[@role='article']")[0]
    assert wrapper.get("lang") == language and wrapper.get("dir") == lang.dir
    results = [r for r in check_message(outbox, project.settings, root / "public") if r.code.startswith("a11y")]
    assert results == [], [str(r) for r in results]


def test_strings_and_subject_patterns_override_the_catalog(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = sample / "newsletter.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "[digest]\n", '[digest]\nsubject = "{count} new: {first_title} ({period})"\n'
        )
        + '\n[strings]\n"View this email in your browser" = "Open the web version"\n'
        '"%(count)s post" = ["one issue post", "%(count)s issue posts"]\n',
        encoding="utf-8",
    )
    result = cli("build", "-C", sample, "--week", WEEK)
    assert result.exit_code == 0, result.output
    html = (sample / "outbox" / WEEK / "message.html").read_text(encoding="utf-8")
    text = (sample / "outbox" / WEEK / "message.txt").read_text(encoding="utf-8")
    assert "Open the web version" in html and "Open the web version" in text
    assert "View this email in your browser" not in html + text
    assert "3 issue posts" in (sample / "public" / "digests" / "index.html").read_text(encoding="utf-8")
    import json

    subject = json.loads((sample / "outbox" / WEEK / "meta.json").read_text(encoding="utf-8"))["subject"]
    assert (
        subject
        == "3 new: Neural Progenitors Derived from Bone Mesenchymal Stem Cells Help Multiple Sclerosis Patients (November 16 – 22, 2026)"
    )


def test_an_unknown_strings_key_warns_and_a_bad_value_fails(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = empty_project / "newsletter.toml"
    base = config.read_text(encoding="utf-8")
    config.write_text(base + '\n[strings]\n"View this emial in your browser" = "x"\n', encoding="utf-8")
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 0
    assert "no message 'View this emial in your browser' in the catalogs (did you mean View this email" in result.stderr
    config.write_text(base + '\n[strings]\n"Unsubscribe" = 3\n', encoding="utf-8")
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    line = base.count("\n") + 3
    assert f"newsletter.toml:{line}: strings.Unsubscribe must be a string or a list of plural forms" in result.stderr


def test_an_unknown_language_is_a_settings_error(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = empty_project / "newsletter.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('language = "en"', 'language = "qq"'))
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1 and "site.language: no locale data for 'qq'" in result.stderr


def test_overrides_compile_into_the_catalog() -> None:
    mo = compiled_catalog("fr", (("Unsubscribe", "Ne plus recevoir"),))
    assert b"Ne plus recevoir" in mo and b"Se d\xc3\xa9sabonner" not in mo


def test_a_french_post_in_an_english_digest_is_marked(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    source = (FRENCH_WEEK / "posts" / "2026-11-18-sla-essais.md").read_text(encoding="utf-8")
    (sample / "posts" / "2026-11-19-sla-fr.md").write_text(source.replace("2026-11-18 09:30", "2026-11-19 09:30"))
    result = cli("build", "-C", sample, "--week", WEEK)
    assert result.exit_code == 0, result.output
    document = lxml_html.document_fromstring((sample / "outbox" / WEEK / "message.html").read_text(encoding="utf-8"))
    assert document.get("lang") == "en"
    cell = document.xpath("//h2/a[starts-with(., 'SLA')]/ancestor::td[1]")[0]
    assert cell.get("lang") == "fr" and cell.get("dir") == "ltr"
    english = document.xpath("//h2/a[starts-with(., 'Stem Cells for ALS')]/ancestor::td[1]")[0]
    assert english.get("lang") is None  # the digest's own language
    page = lxml_html.document_fromstring(
        (
            sample / "public" / "posts" / "sla-premieres-donnees-de-securite-un-optimisme-prudent" / "index.html"
        ).read_text(encoding="utf-8")
    )
    assert page.get("lang") == "en" and page.xpath("//article")[0].get("lang") == "fr"


def test_the_french_week_builds_in_french(tmp_path: Path) -> None:
    root = tmp_path / "fr"
    shutil.copytree(FRENCH_WEEK, root)
    build(root, week=WEEK)
    text = (root / "outbox" / WEEK / "message.txt").read_text(encoding="utf-8")
    assert "Lettre hebdomadaire · 16–22 novembre 2026" in text
    assert "\nBibliographie\n" in text and "[R1]" in text


def test_init_writes_a_project_in_its_language(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", tmp_path / "lyon", "--title", "Clinique", "--language", "fr")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "lyon" / "newsletter.toml").read_text(encoding="utf-8")
    assert 'language = "fr"' in text and 'label = "Nous contacter"' in text and "Get in touch" not in text
    assert cli("init", tmp_path / "x", "--language", "qq").exit_code == 2


def test_preview_labels_come_from_the_catalog() -> None:
    from types import SimpleNamespace

    from newsletter.preview.pages import environment

    status = SimpleNamespace(ok=True, generation=1, finished="10:00", seconds=0.5, errors=[], notes=[])
    page = (
        environment(Language("de"))
        .get_template("index.html")
        .render(title="Postausgang", status=status, site_title="S", rows=[], feeds=[], categories=[], rebuilding="")
    )
    document = lxml_html.document_fromstring(page)
    assert document.get("lang") == "de"
    assert "Der Postausgang ist leer" in page and "erstellt um 10:00 in 0.50 s" in page and "Outbox" not in page


def test_known_languages_are_babels_without_importing_it() -> None:
    """known_language lists Babel's locale files itself: the same answers as Babel's normalize_locale."""
    import subprocess
    import sys

    from babel.localedata import locale_identifiers, normalize_locale

    from newsletter.i18n import known_language

    tags = [*locale_identifiers(), "EN", "en-gb", "pt-BR", "zh-Hant-TW", " fr ", "", " ", "xx", "x-klingon", "en_"]
    for tag in [*tags, *(t.upper() for t in tags), *(t.replace("_", "-") for t in tags)]:
        assert known_language(tag) == (normalize_locale(tag.replace("-", "_")) is not None), tag
    code = "import sys\nfrom newsletter.i18n import known_language\nassert known_language('fr-CA')\n"
    code += "assert not known_language('xx')\nassert 'babel' not in sys.modules, 'babel imported'\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_the_kept_directions_are_babels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """data/directions.json is what Babel says of each of its locale ids, for the installed version."""
    import json
    import subprocess
    import sys

    from babel.localedata import locale_identifiers

    import newsletter.i18n as i18n
    from newsletter.i18n.catalogs import directions_json

    assert i18n.DIRECTIONS.read_text(encoding="utf-8") == directions_json(), (
        "newsletter/data/directions.json is stale: run python -m newsletter.i18n.catalogs --compile"
    )
    tags = [*locale_identifiers(), "pt-BR", "ar-EG", "az-Arab", "EN", "AR", "he", "fa", "xx", "", "root"]
    assert [i18n.text_direction(t) for t in tags] == [i18n.babel_direction(t) for t in tags]
    code = "import sys\nfrom newsletter.i18n import text_direction as d\n"
    code += "assert (d('ar'), d('pt-BR'), d('fa-IR')) == ('rtl', 'ltr', 'rtl')\nassert 'babel' not in sys.modules\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
    other = tmp_path / "directions.json"
    data = json.loads(i18n.DIRECTIONS.read_text(encoding="utf-8"))
    other.write_text(json.dumps({**data, "babel": "0.1", "rtl": [], "ltr": data["ltr"] + data["rtl"]}))
    monkeypatch.setattr(i18n, "DIRECTIONS", other)
    i18n.kept_directions.cache_clear()
    try:
        assert i18n.kept_directions() is None  # written by another Babel: Babel is asked
        assert i18n.text_direction("ar") == "rtl"
    finally:
        i18n.kept_directions.cache_clear()


@pytest.mark.parametrize("tag", [*SHIPPED, "pt-BR", "ja", "fa"])
def test_long_dates_are_babels_long_format(tag: str) -> None:
    from datetime import date, datetime, timedelta

    from babel.dates import format_date

    speaking = speaking_language(tag)
    for offset in range(0, 800, 13):
        day = date(2025, 1, 1) + timedelta(days=offset)
        assert speaking.date(day) == format_date(day, "long", locale=speaking.locale)
        assert speaking.date(datetime(day.year, day.month, day.day, 23, 59)) == speaking.date(day)
