"""`newsletter bounces import`: DSNs (RFC 3464) and ARF complaints (RFC 5965) -> suppressed addresses.

The fixtures in tests/fixtures/bounces are in the shapes the named systems
send (Postfix, Exim, Gmail, Microsoft 365, a Yahoo-style ARF report). Their
original Message-IDs are the ones ``send`` makes with this suite's secret.
"""

from __future__ import annotations

import mailbox
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from newsletter.delivery import suppression
from newsletter.delivery.bounce_import import digest_message_id
from newsletter.delivery.bounces import classify, parse_message, read_report
from newsletter.delivery.db import connect
from newsletter.delivery.subscribers import SubscriberStore
from tests.servicekit import LIST_ID, SECRET, backend_project  # noqa: F401 - a fixture

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bounces"
PEOPLE = ["ann@example.net", "bea@example.com", "cem@gmail.com", "dov@contoso.example", "eve@yahoo.example"]


@pytest.mark.parametrize(
    ("name", "kind", "address", "status"),
    [
        ("postfix.eml", "hard", "ann@example.net", "5.1.1"),
        ("exim.eml", "soft", "bea@example.com", "5.0.0"),  # Exim's generic 5.0.0; the reply says 552 5.2.2
        ("gmail.eml", "hard", "cem@gmail.com", "5.1.1"),
        ("microsoft.eml", "hard", "dov@contoso.example", "5.1.10"),
        ("arf.eml", "complaint", "", "abuse"),  # the recipient is redacted
        ("postfix_delayed.eml", "", "bea@example.com", "4.7.1"),  # a warning, not a bounce
    ],
)
def test_each_fixture_is_read_by_the_email_package(name: str, kind: str, address: str, status: str) -> None:
    data = (FIXTURES / name).read_bytes()
    message = parse_message(data)
    assert not message.defects
    report = read_report(message, data)
    assert report is not None
    [recipient] = report.recipients
    assert (recipient.kind, recipient.address, recipient.status) == (kind, address, status)
    assert report.original_message_id.startswith("<digest-2026-W47.")
    assert report.report_id.startswith("<")  # the report's own Message-ID: importing twice counts once


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "kind"),
    [
        ("failed", "5.1.1", "", "hard"),
        ("failed", "4.4.7", "", "soft"),
        ("failed", "5.2.2", "", "soft"),  # a full mailbox comes back
        ("failed", "5.0.0", "smtp; 552 5.2.2 Mailbox full", "soft"),
        ("failed", "5.0.0", "smtp; 550 5.1.1 no such user", "hard"),
        ("delayed", "4.7.1", "", ""),
        ("delivered", "2.0.0", "", ""),
        ("failed", "", "", "hard"),
    ],
)
def test_classify(action: str, status: str, diagnostic: str, kind: str) -> None:
    assert classify(action, status, diagnostic) == kind


def test_a_message_that_is_no_report_is_not_read() -> None:
    plain = parse_message(b"From: a@example.org\nTo: b@example.org\nSubject: out of office\n\nI am away.\n")
    assert read_report(plain) is None


def _subscribed_project(project: Path) -> None:
    from newsletter.config import load_settings
    from newsletter.errors import Problems

    settings = load_settings(project, Problems())
    with connect(project, settings) as db:
        store = SubscriberStore(db)
        for address in PEOPLE:
            store.add(address, status="subscribed", source="test")
        # eve's complaint names no address: only the journal of the week knows whose Message-ID it was.
        for address in PEOPLE:
            db.execute(
                "INSERT INTO deliveries (week, email, state, updated_at) VALUES (?, ?, 'sent', ?)",
                ("2026-W47", address, "2026-11-23T07:00:00Z"),
            )


def _statuses(project: Path) -> dict[str, str]:
    from newsletter.config import load_settings
    from newsletter.errors import Problems

    with connect(project, load_settings(project, Problems())) as db:
        store = SubscriberStore(db)
        return {a: store.get(a).status for a in PEOPLE}  # type: ignore[union-attr]


def _maildir(folder: Path, names: list[str]) -> Path:
    box = mailbox.Maildir(folder, create=True)
    for name in names:
        box.add((FIXTURES / name).read_bytes())
    box.close()
    return folder


