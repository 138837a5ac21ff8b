"""``newsletter build`` and ``newsletter check`` without the command line's imports.

Typer and the command definitions take about a third of a build that
finds nothing changed (see :mod:`newsletter.stamp`), a fifth of a check,
and 50 ms of any build. For the plain forms of these commands (``-q``,
``-v`` for check, ``-C DIR`` before or after the command) :func:`quick`
runs them itself. They say what :mod:`newsletter.cli` says (with the same
functions, kept here: the Typer commands call them too) and end with the
same status. Anything else (another option, no project, a bad
``SOURCE_DATE_EPOCH``) is left to the command line.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.build import BuildResult
    from newsletter.config import Settings
    from newsletter.errors import NewsletterError

FLAGS = {"build": {"-q": "quiet", "--quiet": "quiet"},
         "check": {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose"}}  # fmt: skip
PROJECT = ("-C", "--project")
_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what click.echo removes when not writing to a terminal
Say = Callable[..., None]  # say(text, err=False)


def _options(argv: list[str]) -> tuple[str, str | None, set[str]] | None:
    """(command, the -C folder or None, flags) of a plain command line (see the module); None for any other."""
    args = argv[1:]
    command: str | None = None
    folder: str | None = None
    flags: set[str] = set()
    index = 0
    while index < len(args):
        arg = args[index]
        if command is None and arg in FLAGS:
            command = arg
        elif command is not None and arg in FLAGS[command]:
            flags.add(FLAGS[command][arg])
        elif arg in PROJECT and folder is None and index + 1 < len(args) and args[index + 1][:1] not in ("", "-"):
            folder = args[index + 1]
            index += 1
        else:
            return None
        index += 1
    return (command, folder, flags) if command is not None else None


def _project(folder: str | None) -> Path | None:
    """The project folder as the command line finds it: ``-C``, else the one holding newsletter.toml."""
    if folder is not None:
        return Path(folder)
    from newsletter.config import find_project

    return find_project(Path("."))


def echo(text: str, err: bool = False) -> None:
    """One line, as ``typer.echo`` writes it."""
    stream = sys.stderr if err else sys.stdout
    if not stream.isatty():
        text = _ANSI.sub("", text)
    stream.write(text + "\n")
    stream.flush()


def count(number: int, noun: str) -> str:
    """``1 post``, ``2 posts``: a count with its noun in the right number."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def say_warnings(items: list[Any], say: Say, quiet: bool = False) -> None:
    """Warnings, one line per kind (see :func:`newsletter.errors.group_warnings`); none when ``quiet``."""
    from newsletter.errors import group_warnings

    if not quiet:
        for line in group_warnings(items):
            say(line, err=True)


def say_digest(result: BuildResult, quiet: bool, say: Say = echo) -> None:
    """One line on the week's digest. A week sent already is told by the build's notes, once."""
    week = result.week
    if week is None:
        return
    if result.digest_status == "no posts":
        say(f"{week.label} ({week.period}) has no published posts: no digest written.")
    elif result.digest_status == "unchanged" and not quiet:
        say(f"digest {week.label}: unchanged (outbox/{week.label}/)")
    elif not quiet and result.digest is not None:
        size = len(result.digest.eml)
        say(
            f"digest {week.label}: {result.digest.subject!r}, {size:,} bytes ({result.digest_status}) "
            f"-> outbox/{week.label}/"
        )


def say_built(result: BuildResult, quiet: bool, say: Say = echo) -> None:
    """What ``newsletter build`` prints after its warnings: the digest, notes, the counts."""
    say_digest(result, quiet, say)
    for note in result.notes:
        say(note)
    if not quiet:
        say(
            f"built {count(result.published, 'post')}: {count(len(result.written), 'file')} written, "
            f"{result.unchanged} unchanged (public/, outbox/)."
        )


