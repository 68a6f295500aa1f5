"""Read queries. Each takes a session (the caller owns the transaction) and returns plain records.

Runs are loaded in batches by ``load_runs``: three queries whatever the number of runs (the run rows,
their pointers, their lineage edges with staleness), so a 10,000-node trace costs the same number of
round trips as a single ``inspect``.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import BigInteger, ColumnElement, and_, any_, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql import bindparam

from mltrace_core.errors import NotFoundError
from mltrace_core.models import (
    component_tags,
    components,
    pointers,
    run_dependencies,
    run_inputs,
    run_outputs,
    runs,
)
from mltrace_core.records import ExternalIdentity, Run, RunDetail

STALE_AFTER = timedelta(days=30)


def id_in(session: Session, column, ids) -> ColumnElement[bool]:
    """``column IN ids`` as one bound parameter (an array, or JSON on SQLite), however many ids."""
    ids = list(ids)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(BigInteger)))
    values = func.json_each(bindparam(None, json.dumps(ids))).table_valued("value")
    return column.in_(select(values.c.value))


def load_runs(session: Session, ids) -> dict[int, Run]:
    """Runs by id, with inputs, outputs, dependencies and staleness warnings."""
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(
        select(runs, components.c.name.label("component"))
        .join(components, components.c.id == runs.c.component_id)
        .where(id_in(session, runs.c.id, ids))
    ).all()
    io: dict[int, tuple[list[str], list[str]]] = {row.id: ([], []) for row in rows}
    for run_id, side, name in session.execute(_pointers_of(session, ids)):
        io[run_id][side].append(name)
    deps, stale = _dependencies_and_staleness(session, ids)
    return {
        row.id: Run(
            id=row.id,
            component=row.component,
            start=row.start_ts,
            end=row.end_ts,
            status=row.status,
            inputs=tuple(sorted(io[row.id][0])),
            outputs=tuple(sorted(io[row.id][1])),
            dependencies=tuple(sorted(deps.get(row.id, ()))),
            notes=row.notes or "",
            stale=tuple(stale.get(row.id, ())),
            code_version=row.code_version,
            error=row.error,
            external=_external(row),
        )
        for row in rows
    }


def _pointers_of(session: Session, ids):
    ins = (
        select(run_inputs.c.run_id, literal(0), pointers.c.name)
        .join(pointers, pointers.c.id == run_inputs.c.pointer_id)
        .where(id_in(session, run_inputs.c.run_id, ids))
    )
    outs = (
        select(run_outputs.c.run_id, literal(1), pointers.c.name)
        .join(pointers, pointers.c.id == run_outputs.c.pointer_id)
        .where(id_in(session, run_outputs.c.run_id, ids))
    )
    return union_all(ins, outs)


def _dependencies_and_staleness(session: Session, ids):
    """Upstream run ids per run, and the staleness warnings of its inputs (as in mltrace: an input
    produced more than 30 days before the run, or a newer version existing when the run started)."""
    d = run_dependencies
    cons, prod = runs.alias("cons"), runs.alias("prod")
    o = run_outputs.alias("o")
    newer = (
        select(o.c.run_id)
        .where(
            o.c.pointer_id == d.c.pointer_id,
            o.c.run_id != d.c.consumer_run_id,
            o.c.end_ts <= cons.c.start_ts,
            or_(o.c.end_ts < cons.c.start_ts, o.c.start_ts < cons.c.start_ts, o.c.run_id < cons.c.id),
            or_(o.c.end_ts > prod.c.end_ts, and_(o.c.end_ts == prod.c.end_ts, o.c.run_id > prod.c.id)),
        )
        .order_by(o.c.end_ts.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            d.c.consumer_run_id, d.c.producer_run_id, pointers.c.name, cons.c.start_ts, prod.c.end_ts, newer
        )
        .join(cons, cons.c.id == d.c.consumer_run_id)
        .join(prod, prod.c.id == d.c.producer_run_id)
        .join(pointers, pointers.c.id == d.c.pointer_id)
        .where(id_in(session, d.c.consumer_run_id, ids))
        .order_by(d.c.consumer_run_id, pointers.c.name)
    )
    deps: dict[int, set[int]] = {}
    stale: dict[int, list[str]] = {}
    for consumer, producer, name, start, produced, newer_run in session.execute(query):
        deps.setdefault(consumer, set()).add(producer)
        age = start - produced
        if age > STALE_AFTER:
            stale.setdefault(consumer, []).append(
                f"{name} was produced {age.days} days before this run started (by run {producer})"
            )
        if newer_run is not None:
            stale.setdefault(consumer, []).append(
                f"a newer version of {name} (written by run {newer_run}) existed when this run started; "
                f"it read the one written by run {producer}"
            )
    return deps, stale


def _external(row) -> ExternalIdentity | None:
    if row.ext_dag_id is None and row.ext_url is None and row.ext_task_id is None:
        return None
    return ExternalIdentity(
        dag_id=row.ext_dag_id,
        run_id=row.ext_run_id,
        task_id=row.ext_task_id,
        try_number=row.ext_try_number,
        map_index=row.ext_map_index,
        url=row.ext_url,
    )


def ordered(loaded: dict[int, Run], ids) -> list[Run]:
    return [loaded[i] for i in ids if i in loaded]


def recent_run_ids(session: Session, limit: int) -> list[int]:
    query = select(runs.c.id).order_by(runs.c.start_ts.desc(), runs.c.id.desc()).limit(limit)
    return list(session.execute(query).scalars())


def recent_runs(session: Session, limit: int) -> list[Run]:
    ids = recent_run_ids(session, limit)
    return ordered(load_runs(session, ids), ids)


def component_row_id(session: Session, name: str) -> int:
    cid = session.execute(select(components.c.id).where(components.c.name == name)).scalar()
    if cid is None:
        raise NotFoundError(f"no component named {name!r}")
    return cid


def history(session: Session, component: str, limit: int) -> list[Run]:
    """The component's runs, newest first."""
    cid = component_row_id(session, component)
    ids = list(
        session.execute(
            select(runs.c.id)
            .where(runs.c.component_id == cid)
            .order_by(runs.c.start_ts.desc(), runs.c.id.desc())
            .limit(limit)
        ).scalars()
    )
    return ordered(load_runs(session, ids), ids)


