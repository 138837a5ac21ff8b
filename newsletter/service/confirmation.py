"""The confirmation message of double opt-in: rendered from a template, sent through the [smtp] relay."""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from newsletter import clock
from newsletter.config import Settings


def render_confirmation(settings: Settings, env: Any, email: str, name: str, link: str) -> EmailMessage:
    """The message that asks ``email`` to confirm: plain text, the link alone on its line.

    Headers are built by the email package (a name with a line break never
    reaches here: the service refuses it first).
    """
    text = env.get_template("service/confirm_email.txt").render(
        title=settings.site.title, link=link, name=name, site_url=settings.site.base_url
    )
    message = EmailMessage()
    message["From"] = settings.email.sender
    local, _, domain = email.rpartition("@")
    message["To"] = Address(display_name=name, username=local, domain=domain)
    message["Subject"] = f"Confirm your subscription to {settings.site.title}"
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(idstring="confirm", domain=settings.site.domain)
    # RFC 3834: an automatic reply; no vacation responder should answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    return message


def send_via_smtp(settings: Settings, root: Path, message: EmailMessage, signer: Any = None) -> None:
    """Hand ``message`` to the [smtp] relay through the sender's own backend (TLS and login as ``send`` does).

    ``signer``: the DKIM :class:`~newsletter.delivery.dkim.Signer` of ``[dkim]``, if any.

    Raises :class:`~newsletter.delivery.smtp.SmtpUnavailable`, or ``OSError``
    when the relay refuses the message.
    """
    from newsletter.delivery.smtp import ConnectionLost, SmtpBackend

    sender = parseaddr(settings.email.sender)[1]
    recipient = message["To"].addresses[0].addr_spec
    data = message.as_bytes(policy=policy.SMTP)
    if signer is not None:
        data = signer.sign(data)
    backend = SmtpBackend(settings, root)
    backend.open()
    try:
        reply = backend.send(sender, recipient, data, lambda: True)
    except ConnectionLost as exc:
        raise OSError(f"the relay closed the connection: {exc}") from None
    finally:
        backend.close()
    if reply is None or not reply.accepted:
        raise OSError(f"the relay did not take the confirmation message: {reply}")
