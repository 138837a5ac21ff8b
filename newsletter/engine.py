"""The build engine: outputs are declared; this module makes them.

Every file a build makes is one :class:`Output`: its path, a fingerprint
of what it is made from, and a function that makes its bytes (rendering,
or reading a file to publish). ``newsletter.build`` declares them; an
:class:`Engine` does the rest, the same way for every kind of output:

- skips the outputs whose file is there and whose fingerprint (together
  with the settings, templates and version: the render key) is the one
  recorded when the file was made;
- makes the others: the many alike ones (``spread``: the posts' pages) in
  worker processes while this process makes the rest, then takes some of
  them too, when there are enough of them to pay for the processes
  (:mod:`newsletter.parallel`; in which order and slices: :func:`_shared_out`);
- stages each new file under a temporary name (a file whose bytes did not
  change is left alone) and, at :meth:`Engine.commit`, puts them all in
  place together (:class:`newsletter.write.Staging`: the previous build or
  the new one, never a mix);
- removes the files an earlier build made that nothing declares any more,
  among the parts this build makes (a build of the feeds alone does not
  remove pages), and records the fingerprints for the next build.

An output with a ``put`` function (the week's digest in the outbox) is not
staged: what ``make`` returns is handed to ``put``, which writes it by its
own rules and returns the files it wrote, once every other output of the
same :meth:`Engine.make` is made and staged (a failure there writes none).

The engine never reads posts or settings: what it knows of them is in the
fingerprints, so a new kind of output is one declaration and nothing else.
"""

from __future__ import annotations

import contextlib
import os
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.errors import NewsletterError

if TYPE_CHECKING:
    from newsletter.cache import BuildCache
    from newsletter.parallel import Helper
    from newsletter.write import Staging

Progress = Callable[[str, int, int], None]
Data = str | bytes


class OutputClash(NewsletterError):
    """Two outputs claim the same path."""


@dataclass(slots=True)  # made by the ten thousand: no dict, no frozen __init__
class Output:
    """One file a build makes.

    ``path`` is relative to the project folder (``public/feed.xml``).
    ``inputs`` is the fingerprint of everything it is made from besides the
    render key (the posts it shows, by their hashes; a source file's size
    and time). ``make()`` must be pure: the same inputs, the same bytes.
    ``part`` names the part of a build that makes it ("feeds", "site",
    "media", "digest"): a build that makes a part removes that part's stale
    files. ``spread``: one of many alike outputs that may be made in worker
    processes (``weight``: how long it takes against a post's page).
    ``origin`` says who asked for it (``path:line``), for a clash; two
    declarations of one path with the same ``same`` (a media file two
    posts use) are one output. ``put`` writes what ``make``
    returned itself (see the module's docstring); ``files`` is how many
    files it stands for, in the counts.

    For a build of a few changed posts (see :class:`Engine`): ``posts``
    names the posts the output takes whole (their names in the build
    cache); () when it takes none whole (a listing takes what lists show
    of the posts: their cards, order, addresses); None, when not said, that
    it may take anything (such a build then cannot make it). ``label``:
    what else of the project it shows (a category's name), part of its
    fingerprint; such a build makes it only when that is what it was.
    ``exact``: its inputs name everything it is made from, whatever the
    project holds (a file it publishes).

    ``job``: a module-level function and picklable arguments that make the
    same bytes as ``make()``, for a helper process (see :class:`Engine`).
    """

    path: str
    inputs: str
    make: Callable[[], Any]
    part: str
    spread: bool = False
    origin: str = ""
    same: object = None
    put: Callable[[Any], list[Path]] | None = None
    files: int = 1
    weight: int = 1  # how long it takes to make, against a post's page (to share the work out evenly)
    posts: tuple[str, ...] | None = None
    label: str = ""
    exact: bool = False
    job: tuple[Callable[..., Any], tuple[Any, ...]] | None = None


class NotDelta(Exception):
    """A build of a few changed posts found an output it cannot tell the full build would make alike."""


@dataclass
class Made:
    """What the engine did, for the build's result."""

    written: list[str] = field(default_factory=list)  # paths relative to the project
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


