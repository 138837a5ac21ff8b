"""The one way files are written: whole or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import threading
from pathlib import Path

TEMP_PREFIX = ".newsletter-tmp-"

# Crash tests (tests/test_crash.py) set NEWSLETTER_TEST_KILL_AT=N to SIGKILL
# this process at the N-th write step: a temporary file complete (stage) or
# renamed into place (commit), two steps per output file. The build cache's
# files are no outputs and take no steps. Unset, as everywhere else, it
# costs one comparison per write.
_KILL_ENV = os.environ.get("NEWSLETTER_TEST_KILL_AT", "")
_KILL_AT = int(_KILL_ENV) if _KILL_ENV.isdigit() else 0
_steps = 0
_pid = os.getpid()  # for temporary names, without a system call per file


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def _test_step() -> None:
    """Count a write step and SIGKILL this process at step ``_KILL_AT``."""
    global _steps
    _steps += 1
    if _steps == _KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)


def write_atomic(path: Path, data: str | bytes, durable: bool = False, *, output: bool = True) -> bool:
    """Write ``data`` to ``path`` atomically; skip when the bytes are unchanged.

    The data goes to a temporary file in the same folder, is flushed to disk,
    then renamed over the target, so readers see the old file or the new one,
    never a mix, even when the process is killed. ``durable`` also flushes
    the data to disk before the rename (for the outbox, which must survive a
    power cut). Returns True when the file was (re)written. ``output`` false
    (the build cache) takes no crash-test steps.
    """
    temp = stage(path, data, durable, output=output)
    if temp is None:
        return False
    commit(temp, os.fspath(path), output=output)
    return True


def stage(path: Path | str, data: str | bytes, durable: bool = False, *, output: bool = True) -> str | None:
    """The first half of :func:`write_atomic`: the complete new file under a temporary name.

    Returns that name, for :func:`commit` (or :func:`discard`), or None when
    ``path`` holds these bytes already. Creates the folder when needed. A
    new file in a new folder (most of a first build) takes five system calls.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    target = os.fspath(path)
    folder, name = os.path.split(target)
    # One name per process and thread: no other writer uses it (and the project
    # lock keeps other runs out), so O_TRUNC only ever meets our own leftover.
    temp_name = f"{TEMP_PREFIX}{_pid}-{threading.get_ident()}-{name}"
    if len(temp_name) > 255:  # the longest file name most file systems allow
        temp_name = temp_name[:200] + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()
    temp = os.path.join(folder, temp_name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        fd = os.open(temp, flags, 0o644)
    except FileNotFoundError:  # no folder, so no old file to compare with
        try:
            os.mkdir(folder)  # one call where makedirs() would look at the parent first
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
        except FileExistsError:
            pass
        fd = os.open(temp, flags, 0o644)
    else:
        if _holds(target, payload):
            os.close(fd)
            os.unlink(temp)
            return None
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        if _KILL_AT and output:
            _test_step()
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _holds(target: str, payload: bytes) -> bool:
    """Whether the file ``target`` holds exactly ``payload``."""
    try:
        if os.stat(target).st_size != len(payload):
            return False
        with open(target, "rb") as handle:
            return handle.read() == payload
    except OSError:
        return False


def commit(temp: str, target: str, *, output: bool = True) -> None:
    """The second half of :func:`write_atomic`: the staged file takes its place."""
    try:
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    if _KILL_AT and output:
        _test_step()


def discard(temps: list[str], top: Path) -> None:
    """Remove staged files that will not be committed, and the folders left empty up to ``top``."""
    for temp in temps:
        with contextlib.suppress(OSError):
            os.unlink(temp)
    top_text = os.fspath(top)
    for folder in sorted({os.path.dirname(temp) for temp in temps}, key=len, reverse=True):
        while folder.startswith(top_text) and len(folder) >= len(top_text):
            try:
                os.rmdir(folder)  # only when empty
            except OSError:
                break
            folder = os.path.dirname(folder)


def clean_temp_files(folder: Path) -> int:
    """Remove temporary files left by an interrupted run; return how many."""
    count = 0
    for parent, _folders, names in os.walk(folder):  # never follows links; twice as fast as rglob
        for name in names:
            if name.startswith(TEMP_PREFIX):
                try:
                    os.unlink(os.path.join(parent, name))
                    count += 1
                except OSError:
                    pass
    return count
