"""DKIM signatures with dkimpy.

The signed headers are named here, not left to dkimpy's defaults: those
leave out ``List-Unsubscribe-Post``, and RFC 8058 section 3 requires a
one-click unsubscribe to be covered by a DKIM signature together with
``List-Unsubscribe``. Canonicalisation is relaxed/relaxed, so a relay that
refolds a header or trims trailing spaces does not break the signature; the
messages themselves are folded before signing (see
:mod:`newsletter.delivery.message`) and nothing touches them after.
"""

from __future__ import annotations

import stat
from pathlib import Path

import dkim

from newsletter.errors import NewsletterError

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"list-id",
    b"list-unsubscribe", b"list-unsubscribe-post", b"reply-to", b"mime-version", b"content-type",
)  # fmt: skip
_PROBE = (
    b"From: a@example.org\r\nTo: b@example.org\r\nSubject: probe\r\nDate: Mon, 23 Nov 2026 00:00:00 +0000\r\n"
    b"Message-ID: <probe@example.org>\r\n\r\nprobe\r\n"
)


class DkimError(NewsletterError):
    """The DKIM key cannot be used."""


class Signer:
    """Signs messages for one domain and selector with one private key."""

    def __init__(self, domain: str, selector: str, key: bytes) -> None:
        self.domain = domain.encode("ascii")
        self.selector = selector.encode("ascii")
        self._key = key

    def sign(self, message: bytes) -> bytes:
        """``message`` with a ``DKIM-Signature`` header in front."""
        present = {line.split(b":", 1)[0].strip().lower() for line in message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")}
        headers = [h for h in SIGNED_HEADERS if h in present or h in (b"from", b"to", b"subject")]
        signature = dkim.sign(
            message,
            self.selector,
            self.domain,
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=headers,
        )
        return signature + message


def load_signer(project_root: Path, settings: object) -> Signer | None:
    """The :class:`Signer` of ``[dkim]``, or None when DKIM is not set up.

    Refuses a key file that others can read (it is a secret) or that is not
    a private key dkimpy can use.
    """
    section = settings.dkim  # type: ignore[attr-defined]
    if not section.key_file:
        return None
    path = project_root / section.key_file
    try:
        mode = path.stat().st_mode
        key = path.read_bytes()
    except OSError as exc:
        raise DkimError(f"dkim.key_file: cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DkimError(f"{path} is readable by others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}")
    signer = Signer(section.domain, section.selector, key)
    try:
        signer.sign(_PROBE)
    except (dkim.DKIMException, ValueError) as exc:
        raise DkimError(f"dkim.key_file: {path} is not a usable RSA private key ({exc})") from None
    return signer
