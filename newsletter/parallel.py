"""Work spread over the machine's cores, in forked processes.

Forked workers see the parent's memory as it was (the loaded posts, the
settings), so only small tasks and results cross between processes. Fork
is used only where it is safe: on platforms that have it and in a process
with no other threads (the preview server has some; it works serially).
A worker that dies makes the run fail (BrokenProcessPool), never hang.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
MIN_ITEMS = 400  # below this, starting processes costs more than it saves

_shared: Any = None  # what the workers of the current map() see


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
) -> Iterator[tuple[int, T]]:
    """Run ``function(shared, start, stop)`` over slices of ``range(count)`` in ``jobs`` processes.

    ``function`` must be a module-level function; ``shared`` reaches the
    workers through fork, not pickling. Yields (items done, result) as the
    slices finish, in order. ``meanwhile()``, if given, runs here while the
    workers work.
    """
    global _shared
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = max(min_size, -(-count // (jobs * 4)))
    slices: Sequence[tuple[int, int]] = [(i, min(i + size, count)) for i in range(0, count, size)]
    _shared = shared
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            results = pool.map(_run, [(function, start, stop) for start, stop in slices])
            if meanwhile is not None:
                meanwhile()
            for (start, stop), result in zip(slices, results, strict=True):
                yield stop - start, result
    finally:
        _shared = None
