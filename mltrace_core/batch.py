"""Logging many runs in one transaction (replays, backfills, batch ingestion): set-based, not run by run.

The result is exactly what logging the runs one by one, in the order given, leaves behind: the same
rows, the same lineage edges. Why that holds: the lineage rule (:mod:`mltrace_core.write`) is a function
of the stored outputs alone -- a reader's producer is the best eligible writer among all runs logged --
so once every new run, input and output is in place, one statement can compute every edge the batch
affects from scratch:

- each new run's inputs, linked by the rule (the batch's own runs included: a backfilled chain links to
  itself);
- readers already in the store that started after a new run ended and read what it wrote (a late
  backfill takes them over), linked again by the rule and upserted: their old producer is still a
  candidate, so an edge only ever moves to a better producer, as for a late-logged run.

Runs whose key is already taken (in the store, or earlier in the batch) are other reports of one run
and go through :func:`write.merge_run`, in order, after the new ones: a merge only depends on the run
it merges into, and keeps the lineage up to date as for one run.

Locks: the pointers of the whole batch are locked in name order first (PostgreSQL), as a single
``Store.log`` locks its own, so batches and single writers queue up and never deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import TextClause, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from mltrace_core import reach, rule
from mltrace_core.fastlog import sqlite_ts
from mltrace_core.models import components, run_tests, runs, utcnow
from mltrace_core.queries import dialect_of, ids_text
from mltrace_core.runs import RunRecord
from mltrace_core.write import _sql, merge_run, pointer_ids, run_row

_COMPONENTS = select(components.c.name, components.c.id).where(
    components.c.name.in_(bindparam("names", expanding=True))
)
_BATCH = {
    "postgresql": "SELECT unnest(CAST(:ids AS BIGINT[])) AS run_id",
    "sqlite": "SELECT value AS run_id FROM json_each(:ids)",
}


@cache
def _link_sql(dialect: str) -> TextClause:
    """Every edge the new runs (``:ids``) decide, by the lineage rule, upserted."""
    return text(
        f"""
        INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
        SELECT consumer, pointer_id, producer FROM (
            SELECT c.run_id AS consumer, c.pointer_id AS pointer_id, {rule.producer("c", "c.start_ts", "c.run_id")} AS producer
            FROM (
                SELECT i.run_id, i.pointer_id, i.version, i.start_ts FROM run_inputs i
                 WHERE i.run_id IN (SELECT run_id FROM batch)
                UNION
                SELECT i.run_id, i.pointer_id, i.version, i.start_ts
                  FROM run_outputs w
                  JOIN run_inputs i ON i.pointer_id = w.pointer_id AND i.start_ts >= w.end_ts
                 WHERE w.run_id IN (SELECT run_id FROM batch)
                   AND i.run_id NOT IN (SELECT run_id FROM batch)
            ) AS c
        ) AS linked
        WHERE producer IS NOT NULL
        ON CONFLICT (consumer_run_id, pointer_id) DO UPDATE SET producer_run_id = excluded.producer_run_id
        """.replace("FROM batch", f"FROM ({_BATCH[dialect]}) AS b")
    )


def write_runs(session: Session, records: Sequence[RunRecord]) -> list[int]:
    """Write validated ``records`` and their lineage in the caller's transaction; return their ids, in
    order (a key written before, or twice in ``records``, gives the first id, merged as by
    :func:`write.write_run`)."""
    if not records:
        return []
    conn = session.connection()
    cids = _component_ids(session, records)
    first: dict[str, tuple[str, str | None, str | None]] = {}
    for rec in records:
        for row in rec.inputs + rec.outputs:
            first.setdefault(row[0], row)  # the first report of a pointer names its type, as one by one
    pids = pointer_ids(session, list(first.values()), lock=True)
    fresh: dict[str, RunRecord] = {}
    for rec in records:
        fresh.setdefault(rec.key, rec)
    logged_at = utcnow()
    inserted = conn.execute(
        _insert_runs(dialect_of(session)),
        [run_row(rec, cids[rec.component], logged_at) for rec in fresh.values()],
    ).all()
    ids: dict[str, int] = {row[1]: row[0] for row in inserted}
    inserted_keys = set(ids)
    new = [rec for rec in fresh.values() if rec.key in ids]
    _write_rows(session, new, ids, pids)
    if any(r.inputs or r.outputs for r in new):  # a placeholder (a START) has nothing to link
        conn.execute(_link_sql(dialect_of(session)), {"ids": ids_text(session, [ids[r.key] for r in new])})
    if new:  # readers it took over are downstream of the new runs
        reach.after_write(session, [ids[r.key] for r in new])
    for rec in records:
        if fresh[rec.key] is rec and rec.key in inserted_keys:
            continue  # its first report, written above
        ids[rec.key] = merge_run(session, rec, pids)
    return [ids[rec.key] for rec in records]


def _component_ids(session: Session, records: Sequence[RunRecord]) -> dict[str, int]:
    conn = session.connection()
    names = sorted({rec.component for rec in records})
    found = dict(conn.execute(_COMPONENTS, {"names": names}).all())
    missing = [n for n in names if n not in found]
    if missing:
        conn.execute(_sql(session).component, [{"name": n, "description": "", "owner": ""} for n in missing])
        found = dict(conn.execute(_COMPONENTS, {"names": names}).all())
    tags = {(found[rec.component], t) for rec in records for t in rec.component_tags}
    if tags:
        conn.execute(_sql(session).tag, [{"component_id": c, "tag": t} for c, t in sorted(tags)])
    return found


@cache
def _insert_runs(dialect: str) -> ReturningInsert[Any]:
    if dialect == "postgresql":
        return pg_insert(runs).on_conflict_do_nothing(index_elements=["key"]).returning(runs.c.id, runs.c.key)
    return sqlite_insert(runs).on_conflict_do_nothing(index_elements=["key"]).returning(runs.c.id, runs.c.key)


def _write_rows(session: Session, new: list[RunRecord], ids: dict[str, int], pids: dict[str, int]) -> None:
    conn = session.connection()
    tests = [
        {
            "run_id": ids[r.key],
            "position": k,
            "phase": t.phase,
            "name": t.name,
            "passed": t.passed,
            "message": t.message,
        }
        for r in new
        for k, t in enumerate(r.tests)
    ]
    if tests:
        conn.execute(run_tests.insert(), tests)
    # Reads and writes, five rows a run or more, go to the driver as they are (SQLAlchemy's per-row
    # parameter and type processing was a fifth of a batch's time): PostgreSQL takes each column as one
    # array, SQLite the rows in one executemany with its times as SQLAlchemy stores them.
    postgres = conn.dialect.name == "postgresql"
    ts: Any = (lambda t: t) if postgres else sqlite_ts
    inputs: list[tuple[Any, ...]] = []
    outputs: list[tuple[Any, ...]] = []
    for r in new:
        rid, start, end = ids[r.key], ts(r.start), ts(r.end)
        inputs += [(rid, pids[n], v, start) for n, v, _ in r.inputs]
        outputs += [(rid, pids[n], v, start, end) for n, v, _ in r.outputs]
    for sql, rows in ((_INPUTS, inputs), (_OUTPUTS, outputs)):
        if not rows:
            continue
        if postgres:
            conn.exec_driver_sql(sql["postgresql"], tuple(map(list, zip(*rows, strict=True))))
        else:
            conn.exec_driver_sql(sql["sqlite"], rows)


_INPUTS = {
    "postgresql": "INSERT INTO run_inputs (run_id, pointer_id, version, start_ts)"
    " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[])",
    "sqlite": "INSERT INTO run_inputs (run_id, pointer_id, version, start_ts) VALUES (?, ?, ?, ?)",
}
_OUTPUTS = {
    "postgresql": "INSERT INTO run_outputs (run_id, pointer_id, version, start_ts, end_ts)"
    " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[])",
    "sqlite": "INSERT INTO run_outputs (run_id, pointer_id, version, start_ts, end_ts) VALUES (?, ?, ?, ?, ?)",
}
