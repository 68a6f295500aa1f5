"""Runs logged from plain Python, also sent to an OpenLineage backend (Marquez, DataHub...).

With the ``openlineage`` extra installed (openlineage-python) and the client configured -- ``OPENLINEAGE_URL``,
an ``OPENLINEAGE__TRANSPORT__...`` variable, ``OPENLINEAGE_CONFIG`` or an ``openlineage.yml`` (see
:func:`mltrace_core.config.openlineage_configured`) -- every run the module API logs (``mltrace_core.run``,
``register``, ``log_component_run``, ``Component.run``) is also emitted, after it is stored, as the START
and COMPLETE/FAIL/ABORT events an export would write for it (:mod:`mltrace_core.olevents`), with the same
run id and the ``mltrace_run`` facet. Airflow tries are not emitted here: the OpenLineage provider emits
them; nor are runs written by ingestion or spool replays (only the module API calls :func:`emit`).

An observer, like the rest of lineage: the emission is bounded in wall-clock time
(``$MLTRACE_OPENLINEAGE_TIMEOUT``, default 5 s, the store's own mechanism, :mod:`mltrace_core.bound`:
at most two emissions in flight, so a hung backend holds at most two threads), and any failure -- the
client missing, a bad configuration, a dead or slow backend -- is one warning in the log, never an
exception in the caller. Nothing of openlineage-python is imported unless it is configured.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mltrace_core import config
from mltrace_core.bound import CallBound
from mltrace_core.runs import RunRecord

if TYPE_CHECKING:
    from mltrace_core.entities.component_run import ComponentRun
    from mltrace_core.remote import RemoteStore
    from mltrace_core.store import Store

logger = logging.getLogger("mltrace_core.openlineage")
MAX_IN_FLIGHT = 2
_bounds: dict[float, CallBound] = {}


def _bound(timeout: float) -> CallBound:
    bound = _bounds.get(timeout)
    if bound is None:
        bound = _bounds.setdefault(timeout, CallBound(timeout, MAX_IN_FLIGHT, threaded=True))
    return bound


def emit(record: RunRecord, run_id: int | None) -> bool:
    """Send the events of ``record`` (stored as ``run_id``) if OpenLineage is configured; ``True`` if they
    were sent within the bound. Never raises."""
    try:
        if not config.openlineage_configured() or (record.external and record.external.dag_id):
            return False
        from mltrace_core import olevents

        events = olevents.run_events(
            run_id=run_id or 0,
            key=record.key,
            component=record.component,
            start=record.start,
            end=record.end,
            status=record.status,
            inputs=[(name, version) for name, version, _ in record.inputs],
            outputs=[(name, version) for name, version, _ in record.outputs],
            namespace=config.openlineage_namespace(),
            tags=record.component_tags,
            notes=record.notes,
            code_version=record.code_version,
            error=record.error,
            external=record.external,
        )
        timeout = config.openlineage_timeout()
        _bound(timeout).call(lambda deadline: _send(events), "OpenLineage backend", lambda: None)
        return True
    except Exception as exc:
        logger.warning(
            "mltrace: the run of %s was not sent to OpenLineage: %s", record.component, _reason(exc)
        )
        return False


def _send(events: list[dict[str, Any]]) -> None:
    from mltrace_core import olclient  # openlineage-python, only now

    client = olclient.client()
    for event in events:
        client.emit(olclient.run_event(event))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return "openlineage-python is not installed (pip install 'mltrace-airflow[openlineage]')"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def log(store: Store | RemoteStore, run: ComponentRun | RunRecord) -> int | None:
    """``store.log(run)``, then :func:`emit` the run as stored: what the module API calls to log a run.
    Raises what ``store.log`` raises; the emission never does."""
    record = run.checked() if isinstance(run, RunRecord) else run.to_record()
    run_id = store.log(record)
    emit(record, run_id)
    return run_id
