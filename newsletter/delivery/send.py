"""The send loop: the week's message to every subscriber, exactly once, resumable after a crash.

One round: the main thread walks the due rows of the journal in address
order and puts each recipient's message (personalised, DKIM-signed; in a
process pool when there are many to sign) on a short queue; ``connections``
threads, each with its own SMTP connection and database connection, take
them off, wait for their turn under ``rate``, and offer them to the relay.
For each message the journal row is claimed (``sending``, committed) after
the relay accepted the recipient and just before DATA, and closed after the
relay's answer. Rounds repeat while deferred rows wait for a retry. The
outbox week becomes ``sent`` when every row is final.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.delivery.dkim import Signer
from newsletter.delivery.journal import FINAL, Due, Journal
from newsletter.delivery.message import MessageTemplate
from newsletter.delivery.smtp import Backend, ConnectionLost, Pacer, Reply, SmtpUnavailable
from newsletter.errors import NewsletterError

# Below this many messages to sign, starting worker processes costs more than it saves.
POOL_THRESHOLD = 200
_RECONNECTS = 3


class SendError(NewsletterError):
    """The week cannot be sent (not in the outbox, sent already, check errors, stale)."""


@dataclass
class Tally:
    """What happened in this run, for the progress bar (thread-safe)."""

    total: int = 0
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, state: str) -> None:
        """Count one recipient's outcome."""
        with self.lock:
            setattr(self, state, getattr(self, state) + 1)


@dataclass
class Job:
    """Everything a run needs, prepared and checked before anything is sent."""

    root: Path
    settings: object
    week: str
    sender: str  # the envelope sender (MAIL FROM)
    template: MessageTemplate
    signer: Signer | None
    backend: Callable[[], Backend]
    connections: int = 1
    rate: float = 0.0
    attempts: int = 4
    retry_delay: float = 30.0


def render(template: MessageTemplate, signer: Signer | None, email: str, name: str) -> bytes:
    """One recipient's finished message."""
    data = template.personalise(email, name).data
    return signer.sign(data) if signer is not None else data


_POOL_STATE: dict[str, object] = {}


def _pool_init(template: MessageTemplate, signer: Signer | None) -> None:
    _die_with_parent()
    _POOL_STATE["template"] = template
    _POOL_STATE["signer"] = signer


def _pool_render(email: str, name: str) -> bytes:
    return render(_POOL_STATE["template"], _POOL_STATE["signer"], email, name)  # type: ignore[arg-type]


def _die_with_parent() -> None:
    """Ask Linux to end this worker when the sending process dies (a SIGKILLed run leaves no workers)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the workers end when their pipe closes


class _Sender(threading.Thread):
    """One connection: takes messages off the queue and offers them to the relay."""

    def __init__(
        self, job: Job, journal: Journal, work: queue.Queue, tally: Tally, pacer: Pacer, stop: threading.Event
    ) -> None:
        super().__init__(daemon=True)
        self.job, self.journal, self.work, self.tally, self.pacer, self.stop = job, journal, work, tally, pacer, stop
        self.error: BaseException | None = None

    def run(self) -> None:
        backend = self.job.backend()
        try:
            backend.open()
            self._loop(backend, self.journal)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            self.error = exc
            self.stop.set()
        finally:
            backend.close()

    def _loop(self, backend: Backend, journal: Journal) -> None:
        while True:
            item = self.work.get()
            if item is None:
                return
            due, message = item
            if self.stop.is_set():
                continue  # drain: the row stays pending for the next run
            data = message.result() if isinstance(message, Future) else message
            self.pacer.wait()
            self._deliver(backend, journal, due, data)

    def _deliver(self, backend: Backend, journal: Journal, due: Due, data: bytes) -> None:
        for _ in range(_RECONNECTS):
            try:
                reply = backend.send(self.job.sender, due.email, data, lambda: journal.claim(due.email))
            except ConnectionLost as lost:
                if lost.during_data:  # no 250 came: the relay did not take the message (RFC 5321 6.1)
                    self._close(journal, due, Reply(451, str(lost), "data"), claimed=True)
                    self._reconnect(backend)
                    return
                self._reconnect(backend)  # before DATA nothing happened: offer it again
                continue
            if reply is not None:
                self._close(journal, due, reply, claimed=reply.stage == "data")
            return
        raise SmtpUnavailable(f"the relay keeps closing the connection before {due.email} could be offered")

    def _reconnect(self, backend: Backend) -> None:
        for attempt in range(_RECONNECTS):
            try:
                backend.open()
                return
            except SmtpUnavailable:
                if attempt == _RECONNECTS - 1:
                    raise
                time.sleep(0.5 * 2**attempt)

    def _close(self, journal: Journal, due: Due, reply: Reply, claimed: bool) -> None:
        """Record the relay's answer: sent, failed, or deferred with a back-off."""
        if reply.stage == "mail" and not reply.accepted:
            raise SmtpUnavailable(f"the relay refused the sender {self.job.sender}: {reply}")
        attempts = due.attempts + 1
        if reply.accepted:
            state, retry = "sent", None
        elif reply.temporary and attempts < self.job.attempts:
            state, retry = "deferred", self.job.retry_delay * 2 ** (attempts - 1)
        else:
            state, retry = "failed", None
        text = str(reply) if state != "failed" or not reply.temporary else f"{reply} (after {attempts} tries)"
        if claimed:
            journal.finish(due.email, state, "" if state == "sent" else text, retry)
        else:
            journal.refuse(due.email, state, text, retry)
        self.tally.add(state)


