"""The usual shape of front matter, read directly and exactly as PyYAML reads it.

Nearly every post's front matter is a mapping of keys to one-line values:
plain or quoted scalars, flow lists (``[a, "b"]``), block lists of scalars
or of one-line mappings (``- text: ...`` then ``  doi: ...``), and one
level of nested mapping (``cta:``). :func:`read` takes exactly that subset,
a few times faster than PyYAML builds its node tree, and returns None for
anything else (any backslash, multi-line scalars, comments after a value, tabs,
anchors, tags, duplicate keys, unusual characters...), which then goes to
PyYAML. Plain scalars are resolved with the loader's own implicit resolvers
and constructed by PyYAML's SafeConstructor, so ``draft: true`` or
``weight: 0x1F`` come out as PyYAML makes them.

Lines are counted as :func:`newsletter.frontmatter.parse` counts them: the
line of each top-level key and of each item of a top-level list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

# The characters PyYAML's reader refuses or that break a line: tab, CR,
# NEL/U+2028/U+2029, the BOM, surrogates, control characters. Listed, not
# negated: a negated class of every other character takes re 20 times as long
# to compile (~10 ms, at each start of the program).
_UNUSUAL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# _UNUSUAL's ASCII characters: the control characters but the line feed.
_UNUSUAL_ASCII = bytes([*range(0x0A), *range(0x0B, 0x20), 0x7F])


def _usual_characters(front: str) -> bool:
    """No character of :data:`_UNUSUAL` in ``front``; ASCII text is screened in its bytes, four times as fast."""
    if front.isascii():
        data = front.encode("ascii")
        return len(data.translate(None, _UNUSUAL_ASCII)) == len(data)
    return _UNUSUAL.search(front) is None


# One line of the subset: indent, "- ", "key: ", then a one-line value or a comment.
# Each optional part is written "(?:X|)", not "(?:X)?": the same matches, tried
# in the same order, but a group under "?" costs the regex engine a repeat
# context (an allocation) each time, and this runs for every line (a third faster).
_LINE = re.compile(
    r"""(?P<indent>\ *)(?:(?P<dash>-\ (?!\ ))|)(?:(?P<key>[A-Za-z_][A-Za-z0-9_-]{0,99}):(?:\ +|$)|)"""
    r"""(?:"(?P<double>[^"]*)"|'(?P<single>[^']*(?:''[^']*)*)'|(?P<flow>\[.*\])|(?P<comment>\#.*)"""
    # A plain scalar: no indicator first, no ": " or trailing ":" (a mapping), no "#" (maybe a comment).
    r"""|(?P<plain>[^-?:,\[\]{}#&*!|>'"%@`\ ][^#:]*(?::(?!\ |$)[^#:]*)*)|)\ *""",
    re.VERBOSE,
)
# One item of a one-line flow list, with the "," or "]" after it.
_FLOW_ITEM = re.compile(
    r""" *(?:"([^"]*)"|'((?:[^']|'')*)'|([^-?:,\[\]{}#&*!|>'"%@` ](?:[^,?:\[\]{}#'"]*[^,?:\[\]{}#'" ])?)) *([,\]])"""
)
# A flow list of double-quoted strings only (``["a", "b c"]``), and each of them.
_QUOTED_LIST = re.compile(r' *\[ *"[^"]*"(?: *, *"[^"]*")* *\] *')
_QUOTED = re.compile(r'"([^"]*)"')
_NOTHING = object()  # "key:" with no value on its line
_STR = "tag:yaml.org,2002:str"


class _Unusual(Exception):
    """Outside the subset: PyYAML reads this front matter."""


