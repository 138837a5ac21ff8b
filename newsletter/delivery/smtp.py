"""Where messages go: one small backend interface, an SMTP implementation and a file one.

As with Django's mail backends, the send loop talks to a backend with
``open``, ``send`` and ``close`` and never knows which one it has:
:class:`SmtpBackend` hands messages to a relay (STARTTLS or implicit TLS with
the certificate verified, AUTH only over TLS), :class:`FileBackend` writes
them into a folder (``--dry-run`` and tests). :class:`Pacer` keeps all
connections together under ``[smtp] rate``.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from newsletter.errors import NewsletterError
from newsletter.write import write_atomic

PASSWORD_ENV = "NEWSLETTER_SMTP_PASSWORD"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class SmtpUnavailable(NewsletterError):
    """The relay cannot be reached, its certificate is not trusted, or it refused the login."""


class ConnectionLost(Exception):
    """The relay closed the connection in the middle of a message (``during_data``: after DATA began)."""

    def __init__(self, message: str, during_data: bool) -> None:
        super().__init__(message)
        self.during_data = during_data


@dataclass(frozen=True)
class Reply:
    """The relay's answer for one recipient: ``code`` 250 means accepted."""

    code: int
    text: str
    stage: str  # "mail", "rcpt", "data"

    @property
    def accepted(self) -> bool:
        """The relay took responsibility for the message."""
        return 200 <= self.code < 300

    @property
    def temporary(self) -> bool:
        """A 4xx answer: worth trying again later."""
        return 400 <= self.code < 500

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class Backend(Protocol):
    """What the send loop needs from a way of delivering messages."""

    def open(self) -> None:
        """Connect (and log in); raise :class:`SmtpUnavailable` with a one-line reason."""

    def send(self, sender: str, recipient: str, data: bytes, before_data: Callable[[], bool]) -> Reply | None:
        """Offer one message; call ``before_data`` once the recipient is accepted, just before the
        message itself goes out (None when it returns False). Raise :class:`ConnectionLost`."""

    def close(self) -> None:
        """Say goodbye; never raises."""


def _decode(text: bytes | str) -> str:
    value = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(value.split())