def run_round(job: Job, journal: Journal, tally: Tally, on_progress: Callable[[Tally], None]) -> None:
    """Offer every due row once; raise :class:`SmtpUnavailable` when the relay is lost for good."""
    stop = threading.Event()
    work: queue.Queue = queue.Queue(maxsize=max(8, job.connections * 8))
    pacer = Pacer(job.rate)
    senders = [_Sender(job, journal, work, tally, pacer, stop) for _ in range(job.connections)]
    pool = _pool(job, journal)
    for sender in senders:
        sender.start()
    try:
        for due in journal.due():
            message: bytes | Future = (
                pool.submit(_pool_render, due.email, due.name)
                if pool is not None
                else render(job.template, job.signer, due.email, due.name)
            )
            while not stop.is_set():
                try:
                    work.put((due, message), timeout=0.2)
                    break
                except queue.Full:
                    on_progress(tally)
            if stop.is_set():
                break
            on_progress(tally)
    except BaseException:
        stop.set()  # Ctrl-C: the senders finish the message in hand and take no more
        raise
    finally:
        for _ in senders:
            work.put(None)
        for sender in senders:
            while sender.is_alive():
                sender.join(0.2)
                on_progress(tally)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    errors = [s.error for s in senders if s.error is not None]
    if errors:
        raise errors[0]


def _pool(job: Job, journal: Journal) -> ProcessPoolExecutor | None:
    """Worker processes for DKIM signing (CPU-bound) when there is enough to sign."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if job.signer is None or cpus < 2:
        return None
    counts = journal.counts()
    if counts["pending"] + counts["deferred"] < POOL_THRESHOLD:
        return None
    return ProcessPoolExecutor(
        max_workers=cpus,
        mp_context=multiprocessing.get_context("spawn"),  # no fork of a process with threads and connections
        initializer=_pool_init,
        initargs=(job.template, job.signer),
    )


def deliver(
    job: Job, journal: Journal, on_progress: Callable[[Tally], None], on_wait: Callable[[float], None]
) -> Tally:
    """Rounds until no row is due or waiting: every recipient ends ``sent``, ``failed`` or ``uncertain``."""
    counts = journal.counts()
    tally = Tally(total=counts["pending"] + counts["deferred"])
    while True:
        before = (tally.sent, tally.failed, tally.deferred)
        run_round(job, journal, tally, on_progress)
        counts = journal.counts()
        if all(state in FINAL or not n for state, n in counts.items()):
            return tally
        wait = journal.next_retry()
        if wait is None and (not counts["pending"] or before == (tally.sent, tally.failed, tally.deferred)):
            return tally  # nothing waits, or pending rows nobody could take (another run holds them)
        if wait:
            on_wait(wait)
            time.sleep(wait)
