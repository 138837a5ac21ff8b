"""Subscriber lists as CSV: the exports of listmonk, Mailchimp and Buttondown in, one format out.

Formats are told apart by their header row (names matched without regard to
case; ``--format`` overrides):

- listmonk: ``email,name,attributes,status`` (``uuid``, ``created_at``...
  may come too); status ``enabled`` / ``disabled`` / ``blocklisted``, or a
  subscription status ``confirmed`` / ``unconfirmed`` / ``unsubscribed``.
- Mailchimp: ``Email Address,First Name,Last Name,...``; its unsubscribed
  export (with ``UNSUB_TIME``) and cleaned export (``CLEAN_TIME``) give
  ``unsubscribed`` and ``bounced`` addresses.
- Buttondown: ``email,...,subscriber_type`` (``regular``, ``premium``,
  ``unactivated``, ``unsubscribed``, ``removed``, ``undeliverable``...).
- Anything else with an ``email`` column (``name`` and ``status`` optional).

Every bad row is reported as ``FILE:line: message`` and nothing is written
when there is one. The file may start with a BOM; a file that is not UTF-8
is read as Windows-1252 or Latin-1, and a warning says so.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from newsletter.delivery.subscribers import STATUSES, AddressError, Subscriber, check_name, normalize_email
from newsletter.errors import Problems

FORMATS = ("auto", "listmonk", "mailchimp", "buttondown", "plain")
EXPORT_COLUMNS = ("email", "name", "status", "source", "consent_at", "status_changed_at", "created_at", "attributes")
_STATUS_WORDS = {
    **{s: s for s in STATUSES},
    # listmonk
    "enabled": "subscribed", "confirmed": "subscribed", "unconfirmed": "pending",
    "disabled": "unsubscribed", "blocklisted": "unsubscribed",
    # Buttondown
    "regular": "subscribed", "premium": "subscribed", "churning": "subscribed", "gifted": "subscribed",
    "trialed": "subscribed", "past_due": "subscribed", "paused": "subscribed", "unpaid": "subscribed",
    "unactivated": "pending", "removed": "unsubscribed", "undeliverable": "bounced", "spammy": "complained",
    # Mailchimp's own words, in a status column
    "cleaned": "bounced", "transactional": "pending", "archived": "unsubscribed",
}  # fmt: skip
_EMAIL = ("email", "email address", "e-mail", "e-mail address", "subscriber_email")
_CONSENT = ("confirm_time", "optin_time", "creation_date", "created_at", "subscribed_at", "date_subscribed")


@dataclass(frozen=True)
class Decoded:
    """A CSV file's text and how it was decoded."""

    text: str
    encoding: str


