"""Create projects (`init`) and post files (`new`, `import`)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

from newsletter import clock
from newsletter.cache import CACHE_DIR
from newsletter.characters import CONTROL_CHARS, LINE_BREAKS
from newsletter.config import CONFIG_NAME, SECTIONS, Settings
from newsletter.delivery import SEND_LOCK
from newsletter.delivery.db import DEFAULT_DATABASE
from newsletter.delivery.tokens import SECRET_FILE, create_secret_file
from newsletter.errors import NewsletterError, Problems, UsageError
from newsletter.lock import LOCK_NAME
from newsletter.slugs import make_slug
from newsletter.write import TEMP_PREFIX, write_atomic

DEFAULT_TITLE = "My Newsletter"
# What a build leaves in the project besides its outputs: never worth committing.
# The subscriber database is personal data and the secret signs unsubscribe links: never committed either.
GITIGNORE = ["public/", "outbox/", f"{CACHE_DIR}/", LOCK_NAME, f"{TEMP_PREFIX}*", DEFAULT_DATABASE,
             f"{DEFAULT_DATABASE}-wal", f"{DEFAULT_DATABASE}-shm", SECRET_FILE, SEND_LOCK]  # fmt: skip
SAMPLE_POST = """\
---
title: {title}
date: {date}
categories: [News]
summary: What this newsletter is about, in one or two sentences.
references:
  - text: "CommonMark Spec, version 0.31.2."
    url: https://spec.commonmark.org/0.31.2/
---
This is the first post. Write posts in Markdown under `posts/`, one file each,
with the settings above the `---` line. A citation marker such as [1] links to
the post's first reference.

Run `newsletter build --week this` to write the feeds and web pages into
`public/` and this week's email into `outbox/`, and `newsletter preview --week this`
to look at them in a browser. Without `--week`, both take last week, the
last complete one: the week a weekly digest goes out for.
"""


EXAMPLE_URL = "https://example.org/"
EXAMPLE_CTA_TEXT = "Questions or news to share? We would like to hear from you."
EXAMPLE_ADDRESS = "Street 1, 12345 Town, Country"


def config_text(title: str = DEFAULT_TITLE, url: str = EXAMPLE_URL, language: str = "en") -> str:
    """A commented newsletter.toml with every setting and its default.

    The title also names the sender, and the [cta] and [email] values are
    filled in so that a new project (and posts imported into it) builds;
    the call-to-action's words come from the catalog of ``language``.
    """
    from newsletter.i18n import language as speak

    _ = speak(language).gettext
    lines = ["# newsletter settings. Every setting is optional unless noted.", ""]
    base = url.rstrip("/")
    overrides = {("site", "title"): title, ("site", "url"): url,
                 ("site", "language"): language,
                 ("email", "sender"): _sender(title),
                 ("email", "unsubscribe_url"): base + "/unsubscribe",
                 ("email", "postal_address"): EXAMPLE_ADDRESS,
                 ("cta", "text"): _("Questions or news to share? We would like to hear from you."),
                 ("cta", "label"): _("Get in touch"),
                 ("cta", "url"): base + "/contact"}  # fmt: skip
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]")
        for f in dataclasses.fields(cls):
            key = "from" if (section, f.name) == ("email", "sender") else f.name
            value = overrides.get((section, f.name), f.default)
            lines.append(f"# {f.metadata['doc']}")
            rendered = _toml_value(value)
            prefix = "" if value not in ("", None, ()) else "# "
            lines.append(f"{prefix}{key} = {rendered}")
        lines.append("")
    return "\n".join(lines)


def _sender(title: str) -> str:
    """``Lab Notes <newsletter@example.org>``, the display name quoted where it needs it."""
    name = title.replace("<", "").replace(">", "").strip()  # an address allows them in no form
    from email.headerregistry import Address

    return str(Address(display_name=name, addr_spec="newsletter@example.org"))


def _toml_value(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def check_title(title: str) -> None:
    """Refuse a title that no post or setting may hold: empty, with a control character or a line break."""
    bad = CONTROL_CHARS.search(title)
    if bad:
        raise NewsletterError(f"the title holds a control character (U+{ord(bad.group()):04X}): {title!r}")
    if LINE_BREAKS.search(title):
        raise NewsletterError(f"the title must be one line: {title!r}")
    if not title.strip():
        raise NewsletterError("the title is empty")


def init_project(folder: Path, title: str = DEFAULT_TITLE, language: str = "en") -> list[Path]:
    """Create a new project in ``folder`` written in ``language``; refuse to overwrite anything."""
    from newsletter.i18n import known_language

    check_title(title)
    if not known_language(language) or "_" in language:
        raise UsageError(f"--language: {language!r} is not a language tag such as en, fr or pt-BR")
    title = title.strip()
    config = folder / CONFIG_NAME
    posts = folder / "posts"
    if folder.exists() and not folder.is_dir():
        raise NewsletterError(f"{folder}: not a folder; nothing was changed")
    if config.exists():
        raise NewsletterError(f"{config}: already exists; nothing was changed")
    when = clock.now().strftime("%Y-%m-%d %H:%M")
    post = posts / f"{clock.now():%Y-%m-%d}-welcome.md"
    if post.exists():
        raise NewsletterError(f"{post}: already exists; nothing was changed")
    settings = config_text(title, language=language)
    _check_config(settings, title)
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    posts.mkdir(parents=True, exist_ok=True)
    write_atomic(config, settings)
    # JSON's double-quoted strings are YAML's too: any title stays one scalar.
    welcome = json.dumps(f"Welcome to {title}", ensure_ascii=False)
    write_atomic(post, SAMPLE_POST.format(title=welcome, date=when))
    _extend_gitignore(folder / ".gitignore")
    secret = create_secret_file(folder)
    return [config, post] + ([secret] if secret else [])


def _check_config(text: str, title: str) -> None:
    """Load ``text`` with the settings loader: a new project's settings must pass ``check``."""
    import tempfile

    from newsletter.config import load_settings
    from newsletter.errors import Problems

    with tempfile.TemporaryDirectory(prefix="newsletter-init-") as folder:
        (Path(folder) / CONFIG_NAME).write_text(text, encoding="utf-8")
        problems = Problems(root=Path(folder))
        load_settings(Path(folder), problems)
    if problems.items:
        raise NewsletterError(f"--title {title!r}: {problems.items[0].message}")


