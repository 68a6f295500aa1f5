"""Impact: every run downstream of an address, whether its outputs are still live, and the Airflow task
instances that would need re-running.

What an address reaches (never the addressed run, or the version's writers, themselves):

- ``NAME``: every run that read any version of the pointer, and what they led to (as ``downstream``);
- ``NAME@VERSION``: the runs linked by lineage, through this pointer, to a writer of that version (and
  any run that read exactly that version), and what they led to;
- ``run:ID``: the readers of that run's outputs, and what they led to.

"What they led to" is one recursive query over the lineage edges (``run_dependencies``, producer to
consumer). A run is ``live`` when at least one pointer it wrote has not since been written with a
different version (for an unversioned write: by another run): the bad data is still what readers get.
A run that wrote nothing is not live.

Runs come in run-id order (the order they were logged), paged: ``limit`` runs after run id ``after``;
``next`` is the ``after`` of the next page (``None`` on the last). ``airflow`` covers every affected run,
not just the page: each Airflow DAG run (dag_id, run_id) with the sorted task ids of its affected tries,
which is what a re-run clears.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from sqlalchemy import TextClause, select, text
from sqlalchemy.orm import Session

from mltrace_core import lineage
from mltrace_core.addresses import resolve
from mltrace_core.fastread import GENERAL, needs_general, row_fields
from mltrace_core.fasttrace import new_record, timestamps, uncollected
from mltrace_core.models import pointers, run_outputs
from mltrace_core.queries import dialect_of, ids_text, load_runs
from mltrace_core.records import Address, AirflowRun, Impact, Run, Trace

DEFAULT_LIMIT = 100
_Row = tuple[int, "str | None", "str | None", "str | None"]  # run id, dag_id, run_id, task_id

# Where the walk starts, per kind of address (bound: :pid, :version, :run).
_STARTS = {
    "pointer": "SELECT i.run_id FROM run_inputs i WHERE i.pointer_id = :pid",
    "version": "SELECT d.consumer_run_id AS run_id FROM run_outputs o JOIN run_dependencies d"
    " ON d.producer_run_id = o.run_id AND d.pointer_id = o.pointer_id"
    " WHERE o.pointer_id = :pid AND o.version = :version"
    " UNION SELECT i.run_id FROM run_inputs i WHERE i.pointer_id = :pid AND i.version = :version",
    "run": "SELECT d.consumer_run_id AS run_id FROM run_dependencies d WHERE d.producer_run_id = :run",
}

# A run is live when some pointer it wrote has not since been written with another version (unversioned:
# by another run): no later write of that pointer (a range of the (pointer, end) index) differs.
_LIVE = """(
        SELECT 1 FROM run_outputs o
        WHERE o.run_id = r.id AND NOT EXISTS (
            SELECT 1 FROM run_outputs l
            WHERE l.pointer_id = o.pointer_id AND l.end_ts >= o.end_ts
              AND (l.end_ts > o.end_ts OR l.run_id > o.run_id)
              AND ((o.version IS NULL AND l.run_id <> o.run_id)
                   OR (o.version IS NOT NULL AND (l.version IS NULL OR l.version <> o.version)))
        )
        LIMIT 1
    ) IS NOT NULL"""  # a scalar subquery, per run: PostgreSQL would hash an EXISTS over every write


@cache
def _page_sql(dialect: str) -> str:
    """A page's runs, one row each, in the layout :func:`fasttrace.run_fields` builds a :class:`Run` from
    (id, component, start, end, status, notes, code version, error, the nine identity columns, the 0.17
    staleness threshold), then its input names, output names and producers, each aggregated into one
    text column, a producer marked ``!`` (fastread.GENERAL) where the run's staleness needs the general
    rules (the read named a version and another run wrote the pointer between the producer and the run: a newer version may have
    existed; or the producer ended nearly 30 days before the run started);
    and whether it is live. PostgreSQL runs it with the index-walk settings (lineage.INDEX_WALK): else
    the liveness of a big page is one hash anti-join over every write in the store."""
    pg = dialect == "postgresql"

    def agg(value: str) -> str:
        return f"string_agg(({value})::text, E'\\x1f')" if pg else f"group_concat({value}, char(31))"

    old = (
        "prod.end_ts < r.start_ts - interval '29 days'"
        if pg
        else "prod.end_ts < datetime(r.start_ts, '-29 days')"
    )
    # a write of the pointer after the producer's, by the time the run started: a newer version may have
    # existed (the general rules tell; without one, certainly none did)
    newer = """EXISTS (SELECT 1 FROM run_outputs n WHERE n.pointer_id = d.pointer_id
        AND n.end_ts >= prod.end_ts AND n.end_ts <= r.start_ts AND n.run_id <> d.producer_run_id)"""
    # the ids as rows (an = ANY of 10,000 ids costs PostgreSQL's planner a selectivity estimate per id)
    ids = "unnest(CAST(%(ids)s AS BIGINT[]))" if pg else "json_each(:ids)"
    column = "x.x" if pg else "x.value"
    return f"""
        SELECT r.id, c.name, r.start_ts, r.end_ts, r.status, r.notes, r.code_version, r.error,
            r.ext_dag_id, r.ext_run_id, r.ext_task_id, r.ext_try_number, r.ext_map_index, r.ext_url,
            r.ext_ol_run_id, r.ext_ol_namespace, r.ext_ol_parent_run_id, r.staleness_threshold,
            (SELECT {agg("p.name")} FROM run_inputs i JOIN pointers p ON p.id = i.pointer_id WHERE i.run_id = r.id),
            (SELECT {agg("p.name")} FROM run_outputs o JOIN pointers p ON p.id = o.pointer_id WHERE o.run_id = r.id),
            (SELECT {agg(f"d.producer_run_id || CASE WHEN {old} OR (i.version IS NOT NULL AND {newer}) THEN '{GENERAL}' ELSE '' END")}
               FROM run_dependencies d JOIN component_runs prod ON prod.id = d.producer_run_id
               JOIN run_inputs i ON i.run_id = d.consumer_run_id AND i.pointer_id = d.pointer_id
               WHERE d.consumer_run_id = r.id),
            {_LIVE}
        FROM {ids} AS x JOIN component_runs r ON r.id = {column} JOIN components c ON c.id = r.component_id
        """


@cache
def _reach_sql(kind: str) -> TextClause:
    return text(
        f"""
        WITH RECURSIVE reach(run_id) AS (
            SELECT s.run_id FROM ({_STARTS[kind]}) AS s
            UNION
            SELECT d.consumer_run_id FROM run_dependencies d JOIN reach r ON d.producer_run_id = r.run_id
        )
        SELECT c.id, c.ext_dag_id, c.ext_run_id, c.ext_task_id
        FROM reach JOIN component_runs c ON c.id = reach.run_id
        """
    )


def _start(session: Session, where: Address) -> tuple[dict[str, object], set[int | None]]:
    """The parameters of ``where``'s start query, and the runs never to count (the addressed run, the
    version's writers)."""
    if where.kind == "run":
        return {"run": where.run}, {where.run}
    pid = session.execute(select(pointers.c.id).where(pointers.c.name == where.pointer)).scalar_one()
    if where.kind != "version":
        return {"pid": pid}, set()
    writers = select(run_outputs.c.run_id).where(
        run_outputs.c.pointer_id == pid, run_outputs.c.version == where.version
    )
    return {"pid": pid, "version": where.version}, set(session.execute(writers).scalars())