def test_import_a_maildir_suppresses_and_reports(backend_project: Path, cli) -> None:  # noqa: F811
    _subscribed_project(backend_project)
    names = ["postfix.eml", "exim.eml", "gmail.eml", "microsoft.eml", "arf.eml", "postfix_delayed.eml"]
    source = _maildir(backend_project.parent / "bounces", names)
    result = cli("bounces", "import", source, "-C", backend_project)
    assert result.exit_code == 0, result.output
    assert _statuses(backend_project) == {
        "ann@example.net": "bounced",
        "bea@example.com": "subscribed",  # one soft bounce of three
        "cem@gmail.com": "bounced",
        "dov@contoso.example": "bounced",
        "eve@yahoo.example": "complained",  # matched by Message-ID through the journal
    }
    out = result.output
    assert "complaint for eve@yahoo.example: marked complained" in out
    assert "soft 5.0.0 for bea@example.com: soft bounce 1 of 3 in 30 days" in out
    assert "6 messages, 6 reports: 3 hard bounces, 1 soft bounces, 1 complaints; 4 addresses suppressed" in out
    again = cli("bounces", "import", source, "-C", backend_project)
    assert again.exit_code == 0
    assert "0 addresses suppressed, 0 not matched, 5 seen before" in again.output


def _exim_copy(number: int, date: str) -> bytes:
    message = message_from_bytes((FIXTURES / "exim.eml").read_bytes(), policy=policy.default)
    message.replace_header("Message-Id", f"<E1tCq2J-000Ab{number}-0F@relay.northbridge-care.example.org>")
    message.replace_header("Date", date)
    return message.as_bytes()


@pytest.mark.parametrize(
    ("dates", "status"),
    [
        (["Mon, 02 Nov 2026 07:00:00 +0000", "Mon, 09 Nov 2026 07:00:00 +0000", "Mon, 23 Nov 2026 07:00:00 +0000"],
         "bounced"),
        (["Mon, 05 Oct 2026 07:00:00 +0000", "Mon, 09 Nov 2026 07:00:00 +0000", "Mon, 23 Nov 2026 07:00:00 +0000"],
         "subscribed"),  # the first is more than 30 days before the third
    ],
)  # fmt: skip
def test_soft_bounces_suppress_after_three_in_thirty_days(tmp_path: Path, dates: list[str], status: str, cli) -> None:
    from tests.servicekit import make_project

    project = make_project(tmp_path / "proj")
    _subscribed_project(project)
    box = mailbox.mbox(tmp_path / "bounces.mbox", create=True)
    for number, date in enumerate(dates):
        box.add(_exim_copy(number, date))
    box.add(b"From: someone@example.org\nSubject: hello\n\nnot a report\n")
    box.close()
    result = cli("bounces", "import", tmp_path / "bounces.mbox", "-C", project)
    assert result.exit_code == 0, result.output
    assert _statuses(project)["bea@example.com"] == status
    assert "bounces.mbox:4: not a bounce or complaint report (skipped)" in result.output


def test_a_complaint_overrides_an_unsubscribe_but_a_bounce_does_not(tmp_path: Path) -> None:
    from tests.servicekit import make_project

    project = make_project(tmp_path / "proj")
    _subscribed_project(project)
    with connect(project) as db:
        suppression.unsubscribe(db, "ann@example.net")
        assert not suppression.suppress(db, "ann@example.net", "bounced")
        assert suppression.suppress(db, "ann@example.net", "complained")
        assert SubscriberStore(db).get("ann@example.net").status == "complained"  # type: ignore[union-attr]


def test_a_missing_mailbox_is_a_clear_error(tmp_path: Path, cli) -> None:
    from tests.servicekit import make_project

    project = make_project(tmp_path / "proj")
    result = cli("bounces", "import", tmp_path / "nothing-here", "-C", project)
    assert result.exit_code == 1
    assert "no such mbox file or Maildir folder" in result.output
    (tmp_path / "folder").mkdir()
    result = cli("bounces", "import", tmp_path / "folder", "-C", project)
    assert result.exit_code == 1 and "not a Maildir" in result.output


def test_the_fixture_message_ids_are_the_ones_send_makes() -> None:
    for address in PEOPLE:
        mid = digest_message_id(SECRET.encode(), LIST_ID, "2026-W47", address)
        assert any(mid in (FIXTURES / n).read_text() for n in FIXTURES.iterdir() if n.suffix == ".eml")


def test_the_matcher_computes_the_message_id_send_gives(sample: Path, cli) -> None:
    """bounce_import.digest_message_id and delivery.message.MessageTemplate.message_id must never drift apart."""
    from newsletter.config import load_settings
    from newsletter.delivery.message import load_template
    from newsletter.errors import Problems

    assert cli("build", "-C", sample).exit_code == 0
    settings = load_settings(sample, Problems())
    template = load_template(sample / "outbox" / "2026-W47", settings, SECRET.encode())
    for address in PEOPLE:
        expected = digest_message_id(SECRET.encode(), settings.list_id, "2026-W47", address)
        assert template.message_id(address) == expected
