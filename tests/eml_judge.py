"""An outside judge of digest messages: Python's email parser with its default policy.

Used by the autouse fixture in conftest.py on every message the tests have
the outbox write, and by test_headers.py directly.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

# The headers of a digest, in order; Reply-To only when the settings have one.
DIGEST_HEADERS = [
    "From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Id",
    "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
]  # fmt: skip
BREAKS = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
HIDDEN = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def parse(eml: bytes) -> EmailMessage:
    """The message as the email package reads it."""
    message = BytesParser(policy=policy.default).parsebytes(eml)
    assert isinstance(message, EmailMessage)
    return message


def judge_digest(eml: bytes, subject: str | None = None) -> EmailMessage:
    """Assert that ``eml`` is a sound digest: the expected headers once each, nothing injected, two parts."""
    head = eml.split(b"\r\n\r\n", 1)[0]
    assert all(re.match(rb"^([A-Za-z-]+: |[ \t])", line) for line in head.split(b"\r\n")), head
    assert head.isascii(), "header lines are ASCII (encoded words for anything else)"
    message = parse(eml)
    assert not message.defects, message.defects
    names = list(message.keys())
    assert names == [n for n in DIGEST_HEADERS if n != "Reply-To" or "Reply-To" in names], names
    for name in names:
        header = message[name]
        assert not header.defects, (name, header.defects)
        assert not BREAKS.search(str(header)), (name, str(header))
        if name in ("Subject", "From", "List-Id"):
            assert not HIDDEN.search(str(header)), (name, str(header))
    for name in ("From", "To", "Reply-To"):
        if name in names:
            assert len(message[name].addresses) == 1 and not message[name].groups[0].display_name, name
    if subject is not None:
        assert str(message["Subject"]) == subject
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert not part.defects and part.get_content_charset() == "utf-8"
        part.get_content()
    return message
