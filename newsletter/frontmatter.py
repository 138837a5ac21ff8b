"""Split a post file into front matter and body; read the YAML safely.

YAML is read with PyYAML's C loader when available. Timestamps are left as
strings (dates are parsed by the loader with the site's time zone), aliases
are refused (billion laughs), nesting is bounded and control characters
(raw or written as escapes such as ``"\\0"``) are refused: feeds are XML.
Lines are counted in ``\\n`` only, although YAML also breaks lines at U+2028.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from newsletter.characters import CONTROL_CHARS, LINE_BREAKS  # noqa: F401 (LINE_BREAKS: read here by others)
from newsletter.plainyaml import PlainReader

MAX_DEPTH = 20
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Every byte that may start a CONTROL_CHARS character in UTF-8 becomes NUL, every other one "a".
_SCREEN = bytes(0 if (b < 0x20 and b not in (0x09, 0x0A, 0x0D)) or b == 0x7F else 0x61 for b in range(256))


def may_hold_control_chars(raw: bytes) -> bool:
    """A quick screen of a file's UTF-8 bytes for :data:`CONTROL_CHARS` (the regex then finds where)."""
    # Searching for one byte is many times faster than for three: U+FFFE and U+FFFF start with 0xEF.
    return b"\x00" in raw.translate(_SCREEN) or (b"\xef" in raw and (b"\xef\xbf\xbe" in raw or b"\xef\xbf\xbf" in raw))


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader without implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_WILDCARD = tuple(_Loader.yaml_implicit_resolvers.get(None, ()))
_BY_FIRST = {
    first: tuple(resolvers) + _WILDCARD
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
    if first is not None
}


def _resolve(self: Any, kind: Any, value: Any, implicit: Any) -> Any:
    """PyYAML's tag resolution for a loader without path resolvers, in fewer steps.

    It runs for every node, so it is worth its few lines: the regexps for
    the scalar's first character (numbers, booleans, null), else a string.
    """
    if kind is yaml.ScalarNode:
        if implicit[0]:
            for tag, regexp in _BY_FIRST.get(value[:1], _WILDCARD):
                if regexp.match(value):
                    return tag
        return self.DEFAULT_SCALAR_TAG
    return self.DEFAULT_SEQUENCE_TAG if kind is yaml.SequenceNode else self.DEFAULT_MAPPING_TAG


_Loader.resolve = _resolve
_PLAIN = PlainReader(_BY_FIRST, _WILDCARD)

_FENCE = re.compile(r"^---[ \t]*$")
_TOML_FENCE = re.compile(r"^\+\+\+[ \t]*$", re.MULTILINE)
_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