class Engine:
    """Makes declared outputs into one project folder, holding its lock (see :mod:`newsletter.build`).

    ``changed``: a build of these few changed posts alone (see
    :mod:`newsletter.delta`), declared from a project that holds only the
    posts it needs. The outputs that take a changed post whole (as the last
    build recorded them) must take the same posts as then, and are made as
    always; ``exact`` ones are looked at as always; the others are left as
    the last build recorded them. An output that does not say which posts
    it takes, or does not take what it took, raises :class:`NotDelta` (the
    full build runs instead). Nothing is removed.

    ``helper``: a helper process (:class:`newsletter.parallel.Helper`) that
    makes the few alike outputs of a small build that have a ``job`` (a
    post's page) while this process makes the rest.
    """

    def __init__(
        self,
        root: Path,
        cache: BuildCache,
        render_key: str,
        parts: Iterable[str],
        progress: Progress,
        changed: frozenset[str] | None = None,
        helper: Helper | None = None,
    ) -> None:
        from newsletter.cache import digest

        self.root = root
        self.real_root = root.resolve()
        self.cache = cache
        self.parts = set(parts)
        self.progress = progress
        self.made = Made()
        self._key = render_key
        self._digest = digest
        self._declared: dict[str, Output] = {}
        self._pending: list[Output] = []  # declared, not yet made
        self._fingerprints: dict[str, str] = {}  # path -> fingerprint, for the record
        self._staging: Staging | None = None
        self.files_now: dict[str, tuple[int, int]] = {}  # each output's (st_mtime_ns, st_size) as left
        self._before_fork: list[Callable[[], object]] = []
        self.changed = changed
        self.helper = helper
        self._all_declared = False  # in a build of changed posts: checked (see make())

    # Declaring

    def declare(self, output: Output) -> None:
        """Add one output to the plan; refuse a second, different claim on its path."""
        first = self._declared.get(output.path)
        if first is not None:
            if output.same is not None and output.same == first.same:
                return
            shown = output.path.removeprefix("public/")
            where = output.origin or f"public/{shown}"
            raise OutputClash(f"{where}: two outputs would write public/{shown}")
        self._declared[output.path] = output
        if self._kept(output):
            self.made.unchanged += output.files  # as the last build left it
        else:
            self._pending.append(output)

    def _kept(self, output: Output) -> bool:
        """In a build of changed posts: whether ``output`` is left as the last build recorded it (see the class)."""
        if self.changed is None or output.exact:
            return False
        recorded = self.cache.outputs.get(output.path)
        if output.posts is None or recorded is None or recorded[4] is None:
            raise NotDelta(f"{output.path}: not said which posts it takes")
        if self.changed.isdisjoint(recorded[4]):
            return True
        if recorded[4] != output.posts or recorded[5] != output.label:
            raise NotDelta(f"{output.path}: takes other posts than the last build's, or shows another label")
        return False

    def _check_all_declared(self) -> None:
        """In a build of changed posts, before anything is made: every output of the parts it makes that the
        last build made from a changed post is declared again (else :class:`NotDelta`)."""
        changed = self.changed
        assert changed is not None
        for path, recorded in self.cache.outputs.items():
            taken = recorded[4]
            if taken and recorded[0] in self.parts and path not in self._declared and not changed.isdisjoint(taken):
                raise NotDelta(f"{path}: made from a changed post by the last build, not declared now")
        self._all_declared = True

    def before_fork(self, prepare: Callable[[], object]) -> None:
        """Have ``prepare()`` run before worker processes are forked (compile templates once, not in each)."""
        self._before_fork.append(prepare)

    def fingerprint(self, output: Output) -> str:
        """What ``output`` is recorded as made from: its inputs and the render key."""
        return self._digest(f"{self._key}\0{output.inputs}\0{output.label}")

    def up_to_date(self, output: Output) -> bool:
        """Whether ``output``'s file is there as it was made, from the same inputs."""
        if self._kept(output):
            return True
        fingerprint = self.fingerprint(output)
        self._fingerprints[output.path] = fingerprint
        recorded = self.cache.outputs.get(output.path)
        if recorded is None or recorded[1] != fingerprint:
            return False
        try:
            st = os.stat(f"{self.root}/{output.path}")
        except OSError:
            return False
        if (st.st_mtime_ns, st.st_size) != recorded[2:4]:
            return False
        self.files_now[output.path] = recorded[2:4]  # left as it is: no need to look again when recording
        return True

    def declared(self) -> list[str]:
        """The paths of every output declared so far."""
        return list(self._declared)

    def files(self) -> int:
        """How many files the declared outputs stand for."""
        return sum(output.files for output in self._declared.values())

    # Making

    def make(self) -> None:
        """Make (and stage) every output declared since the last call that is not up to date."""
        assert self._staging is not None, "make() runs inside Engine.writing()"
        if self.changed is not None and not self._all_declared:
            self._check_all_declared()
        todo: list[Output] = []
        spread: list[Output] = []
        for output in self._pending:
            if self.up_to_date(output):
                self.made.unchanged += output.files
            elif output.spread:
                spread.append(output)
            else:
                todo.append(output)
        self._pending = []
        made: list[tuple[Output, Any]] = []  # outputs with a put(): written once all the rest is staged
        todo.sort(key=lambda output: output.put is not None)  # those last: a helper process may be making one
        handed = self._hand_over(spread, todo)
        if handed:
            spread = [output for output in spread if output.job is None]
            todo = [output for output in todo if output.job is None]
        self._make_spread(spread, lambda: self._make_here(todo, made))
        for output, ticket in handed:
            data = self.helper.result(ticket) if self.helper is not None else None
            if not self._staging.stage(self.root / output.path, data if data is not None else output.make()):
                self.made.unchanged += 1
        for output, data in made:
            written = output.put(data)  # type: ignore[misc]
            if written is None:  # put() decided against writing: nothing to record
                self._fingerprints.pop(output.path, None)
            else:
                self.made.written += [p.relative_to(self.root).as_posix() for p in written]

    def _hand_over(self, spread: list[Output], todo: list[Output]) -> list[tuple[Output, int | None]]:
        """Send the helper process the outputs that have a job, unless the alike ones are many (the workers
        make them then): each with its ticket."""
        from newsletter import parallel

        if self.helper is None or not self.helper.pid or parallel.workers(len(spread)) > 1:
            return []
        helper = self.helper
        return [(out, helper.submit(out.job[0], *out.job[1])) for out in (*spread, *todo) if out.job is not None]

    def _make_here(self, outputs: list[Output], made: list[tuple[Output, Any]]) -> None:
        """Make outputs in this process: stage the files; keep what goes to a ``put`` in ``made``."""
        assert self._staging is not None
        total = len(outputs)
        for done, output in enumerate(outputs, start=1):
            data = output.make()
            if output.put is not None:
                made.append((output, data))
            elif not self._staging.stage(self.root / output.path, data):
                self.made.unchanged += 1
            self.progress("write", done, total)

    def _make_spread(self, outputs: list[Output], meanwhile: Callable[[], None]) -> None:
        """Make the many alike outputs, in worker processes when that pays, running ``meanwhile()`` here.

        Whatever fails (here, in ``meanwhile()`` or in a worker), the
        workers are stopped before this returns: none stages anything
        afterwards.
        """
        from newsletter import parallel

        assert self._staging is not None
        if not outputs:
            meanwhile()
            return
        jobs = parallel.workers(len(outputs))
        with contextlib.ExitStack() as stack:
            slices: Iterable[tuple[int, Slice]]
            if jobs < 2:  # these first: meanwhile() may wait for a helper process (see make())
                slices = [(len(outputs), _make_slice((self.root, outputs), 0, len(outputs)))]
                meanwhile()
            else:
                for prepare in self._before_fork:
                    prepare()
                outputs, bounds = _shared_out(outputs, jobs * 8)
                work = parallel.map_slices(
                    _make_slice, (self.root, outputs), len(outputs), jobs, meanwhile, bounds=bounds, here=True
                )
                slices = stack.enter_context(contextlib.closing(work))
            done = 0
            files_now = self.files_now
            for count, (staged, unchanged, stats) in slices:  # in order: this slice is outputs[done:done + count]
                self.made.unchanged += unchanged
                self._staging.add(staged)
                for at, output in enumerate(outputs[done : done + count]):
                    if stats[2 * at] != -1:
                        files_now[output.path] = (stats[2 * at], stats[2 * at + 1])
                done += count
                self.progress("pages", done, len(outputs))

    # Writing

    @contextlib.contextmanager
    def writing(self, public: Path, sweep_also: Iterable[Path] = (), swept: Callable[[], bool] | None = None) -> Any:
        """Hold the project lock and a staging area while outputs are made; put them in place at :meth:`commit`.

        Temporary files an interrupted run left go first (in ``public`` and
        the ``sweep_also`` folders; ``public`` is not walked when ``swept()``,
        asked holding the lock, says it holds none and no linked folder). On
        any failure the staged files are dropped and public/ stays as it was.
        """
        from newsletter.lock import project_lock
        from newsletter.stamp import forget
        from newsletter.write import Staging, WriteFailed, describe_refused, sweep

        self.public = public
        with project_lock(self.root) as lock_file:
            self.lock_file = lock_file
            clean = swept is not None and swept()
            forget(self.root)  # until this run records a new one: nothing is known to be done
            self._staging = Staging()
            try:
                try:
                    for folder in (*sweep_also, *(() if clean else (public,))):
                        sweep(folder, self.real_root)
                    yield self
                except BaseException:
                    self._staging.discard(public)  # the workers are stopped by now
                    sweep(public)  # what a stopped worker was writing, if anything
                    raise
            except OSError as exc:
                raise WriteFailed(describe_refused(exc, self.root)) from None
            finally:
                self._staging = None

    def commit(self) -> Made:
        """Put every staged file in place, remove stale outputs, record what was made."""
        from newsletter.lock import LockLost, still_held

        assert self._staging is not None
        if not still_held(self.lock_file):
            raise LockLost(
                f"{self.lock_file.name} was removed while this run held it, so another run may be "
                "writing too; nothing was put in place in public/: run again"
            )
        total = len(self._staging.files)
        self.progress("commit", 0, total)
        placed = self._staging.commit()
        self.progress("commit", total, total)
        prefix = len(os.fspath(self.root)) + 1
        self.made.written += [target[prefix:] for target in placed]
        self._record()
        return self.made

    def _record(self) -> None:
        """Remove what earlier builds made that is no longer declared; keep what was made for the next build.

        Each output is recorded with its fingerprint and its file's size
        and time: a file changed or replaced since is made again.
        """
        cache = self.cache
        stale = []
        if self.changed is None:  # a build of changed posts declares only what it needs: it removes nothing
            stale = [path for path, rec in cache.outputs.items() if rec[0] in self.parts and path not in self._declared]
        self.made.removed = _remove(self.root, self.public, stale)
        for path in stale:
            del cache.outputs[path]
            cache.outputs_dirty = True
        for path, fingerprint in self._fingerprints.items():
            now = self.files_now.get(path)
            if now is None:  # made (or found made already) by this build: as it is now
                try:
                    st = os.stat(f"{self.root}/{path}")
                except OSError:
                    cache.outputs.pop(path, None)
                    cache.outputs_dirty = True
                    continue
                now = self.files_now[path] = (st.st_mtime_ns, st.st_size)
            output = self._declared[path]
            recorded = (output.part, fingerprint, *now, output.posts, output.label)
            if cache.outputs.get(path) != recorded:
                cache.outputs[path] = recorded
                cache.outputs_dirty = True


