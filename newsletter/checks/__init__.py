"""Checks on an outbox message: size, headers, MIME, links, images, text, client support, accessibility.

Pure functions over what lies on disk: :func:`check_message` reads one
outbox folder (``message.eml`` and ``message.html``), the settings and the
built ``public/`` folder, and returns :class:`CheckResult` items; nothing is
written and nothing is printed. ``newsletter check`` and the preview server
show the same results.

Client support comes from caniemail.com (MIT License, (c) 2019 Rémi
Parmentier): ``newsletter/data/caniemail.json`` is a compact extract of its
data for the features our templates and typical posts use.
"""

from __future__ import annotations

import email.policy
import re
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from newsletter.checks.a11y import check_accessibility
from newsletter.checks.clients import check_clients
from newsletter.checks.html import check_images, check_links, check_style, scan_html, site_folders
from newsletter.checks.results import LEVELS, CheckResult, error, info, summarize, warning
from newsletter.config import Settings
from newsletter.i18n import for_settings

__all__ = ["LEVELS", "CheckResult", "check_message", "summarize"]

GMAIL_CLIP = 102_000  # bytes of the whole message; Gmail clips above
TEXT_WIDTH = 78
MAX_LINE = 998  # RFC 5322 2.1.1
REQUIRED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "List-Id")
ONE_CLICK = "List-Unsubscribe=One-Click"
# SpamAssassin's __GB_FAKE_RF: a subject that reads like a reply or a forward ("...Care: 16 ...").
_FAKE_REPLY = re.compile(r"(?:Fw|Re):{1,2}[\W+]", re.I)
_URL_LINE = re.compile(r"^\s*(?:\[\d+\]\s*|[-*]\s+)?<?(?:https?://|mailto:)\S+?>?\s*$")


def check_message(folder: Path, settings: Settings, public_dir: Path | None = None) -> list[CheckResult]:
    """Run every check on the outbox message in ``folder``, errors first."""
    eml_path = folder / "message.eml"
    try:
        raw = eml_path.read_bytes()
    except OSError:
        return [error("missing", f"{folder.name}/message.eml is missing")]
    msg = parse_message(raw)
    results = check_parse(msg) + check_raw_lines(raw) + check_headers(msg)
    html_part, text_part = _part(msg, "html"), _part(msg, "plain")
    html = _decoded(html_part)
    encoded = len(str(html_part.get_payload()).encode("ascii", "replace")) if html_part is not None else 0
    results += check_sizes(encoded, len(raw), settings.digest.size_budget)
    if html is not None:
        try:
            on_disk = (folder / "message.html").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            on_disk = None
        if on_disk is not None and on_disk.replace("\r\n", "\n") != html.replace("\r\n", "\n"):
            results.append(warning("html-file", "message.html differs from the HTML part of message.eml"))
        page = scan_html(html)
        exempt = {u for u in (settings.email.unsubscribe_url,) if u}
        folders = site_folders(post_pages=not settings.site.post_url)
        results += check_links(page, settings.site.base_url, public_dir, exempt, folders)
        results += check_images(page, settings.site.base_url, public_dir, folders)
        results += check_style(page)
        results += check_clients(page)
        language = for_settings(settings)
        results += check_accessibility(html, language.tag, language.dir)
    text = _decoded(text_part)
    if text is not None:
        results += check_text(text)
    return sorted(results, key=lambda r: LEVELS.index(r.level))


def parse_message(raw: bytes) -> EmailMessage:
    """Parse message bytes with Python's email parser (modern policy)."""
    return BytesParser(policy=email.policy.default).parsebytes(raw)  # type: ignore[return-value]


def _part(msg: EmailMessage, subtype: str) -> EmailMessage | None:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part  # type: ignore[return-value]
    return None


def _decoded(part: EmailMessage | None) -> str | None:
    if part is None:
        return None
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        return None


def check_parse(msg: EmailMessage) -> list[CheckResult]:
    """Parser defects anywhere, and the MIME shape: multipart/alternative, text then HTML."""
    results = []
    for part in msg.walk():
        for defect in part.defects:
            results.append(error("parse-defect", f"{part.get_content_type()}: {type(defect).__name__}: {defect}"))
    for name, value in msg.items():
        for defect in getattr(value, "defects", ()):
            results.append(error("parse-defect", f"header {name}: {type(defect).__name__}: {defect}"))
    kinds = [p.get_content_type() for p in msg.iter_parts()] if msg.is_multipart() else []
    if msg.get_content_type() != "multipart/alternative" or kinds != ["text/plain", "text/html"]:
        shape = f"{msg.get_content_type()} [{', '.join(kinds)}]" if kinds else msg.get_content_type()
        results.append(error("mime-structure", f"expected multipart/alternative [text/plain, text/html], got {shape}"))
    return results


