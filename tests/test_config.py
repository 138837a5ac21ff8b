"""Settings: newsletter.toml problems as path:line: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import InputError
from newsletter.load import load_project


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
    assert str(info.value.errors[0]).startswith(expected)


def test_all_setting_errors_at_once(tmp_path: Path) -> None:
    _write(tmp_path, '[site]\nurl = "nope"\ntimezone = "Nowhere"\n[feed]\nlimit = -1\n')
    with pytest.raises(InputError) as info:
        load_project(tmp_path)
    assert [e.line for e in info.value.errors] == [2, 3, 5]


def test_unknown_keys_warn(tmp_path: Path) -> None:
    _write(tmp_path, '[site]\ntitel = "typo"\n[extra]\na = 1\n')
    project = load_project(tmp_path)
    assert [str(w) for w in project.warnings] == [
        "newsletter.toml:2: warning: unknown setting site.titel is ignored",
        "newsletter.toml:3: warning: unknown section [extra] is ignored",
    ]


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_project(tmp_path)
    assert "no newsletter.toml here" in str(info.value.errors[0])
