"""Settings: the schema of newsletter.toml and its loader.

Every setting has a one-line description (``doc``) that ``newsletter init``
writes into new projects. Errors are collected as ``newsletter.toml:line:``
problems; unknown keys are warnings.
"""

from __future__ import annotations

import dataclasses
import re
import string
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.characters import CONTROL_CHARS, LINE_BREAKS
from newsletter.errors import NewsletterError, Problems, UsageError

CONFIG_NAME = "newsletter.toml"


def setting(default: Any, doc: str) -> Any:
    """Declare one setting with its default and its description."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class SiteSettings:
    """[site]: the publication."""

    title: str = setting("My Newsletter", "Name of the publication, used in feeds, pages and emails.")
    url: str = setting("https://example.org/", "Public base URL of the site; every link is absolute under it.")
    description: str = setting("", "One-line description (feed subtitle).")
    author: str = setting("", "Default author of posts that name none.")
    author_email: str = setting("", "Author e-mail shown in RSS (optional).")
    language: str = setting("en", "Language tag of the content, e.g. en or en-GB.")
    timezone: str = setting("UTC", "IANA time zone for post dates and digest weeks, e.g. Europe/Berlin.")
    post_url: str = setting(
        "",
        "Pattern for post links on an existing site, e.g. https://example.org/blog/{year}/{month}/{slug}/ "
        "(optional; {year}, {month}, {day} and {slug} are filled in).",
    )
    post_path: str = setting(
        "posts/{slug}/",
        "Where each post's page goes under site.url, e.g. {year}/{month}/{day}/{slug}/ to keep a blog's old URLs.",
    )
    logo: str = setting("", "Absolute URL of a logo image for feeds (optional).")
    icon: str = setting("", "Absolute URL of a small icon (favicon) for feeds (optional).")

    @cached_property
    def base_url(self) -> str:
        """The site URL, always ending in ``/``."""
        return self.url if self.url.endswith("/") else self.url + "/"

    @cached_property
    def domain(self) -> str:
        """The host name of the site URL."""
        return urlsplit(self.url).hostname or "localhost"

    @cached_property
    def tz(self) -> ZoneInfo:
        """The site time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class EmailSettings:
    """[email]: the digest message."""

    sender: str = setting("My Newsletter <newsletter@example.org>", "From header of the digest.")
    to: str = setting("Subscribers <subscribers@example.org>", "To header (a list address).")
    reply_to: str = setting("", "Reply-To header (optional).")
    list_id: str = setting("", "List-Id label, e.g. news.example.org (default: derived from site.url).")
    postal_address: str = setting("", "Postal address shown in the footer (required for bulk mail).")
    unsubscribe_url: str = setting("", "Required: the https URL for one-click unsubscribe (RFC 8058).")
    unsubscribe_mailto: str = setting("", "Optional mailto: address also offered in List-Unsubscribe.")
    subject: str = setting("", "Older name of digest.subject (still read; digest.subject wins).")


@dataclass(frozen=True)
class DigestSettings:
    """[digest]: which posts go into a weekly digest and how."""

    order: str = setting("oldest", "Order of posts in a digest: oldest or newest first.")
    full_posts: bool = setting(True, "Show whole posts (true) or summaries with Read more links (false).")
    size_budget: int = setting(90000, "Largest HTML part in bytes before falling back to summaries.")
    subject: str = setting(
        "", "Subject pattern with {title}, {period}, {count}, {first_title} (default: the catalog's, per language)."
    )


@dataclass(frozen=True)
class FeedSettings:
    """[feed]: the RSS, Atom and JSON feeds."""

    limit: int = setting(20, "Most entries in each feed, newest first.")
    categories: bool = setting(True, "Write one RSS feed per category under public/categories/.")


@dataclass(frozen=True)
class CtaSettings:
    """[cta]: the default call-to-action for posts that have none."""

    text: str = setting("", "Sentence shown above the button.")
    label: str = setting("", "Button label.")
    url: str = setting("", "Where the button leads (absolute URL).")


@dataclass(frozen=True)
class SubscribersSettings:
    """[subscribers]: where the subscriber list and the delivery record live."""

    database: str = setting("subscribers.db", "SQLite file in the project, or a postgresql:// URL.")


