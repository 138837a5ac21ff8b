"""Issue 17, item 1: nothing a title or a setting holds becomes a header of its own.

Python's email package before the CVE-2024-6923 fix writes out the CR LF an
encoded word decodes to; these tests hold on any interpreter, patched or not.
Every message is judged by eml_judge (the email parser, default policy).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import write_post
from eml_judge import judge_digest, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.render.headers import PLAIN_MAILBOX, HeaderError, check_mailbox, parse_mailbox, verify_message

WEEK = "2026-W47"
INJECTION = "=?utf-8?q?Weekly_news=0D=0ABcc:_attacker@evil.example=0D=0AX-Injected:_yes?="


def _setting(project: Path, section: str, key: str, value: str) -> int:
    """Set ``key`` in ``[section]`` of newsletter.toml (a TOML basic string); return its line."""
    path = project / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    pattern = re.compile(rf"^{re.escape(key)} = .*$", re.M)
    start = text.index(f"[{section}]")
    end = text.find("\n[", start + 1) % (len(text) + 1)
    block = text[start:end]
    block = (
        pattern.sub(lambda _: f"{key} = {quoted}", block, count=1)
        if pattern.search(block)
        else (block.rstrip("\n") + f"\n{key} = {quoted}\n")
    )
    text = text[:start] + block + text[end:]
    path.write_text(text, encoding="utf-8")
    return text[: text.index(f"{key} = {quoted}")].count("\n") + 1


def _post(project: Path, title: str) -> None:
    escaped = title.replace("\\", "\\\\").replace('"', '\\"')
    write_post(project, "a.md", f'---\ntitle: "{escaped}"\ndate: 2026-11-17 09:00\n---\nBody.\n')


def _digest(project: Path, cli) -> bytes:  # type: ignore[no-untyped-def]
    result = cli("digest", "-C", project, "--week", WEEK)
    assert result.exit_code == 0, result.output
    return (project / "outbox" / WEEK / "message.eml").read_bytes()


@pytest.mark.parametrize(
    "title",
    [
        INJECTION,
        "=?utf-8?b?V2Vla2x5DQpCY2M6IGF0dGFja2VyQGV2aWwuZXhhbXBsZQ==?=",  # the same in base64
        "=?UTF-8?Q?a=0D=0A=0D=0A?= body",  # ends the headers
        "=?utf-8?q?a=E2=80=A8Bcc:_x@evil.example?=",  # U+2028
        "=?utf-8?q?a=C2=85Bcc:_x@evil.example?=",  # NEL
        "=?iso-8859-1?q?a=0ABcc:_x@evil.example?= =?utf-8?q?=0D=0A?=",
        "=?utf-8?q?Caf=C3=A9?= harmless",
        "half =? open",
    ],
)
def test_an_encoded_word_in_a_title_stays_text_in_the_subject(empty_project: Path, cli, title: str) -> None:  # type: ignore[no-untyped-def]
    _setting(empty_project, "email", "subject", "{first}")
    _post(empty_project, title)
    message = judge_digest(_digest(empty_project, cli), subject=title)
    assert "Bcc" not in message and "X-Injected" not in message
    assert message["List-Unsubscribe"]


@pytest.mark.parametrize("title", ["=?utf-8?q?A=0D=0A=0D=0AB?=", "=?utf-8?q?A=0D=0AList-Id:_x?= Weekly"])
def test_an_encoded_word_in_the_site_title_stays_text(empty_project: Path, cli, title: str) -> None:  # type: ignore[no-untyped-def]
    _setting(empty_project, "site", "title", title)
    _post(empty_project, "A post")
    message = judge_digest(_digest(empty_project, cli))
    assert str(message["Subject"]).startswith(title + " · ")  # the catalog's pattern: {title} · {period}
    assert str(message["List-Id"]) == f"{title} <weekly.northbridge-care.example.org>"
    assert message["List-Unsubscribe"] and message["List-Unsubscribe-Post"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("from", "Acme, Inc <news@example.org>", "email.from must be exactly one address, not 2"),
        ("from", "a@b.example, c@d.example", "email.from must be exactly one address, not 2"),
        ("reply_to", "a@b.example>", "email.reply_to is not an e-mail address"),
        ("to", "undisclosed-recipients:; <x@y>", "email.to must be one address, not a group"),
        ("to", "undisclosed-recipients:;", "email.to must be one address, not a group"),
        ("from", "News <news@exämple.org>", "email.from has a non-ASCII domain: write it as xn--exmple-cua.org"),
        ("from", "Nüs <nüs@example.org>", "email.from has a non-ASCII user name"),
        ("from", "=?utf-8?q?News=0D=0ABcc:_x@evil.example?= <news@example.org>", "email.from must not hold '=?'"),
        ("from", "Bank\u202e <news@example.org>", "email.from holds an invisible formatting character (U+202E)"),
        ("from", "News <news@example>", "email.from is not a full address"),
        ("to", "A <a@b.example", "email.to is not an e-mail address"),
    ],
)
def test_addresses_must_parse_to_exactly_one_mailbox(
    empty_project: Path, cli, key: str, value: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    line = _setting(empty_project, "email", key, value)
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    assert f"newsletter.toml:{line}: {message}" in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output


@pytest.mark.parametrize(
    ("value", "display", "addr_spec"),
    [
        ('"Acme, Inc" <news@example.org>', "Acme, Inc", "news@example.org"),
        ("Clínica Süd <news@example.org>", "Clínica Süd", "news@example.org"),
        ("Zoë «Ñews» <news@example.org>", "Zoë «Ñews»", "news@example.org"),
        ("news@xn--exmple-cua.org", "", "news@xn--exmple-cua.org"),
        ("News (the list) <news@example.org>", "News", "news@example.org"),
    ],
)
def test_good_addresses_read_back_as_written(
    empty_project: Path, cli, value: str, display: str, addr_spec: str
) -> None:  # type: ignore[no-untyped-def]
    _setting(empty_project, "email", "from", value)
    _post(empty_project, "A post")
    eml = _digest(empty_project, cli)
    message = judge_digest(eml)
    [address] = message["From"].addresses
    assert (address.display_name, address.addr_spec) == (display, addr_spec)
    from_line = eml.split(b"\r\nTo: ", 1)[0]
    assert from_line.endswith(f"<{addr_spec}>".encode()) or from_line == f"From: {addr_spec}".encode()
    assert b"=?" not in from_line.rsplit(b"<", 1)[-1], "no encoded word in the address part"


def test_invisible_characters_never_reach_the_subject(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _setting(empty_project, "email", "subject", "{first}")
    _post(empty_project, "Pay\u202eyour\u200b bill\u2066 now\ufeff")
    message = judge_digest(_digest(empty_project, cli))
    assert str(message["Subject"]) == "Payyour bill now"


@pytest.mark.parametrize(("key", "value"), [("title", "News\u202e"), ("title", "Zero\u200bwidth")])
def test_invisible_characters_in_the_site_title_are_refused(empty_project: Path, cli, key: str, value: str) -> None:  # type: ignore[no-untyped-def]
    line = _setting(empty_project, "site", key, value)
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    assert f"newsletter.toml:{line}: site.title holds an invisible formatting character" in result.stderr


def test_the_subject_pattern_is_checked_for_invisible_characters(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    line = _setting(empty_project, "email", "subject", "\u202e{title}")
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    assert f"newsletter.toml:{line}: email.subject holds an invisible formatting character (U+202E)" in result.stderr


def _good_message(sample: Path, cli) -> bytes:  # type: ignore[no-untyped-def]
    return _digest(sample, cli)


@pytest.mark.parametrize(
    "damage",
    [
        (b"\r\nSubject: ", b"\r\nBcc: attacker@evil.example\r\nSubject: "),
        (b"\r\nDate: ", b"\r\nX-Injected: yes\r\nDate: "),
        (b"\r\nList-Unsubscribe-Post: ", b"\r\n\r\nList-Unsubscribe-Post: "),
        (b"\r\nTo: ", b"\r\nTo: a@b.example, c@d.example\r\nX: "),
    ],
)
def test_the_writer_refuses_a_message_that_does_not_read_back(sample: Path, cli, damage: tuple[bytes, bytes]) -> None:  # type: ignore[no-untyped-def]
    """What an unpatched email package would write, caught by the check after encoding."""
    eml = _good_message(sample, cli)
    names = list(parse(eml).keys())
    subject = str(parse(eml)["Subject"])
    mailboxes = {name: parse_mailbox(str(parse(eml)[name])) for name in ("From", "To")}
    verify_message(eml, names, {"Subject": subject}, mailboxes)  # the good one passes
    damaged = eml.replace(*damage, 1)
    assert damaged != eml
    with pytest.raises(HeaderError):
        verify_message(damaged, names, {"Subject": subject}, mailboxes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(PLAIN_MAILBOX, fullmatch=True))
def test_a_plain_mailbox_is_one_the_parser_accepts(value: str) -> None:
    """check_mailbox skips the parser only for text the parser reads as one good mailbox."""
    address = parse_mailbox(value)  # raises if the shortcut would let a bad address through
    assert address.addr_spec == value.rsplit("<", 1)[-1].rstrip(">")


@pytest.mark.parametrize(
    "value",
    [
        "Northbridge Regenerative Care <news@northbridge-care.example.org>",
        "care@northbridge-care.example.org",
        "Acme, Inc <news@example.org>",
        "a@b.example, c@d.example",
        "a@b.example>",
        "A <a@b.example",
        "News <news@example>",
        "news@example",
        "=?utf-8?q?x?= <a@b.example>",
        "x=?@b.example",
        "News  <news@example.org>",
        "News <.news@example.org>",
        "News <news..x@example.org>",
        "News <news@example..org>",
        "<news@example.org>",
        "",
    ],
)
def test_check_mailbox_refuses_what_parse_mailbox_refuses(value: str) -> None:
    try:
        parse_mailbox(value)
        expected = None
    except ValueError as exc:
        expected = str(exc)
    try:
        check_mailbox(value)
        got = None
    except ValueError as exc:
        got = str(exc)
    assert got == expected