class PlainReader:
    """Reads the subset, resolving plain scalars with the implicit resolvers it is given."""

    def __init__(self, resolvers: dict[str, tuple[Any, ...]], wildcard: tuple[Any, ...]):
        self.by_first = resolvers
        self.wildcard = wildcard
        # The first characters of a plain scalar that may make it something other than a string.
        self.maybe_not_str = None if wildcard else frozenset(resolvers)
        self.str_keys: set[str] = set()
        constructor = yaml.constructor.SafeConstructor()
        self.constructors: dict[str, Callable[[Any], Any]] = {
            tag: (lambda node, method=constructor.yaml_constructors[tag]: method(constructor, node))
            for tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                        "tag:yaml.org,2002:float")
        }  # fmt: skip

    def _tag(self, text: str) -> str:
        for tag, regexp in self.by_first.get(text[:1], self.wildcard):
            if regexp.match(text):
                return tag  # type: ignore[no-any-return]
        return _STR

    def _plain(self, text: str) -> Any:
        """A plain scalar's value: a string, or what its implicit tag makes of it (``true``, ``12``, ``~``)."""
        tag = self._tag(text)
        if tag == _STR:
            return text
        construct = self.constructors.get(tag)
        if construct is None:
            raise _Unusual
        try:
            return construct(yaml.ScalarNode(tag, text))
        except Exception:  # noqa: BLE001 - e.g. an int of 5,000 digits: PyYAML reports it
            raise _Unusual from None

    def _key(self, key: str) -> str:
        """``key`` when PyYAML reads it as a string (not ``true``, ``null``, ``12``)."""
        if key not in self.str_keys:
            if self._tag(key) != _STR:
                raise _Unusual
            if len(self.str_keys) < 1000:
                self.str_keys.add(key)
        return key

    def _flow(self, text: str) -> list[Any]:
        """A one-line flow list of scalars, ``[a, "b c"]``."""
        if _QUOTED_LIST.fullmatch(text):
            return _QUOTED.findall(text)
        items: list[Any] = []
        if text[1:-1].strip(" ") == "":
            return items
        at, end = 1, len(text)
        while True:
            m = _FLOW_ITEM.match(text, at)
            if m is None:
                raise _Unusual
            double, single, plain, after = m.groups()
            if double is not None:
                items.append(double)
            elif single is not None:
                items.append(single.replace("''", "'"))
            else:
                items.append(self._plain(plain))
            at = m.end()
            if after == "]":
                if at != end:
                    raise _Unusual
                return items

    def read(self, front: str, first_line: int) -> tuple[dict[str, Any], dict[str, int]] | None:
        """(data, key lines) as :func:`newsletter.frontmatter.parse` gives them, or None outside the subset."""
        # A backslash may start an escape in a double-quoted scalar. With none in
        # the front matter, '"[^"]*"' reads such a scalar: one character left out
        # is the regex engine's fastest loop, several times as fast as two.
        if "\\" in front or not _usual_characters(front):
            return None
        try:
            return self._read(front.split("\n"), first_line)
        except _Unusual:
            return None

    def _read(self, lines: list[str], first_line: int) -> tuple[dict[str, Any], dict[str, int]] | None:
        data: dict[str, Any] = {}
        where: dict[str, int] = {}
        # What the lines being read belong to: the top-level mapping, a key whose
        # value is on the next lines, its block list, or its nested mapping.
        top, pending, in_list, in_mapping = 0, 1, 2, 3
        state, key, indent = top, "", 0
        items: list[Any] = []
        mapping: dict[str, Any] = {}
        item: dict[str, Any] | None = None  # the list item being read when it is a mapping
        for number, line in enumerate(lines, first_line):
            m = _LINE.fullmatch(line)
            if m is None:
                raise _Unusual
            spaces, dash, name, double, single, flow, comment, plain = m.groups()
            if comment is not None:
                if dash is not None or name is not None:
                    raise _Unusual
                continue
            if double is not None:
                value: Any = double
            elif plain is not None:
                plain = plain.rstrip(" ")
                maybe = self.maybe_not_str
                # No implicit tag (number, boolean, null) matches a scalar with a space.
                value = plain if " " in plain or (maybe is not None and plain[0] not in maybe) else self._plain(plain)
            elif single is not None:
                value = single.replace("''", "'")
            elif flow is not None:
                value = self._flow(flow.rstrip(" "))
            elif dash is None and name is None:
                continue  # a blank line
            else:
                value = _NOTHING
            if name is None and dash is None:
                raise _Unusual  # a scalar on a line of its own
            at = len(spaces)
            if state == pending:
                if dash is not None:
                    state, indent, items = in_list, at, []
                    data[key] = items
                elif at:
                    state, indent, mapping = in_mapping, at, {}
                    data[key] = mapping
                else:
                    state = top
                    data[key] = None
            if state == in_list:
                if dash is not None and at == indent:
                    where[f"{key}.{len(items)}"] = number
                    if name is None:
                        items.append(value)
                        item = None
                    elif value is _NOTHING:
                        raise _Unusual
                    else:
                        item = {self._key(name): value}
                        items.append(item)
                    continue
                if item is not None and dash is None and at == indent + 2 and name is not None:
                    if value is _NOTHING or name in item:
                        raise _Unusual
                    item[self._key(name)] = value
                    continue
                if at or dash is not None:
                    raise _Unusual
                state, item = top, None
            elif state == in_mapping:
                if at == indent and dash is None and name is not None:
                    if value is _NOTHING or name in mapping:
                        raise _Unusual
                    mapping[self._key(name)] = value
                    continue
                if at or dash is not None:
                    raise _Unusual
                state = top
            if at or dash is not None or name in data:
                raise _Unusual
            where[name if name in self.str_keys else self._key(name)] = number  # type: ignore[arg-type,operator]
            if value is _NOTHING:
                state, key = pending, name
                continue
            data[name] = value  # type: ignore[index]
            if type(value) is list:
                for index in range(len(value)):
                    where[f"{name}.{index}"] = number
        if state == pending:
            data[key] = None
        return (data, where) if data else None
