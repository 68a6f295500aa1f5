"""The web app's store calls: bounded in time, and never many of them stuck at once.

FastAPI runs a sync route in AnyIO's thread pool, which the whole Airflow API server shares: the UI, the
REST API, and the execution API the task processes report to. A read from a hung store (a frozen server
keeps its connections open and never answers, so no client or server timeout fires) would hold such a
thread until the server wakes up, and a few users loading mltrace pages would stall Airflow itself, and
with it every running task. So each store call runs in a thread of its own: the route waits for it at
most ``timeout`` seconds, then answers 503; and at most ``slots`` calls are in flight at once: while they
are all stuck, the next request waits ``queue_wait`` seconds for a free slot and is refused (503).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from mltrace_core import Store, StoreUnavailableError

TIMEOUT = 10.0  # seconds a page waits for the store; the store's own statement/lock timeouts match it
SLOTS = 8
QUEUE_WAIT = 1.0


class Limits:
    """One app's budget of store calls (shared by all its requests)."""

    def __init__(self, timeout: float = TIMEOUT, slots: int = SLOTS, queue_wait: float = QUEUE_WAIT) -> None:
        self.timeout = timeout
        self.queue_wait = queue_wait
        self._slots = threading.BoundedSemaphore(slots)

    def call(self, fn, *args: Any, **kwargs: Any) -> Any:
        if not self._slots.acquire(timeout=self.queue_wait):
            raise StoreUnavailableError(
                "the mltrace store is not answering: earlier requests are still waiting for it"
            )
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the route, whose error handler answers
                box["error"] = exc
            finally:  # the slot frees when the call ends, not when the page gives up on it
                self._slots.release()
                done.set()

        threading.Thread(target=work, name="mltrace-page-read", daemon=True).start()
        if not done.wait(self.timeout):
            raise StoreUnavailableError(f"the mltrace store did not answer within {self.timeout:g} s")
        if "error" in box:
            raise box["error"]
        return box["value"]


class BoundedStore:
    """A :class:`~mltrace_core.Store` whose every method goes through :meth:`Limits.call`."""

    def __init__(self, store: Store, limits: Limits) -> None:
        self._store = store
        self._limits = limits

    def __repr__(self) -> str:
        return f"BoundedStore({self._store!r})"

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            return self._limits.call(value, *args, **kwargs)

        return bounded
