"""The message HTML as the preview's iframes show it: light or dark, images from public/.

A browser decides ``@media (prefers-color-scheme: dark)`` from the reader's
system setting, which a preview page cannot change for one iframe. So each
frame gets its own copy of the message with the choice made in the CSS:

* in every ``<style>`` block, ``(prefers-color-scheme: dark)`` becomes a
  condition that is always true in the dark copy and always false in the
  light one (and ``light`` the other way round), so the message's own dark
  rules apply exactly as a client in dark mode applies them;
* the ``color-scheme`` meta tag says only ``dark`` (or ``light``) and a last
  ``:root{color-scheme: ...}`` rule follows it, so the browser's own
  defaults (canvas, text, scroll bars) and ``light-dark()`` agree.

Clients that invert colours on their own (Gmail's apps, Outlook) are not
imitated. Images under the site URL are shown from the local ``public/``
folder, and links open in a new tab instead of inside the frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable

SCHEMES = ("light", "dark")
ALWAYS, NEVER = "(min-width:0px)", "(min-width:99999px)"
_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S | re.I)
_SCHEME_QUERY = re.compile(r"\(\s*prefers-color-scheme\s*:\s*(light|dark)\s*\)", re.I)
_META = re.compile(r"<meta\s+name=([\"'])(color-scheme|supported-color-schemes)\1\s+content=([\"'])[^\"']*\3", re.I)
_SRC = re.compile(r"(<img\b[^>]*?\ssrc=)([\"'])([^\"']*)\2", re.I)
_LINK = re.compile(r"<a\b([^>]*)>", re.I)


def force_scheme(html: str, scheme: str) -> str:
    """``html`` with its colour scheme fixed to ``scheme`` ("light" or "dark")."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown colour scheme {scheme!r}")

    def query(m: re.Match[str]) -> str:
        return ALWAYS if m.group(1).lower() == scheme else NEVER

    def style(m: re.Match[str]) -> str:
        return m.group(1) + _SCHEME_QUERY.sub(query, m.group(2)) + m.group(3)

    html = _STYLE.sub(style, html)
    html = _META.sub(lambda m: f'<meta name="{m.group(2)}" content="{scheme}"', html)
    forced = f'<style data-preview="{scheme}">:root{{color-scheme:{scheme} !important}}</style>'
    head_end = re.search(r"</head\s*>", html, re.I)
    if head_end:
        return html[: head_end.start()] + forced + html[head_end.start() :]
    return forced + html


def localize(html: str, to_local: Callable[[str], str | None]) -> str:
    """Point image sources at local copies where ``to_local(url)`` has one; open links in a new tab."""

    def src(m: re.Match[str]) -> str:
        local = to_local(m.group(3))
        return m.group(0) if local is None else f"{m.group(1)}{m.group(2)}{local}{m.group(2)}"

    def link(m: re.Match[str]) -> str:
        attrs = m.group(1)
        if re.search(r"\starget\s*=", attrs, re.I) or re.search(r"\shref\s*=\s*[\"']?#", attrs, re.I):
            return m.group(0)
        return f'<a{attrs} target="_blank" rel="noopener noreferrer">'

    return _LINK.sub(link, _SRC.sub(src, html))


def frame_html(html: str, scheme: str, to_local: Callable[[str], str | None]) -> str:
    """The copy of the message that the ``scheme`` frames show."""
    return localize(force_scheme(html, scheme), to_local)