def _slices(weights: list[int], count: int) -> list[tuple[int, int]]:
    """About ``count`` runs of consecutive items of about equal total weight (a heavy item alone)."""
    share = max(1, sum(weights) // count)
    bounds, start, load = [], 0, 0
    for index, weight in enumerate(weights):
        if load and load + weight > share:
            bounds.append((start, index))
            start, load = index, 0
        load += weight
    if start < len(weights):
        bounds.append((start, len(weights)))
    return bounds


def _shared_out(outputs: list[Output], count: int) -> tuple[list[Output], list[tuple[int, int]]]:
    """The outputs in the order the workers take them, and about ``count`` slices of them (see :func:`_slices`).

    Each worker forked copies every page of memory it writes to, and reading
    an object writes to it (its reference count). So the heavy outputs (the
    lists of many posts) come first and together, in one slice: one worker
    reads every post for them and makes each post's entry in lists once.
    The others (a post's page) follow in the order of the object each is
    made from (a ``functools.partial``'s first argument: the post) in
    memory: a slice then reads one stretch of it, which the other worker
    does not copy too.
    """
    heavy = [output for output in outputs if output.weight > 1]
    light = sorted((output for output in outputs if output.weight <= 1), key=_address)
    start = 1 if heavy else 0
    bounds = [(0, len(heavy))] if heavy else []
    bounds += [(a + len(heavy), b + len(heavy)) for a, b in _slices([o.weight for o in light], count - start)]
    return heavy + light, bounds


def _address(output: Output) -> int:
    """Where what ``output`` is made from lies in memory (see :func:`_shared_out`)."""
    args = getattr(output.make, "args", None)
    return id(args[0]) if args else id(output.make)


# What making a slice of outputs gives: the files staged (temporary name, target), how many were unchanged,
# and each output's file as it will be once in place, its st_mtime_ns and st_size in turn (-1, -1 when not
# known): moved there, a staged file keeps its time (Engine._record need not look at them all again, one
# after another).
Slice = tuple[list[tuple[str, str]], int, "array[int]"]


def _make_slice(shared: tuple[Path, list[Output]], start: int, stop: int) -> Slice:
    """Make some outputs and stage the changed ones (in a worker process, or here)."""
    from newsletter.write import stage

    root, outputs = shared
    staged, unchanged, stats = [], 0, array("q")
    for output in outputs[start:stop]:
        target = f"{root}/{output.path}"
        temp = stage(target, output.make())
        if temp is None:
            unchanged += 1
        else:
            staged.append((temp, target))
        try:
            st = os.stat(target if temp is None else temp)
        except OSError:
            stats.extend((-1, -1))  # gone meanwhile: Engine._record says so
            continue
        stats.extend((st.st_mtime_ns, st.st_size))
    return staged, unchanged, stats


def _remove(root: Path, public: Path, paths: list[str]) -> list[str]:
    """Remove outputs of earlier builds that this build no longer makes, and the folders they leave empty.

    Only files an earlier build recorded as its own (a withdrawn post's
    page, an emptied category's feed, an image no post uses) are removed.
    """
    removed = []
    for path in sorted(paths):
        target = root / path
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
        folder = target.parent
        while folder != public and folder.is_relative_to(public):
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
            folder = folder.parent
    return removed
