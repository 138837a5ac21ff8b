"""The service's defences: signed form and confirmation tokens, rate limits, security headers.

Tokens are signed with the project's secret (the one unsubscribe tokens use)
by itsdangerous, each kind with its own salt so that one kind never passes
for another. Rate limits are moving windows kept by the ``limits`` library in
the memory of each worker: they slow a flood from one client or at one
address; the one-message-an-hour rule for confirmations is kept in the
database (:func:`newsletter.delivery.suppression.claim_confirmation`), so
every worker honours it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from newsletter import clock

# How long a subscribe form and a confirmation link stay valid (seconds).
FORM_MAX_AGE = 2 * 3600
CONFIRM_MAX_AGE = 7 * 24 * 3600
# Largest request body the service reads (bytes); a subscribe form is a few hundred.
MAX_BODY = 16 * 1024

# Every response: nothing runs, nothing loads from elsewhere, no framing, no referrer (links carry tokens).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cache-Control": "no-store",
}
HSTS = "max-age=31536000"


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation link carries: the address, the name given, when the link was made, and the
    subscriber's status and its time then (``pending@2026-11-29T09:30:00Z``), to tell whether it changed since."""

    email: str
    name: str
    issued: datetime
    state: str = ""


class _ClockSigner(TimestampSigner):
    """Timestamps from the project's one clock, so links and database times agree (SOURCE_DATE_EPOCH too)."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


class Signer:
    """Makes and checks the service's signed tokens (form tokens and confirmation links)."""

    def __init__(self, secret: bytes, list_id: str) -> None:
        self._forms = URLSafeTimedSerializer(secret, salt=f"newsletter-form:{list_id}", signer=_ClockSigner)
        self._confirm = URLSafeTimedSerializer(secret, salt=f"newsletter-confirm:{list_id}", signer=_ClockSigner)

    def form_token(self) -> str:
        """A fresh token for the subscribe form (CSRF): proves the form came from this service, lately."""
        return str(self._forms.dumps("subscribe"))

    def form_token_ok(self, token: str) -> bool:
        """True for a token of :meth:`form_token` younger than :data:`FORM_MAX_AGE`."""
        try:
            return bool(self._forms.loads(token, max_age=FORM_MAX_AGE) == "subscribe")
        except BadData:
            return False

    def confirmation_token(self, email: str, name: str, state: str = "") -> str:
        """The token of a confirmation link for ``email`` (``state``: see :class:`Confirmation`)."""
        return str(self._confirm.dumps({"e": email, "n": name, "s": state}))

    def read_confirmation(self, token: str) -> Confirmation | None:
        """What a confirmation token says, or None when it is forged, foreign or older than a week."""
        try:
            data, issued = self._confirm.loads(token, max_age=CONFIRM_MAX_AGE, return_timestamp=True)
        except BadData:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("e"), str) or not isinstance(data.get("n"), str):
            return None
        when = issued if issued.tzinfo else issued.replace(tzinfo=UTC)
        return Confirmation(data["e"], data["n"], when, str(data.get("s", "")))


class RateLimits:
    """Moving-window limits per client (IP address) and per subscriber address, in this worker's memory."""

    def __init__(
        self,
        per_client: str = "10/minute;60/hour",
        per_address: str = "3/hour",
        failures: str = "30/minute",
    ) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._client = self._items(per_client)
        self._address = self._items(per_address)
        self._failures = self._items(failures)

    @staticmethod
    def _items(text: str) -> list[RateLimitItem]:
        return [parse(part) for part in text.split(";") if part.strip()]

    def _hit(self, items: list[RateLimitItem], *key: str) -> bool:
        # Test every window first: a refused request must not use up the others.
        if not all(self._limiter.test(item, *key) for item in items):
            return False
        return all([self._limiter.hit(item, *key) for item in items])

    def allow_form(self, client: str) -> bool:
        """Count one subscribe form from ``client``; False when it sent too many lately."""
        return self._hit(self._client, "client", client)

    def allow_address(self, email: str) -> bool:
        """Count one subscribe request for ``email``; False when it was asked for too often lately."""
        return self._hit(self._address, "address", email)

    def failure_allowed(self, client: str) -> bool:
        """Count one bad token from ``client``; False once it keeps guessing."""
        return self._hit(self._failures, "failure", client)

    def failing(self, client: str) -> bool:
        """True when ``client`` used up its bad tokens: its requests are refused for a while."""
        return not all(self._limiter.test(item, "failure", client) for item in self._failures)
