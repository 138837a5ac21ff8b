"""``newsletter serve``: the subscription service on waitress, a production WSGI server."""

from __future__ import annotations

import logging
from pathlib import Path

from newsletter.config import Settings
from newsletter.service.guard import MAX_BODY

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def unsubscribe_url_problem(settings: Settings) -> str | None:
    """Why ``[email] unsubscribe_url`` does not lead to this service, or None when it does."""
    service = settings.service.url
    if not service:
        return "[service] url is not set: confirmation links will point at http://127.0.0.1:8080/"
    expected = (service if service.endswith("/") else service + "/") + "unsubscribe"
    if settings.email.unsubscribe_url.split("?", 1)[0] != expected:
        return f"email.unsubscribe_url should be {expected}: one-click unsubscribe links must lead to this service"
    return None


def serve(project: Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, threads: int = 4,
          proxy: str = "") -> None:  # fmt: skip
    """Run the service until interrupted.

    ``proxy``: the address of a reverse proxy whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` headers are trusted (e.g. ``127.0.0.1``); empty
    trusts none.
    """
    import waitress

    from newsletter.service import create_app

    app = create_app(project)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    problem = unsubscribe_url_problem(app.settings)
    if problem:
        logging.getLogger("newsletter.service").warning(problem)
    options: dict[str, object] = {}
    if proxy:
        options = {"trusted_proxy": proxy, "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
                   "trusted_proxy_count": 1, "clear_untrusted_proxy_headers": True}  # fmt: skip
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=MAX_BODY,
        max_request_header_size=32 * 1024,
        ident="newsletter",
        **options,
    )
