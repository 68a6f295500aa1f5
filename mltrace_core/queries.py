"""Read queries. Each takes a session (the caller owns the transaction) and returns plain records.

Runs are loaded in batches by ``load_runs``: at most three queries whatever the number of runs (the run
rows, their pointers, their lineage edges with staleness), so a 10,000-node trace costs the same number
of round trips as a single ``inspect``.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any
from typing import cast as typing_cast  # sqlalchemy's cast is the SQL one

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    any_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, Subquery, bindparam
from sqlalchemy.sql.compiler import SQLCompiler

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
# The planner settings of a recursive walk on PostgreSQL, set for the walk and reset after it (why:
# lineage._recursive).
INDEX_WALK = (
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
)
PLANNER_DEFAULTS = "RESET enable_seqscan; RESET enable_hashjoin; RESET enable_mergejoin"
SEP = "\x1f"  # the unit separator: validation.py keeps control characters out of names


def id_in(dialect: str, column: ColumnElement[Any]) -> ColumnElement[bool]:
    """``column IN :ids``, the ids bound as one parameter (see :func:`ids_text`), however many."""
    if dialect == "postgresql":
        return column == any_(cast(bindparam("ids", type_=String()), ARRAY(BigInteger)))
    values = func.json_each(bindparam("ids", type_=String())).table_valued("value")
    return column.in_(select(values.c.value))


def ids_text(session: Session, ids: Iterable[int]) -> str:
    """Ids as one text parameter: ``{1,2}`` for PostgreSQL (an array literal parses faster than
    ARRAY[...]) or ``[1,2]`` (JSON, for SQLite's json_each)."""
    joined = ",".join(str(int(i)) for i in ids)
    return "{" + joined + "}" if dialect_of(session) == "postgresql" else "[" + joined + "]"


def plain_rows(session: Session, statement: ClauseElement, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` as the driver returns them -- plain tuples, fetched at once -- for the big
    answers (a 10,000-run trace): SQLAlchemy's per-row fetch and result processing cost more than the
    query. Timestamps come back raw: convert them with :func:`utc`."""
    conn = session.connection()
    compiled = _compiled(statement, conn.dialect)
    values = compiled.construct_params(params)  # with the statement's own literals
    order = compiled.positiontup
    cursor = conn.connection.cursor()
    try:
        cursor.execute(compiled.string, values if order is None else tuple(values[n] for n in order))
        return typing_cast("list[tuple[Any, ...]]", cursor.fetchall())  # a list, by both drivers
    finally:
        cursor.close()


@lru_cache(maxsize=64)
def _compiled(statement: ClauseElement, dialect: Dialect) -> SQLCompiler:
    return typing_cast(SQLCompiler, statement.compile(dialect=dialect))  # a statement, so SQLCompiler


# Python 3.11's fromisoformat reads PostgreSQL's ISO text as printed (1-6 digits of a second); 3.10's
# takes only 3 or 6, so there PostgreSQL's times come typed. The rule of every read that asks PostgreSQL for
# times as UTC text (traces, versions).
TEXT_TIMES = sys.version_info >= (3, 11)


def utc(value: str | datetime) -> datetime:
    """A timestamp as a driver returns it (SQLite: naive UTC text; PostgreSQL: aware) as aware UTC."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)


def _bind_ids(session: Session, ids: Iterable[int]) -> dict[str, str]:
    return {"ids": ids_text(session, ids)}


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


_RUN_COLUMNS = (
    runs.c.id,
    components.c.name,
    runs.c.start_ts,
    runs.c.end_ts,
    runs.c.status,
    runs.c.notes,
    runs.c.code_version,
    runs.c.error,
    runs.c.ext_dag_id,
    runs.c.ext_run_id,
    runs.c.ext_task_id,
    runs.c.ext_try_number,
    runs.c.ext_map_index,
    runs.c.ext_url,
    runs.c.ext_ol_run_id,
    runs.c.ext_ol_namespace,
    runs.c.ext_ol_parent_run_id,
    runs.c.staleness_threshold,
)
_THRESHOLD = len(_RUN_COLUMNS) - 1  # a run's staleness_threshold in the rows of load_runs


def load_runs(
    session: Session, ids: Iterable[int], edges: Sequence[tuple[int, int, str]] | None = None
) -> dict[int, Run]:
    """Runs by id, with inputs, outputs, dependencies and staleness warnings.

    ``edges``: every (consumer, producer, pointer) edge of these runs, all producers among ``ids``, when
    the caller has them (an upstream trace does); dependencies and staleness then need no extra query."""
    ids = list(ids)
    if not ids:
        return {}
    sql = _statements(dialect_of(session))
    rows = [
        (r[0], r[1], utc(r[2]), utc(r[3]), *r[4:])
        for r in plain_rows(session, sql.runs, _bind_ids(session, ids))
    ]
    versioned = {(row[0], name) for row in rows if row[-1] for name in row[-1].split(SEP)}
    if edges is None:
        deps, stale = _dependencies_and_staleness(session, ids)
    else:
        deps, stale = _staleness_from_edges(session, edges, {row[0]: row for row in rows}, versioned)
    legacy = [row[0] for row in rows if row[_THRESHOLD] is not None]
    if legacy:  # runs logged through mltrace 0.17's API are judged by its rules
        from mltrace_core import staleness

        stale.update(staleness.messages(session, legacy))
    loaded = {}
    for (
        rid,
        component,
        start,
        end,
        status,
        notes,
        code,
        error,
        dag,
        run,
        task,
        tries,
        index,
        url,
        ol_run,
        ol_namespace,
        ol_parent,
        _threshold,
        ins,
        outs,
        _,
    ) in rows:
        external = None
        if dag is not None or task is not None or url is not None or ol_run is not None:
            external = ExternalIdentity(dag, run, task, tries, index, url, ol_run, ol_namespace, ol_parent)
        loaded[rid] = Run(
            id=rid,
            component=component,
            start=start,
            end=end,
            status=status,
            inputs=tuple(sorted(ins.split(SEP))) if ins else (),
            outputs=tuple(sorted(outs.split(SEP))) if outs else (),
            dependencies=tuple(sorted(deps.get(rid, ()))),
            notes=notes or "",
            stale=tuple(stale.get(rid, ())),
            code_version=code,
            error=error,
            external=external,
        )
    return loaded


@cache
def _statements(dialect: str) -> SimpleNamespace:
    """The batch queries of :func:`load_runs`, built once per backend.

    A run's pointer names come aggregated into one text column each (inputs, outputs, inputs read at a
    pinned version), joined by the ASCII unit separator, which names cannot contain (validation.py):
    one row per run instead of one per pointer."""

    joined = func.string_agg if dialect == "postgresql" else func.group_concat

    def names(table: Table, with_pinned: bool) -> Subquery:
        columns = [table.c.run_id, joined(pointers.c.name, literal(SEP)).label("names")]
        if with_pinned:
            pinned = case((table.c.version.is_not(None), pointers.c.name))  # NULLs are left out
            columns.append(joined(pinned, literal(SEP)).label("pinned"))
        return (
            select(*columns)
            .join(pointers, pointers.c.id == table.c.pointer_id)
            .where(id_in(dialect, table.c.run_id))
            .group_by(table.c.run_id)
            .subquery()
        )

    ins, outs = names(run_inputs, True), names(run_outputs, False)
    return SimpleNamespace(
        runs=select(*_RUN_COLUMNS, ins.c.names, outs.c.names, ins.c.pinned)
        .join(components, components.c.id == runs.c.component_id)
        .outerjoin(ins, ins.c.run_id == runs.c.id)
        .outerjoin(outs, outs.c.run_id == runs.c.id)
        .where(id_in(dialect, runs.c.id)),
        dependencies=_dependencies_query(dialect),
    )


def _dependencies_query(dialect: str) -> Select[Any]:
    """Each run's lineage edges, with what staleness needs: when it started, when the producer ended,
    and -- only for inputs read at a pinned version -- a newer writer that existed when it started
    (an unpinned read always links to the latest writer, so it cannot have a newer one)."""
    d, i = run_dependencies, run_inputs
    cons, prod = runs.alias("cons"), runs.alias("prod")
    o = run_outputs.alias("o")
    newer = (
        select(o.c.run_id)
        .where(
            o.c.pointer_id == d.c.pointer_id,
            o.c.run_id != d.c.consumer_run_id,
            o.c.end_ts >= prod.c.end_ts,
            o.c.end_ts <= cons.c.start_ts,
            or_(o.c.end_ts > prod.c.end_ts, o.c.run_id > prod.c.id),
            or_(o.c.end_ts < cons.c.start_ts, o.c.start_ts < cons.c.start_ts, o.c.run_id < cons.c.id),
        )
        .order_by(o.c.end_ts.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            d.c.consumer_run_id,
            d.c.producer_run_id,
            pointers.c.name,
            cons.c.start_ts,
            prod.c.end_ts,
            case((i.c.version.is_not(None), newer)),
        )
        .join(cons, cons.c.id == d.c.consumer_run_id)
        .join(prod, prod.c.id == d.c.producer_run_id)
        .join(pointers, pointers.c.id == d.c.pointer_id)
        .join(i, and_(i.c.run_id == d.c.consumer_run_id, i.c.pointer_id == d.c.pointer_id))
        .where(id_in(dialect, d.c.consumer_run_id))
    )


def _age_warning(name: str, age: timedelta, producer: int) -> str | None:
    if age <= STALE_AFTER:
        return None
    return f"{name} was produced {age.days} days before this run started (by run {producer})"


def _staleness_from_edges(
    session: Session,
    edges: Sequence[tuple[int, int, str]],
    rows: dict[int, tuple[Any, ...]],
    versioned: set[tuple[int, str]],
) -> tuple[dict[int, set[int]], dict[int, list[str]]]:
    """Dependencies and staleness from known edges. Only a run that read a pinned version of an input
    can have read an older version than the latest, so only those runs are checked in the database."""
    deps: dict[int, set[int]] = defaultdict(set)
    for consumer, producer, _ in edges:
        deps[consumer].add(producer)
    stale: dict[int, list[str]] = {}
    # Age warnings need an input produced 30 days before its reader: impossible in a shorter history.
    if rows and max(r[2] for r in rows.values()) - min(r[3] for r in rows.values()) > STALE_AFTER:
        for consumer, producer, name in edges:
            warning = _age_warning(name, rows[consumer][2] - rows[producer][3], producer)
            if warning:
                stale.setdefault(consumer, []).append(warning)
    recheck = {consumer for consumer, _, name in edges if (consumer, name) in versioned} if versioned else ()
    if recheck:
        stale.update(_dependencies_and_staleness(session, recheck)[1])
    for warnings in stale.values():
        warnings.sort()
    return deps, stale


def _dependencies_and_staleness(
    session: Session, ids: Iterable[int]
) -> tuple[dict[int, set[int]], dict[int, list[str]]]:
    """Upstream run ids per run, and the staleness warnings of its inputs (as in mltrace: an input
    produced more than 30 days before the run, or a newer version existing when the run started)."""
    query = _statements(dialect_of(session)).dependencies
    deps: dict[int, set[int]] = {}
    stale: dict[int, list[str]] = {}
    for consumer, producer, name, start, produced, newer_run in session.execute(
        query, _bind_ids(session, ids)
    ):
        deps.setdefault(consumer, set()).add(producer)
        warning = _age_warning(name, start - produced, producer)
        if warning:
            stale.setdefault(consumer, []).append(warning)
        if newer_run is not None:
            stale.setdefault(consumer, []).append(
                f"a newer version of {name} (written by run {newer_run}) existed when this run started; "
                f"it read the one written by run {producer}"
            )
    for warnings in stale.values():
        warnings.sort()
    return deps, stale


def ordered(loaded: dict[int, Run], ids: Iterable[int]) -> list[Run]:
    return [loaded[i] for i in ids if i in loaded]


def recent_run_ids(session: Session, limit: int, after: int | None = None) -> list[int]:
    """The newest runs' ids, by start time; ``after``: the next page, the runs listed after that run."""
    query = select(runs.c.id).order_by(runs.c.start_ts.desc(), runs.c.id.desc()).limit(limit)
    if after is not None:
        start = session.execute(select(runs.c.start_ts).where(runs.c.id == after)).scalar()
        if start is None:
            raise NotFoundError(f"no run with id {after}")
        query = query.where(or_(runs.c.start_ts < start, and_(runs.c.start_ts == start, runs.c.id < after)))
    return list(session.execute(query).scalars())


def recent_runs(session: Session, limit: int) -> list[Run]:
    ids = recent_run_ids(session, limit)
    return ordered(load_runs(session, ids), ids)


def component_row_id(session: Session, name: str) -> int:
    cid = session.execute(select(components.c.id).where(components.c.name == name)).scalar()
    if cid is None:
        raise NotFoundError(f"no component named {name!r}")
    return typing_cast(int, cid)


def history(
    session: Session,
    component: str,
    limit: int,
    lower: datetime | None = None,
    upper: datetime | None = None,
) -> list[Run]:
    """The component's runs, newest first; ``lower``/``upper``: only those that started in that range."""
    cid = component_row_id(session, component)
    query = (
        select(runs.c.id)
        .where(runs.c.component_id == cid)
        .order_by(runs.c.start_ts.desc(), runs.c.id.desc())
        .limit(limit)
    )
    if lower is not None:
        query = query.where(runs.c.start_ts >= lower)
    if upper is not None:
        query = query.where(runs.c.start_ts <= upper)
    ids = list(session.execute(query).scalars())
    return ordered(load_runs(session, ids), ids)


def runs_for_external(session: Session, ext: ExternalIdentity) -> list[Run]:
    """Runs logged for one Airflow DAG run, narrowed by whatever else ``ext`` names, in start order."""
    query = select(runs.c.id).where(runs.c.ext_dag_id == ext.dag_id, runs.c.ext_run_id == ext.run_id)
    for column, value in (
        (runs.c.ext_task_id, ext.task_id),
        (runs.c.ext_map_index, ext.map_index),
        (runs.c.ext_try_number, ext.try_number),
    ):
        if value is not None:
            query = query.where(column == value)
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