def _extend_gitignore(path: Path) -> None:
    """Add the build's leftovers to ``.gitignore``, keeping what a user's file holds."""
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return  # not ours to repair
    present = {line.strip() for line in text.splitlines()}
    missing = [entry for entry in GITIGNORE if entry not in present]
    if missing:
        separator = "\n" if text and not text.endswith("\n") else ""
        write_atomic(path, text + separator + "\n".join(missing) + "\n")


def new_post(root: Path, title: str, when: datetime) -> Path:
    """Create ``posts/<date>-<slug>.md`` for ``title``; refuse to overwrite."""
    check_title(title)
    slug = make_slug(title)
    if not slug:
        raise NewsletterError(f"cannot derive a file name from the title {title!r}")
    path = root / "posts" / f"{when:%Y-%m-%d}-{slug}.md"
    if path.exists():
        raise NewsletterError(f"{path}: already exists; nothing was changed")
    import yaml

    front = yaml.safe_dump(
        {"title": title, "date": when.strftime("%Y-%m-%d %H:%M"), "categories": [], "summary": "", "draft": True},
        sort_keys=False,
        allow_unicode=True,
        width=100000,
        default_flow_style=None,
    )
    body = "Write the post here. Set `draft: false` above to publish it.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, f"---\n{front}---\n{body}")
    return path


def example_values_left(settings: Settings, problems: Problems) -> None:
    """Warn about the examples ``init`` wrote that a real newsletter must replace (``check`` calls it)."""
    from newsletter.i18n import language as speak

    base = EXAMPLE_URL.rstrip("/")
    translated = speak(settings.site.language).gettext(EXAMPLE_CTA_TEXT)  # as init wrote it
    examples = {
        ("site", "url"): (settings.site.url.rstrip("/") == base, "every link in feeds, pages and emails"),
        ("cta", "url"): (settings.cta.url == base + "/contact", "the call-to-action's button"),
        ("cta", "text"): (settings.cta.text in (EXAMPLE_CTA_TEXT, translated), "the call-to-action"),
        ("email", "postal_address"): (settings.email.postal_address == EXAMPLE_ADDRESS, "every email's footer"),
    }
    lines = settings.raw_text.split("\n")
    for (section, key), (left, used_for) in examples.items():
        if left:
            problems.warn(
                settings.root / CONFIG_NAME,
                _setting_line(lines, section, key),
                f"{section}.{key} still holds the example 'newsletter init' wrote; it is used in {used_for}",
            )


def _setting_line(lines: list[str], section: str, key: str) -> int:
    """The line of ``key`` in ``[section]`` of newsletter.toml (1 when not found)."""
    current = ""
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if stripped.startswith("["):
            current = stripped.strip("[] ")
        elif current == section and stripped.split("=", 1)[0].strip() == key:
            return number
    return 1
