"""`newsletter send` against a real SMTP server: tests/smtp_sink.py (aiosmtpd) in its own process.

Received messages are parsed with Python's email parser (no defects allowed)
and their DKIM signatures verified with dkimpy against the test's key.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import socket
import sqlite3
import time
from email import policy
from pathlib import Path

import dkim
import pytest
from delivery_helpers import (
    PASSWORD,
    USER,
    WEEK,
    add_subscribers,
    configure,
    make_dkim_key,
    run_cli,
    sink,
)

from newsletter.delivery.tokens import read_unsubscribe_query, verify_token

LIST_ID = "weekly.northbridge-care.example.org"
ENV = {"NEWSLETTER_SMTP_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def _built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project built once (its week's digest in the outbox) for every test here to copy."""
    from conftest import REPO, SAMPLE_EPOCH

    project = tmp_path_factory.mktemp("built") / "sample"
    project.mkdir()
    shutil.copy(REPO / "newsletter.toml", project / "newsletter.toml")
    shutil.copytree(REPO / "posts", project / "posts")
    result = run_cli(project, "build", env={"SOURCE_DATE_EPOCH": SAMPLE_EPOCH})
    assert result.returncode == 0, result.stderr
    return project


@pytest.fixture
def sample(_built: Path, tmp_path: Path) -> Path:
    """A copy of the built sample project (overrides conftest's unbuilt one)."""
    target = tmp_path / "sample"
    shutil.copytree(_built, target, symlinks=True)
    return target


def _meta_status(project: Path) -> str:
    return json.loads((project / "outbox" / WEEK / "meta.json").read_text())["status"]


def _journal(project: Path) -> dict[str, tuple[str, int, str]]:
    with sqlite3.connect(project / "subscribers.db") as db:
        rows = db.execute("SELECT email, state, attempts, reply FROM deliveries WHERE week = ?", (WEEK,)).fetchall()
    return {e: (s, a, r) for e, s, a, r in rows}