def runs_for_external(session: Session, dag_id: str, run_id: str, task_id: str | None = None) -> list[Run]:
    """Runs logged for one Airflow DAG run (optionally one task in it), in start order."""
    query = select(runs.c.id).where(runs.c.ext_dag_id == dag_id, runs.c.ext_run_id == run_id)
    if task_id is not None:
        query = query.where(runs.c.ext_task_id == task_id)
    ids = list(session.execute(query.order_by(runs.c.start_ts, runs.c.id)).scalars())
    return ordered(load_runs(session, ids), ids)


def run_detail(session: Session, run_id: int) -> RunDetail:
    run = load_runs(session, [run_id]).get(run_id)
    if run is None:
        raise NotFoundError(f"no run with id {run_id}")
    versions = {}
    for side, table in ((0, run_inputs), (1, run_outputs)):
        query = (
            select(pointers.c.name, table.c.version)
            .join(pointers, pointers.c.id == table.c.pointer_id)
            .where(table.c.run_id == run_id)
            .order_by(pointers.c.name)
        )
        versions[side] = [(name, version) for name, version in session.execute(query)]
    downstream = session.execute(
        select(run_dependencies.c.consumer_run_id)
        .where(run_dependencies.c.producer_run_id == run_id)
        .distinct()
        .order_by(run_dependencies.c.consumer_run_id)
    ).scalars()
    tags = session.execute(
        select(component_tags.c.tag)
        .join(runs, runs.c.component_id == component_tags.c.component_id)
        .where(runs.c.id == run_id)
        .order_by(component_tags.c.tag)
    ).scalars()
    return RunDetail(
        **{f: getattr(run, f) for f in Run.__dataclass_fields__},
        input_versions=tuple(versions[0]),
        output_versions=tuple(versions[1]),
        downstream=tuple(downstream),
        component_tags=tuple(tags),
    )
