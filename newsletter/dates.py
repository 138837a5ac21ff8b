"""Post dates as people write them: YAML timestamps, Jekyll's forms, and dates in file names.

A date is read by PyYAML's own timestamp constructor (the YAML 1.1 forms:
one-digit hours, ``T`` or spaces, fractions, ``Z`` and ``+01:00``), after
two forms Jekyll also accepts are brought to it: a time without seconds
(``9:30``) and an offset without a colon (``+0100``). Values without an
offset are local to the site's time zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import yaml

_NO_SECONDS = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|[ \t]+)\d{1,2}:\d{2})(?=$|[ \t]*(?:[Zz]|[-+]\d))")
_COMPACT_OFFSET = re.compile(r"([-+])(\d{2})(\d{2})$")
_FILE_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")
# The usual forms, YYYY-MM-DD and YYYY-MM-DD HH:MM[:SS]: read as read_timestamp reads them, in one step.
_USUAL = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?: ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?")
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _yaml_timestamp(text: str) -> datetime | date | None:
    """The value of ``text`` as PyYAML reads an unquoted timestamp, or None when it is none."""
    if not yaml.SafeLoader.timestamp_regexp.match(text):
        return None
    node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", text)
    value: datetime | date = _CONSTRUCTOR.construct_yaml_timestamp(node)
    return value


def read_timestamp(text: str) -> datetime | date:
    """A written date (``2017-07-11 9:00:00 +0100``, ``2026-11-18T09:30Z``, ``2026-11-18``); ValueError if none."""
    text = " ".join(text.split())
    text = _NO_SECONDS.sub(r"\1:00", text)
    if not text.endswith(("Z", "z")):
        text = _COMPACT_OFFSET.sub(r"\1\2:\3", text)
    value = _yaml_timestamp(text)
    if value is None:
        value = datetime.fromisoformat(text.replace("z", "Z"))  # e.g. a 2026-11-18T09:30:00.5+05:30:15 offset
    return value


def parse_date(value: Any, tz: Any) -> datetime:
    """Parse a front-matter date; naive values are local to the site."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and (usual := _USUAL.fullmatch(value)) is not None:
        year, month, day, hour, minute, second = usual.groups()
        if hour is None:
            result = datetime(int(year), int(month), int(day))
        else:
            result = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    elif isinstance(value, str):
        read = read_timestamp(value)
        result = read if isinstance(read, datetime) else datetime(read.year, read.month, read.day)
    else:
        raise ValueError("not a date")
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    if 1 < result.year < 9999:  # a UTC offset is less than a day: only the first and last years can overflow
        return result
    try:
        result.astimezone(UTC)  # 0001-01-01 00:00+05:00 has no UTC time
    except OverflowError:
        raise ValueError("date out of range") from None
    return result


def date_in_file_name(name: str) -> date | None:
    """The date of a Jekyll-style file name (``2017-07-11-my-post.md``), or None."""
    m = _FILE_DATE.match(name)
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:  # 2017-02-30-...
        return None