class FrontMatterError(ValueError):
    """A problem in the front matter, with the line (1-based, in the file)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class Document:
    """A post file split in two."""

    data: dict[str, Any]
    lines: dict[str, int]  # key -> line; "references.N" for each reference item
    body: str
    body_line: int


def split(text: str) -> tuple[str, int, str, int]:
    """Return (front matter, its first line, body, body's first line)."""
    first_end = text.find("\n")
    if not _FENCE.match(text if first_end < 0 else text[:first_end]):
        raise FrontMatterError(1, "no front matter: the file must start with a '---' line")
    at = first_end  # the line break before the line being looked at
    while at >= 0:
        dashes = text.find("\n---", at)
        # A "..." line counts only before the "---" line: no need to look through the whole body for one.
        dots = text.find("\n...", at, dashes + 3) if dashes >= 0 else text.find("\n...", at)
        candidates = [found for found in (dashes, dots) if found >= 0]
        if not candidates:
            break
        at = min(candidates)
        end = text.find("\n", at + 1)
        if _END.match(text[at + 1 : end if end >= 0 else len(text)]):
            body = text[end + 1 :] if end >= 0 else ""
            return text[first_end + 1 : at], 2, body, text.count("\n", 0, at + 1) + 2
        at = end
    raise FrontMatterError(1, "front matter is not closed: add a '---' line after it")


def _scan_events(front: str, line_at: Any) -> None:
    """Refuse aliases, deep nesting and control characters from the event stream.

    The events come from a loop, not a recursion, so this runs before any
    node tree is built: a billion-laughs file or ``[[[[...`` never gets that far.
    """
    depth = 0
    try:
        for event in yaml.parse(front, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise FrontMatterError(line_at(event.start_mark), "YAML aliases are not allowed")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise FrontMatterError(line_at(event.start_mark), f"nesting deeper than {MAX_DEPTH} levels")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent):
                bad = CONTROL_CHARS.search(event.value)
                if bad:
                    raise FrontMatterError(
                        line_at(event.start_mark), f"control character U+{ord(bad.group()):04X} in a value"
                    )
    except yaml.YAMLError:
        pass  # reported with its line by the compose step


def _may_be_hostile(front: str) -> bool:
    """Whether the event scan is needed: aliases, escapes, control characters or deep nesting possible.

    A conservative bound, cheap to compute: nesting needs an indent, a
    ``- ``, a ``[``, a ``{`` or a ``?`` per level. Ordinary front matter
    skips the scan (it costs as much as the parse itself).
    """
    if "&" in front or "*" in front or "\\" in front or CONTROL_CHARS.search(front):
        return True
    others = front.count("- ") + front.count("[") + front.count("{") + front.count("?") + 1
    # A level made by indenting needs a line of its own that starts with a space.
    if front.count("\n ") + front.startswith(" ") + others < MAX_DEPTH:
        return False
    indent = max((len(line) - len(line.lstrip(" ")) for line in front.split("\n")), default=0)
    return indent + others >= MAX_DEPTH


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


def _construct(loader: Any, node: Any) -> Any:
    """The data of a node tree, as PyYAML's safe constructor makes it.

    Strings, lists and mappings with string keys (nearly all of a post's
    front matter) are taken straight from the tree, which is three times
    as fast; every other node (numbers, booleans, null, merge keys, tags)
    goes to PyYAML.
    """
    tag = node.tag
    if tag == _STR and type(node) is yaml.ScalarNode:
        return node.value
    if tag == _SEQ and type(node) is yaml.SequenceNode:
        return [_construct(loader, item) for item in node.value]
    if (
        tag == _MAP
        and type(node) is yaml.MappingNode
        and all(key.tag == _STR and type(key) is yaml.ScalarNode for key, _value in node.value)
    ):
        return {key.value: _construct(loader, value) for key, value in node.value}
    return loader.construct_object(node, deep=True)


def parse(front: str, first_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse front matter YAML into data and a map of key lines."""
    usual = _PLAIN.read(front, first_line)  # most front matter, read directly (see newsletter.plainyaml)
    return usual if usual is not None else parse_yaml(front, first_line)


def parse_yaml(front: str, first_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    """:func:`parse` by PyYAML alone, for any front matter."""

    def line_at(mark: Any) -> int:
        # Count "\n" only: YAML's own mark.line also counts U+2028, U+0085...
        return first_line + front.count("\n", 0, mark.index) if mark is not None else first_line

    if _may_be_hostile(front):
        _scan_events(front, line_at)
    loader = _Loader(front)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if mark is not None and mark.index >= len(front.rstrip()) and exc.context_mark is not None:
                mark = exc.context_mark  # e.g. an unclosed [ : point at where it opened
            problem = exc.problem or exc.context or "invalid YAML"
            raise FrontMatterError(line_at(mark), f"invalid YAML: {problem}") from None
        except yaml.reader.ReaderError as exc:
            line = first_line + front.count("\n", 0, max(exc.position, 0))
            raise FrontMatterError(line, f"invalid YAML: {exc.reason}") from None
        except yaml.YAMLError as exc:
            raise FrontMatterError(first_line, f"invalid YAML: {str(exc).splitlines()[0]}") from None
        except RecursionError:
            raise FrontMatterError(first_line, f"nesting deeper than {MAX_DEPTH} levels") from None
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            raise FrontMatterError(first_line, "front matter must be a mapping of keys to values")
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[key] = line_at(key_node.start_mark)
            if isinstance(value_node, yaml.SequenceNode):
                for index, item in enumerate(value_node.value):
                    lines[f"{key}.{index}"] = line_at(item.start_mark)
        try:
            data = _construct(loader, node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise FrontMatterError(line_at(mark), f"invalid YAML: {exc.problem or exc.context}") from None
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. an int of 5,000 digits
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise FrontMatterError(first_line, f"invalid YAML value: {message}") from None
        except Exception:  # noqa: BLE001 - e.g. "!!timestamp nope" makes PyYAML raise AttributeError
            raise FrontMatterError(first_line, "invalid YAML value: check values written with a !!tag") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise FrontMatterError(first_line, "front matter must be a mapping of keys to values")
    return data, lines


def read(text: str) -> Document:
    """Split and parse a whole post file (text already decoded): YAML between ``---``, or TOML between ``+++``."""
    if text.startswith("+++"):
        from newsletter.tomlfront import read_toml

        first_end = text.find("\n")
        if _TOML_FENCE.fullmatch(text if first_end < 0 else text[:first_end]):
            data, lines, body, body_line = read_toml(text, first_end)
            return Document(data=data, lines=lines, body=body, body_line=body_line)
    front, first_line, body, body_line = split(text)
    data, lines = parse(front, first_line)
    return Document(data=data, lines=lines, body=body, body_line=body_line)
