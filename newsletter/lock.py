"""The project lock: one run at a time writes into a project's public/ and outbox/.

The lock is ``.newsletter.lock`` in the project folder, held with
``fcntl.flock``. The kernel releases it when its holder exits or is killed,
so a crashed run never leaves a stale lock: a leftover file is just a file.
The holder writes who it is into it (pid and start time, as the kernel
counts it in /proc/<pid>/stat), for the message a waiting run shows. A
process forked by the holder closes its copy of the lock at once (see
:func:`_forget_held`), so only the holder itself holds the lock; should the
lock still be busy while the recorded holder is gone (processes of an older
version, say), a waiter says so within a second instead of naming a dead
pid for half a minute.

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
STRAY_GRACE = 1.0  # seconds a lock may stay busy after its recorded holder ended
_POLL = 0.05

_held: dict[int, Path] = {}  # the lock files this process holds: descriptor -> path


def _forget_held() -> None:
    """In a forked child: close the inherited lock descriptors (the parent keeps the lock).

    A flock belongs to the open file description, which a fork shares: a
    child that kept it would hold the lock after its parent died.
    """
    for fd in _held:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_forget_held)


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
    _held[fd] = path
    try:
        yield path
    finally:
        _held.pop(fd, None)
        _release(path, fd)


def still_held(path: Path) -> bool:
    """Whether this process holds the lock at ``path`` and the file is still there.

    False when someone removed (or replaced) the lock file meanwhile: then
    another run may have taken a new lock and be writing too.
    """
    return any(held == path and _same_file(fd, path) for fd, held in list(_held.items()))


def _acquire(path: Path, wait: float, on_wait: Callable[[int | None], None] | None) -> int:
    started = time.monotonic()
    deadline = started + wait
    told = False
    ended_at = 0.0  # when the lock was first seen busy with its recorded holder gone
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise NewsletterError(f"cannot create the lock file {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = _read_holder(fd)
            holder = record[0] if record else None
            if record is not None and not _alive(*record):
                # Busy, but not by the run that took it: processes it left
                # (being killed by the kernel just now, normally).
                ended_at = ended_at or time.monotonic()
                if time.monotonic() - ended_at >= min(STRAY_GRACE, wait):
                    strays = _processes_holding(fd)
                    os.close(fd)
                    raise ProjectLocked(_stray_message(path, record[0], strays)) from None
                os.close(fd)
                time.sleep(_POLL)
                continue
            ended_at = 0.0
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
            pid = os.getpid()
            os.write(fd, f"{pid} {_start_time(pid) or 0}\n".encode("ascii"))
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


def _read_holder(fd: int) -> tuple[int, int] | None:
    """The (pid, start time) the holder wrote, or None (not written yet, or not ours)."""
    try:
        fields = os.pread(fd, 64, 0).decode("ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    if not fields or not all(f.isdigit() for f in fields[:2]):
        return None
    return int(fields[0]), int(fields[1]) if len(fields) > 1 else 0


def _start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (None: no such live process, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (command name)"
    if len(fields) < 20 or fields[0] in (b"Z", b"X"):  # a zombie holds no files any more
        return None
    return int(fields[19])


def _alive(pid: int, start: int) -> bool:
    """Whether the process that wrote (pid, start) still runs (not a later one with its pid)."""
    if start and os.path.isdir("/proc/self"):
        return _start_time(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


def _processes_holding(fd: int) -> list[int]:
    """The processes that have the file of ``fd`` open (as far as /proc shows), but this one."""
    ours = os.fstat(fd)
    found = []
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                for link in os.listdir(f"/proc/{name}/fd"):
                    with contextlib.suppress(OSError):
                        st = os.stat(f"/proc/{name}/fd/{link}")
                        if (st.st_dev, st.st_ino) == (ours.st_dev, ours.st_ino):
                            found.append(int(name))
                            break
    return sorted(found)


def _stray_message(path: Path, pid: int, strays: list[int]) -> str:
    """Why the lock is busy although the run that took it (``pid``) has ended."""
    if strays:
        listed = " ".join(str(p) for p in strays)
        return (
            f"the newsletter run that locked this project (pid {pid}) has ended, but processes it left "
            f"({listed}) still hold the lock; stop them (kill {listed}) and try again (lock file: {path})"
        )
    return (
        f"the newsletter run that locked this project (pid {pid}) has ended, but another process still "
        f"holds the lock; stop it and try again (lock file: {path})"
    )
