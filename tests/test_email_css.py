"""CSS inlining without premailer's import: the same output as premailer, its parsing kept in a table."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from newsletter.render import email_css
from newsletter.render.email_css import TABLE, Memo, generate, inline, load_table
from newsletter.render.email_html import inliner, premailer_inliner

REPO = Path(__file__).resolve().parent.parent

DOCUMENTS = {
    "inline styles merged, the element's own last": (
        "<!DOCTYPE html><html><head><style>p{color:red;margin:0}.x{color:blue!important}#y{font-size:2px}</style>"
        '</head><body><p class="x" id="y" style="margin:1px;color:green">a</p><p style="color: RED">b</p></body></html>'
    ),
    "pseudo-classes stay in the style element, filters are inlined": (
        "<html><head><style>a:hover{color:red}li:first-child{margin:0}li:nth-child(2){margin:1px}"
        "a[href]{color:blue}</style></head><body><ul><li>1</li><li>2</li></ul><a href='x'>x</a></body></html>"
    ),
    "media rules, media attributes, ignored and unknown blocks": (
        "<html><head><style>@media (max-width:600px){p{color:red}}p{color:blue}</style>"
        '<style media="print">p{color:green}</style><style media="screen">b{font-weight:bold}</style>'
        '<style data-premailer="ignore">p{color:pink}</style></head><body><p>x <b>y</b></p></body></html>'
    ),
    "empty style, star selectors, unset": (
        "<html><head><style></style><style>*{margin:0}p{color:unset;margin:0}</style></head>"
        "<body><p>x</p></body></html>"
    ),
    "no head, no doctype": "<html><body><style>p{color:red}</style><p>x</p></body></html>",
    "a bad declaration": "<html><head><style>p{color:;margin 0;padding:1px}</style></head><body><p>x</p></body></html>",
}


def premailer(html: str) -> str:
    """What the digest got from premailer before (email_html.premailer_inliner's configuration)."""
    return premailer_inliner().transform(html, pretty_print=False)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_inlining_is_premailers(name: str, tmp_path: Path) -> None:
    html = DOCUMENTS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert inline(html, Memo()) == premailer(html)  # parsed by premailer now
        known = Memo()
        inline(html, known)
        table = tmp_path / "table.json"  # parsed earlier, read back from a table as the shipped one is
        table.write_text(email_css.table_json(email_css.complete(known)), encoding="utf-8")
        assert inline(html, load_table(table)) == premailer(html)


def test_an_unknown_premailer_mark_warns_as_premailer_does() -> None:
    html = '<html><head><style data-premailer="keep">p{color:red}</style></head><body><p>x</p></body></html>'
    with pytest.warns(UserWarning, match="Unrecognized data-premailer attribute"):
        assert inline(html, Memo()) == premailer(html)


def _digests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sample's digest HTML before inlining, left to right and right to left (as generate renders them)."""
    seen: list[str] = []
    real = email_css.inline

    def spy(html: str, known: Memo | None = None) -> str:
        seen.append(html)
        return real(html, known)

    monkeypatch.setattr(email_css, "inline", spy)
    generate(REPO)
    return seen


def test_the_sample_digests_are_inlined_as_premailer_does(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _digests(monkeypatch)
    assert any('dir="rtl"' in html for html in documents) and any('dir="ltr"' in html for html in documents)
    shipped = load_table(TABLE)
    for html in documents:
        expected = premailer(html)
        assert inline(html, shipped) == expected
        assert inline(html, Memo()) == expected


def test_the_default_templates_need_no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text the default digest gives premailer to parse is in the shipped table."""
    documents = _digests(monkeypatch)
    shipped = load_table(TABLE)
    before = (dict(shipped.sheets), dict(shipped.pairs), dict(shipped.xpaths))
    for html in documents:
        inline(html, shipped)
    assert (shipped.sheets, shipped.pairs, shipped.xpaths) == before


def test_the_table_is_up_to_date() -> None:
    assert TABLE.read_text(encoding="utf-8") == generate(REPO), (
        "newsletter/data/inline_css.json is stale: run python -m newsletter.render.email_css"
    )


def test_the_default_css_imports_neither_premailer_nor_cssutils() -> None:
    assert inliner() is email_css.memo()  # what the build's helper loads ahead
    code = (
        "import sys\n"
        "from newsletter.render.email_html import inliner\n"
        "inliner()\n"
        "from newsletter.render.email_css import memo, inline\n"
        "css = next(iter(memo().sheets))\n"
        "html = inline('<html><head><style>' + css + '</style></head><body><p class=\"pre\">x</p></body></html>')\n"
        "assert 'style=' in html, html\n"
        "assert not {'premailer', 'cssutils', 'cssselect'} & set(sys.modules), sorted(sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
