"""The one clock: wall time, or SOURCE_DATE_EPOCH when it is set."""

from __future__ import annotations

import os
from datetime import UTC, datetime


def now() -> datetime:
    """Return "now" as an aware UTC datetime, honouring ``SOURCE_DATE_EPOCH``."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError, OSError):
            pass
    return datetime.now(tz=UTC).replace(microsecond=0)
