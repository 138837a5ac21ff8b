"""The subscription service of ``newsletter serve``: one-click unsubscribe and double opt-in.

For any WSGI server (gunicorn, uWSGI, mod_wsgi), the application is::

    newsletter.service:create_app("/path/to/project")

e.g. ``gunicorn 'newsletter.service:create_app("/srv/news")'``; ``newsletter
serve`` runs the same application on waitress.
"""

from __future__ import annotations

from pathlib import Path

from newsletter.service.app import SubscriptionService

__all__ = ["SubscriptionService", "create_app"]


def create_app(project_dir: str | Path = ".") -> SubscriptionService:
    """The WSGI application for the project in ``project_dir``.

    Reads newsletter.toml, the unsubscribe secret (``NEWSLETTER_SECRET`` or
    ``.newsletter-secret``) and opens the subscriber database (creating it
    and applying migrations). Raises :class:`newsletter.errors.NewsletterError`
    on bad settings or a missing secret.
    """
    from email.message import EmailMessage

    from newsletter.config import load_settings, require_folder
    from newsletter.delivery.dkim import load_signer
    from newsletter.delivery.tokens import load_secret
    from newsletter.errors import Problems
    from newsletter.service.confirmation import send_via_smtp

    root = Path(project_dir)
    require_folder(root)
    problems = Problems(root=root)
    settings = load_settings(root, problems)
    problems.raise_if_errors()
    secret = load_secret(root)
    signer = load_signer(root, settings)  # a bad key fails here, at start, not at the first subscriber

    def deliver(message: EmailMessage) -> None:
        send_via_smtp(settings, root, message, signer)

    return SubscriptionService(root, settings, secret, deliver=deliver)
