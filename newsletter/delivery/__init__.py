"""Delivery: the subscriber store, the per-recipient journal, SMTP and DKIM, and the send loop.

The pipeline's last room: it takes a finished week from the outbox and gets
it to every subscriber exactly once. State that must survive a crash lives in
the database (:mod:`newsletter.delivery.db`) and is written before the step
it describes.
"""

# Held (flock) while `newsletter send` runs: one run per project at a time.
SEND_LOCK = ".newsletter-send.lock"
