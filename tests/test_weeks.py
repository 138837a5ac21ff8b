"""ISO weeks: what --week accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsletter.errors import UsageError
from newsletter.weeks import parse_week, resolve_week

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("2026-W47", "2026-W47"),
        ("2026-w47", "2026-W47"),
        (" 2026-w47 ", "2026-W47"),
        ("last", "2026-W47"),
        ("LAST", "2026-W47"),
        ("This", "2026-W48"),
    ],
)
def test_week_specs(spec: str, label: str) -> None:
    assert resolve_week(spec, NOW, UTC).label == label


@pytest.mark.parametrize("spec", ["2026-47", "2026-W7", "W47", "２０２６-W47", "2026-W54", "next"])
def test_bad_weeks_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="--week"):
        resolve_week(spec, NOW, UTC)


def test_parse_week_keeps_the_label_canonical() -> None:
    week = parse_week("2026-w01", UTC)
    assert (week.label, week.start.date().isoformat()) == ("2026-W01", "2025-12-29")