def downstream(session: Session, address: str, max_depth: int | None = None) -> Trace:
    """The downstream graph of any address: the runs it reaches first (as :func:`impact` counts them)
    at depth 0, then what they led to (``NAME``: every reader of any version, as before)."""
    where = resolve(session, address)
    if where.kind == "pointer":
        return lineage.downstream(session, where.pointer or address, max_depth)
    params, excluded = _start(session, where)
    starts = sorted(
        r for r in session.execute(text(_STARTS[where.kind]), params).scalars() if r not in excluded
    )
    if not starts:
        return Trace(output=address, nodes=(), edges=(), direction="downstream")
    return lineage.walk(session, address, starts, "downstream", max_depth)


@uncollected
def impact(session: Session, address: str, limit: int = DEFAULT_LIMIT, after: int | None = None) -> Impact:
    """The runs ``address`` reaches downstream (see the module docstring), one page of them. The collector
    is paused meanwhile (:func:`fasttrace.uncollected`): a page of 10,000 runs allocates as a trace does,
    and its collections had cost a third of building the records."""
    where = resolve(session, address)
    params, excluded = _start(session, where)
    rows = [row for row in _reach(session, where.kind, params) if row[0] not in excluded]
    rows.sort()
    after_here = [row for row in rows if after is None or row[0] > after]
    page = [row[0] for row in after_here[:limit]]
    loaded = _page(session, page)
    return Impact(
        address=address,
        runs=tuple(loaded[r] for r in page if r in loaded),
        airflow=_by_dag_run(rows),
        next=page[-1] if len(after_here) > limit else None,
        total=len(rows),
    )


def _page(session: Session, ids: list[int]) -> dict[int, tuple[Run, bool]]:
    """(run, live) by id, from one statement on the session's driver connection, records built from its
    plain rows (10,000 of them on one page: the ORM's result machinery and :func:`queries.load_runs`'s
    batch of staleness queries cost several times the statement). A run whose staleness needs the general
    rules (see :func:`_page_sql`; mltrace 0.17's threshold too) is loaded by :func:`queries.load_runs`,
    as before; both paths give equal records (tests/core/test_impact.py)."""
    if not ids:
        return {}
    dialect = dialect_of(session)
    postgres = dialect == "postgresql"
    cursor = session.connection().connection.cursor()
    try:
        sql = _page_sql(dialect)
        cursor.execute(f"{lineage.INDEX_WALK}; {sql}" if postgres else sql, {"ids": ids_text(session, ids)})
        rows = cursor.fetchall()
        if postgres:
            cursor.execute(lineage.PLANNER_DEFAULTS)
    finally:
        cursor.close()
    ts = timestamps(dialect)
    found: dict[int, tuple[Run, bool]] = {}
    general: dict[int, bool] = {}
    for row in rows:
        rid, live = row[0], bool(row[21])
        if needs_general(row):
            general[rid] = live
            continue
        found[rid] = (new_record(Run, row_fields(row, ts)), live)
    for rid, run in load_runs(session, list(general)).items():
        found[rid] = (run, general[rid])
    return found


def _reach(session: Session, kind: str, params: dict[str, object]) -> list[_Row]:
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text(lineage.INDEX_WALK))
    rows = list(map(tuple, session.execute(_reach_sql(kind), params)))
    if postgres:
        session.execute(text(lineage.PLANNER_DEFAULTS))
    return rows


def _by_dag_run(rows: list[_Row]) -> tuple[AirflowRun, ...]:
    tasks: dict[tuple[str, str], set[str]] = defaultdict(set)
    for _, dag_id, run_id, task_id in rows:
        if dag_id is not None and run_id is not None and task_id is not None:
            tasks[(dag_id, run_id)].add(task_id)
    return tuple(AirflowRun(d, r, tuple(sorted(t))) for (d, r), t in sorted(tasks.items()))