class SmtpBackend:
    """One SMTP connection to the relay of ``[smtp]``."""

    def __init__(self, settings: object, project_root: Path, password: str | None = None) -> None:
        smtp = settings.smtp  # type: ignore[attr-defined]
        self.host: str = smtp.host
        self.port: int = smtp.port
        self.security: str = smtp.security
        self.username: str = smtp.username
        self.timeout: float = float(smtp.timeout)
        self._password = password if password is not None else os.environ.get(PASSWORD_ENV, "")
        self._ca_file = str(project_root / smtp.ca_file) if smtp.ca_file else None
        self._conn: smtplib.SMTP | None = None
        check_smtp_settings(settings, self._password)

    @property
    def where(self) -> str:
        """``host:port``, for messages."""
        return f"{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self._ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SmtpUnavailable(f"smtp.ca_file: cannot load {self._ca_file}: {exc}") from None

    def open(self) -> None:
        """Connect, secure the connection and log in."""
        self.close()
        where = self.where
        hostname = socket.gethostname() or "localhost"  # getfqdn() may wait on DNS
        conn: smtplib.SMTP | None = None
        try:
            if self.security == "tls":
                conn = smtplib.SMTP_SSL(
                    self.host, self.port, local_hostname=hostname, timeout=self.timeout, context=self._context()
                )
            else:
                conn = smtplib.SMTP(self.host, self.port, local_hostname=hostname, timeout=self.timeout)
            conn.ehlo()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise SmtpUnavailable(f"the relay {where} does not offer STARTTLS (smtp.security = starttls)")
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self._password)
        except SmtpUnavailable:
            _quit(conn)
            raise
        except ssl.SSLCertVerificationError as exc:
            _quit(conn)
            raise SmtpUnavailable(f"cannot verify the TLS certificate of {where}: {exc.verify_message}") from None
        except smtplib.SMTPAuthenticationError as exc:
            _quit(conn)
            raise SmtpUnavailable(
                f"the relay {where} refused the login of {self.username}: {exc.smtp_code} {_decode(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            _quit(conn)
            raise SmtpUnavailable(f"the relay {where} offers no login (AUTH) but smtp.username is set") from None
        except smtplib.SMTPResponseException as exc:
            _quit(conn)
            raise SmtpUnavailable(f"the relay {where} answered {exc.smtp_code} {_decode(exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            _quit(conn)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
            raise SmtpUnavailable(f"cannot reach the SMTP relay {where}: {reason}") from None
        self._conn = conn

    def send(self, sender: str, recipient: str, data: bytes, before_data: Callable[[], bool]) -> Reply | None:
        """MAIL, RCPT, then ``before_data()``, then DATA; the relay's answer."""
        conn = self._conn
        if conn is None:
            raise ConnectionLost("not connected", during_data=False)
        in_data = False
        try:
            code, text = conn.mail(sender)
            if code != 250:
                conn.rset()
                return Reply(code, _decode(text), "mail")
            code, text = conn.rcpt(recipient)
            if code not in (250, 251):
                conn.rset()
                return Reply(code, _decode(text), "rcpt")
            if not before_data():
                conn.rset()
                return None
            in_data = True
            try:
                code, text = conn.data(data)
            except smtplib.SMTPDataError as exc:  # DATA itself refused: nothing was sent
                return Reply(exc.smtp_code, _decode(exc.smtp_error), "data")
            return Reply(code, _decode(text), "data")
        except smtplib.SMTPResponseException as exc:  # e.g. 421 service closing
            self.close()
            raise ConnectionLost(f"the relay answered {exc.smtp_code} {_decode(exc.smtp_error)}", in_data) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:  # SMTPException is an OSError too
            self._conn = None
            raise ConnectionLost(f"the relay closed the connection: {exc or type(exc).__name__}", in_data) from None

    def close(self) -> None:
        """QUIT and close."""
        conn, self._conn = self._conn, None
        _quit(conn)


def _quit(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        with contextlib.suppress(OSError):
            conn.close()


def check_smtp_settings(settings: object, password: str) -> None:
    """Refuse settings that cannot work or would send a password in clear text."""
    smtp = settings.smtp  # type: ignore[attr-defined]
    if not smtp.host:
        raise SmtpUnavailable("smtp.host is not set in newsletter.toml: name the relay to send through")
    if smtp.security == "none" and smtp.host not in LOOPBACK:
        raise SmtpUnavailable(f"smtp.security = none is for a relay on this machine only, not {smtp.host}")
    if smtp.security == "none" and smtp.username:
        raise SmtpUnavailable("smtp.username is set but smtp.security = none: a login goes only over TLS")
    if smtp.username and not password:
        raise SmtpUnavailable(f"smtp.username is set: put the password in the environment variable {PASSWORD_ENV}")


class FileBackend:
    """Writes each message to ``<folder>/<n>.eml`` instead of sending it."""

    def __init__(self, folder: Path, limit: int | None = None) -> None:
        self.folder = folder
        self.limit = limit
        self.written: list[Path] = []

    def open(self) -> None:
        """Nothing to connect to."""

    def send(self, sender: str, recipient: str, data: bytes, before_data: Callable[[], bool]) -> Reply | None:
        """Write the message (up to ``limit`` files) and accept it."""
        if not before_data():
            return None
        if self.limit is None or len(self.written) < self.limit:
            path = self.folder / f"{len(self.written) + 1}.eml"
            write_atomic(path, data)
            self.written.append(path)
        return Reply(250, "written to a file", "data")

    def close(self) -> None:
        """Nothing to close."""


class Pacer:
    """At most ``rate`` messages a second over every thread that asks (``rate`` <= 0: no limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Sleep until this caller's turn."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
