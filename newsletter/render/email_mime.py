"""The digest as an RFC 5322 message: multipart/alternative, CRLF, reproducible.

Nothing here is random: the Date, the Message-ID and the MIME boundaries
come from the week and the list, so the same input gives the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from urllib.parse import quote

from newsletter.render.headers import LINE_BREAK, HeaderError, parse_mailbox, phrase, unstructured, verify_message

__all__ = ["HeaderError", "Envelope", "build_message", "list_unsubscribe", "message_id", "one_line"]
ONE_CLICK = "List-Unsubscribe=One-Click"
# A boundary starting with "=_" never occurs in quoted-printable text, which
# writes every "=" as "=3D".
BOUNDARY = "=_newsletter-{week}"
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
# Quoted-printable lines may hold at most 76 characters (RFC 2045); the
# email package encodes body lines to the policy's max_line_length.
_BUILD = SMTP.clone(max_line_length=76)
_OUTPUT = SMTP.clone(refold_source="none")  # raw headers (set_raw) go out as folded here


@dataclass(frozen=True)
class Envelope:
    """The headers of one digest message."""

    sender: str
    to: str
    reply_to: str
    subject: str
    date: datetime
    message_id: str
    list_title: str
    list_id: str
    unsubscribe_url: str
    unsubscribe_mailto: str = ""


def one_line(name: str, value: str) -> str:
    """Refuse a header value with a line break; settings and titles are checked
    on load, so this only guards against a bug letting one through."""
    if LINE_BREAK.search(value):
        raise HeaderError(f"the {name} header would hold a line break: {value!r}")
    return value


def message_id(week_label: str, list_id: str) -> str:
    """``<digest-2026-W47@list.example.org>``: stable for a list and a week."""
    return f"<digest-{week_label}@{list_id}>"


def list_unsubscribe(url: str, mailto: str) -> str:
    """``<https://...>`` and optionally ``, <mailto:...>`` (RFC 2369, RFC 8058),
    folded after the comma."""
    if not url.startswith("https://"):
        raise HeaderError("email.unsubscribe_url must be set to an https URL: List-Unsubscribe needs it (RFC 8058)")
    value = f"<{quote(one_line('List-Unsubscribe', url), safe=_URL_SAFE)}>"
    if mailto:
        value += f",\n <{quote(one_line('List-Unsubscribe', mailto), safe=_URL_SAFE)}>"
    return value


def build_message(envelope: Envelope, text: str, html: str, week_label: str) -> tuple[bytes, int]:
    """The whole message (text/plain then text/html, UTF-8, quoted-printable,
    CRLF) and the size of its transfer-encoded HTML part, which Gmail clips."""
    e = envelope
    msg = EmailMessage(policy=_BUILD)
    mailboxes = {}
    for name, value in (("From", e.sender), ("To", e.to), ("Reply-To", e.reply_to)):
        try:
            if value:
                mailboxes[name] = parse_mailbox(value)
        except ValueError as exc:  # settings are checked on load: only a bug gets here
            raise HeaderError(f"the {name} header {exc}: {value!r}") from None
    headers: list[tuple[str, object]] = [
        *mailboxes.items(),
        ("Subject", one_line("Subject", e.subject)),
        ("Date", format_datetime(e.date)),
        ("Message-ID", one_line("Message-ID", e.message_id)),
        ("List-Id", f"{phrase(one_line('List-Id', e.list_title))} <{one_line('List-Id', e.list_id)}>"),
    ]
    for name, value in headers:
        raw = unstructured(value) if name == "Subject" and isinstance(value, str) else None
        if raw is not None:
            msg.set_raw(name, raw)  # encoded words of ours: the email package would decode "=?" itself
        elif name == "List-Id" and "=?" in str(value):
            msg.set_raw(name, str(value))
        else:
            msg[name] = value
    # Stored as written: Python would fold a long URL into RFC 2047 encoded
    # words, which no mail provider decodes in List-Unsubscribe. The https
    # URL stays on the header's first line even past 78 characters (the
    # hard limit is 998), for the simple parsers of bulk-mail tools.
    msg.set_raw("List-Unsubscribe", list_unsubscribe(e.unsubscribe_url, e.unsubscribe_mailto))
    msg["List-Unsubscribe-Post"] = ONE_CLICK
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg.set_boundary(BOUNDARY.format(week=week_label))
    encoded = msg.get_payload()[1].get_payload()
    eml = msg.as_bytes(policy=_OUTPUT)
    verify_message(eml, msg.keys(), {"Subject": e.subject}, mailboxes)
    return eml, len(re.sub(r"\r?\n", "\r\n", encoded))
