"""The one way files are written: whole or not at all.

One file: :func:`write_atomic` (a temporary file in the same folder, then
a rename). Many files that a reader sees together (a build's public/):
:class:`Staging`, which stages them all first and puts them in place only
then, rolling back the ones already placed if one fails.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import threading
from pathlib import Path

from newsletter.errors import NewsletterError

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
    new file in a new folder (most of a first build) takes four system calls.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    target = os.fspath(path)
    folder, name = os.path.split(target)
    # One name per process and thread: no other writer uses it (and the project
    # lock keeps other runs out), so O_TRUNC only ever meets our own leftover.
    # A file staged in a folder made here says so in its name (see _staged_new).
    parent = os.path.dirname(folder)
    # A folder made here holds no old file to compare with. Where the last
    # folder staged into beside this one was new (a first build: a folder per
    # page), it is made first, not after an open that fails for want of it.
    made = _new_beside.get(parent, False) and _make_folder(folder)
    if made:
        temp = os.path.join(folder, _temp_name(name, new=True))
        fd = os.open(temp, _FLAGS, 0o644)
    else:
        temp = os.path.join(folder, _temp_name(name))
        try:
            fd = os.open(temp, _FLAGS, 0o644)
        except FileNotFoundError:
            _make_folder(folder)
            made = True  # missing a moment ago: nothing old in it
            temp = os.path.join(folder, _temp_name(name, new=True))
            fd = os.open(temp, _FLAGS, 0o644)
        else:
            if _holds(target, payload):
                os.close(fd)
                os.unlink(temp)
                _new_beside[parent] = False
                return None
    _new_beside[parent] = made
    try:
        try:
            written = os.write(fd, payload)
            if written < len(payload):  # rare: a write cut short
                view = memoryview(payload)[written:]
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


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
# Folder -> whether the last folder in it that stage() wrote into was new (made by stage()).
# Only the order of two system calls depends on it, never what is written.
_new_beside: dict[str, bool] = {}


def _make_folder(folder: str) -> bool:
    """Make ``folder`` (and its parents when missing); False when it is there already."""
    try:
        os.mkdir(folder)  # one call where makedirs() would look at the parent first
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        return False
    return True


def _temp_name(name: str, kind: str = "", new: bool = False) -> str:
    """A temporary name for ``name``, of this process and thread (``kind``: "old-" for a backup).

    ``new``: staged in a folder this run made, where ``name`` cannot be yet;
    an "n" after the thread's number says so to :meth:`Staging.commit`.
    """
    temp_name = f"{TEMP_PREFIX}{kind}{_pid}-{threading.get_ident()}{'n' if new else ''}-{name}"
    if len(temp_name) > 255:  # the longest file name most file systems allow
        temp_name = temp_name[:200] + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()
    return temp_name


def _holds(target: str, payload: bytes) -> bool:
    """Whether the file ``target`` holds exactly ``payload``."""
    try:
        if os.stat(target).st_size != len(payload):
            return False
        with open(target, "rb") as handle:
            return handle.read() == payload
    except OSError:
        return False


def _staged_new(temp: str) -> bool:
    """Whether the temporary file ``temp`` was staged in a folder made by its run (no old file to keep)."""
    fields = os.path.basename(temp)[len(TEMP_PREFIX) :].split("-", 2)
    return len(fields) == 3 and fields[1].endswith("n")


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
    return sweep(folder)


class OutsideProject(NewsletterError):
    """An output folder is a symbolic link that leads out of the project."""


def sweep(folder: Path, real_root: Path | None = None) -> int:
    """Remove the temporary files left anywhere under ``folder``; return how many.

    Links are never followed. With ``real_root`` (the project folder,
    resolved), ``folder`` itself or a folder in it that is a symbolic link
    to a place outside the project raises :class:`OutsideProject`: writing
    there would follow the link.
    """
    top = os.fspath(folder)
    if real_root is not None and os.path.islink(top):
        _refuse_outside(top, real_root, top)
    count = 0
    pending = [top]
    while pending:
        try:
            listing = os.scandir(pending.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with listing:
            for entry in listing:
                if entry.is_symlink():
                    if real_root is not None and entry.is_dir():
                        _refuse_outside(entry.path, real_root, top)
                elif entry.is_dir():
                    pending.append(entry.path)
                elif entry.name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        count += 1
    return count


def _refuse_outside(link: str, real_root: Path, top: str) -> None:
    real = os.path.realpath(link)
    if not Path(real).is_relative_to(real_root):
        shown = os.path.relpath(link, os.path.dirname(top))
        raise OutsideProject(
            f"{shown} is a symbolic link to {real}, outside the project: newsletter does not write there "
            f"(make {shown} a plain folder)"
        )


class Staging:
    """Files staged under temporary names, put in place together: all of them, or none.

    :meth:`commit` keeps a hard link to each file it replaces until all are
    in place; when one cannot be put in place, those already placed get
    their old version back, so readers see the previous build or the new
    one. (A SIGKILL in the middle cannot roll back: every file is still
    whole, old or new, and the next run finishes the job.)
    """

    def __init__(self) -> None:
        self.files: list[tuple[str, str]] = []  # (temporary file, target)

    def stage(self, target: Path | str, data: str | bytes, durable: bool = False) -> bool:
        """Stage one file; False when ``target`` holds these bytes already."""
        temp = stage(target, data, durable)
        if temp is None:
            return False
        self.files.append((temp, os.fspath(target)))
        return True

    def add(self, staged: list[tuple[str, str]]) -> None:
        """Take files staged elsewhere (a worker process): (temporary file, target) pairs."""
        self.files += staged

    def commit(self) -> list[str]:
        """Put every staged file in place and return the targets; roll back and raise on a failure."""
        placed: list[tuple[str, str | None]] = []  # (target, the hard link to its old version)
        try:
            for temp, target in self.files:
                backup: str | None = None
                # In a folder made by this run there is nothing to keep: no link
                # that fails (most files of a first build). Elsewhere, the link
                # to the old version is made, or fails when there is none.
                if not _staged_new(temp):
                    backup = os.path.join(os.path.dirname(temp), _temp_name(os.path.basename(target), "old-"))
                    try:
                        os.link(target, backup, follow_symlinks=False)  # type: ignore[arg-type]
                    except FileNotFoundError:
                        backup = None
                    except OSError as exc:
                        if os.path.isdir(target):
                            raise IsADirectoryError(errno.EISDIR, "a folder is in the way", target) from None
                        raise exc from None
                try:
                    commit(temp, target)
                except BaseException:
                    if backup is not None:
                        with contextlib.suppress(OSError):
                            os.unlink(backup)
                    raise
                placed.append((target, backup))
        except BaseException:
            self._roll_back(placed)
            raise
        for _target, backup in placed:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
        self.files = []
        return [target for target, _backup in placed]

    def _roll_back(self, placed: list[tuple[str, str | None]]) -> None:
        """Give the files already placed their old version back (or remove the new ones); drop the rest."""
        for target, backup in reversed(placed):
            with contextlib.suppress(OSError):
                if backup is None:
                    os.unlink(target)
                else:
                    os.replace(backup, target)
        done = {target for target, _backup in placed}
        for temp, target in self.files:
            if target not in done:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
        self.files = []

    def discard(self, top: Path) -> None:
        """Drop every staged file (and the folders left empty, up to ``top``)."""
        discard([temp for temp, _target in self.files], top)
        self.files = []


class WriteFailed(NewsletterError):
    """The system refused a write (no space, read-only, no permission)."""


def describe_refused(exc: OSError, root: Path) -> str:
    """One line for a refused write: the file as the user knows it (not its temporary name) and why."""
    name = os.fspath(exc.filename) if exc.filename is not None else ""
    folder, base = os.path.split(name)
    if base.startswith(TEMP_PREFIX):  # .newsletter-tmp-[old-]<pid>-<thread>[n]-<name>
        base = base[len(TEMP_PREFIX) :].removeprefix("old-").split("-", 2)[-1]
    shown = os.path.join(folder, base)
    with contextlib.suppress(ValueError):
        shown = os.path.relpath(shown, root) if os.path.isabs(shown) == os.path.isabs(root) else shown
    what = f"cannot write {shown}" if shown else "cannot write"
    return f"{what}: {exc.strerror or exc}; public/ is left as it was"
