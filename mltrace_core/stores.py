"""The one registry of stores in a process: one :class:`Store` per URI and bounds, reused.

A store holds a connection pool and, for a network store, its worker threads; making one per call would
pay a new connection (and a schema check) every time. The module-level API, the Airflow hook and the web
app all get their stores here; tests reset it with :func:`clear`.
"""

from __future__ import annotations

import threading

from mltrace_core.config import get_db_uri, normalize_uri
from mltrace_core.store import Store

DEFAULT_TIMEOUT = 30.0  # seconds, for plain Python and the CLI; Airflow tasks and pages pass their own

_stores: dict[tuple[str, float, int | None], Store] = {}
_lock = threading.Lock()


def get(
    uri: str | None = None, *, timeout: float = DEFAULT_TIMEOUT, max_in_flight: int | None = None
) -> Store:
    """The store at ``uri`` (default :func:`mltrace_core.get_db_uri`) with these bounds, made on first use."""
    key = (normalize_uri(uri or get_db_uri()), float(timeout), max_in_flight)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = Store(key[0], timeout=timeout, max_in_flight=max_in_flight)
    return store


def clear() -> None:
    """Dispose of every registered store and forget them (their connections are closed)."""
    with _lock:
        found = list(_stores.values())
        _stores.clear()
    for store in found:
        store.dispose()
