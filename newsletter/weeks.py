"""ISO weeks in the site's time zone: which posts belong to which digest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from newsletter.errors import UsageError
from newsletter.models import Post


@dataclass(frozen=True)
class Week:
    """One ISO week, Monday 00:00 to the next Monday 00:00, local time."""

    label: str  # "2026-W47"
    start: datetime
    end: datetime

    def contains(self, when: datetime) -> bool:
        """True when ``when`` falls inside the week."""
        return self.start <= when < self.end

    @property
    def period(self) -> str:
        """Human-readable span, e.g. "16–22 November 2026"."""
        last = self.end - timedelta(days=1)
        if self.start.month == last.month:
            return f"{self.start.day}–{last.day} {last:%B %Y}"
        if self.start.year == last.year:
            return f"{self.start.day} {self.start:%B} – {last.day} {last:%B %Y}"
        return f"{self.start.day} {self.start:%B %Y} – {last.day} {last:%B %Y}"


def week_of(when: datetime, tz: tzinfo) -> Week:
    """The ISO week holding ``when`` (converted to ``tz``)."""
    local = when.astimezone(tz)
    year, number, _ = local.isocalendar()
    return parse_week(f"{year}-W{number:02d}", tz)


def parse_week(label: str, tz: tzinfo) -> Week:
    """Read ``2026-W47`` (or ``2026-w47``); raise UsageError otherwise."""
    m = re.fullmatch(r"([0-9]{4})-W([0-9]{2})", label.strip().upper())
    if not m:
        raise UsageError(f"--week: {label!r} is not an ISO week (2026-W47), 'last' or 'this'")
    label = m.group(0)
    try:
        day = datetime.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise UsageError(f"--week: {label} does not exist") from None
    start = day.replace(tzinfo=tz)
    # Monday of the next week, computed on the calendar (DST-safe).
    end = (day + timedelta(days=7)).replace(tzinfo=tz)
    return Week(label=label, start=start, end=end)


def resolve_week(spec: str, now: datetime, tz: tzinfo) -> Week:
    """``last`` (the last complete week before now), ``this`` or an ISO week (any case)."""
    keyword = spec.strip().lower()
    if keyword == "this":
        return week_of(now, tz)
    if keyword == "last":
        return week_of(now.astimezone(tz) - timedelta(days=7), tz)
    return parse_week(spec, tz)


def posts_in_week(posts: list[Post], week: Week, order: str = "oldest") -> list[Post]:
    """Published posts dated inside ``week``, oldest first (or newest)."""
    chosen = [p for p in posts if week.contains(p.date)]
    chosen.sort(key=lambda p: (p.date, p.slug), reverse=(order == "newest"))
    return chosen
