"""mltrace 0.17's staleness rules, for the runs that carry a staleness threshold.

A run logged through 0.17's API (``register``, ``Component.run``, ``log_component_run``) stores the
``staleness_threshold`` it was given (seconds; 0.17's default is 30 days). Such a run is judged as 0.17
judged it, with 0.17's messages, for each upstream run ``dep`` (its lineage edges):

- ``dep`` *started* more than the threshold before this run started:
  ``"training (ID 4) was run 61 days ago."``;
- the runs of ``dep``'s component that started between ``dep``'s start and this run's start (both
  included, this run left out) are more than ``dep`` alone:
  ``"training (ID 4) has 1 fresher run that began before this component run started."``.

0.17 computed these once, when the run was committed; here they are computed when the run is read (as
every staleness warning of this store), so a run logged late that started in that window counts too.
Runs without a threshold (Airflow tasks, OpenLineage runs, ``mltrace_core.run``, ``Store.log``) keep
the store's own rules (queries.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from mltrace_core.models import components, run_dependencies, runs
from mltrace_core.queries import _bind_ids, dialect_of, id_in

log = logging.getLogger("mltrace_core")


def _query(dialect: str) -> Select[Any]:
    d = run_dependencies
    pairs = (
        select(d.c.consumer_run_id, d.c.producer_run_id)
        .where(id_in(dialect, d.c.consumer_run_id))
        .distinct()
        .subquery()
    )
    cons, prod, other = runs.alias("cons"), runs.alias("prod"), runs.alias("other")
    fresher = (
        select(func.count())
        .select_from(other)
        .where(
            other.c.component_id == prod.c.component_id,
            other.c.start_ts >= prod.c.start_ts,
            other.c.start_ts <= cons.c.start_ts,
            other.c.id != cons.c.id,
        )
        .scalar_subquery()
    )
    return (
        select(
            pairs.c.consumer_run_id,
            prod.c.id,
            components.c.name,
            cons.c.start_ts,
            prod.c.start_ts,
            cons.c.staleness_threshold,
            fresher,
        )
        .join(cons, cons.c.id == pairs.c.consumer_run_id)
        .join(prod, prod.c.id == pairs.c.producer_run_id)
        .join(components, and_(components.c.id == prod.c.component_id))
        .where(cons.c.staleness_threshold.is_not(None))
    )


def messages(session: Session, consumers: Iterable[int]) -> dict[int, list[str]]:
    """0.17's staleness messages of these runs (ids of runs that carry a threshold), by run id: a run
    with none maps to an empty list. Upstream runs in id order, as 0.17's dependencies were."""
    consumers = list(consumers)
    out: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
    if not consumers:
        return {}
    for consumer, dep, component, start, dep_start, threshold, fresher in session.execute(
        _query(dialect_of(session)), _bind_ids(session, consumers)
    ):
        found = []
        seconds = (start - dep_start).total_seconds()
        if seconds > threshold:
            found.append(f"{component} (ID {dep}) was run {int(seconds // 86400)} days ago.")
        if fresher > 1:
            more = fresher - 1
            found.append(
                f"{component} (ID {dep}) has {more} fresher {'run' if more == 1 else 'runs'} that began "
                "before this component run started."
            )
        out[consumer].append((dep, found))
    return {rid: [m for _, found in sorted(out.get(rid, ())) for m in found] for rid in consumers}


def warn_if_stale(store: Any, run_id: int | None) -> None:
    """Log the run's staleness messages as a warning, as 0.17 did when it committed a stale run. Never
    raises: the run is logged; a store that cannot be read back (over HTTP) says nothing."""
    if run_id is None:
        return
    try:
        found = store.get_runs([run_id])
    except Exception as exc:  # noqa: BLE001 -- a warning about a warning must not fail the pipeline
        log.debug("mltrace: staleness of run %s not read: %s", run_id, exc)
        return
    if found and found[0].stale:
        log.warning("mltrace: run %s of %r is stale: %s", run_id, found[0].component, list(found[0].stale))
