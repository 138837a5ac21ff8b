"""The project lock: one run at a time writes into a project's public/ and outbox/.

The lock is ``.newsletter.lock`` in the project folder, held with
``fcntl.flock``. The kernel releases it when its holder exits or is killed,
so a crashed run never leaves a stale lock: a leftover file is just a file.
The holder writes its pid into it, for the message a waiting run shows.

The file exists only while a run writes: it is created after the input was
loaded and validated (bad input writes nothing, not even a lock), and the
holder removes it, still locked, when done. A waiter that locked the file
just before it was removed notices (the path no longer names the file it
locked) and starts over with the new one.

Each acquisition opens its own file description, so two builds in one
process (the preview server's rebuild and a test, say) exclude each other
as two processes do.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from newsletter.errors import NewsletterError

LOCK_NAME = ".newsletter.lock"
DEFAULT_WAIT = 30.0  # seconds a run waits for another one before giving up
_POLL = 0.05


class ProjectLocked(NewsletterError):
    """Another run held the project lock for longer than we were willing to wait."""


def say_waiting(pid: int | None) -> None:
    """Tell the user on stderr why nothing happens (the default ``on_wait``).

    The one message the library prints itself: only the lock knows that it
    waits, and the preview server's rebuilds wait the same way as the CLI.
    """
    holder = f" (pid {pid})" if pid else ""
    sys.stderr.write(f"waiting for another newsletter run{holder} to finish…\n")
    sys.stderr.flush()


@contextlib.contextmanager
def project_lock(
    root: Path,
    *,
    wait: float | None = None,
    on_wait: Callable[[int | None], None] | None = say_waiting,
) -> Iterator[Path]:
    """Hold the project lock for the ``with`` block; yield the lock file's path.

    Waits up to ``wait`` seconds (default :data:`DEFAULT_WAIT`) for another
    holder, calling ``on_wait(pid)`` once when it starts waiting, then
    raises :class:`ProjectLocked`.
    """
    path = root / LOCK_NAME
    fd = _acquire(path, DEFAULT_WAIT if wait is None else wait, on_wait)
    try:
        yield path
    finally:
        _release(path, fd)


def _acquire(path: Path, wait: float, on_wait: Callable[[int | None], None] | None) -> int:
    started = time.monotonic()
    deadline = started + wait
    told = False
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise NewsletterError(f"cannot create the lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                who = f" (pid {holder})" if holder else ""
                raise ProjectLocked(
                    f"another newsletter run{who} is still writing into this project after {wait:g} s; "
                    f"try again once it has finished (lock file: {path})"
                ) from None
            # The holder writes its pid just after locking: wait a moment
            # for it, so that the message can say who holds the lock.
            if (
                not told
                and on_wait is not None
                and (holder is not None or time.monotonic() - started > min(0.5, wait / 2))
            ):
                on_wait(holder)
                told = True
            time.sleep(_POLL)
            continue
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            return fd
        os.close(fd)  # the previous holder removed the file we locked: lock the new one


def _release(path: Path, fd: int) -> None:
    try:
        if _same_file(fd, path):
            path.unlink()  # while still locked, see the module docstring
    except OSError:
        pass
    finally:
        os.close(fd)  # releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        ours, named = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (ours.st_dev, ours.st_ino) == (named.st_dev, named.st_ino)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
