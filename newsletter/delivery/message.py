"""One message per recipient, made from the week's outbox message without rendering it again.

The digest is rendered once, by ``newsletter digest``/``build``, into
``outbox/<week>/message.eml``. :class:`MessageTemplate` reads that file once;
:meth:`MessageTemplate.personalise` then makes each recipient's copy by
substitution: its own ``To``, its own ``Message-ID`` (deterministic: the same
recipient and week always get the same one), its own ``List-Unsubscribe``
URL with the recipient's token, and the same URL in the footer links of the
HTML and text parts, which are quoted-printable encoded again (a C function,
a fraction of a millisecond).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import html
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote

from newsletter.delivery.tokens import unsubscribe_link
from newsletter.errors import NewsletterError

# Headers taken over from the outbox message as they are; the personal ones are made per recipient.
PERSONAL = ("to", "message-id", "list-unsubscribe", "list-unsubscribe-post")
ONE_CLICK = "List-Unsubscribe=One-Click"
_TEXT_MARK = "NEWSLETTER-TEXT-PART-MARK"
_HTML_MARK = "NEWSLETTER-HTML-PART-MARK"
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
_FOLD = policy.SMTP.clone(max_line_length=78)


class MessageError(NewsletterError):
    """The outbox message cannot be personalised (unreadable, or without the unsubscribe link)."""


@dataclass(frozen=True)
class Personal:
    """One recipient's message: the bytes and what the journal and the envelope need."""

    recipient: str
    message_id: str
    data: bytes


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _qp(text: str) -> bytes:
    """Quoted-printable UTF-8 with CRLF line ends, lines of at most 76 characters (RFC 2045)."""
    return _crlf(binascii.b2a_qp(text.encode("utf-8"), istext=True))


class MessageTemplate:
    """The week's outbox message, read once, ready to be personalised many times."""

    def __init__(
        self, eml: bytes, *, unsubscribe_url: str, unsubscribe_mailto: str, list_id: str, week: str, secret: bytes
    ) -> None:
        msg = BytesParser(policy=policy.default).parsebytes(eml)
        if msg.defects:
            raise MessageError(f"the outbox message of {week} is malformed: {msg.defects[0]}")
        text_part = msg.get_body(("plain",))
        html_part = msg.get_body(("html",))
        if text_part is None or html_part is None:
            raise MessageError(f"the outbox message of {week} lacks its text or HTML part")
        self.text = str(text_part.get_content())
        self.html = str(html_part.get_content())
        self.base_url = unsubscribe_url
        self.mailto = unsubscribe_mailto
        self.list_id = list_id
        self.week = week
        self.secret = secret
        self.sender = str(msg["From"])
        self.subject = str(msg["Subject"])
        self._html_link = re.compile(r"""(href\s*=\s*["'])""" + re.escape(html.escape(unsubscribe_url)) + r"""(["'])""")
        self._text_link = re.compile(re.escape(unsubscribe_url) + r"(?=[\s>)\]]|$)", re.MULTILINE)
        if not self._html_link.search(self.html):
            raise MessageError(
                f"the HTML part of {week} has no link to email.unsubscribe_url ({unsubscribe_url}) to personalise"
            )
        self._head, self._skeleton = self._split(msg)

    def _split(self, msg: EmailMessage) -> tuple[bytes, list[bytes]]:
        """The fixed headers as bytes, and the MIME body around the two parts' places."""
        skeleton = EmailMessage(policy=policy.SMTP)
        for name, value in msg.items():
            if name.lower() not in PERSONAL and name.lower() not in ("content-type", "content-transfer-encoding"):
                skeleton[name] = value
        skeleton.set_content(_TEXT_MARK, subtype="plain", charset="utf-8", cte="quoted-printable")
        skeleton.add_alternative(_HTML_MARK, subtype="html", charset="utf-8", cte="quoted-printable")
        boundary = msg.get_boundary()
        if boundary:
            skeleton.set_boundary(boundary)
        raw = skeleton.as_bytes(policy=policy.SMTP)
        head, _, body = raw.partition(b"\r\n\r\n")
        before_text, _, rest = body.partition(_TEXT_MARK.encode() + b"\r\n")
        between, _, after_html = rest.partition(_HTML_MARK.encode() + b"\r\n")
        if not between or not after_html:
            raise MessageError("cannot lay out the MIME parts of the message")  # a bug, not bad input
        # The personal headers go after the fixed ones, then the blank line and the body.
        return head + b"\r\n", [b"\r\n" + before_text, between, after_html]

    def message_id(self, address: str) -> str:
        """``<digest-2026-W47.3f9c...@list>``: the same for one recipient and week, and no clue to the address."""
        mac = hmac.new(self.secret, f"message-id\n{self.week}\n{address}".encode(), hashlib.sha256).hexdigest()
        return f"<digest-{self.week}.{mac[:24]}@{self.list_id}>"

    def personalise(self, address: str, name: str = "") -> Personal:
        """The whole message for one recipient, CRLF line ends, ready for SMTP (and for DKIM signing)."""
        link = unsubscribe_link(self.base_url, self.secret, self.list_id, address)
        html_text = self._html_link.sub(lambda m: m.group(1) + html.escape(link) + m.group(2), self.html)
        plain = self._text_link.sub(lambda m: link, self.text)
        to = Address(display_name=name, addr_spec=address)  # an object: the header needs no parsing
        mid = self.message_id(address)
        unsubscribe = f"<{quote(link, safe=_URL_SAFE)}>"
        if self.mailto:
            unsubscribe += f",\r\n <{quote(self.mailto, safe=_URL_SAFE)}>"
        head = (
            self._head
            + _FOLD.header_factory("To", to).fold(policy=_FOLD).encode("ascii")
            + f"Message-ID: {mid}\r\nList-Unsubscribe: {unsubscribe}\r\nList-Unsubscribe-Post: {ONE_CLICK}\r\n".encode(
                "ascii"
            )
        )
        top, between, tail = self._skeleton
        data = head + top + _qp(plain) + b"\r\n" + between + _qp(html_text) + b"\r\n" + tail
        return Personal(address, mid, data)


def load_template(folder: Path, settings: object, secret: bytes) -> MessageTemplate:
    """The :class:`MessageTemplate` of the outbox week in ``folder``."""
    try:
        eml = (folder / "message.eml").read_bytes()
    except OSError as exc:
        raise MessageError(f"cannot read {folder / 'message.eml'}: {exc.strerror}") from None
    email = settings.email  # type: ignore[attr-defined]
    return MessageTemplate(
        eml,
        unsubscribe_url=email.unsubscribe_url,
        unsubscribe_mailto=email.unsubscribe_mailto,
        list_id=settings.list_id,  # type: ignore[attr-defined]
        week=folder.name,
        secret=secret,
    )