def _parse(data: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(data, policy=policy.default)
    defects = list(msg.defects) + [d for part in msg.walk() for d in part.defects]
    assert not defects, defects
    for name in ("To", "Subject", "List-Unsubscribe", "From"):
        header = msg[name]
        assert header is not None and not header.defects, (name, header.defects if header else None)
    return msg


def test_starttls_auth_dkim_one_message_per_recipient(sample: Path, tmp_path: Path) -> None:
    with sink(tmp_path / "sink", security="starttls", auth=True, store=True) as server:
        configure(sample, server.port, security="starttls", username=USER, ca_file=str(tmp_path / "sink/tls/ca.pem"),
                  dkim=True, connections=2)  # fmt: skip
        txt = make_dkim_key(sample / "dkim.key")
        readers = [f"reader{i}@example.org" for i in range(12)] + ["zoë@example.org".replace("ë", "e")]
        add_subscribers(sample, readers)
        result = run_cli(sample, "send", env=ENV)
        assert result.returncode == 0, result.stderr
        assert f"{WEEK}: 13 sent, 0 failed, 0 uncertain" in result.stdout
        assert PASSWORD not in result.stdout + result.stderr
        received = server.received()
    assert sorted(r for rec in received for r in rec["rcpt"]) == sorted(readers)
    secret = (sample / ".newsletter-secret").read_bytes().strip()
    ids = set()
    for record in received:
        data = Path(record["file"]).read_bytes()
        msg = _parse(data)
        rcpt = record["rcpt"][0]
        assert msg["To"].addresses[0].addr_spec == rcpt
        assert msg["To"].addresses[0].display_name.startswith("Reader ")
        ids.add(msg["Message-ID"])
        # The one-click link is the recipient's own, in the header and in both parts' footers.
        url = str(msg["List-Unsubscribe"]).split(",")[0].strip("<> ")
        address, token = read_unsubscribe_query(url.split("?", 1)[1])
        assert address == rcpt and verify_token(secret, LIST_ID, rcpt, token)
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert url in msg.get_body(("plain",)).get_content()
        assert url.replace("&", "&amp;") in msg.get_body(("html",)).get_content()
        # DKIM: valid, and covering what RFC 8058 asks for.
        assert dkim.verify(data, dnsfunc=lambda name, timeout=5: txt), rcpt
        signed = dkim.DKIM(data)
        signed.verify(dnsfunc=lambda name, timeout=5: txt)
        covered = {h.lower() for h in signed.signature_fields[b"h"].split(b":")}
        covered = {h.strip() for h in covered}
        assert {b"from", b"to", b"subject", b"date", b"message-id", b"list-id", b"list-unsubscribe",
                b"list-unsubscribe-post"} <= covered  # fmt: skip
    assert len(ids) == len(readers)  # one Message-ID each
    assert _meta_status(sample) == "sent"
    assert {state for state, _, _ in _journal(sample).values()} == {"sent"}
    # Nobody gets a week twice.
    again = run_cli(sample, "send", env=ENV)
    assert again.returncode == 1 and f"{WEEK} was sent already" in again.stderr
    outbox = run_cli(sample, "outbox")
    assert "delivery: 13 sent" in outbox.stdout


def test_message_ids_are_deterministic(sample: Path) -> None:
    from newsletter.delivery.message import load_template

    settings = type("S", (), {"email": type("E", (), {"unsubscribe_url": "https://northbridge-care.example.org/newsletter/unsubscribe", "unsubscribe_mailto": ""})(), "list_id": LIST_ID})()  # fmt: skip
    one = load_template(sample / "outbox" / WEEK, settings, b"k" * 32)
    two = load_template(sample / "outbox" / WEEK, settings, b"k" * 32)
    assert one.personalise("a@example.org").data == two.personalise("a@example.org").data
    assert one.message_id("a@example.org") != one.message_id("b@example.org")
    assert "a@example.org" not in one.message_id("a@example.org")


def test_refused_deferred_dropped_and_failed_recipients(sample: Path, tmp_path: Path) -> None:
    with sink(tmp_path / "sink") as server:
        configure(sample, server.port, retry_delay=1, connections=2)
        readers = ["ok1@example.org", "reject-a@example.org", "later-a@example.org", "drop-a@example.org",
                   "dataerr-a@example.org", "ok2@example.org"]  # fmt: skip
        add_subscribers(sample, readers)
        result = run_cli(sample, "send")
        got = server.recipients()
    assert result.returncode == 0, result.stderr
    journal = _journal(sample)
    assert journal["reject-a@example.org"][0] == "failed" and "550" in journal["reject-a@example.org"][2]
    assert journal["dataerr-a@example.org"][0] == "failed" and "554" in journal["dataerr-a@example.org"][2]
    assert journal["later-a@example.org"][:2] == ("sent", 2)  # 451 once, then accepted
    assert journal["drop-a@example.org"][:2] == ("sent", 2)  # connection dropped after DATA, then resent
    assert sorted(got) == sorted(["ok1@example.org", "ok2@example.org", "later-a@example.org", "drop-a@example.org"])
    assert "failed: reject-a@example.org: 550" in result.stderr
    assert _meta_status(sample) == "sent"


def test_a_wrong_password_marks_nothing(sample: Path, tmp_path: Path) -> None:
    with sink(tmp_path / "sink", security="starttls", auth=True) as server:
        configure(sample, server.port, security="starttls", username=USER, ca_file=str(tmp_path / "sink/tls/ca.pem"))
        add_subscribers(sample, ["a@example.org"])
        result = run_cli(sample, "send", env={"NEWSLETTER_SMTP_PASSWORD": "wrong-password"})
        assert server.received() == []
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: the relay 127.0.0.1:{server.port} refused the login of {USER}: 535")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "wrong-password" not in result.stderr
    assert _meta_status(sample) == "draft" and _journal(sample) == {}


def test_an_unreachable_host_and_an_untrusted_certificate(sample: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # bound, never listening: connections are refused
        configure(sample, closed)
        add_subscribers(sample, ["a@example.org"])
        result = run_cli(sample, "send")
    assert result.returncode == 1
    assert result.stderr == f"error: cannot reach the SMTP relay 127.0.0.1:{closed}: Connection refused\n"
    assert _meta_status(sample) == "draft" and _journal(sample) == {}
    with sink(tmp_path / "tls", security="tls") as server:
        text = (sample / "newsletter.toml").read_text().replace(f"port = {closed}", f"port = {server.port}")
        (sample / "newsletter.toml").write_text(text.replace('security = "none"', 'security = "tls"'))
        untrusted = run_cli(sample, "send")
        assert untrusted.returncode == 1
        assert "cannot verify the TLS certificate of 127.0.0.1" in untrusted.stderr
        text = (
            (sample / "newsletter.toml")
            .read_text()
            .replace("timeout = 10", f'timeout = 10\nca_file = "{tmp_path}/tls/tls/ca.pem"')
        )
        (sample / "newsletter.toml").write_text(text)
        trusted = run_cli(sample, "send")
        assert trusted.returncode == 0, trusted.stderr
        assert server.recipients() == ["a@example.org"]


def test_test_send_dry_run_and_no_record(sample: Path, tmp_path: Path) -> None:
    with sink(tmp_path / "sink") as server:
        configure(sample, server.port)
        add_subscribers(sample, ["a@example.org", "b@example.org"])
        dry = run_cli(sample, "send", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert f"{WEEK}: would send to 2 recipients" in dry.stdout
        example = sample / "outbox" / WEEK / "dry-run" / "1.eml"
        assert _parse(example.read_bytes())["To"].addresses[0].addr_spec == "a@example.org"
        test = run_cli(sample, "send", "--to", "me@example.org")
        assert test.returncode == 0, test.stderr
        assert server.recipients() == ["me@example.org"]
    assert _meta_status(sample) == "draft" and _journal(sample) == {}


def test_a_stale_or_broken_draft_is_refused(sample: Path, tmp_path: Path) -> None:
    configure(sample, 1)
    add_subscribers(sample, ["a@example.org"])
    eml = sample / "outbox" / WEEK / "message.eml"
    good = eml.read_bytes()
    eml.write_bytes(good.replace(b"\r\nMessage-ID:", b"\r\nX-Message-ID:"))
    broken = run_cli(sample, "send")
    assert broken.returncode == 1
    assert broken.stderr.startswith(f"error: outbox/{WEEK} has 1 check error(s): ")
    eml.write_bytes(good)
    post = next((sample / "posts").glob("2026-11-18-*.md"))
    post.write_text(post.read_text().replace("\n---\n", "\n---\nAn added sentence.\n\n", 1))
    stale = run_cli(sample, "send")
    assert stale.returncode == 1
    assert stale.stderr == (
        f"error: outbox/{WEEK} is older than its posts: run 'newsletter build --week {WEEK}', look at it, then send\n"
    )
    assert _meta_status(sample) == "draft"


def test_leftover_sending_rows_become_uncertain_and_are_not_resent(sample: Path, tmp_path: Path) -> None:
    with sink(tmp_path / "sink") as server:
        configure(sample, server.port)
        add_subscribers(sample, ["a@example.org", "b@example.org", "c@example.org"])
        # A run killed between its commit of `sending` and the relay's answer leaves this behind.
        from newsletter.delivery.db import connect
        from newsletter.delivery.journal import Journal

        with connect(sample) as db:
            journal = Journal(db, WEEK)
            journal.prepare()
            assert journal.claim("b@example.org")
        first = run_cli(sample, "send")
        assert first.returncode == 0, first.stderr
        assert sorted(server.recipients()) == ["a@example.org", "c@example.org"]
        assert "1 recipient left 'sending' by an interrupted run marked uncertain" in first.stderr
        assert _journal(sample)["b@example.org"][0] == "uncertain"
        assert _meta_status(sample) == "sent"
        # Asked for, the uncertain ones (and only they) get it; the week stays sent.
        again = run_cli(sample, "send", "--resend-uncertain")
        assert again.returncode == 0, again.stderr
        assert sorted(server.recipients()) == ["a@example.org", "b@example.org", "c@example.org"]
        assert {state for state, _, _ in _journal(sample).values()} == {"sent"}
        assert _meta_status(sample) == "sent"


def test_the_rate_limit_is_honoured(sample: Path, tmp_path: Path) -> None:
    # Only the lower bound is asserted (never faster than the rate); the exact figure is in bench/.
    with sink(tmp_path / "sink") as server:
        configure(sample, server.port, rate=5, connections=2)
        add_subscribers(sample, [f"r{i}@example.org" for i in range(11)])
        started = time.monotonic()
        result = run_cli(sample, "send")
        elapsed = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        assert len(server.recipients()) == 11
    assert elapsed >= 10 / 5 * 0.9


POSTFIX = os.environ.get("NEWSLETTER_TEST_POSTFIX", "")  # host:port of a Postfix relaying to SINK_PORT
POSTFIX_SINK = os.environ.get("NEWSLETTER_TEST_POSTFIX_SINK", "")


def test_end_to_end_through_postfix(sample: Path, tmp_path: Path) -> None:
    if not (POSTFIX and POSTFIX_SINK):
        if os.environ.get("CI") == "true":
            pytest.fail("NEWSLETTER_TEST_POSTFIX and NEWSLETTER_TEST_POSTFIX_SINK must be set in CI (.ci/run)")
        pytest.skip("no Postfix: .ci/run starts one and sets NEWSLETTER_TEST_POSTFIX/_SINK")
    host, port = POSTFIX.rsplit(":", 1)
    with sink(tmp_path / "relay", store=True, port=int(POSTFIX_SINK)) as server:
        configure(sample, int(port), host=host, dkim=True, connections=2)
        txt = make_dkim_key(sample / "dkim.key")
        readers = [f"reader{i}@example.org" for i in range(10)]
        add_subscribers(sample, readers)
        result = run_cli(sample, "send")
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 60
        while len(server.received()) < len(readers) and time.monotonic() < deadline:
            time.sleep(0.2)
        received = server.received()
    assert sorted(r for rec in received for r in rec["rcpt"]) == readers
    for record in received:
        data = Path(record["file"]).read_bytes()
        _parse(data)
        assert b"Received: " in data  # it went through Postfix
        assert dkim.verify(data, dnsfunc=lambda name, timeout=5: txt)


def test_send_with_the_list_in_postgresql(sample: Path, tmp_path: Path) -> None:
    url = os.environ.get("NEWSLETTER_TEST_POSTGRES", "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("NEWSLETTER_TEST_POSTGRES is not set in CI (.ci/run)")
        pytest.skip("PostgreSQL: set NEWSLETTER_TEST_POSTGRES=postgresql://... to a scratch database")
    import uuid

    import psycopg

    schema = "send_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        with sink(tmp_path / "sink") as server:
            configure(sample, server.port)
            text = (sample / "newsletter.toml").read_text()
            scoped = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
            (sample / "newsletter.toml").write_text(text + f'\n[subscribers]\ndatabase = "{scoped}"\n')
            members = tmp_path / "members.csv"
            members.write_text("email,name\na@example.org,Ada\nb@example.org,Bob\nreject-c@example.org,C\n")
            assert run_cli(sample, "subscribers", "import", str(members)).returncode == 0
            result = run_cli(sample, "send")
            assert result.returncode == 0, result.stderr
            assert sorted(server.recipients()) == ["a@example.org", "b@example.org"]
        assert not (sample / "subscribers.db").exists()
        outbox = run_cli(sample, "outbox")
        assert "delivery: 2 sent, 1 failed" in outbox.stdout
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize(
    ("smtp", "password", "message"),
    [
        ({"host": ""}, "", "smtp.host is not set"),
        ({"host": "smtp.example.org", "security": "none"}, "", "smtp.security = none is for a relay on this machine"),
        ({"host": "127.0.0.1", "security": "none", "username": "u"}, "pw", "a login goes only over TLS"),
        ({"host": "smtp.example.org", "username": "u"}, "", "NEWSLETTER_SMTP_PASSWORD"),
    ],
)
def test_settings_that_cannot_work_or_would_leak_a_password(smtp: dict, password: str, message: str) -> None:
    from types import SimpleNamespace

    from newsletter.config import SmtpSettings
    from newsletter.delivery.smtp import SmtpUnavailable, check_smtp_settings

    settings = SimpleNamespace(smtp=SmtpSettings(**smtp))
    with pytest.raises(SmtpUnavailable, match=message):
        check_smtp_settings(settings, password)


def test_bad_delivery_settings_are_reported_with_their_line(empty_project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    toml = empty_project / "newsletter.toml"
    lines = len(toml.read_text().splitlines())
    toml.write_text(
        toml.read_text()
        + '\n[smtp]\nsecurity = "ssl"\nport = 70000\n[subscribers]\ndatabase = "postgresql://u:pw@db/x"\n'
        + '[dkim]\ndomain = "example.org"\n'
    )
    result = cli("check", "-C", empty_project)
    assert result.exit_code == 1
    assert f"newsletter.toml:{lines + 3}: smtp.security must be starttls, tls or none" in result.stderr
    assert f"newsletter.toml:{lines + 4}: smtp.port must be at most 65535" in result.stderr
    assert f"newsletter.toml:{lines + 6}: subscribers.database must not hold a password" in result.stderr
    assert f"newsletter.toml:{lines + 7}: dkim needs domain, selector and key_file together" in result.stderr
    assert "pw@" not in result.stderr