def decode(data: bytes) -> Decoded:
    """UTF-8 (a BOM allowed), else Windows-1252, else Latin-1 (which never fails)."""
    try:
        return Decoded(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(data.decode("cp1252"), "Windows-1252")
    except UnicodeDecodeError:
        return Decoded(data.decode("latin-1"), "Latin-1")


def detect(header: list[str]) -> str:
    """The export format a header row belongs to."""
    names = {h.strip().lower() for h in header}
    if "email address" in names:
        return "mailchimp"
    if "subscriber_type" in names:
        return "buttondown"
    if "email" in names and ("attributes" in names or "uuid" in names):
        return "listmonk"
    return "plain"


def _mailchimp_status(names: set[str], file_name: str) -> str:
    if "clean_time" in names or "cleaned" in file_name:
        return "bounced"
    if "unsub_time" in names or "unsubscribed" in file_name:
        return "unsubscribed"
    return "subscribed"


def _consent(row: dict[str, str]) -> str | None:
    """A consent time as given (``2024-01-05 10:00:00``) in the stored form, or None."""
    for key in _CONSENT:
        value = row.get(key, "").strip()
        if len(value) >= 19 and value[4] == "-" and value[10] in " T":
            return value[:10] + "T" + value[11:19] + "Z"
        if len(value) == 10 and value[4] == "-":
            return value + "T00:00:00Z"
    return None


def read_subscribers(path: Path, data: bytes, problems: Problems, fmt: str = "auto") -> list[Subscriber]:
    """Every row of a CSV export as a checked :class:`Subscriber`; problems go to ``problems``."""
    decoded = decode(data)
    if decoded.encoding != "utf-8":
        problems.warn(path, 1, f"not UTF-8: read as {decoded.encoding}; check the names, or save the file as UTF-8")
    reader = csv.reader(io.StringIO(decoded.text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.error(path, 1, "the file is empty")
        return []
    except csv.Error as exc:
        problems.error(path, 1, f"not a CSV file: {exc}")
        return []
    names = [h.strip().lower() for h in header]
    email_column = next((names.index(c) for c in _EMAIL if c in names), None)
    if email_column is None:
        problems.error(path, 1, f"no email column (expected one of: {', '.join(_EMAIL)}); the header is {header[:6]}")
        return []
    kind = detect(header) if fmt == "auto" else fmt
    default_status = _mailchimp_status(set(names), path.name.lower()) if kind == "mailchimp" else "subscribed"
    source = f"import:{kind}"
    rows: list[tuple[int, dict[str, str]]] = []
    line = 1
    try:
        for record in reader:
            start = line + 1
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(names):
                problems.error(path, start, f"{len(record)} fields, but the header has {len(names)}")
                continue
            rows.append((start, dict(zip(names, record, strict=False))))
    except csv.Error as exc:
        problems.error(path, reader.line_num, f"bad CSV: {exc}")
        return []
    email_key = names[email_column]
    emails = _normalize_all([row.get(email_key, "") for _, row in rows])
    result: list[Subscriber] = []
    for (number, row), email in zip(rows, emails, strict=True):
        if isinstance(email, AddressError):
            problems.error(path, number, str(email))
            continue
        subscriber = _subscriber(email, row, kind, default_status, source, path, number, problems)
        if subscriber is not None:
            result.append(subscriber)
    return result


def _subscriber(
    email: str, row: dict[str, str], kind: str, default: str, source: str, path: Path, line: int, problems: Problems
) -> Subscriber | None:
    if kind == "mailchimp":
        name = " ".join(p.strip() for p in (row.get("first name", ""), row.get("last name", "")) if p.strip())
    else:
        name = row.get("name", "")
    try:
        name = check_name(name)
    except AddressError as exc:
        problems.error(path, line, str(exc))
        return None
    word = (row.get("subscriber_type") or row.get("status") or "").strip().lower()
    if kind == "listmonk" and row.get("subscription_status", "").strip():
        word = row["subscription_status"].strip().lower() if word != "blocklisted" else word
    status = _STATUS_WORDS.get(word) if word else default
    if status is None:
        problems.error(path, line, f"unknown status {word!r}")
        return None
    attributes: dict[str, Any] = {}
    raw_attributes = row.get("attributes", "").strip()
    if raw_attributes:
        try:
            attributes = json.loads(raw_attributes)
        except json.JSONDecodeError as exc:
            problems.error(path, line, f"attributes is not JSON: {exc.msg}")
            return None
        if not isinstance(attributes, dict):
            problems.error(path, line, "attributes must be a JSON object")
            return None
    return Subscriber(email, name, status, source, _consent(row), attributes=attributes)


def _normalize_slice(shared: list[str], start: int, stop: int) -> list[str | AddressError]:
    out: list[str | AddressError] = []
    for value in shared[start:stop]:
        try:
            out.append(normalize_email(value))
        except AddressError as exc:
            out.append(exc)
    return out


def _normalize_all(values: list[str]) -> list[str | AddressError]:
    """Validate many addresses, over several processes for a long list (the validator is pure Python)."""
    from newsletter.parallel import map_slices, workers

    jobs = workers(len(values)) if len(values) >= 5000 else 1
    if jobs == 1:
        return _normalize_slice(values, 0, len(values))
    result: list[str | AddressError] = []
    for _, part in map_slices(_normalize_slice, values, len(values), jobs, min_size=2000):
        result.extend(part)
    return result


def write_subscribers(out: TextIO, subscribers: Iterable[Subscriber]) -> int:
    """Write every row as CSV (the columns of :data:`EXPORT_COLUMNS`); return how many."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for s in subscribers:
        attributes = json.dumps(s.attributes, ensure_ascii=False, sort_keys=True) if s.attributes else ""
        writer.writerow(
            (s.email, s.name, s.status, s.source, s.consent_at or "", s.status_changed_at, s.created_at, attributes)
        )
        count += 1
    return count