def say_failure(exc: NewsletterError, say: Say, quiet: bool = False, last: str = "") -> int:
    """Say a library error the way users read it; the exit status.

    Bad input (:class:`newsletter.errors.InputError`): its warnings grouped
    by kind (none when ``quiet``), every error, and ``last`` (else "N
    errors; nothing was written.").
    """
    from newsletter.errors import InputError

    if not isinstance(exc, InputError):
        say(f"error: {exc}", err=True)
        return exc.exit_code
    say_warnings(exc.warnings, say, quiet)
    for error in exc.errors:
        say(str(error), err=True)
    errors = len(exc.errors)
    say(last or f"{errors} error{'s' if errors != 1 else ''}; nothing was written.", err=True)
    return 1


def say_internal_error(exc: Exception, say: Say) -> int:
    """The last line of defence: a bug, said in two lines (never a traceback); the exit status."""
    say(f"newsletter: internal error: {type(exc).__name__}: {exc}", err=True)
    say("This is a bug; please report it with the command you ran.", err=True)
    return 1


def progress_bar(quiet: bool) -> Callable[[str, int, int], None]:
    """A progress callback for a build: a bar on a terminal, silence otherwise."""
    if quiet or not sys.stderr.isatty():
        return lambda stage, done, total: None
    state = {"last": -1}

    def show(stage: str, done: int, total: int) -> None:
        if total < 200:
            return
        percent = done * 100 // total
        if percent != state["last"]:
            state["last"] = percent
            bar = "#" * (percent // 4)
            sys.stderr.write(f"\r{stage:>6} [{bar:<25}] {done}/{total}")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()

    return show


def run_build(project: Path, quiet: bool, say: Say, **options: Any) -> tuple[BuildResult | None, int]:
    """Build (``options``: those of :func:`newsletter.build.build`) and say its warnings: (result, 0).

    On a failure it is said, with the settings' warnings (a misspelt key often explains a later error),
    and the result is (None, the exit status).
    """
    import gc

    from newsletter.build import build
    from newsletter.config import load_settings
    from newsletter.errors import InputError, NewsletterError, Problems

    # A build is short and makes tens of thousands of objects that live to
    # its end: the cycle collector would walk them again and again for
    # nothing (about 10% of a large build). The process exits soon after.
    gc.disable()
    try:
        result = build(project, progress=progress_bar(quiet), **options)
    except NewsletterError as exc:
        if not isinstance(exc, InputError) and not quiet:  # an InputError carries its warnings itself
            problems = Problems(root=project)
            with contextlib.suppress(NewsletterError):
                load_settings(project, problems)
                say_warnings(problems.warnings, say)
        return None, say_failure(exc, say, quiet)
    say_warnings(result.warnings, say, quiet)
    return result, 0


def check_project(project: Path, options: set[str], say: Say) -> int:
    """``newsletter check``: what it says and its exit status (``options``: "quiet", "verbose").

    What the last build loaded, when nothing it read has changed since
    (:mod:`newsletter.stamp`); else the project is loaded, reading the build
    cache (posts unchanged since the last build are not parsed again, their
    problems come with them), never writing it.
    """
    from newsletter.cache import load_cache
    from newsletter.config import load_settings
    from newsletter.errors import InputError, NewsletterError, Problems
    from newsletter.stamp import loaded_as_before

    quiet = "quiet" in options
    try:
        before = loaded_as_before(project)
        if before is not None:
            settings = load_settings(project, Problems(root=project))
            counts, warnings = (before.report["posts"], before.report["published"]), before.warnings
        else:
            from newsletter.load import load_project

            loaded = load_project(project, cache=load_cache(project))
            settings, counts = loaded.settings, (len(loaded.posts), len(loaded.published))
            warnings = loaded.warnings
    except InputError as exc:
        last = f"check: {count(len(exc.errors), 'error')}, {count(len(exc.warnings), 'warning')}"
        return say_failure(exc, say, quiet, last)
    except NewsletterError as exc:
        return say_failure(exc, say)
    try:
        return check_report(project, settings, counts, warnings, options, say)
    except NewsletterError as exc:
        return say_failure(exc, say)


def check_report(
    project: Path, settings: Settings, counts: tuple[int, int], warnings: list[Any], options: set[str], say: Say
) -> int:
    """What ``newsletter check`` says once the project is loaded (``counts``: posts, published); its exit status.

    Raises the outbox's :class:`newsletter.errors.NewsletterError`, for the caller to say.
    """
    from newsletter.errors import Problems
    from newsletter.scaffold import example_values_left

    quiet = "quiet" in options
    examples = Problems(root=project)
    example_values_left(settings, examples)
    warnings = examples.warnings + warnings
    say_warnings(warnings, say, quiet)
    if not quiet:
        say(f"ok: {count(counts[0], 'post')} ({counts[1]} published), no errors.")
    errors, outbox_warnings = check_outbox(settings, "verbose" in options, quiet, say)
    if errors or not quiet:
        say(f"check: {count(errors, 'error')}, {count(len(warnings) + outbox_warnings, 'warning')}", err=bool(errors))
    return 1 if errors else 0


def check_outbox(settings: Settings, verbose: bool, quiet: bool, say: Say) -> tuple[int, int]:
    """Say the checks of every draft in the outbox; return how many errors and warnings they hold."""
    from newsletter.checks import check_message, summarize
    from newsletter.outbox import list_messages

    drafts = [m for m in list_messages(settings.outbox_dir) if m.status == "draft"]
    errors = warnings = 0
    for message in drafts:
        results = check_message(message.folder, settings, settings.public_dir)
        counts = summarize(results)
        errors += counts["error"]
        warnings += counts["warning"]
        for result in results:
            if (verbose or result.level != "info") and not (quiet and result.level != "error"):
                say(f"outbox/{message.week}: {result}", err=result.level != "info")
        if quiet:
            continue
        say(
            f"outbox/{message.week} (draft): {count(counts['error'], 'error')}, "
            f"{count(counts['warning'], 'warning')}, {count(counts['info'], 'note')}"
            f"{'' if verbose else ' (-v shows them)'}."
        )
    return errors, warnings


def quick(argv: list[str]) -> int | None:
    """Run a plain command line that the stamp answers (see the module); its exit status, or None for Typer."""
    options = _options(argv)
    if options is None:
        return None
    import gc

    # A short run (see run_build): the cycle collector would walk every
    # object the imports and the stamp make, again and again, for nothing.
    gc.disable()
    code = None
    try:
        code = _quick(options)
    finally:
        if code is None:  # the command line runs it, as long as it takes
            gc.enable()
    return code


def _quick(options: tuple[str, str | None, set[str]]) -> int | None:
    command, folder, flags = options
    from newsletter import clock
    from newsletter.errors import NewsletterError

    try:
        clock.epoch()
    except NewsletterError:
        return None  # the command line says what is wrong with it
    root = _project(folder)
    if root is None:
        return None
    said: list[tuple[str, bool]] = []
    say: Say = lambda text, err=False: said.append((text, err))  # noqa: E731 (all or nothing, at the end)
    code = _quick_build(root, flags, say) if command == "build" else _quick_check(root, flags, say)
    if code is None:
        return None
    with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
        for text, err in said:
            echo(text, err)
    return code


def _quick_build(root: Path, flags: set[str], say: Say) -> int:
    """``newsletter build``: from the stamp when nothing changed, else built here (as newsletter.cli.build)."""
    from newsletter import build

    arguments = ("last", True, True, True, False)  # newsletter.cli.build's
    quiet = "quiet" in flags
    result = build.probe(root, arguments)
    if result is not None:
        say_warnings(result.warnings, say, quiet)
    else:  # the build takes what the probe found from build.probed
        try:
            result, code = run_build(root, quiet, say)
        except Exception as exc:  # noqa: BLE001 - never run twice: said here, as newsletter.cli.main says it
            return say_internal_error(exc, say)
        if result is None:
            return code
    say_built(result, quiet, say)
    return 0


def _quick_check(root: Path, flags: set[str], say: Say) -> int | None:
    return check_project(root, flags, say)