def check_raw_lines(raw: bytes) -> list[CheckResult]:
    """Line ends and line lengths of the raw message (RFC 5322 2.1.1, 2.3)."""
    results = []
    lines = raw.split(b"\n")
    bare = sum(1 for line in lines[:-1] if not line.endswith(b"\r"))
    if bare:
        results.append(warning("line-endings", f"message.eml has {bare} lines ending in LF alone (CRLF expected)"))
    long = [n for n, line in enumerate(lines, start=1) if len(line.rstrip(b"\r")) > MAX_LINE]
    if long:
        results.append(error("line-length", f"message.eml:{long[0]}: line longer than {MAX_LINE} bytes"))
    return results


def check_headers(msg: EmailMessage) -> list[CheckResult]:
    """Required headers, each once; one https List-Unsubscribe; RFC 8058 one-click."""
    results = []
    for name in (*REQUIRED_HEADERS, "List-Unsubscribe", "List-Unsubscribe-Post"):
        count = len(msg.get_all(name) or [])
        if count == 0:
            results.append(error("header-missing", f"no {name} header"))
        elif count > 1:
            results.append(error("header-duplicate", f"{name} appears {count} times (exactly one expected)"))
    message_id = str(msg.get("Message-ID", "")).strip()
    if message_id and not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id):
        results.append(error("header-message-id", f"Message-ID is not <local@domain>: {message_id!r}"))
    if msg.get("Subject") is not None and not str(msg["Subject"]).strip():
        results.append(error("header-subject", "the Subject is empty"))
    elif msg.get("Subject") is not None and _FAKE_REPLY.search(str(msg["Subject"])):
        results.append(
            warning(
                "header-subject-reply",
                f"the Subject {str(msg['Subject'])!r} reads like a reply or a forward ('re:'/'fw:'): "
                "spam filters score that (SpamAssassin GB_FAKE_RF_*); change [digest] subject",
            )
        )
    unsubscribe = msg.get_all("List-Unsubscribe") or []
    if unsubscribe:
        uris = re.findall(r"<([^<>]*)>", " ".join(str(v) for v in unsubscribe))
        if not any(u.startswith("https://") for u in uris):
            results.append(error("unsubscribe-https", "List-Unsubscribe has no <https://...> URI (RFC 8058)"))
        for uri in uris:
            if not uri.startswith(("https://", "mailto:")):
                results.append(error("unsubscribe-uri", f"List-Unsubscribe URI is neither https nor mailto: {uri}"))
    posts = msg.get_all("List-Unsubscribe-Post") or []
    if len(posts) == 1 and str(posts[0]).strip() != ONE_CLICK:
        results.append(error("unsubscribe-post", f"List-Unsubscribe-Post must be {ONE_CLICK!r}, not {str(posts[0])!r}"))
    return results


def check_sizes(html_bytes: int, eml_bytes: int, budget: int) -> list[CheckResult]:
    """The transfer-encoded HTML part against the budget; the whole message against Gmail's clip."""
    warn_at = budget * 8 // 9  # 80,000 of the default 90,000
    results = [
        info("size", f"HTML part {html_bytes:,} bytes (budget {budget:,}); message {eml_bytes:,} bytes"),
    ]
    if html_bytes > budget:
        results.append(error("size-html", f"the HTML part is {html_bytes:,} bytes, over the {budget:,} budget"))
    elif html_bytes > warn_at:
        results.append(warning("size-html", f"the HTML part is {html_bytes:,} bytes, close to the {budget:,} budget"))
    if eml_bytes >= GMAIL_CLIP:
        results.append(error("size-eml", f"the message is {eml_bytes:,} bytes: Gmail clips at {GMAIL_CLIP:,}"))
    return results


def check_text(text: str) -> list[CheckResult]:
    """Plain-text lines at most 78 characters, except a line holding just a URL."""
    results = []
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > TEXT_WIDTH and not _URL_LINE.match(line):
            results.append(
                warning("text-line-length", f"message.txt:{number}: {len(line)} characters (at most {TEXT_WIDTH})")
            )
    if len(results) > 10:
        results = results[:10] + [warning("text-line-length", f"... and {len(results) - 10} more long lines")]
    return results
