"""The result of one check: level, code, message."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

LEVELS = ("error", "warning", "info")


@dataclass(frozen=True)
class CheckResult:
    """One finding: ``level`` is error, warning or info; ``code`` names the check."""

    level: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.code}: {self.message}"


def error(code: str, message: str) -> CheckResult:
    """An error: the message should not be sent as it is."""
    return CheckResult("error", code, message)


def warning(code: str, message: str) -> CheckResult:
    """A warning: worth a look before sending."""
    return CheckResult("warning", code, message)


def info(code: str, message: str) -> CheckResult:
    """A note: facts about the message."""
    return CheckResult("info", code, message)


def summarize(results: Iterable[CheckResult]) -> dict[str, int]:
    """Count results per level: ``{"error": 0, "warning": 2, "info": 5}``."""
    counts = Counter(r.level for r in results)
    return {level: counts.get(level, 0) for level in LEVELS}