@dataclass(frozen=True)
class SmtpSettings:
    """[smtp]: the relay that `newsletter send` hands messages to."""

    host: str = setting("", "Host name of the SMTP relay, e.g. smtp.example.org or 127.0.0.1 for a local Postfix.")
    port: int = setting(587, "Port: 587 for starttls, 465 for tls, 25 for a local relay.")
    security: str = setting("starttls", "starttls, tls (implicit TLS) or none (loopback only).")
    username: str = setting("", "Login name; the password comes from NEWSLETTER_SMTP_PASSWORD (optional).")
    connections: int = setting(2, "How many connections send at once.")
    rate: int = setting(10, "Messages per second, at most, over all connections.")
    ca_file: str = setting("", "PEM file of the CA that signed the relay's certificate (default: the system's).")
    attempts: int = setting(4, "Tries per recipient when the relay answers 4xx, before the address counts as failed.")
    retry_delay: int = setting(30, "Seconds before the first retry of a deferred recipient; doubles each time.")
    timeout: int = setting(60, "Seconds to wait for the relay before giving up on a connection.")


@dataclass(frozen=True)
class DkimSettings:
    """[dkim]: sign each message (optional; the relay may sign instead)."""

    domain: str = setting("", "Signing domain (d=), normally the domain of the From address.")
    selector: str = setting("", "Selector (s=): the key is published at <selector>._domainkey.<domain>.")
    key_file: str = setting("", "PEM private key, relative to the project; keep it out of git.")


@dataclass(frozen=True)
class ServiceSettings:
    """[service]: the subscription service of `newsletter serve`."""

    url: str = setting("", "Public URL where `newsletter serve` is reachable, e.g. https://news.example.org/.")


@dataclass(frozen=True)
class LoadSettings:
    """[load]: how post files are read."""

    ignore_keys: tuple[str, ...] = setting(
        (), "Front-matter keys of other tools to ignore without a warning (common ones are ignored already)."
    )


