"""Getting a task try's run into the store without ever breaking or stalling the task.

- Every lineage side effect runs under :func:`guard`: an error is logged as a warning with its
  traceback and the task goes on (in strict mode it is raised instead, failing the try).
- A write is bounded in wall-clock time by ``[mltrace] timeout``, whatever the network does: the store
  of the connection is made with that bound (see :mod:`mltrace_core.bound`), which covers connecting,
  the schema check, lock waits, the statements and retries alike.
- A run the store cannot take (unreachable, hung, old schema, misconfigured connection) goes to the
  durable spool of its connection before the try ends; the next successful write replays the spool,
  and so does ``mltrace spool replay``. Runs are keyed by their task try, so nothing is doubled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from mltrace_airflow import config
from mltrace_core import MltraceError, RunRecord, Spool

log = logging.getLogger("mltrace_airflow")
REPLAY_BUDGET = 2.0  # seconds a successful write may spend replaying the spool


@contextmanager
def guard(what: str, strict: bool = False) -> Iterator[None]:
    """Run a lineage side effect; on error log a warning with the traceback and go on (or, when
    ``strict``, raise: the caller fails the task)."""
    try:
        yield
    except Exception:
        if strict:
            raise
        log.warning("mltrace: %s failed; the task is not affected", what, exc_info=True)


class LineageError(MltraceError):
    """Strict mode: a task try's run could not be written (the task try fails with this error)."""


# Idempotency keys of the tries a traced operator delivered in this process: the listener skips them.
_by_operator: set[str] = set()


def delivered_by_operator(key: str | None) -> bool:
    """Whether a traced operator already delivered (wrote or spooled) the run of this try; consumes the
    mark (the listener asks once per try)."""
    if key is None or key not in _by_operator:
        return False
    _by_operator.discard(key)
    return True


def deliver_try(
    record: RunRecord,
    conn_id: str | None = None,
    *,
    strict: bool | None = None,
    by_operator: bool = False,
) -> int | None:
    """Write ``record`` to the store of ``conn_id`` (default: :func:`config.conn_id`) within the
    configured time bound; spool it if the store cannot take it. Returns the run id, or ``None`` when
    the run was spooled. In strict mode a failure raises :class:`LineageError` and nothing is spooled.
    ``by_operator``: a traced operator delivers it, so the listener (if on) leaves this try alone."""
    if by_operator and record.external is not None and record.external.key and config.trace_all_tasks():
        _by_operator.add(record.external.key)  # only the listener reads (and clears) the marks
    conn_id = conn_id or config.conn_id()
    strict = config.strict() if strict is None else strict
    bound = config.timeout()
    spool = Spool(config.spool_dir(conn_id))
    store = None
    try:
        store = _store(conn_id, bound)
        run_id = store.log(record)
    except Exception as exc:
        if strict:
            raise LineageError(f"mltrace could not write the run of {record.component}: {exc}") from exc
        path = spool.put(record, store=store.fingerprint if store is not None else None)
        log.warning(
            "mltrace: the store did not take the run of %s (%s); spooled to %s, replayed on the next "
            "successful write, or by `mltrace --db-uri <the store's URI> spool replay --dir %s`",
            record.component,
            _reason(exc),
            path,
            spool.directory,
        )
        return None
    if spool.pending():
        with guard("replaying the spool"):
            result = spool.replay(store, budget=min(REPLAY_BUDGET, bound))
            log.info("mltrace: replayed %d spooled runs (%d left)", result.replayed, result.remaining)
    return run_id


def _store(conn_id: str, bound: float):
    from mltrace_airflow.hooks.mltrace import MltraceHook

    return MltraceHook(mltrace_conn_id=conn_id, timeout=bound).get_store()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
