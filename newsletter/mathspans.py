"""Markdown source made safe for cmark: TeX spans kept as written, escaped brackets kept literal.

cmark knows no TeX: in ``$$ h_t = \\bar{a}_t * x_t $$`` it would read the
underscores and stars as emphasis and eat the backslashes. Each ``$...$``
and ``$$...$$`` span (Pandoc's rules: no space inside the dollars, no
digit after the closing one) gets every ASCII punctuation character
backslash-escaped, which CommonMark renders as the character itself: the
TeX reaches the HTML intact, for MathJax or KaTeX to typeset. Code (fenced,
indented or inline) is left alone.

An escaped bracket ``\\[`` gets :data:`SENTINEL` after it, so that ``\\[1\\]``
can never become a citation marker; the renderer removes the sentinel
(a noncharacter the loader refuses in any file).
"""

from __future__ import annotations

import re

SENTINEL = "\uffff"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_MATH = re.compile(
    r"(?<![\\$])\$\$(?!\$)(?:[^$\n]|\n(?![ \t]*\n)|\$(?!\$))+?(?<!\\)\$\$"  # display: $$...$$, within a paragraph
    r"|(?<![\\$])\$(?![\s$])(?:[^$\\\n]|\\[^\n])*?(?<![\s\\])\$(?![\d$])"  # inline: $...$ on one line
)
_ESCAPED_BRACKET = re.compile(r"(?<!\\)((?:\\\\)*\\\[)")


def _escape(match: re.Match[str]) -> str:
    span = match.group()
    ends = 2 if span.startswith("$$") else 1
    return span[:ends] + _PUNCTUATION.sub(lambda m: "\\" + m.group(), span[ends:-ends]) + span[-ends:]


def _math(text: str) -> str:
    """Escape the TeX spans of prose (no code in it but inline code spans, which are skipped)."""
    out: list[str] = []
    last = 0
    for code in _CODE_SPAN.finditer(text):
        out.append(_math_only(text[last : code.start()]))
        out.append(code.group())
        last = code.end()
    out.append(_math_only(text[last:]))
    return "".join(out)


def _math_only(text: str) -> str:
    if "$" not in text:
        return text
    return _MATH.sub(_escape, text)


def _chunks(text: str) -> list[tuple[bool, str]]:
    """The source cut into (is prose, text): fenced and indented code blocks are not prose."""
    chunks: list[tuple[bool, list[str]]] = []
    fence = ""
    previous_blank = True
    for line in text.split("\n"):
        if fence:
            chunks[-1][1].append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = ""
            previous_blank = False
            continue
        opened = _FENCE.match(line)
        indented = line.startswith(("    ", "\t")) and (previous_blank or (chunks and not chunks[-1][0]))
        prose = not opened and not (indented and line.strip())
        if opened:
            fence = opened.group(1)
        if not line.strip() and chunks:
            prose = chunks[-1][0]  # a blank line stays with what it follows
        if not chunks or chunks[-1][0] != prose or opened:
            chunks.append((prose, []))
        chunks[-1][1].append(line)
        previous_blank = not line.strip()
    return [(prose, "\n".join(lines)) for prose, lines in chunks]


def protect(text: str) -> str:
    """``text`` with its TeX spans escaped and its escaped brackets marked (see the module docstring)."""
    if "$" in text:
        text = "\n".join(_math(chunk) if prose else chunk for prose, chunk in _chunks(text))
    if "\\[" in text:
        text = _ESCAPED_BRACKET.sub(lambda m: m.group(1) + SENTINEL, text)
    return text
