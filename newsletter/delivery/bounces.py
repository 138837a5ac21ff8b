"""Bounces (RFC 3464 delivery status notifications) and complaints (RFC 5965 ARF feedback reports).

:func:`read_report` turns one message into a :class:`Report` with the email
package alone: the per-recipient fields of a ``message/delivery-status``
part, or the fields of a ``message/feedback-report`` part, and the headers
of the original message (``message/rfc822`` or ``text/rfc822-headers``).
:func:`classify` says what a recipient's status means: ``hard`` (5.x.x:
the address does not work), ``soft`` (4.x.x, or a full mailbox),
``complaint``, or nothing (delayed, delivered, or ``not-spam``).

Pure: no I/O. :mod:`newsletter.delivery.bounce_import` reads mailboxes and
applies the reports to the store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# Statuses that say "try later" although they are 5.x.x: a full mailbox (RFC 3463 x.2.2).
_SOFT_PERMANENT = {"5.2.2"}
COMPLAINT_TYPES = {"abuse", "fraud", "virus", "other"}


@dataclass(frozen=True)
class Recipient:
    """One recipient a report is about."""

    address: str  # Final-Recipient (DSN) or Original-Rcpt-To (ARF); may be empty when redacted
    original: str = ""  # Original-Recipient, when the MTA kept it
    action: str = ""  # failed, delayed, delivered, relayed, expanded; "" for ARF
    status: str = ""  # the RFC 3463 code, e.g. 5.1.1
    diagnostic: str = ""
    kind: str = ""  # hard, soft, complaint or "" (nothing to do)


@dataclass(frozen=True)
class Report:
    """What one bounce or complaint message says."""

    report_id: str  # the report's Message-ID, or a digest of its bytes
    type: str  # "delivery-status" or "feedback-report"
    received: datetime | None
    recipients: list[Recipient] = field(default_factory=list)
    original_message_id: str = ""
    original_to: list[str] = field(default_factory=list)


def parse_message(data: bytes) -> EmailMessage:
    """A message parsed with the standard policy (headers decoded, bodies on demand)."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def read_report(message: EmailMessage, raw: bytes = b"") -> Report | None:
    """The :class:`Report` of a DSN or an ARF message; None for any other message."""
    if message.get_content_type() != "multipart/report":
        return None
    report_type = str(message.get_param("report-type", "") or "").lower()
    parts = list(message.iter_parts())
    original = _original_headers(parts)
    mid = _message_id(message.get("Message-ID", ""))
    report_id = mid or "sha256:" + hashlib.sha256(raw or message.as_bytes()).hexdigest()[:32]
    received = _date(message.get("Date"))
    original_mid = _message_id(original.get("Message-ID", "")) if original else ""
    original_to = [addr.lower() for _, addr in getaddresses(original.get_all("To", []))] if original else []
    original_to = [a for a in original_to if "@" in a]
    if report_type == "delivery-status":
        recipients = _dsn_recipients(parts)
    elif report_type == "feedback-report":
        recipients = _arf_recipients(parts)
    else:
        return None
    if recipients is None:
        return None
    return Report(report_id, report_type, received, recipients, original_mid, original_to)


def classify(action: str, status: str, diagnostic: str = "") -> str:
    """``hard``, ``soft`` or ``""`` for one DSN recipient's Action, Status and Diagnostic-Code.

    A generic ``5.0.0`` (Exim writes it for every failure) gives way to the
    more precise code of the remote server's reply, e.g. ``552 5.2.2``.
    """
    action = action.lower()
    if action != "failed":
        return ""  # delayed: the MTA is still trying; delivered, relayed, expanded: no problem
    code = _STATUS.search(status)
    if code is None:
        return "hard"  # failed without a usable status: the MTA gave up
    text = code.group(0)
    precise = _STATUS.search(diagnostic)
    if text.endswith(".0.0") and precise and precise.group(1) == code.group(1):
        text = precise.group(0)
    if text.startswith("4") or text in _SOFT_PERMANENT:
        return "soft"
    return "hard" if text.startswith("5") else ""


def _dsn_recipients(parts: Sequence[Message]) -> list[Recipient] | None:
    status_part = next((p for p in parts if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return None
    payload = status_part.get_payload()
    if isinstance(payload, str):  # a part the parser could not split: parse it as header blocks ourselves
        payload = [HeaderParser().parsestr(b) for b in re.split(r"\r?\n\r?\n", payload.strip()) if b.strip()]
    blocks = [b for b in payload if isinstance(b, Message)]
    found = []
    for block in blocks:  # the first block is about the message (no Final-Recipient): skipped below
        final = _address_field(block.get("Final-Recipient", ""))
        if not final:
            continue
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
        original = _address_field(block.get("Original-Recipient", ""))
        found.append(Recipient(final, original, action, status, diagnostic[:300], classify(action, status, diagnostic)))
    return found


def _arf_recipients(parts: Sequence[Message]) -> list[Recipient] | None:
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if feedback is None:
        return None
    payload = feedback.get_payload()
    if isinstance(payload, list):
        fields = payload[0] if payload and isinstance(payload[0], Message) else Message()
    else:
        fields = HeaderParser().parsestr(str(payload).strip())
    kind_text = str(fields.get("Feedback-Type", "")).strip().lower()
    kind = "complaint" if kind_text in COMPLAINT_TYPES else ""
    addresses = [_address_field(v) for v in fields.get_all("Original-Rcpt-To", [])]
    addresses = [a for a in addresses if a] or [""]  # redacted: only the Message-ID or the To can tell
    return [Recipient(a, "", "", kind_text, "", kind) for a in addresses]


def _original_headers(parts: Sequence[Message]) -> Message | None:
    """The returned headers of the original message (the third part of a report, by RFC 6522)."""
    for part in parts[1:]:
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if kind in ("text/rfc822-headers", "text/global-headers"):
            text = part.get_payload(decode=True)
            return HeaderParser().parsestr(text.decode("utf-8", "replace") if isinstance(text, bytes) else "")
    return None


def _address_field(value: object) -> str:
    """The address of ``rfc822; someone@example.org`` (the address type is optional in practice)."""
    text = str(value or "").strip()
    _, _, address = text.rpartition(";")
    address = address.strip().strip("<>").strip()
    return address.lower() if "@" in address else ""


def _message_id(value: object) -> str:
    match = re.search(r"<[^<>\s]+>", str(value or ""))
    return match.group(0) if match else ""


def _date(value: object) -> datetime | None:
    try:
        return parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        return None
