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
every staleness warning of this store), so a run logged late that started in that window counts too. The
warning 0.17 gave when a stale run was logged is given by ``Store.log`` from what the write itself found
(the log's one round trip returns it, schema 0010), not by reading the run back.
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
        out[consumer].append(
            (dep, judge(dep, component, (start - dep_start).total_seconds(), threshold, fresher))
        )
    return {rid: [m for _, found in sorted(out.get(rid, ())) for m in found] for rid in consumers}


def judge(dep: int, component: str, seconds: float, threshold: int, fresher: int) -> list[str]:
    """0.17's messages about one upstream run ``dep`` of ``component`` that started ``seconds`` before the
    run judged, with ``fresher`` runs of its component started from then to the run's start (``dep``
    included, the run left out)."""
    found = []
    if seconds > threshold:
        found.append(f"{component} (ID {dep}) was run {int(seconds // 86400)} days ago.")
    if fresher > 1:
        more = fresher - 1
        found.append(
            f"{component} (ID {dep}) has {more} fresher {'run' if more == 1 else 'runs'} that began "
            "before this component run started."
        )
    return found


def judged(upstream: Iterable[tuple[int, str, float, int]], threshold: int) -> tuple[str, ...]:
    """The messages of a run just logged from its upstream runs as its write found them (``fastlog``):
    (run id, component, seconds before the run it started, fresher runs), in run id order."""
    return tuple(
        m
        for dep, component, seconds, fresher in upstream
        for m in judge(dep, component, seconds, threshold, fresher)
    )


def warn(run_id: int, component: str, stale: tuple[str, ...]) -> None:
    """Log a stale run's messages as a warning, as 0.17 did when it committed a stale run."""
    log.warning("mltrace: run %s of %r is stale: %s", run_id, component, list(stale))
