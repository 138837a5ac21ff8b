"""The database layer, the subscriber store and the unsubscribe tokens.

The same tests run on SQLite and, when NEWSLETTER_TEST_POSTGRES holds a
postgresql:// URL of a scratch database, on PostgreSQL (CI sets it; without
it the PostgreSQL cases skip locally and fail when CI=true).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from newsletter.delivery import db as dbmod
from newsletter.delivery.subscribers import (
    AddressError,
    SubscriberStore,
    SuppressedError,
    normalize_email,
)
from newsletter.delivery.tokens import (
    SecretError,
    create_secret_file,
    load_secret,
    make_token,
    read_unsubscribe_query,
    unsubscribe_link,
    verify_token,
)

PG_URL = os.environ.get("NEWSLETTER_TEST_POSTGRES", "")


def _pg_settings() -> SimpleNamespace:
    if not PG_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("NEWSLETTER_TEST_POSTGRES is not set in CI")
        pytest.skip("PostgreSQL: set NEWSLETTER_TEST_POSTGRES=postgresql://... to a scratch database")
    return SimpleNamespace(subscribers=SimpleNamespace(database=PG_URL))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dbmod.Database]:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        db = dbmod.connect(tmp_path)
        yield db
        db.close()
        return
    settings = _pg_settings()
    db = dbmod.connect(tmp_path, settings, migrate=False)
    schema = "t_" + uuid.uuid4().hex[:12]
    db.execute(f"CREATE SCHEMA {schema}")
    db.execute(f"SET search_path TO {schema}")
    db.migrate()
    yield db
    db.execute(f"DROP SCHEMA {schema} CASCADE")
    db.close()


def test_sqlite_is_created_on_first_use_in_wal_mode(tmp_path: Path) -> None:
    db = dbmod.connect(tmp_path)
    assert (tmp_path / "subscribers.db").is_file()
    assert db.fetchone("PRAGMA journal_mode") == ("wal",)
    assert db.applied_migrations() == [v for v, _, _ in dbmod.available_migrations()]
    db.close()
    # Opening again applies nothing twice.
    again = dbmod.connect(tmp_path)
    assert again.migrate() == []
    again.close()


def test_migrations_are_numbered_and_recorded(database: dbmod.Database) -> None:
    names = [name for _, name, _ in dbmod.available_migrations()]
    assert names[:2] == ["0001_subscribers", "0002_deliveries"]
    rows = database.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [r[1] for r in rows] == names


def test_a_failed_transaction_writes_nothing(database: dbmod.Database) -> None:
    store = SubscriberStore(database)
    with pytest.raises(RuntimeError), database.transaction():
        store.add("a@example.org")
        raise RuntimeError("boom")
    assert store.get("a@example.org") is None
    assert database.sql("SELECT ? WHERE 'a?' = '%'").count("?") == (2 if database.kind == "sqlite" else 1)


def test_placeholders_are_adapted_outside_quotes_only() -> None:
    assert dbmod._pyformat("SELECT ? , '?%' , x % 2") == "SELECT %s , '?%%' , x %% 2"


def test_split_statements_keeps_comments_out() -> None:
    script = "-- header\nCREATE TABLE a (x TEXT); -- after\nCREATE INDEX i ON a (x);\n-- trailing\n"
    assert dbmod.split_statements(script) == [
        "-- header\nCREATE TABLE a (x TEXT); -- after",
        "CREATE INDEX i ON a (x);",
    ]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("  Ada@Example.ORG ", "ada@example.org"),
        ("ada+news@bücher.example", "ada+news@xn--bcher-kva.example"),
    ],
)
def test_addresses_are_normalised(given: str, stored: str) -> None:
    assert normalize_email(given) == stored


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b", "Ada <ada@example.org>", "a@@example.org", "a b@example.org"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(AddressError):
        normalize_email(bad)


def test_store_add_get_counts_and_iterate(database: dbmod.Database) -> None:
    store = SubscriberStore(database)
    store.add("b@example.org", "Bea", source="test", attributes={"city": "Köln"})
    store.add("a@example.org")
    store.add("p@example.org", status="pending")
    got = store.get("B@example.org")
    assert got is not None and got.name == "Bea" and got.attributes == {"city": "Köln"} and got.source == "test"
    assert got.status_changed_at.endswith("Z")
    assert store.counts() == {"subscribed": 2, "pending": 1, "unsubscribed": 0, "bounced": 0, "complained": 0}
    assert [s.email for s in store.iter_status("subscribed", batch=1)] == ["a@example.org", "b@example.org"]
    assert len(list(store.iter_status())) == 3


def test_nothing_but_a_confirmed_resubscription_brings_a_suppressed_address_back(database: dbmod.Database) -> None:
    store = SubscriberStore(database)
    for status in ("unsubscribed", "bounced", "complained"):
        address = f"{status}@example.org"
        store.add(address)
        store.set_status(address, status)
        # An import or an add listing it as subscribed keeps it suppressed ...
        assert store.add(address, status="subscribed").status == status
        assert store.add_many([store.get(address).__class__(address, status="pending")])["kept"] == 1
        # ... and so does a direct status change.
        with pytest.raises(SuppressedError):
            store.set_status(address, "subscribed")
        assert store.get(address).status == status
        # Only the confirmed re-subscription does it, with a new consent time.
        back = store.confirm_resubscription(address, source="service", consent_at="2026-12-01T10:00:00Z")
        assert back.status == "subscribed" and back.consent_at == "2026-12-01T10:00:00Z"


def test_a_suppressing_status_always_applies(database: dbmod.Database) -> None:
    store = SubscriberStore(database)
    store.add("x@example.org")
    assert store.add("x@example.org", status="unsubscribed").status == "unsubscribed"
    assert store.set_status("x@example.org", "complained").status == "complained"


def test_a_name_with_a_line_break_is_refused(database: dbmod.Database) -> None:
    store = SubscriberStore(database)
    with pytest.raises(AddressError, match="line break"):
        store.add("x@example.org", "Eve\r\nBcc: victim@example.org")
    assert store.get("x@example.org") is None


def test_tokens_verify_only_for_their_list_and_address() -> None:
    secret = b"s" * 32
    token = make_token(secret, "news.example.org", "ada@example.org")
    assert len(token) == 43 and token.replace("-", "").replace("_", "").isalnum()
    assert verify_token(secret, "news.example.org", "ada@example.org", token)
    assert not verify_token(secret, "news.example.org", "bob@example.org", token)
    assert not verify_token(secret, "other.example.org", "ada@example.org", token)
    assert not verify_token(b"t" * 32, "news.example.org", "ada@example.org", token)
    assert not verify_token(secret, "news.example.org", "ada@example.org", token[:-1] + "é")
    link = unsubscribe_link("https://news.example.org/unsubscribe?lang=en", secret, "news.example.org", "a+b@x.org")
    assert link.startswith("https://news.example.org/unsubscribe?lang=en&email=a%2Bb%40x.org&token=")
    email, got = read_unsubscribe_query(link.split("?", 1)[1])
    assert email == "a+b@x.org" and verify_token(secret, "news.example.org", email, got)


def test_secret_from_the_environment_or_a_private_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSLETTER_SECRET", raising=False)
    with pytest.raises(SecretError, match="no unsubscribe secret"):
        load_secret(tmp_path)
    path = create_secret_file(tmp_path)
    assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_secret_file(tmp_path) is None  # never replaced
    secret = load_secret(tmp_path)
    assert len(secret) >= 32
    path.chmod(0o644)
    with pytest.raises(SecretError, match="readable by others") as info:
        load_secret(tmp_path)
    assert secret.decode() not in str(info.value)
    monkeypatch.setenv("NEWSLETTER_SECRET", "e" * 40)
    assert load_secret(tmp_path) == b"e" * 40


def test_init_makes_the_secret_and_ignores_personal_data(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("init", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    secret = tmp_path / "p" / ".newsletter-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    ignored = (tmp_path / "p" / ".gitignore").read_text().splitlines()
    assert "subscribers.db" in ignored and ".newsletter-secret" in ignored
    assert secret.read_text().strip() not in result.output
    text = (tmp_path / "p" / "newsletter.toml").read_text()
    for section in ("[subscribers]", "[smtp]", "[dkim]", "[service]"):
        assert section in text


def test_two_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    one = dbmod.connect(tmp_path)
    two = dbmod.connect(tmp_path)
    SubscriberStore(one).add("a@example.org")
    assert SubscriberStore(two).get("a@example.org") is not None
    raw = sqlite3.connect(tmp_path / "subscribers.db")
    assert raw.execute("SELECT COUNT(*) FROM subscribers").fetchone() == (1,)
    raw.close()
    one.close()
    two.close()


def test_an_address_that_unsubscribes_during_a_send_is_not_claimed(database: dbmod.Database) -> None:
    """The claim before DATA re-reads the subscriber's status: leaving mid-send means no message."""
    from newsletter.delivery.journal import Journal

    store = SubscriberStore(database)
    store.add("stay@example.org")
    store.add("leave@example.org")
    journal = Journal(database, "2026-W47")
    assert journal.prepare() == 2
    due = [d.email for d in journal.due()]  # the run has listed both recipients ...
    assert due == ["leave@example.org", "stay@example.org"]
    store.set_status("leave@example.org", "unsubscribed")  # ... then one clicks unsubscribe
    assert journal.claim("leave@example.org") is False
    assert journal.claim("stay@example.org") is True
    states = dict(database.fetchall("SELECT email, state FROM deliveries WHERE week = ?", ("2026-W47",)))
    assert states == {"leave@example.org": "failed", "stay@example.org": "sending"}
