"""Work spread over the machine's cores, in forked processes.

Forked workers see the parent's memory as it was (the loaded posts, the
settings), so only small tasks and results cross between processes. Fork
is used only where it is safe: on platforms that have it and in a process
with no other threads (the preview server has some; it works serially).
A worker that dies makes the run fail (BrokenProcessPool), never hang.
A :class:`Helper` is one process forked early for a few jobs, which the
caller does itself if the helper cannot.

Every process forked here dies with this one: it asks the kernel for a
SIGKILL when its parent ends (Linux's parent-death signal, set before it
runs any of our code), and a pool is torn down (its workers killed) on
every way out of :func:`map_slices` but the normal one, so no worker goes
on staging files after this process gave up. Workers ignore Ctrl-C: this
process handles it, once, and stops them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
MIN_ITEMS = 400  # below this, starting processes costs more than it saves
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_shared: Any = None  # what the workers of the current map() see
_forking_from = 0  # this process's pid while it forks workers (see _before_fork)
_prctl: Any = None  # libc's prctl(), loaded before the first fork


def _load_prctl() -> Any:
    """libc's ``prctl`` on Linux (None elsewhere, or when it cannot be found)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _before_fork() -> None:
    # Ctrl-C is held back while we fork: a child must not run the parent's
    # handler before it has learnt to ignore it (fork clears pending signals).
    if _forking_from:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _after_fork_in_child() -> None:
    """In a worker, first thing: die with the parent, leave Ctrl-C to it."""
    if not _forking_from:
        return
    with contextlib.suppress(ValueError):  # only a main thread may; ours fork from theirs
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != _forking_from:  # the parent died before the signal was set up
        os._exit(1)


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def _forking() -> Iterator[None]:
    """Forks made inside this block make workers that die with this process."""
    global _forking_from, _prctl
    if _prctl is None:
        _prctl = _load_prctl()
    _forking_from = os.getpid()
    try:
        yield
    finally:
        _forking_from = 0
        # Here, not in an at-fork hook: a Ctrl-C held back meanwhile is
        # raised now, as an exception the caller sees.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def workers(count: int) -> int:
    """How many processes to use for ``count`` items (1: do it here)."""
    import multiprocessing

    if count < MIN_ITEMS or threading.active_count() != 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _run(job: tuple[Callable[[Any, int, int], T], int, int]) -> T:
    function, start, stop = job
    return function(_shared, start, stop)


