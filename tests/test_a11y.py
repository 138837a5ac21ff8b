"""Accessibility checks: each one finds its fault, and the built digests pass them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from newsletter.checks.a11y import check_accessibility

GOOD = """<!DOCTYPE html><html lang="en" dir="ltr"><head><title>T</title>
<style>@media (prefers-color-scheme:dark){.wrap{background-color:#111111!important;color:#eeeeee!important}
a[href]{color:#8ab4f8!important}}</style></head>
<body style="background-color:#ffffff"><div class="wrap" role="article" lang="en" dir="ltr" style="color:#222222;font-size:16px">
<table role="presentation"><tr><td><h1>Digest</h1><h2><a href="https://e.org/p">A post</a></h2>
<p>Text <a href="https://e.org/x" style="color:#0b5cad">the trial registry</a>.</p>
<table><tr><th>A</th></tr><tr><td>1</td></tr></table>
</td></tr></table></div></body></html>"""


def _codes(html: str, lang: str = "en", direction: str = "ltr") -> list[tuple[str, str]]:
    return [(r.level, r.code) for r in check_accessibility(html, lang, direction)]


def test_a_good_message_passes() -> None:
    assert _codes(GOOD) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('<html lang="en" dir="ltr">', '<html lang="en">', ("error", "a11y-dir")),
        ('role="article" lang="en"', 'role="article" lang="fr"', ("error", "a11y-lang")),
        ('<table role="presentation">', "<table>", ("error", "a11y-table-role")),
        ("<h2><a", "<h3><a", ("warning", "a11y-heading-order")),
        ("the trial registry", "click here", ("warning", "a11y-link-text")),
        ("the trial registry", "", ("error", "a11y-link-text")),
        ("font-size:16px", "font-size:12px", ("warning", "a11y-text-size")),
        ("color:#222222", "color:#999999", ("error", "a11y-contrast")),  # 2.8:1 on white
        ("color:#eeeeee!important", "color:#333333!important", ("error", "a11y-contrast")),  # dark palette only
    ],
)
def test_each_check_finds_its_fault(old: str, new: str, expected: tuple[str, str]) -> None:
    assert old in GOOD
    assert expected in _codes(GOOD.replace(old, new, 1))


def test_contrast_names_the_palette_and_the_colours() -> None:
    results = check_accessibility(GOOD.replace("color:#eeeeee!important", "color:#333333!important"), "en", "ltr")
    messages = [r.message for r in results if r.code == "a11y-contrast"]
    assert messages and all("dark palette: text #333333 on #111111" in m for m in messages)


def test_rtl_is_expected_for_arabic() -> None:
    assert ("error", "a11y-dir") in _codes(GOOD.replace('lang="en"', 'lang="ar"'), "ar", "rtl")


def test_check_exits_1_on_an_accessibility_error(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    templates = sample / "templates" / "email"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "digest.html").write_text(
        '{% extends "default/email/digest.html" %}{% block preheader %}'
        '<p class="pre" style="color:#bbbbbb">{{ preheader }}</p>{% endblock %}',
        encoding="utf-8",
    )
    assert cli("digest", "-C", sample, "--week", "2026-W47").exit_code == 0
    result = cli("check", "-C", sample)
    assert result.exit_code == 1
    assert "a11y-contrast" in result.stderr and "light palette: text #bbb on #eef1f4" in result.stderr


def test_a_link_without_href_is_not_styled_as_a_link(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    post = next((sample / "posts").glob("2026-11-20-*.md"))
    post.write_text(post.read_text(encoding="utf-8") + '\n<a id="anchor">An anchor</a>\n', encoding="utf-8")
    assert cli("digest", "-C", sample, "--week", "2026-W47").exit_code == 0
    from lxml import html as lxml_html

    document = lxml_html.document_fromstring((sample / "outbox" / "2026-W47" / "message.html").read_text("utf-8"))
    anchors = [a for a in document.iter("a") if a.get("href") is None]
    assert anchors and all("#0b5cad" not in (a.get("style") or "") for a in anchors)
    assert all("#0b5cad" in (a.get("style") or "") for a in document.xpath("//div[@class='body']/p/a[@href]"))


def test_a_subject_that_reads_like_a_reply_is_flagged(sample: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = sample / "newsletter.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("[digest]\n", '[digest]\nsubject = "{title}: {period}"\n'),
        encoding="utf-8",
    )
    assert cli("digest", "-C", sample, "--week", "2026-W47").exit_code == 0
    result = cli("check", "-C", sample)
    assert "header-subject-reply" in result.stderr and "Care: November" in result.stderr


def test_the_contrast_table_is_up_to_date() -> None:
    from newsletter.checks.contrast import TABLE, generate

    assert TABLE.read_text(encoding="utf-8") == generate(REPO), (
        "newsletter/data/contrast.json is stale: run python -m newsletter.checks.contrast"
    )


def test_contrast_from_the_table_is_coloraides(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample digests' accessibility findings, with the kept ratios and with coloraide computing each."""
    from newsletter.checks import contrast
    from newsletter.render.email_css import sample_digests

    en, ar = sample_digests(REPO)
    kept = [check_accessibility(en, "en", "ltr"), check_accessibility(ar, "ar", "rtl")]
    for (fg, bg), ratio in contrast._known().items():
        assert ratio == contrast.computed(fg, bg), (fg, bg)
    monkeypatch.setattr(contrast, "contrast", contrast.computed)
    fresh = [check_accessibility(en, "en", "ltr"), check_accessibility(ar, "ar", "rtl")]
    assert kept == fresh
    bad = GOOD.replace("color:#222222", "color:#eeeeee")
    assert ("error", "a11y-contrast") in _codes(bad)


def test_the_default_colours_need_no_coloraide() -> None:
    code = (
        "import sys\n"
        "from newsletter.checks.contrast import contrast, computed\n"
        "assert contrast('#1f2933', '#fff') > 14 and contrast('#4f5b66', '#f3f5f7') > 4.5\n"
        "assert 'coloraide' not in sys.modules\n"
        "assert contrast('#123456', '#fedcba') == computed('#123456', '#fedcba') and 'coloraide' in sys.modules\n"
        "assert contrast('nonsense', '#fff') is None\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
