"""TOML front matter between ``+++`` lines (Hugo's second format), read with tomllib.

The data comes out as YAML's would: a mapping with the line of each key
(and of each ``[[references]]`` table) so that problems still point at
``path:line``.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from newsletter.frontmatter import CONTROL_CHARS, MAX_DEPTH, FrontMatterError

_CLOSE = re.compile(r"^\+\+\+[ \t]*$", re.MULTILINE)
_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)")
_KEY = re.compile(r"""^[ \t]*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))[ \t]*[=.]""")
_TABLE = re.compile(r"""^[ \t]*(\[\[?)[ \t]*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))""")


def read_toml(text: str, first_end: int) -> tuple[dict[str, Any], dict[str, int], str, int]:
    """Parse ``text`` that opens with a ``+++`` line ending at ``first_end``: (data, key lines, body, body line)."""
    if first_end < 0:
        raise FrontMatterError(1, "front matter is not closed: add a '+++' line after it")
    close = _CLOSE.search(text, first_end + 1)
    if close is None:
        raise FrontMatterError(1, "front matter is not closed: add a '+++' line after it")
    front = text[first_end + 1 : close.start()]
    end = text.find("\n", close.end())
    body = text[end + 1 :] if end >= 0 else ""
    body_line = text.count("\n", 0, close.start()) + 2
    try:
        data = tomllib.loads(front)
    except RecursionError:
        raise FrontMatterError(2, f"nesting deeper than {MAX_DEPTH} levels") from None
    except tomllib.TOMLDecodeError as exc:
        m = _POSITION.search(str(exc))
        line = 1 + int(m.group(1)) if m else 2
        raise FrontMatterError(line, f"invalid TOML: {_POSITION.sub('', str(exc)) or 'syntax error'}") from None
    lines = _key_lines(front)
    _refuse_hostile(data, lines, 0)
    return data, lines, body, body_line


def _key_lines(front: str) -> dict[str, int]:
    """The line (in the file) of each top-level key, each table and each ``[[references]]`` entry."""
    lines: dict[str, int] = {}
    table = ""
    counts: dict[str, int] = {}
    for number, line in enumerate(front.split("\n"), start=2):
        header = _TABLE.match(line)
        if header:
            table = next(g for g in header.groups()[1:] if g)
            lines.setdefault(table, number)
            if header.group(1) == "[[":
                index = counts.get(table, 0)
                counts[table] = index + 1
                lines[f"{table}.{index}"] = number
            continue
        key = _KEY.match(line)
        if key and not table:
            lines.setdefault(next(g for g in key.groups() if g), number)
    return lines


def _refuse_hostile(value: Any, lines: dict[str, int], depth: int, key: str = "") -> None:
    """Refuse control characters (written as escapes) and deep nesting, as the YAML reader does."""
    line = lines.get(key.split(".")[0], 2)
    if depth > MAX_DEPTH:
        raise FrontMatterError(line, f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        bad = CONTROL_CHARS.search(value)
        if bad:
            raise FrontMatterError(line, f"control character U+{ord(bad.group()):04X} in a value")
    elif isinstance(value, dict):
        for name, item in value.items():
            _refuse_hostile(name, lines, depth + 1, key or str(name))
            _refuse_hostile(item, lines, depth + 1, key or str(name))
    elif isinstance(value, list):
        for item in value:
            _refuse_hostile(item, lines, depth + 1, key)