def map_slices(
    function: Callable[[Any, int, int], T],
    shared: Any,
    count: int,
    jobs: int,
    meanwhile: Callable[[], None] | None = None,
    min_size: int = 25,
    bounds: Sequence[tuple[int, int]] | None = None,
    here: bool = False,
) -> Iterator[tuple[int, T]]:
    """Run ``function(shared, start, stop)`` over slices of ``range(count)`` in ``jobs`` processes.

    The slices are ``bounds`` when given ((start, stop) pairs covering the
    range, taken by the workers in this order as each one is free), else
    ``jobs * 4`` of equal size, at least ``min_size``.

    ``function`` must be a module-level function; ``shared`` reaches the
    workers through fork, not pickling. Yields (items done, result) as the
    slices finish, in order. ``meanwhile()``, if given, runs here while the
    workers work. Close the iterator (``contextlib.closing``) when leaving
    it early: that stops the workers at once.

    With ``here``, this process is one of the ``jobs``: it forks one worker
    fewer and, once ``meanwhile()`` is done, takes slices itself. A forked
    worker copies each page of memory it writes to (reading an object
    writes its reference count): with one process fewer, the tree holds
    one copy fewer of what they all read.
    """
    global _shared
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(min_size, -(-count // (jobs * 4)))
    slices: Sequence[tuple[int, int]] = bounds or [(i, min(i + size, count)) for i in range(0, count, size)]
    forked = max(1, jobs - 1) if here else jobs
    _shared = shared
    _reap()  # a helper killed a while ago: no longer a child of this process when the workers come
    pool = ProcessPoolExecutor(forked, mp_context=multiprocessing.get_context("fork"))
    finished = False
    try:
        if here:
            yield from _map_here(pool, forked, function, shared, slices, meanwhile)
        else:
            with _forking():  # the pool forks all its workers in its first submit
                results = pool.map(_run, [(function, start, stop) for start, stop in slices])
            if meanwhile is not None:
                meanwhile()
            for (start, stop), result in zip(slices, results, strict=True):
                yield stop - start, result
        finished = True
    finally:
        _shared = None
        if finished:
            pool.shutdown(wait=True)
        else:
            stop_pool(pool)


def _map_here(
    pool: Any,
    forked: int,
    function: Callable[[Any, int, int], T],
    shared: Any,
    slices: Sequence[tuple[int, int]],
    meanwhile: Callable[[], None] | None,
) -> Iterator[tuple[int, T]]:
    """:func:`map_slices` with this process taking slices too: the workers are given one or two ahead each.

    The slices are yielded in order, each once it is done here or there.
    """
    futures: dict[int, Any] = {}
    done_here: dict[int, T] = {}
    taken = 0  # slices given out so far (to a worker or taken here), in order

    def give_out() -> None:
        nonlocal taken
        while taken < len(slices) and sum(not future.done() for future in futures.values()) < 2 * forked:
            start, stop = slices[taken]
            futures[taken] = pool.submit(_run, (function, start, stop))
            taken += 1

    with _forking():  # the pool forks all its workers in its first submit
        give_out()
    if meanwhile is not None:
        meanwhile()
    for index, (start, stop) in enumerate(slices):
        while index not in done_here:
            future = futures.get(index)
            if future is not None and (future.done() or taken == len(slices)):
                done_here[index] = future.result()
                del futures[index]
                break
            give_out()
            if taken < len(slices):  # the next slice nobody has: take it here
                at = taken
                taken += 1
                done_here[at] = function(shared, *slices[at])
        yield stop - start, done_here.pop(index)


def stop_pool(pool: Any) -> None:
    """Kill a process pool's workers now, and wait until they are gone.

    Pending jobs are cancelled and running ones abandoned: whatever they
    were staging stays half-done, for the caller to clean up once this
    returns (nothing can add to it any more).
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    kill = getattr(pool, "kill_workers", None)  # Python 3.14+
    pool.shutdown(wait=False, cancel_futures=True)
    if kill is not None:
        with contextlib.suppress(Exception):
            kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(5)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=True)


class Helper:
    """A process forked early that prepares (imports) while this one loads, then does jobs, one after another.

    ``prepare()`` runs in the helper at once. :meth:`submit` sends it a job
    (a module-level function and picklable arguments) and returns its
    ticket; :meth:`result` waits for that job's answer. Whatever goes wrong
    there (no fork, a job raising, the helper dying) makes :meth:`result`
    return ``None`` for that job and those after it, and the caller does
    them itself. A helper with no job to do exits when this process closes
    it or ends.
    """

    def __init__(self, prepare: Callable[[], None]):
        import multiprocessing

        self.pid = 0
        self._jobs = self._results = -1  # our ends of the two pipes
        self._sent = self._answered = 0  # jobs sent, answers read
        self._answers: dict[int, bytes] = {}  # read, not yet asked for (by ticket)
        _reap()
        if threading.active_count() != 1 or "fork" not in multiprocessing.get_all_start_methods():
            return
        import sys

        for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
            stream.flush()
        jobs_read, jobs_write = os.pipe()
        results_read, results_write = os.pipe()
        with _forking():
            pid = os.fork()
        if pid == 0:  # the helper: prepare, do the jobs, leave without the parent's clean-up
            code = 1
            try:
                os.close(jobs_write)
                os.close(results_read)
                jobs = _drained(jobs_read)
                prepare()
                import pickle

                while (job := jobs.get()) is not None:
                    function, args = pickle.loads(job)
                    _send_frame(results_write, pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL))
                code = 0
            finally:
                os._exit(code)
        os.close(jobs_read)
        os.close(results_write)
        self.pid, self._jobs, self._results = pid, jobs_write, results_read

    def submit(self, function: Callable[..., Any], *args: Any) -> int | None:
        """Send the helper a job (``function`` must be importable by name); its ticket, or None when not sent."""
        if not self.pid or self._jobs == -1:
            return None
        import pickle

        try:
            job = pickle.dumps((function, args), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - something that cannot travel: the caller does it
            return None
        try:
            _send_frame(self._jobs, job)
        except OSError:  # the helper is gone
            self.close(kill=True)
            return None
        self._sent += 1
        return self._sent - 1

    def result(self, ticket: int | None) -> Any:
        """The answer to the job of this ticket, or None when the helper could not do it."""
        if ticket is None:
            return None
        import pickle

        while ticket not in self._answers and self._answered < self._sent and self._results != -1:
            try:
                answer = _receive_frame(self._results)
            except OSError:
                answer = None
            if answer is None:  # the helper died (a job raised): no more answers
                self.close(kill=True)
                break
            self._answers[self._answered] = answer
            self._answered += 1
        answer = self._answers.pop(ticket, None)
        try:
            return pickle.loads(answer) if answer is not None else None
        except Exception:  # noqa: BLE001 - the caller does the job itself
            return None

    def close(self, kill: bool = False) -> None:
        """Tell the helper there are no more jobs and wait for it to exit.

        One with no job under way (still preparing, or waiting for a job)
        is stopped at once: it has written nothing; so is any helper when
        ``kill`` (the caller gave up).
        """
        idle = kill or self._answered == self._sent
        for name in ("_jobs", "_results"):
            fd = getattr(self, name)
            if fd != -1:
                setattr(self, name, -1)
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self.pid:
            pid, self.pid = self.pid, 0
            if idle:  # killed: the kernel tears it down while this process goes on (reaped later)
                import signal

                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                _unreaped.append(pid)
                _reap()
            else:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)


_unreaped: list[int] = []  # helpers killed and not waited for yet


def _reap() -> None:
    """Wait for the killed helpers that have ended (each Helper made or closed, and each pool, asks)."""
    for pid in list(_unreaped):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _unreaped.remove(pid)


_LENGTH = 8  # bytes of a frame's length, before its bytes (see _send_frame)


def _drained(fd: int) -> Any:
    """A queue of the frames read from ``fd`` by a thread as they come, then None.

    In the helper: this process never waits to send a job while the
    helper waits to send an answer (a pipe holds 64 KB).
    """
    import queue

    frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def read() -> None:
        try:
            while (frame := _receive_frame(fd)) is not None:
                frames.put(frame)
        finally:
            frames.put(None)

    threading.Thread(target=read, daemon=True).start()
    return frames


def _send_frame(fd: int, data: bytes) -> None:
    """Write ``data`` whole, after its length."""
    view = memoryview(len(data).to_bytes(_LENGTH, "little") + data)
    while view:
        view = view[os.write(fd, view) :]


def _receive_frame(fd: int) -> bytes | None:
    """Read one frame written by :func:`_send_frame`; None when the writer closed its end first."""
    head = _read_exactly(fd, _LENGTH)
    return None if head is None else _read_exactly(fd, int.from_bytes(head, "little"))


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)
