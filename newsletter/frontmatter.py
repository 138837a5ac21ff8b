"""Split a post file into front matter and body; read the YAML safely.

YAML is read with PyYAML's C loader when available. Timestamps are left as
strings (dates are parsed by the loader with the site's time zone), aliases
are refused (billion laughs) and nesting is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 20
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader without implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}

_FENCE = re.compile(r"^---[ \t]*$")
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
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise FrontMatterError(1, "no front matter: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if _END.match(lines[index]):
            front = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            return front, 2, body, index + 2
    raise FrontMatterError(1, "front matter is not closed: add a '---' line after it")


def _check_depth_and_aliases(node: yaml.Node, first_line: int) -> None:
    """Refuse deep nesting and repeated (aliased) nodes, without recursion."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FrontMatterError(first_line + current.start_mark.line, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(current, (yaml.MappingNode, yaml.SequenceNode)):
            if id(current) in seen:
                raise FrontMatterError(first_line + current.start_mark.line, "YAML aliases are not allowed")
            seen.add(id(current))
            children = (
                [n for pair in current.value for n in pair]
                if isinstance(current, yaml.MappingNode)
                else list(current.value)
            )
            stack.extend((child, depth + 1) for child in children)


def parse(front: str, first_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse front matter YAML into data and a map of key lines."""
    if "&" in front or "*" in front:
        try:
            for event in yaml.parse(front, Loader=_Loader):
                if isinstance(event, yaml.AliasEvent):
                    raise FrontMatterError(first_line + event.start_mark.line, "YAML aliases are not allowed")
        except yaml.YAMLError:
            pass  # reported with its line by the compose step below
    loader = _Loader(front)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            past_end = mark is not None and mark.line >= front.count("\n") + (0 if front.endswith("\n") else 1)
            if past_end and exc.context_mark is not None:
                mark = exc.context_mark  # e.g. an unclosed [ : point at where it opened
            line = first_line + (mark.line if mark else 0)
            problem = exc.problem or exc.context or "invalid YAML"
            raise FrontMatterError(line, f"invalid YAML: {problem}") from None
        except yaml.YAMLError as exc:
            raise FrontMatterError(first_line, f"invalid YAML: {exc}") from None
        except RecursionError:
            raise FrontMatterError(first_line, f"nesting deeper than {MAX_DEPTH} levels") from None
        if node is None:
            return {}, {}
        _check_depth_and_aliases(node, first_line)
        if not isinstance(node, yaml.MappingNode):
            raise FrontMatterError(first_line, "front matter must be a mapping of keys to values")
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[key] = first_line + key_node.start_mark.line
            if isinstance(value_node, yaml.SequenceNode):
                for index, item in enumerate(value_node.value):
                    lines[f"{key}.{index}"] = first_line + item.start_mark.line
        try:
            data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise FrontMatterError(first_line + (mark.line if mark else 0), f"invalid YAML: {exc}") from None
        except (ValueError, TypeError, OverflowError) as exc:
            raise FrontMatterError(first_line, f"invalid YAML value: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise FrontMatterError(first_line, "front matter must be a mapping of keys to values")
    return data, lines


def read(text: str) -> Document:
    """Split and parse a whole post file (text already decoded)."""
    front, first_line, body, body_line = split(text)
    data, lines = parse(front, first_line)
    return Document(data=data, lines=lines, body=body, body_line=body_line)
