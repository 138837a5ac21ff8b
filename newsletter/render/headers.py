"""Header values that cannot inject: parsed addresses, text checked after a round trip.

Python's email package decodes an RFC 2047 encoded word found in a value
it is given, and before the CVE-2024-6923 fix it writes what that decodes
to (a CR LF, say) out raw: ``=?utf-8?q?News=0D=0ABcc:_x@evil.example?=`` in a
title became a real Bcc header. So:

- a value holding ``=?`` is written as encoded words of ours, so that it
  reads back as the very text it is (:func:`unstructured`);
- addresses are parsed by the email package's own address parser and must
  come out as exactly one mailbox, ASCII in its address part
  (:func:`parse_mailbox`);
- the finished message is parsed again, and every header must read back as
  the value meant, with no line break, and without invisible formatting
  characters in Subject, From and List-Id (:func:`verify_message`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from newsletter.errors import NewsletterError

if TYPE_CHECKING:
    from email.headerregistry import Address

# Everything str.splitlines() breaks at, and what a mail client may treat as one.
LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Bidi controls and zero-width characters: they make a Subject or a sender
# read as something else (U+202E turns "moc.knab" into "bank.com").
INVISIBLE = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# A mailbox the email package's parser always reads as one well-formed address: ASCII atoms for the
# display name, a dot-atom local part (without "=" and "?": no "=?"), a dotted domain. Anything else
# is given to the parser (tests/test_headers.py checks that the parser accepts every such text).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
PLAIN_MAILBOX = re.compile(rf"{_ADDR_SPEC}|[A-Za-z0-9]+(?: [A-Za-z0-9]+)* <{_ADDR_SPEC}>")


@lru_cache(maxsize=1)
def _registry() -> Any:
    """The email package's header parsers (imported when first needed: settings load without them)."""
    from email.headerregistry import HeaderRegistry

    return HeaderRegistry()


def _encoded_words(text: str, name: str) -> str:
    """``text`` as UTF-8 encoded words, folded on LF SPACE (the policy writes CRLF)."""
    from email.header import Header

    return Header(text, "utf-8", header_name=name).encode(linesep="\n")


class HeaderError(NewsletterError):
    """A header would not read back as what it was meant to say (header injection)."""


def invisible_character(text: str) -> str | None:
    """``U+202E`` for the first bidi control or zero-width character of ``text``, else None."""
    m = INVISIBLE.search(text)
    return f"U+{ord(m.group()):04X}" if m else None


def parse_mailbox(value: str) -> Address:
    """One address, as the email package parses it; ValueError with the reason otherwise.

    Refused: a list or a group (``Acme, Inc <a@b>`` unquoted is two
    addresses), anything the parser calls a defect, an address part that is
    not ASCII (``ä@…``: SMTPUTF8 is not supported; a non-ASCII domain is
    to be written in its ``xn--`` form), and ``=?`` anywhere, which mail
    programs would decode as an encoded word.
    """
    if "=?" in value:
        raise ValueError("must not hold '=?' (mail programs would decode it as an RFC 2047 encoded word)")
    if LINE_BREAK.search(value):
        raise ValueError("must be one line")
    hidden = invisible_character(value)
    if hidden:
        raise ValueError(f"holds an invisible formatting character ({hidden})")
    try:
        header = _registry()("From", value)
        groups, defects = header.groups, header.defects
        addresses = [address for group in groups for address in group.addresses]
    except Exception as exc:  # noqa: BLE001 - the parser raises odd things on odd input
        if re.search(r":.*;", value):
            raise ValueError("must be one address, not a group such as 'undisclosed-recipients:;'") from None
        raise ValueError(f"is not an e-mail address ({type(exc).__name__})") from None
    if any(group.display_name is not None for group in groups):
        raise ValueError("must be one address, not a group such as 'undisclosed-recipients:;'")
    if len(addresses) != 1:
        hint = " (put a display name holding a comma in double quotes)" if "," in value else ""
        raise ValueError(f"must be exactly one address, not {len(addresses)}{hint}")
    address = addresses[0]
    if not address.username.isascii():
        raise ValueError("has a non-ASCII user name (mail to such addresses needs SMTPUTF8, which is not supported)")
    if defects:
        raise ValueError(f"is not an e-mail address ({str(defects[0]).rstrip('.')})")
    if not address.username or not address.domain or "." not in address.domain:
        raise ValueError("is not a full address such as news@example.org")
    if not address.domain.isascii():
        try:
            ascii_form = address.domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("has a domain that is no valid international domain name") from None
        raise ValueError(f"has a non-ASCII domain: write it as {ascii_form}")
    return address


