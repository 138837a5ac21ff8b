"""Settings: newsletter.toml problems as path:line: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.errors import InputError, NewsletterError, Problems, UsageError
from newsletter.load import load_project
from newsletter.scaffold import config_text


def _write(project: Path, text: str) -> None:
    (project / "newsletter.toml").write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[site]\ntitle = "x"\nurl = "example.org"\n', "newsletter.toml:3: site.url must be an absolute http(s) URL"),
        ('[site]\ntimezone = "Mars/Olympus"\n', "newsletter.toml:2: site.timezone: unknown time zone"),
        ("[feed]\nlimit = 0\n", "newsletter.toml:2: feed.limit must be at least 1"),
        ('[feed]\nlimit = "ten"\n', "newsletter.toml:2: feed.limit must be a whole number"),
        ('[email]\nfrom = "not an address"\n', "newsletter.toml:2: email.from is not an e-mail address"),
        ('[email]\nunsubscribe_url = "http://x.example/u"\n', "newsletter.toml:2: email.unsubscribe_url must be"),
        ('[site]\ntitle = "a\\nb"\n', "newsletter.toml:2: site.title must be one line"),
        ("[site\n", "newsletter.toml:1: invalid TOML"),
        ('[digest]\norder = "random"\n', "newsletter.toml:2: digest.order must be oldest or newest"),
    ],
)
def test_bad_settings(tmp_path: Path, text: str, expected: str) -> None:
    _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_project(tmp_path)
    # Most of these files also lack email.unsubscribe_url: an error of its own, at line 1.
    assert any(str(e).startswith(expected) for e in info.value.errors), info.value.errors


def test_all_setting_errors_at_once(tmp_path: Path) -> None:
    _write(tmp_path, '[site]\nurl = "nope"\ntimezone = "Nowhere"\n[feed]\nlimit = -1\n')
    with pytest.raises(InputError) as info:
        load_project(tmp_path)
    assert [e.line for e in info.value.errors] == [1, 2, 3, 5]  # 1: no [email] unsubscribe_url


EMAIL = '[email]\nunsubscribe_url = "https://x.example/u"\npostal_address = "1 Road, Town"\n'


def _problems(tmp_path: Path, text: str) -> list[str]:
    _write(tmp_path, text)
    problems = Problems(root=tmp_path)
    load_settings(tmp_path, problems)
    return [str(item) for item in sorted(problems.items)]


def test_unknown_keys_warn(tmp_path: Path) -> None:
    assert _problems(tmp_path, EMAIL + '[site]\ntitel = "typo"\n[extra]\na = 1\n') == [
        "newsletter.toml:5: warning: unknown setting site.titel is ignored (did you mean title?)",
        "newsletter.toml:6: warning: unknown section [extra] is ignored",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[site]\ntimzone = "UTC"\n', "unknown setting site.timzone is ignored (did you mean timezone?)"),
        ('form = "a@b.example"\n', "unknown setting email.form is ignored (did you mean from?)"),  # in [email]
        ('sender = "a@b.example"\n', "unknown setting email.sender is ignored"),  # the key is "from"
        ("[emial]\n", "unknown section [emial] is ignored (did you mean email?)"),
        ("[feeds]\nlimit = 3\n", "unknown section [feeds] is ignored (did you mean feed?)"),
    ],
)
def test_unknown_keys_suggest_the_closest(tmp_path: Path, text: str, expected: str) -> None:
    warnings = [p for p in _problems(tmp_path, EMAIL + text) if "warning:" in p]
    assert [w.split("warning: ", 1)[1] for w in warnings] == [expected]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[site]\ntitle = "x"\n', 1),  # no [email] section: line 1
        ('[site]\ntitle = "x"\n\n[email]\npostal_address = "1 Road"\n', 4),  # the section
        ('[email]\npostal_address = "1 Road"\nunsubscribe_url = ""\n', 3),  # the empty key
    ],
)
def test_unsubscribe_url_is_required(tmp_path: Path, text: str, line: int) -> None:
    # The digest cannot be built without it (List-Unsubscribe, RFC 8058): check says so, at a line.
    errors = [p for p in _problems(tmp_path, text) if "warning:" not in p]
    assert errors[0] == (
        f"newsletter.toml:{line}: email.unsubscribe_url must be set to an https URL: "
        "List-Unsubscribe needs it (RFC 8058)"
    )


def test_a_bad_unsubscribe_url_is_reported_once(tmp_path: Path) -> None:
    problems = _problems(tmp_path, '[email]\nunsubscribe_url = "http://x.example/u"\npostal_address = "1 Road"\n')
    assert problems == ["newsletter.toml:2: email.unsubscribe_url must be an https URL (RFC 8058)"]


@pytest.mark.parametrize("value", ['""', '"  "'])
def test_empty_postal_address_warns(tmp_path: Path, value: str) -> None:
    text = f'[email]\nunsubscribe_url = "https://x.example/u"\npostal_address = {value}\n'
    assert _problems(tmp_path, text) == [
        "newsletter.toml:3: warning: email.postal_address is empty: bulk mail must show a postal address"
    ]
    assert _problems(tmp_path, '[email]\nunsubscribe_url = "https://x.example/u"\n') == [
        "newsletter.toml:1: warning: email.postal_address is empty: bulk mail must show a postal address"
    ]


def test_sample_and_new_settings_have_no_problems(tmp_path: Path) -> None:
    from conftest import REPO

    assert _problems(tmp_path, (REPO / "newsletter.toml").read_text(encoding="utf-8")) == []
    assert _problems(tmp_path, config_text()) == []
    assert _problems(tmp_path, config_text('Lab, "Notes" <x>: für')) == []


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(NewsletterError) as info:
        load_project(tmp_path)
    assert not isinstance(info.value, UsageError)
    assert str(info.value) == (
        f"{tmp_path.absolute() / 'newsletter.toml'} not found: run 'newsletter init DIR' or pass -C DIR"
    )


def test_missing_project_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^no such project folder: .*nope$"):
        load_project(tmp_path / "nope")
