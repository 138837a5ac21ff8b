"""`newsletter subscribers import/export/list/add/remove`: the CSV exports people have, and bad ones."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from pathlib import Path

import pytest

LONG = os.environ.get("NEWSLETTER_LONG_TESTS") == "1"


def _rows(project: Path) -> dict[str, tuple[str, str, str]]:
    path = project / "subscribers.db"
    if not path.exists():
        return {}
    with sqlite3.connect(path) as db:
        return {e: (n, s, a) for e, n, s, a in db.execute("SELECT email, name, status, attributes FROM subscribers")}


def test_listmonk_export(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "listmonk.csv"
    path.write_text(
        "uuid,email,name,attributes,status,created_at,updated_at\n"
        'a1,Ada@Example.org,Ada,"{""city"": ""Berlin""}",enabled,2024-01-05 10:00:00,2024-01-05\n'
        "a2,bob@example.org,Bob,{},blocklisted,2024-01-05 10:00:00,2024-01-05\n"
        "a3,cy@example.org,,,disabled,,\n"
    )
    result = cli("subscribers", "import", path, "-C", empty_project)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: 3 rows: 3 added, 0 updated, 0 kept")
    rows = _rows(empty_project)
    assert rows["ada@example.org"] == ("Ada", "subscribed", '{"city": "Berlin"}')
    assert rows["bob@example.org"][1] == "unsubscribed" and rows["cy@example.org"][1] == "unsubscribed"


def test_mailchimp_exports_with_bom_and_suppression_files(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    header = '"Email Address","First Name","Last Name",Address,"MEMBER_RATING","OPTIN_TIME","CONFIRM_TIME",TAGS'
    subscribed = tmp_path / "subscribed_members_export_1a2b.csv"
    subscribed.write_bytes(
        ("\ufeff" + header + "\r\n"
         'ada@example.org,Ada,Lovelace,,2,"2023-02-01 08:00:00","2023-02-01 08:05:00",\r\n'
         'eve@example.org,Eve,,,2,"2023-02-01 08:00:00","2023-02-01 08:05:00",\r\n').encode()
    )  # fmt: skip
    unsubscribed = tmp_path / "unsubscribed_members_export_1a2b.csv"
    unsubscribed.write_text(
        header + ',"UNSUB_TIME","UNSUB_CAMPAIGN_TITLE"\neve@example.org,Eve,,,2,,,,"2024-01-01 10:00:00",x\n'
    )
    cleaned = tmp_path / "cleaned_members_export_1a2b.csv"
    cleaned.write_text(
        header + ',"CLEAN_TIME","CLEAN_CAMPAIGN_TITLE"\nold@example.org,,,,1,,,,"2024-01-01 10:00:00",x\n'
    )
    for path in (subscribed, unsubscribed, cleaned):
        result = cli("subscribers", "import", path, "-C", empty_project)
        assert result.exit_code == 0, result.output
    rows = _rows(empty_project)
    assert rows["ada@example.org"][:2] == ("Ada Lovelace", "subscribed")
    assert rows["eve@example.org"][1] == "unsubscribed"
    assert rows["old@example.org"][1] == "bounced"
    # Importing the subscribed file again never brings Eve back.
    again = cli("subscribers", "import", subscribed, "-C", empty_project)
    assert "1 kept as they were" in again.stdout
    assert _rows(empty_project)["eve@example.org"][1] == "unsubscribed"
    listed = cli("subscribers", "list", "-C", empty_project)
    assert "subscribed           1" in listed.stdout and "unsubscribed         1" in listed.stdout
    assert "bounced              1" in listed.stdout


def test_buttondown_export(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "buttondown.csv"
    path.write_text(
        "id,Email,notes,metadata,tags,creation_date,subscriber_type\n"
        "1,a@example.org,,{},[],2024-03-01T10:00:00Z,regular\n"
        "2,b@example.org,,{},[],2024-03-01T10:00:00Z,unactivated\n"
        "3,c@example.org,,{},[],2024-03-01T10:00:00Z,undeliverable\n"
        "4,d@example.org,,{},[],2024-03-01T10:00:00Z,premium\n"
    )
    assert cli("subscribers", "import", path, "-C", empty_project).exit_code == 0
    statuses = {e: s for e, (_, s, _) in _rows(empty_project).items()}
    assert statuses == {"a@example.org": "subscribed", "b@example.org": "pending",
                        "c@example.org": "bounced", "d@example.org": "subscribed"}  # fmt: skip


def test_bad_rows_are_all_reported_and_nothing_is_written(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.csv"
    path.write_text(
        "email,name,status\n"
        "good@example.org,Good,subscribed\n"
        "not-an-address,X,subscribed\n"
        '"eve@example.org","Eve\nBcc: victim@example.org",subscribed\n'
        "bob@example,Bob,subscribed\n"
        "carl@example.org,Carl,vip\n"
        "dan@example.org,Dan,subscribed,extra\n"
    )
    result = cli("subscribers", "import", path, "-C", empty_project)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path}:3: not a valid address 'not-an-address': ")
    assert lines[1] == f"{path}:4: the name holds a line break"
    assert lines[2].startswith(f"{path}:6: not a valid address 'bob@example': ")
    assert lines[3] == f"{path}:7: unknown status 'vip'"
    assert lines[4] == f"{path}:8: 4 fields, but the header has 3"
    assert lines[5] == "5 errors; nothing was written."
    assert _rows(empty_project) == {}


def test_a_file_without_an_email_column(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "names.csv"
    path.write_text("name,city\nAda,Berlin\n")
    result = cli("subscribers", "import", path, "-C", empty_project)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:1: no email column (expected one of: email, email address")


def test_latin1_is_read_with_a_warning(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,name\nzoe@example.org,Zoë Müller\n".encode("latin-1"))
    result = cli("subscribers", "import", path, "-C", empty_project)
    assert result.exit_code == 0, result.output
    assert f"{path}:1: warning: not UTF-8: read as Windows-1252" in result.stderr
    assert _rows(empty_project)["zoe@example.org"][0] == "Zoë Müller"


def test_add_remove_export_roundtrip(empty_project: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("subscribers", "add", "Ada@Example.org", "--name", "Ada", "-C", empty_project).stdout == (
        "ada@example.org: subscribed\n"
    )
    assert cli("subscribers", "add", "bob@example.org", "-C", empty_project).exit_code == 0
    assert (
        cli("subscribers", "remove", "bob@example.org", "-C", empty_project).stdout == "bob@example.org: unsubscribed\n"
    )
    back = cli("subscribers", "add", "bob@example.org", "-C", empty_project)
    assert back.exit_code == 0 and "bob@example.org is unsubscribed: left as it is" in back.stderr
    bad = cli("subscribers", "add", "nobody", "-C", empty_project)
    assert bad.exit_code == 1 and bad.stderr.startswith("error: not a valid address 'nobody'")
    missing = cli("subscribers", "remove", "zed@example.org", "-C", empty_project)
    assert missing.exit_code == 1 and "zed@example.org is not in the subscriber list" in missing.stderr
    out = tmp_path / "export.csv"
    assert cli("subscribers", "export", out, "-C", empty_project).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["email"], r["name"], r["status"], r["source"]) for r in rows] == [
        ("ada@example.org", "Ada", "subscribed", "cli"),
        ("bob@example.org", "", "unsubscribed", "cli"),
    ]
    # The export imports again into another project as it was.
    other = tmp_path / "other"
    other.mkdir()
    (other / "newsletter.toml").write_text((empty_project / "newsletter.toml").read_text())
    assert cli("subscribers", "import", out, "-C", other).exit_code == 0
    assert {e: s for e, (_, s, _) in _rows(other).items()} == {"ada@example.org": "subscribed",
                                                                 "bob@example.org": "unsubscribed"}  # fmt: skip


@pytest.mark.parametrize("count", [100_000 if LONG else 20_000])
def test_a_long_list(empty_project: Path, tmp_path: Path, cli, count: int) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "long.csv"
    path.write_text("email,name\n" + "".join(f"reader{i}@example{i % 97}.org,Reader {i}\n" for i in range(count)))
    result = cli("subscribers", "import", path, "-C", empty_project)
    assert result.exit_code == 0, result.output
    assert f"{count:,} rows".replace(",", "") in result.stdout.replace(",", "")
    with sqlite3.connect(empty_project / "subscribers.db") as db:
        assert db.execute("SELECT COUNT(*) FROM subscribers WHERE status = 'subscribed'").fetchone() == (count,)
