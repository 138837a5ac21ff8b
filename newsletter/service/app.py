"""The WSGI application of ``newsletter serve``: subscribe, confirm, unsubscribe.

Routes (relative to where the application is mounted):

- ``GET /`` and ``GET /subscribe``: the subscribe form (CSRF token, honeypot).
- ``POST /subscribe``: a ``pending`` subscriber and one confirmation message
  (at most one an hour per address); the same page whatever the address's
  status, so nobody learns who is subscribed.
- ``GET /confirm?token=``: a page whose button confirms; ``POST /confirm``
  makes the address ``subscribed``.
- ``GET /unsubscribe?email=&token=``: a page with one button;
  ``POST /unsubscribe?email=&token=`` with ``List-Unsubscribe=One-Click``
  (RFC 8058) unsubscribes at once: 200, no redirect, no cookie, idempotent.

A GET never changes anything (link scanners fetch every link). Bad or
foreign tokens get a plain 400. The service reads and writes through
:mod:`newsletter.delivery`; it has no SQL of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from newsletter import templates
from newsletter.config import Settings
from newsletter.delivery import suppression
from newsletter.delivery.db import Database, DatabaseError, connect
from newsletter.delivery.subscribers import SUPPRESSED, AddressError, SubscriberStore, check_name, normalize_email
from newsletter.delivery.tokens import verify_token
from newsletter.service.confirmation import render_confirmation
from newsletter.service.guard import HSTS, MAX_BODY, SECURITY_HEADERS, RateLimits, Signer

log = logging.getLogger("newsletter.service")

Deliver = Callable[[EmailMessage], None]
STYLE = (Path(__file__).resolve().parent.parent / "templates" / "service" / "style.css").read_bytes()
HONEYPOT = "website"
ONE_CLICK = "One-Click"
_ROUTES = Map(
    [
        Rule("/", endpoint="subscribe", methods=["GET", "POST"]),
        Rule("/subscribe", endpoint="subscribe", methods=["GET", "POST"]),
        Rule("/confirm", endpoint="confirm", methods=["GET", "POST"]),
        Rule("/unsubscribe", endpoint="unsubscribe", methods=["GET", "POST"]),
        Rule("/style.css", endpoint="style", methods=["GET"]),
        Rule("/health", endpoint="health", methods=["GET"]),
    ],
    strict_slashes=False,
)


class SubscriptionService:
    """The WSGI application; one per project, shared by every thread of a worker."""

    def __init__(
        self, root: Path, settings: Settings, secret: bytes, deliver: Deliver, limits: RateLimits | None = None
    ) -> None:
        self.root = root
        self.settings = settings
        self._secret = secret
        self.list_id = settings.list_id
        self.deliver = deliver
        self.limits = limits or RateLimits()
        self.signer = Signer(secret, self.list_id)
        self.env = templates.environment(settings.templates_dir)
        self._local = threading.local()
        self._origins = {_origin(settings.site.base_url), _origin(settings.service.url)} - {""}
        connect(root, settings).close()  # create the database and apply migrations once, up front

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        request.max_form_memory_size = MAX_BODY
        request.max_form_parts = 20
        response = self.respond(request)
        response.headers.update(SECURITY_HEADERS)
        if request.scheme == "https":
            response.headers["Strict-Transport-Security"] = HSTS
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        """The response to one request (errors become pages; nothing escapes as a traceback)."""
        try:
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise RequestEntityTooLarge()
            endpoint, _ = _ROUTES.bind_to_environ(request.environ).match()
            return getattr(self, f"on_{endpoint}")(request)
        except MethodNotAllowed as exc:
            return self.plain(405, "Method not allowed.", {"Allow": ", ".join(exc.valid_methods or [])})
        except NotFound:
            return self.plain(404, "Not found.")
        except HTTPException as exc:  # e.g. 413 from the form parser
            return self.plain(exc.code or 400, exc.description or exc.name)
        except DatabaseError as exc:
            log.error("database: %s", exc)
            self._forget_connection()  # the server may have restarted: the next request connects again
            return self.plain(503, "The service is busy; please try again in a minute.", {"Retry-After": "60"})
        except Exception:
            log.exception("internal error")
            return self.plain(500, "Internal error.")

    # Helpers

    def db(self) -> Database:
        """This thread's database connection (each waitress thread has its own)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.root, self.settings, migrate=False)
        return db

    def _forget_connection(self) -> None:
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            db.close()

    def page(self, name: str, status: int = 200, **values: Any) -> Response:
        """A page rendered from ``templates/service/NAME`` (autoescaped)."""
        html = self.env.get_template(f"service/{name}").render(title=self.settings.site.title, **values)
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    @staticmethod
    def plain(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
        """A plain-text answer: errors and refusals."""
        return Response(text + "\n", status=status, headers=headers, content_type="text/plain; charset=utf-8")

    def client(self, request: Request) -> str:
        """Who is asking, for rate limits (the proxy's X-Forwarded-For only when the server trusts it)."""
        return request.remote_addr or "unknown"

    def bad_token(self, request: Request) -> Response:
        """The plain 400 of a forged, foreign or expired link; clients that keep guessing are slowed."""
        if not self.limits.failure_allowed(self.client(request)):
            return self.plain(429, "Too many requests.", {"Retry-After": "60"})
        return self.plain(400, "This link is not valid.")

    def _same_origin(self, request: Request) -> bool:
        """True when the browser says the form was on our site or on this service (CSRF, with the token)."""
        origin = request.headers.get("Origin") or _origin(request.headers.get("Referer", ""))
        return bool(origin) and origin in self._origins

    # Routes

    def on_style(self, request: Request) -> Response:
        """The one stylesheet (the CSP allows no inline styles)."""
        return Response(STYLE, content_type="text/css; charset=utf-8")

    def on_health(self, request: Request) -> Response:
        """For a reverse proxy's health check: the database answers."""
        self.db().fetchone("SELECT 1")
        return self.plain(200, "ok")

    def on_subscribe(self, request: Request) -> Response:
        """The form (GET), or a subscription request (POST)."""
        if request.method == "GET":
            return self.subscribe_form(request.args.get("email", "")[:254])
        if not self.limits.allow_form(self.client(request)):  # first: a flood costs no parsing
            return self.plain(429, "Too many requests; please try again later.", {"Retry-After": "600"})
        form = request.form
        email_text, name_text = form.get("email", "")[:320], form.get("name", "")
        if form.get(HONEYPOT):
            return self.page("check_inbox.html")  # a bot: it learns nothing
        if not (self.signer.form_token_ok(form.get("csrf", "")) or self._same_origin(request)):
            return self.subscribe_form(email_text, "Please press Subscribe again to confirm.", status=400)
        try:
            email = normalize_email(email_text)
            name = check_name(name_text[:201])
        except AddressError as exc:
            what = "name" if "name" in str(exc) and "address" not in str(exc) else "e-mail address"
            return self.subscribe_form(email_text, f"Please check the {what}.", status=400)
        if self.limits.allow_address(email):
            self._request_confirmation(email, name)
        return self.page("check_inbox.html")

    def subscribe_form(self, email: str = "", message: str = "", status: int = 200) -> Response:
        """The subscribe form with a fresh CSRF token."""
        token = self.signer.form_token()
        return self.page("subscribe.html", status, email=email, message=message, csrf=token, honeypot=HONEYPOT)

    def _request_confirmation(self, email: str, name: str) -> None:
        """Record the address as pending (unless it is known) and send one confirmation, at most one an hour."""
        db = self.db()
        store = SubscriberStore(db)
        current = store.get(email)
        if current is None:
            current = store.add(email, name, status="pending", source="form")
        if current.status == "subscribed":
            return
        stamp = suppression.claim_confirmation(db, email)
        if stamp is None:
            return
        state = f"{current.status}@{current.status_changed_at}"
        link = self.service_url("confirm", token=self.signer.confirmation_token(email, name, state))
        try:
            self.deliver(render_confirmation(self.settings, self.env, email, name, link))
        except Exception as exc:  # the relay is down or refused: let the person try again later
            suppression.release_confirmation(db, email, stamp)
            log.error("confirmation message not sent: %s: %s", type(exc).__name__, exc)

    def service_url(self, path: str, **query: str) -> str:
        """An absolute URL of this service (``[service] url`` + path + query) for links in messages."""
        base = self.settings.service.url or "http://127.0.0.1:8080/"
        base = base if base.endswith("/") else base + "/"
        return f"{base}{path}?{urlencode(query)}" if query else base + path

    def on_confirm(self, request: Request) -> Response:
        """The confirmation page (GET) and its button (POST)."""
        token = (request.form.get("token") if request.method == "POST" else None) or request.args.get("token", "")
        confirmation = self.signer.read_confirmation(token[:2000])
        if confirmation is None:
            return self.bad_token(request)
        if request.method == "GET":
            return self.page("confirm.html", token=token)
        store = SubscriberStore(self.db())
        current = store.get(confirmation.email)
        left = current is not None and current.status in SUPPRESSED
        if left and f"{current.status}@{current.status_changed_at}" != confirmation.state:  # type: ignore[union-attr]
            # The address left after this link was made: only a new request may bring it back.
            return self.plain(400, "This link has expired; please subscribe again.")
        if current is None or current.status != "subscribed":
            store.confirm_resubscription(confirmation.email, source="form", name=confirmation.name or None)
        return self.page("confirmed.html")

    def on_unsubscribe(self, request: Request) -> Response:
        """The one-click page (GET) and the unsubscribe itself (POST, RFC 8058)."""
        email = request.args.get("email", "")
        token = request.args.get("token", "")
        if request.method == "POST" and not (email and token):
            email, token = request.form.get("email", ""), request.form.get("token", "")
        if not email or not token or len(email) > 320 or len(token) > 200:
            return self.bad_token(request)
        if not verify_token(self._secret, self.list_id, email, token):
            return self.bad_token(request)
        if request.method == "GET":
            return self.page("unsubscribe.html", email=email)
        if request.form.get("List-Unsubscribe") != ONE_CLICK:
            return self.plain(400, "The body must be List-Unsubscribe=One-Click.")
        try:
            suppression.unsubscribe(self.db(), email)
        except AddressError:
            return self.bad_token(request)
        return self.page("unsubscribed.html")


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as browsers send it in ``Origin`` ("" when there is none)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()
