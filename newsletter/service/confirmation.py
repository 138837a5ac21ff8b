"""The confirmation message of double opt-in: rendered from a template, sent through the [smtp] relay."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
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


def send_via_smtp(settings: Settings, message: EmailMessage) -> None:
    """Hand ``message`` to the [smtp] relay (TLS as configured, AUTH only over TLS).

    Raises OSError or smtplib.SMTPException when the relay cannot take it.
    """
    import os
    import smtplib
    import ssl

    smtp = settings.smtp
    context = ssl.create_default_context(cafile=getattr(smtp, "ca_file", "") or None)
    timeout = getattr(smtp, "timeout", 60)
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.username and smtp.security != "none":
            client.login(smtp.username, os.environ.get("NEWSLETTER_SMTP_PASSWORD", ""))
        client.send_message(message)