@dataclass(frozen=True)
class Settings:
    """All settings of one project, with the folder they resolve against."""

    root: Path
    site: SiteSettings = field(default_factory=SiteSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    feed: FeedSettings = field(default_factory=FeedSettings)
    cta: CtaSettings = field(default_factory=CtaSettings)
    subscribers: SubscribersSettings = field(default_factory=SubscribersSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    load: LoadSettings = field(default_factory=LoadSettings)
    raw_text: str = ""
    strings: tuple[tuple[str, str | tuple[str, ...]], ...] = ()  # [strings]: catalog overrides, sorted by id

    @property
    def posts_dir(self) -> Path:
        """Folder of the post files."""
        return self.root / "posts"

    @property
    def public_dir(self) -> Path:
        """Folder of the web side."""
        return self.root / "public"

    @property
    def outbox_dir(self) -> Path:
        """Folder of the email side."""
        return self.root / "outbox"

    @property
    def templates_dir(self) -> Path:
        """Folder of the user's template overrides."""
        return self.root / "templates"

    @property
    def list_id(self) -> str:
        """The List-Id label (RFC 2919)."""
        return self.email.list_id or f"newsletter.{self.site.domain}"


SECTIONS: dict[str, type] = {
    "site": SiteSettings,
    "email": EmailSettings,
    "digest": DigestSettings,
    "feed": FeedSettings,
    "cta": CtaSettings,
    "subscribers": SubscribersSettings,
    "smtp": SmtpSettings,
    "dkim": DkimSettings,
    "service": ServiceSettings,
    "load": LoadSettings,
}
# TOML keys that differ from the attribute name ("from" is a Python keyword).
KEY_ALIASES = {("email", "from"): "sender"}
SUBJECT_FIELDS = ("title", "period", "count", "first_title", "week", "first")  # week, first: older names
_LIST_ID = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
# Every other string setting ends up in a header, a URL or an attribute: one line.
MULTILINE_OK = {("site", "description"), ("email", "postal_address"), ("cta", "text")}
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
_PLAIN_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _only_placeholders(pattern: str, allowed: set[str]) -> bool:
    """True when every ``{...}`` in ``pattern`` is a bare allowed name (no ``.attr``, ``!r`` or ``:spec``)."""
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(pattern) if name is not None]
    except ValueError:  # a lone { or }
        return False
    return all(name in allowed and not spec and conv is None for name, spec, conv in fields)


def _absolute_http(value: str) -> bool:
    """True for an absolute http(s) URL without spaces (urlsplit drops tabs and newlines silently)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:  # e.g. "http://[oops": an unclosed IPv6 host
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in value)


def _shown(key: str) -> str:
    """A TOML key as a message shows it: quoted when it holds line breaks or control characters."""
    return key if key.isprintable() else repr(key)


def _key_line(lines: list[str], section: str, key: str) -> int:
    """Find the line of ``key`` in ``[section]`` (1-based), or of the section."""
    current = ""
    section_line = 1
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        m = re.match(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]", stripped)
        if m:
            current = m.group(1)
            if current == section:
                section_line = number
            continue
        if current == section and re.match(rf"^[\"']?{re.escape(key)}[\"']?\s*=", stripped):
            return number
    return section_line


def _check_value(section: str, key: str, value: Any, expected: type) -> str | None:
    """Return an error message when ``value`` does not fit the setting."""
    if expected is tuple:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return f"{section}.{key} must be a list of strings"
        return None
    if expected is bool:
        if not isinstance(value, bool):
            return f"{section}.{key} must be true or false"
        return None
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{section}.{key} must be a whole number"
        if value < 1:
            return f"{section}.{key} must be at least 1"
        return _check_delivery(section, key, value)
    if not isinstance(value, str):
        return f"{section}.{key} must be a string"
    name = f"{section}.{'from' if key == 'sender' else key}"
    bad = CONTROL_CHARS.search(value)
    if bad:
        return f"{name} holds a control character (U+{ord(bad.group()):04X})"
    if (section, key) not in MULTILINE_OK and LINE_BREAKS.search(value):
        return f"{name} must be one line (no line breaks)"
    if key in ("url", "unsubscribe_url", "logo", "icon") and value:
        if not _absolute_http(value):
            return f"{section}.{key} must be an absolute http(s) URL, not {value!r}"
        if key == "unsubscribe_url" and not value.startswith("https:"):
            return f"{section}.{key} must be an https URL (RFC 8058)"
    if section == "site" and key == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
            return f"site.timezone: unknown time zone {value[:100]!r}"
    if section == "site" and key == "language" and not _LANGUAGE.match(value):
        return f"site.language must be a language tag such as en or en-GB, not {value!r}"
    if section == "site" and key == "language":
        from newsletter.i18n import known_language

        if not known_language(value):
            return f"site.language: no locale data for {value!r} (use a tag such as fr, de or pt-BR)"
    if section == "site" and key == "author_email" and value and not _PLAIN_ADDRESS.match(value):
        return f"site.author_email is not an e-mail address: {value!r}"
    if section == "site" and key in ("post_url", "post_path") and value:
        return check_post_pattern(key, value)
    if section == "email" and key in ("sender", "to", "reply_to") and value:
        from newsletter.render.headers import check_mailbox  # the email package: only when needed

        try:
            check_mailbox(value)
        except ValueError as exc:
            return f"{name} {exc}: {value!r}"
    if (section, key) in (("site", "title"), ("email", "subject"), ("email", "list_id")):
        from newsletter.render.headers import invisible_character

        hidden = invisible_character(value)
        if hidden:
            return f"{name} holds an invisible formatting character ({hidden}); it would reach a mail header"
    if section == "email" and key == "unsubscribe_mailto" and value and not value.startswith("mailto:"):
        return "email.unsubscribe_mailto must start with mailto:"
    # Bare names only: "{title:>999999999}" would build a gigabyte string, "{title.__class__}" leak internals.
    if key == "subject" and not _only_placeholders(value, set(SUBJECT_FIELDS)):
        return f"{section}.subject: use only the placeholders {', '.join('{' + f + '}' for f in SUBJECT_FIELDS[:4])}"
    if section == "email" and key == "list_id" and value and not _LIST_ID.match(value):
        return f"email.list_id must be a label like news.example.org, not {value!r}"
    if section == "digest" and key == "order" and value not in ("oldest", "newest"):
        return "digest.order must be oldest or newest"
    return _check_delivery(section, key, value)


_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]+$")


def _check_delivery(section: str, key: str, value: Any) -> str | None:
    """The [subscribers], [smtp] and [dkim] rules (secrets never belong here)."""
    if section == "smtp" and key == "port" and value > 65535:
        return "smtp.port must be at most 65535"
    if section == "smtp" and key == "security" and value not in ("starttls", "tls", "none"):
        return "smtp.security must be starttls, tls or none"
    if section == "smtp" and key == "host" and value and not _HOST.match(value):
        return f"smtp.host is not a host name: {value!r}"
    if section == "subscribers" and key == "database" and not value.strip():
        return "subscribers.database must name a SQLite file or a postgresql:// URL"
    if section == "subscribers" and key == "database" and "://" in value:
        if not value.startswith(("postgresql://", "postgres://")):
            return "subscribers.database: only postgresql:// URLs or SQLite file names are supported"
        if urlsplit(value).password:
            return "subscribers.database must not hold a password: use PGPASSWORD or ~/.pgpass"
    if section == "dkim" and key == "selector" and value and not re.match(r"^[A-Za-z0-9._-]+$", value):
        return f"dkim.selector is not a DNS label: {value!r}"
    if section == "dkim" and key == "domain" and value and not _LIST_ID.match(value):
        return f"dkim.domain is not a domain name: {value!r}"
    return None


def require_folder(root: Path) -> None:
    """Raise a usage error (a mistyped ``-C``) when the project folder does not exist."""
    if not root.is_dir():
        what = "no such project folder" if not root.exists() else "the project is not a folder"
        raise UsageError(f"{what}: {root}")


def find_project(start: Path) -> Path | None:
    """The folder holding newsletter.toml: ``start`` or the nearest one above it (None when none does)."""
    here = start.absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return start if folder == here else folder
    return None


def require_project(root: Path) -> Path:
    """Return the path of ``root``'s newsletter.toml; raise when ``root`` is no project.

    A folder that does not exist is a usage error; a folder without the
    settings file is bad input.
    """
    require_folder(root)
    path = root / CONFIG_NAME
    if not path.is_file():
        raise NewsletterError(f"{path.absolute()} not found: run 'newsletter init DIR' or pass -C DIR")
    return path


def suggestion(name: str, known: list[str]) -> str:
    """`` (did you mean x?)`` for a near miss of a known name, else ``""``."""
    import difflib  # only for a mistake: not at every start

    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


_suggestion = suggestion


def check_post_pattern(key: str, value: str) -> str | None:
    """The problem with a ``post_url`` or ``post_path`` pattern, or None (see newsletter.permalinks)."""
    from newsletter.permalinks import PLACEHOLDERS, fill

    shown = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    if "{slug}" not in value:
        return f"site.{key} must contain {{slug}}"
    if not _only_placeholders(value, set(PLACEHOLDERS)):
        return f"site.{key}: use only the placeholders {shown}"
    example = fill(value, "a-post", 2026, 1, 2)
    if key == "post_url":
        if not _absolute_http(example):
            return f"site.post_url must be an absolute http(s) URL, not {value!r}"
        return None
    parts = example.split("/")
    if example.startswith("/") or ":" in example or "\\" in example or "" in parts[:-1] or {".", ".."} & set(parts):
        return f"site.post_path must be a path under site.url such as posts/{{slug}}/, not {value!r}"
    if not (example.endswith("/") or example.endswith(".html")) or any(c.isspace() or c in "?#%" for c in example):
        return f"site.post_path must end in '/' or '.html', without spaces, '?', '#' or '%': {value!r}"
    return None


def load_settings(root: Path, problems: Problems) -> Settings:
    """Read ``newsletter.toml`` in ``root``; problems go to ``problems``.

    A missing folder or file raises (see :func:`require_project`): a folder
    without the file is not a project.
    """
    path = require_project(root)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        problems.error(path, 1, f"cannot read the file: {exc.strerror or exc}")
        return Settings(root=root)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.error(path, line, "not UTF-8 text")
        return Settings(root=root)
    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per nested [ or {
        problems.error(path, 1, "invalid TOML: arrays or tables nested too deeply")
        return Settings(root=root)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(m.group(1)) if m else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        problems.error(path, line, f"invalid TOML: {message}")
        return Settings(root=root)
    lines = text.split("\n")  # as TOML counts lines (splitlines() also breaks at U+2028)
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name == "strings":
            sections["strings"] = _strings(value, path, lines, problems)
            continue
        if name not in SECTIONS:
            hint = _suggestion(name, list(SECTIONS))
            problems.warn(path, _key_line(lines, name, ""), f"unknown section [{_shown(name)}] is ignored{hint}")
            continue
        if not isinstance(value, dict):
            problems.error(path, _key_line(lines, "", name), f"{name} must be a [{name}] table")
            continue
        cls = SECTIONS[name]
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, item in value.items():
            attr = KEY_ALIASES.get((name, key), key)
            if attr not in types or (name, key) == ("email", "sender"):
                hint = _suggestion(key, [_toml_key(known) for known in types])
                where = _key_line(lines, name, key)
                problems.warn(path, where, f"unknown setting {name}.{_shown(key)} is ignored{hint}")
                continue
            expected = {"str": str, "int": int, "bool": bool, "tuple[str, ...]": tuple}[str(types[attr])]
            message = _check_value(name, attr, item, expected)
            if message:
                problems.error(path, _key_line(lines, name, key), message)
            else:
                kwargs[attr] = tuple(item) if expected is tuple else item
        sections[name] = cls(**kwargs)
    settings = Settings(root=root, raw_text=text, **sections)
    cta = settings.cta
    if any((cta.text, cta.label, cta.url)) and not (cta.label and cta.url):
        problems.error(path, _key_line(lines, "cta", ""), "cta needs both label and url")
    _check_bulk_mail(settings, path, lines, problems)
    dkim = settings.dkim
    if any((dkim.domain, dkim.selector, dkim.key_file)) and not (dkim.domain and dkim.selector and dkim.key_file):
        problems.error(path, _key_line(lines, "dkim", ""), "dkim needs domain, selector and key_file together")
    return settings


def _strings(value: Any, path: Path, lines: list[str], problems: Problems) -> tuple[Any, ...]:
    """``[strings]``: message id -> text (or a list of plural forms), overriding the catalogs.

    An id the catalogs do not know is a warning (a typo would otherwise be
    silently ignored); a value that is not text is an error.
    """
    from newsletter.i18n import message_ids, strings_key

    if not isinstance(value, dict):
        problems.error(path, _key_line(lines, "", "strings"), "strings must be a [strings] table")
        return ()
    known = message_ids()
    good: dict[str, Any] = {}
    for key, text in value.items():
        where = _key_line(lines, "strings", key)
        forms = [text] if isinstance(text, str) else text
        if not isinstance(forms, list) or not forms or not all(isinstance(f, str) for f in forms):
            problems.error(path, where, f"strings.{_shown(key)} must be a string or a list of plural forms")
            continue
        if any(CONTROL_CHARS.search(f) for f in forms):
            problems.error(path, where, f"strings.{_shown(key)} holds a control character")
            continue
        if key not in known:
            hint = _suggestion(key, sorted(known))
            problems.warn(path, where, f"strings: no message {_shown(key)!r} in the catalogs{hint}")
        good[key] = text
    return strings_key(good)


def _toml_key(attr: str) -> str:
    """The key a user writes in newsletter.toml for a settings attribute (``sender`` is ``from``)."""
    return next((key for (_, key), alias in KEY_ALIASES.items() if alias == attr), attr)


def _check_bulk_mail(settings: Settings, path: Path, lines: list[str], problems: Problems) -> None:
    """What every digest needs from [email]: checked here so that ``check`` and ``build`` agree."""
    email = settings.email
    if not email.unsubscribe_url and not _has_problem(problems, path, "email.unsubscribe_url"):
        problems.error(
            path,
            _key_line(lines, "email", "unsubscribe_url"),
            "email.unsubscribe_url must be set to an https URL: List-Unsubscribe needs it (RFC 8058)",
        )
    if not email.postal_address.strip() and not _has_problem(problems, path, "email.postal_address"):
        problems.warn(
            path,
            _key_line(lines, "email", "postal_address"),
            "email.postal_address is empty: bulk mail must show a postal address",
        )


def _has_problem(problems: Problems, path: Path, name: str) -> bool:
    """True when a problem about setting ``name`` was recorded already (a bad value is not a missing one)."""
    shown = problems.display(path)
    return any(item.path == shown and item.message.startswith(name) for item in problems.items)
