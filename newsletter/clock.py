"""The one clock: wall time, or SOURCE_DATE_EPOCH when it is set."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from newsletter.errors import UsageError

# The years a "now" may lie in: later dates would overflow a week's end.
LATEST = int(datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


def epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` as seconds, or None when it is unset or empty.

    Raises :class:`UsageError` when it is set to anything but a whole
    number of seconds from 1970 to the end of 9998: a reproducible build
    must not quietly fall back to the wall clock.
    """
    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or int(text) > LATEST:
        raise UsageError(
            f"SOURCE_DATE_EPOCH={text[:40]!r} is not a time: give whole seconds since 1970-01-01 UTC "
            f"(0 to {LATEST}, the end of 9998), or unset it"
        )
    return int(text)


def now() -> datetime:
    """Return "now" as an aware UTC datetime, honouring ``SOURCE_DATE_EPOCH``."""
    seconds = epoch()
    if seconds is not None:
        return datetime.fromtimestamp(seconds, tz=UTC)
    return datetime.now(tz=UTC).replace(microsecond=0)
