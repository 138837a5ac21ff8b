"""Unsubscribe tokens and the secret they are made with.

A token is HMAC-SHA256 over the list id and the address, base64url without
padding: it proves the link was made by us for that address, so one click
unsubscribes without a login and nobody can unsubscribe someone else.

The secret comes from ``NEWSLETTER_SECRET`` or the file ``.newsletter-secret``
in the project (mode 0600, made by ``init``, ignored by git). It is never
read from newsletter.toml and never printed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from newsletter.errors import NewsletterError

SECRET_ENV = "NEWSLETTER_SECRET"
SECRET_FILE = ".newsletter-secret"
_MIN_SECRET = 16  # bytes


class SecretError(NewsletterError):
    """The secret is missing, too short, or readable by others."""


def make_token(secret: bytes, list_id: str, address: str) -> str:
    """The unsubscribe token of ``address`` on ``list_id``: URL-safe text, 43 characters."""
    message = f"{list_id}\n{address.strip().lower()}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_token(secret: bytes, list_id: str, address: str, token: str) -> bool:
    """True when ``token`` was made by :func:`make_token` for this list and address (constant-time compare)."""
    expected = make_token(secret, list_id, address)
    return hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8", "replace"))


def unsubscribe_link(base_url: str, secret: bytes, list_id: str, address: str) -> str:
    """``base_url`` with the recipient's ``email`` and ``token`` added to its query."""
    parts = urlsplit(base_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("email", address), ("token", make_token(secret, list_id, address))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def read_unsubscribe_query(query: str) -> tuple[str, str] | None:
    """``(email, token)`` from the query string of an unsubscribe link, or None when either is missing."""
    values = dict(parse_qsl(query, keep_blank_values=True))
    email, token = values.get("email", ""), values.get("token", "")
    return (email, token) if email and token else None


def load_secret(project_root: Path) -> bytes:
    """The token secret: ``NEWSLETTER_SECRET``, else the project's ``.newsletter-secret``.

    Raises :class:`SecretError` when neither is there, when the secret is
    shorter than 16 bytes, or when the file is readable by group or others.
    """
    value = os.environ.get(SECRET_ENV, "")
    if value:
        secret = value.strip().encode("utf-8")
        if len(secret) < _MIN_SECRET:
            raise SecretError(f"{SECRET_ENV} is too short: use at least {_MIN_SECRET} random characters")
        return secret
    path = project_root / SECRET_FILE
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SecretError(
            f"no unsubscribe secret: set {SECRET_ENV} or create {path} (newsletter init makes one)"
        ) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"{path} is readable by others (mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
        )
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise SecretError(f"cannot read {path}: {exc.strerror}") from None
    if len(secret) < _MIN_SECRET:
        raise SecretError(f"{path} is too short: it needs at least {_MIN_SECRET} random characters")
    return secret


def create_secret_file(project_root: Path) -> Path | None:
    """Write a new random ``.newsletter-secret`` (mode 0600) unless one exists; return its path when written."""
    path = project_root / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    os.chmod(path, 0o600)  # in case a umask narrowed nothing but a filesystem widened it
    return path
