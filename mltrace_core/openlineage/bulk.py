"""Many runs written in a few statements: what makes ingestion of a batch of OpenLineage events fast.

:func:`write_runs` writes a list of run records in the caller's transaction with the same result as
:func:`mltrace_core.write.write_run` on each in turn, but statement by statement for the whole list rather
than record by record: on PostgreSQL every statement is a round trip, and a batch of 1,000 runs written
one by one took ~11,000 of them (20 ms a run on a loaded machine; 75 events/s).

1. components and their tags, pointers (locked in name order, as ``write_run`` locks them): one or two
   statements each;
2. the runs whose key is new: one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``; their tests,
   inputs and outputs: one insert each;
3. their lineage: every input of every new run linked by the lineage rule in one ``INSERT ... SELECT``
   (``write._ELIGIBLE_FOR_READER``, the rule with the reader's own start and id), after
   all their outputs are in, so runs of one batch link to each other;
4. runs logged earlier that started after a new run ended and read what it wrote (a late-logged run
   takes its place, as in ``write_run``): their edges through those pointers are recomputed from
   scratch by the same rule -- one query to find them, usually empty;
5. records whose key was already written (a redelivery, a late event, a query run folding into its task)
   or repeated in the list: merged one by one (:func:`mltrace_core.write.merge_run`), after the rest.

Lineage is a function of the stored reads and writes alone (the rule is declarative), so writing new
runs first and merges after gives the same edges as writing the records in order.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.orm import Session

from mltrace_core.models import (
    component_tags,
    components,
    pointers,
    run_dependencies,
    run_inputs,
    run_outputs,
    run_tests,
    runs,
    utcnow,
)
from mltrace_core.records import ExternalIdentity
from mltrace_core.runs import RunRecord
from mltrace_core.write import _ELIGIBLE_FOR_READER as ELIGIBLE_FOR_READER  # the lineage rule, one place
from mltrace_core.write import _sql, write_run

_LINK = f"""
    INSERT INTO run_dependencies (consumer_run_id, pointer_id, producer_run_id)
    SELECT consumer, pointer_id, producer FROM (
        SELECT i.run_id AS consumer, i.pointer_id AS pointer_id, COALESCE(
            (SELECT o.run_id FROM run_outputs o
              WHERE o.pointer_id = i.pointer_id AND o.version = i.version AND {ELIGIBLE_FOR_READER}
              ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1),
            (SELECT o.run_id FROM run_outputs o
              WHERE o.pointer_id = i.pointer_id AND (i.version IS NULL OR o.version IS NULL)
                AND {ELIGIBLE_FOR_READER}
              ORDER BY o.end_ts DESC, o.run_id DESC LIMIT 1)
        ) AS producer
        FROM run_inputs i WHERE {{where}}
    ) AS linked
    WHERE producer IS NOT NULL
    """
# Every input of these runs.
_LINK_RUNS = text(_LINK.format(where="i.run_id IN :ids")).bindparams(bindparam("ids", expanding=True))
# Every read of these pointers by these runs (a superset of the pairs a late writer may take over).
_LINK_READS = text(_LINK.format(where="i.run_id IN :readers AND i.pointer_id IN :pointers")).bindparams(
    bindparam("readers", expanding=True), bindparam("pointers", expanding=True)
)
# Reads by runs outside the new ones that started at or after a new run ended writing what they read.
_LATE_READERS = text(
    """
    SELECT DISTINCT i.run_id, i.pointer_id FROM run_outputs o
    JOIN run_inputs i ON i.pointer_id = o.pointer_id AND i.start_ts >= o.end_ts
    WHERE o.run_id IN :ids AND i.run_id NOT IN :ids
    """
).bindparams(bindparam("ids", expanding=True))
_COMPONENTS = select(components.c.name, components.c.id).where(
    components.c.name.in_(bindparam("names", expanding=True))
)


def write_runs(session: Session, records: list[RunRecord]) -> list[int]:
    """Write ``records`` (checked) and their lineage in the caller's transaction; return their ids, in
    order (a record whose key was written before: that run's id)."""
    if not records:
        return []
    conn = session.connection()
    first: dict[str, RunRecord] = {}
    for rec in records:
        first.setdefault(rec.key, rec)
    cids = _component_ids(session, list(first.values()))
    ids = _pointer_ids(session, [p for rec in first.values() for p in rec.inputs + rec.outputs])
    now = utcnow()
    rows = conn.execute(
        _sql(session).run.returning(runs.c.key),
        [_run_row(rec, cids[rec.component], now) for rec in first.values()],
    ).all()
    new = {key: run_id for run_id, key in rows}
    fresh = [(new[rec.key], rec) for rec in first.values() if rec.key in new]
    _insert(conn, run_tests, [_test_rows(rid, rec) for rid, rec in fresh])
    _insert(
        conn,
        run_inputs,
        [
            [
                {"run_id": rid, "pointer_id": ids[n], "version": v, "start_ts": rec.start}
                for n, v, _ in rec.inputs
            ]
            for rid, rec in fresh
        ],
    )
    _insert(
        conn,
        run_outputs,
        [
            [
                {"run_id": rid, "pointer_id": ids[n], "version": v, "start_ts": rec.start, "end_ts": rec.end}
                for n, v, _ in rec.outputs
            ]
            for rid, rec in fresh
        ],
    )
    readers = [rid for rid, rec in fresh if rec.inputs]
    if readers:
        conn.execute(_LINK_RUNS, {"ids": readers})
    writers = [rid for rid, rec in fresh if rec.outputs]
    if writers:
        _relink_late_readers(conn, writers)
    # Everything else is another report of a run already written: merged, one by one, in order.
    out = []
    for rec in records:
        rid = new.get(rec.key)
        if rid is not None and first[rec.key] is rec:
            out.append(rid)
        else:
            out.append(write_run(session, rec))
    return out


def _component_ids(session: Session, records: list[RunRecord]) -> dict[str, int]:
    conn = session.connection()
    names = sorted({rec.component for rec in records})
    found = dict(conn.execute(_COMPONENTS, {"names": names}).all())
    missing = [n for n in names if n not in found]
    if missing:
        conn.execute(_sql(session).component, [{"name": n, "description": "", "owner": ""} for n in missing])
        found.update(conn.execute(_COMPONENTS, {"names": missing}).all())
    tags = sorted({(found[rec.component], t) for rec in records for t in rec.component_tags})
    if tags:  # RETURNING: one multi-row INSERT (see _pointer_ids)
        conn.execute(
            _sql(session).tag.returning(component_tags.c.tag),
            [{"component_id": c, "tag": t} for c, t in tags],
        ).all()
    return found


def _pointer_ids(session: Session, rows) -> dict[str, int]:
    """Ids for (name, version, type) rows, creating missing pointers, as ``write.pointer_ids(lock=True)``
    but inserting only the names not there yet (on PostgreSQL a conflicting insert costs nearly as much
    as a new row: most pointers of a batch are ones earlier runs wrote). On PostgreSQL the rows are then
    locked in name order, as every writer locks them."""
    types = {name: ptype for name, _v, ptype in rows}
    names = sorted(types)
    if not names:
        return {}
    conn = session.connection()
    query = select(pointers.c.name, pointers.c.id).where(
        pointers.c.name.in_(bindparam("names", expanding=True))
    )
    found = dict(conn.execute(query, {"names": names}).all())
    missing = [n for n in names if n not in found]
    if missing:
        # RETURNING makes SQLAlchemy send the rows as multi-row INSERTs ("insertmanyvalues"); without it
        # psycopg2 sends an ON CONFLICT insert row by row, a round trip each.
        found.update(
            conn.execute(
                _sql(session).pointer.returning(pointers.c.name, pointers.c.id),
                [{"name": n, "type": types[n], "flagged": False} for n in missing],
            ).all()
        )
    if conn.dialect.name == "postgresql":
        return dict(conn.execute(query.order_by(pointers.c.name).with_for_update(), {"names": names}).all())
    return found  # SQLite: this transaction holds the write lock, no one else inserted any


def _run_row(rec: RunRecord, cid: int, now) -> dict:
    ext = rec.external or ExternalIdentity()
    return {
        "key": rec.key,
        "component_id": cid,
        "start_ts": rec.start,
        "end_ts": rec.end,
        "status": rec.status,
        "notes": rec.notes,
        "code_version": rec.code_version,
        "error": rec.error,
        "ext_dag_id": ext.dag_id,
        "ext_run_id": ext.run_id,
        "ext_task_id": ext.task_id,
        "ext_try_number": ext.try_number,
        "ext_map_index": ext.map_index,
        "ext_url": ext.url,
        "ext_ol_run_id": ext.openlineage_run_id,
        "ext_ol_namespace": ext.openlineage_namespace,
        "ext_ol_parent_run_id": ext.openlineage_parent_run_id,
        "git_hash": rec.git_hash,
        "git_tags": None if rec.git_tags is None else list(rec.git_tags),
        "code_snapshot": rec.code_snapshot,
        "staleness_threshold": rec.staleness_threshold,
        "logged_at": now,
    }


def _test_rows(run_id: int, rec: RunRecord) -> list[dict]:
    return [
        {
            "run_id": run_id,
            "position": i,
            "phase": t.phase,
            "name": t.name,
            "passed": t.passed,
            "message": t.message,
        }
        for i, t in enumerate(rec.tests)
    ]


def _insert(conn, table, groups: list[list[dict]]) -> None:
    rows = [row for group in groups for row in group]
    if rows:
        conn.execute(table.insert(), rows)


def _relink_late_readers(conn, writers: list[int]) -> None:
    """Runs logged before that read what a new run wrote, after it ended: their edges through those
    pointers, recomputed by the rule (the new run may now be their producer)."""
    pairs = conn.execute(_LATE_READERS, {"ids": writers}).all()
    if not pairs:
        return
    readers = sorted({r for r, _ in pairs})
    pointers = sorted({p for _, p in pairs})
    conn.execute(
        delete(run_dependencies).where(
            run_dependencies.c.consumer_run_id.in_(readers), run_dependencies.c.pointer_id.in_(pointers)
        )
    )
    conn.execute(_LINK_READS, {"readers": readers, "pointers": pointers})