def check_mailbox(value: str) -> None:
    """Raise ValueError as :func:`parse_mailbox` does, for checking settings.

    A plain mailbox (``Name <news@example.org>``) is known good without the
    email package (about 20 ms of import for every command that loads the
    settings); any other text is parsed.
    """
    if not PLAIN_MAILBOX.fullmatch(value):
        parse_mailbox(value)


def unstructured(value: str) -> str | None:
    """The header text for ``value`` when the email package must not be given it as it is.

    A value holding ``=?`` becomes encoded words (UTF-8, folded on CRLF
    SPACE) that decode to exactly ``value``; for any other value None: the
    email package writes it correctly itself.
    """
    if "=?" not in value:
        return None
    return _encoded_words(value, "Subject")


def phrase(text: str) -> str:
    """A display name for List-Id: plain atoms, a quoted string, or encoded words."""
    if not text.isascii() or "=?" in text:
        return _encoded_words(text, "List-Id")
    if re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@lru_cache(maxsize=1)
def _reading_policy() -> Any:
    """``email.policy.default`` whose header parser remembers what it parsed.

    The email package parses a header again each time it is read (the parts'
    Content-Type a dozen times while reading a message back); a header
    object is immutable and depends only on its name and text, so one per
    (name, text) serves every read.
    """
    from email import policy
    from email.headerregistry import HeaderRegistry

    class Remembering(HeaderRegistry):
        def __init__(self) -> None:
            super().__init__()
            self.made: dict[tuple[str, str], Any] = {}

        def __call__(self, name: str, value: str) -> Any:
            header = self.made.get((name, value))
            if header is None:
                if len(self.made) > 1000:  # a long-running process (preview) reads many messages
                    self.made.clear()
                header = self.made[(name, value)] = super().__call__(name, value)
            return header

    return policy.default.clone(header_factory=Remembering())


def verify_message(eml: bytes, names: list[str], expected: dict[str, str], mailboxes: dict[str, Address]) -> None:
    """Parse the finished message again and raise HeaderError unless it says exactly what was meant.

    ``names``: the header names in order; ``expected``: values that must
    read back as given (Subject); ``mailboxes``: headers that must hold
    exactly that one address.
    """
    from email.parser import BytesParser

    message = BytesParser(policy=_reading_policy()).parsebytes(eml)
    found = [name.lower() for name in message]
    if found != [name.lower() for name in names]:
        raise HeaderError(f"the message's headers came out as {found}, not {[n.lower() for n in names]}")
    for name in names:
        header = message[name]
        text = str(header)
        if LINE_BREAK.search(text):
            raise HeaderError(f"the {name} header would hold a line break: {text!r}")
        if header.defects:
            raise HeaderError(f"the {name} header is not valid: {header.defects[0]}")
        if name in ("Subject", "From", "List-Id") and invisible_character(text):
            raise HeaderError(f"the {name} header holds an invisible formatting character: {text!r}")
    for name, value in expected.items():
        if str(message[name]) != value:
            raise HeaderError(f"the {name} header would read {str(message[name])!r}, not {value!r}")
    for name, address in mailboxes.items():
        got = list(message[name].addresses)
        if len(got) != 1 or got[0].addr_spec != address.addr_spec or got[0].display_name != address.display_name:
            raise HeaderError(f"the {name} header would read {str(message[name])!r}, not {str(address)!r}")
    if message.defects or [part.get_content_type() for part in message.iter_parts()] != ["text/plain", "text/html"]:
        raise HeaderError("the message would not read back as text/plain and text/html parts")
