"""Every store call bounded in wall-clock time, and -- where asked -- at most N calls in flight at once.

Why a wall clock: a database server can freeze with its connections open (a paused VM, a stuck disk, a
SIGSTOPped process). The kernel still acknowledges the packets, so neither the server's statement timeout
nor the client's connect or TCP timeouts fire, and a call would wait forever: in a task, stalling the
pipeline; in the Airflow API server, holding one of the threads the whole UI and the task processes share.

How: a call to a network store runs on a long-lived worker thread of the store (one hop; idle workers are
reused, so there is no thread start per call) while the caller waits at most ``timeout`` seconds. Past
that the caller gets :class:`StoreUnavailableError` and the store replaces its connection pool, so the
stuck connection is never handed out again; the worker stays with the stuck call until it ends. SQLite is
in-process: its calls run on the caller's thread, bounded by its busy timeout.

Admission control (``max_in_flight``, for the API server): a call counts as in flight until it really
ends, not when its caller gave up on it, so a frozen store can tie up at most N workers; further calls wait
briefly for a free slot and are then refused with :class:`StoreUnavailableError`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from mltrace_core.errors import StoreUnavailableError

T = TypeVar("T")
ADMISSION_WAIT = 1.0  # seconds a call waits for a free slot before it is refused
IDLE_WORKER_LIFETIME = 60.0  # seconds an idle worker waits for work before it ends
Deadline = float  # a time.monotonic() instant


class _Job(Generic[T]):
    __slots__ = ("fn", "deadline", "done", "value", "error", "release")

    def __init__(self, fn: Callable[[Deadline], T], deadline: Deadline, release: Callable[[], None]) -> None:
        self.fn = fn
        self.deadline = deadline
        # Held until the call ends: the caller waits by acquiring it. A bare lock, not an Event (a
        # Condition, a waiter lock and a list per call), since every store call makes one.
        self.done = threading.Lock()
        self.done.acquire()
        self.value: Any = None
        self.error: BaseException | None = None
        self.release = release

    def run(self) -> None:
        try:
            self.value = self.fn(self.deadline)
        except BaseException as exc:  # handed to the caller, who decides
            self.error = exc

    def finish(self) -> None:
        self.release()  # the slot frees when the call ends, not when its caller gave up
        self.done.release()


class CallBound:
    """The time bound and admission control of one store. ``threaded``: run calls on worker threads
    (network stores) rather than on the caller's thread (SQLite)."""

    def __init__(self, timeout: float, max_in_flight: int | None = None, threaded: bool = True) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight!r}")
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.threaded = threaded
        self._slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None
        self._idle: list[queue.SimpleQueue[_Job[Any]]] = []  # inboxes of idle workers, newest last
        self._lock = threading.Lock()

    def call(self, fn: Callable[[Deadline], T], what: str, on_timeout: Callable[[], None]) -> T:
        """``fn(deadline)``, within :attr:`timeout` seconds of now. ``what`` names the store in errors;
        ``on_timeout`` runs when the caller gives up (the store drops its connection pool)."""
        deadline = time.monotonic() + self.timeout
        release = self._admit(what)
        if not self.threaded:
            try:
                return fn(deadline)
            finally:
                release()
        job: _Job[T] = _Job(fn, deadline, release)
        self._worker().put(job)
        if not job.done.acquire(timeout=max(0.0, deadline - time.monotonic())):
            on_timeout()
            raise StoreUnavailableError(f"mltrace store {what} did not answer within {self.timeout:g} s")
        if job.error is not None:
            raise job.error
        return cast(T, job.value)

    def _admit(self, what: str) -> Callable[[], None]:
        slots = self._slots
        if slots is None:
            return _nothing
        if not slots.acquire(timeout=min(ADMISSION_WAIT, self.timeout)):
            raise StoreUnavailableError(
                f"mltrace store {what} is not answering: {self.max_in_flight} earlier calls are still "
                "waiting for it"
            )
        return slots.release

    def _worker(self) -> queue.SimpleQueue[_Job[Any]]:
        """The inbox of an idle worker (the most recently used), or of a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        inbox: queue.SimpleQueue[_Job[Any]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, args=(inbox,), name="mltrace-store", daemon=True).start()
        return inbox

    def _serve(self, inbox: queue.SimpleQueue[_Job[Any]]) -> None:
        while True:
            try:
                job = inbox.get(timeout=IDLE_WORKER_LIFETIME)
            except queue.Empty:
                with self._lock:
                    if inbox in self._idle:  # nobody picked it: end (no caller can pick it now)
                        self._idle.remove(inbox)
                        return
                job = inbox.get()  # a caller picked it just now: its job is on the way
            job.run()
            with self._lock:  # idle again before the caller hears back: its next call reuses this worker
                self._idle.append(inbox)
            job.finish()


def _nothing() -> None:
    return None
