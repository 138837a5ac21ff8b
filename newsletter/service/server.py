"""``newsletter serve``: the subscription service on waitress, a production WSGI server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from newsletter.config import Settings
from newsletter.service.guard import MAX_BODY

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def setting_problems(settings: Settings) -> list[str]:
    """What in the settings keeps the service from working fully (warnings at start)."""
    problems = []
    service = settings.service.url
    if not service:
        problems.append("[service] url is not set: confirmation links will point at http://127.0.0.1:8080/")
    else:
        expected = (service if service.endswith("/") else service + "/") + "unsubscribe"
        if settings.email.unsubscribe_url.split("?", 1)[0] != expected:
            problems.append(f"email.unsubscribe_url should be {expected}: unsubscribe links must lead to this service")
    if not settings.smtp.host:
        problems.append("[smtp] host is not set: no confirmation message can be sent, so nobody can subscribe")
    return problems


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
    for problem in setting_problems(app.settings):
        logging.getLogger("newsletter.service").warning(problem)
    options: dict[str, Any] = {}
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
